"""GGUF import of every tensor type of the official Qwen2.5 / Llama 3.2 Q4_K_M, Q5_K_M and Q8_0
releases (and the IQ4 types), checked against gguf's own dequantization; SentencePiece
vocabularies checked against sentencepiece itself; a Qwen2.5-shaped Q4_K_M file that imports and
generates through mlx-lm and the engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest_llm as C  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402

from engine.llm.models.gguf_import import import_gguf, inspect_gguf  # noqa: E402
from engine.llm.models.gguf_tensors import SUPPORTED_TENSOR_TYPES, _legacy_to_affine  # noqa: E402

mx = pytest.importorskip("mlx.core")
mlx_lm = pytest.importorskip("mlx_lm")

BLOCK_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL", "IQ4_XS", "Q4_K", "Q5_K"]


def _random_blocks(rng, qtype: QT, rows: int, cols: int) -> np.ndarray:
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nblk = rows * cols // block
    raw = rng.integers(0, 256, size=(nblk, nbytes), dtype=np.uint8)
    raw[:, 0:2] = rng.uniform(-0.02, 0.02, size=nblk).astype(np.float16).view(np.uint8).reshape(nblk, 2)
    if qtype in (QT.Q4_1, QT.Q5_1, QT.Q4_K, QT.Q5_K):  # the min (Q4_K/Q5_K: dmin)
        raw[:, 2:4] = rng.uniform(-0.05, 0.05, size=nblk).astype(np.float16).view(np.uint8).reshape(nblk, 2)
    return raw.reshape(rows, -1)


def _dequant(wq, sc, bi, bits) -> np.ndarray:
    # float32 scales so the comparison sees the conversion, not float16 output rounding
    return np.array(mx.dequantize(mx.array(wq), mx.array(sc).astype(mx.float32),
                                  mx.array(bi).astype(mx.float32), 32, bits))


@pytest.mark.parametrize("type_name", BLOCK_TYPES)
def test_block_conversion_equals_gguf_dequantization(type_name):
    """Random payloads (every bit pattern of the quants, signed scales): our affine triplet
    dequantizes to exactly what gguf.quants.dequantize gives (IQ4_XS, Q4_K, Q5_K: up to the
    float16 rounding of their per-32 scales and biases)."""
    qtype = QT[type_name]
    rng = np.random.default_rng(7)
    rows, cols = 6, 512
    raw = _random_blocks(rng, qtype, rows, cols)
    ref = gguf.quants.dequantize(raw, qtype).reshape(rows, cols)
    wq, sc, bi, bits = _legacy_to_affine(raw, type_name, rows, cols)
    assert bits == (4 if type_name in ("Q4_0", "Q4_1", "Q4_K") else 8)
    got = _dequant(wq, sc, bi, bits)
    if type_name in ("IQ4_XS", "Q4_K", "Q5_K"):  # per-32 scale (and bias) rounded to float16
        err = np.abs(got - ref).max() / np.abs(ref).max()
        assert err < 1e-3, err
    else:
        assert np.array_equal(got, ref), np.abs(got - ref).max()


def test_supported_types_cover_the_official_releases():
    # Q4_K_M / Q5_K_M / Q8_0 of Qwen2.5 0.5B-7B and Llama 3.2 1B/3B: the K types, their
    # fallbacks for rows not a multiple of 256 (Q5_0, Q5_1, Q8_0, IQ4_NL), F32 norms.
    need = {"F32", "F16", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS"}
    assert need <= set(SUPPORTED_TENSOR_TYPES)


@pytest.mark.parametrize("qtype", [QT.Q5_0, QT.Q5_1, QT.IQ4_NL, QT.IQ4_XS])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_new_types_import_through_a_whole_file(tmp_path, qtype, arch):
    """A file whose embedding, q (permuted for llama), ffn_up and ffn_down tensors have the type: the
    imported folder's weights dequantize to gguf's values, and mlx-lm runs it."""
    if qtype == QT.IQ4_XS:  # super-blocks of 256: only ffn_down's rows (FFN wide) qualify
        override = {"blk.0.ffn_down.weight": qtype, "blk.1.ffn_down.weight": qtype}
    else:
        override = {"blk.0.attn_q.weight": qtype, "blk.0.ffn_down.weight": qtype,
                    "blk.1.ffn_up.weight": qtype, "token_embd.weight": qtype}
    syn = C.write_synthetic(tmp_path / "t.gguf", arch, override_type=override)
    assert inspect_gguf(syn.path).tensor_types[qtype.name] == len(override)
    folder = import_gguf(syn.path, tmp_path / "m", "t")
    cfg = json.loads((folder / "config.json").read_text())
    w = mx.load(str(folder / "model.safetensors"))
    checked = 0
    for hf, kind in syn.types.items():
        if kind != qtype.name:
            continue
        mod = hf.rsplit(".", 1)[0]
        qc = cfg["quantization"]
        q = qc.get(mod, {"group_size": qc["group_size"], "bits": qc["bits"]})
        assert q == {"group_size": 32, "bits": 8}, (mod, q)
        got = np.array(mx.dequantize(w[f"{mod}.weight"], w[f"{mod}.scales"].astype(mx.float32),
                                     w[f"{mod}.biases"].astype(mx.float32), 32, 8))
        exp = syn.expected[hf]  # gguf.quants.dequantize of the file's bytes, q/k un-permuted
        np.testing.assert_allclose(got, exp, rtol=1e-3, atol=1e-6, err_msg=hf)
        checked += 1
    assert checked == len(override)
    model, _tok = mlx_lm.load(str(folder))
    logits = model(mx.array([[5, 6, 7, 8]]))
    assert bool(mx.all(mx.isfinite(logits)).item())


# --------------------------------------------------------------------------- SentencePiece


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("spm")
    vocab = C.train_spm(root)
    syn = C.write_synthetic(root / "spm.gguf", "llama", spm=vocab)
    folder = import_gguf(syn.path, root / "m", "spm")
    return vocab, syn, folder


SPM_TEXTS = [
    "The old mill stands beside the slow river.",
    "Snow falls  on the pass; traders wait!",
    "  two leading spaces, trailing one ",
    "fire\nwater\n\ttab",
    "Ünïcödé ☃ 日本 — characters not in the vocabulary fall back to bytes",
    "a",
    "The mill. The mill. the river the river",
    "timber can be had in plenty, but fresh water is scarce",
]


def test_sentencepiece_vocabulary_tokenizes_like_sentencepiece(spm_model):
    from tokenizers import Tokenizer

    vocab, _syn, folder = spm_model
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for text in SPM_TEXTS:
        ref = vocab.processor.encode(text)
        got = tok.encode(text, add_special_tokens=False).ids
        assert got == ref, (text, [vocab.tokens[i] for i in got], [vocab.tokens[i] for i in ref])
        assert tok.decode(got) == vocab.processor.decode(ref) == text


def test_sentencepiece_model_loads_and_generates_with_bos_and_spm_detokenizer(spm_model):
    vocab, _syn, folder = spm_model
    tcfg = json.loads((folder / "tokenizer_config.json").read_text())
    assert tcfg["bos_token"] == "<s>" and tcfg["eos_token"] == "</s>" and tcfg["add_bos_token"] is True
    model, tok = mlx_lm.load(str(folder))
    ids = tok.encode("The old mill")
    assert ids[0] == vocab.bos_id and ids[1:] == vocab.processor.encode("The old mill")
    assert type(tok._detokenizer).__name__ == "SPMStreamingDetokenizer"
    text = mlx_lm.generate(model, tok, "The old mill", max_tokens=6, verbose=False)
    assert isinstance(text, str)
    # streaming detokenization agrees with a plain decode of the same ids
    seq = vocab.processor.encode("Snow falls on the pass; traders wait!")
    detok = tok.detokenizer
    detok.reset()
    for t in seq:
        detok.add_token(t)
    detok.finalize()
    assert detok.text == vocab.processor.decode(seq)


def test_sentencepiece_without_scores_and_unknown_tokenizers_are_clear_errors(spm_model, tmp_path):
    import dataclasses

    from engine.llm.models.gguf_import import GGUFImportError

    vocab, _syn, _folder = spm_model
    syn = C.write_synthetic(tmp_path / "noscores.gguf", "llama", spm=dataclasses.replace(vocab, scores=None))
    with pytest.raises(GGUFImportError, match=r"SentencePiece tokenizer without scores"):
        import_gguf(syn.path, tmp_path / "m", "noscores")
    C.write_synthetic(tmp_path / "bert.gguf", "llama", tokenizer_model="bert")
    with pytest.raises(GGUFImportError, match="tokenizer type 'bert' is not supported"):
        import_gguf(tmp_path / "bert.gguf", tmp_path / "m", "bert")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


# --------------------------------------------------------------------------- Qwen2.5 Q4_K_M shape


@pytest.fixture(scope="module")
def qwen_q4km(tmp_path_factory):
    root = tmp_path_factory.mktemp("qwen")
    syn = C.write_qwen25_q4_k_m(root / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    folder = import_gguf(syn.path, root / "models")
    return syn, folder


def test_qwen25_q4_k_m_shaped_file_imports(qwen_q4km):
    syn, folder = qwen_q4km
    assert folder.name == "qwen2.5-0.5b-instruct-q4_k_m"  # the name keeps the quant when lowercase-dashed
    summary = inspect_gguf(syn.path)
    assert set(summary.tensor_types) == {"F32", "Q5_0", "Q8_0", "Q4_K", "Q6_K"}
    assert summary.tensor_types["Q5_0"] > summary.tensor_types["Q8_0"] > 0
    prov = json.loads((folder / "gguf_import.json").read_text())
    assert prov["tensor_types"] == summary.tensor_types
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["model_type"] == "qwen2" and cfg["tie_word_embeddings"] is True
    assert cfg["rope_theta"] == 1000000.0 and cfg["rms_norm_eps"] == pytest.approx(1e-6)
    qc = cfg["quantization"]
    assert (qc["group_size"], qc["bits"]) == (32, 8)  # Q5_0 (most tensors) -> exact 8-bit g32
    assert "model.embed_tokens" not in qc  # ... the default, so not named
    assert qc["model.layers.0.mlp.down_proj"] == {"group_size": 32, "bits": 4}  # Q4_K, exact up to f16 scales
    assert qc["model.layers.2.mlp.down_proj"] == {"group_size": 64, "bits": 8}  # Q6_K, requantized
    w = mx.load(str(folder / "model.safetensors"))
    emb = np.array(mx.dequantize(w["model.embed_tokens.weight"], w["model.embed_tokens.scales"].astype(mx.float32),
                                 w["model.embed_tokens.biases"].astype(mx.float32), 32, 8))
    assert np.array_equal(emb, syn.expected["model.embed_tokens.weight"])


def test_qwen25_q4_k_m_shaped_file_generates_through_the_engine(qwen_q4km):
    from engine.llm.generator import GenerationEngine
    from engine.llm.models import load_model

    _syn, folder = qwen_q4km
    eng = GenerationEngine(lambda: load_model(folder), concurrency=2)
    eng.start()
    try:
        assert eng.wait_ready(300), eng.unavailable_reason()
        reqs = [{"key": f"p{i}", "prompt": f"Describe place {i}.", "seed": 11 + i, "max_tokens": 8,
                 "temperature": 0.7, "deadline_s": None} for i in range(3)]
        job = eng.submit(reqs)
        job.wait()
        assert set(job.token_ids) == {"p0", "p1", "p2"}
        assert all(len(v) > 0 for v in job.token_ids.values())
        again = eng.submit(reqs[:1])
        again.wait()
        assert again.token_ids["p0"] == job.token_ids["p0"]  # determinism holds on this model too
    finally:
        eng.shutdown()


def test_split_gguf_file_imports_like_the_whole_file(tmp_path):
    """Big releases (Qwen2.5-7B-Instruct Q4_K_M) come split in parts: importing the first part
    reads all of them; the weights equal those of the same model in one file."""
    (tmp_path / "whole").mkdir()
    (tmp_path / "split").mkdir()
    whole = C.write_qwen25_q4_k_m(tmp_path / "whole" / "m-q4_k_m.gguf")
    C.write_synthetic(tmp_path / "split" / "m-q4_k_m.gguf", "qwen2", seed=5, tied=True,
                      override_type=C.qwen25_05b_q4_k_m_types(4)[0], n_layers=4,
                      layer_types=C.qwen25_05b_q4_k_m_types(4)[1],
                      meta={"name": "Qwen2.5 0.5B Instruct", "context_length": 32768, "rms_eps": 1e-6,
                            "rope_base": 1000000.0, "pre": "qwen2", "file_type": 15},
                      split_max_tensors=20)
    parts = sorted((tmp_path / "split").glob("*.gguf"))
    assert len(parts) >= 3 and parts[0].name.endswith("-00001-of-%05d.gguf" % len(parts)), parts
    a = import_gguf(whole.path, tmp_path / "ma", "a")
    b = import_gguf(parts[0], tmp_path / "mb")
    assert b.name == "m-q4_k_m"
    wa, wb = mx.load(str(a / "model.safetensors")), mx.load(str(b / "model.safetensors"))
    assert set(wa) == set(wb)
    assert all(mx.array_equal(wa[k], wb[k]).item() for k in wa)
    assert json.loads((b / "gguf_import.json").read_text())["parts"] == len(parts)
    from engine.llm.models.gguf_import import GGUFImportError

    with pytest.raises(GGUFImportError, match="one part of a split GGUF file"):
        import_gguf(parts[1], tmp_path / "mc")
    parts[-1].unlink()
    with pytest.raises(GGUFImportError, match="missing next to it"):
        import_gguf(parts[0], tmp_path / "md")
