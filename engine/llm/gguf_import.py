"""Turn a GGUF file (llama.cpp format) into an mlx-lm model folder.

The result is a plain folder that ``mlx_lm.load(folder)`` understands::

    <dest_root>/<name>/
        config.json            architecture + "quantization" (per module)
        model.safetensors      weights; quantized ones as MLX affine triplets
        tokenizer.json         built with the ``tokenizers`` library
        tokenizer_config.json  chat template + special tokens
        gguf_import.json       provenance (source file, tensor types)

Supported architectures: ``llama`` and ``qwen2``.

Tensor types:

* F32 / F16 / BF16: kept as plain arrays.
* Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / IQ4_NL / IQ4_XS: converted *losslessly* to
  MLX affine quantization with group size 32 (Q4_0 and Q4_1 at 4 bits, the others
  at 8).  A GGUF block of 32 values with scale ``d`` (and min ``m`` for Q4_1/Q5_1)
  is exactly ``w = scale * q + bias`` for small integers ``q``; the IQ4 types'
  non-linear levels are integers in [-127, 113] times the block scale.  (IQ4_XS:
  the per-32 scale ``d * (ls - 32)`` is rounded to float16.)
* Q4_K / Q5_K: their 32-weight sub-blocks are ``(d * sc) * q - dmin * m``: converted to
  MLX affine group 32 (4 and 8 bits), exact up to the float16 rounding of each
  sub-block's scale and bias.
* Q2_K, Q3_K, Q6_K (16-weight sub-blocks): dequantized with ``gguf.quants`` and
  requantized with ``mx.quantize`` (4 bits for Q2_K/Q3_K, 8 bits for Q6_K, so the
  higher-precision tensors of "_M" mixes keep their precision).
* Anything else raises :class:`GGUFImportError` naming the tensor and its type.

llama.cpp's converter permutes the rows of ``attn_q``/``attn_k`` for the
llama architecture (HF "rotate half" RoPE -> interleaved RoPE); the importer
undoes that so the model runs with mlx-lm's default (non-traditional) RoPE.

Tokenizers: GPT-2 style byte-level BPE (``tokenizer.ggml.model == "gpt2"``) and
SentencePiece BPE (``"llama"``: pieces with scores and <0xXX> byte pieces, as in
Llama 2 / Mistral / TinyLlama files), rebuilt as a ``tokenizers`` BPE that
tokenizes like llama.cpp (see :func:`_spm_merges`).

This module never imports textual/rich/console.  It imports ``mlx.core``
lazily (inside :func:`import_gguf`) so callers can run
``engine.llm.fastpath.prepare_backend()`` before MLX is loaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ..errors import ModelError

__all__ = [
    "GGUFImportError",
    "GGUFSummary",
    "SUPPORTED_ARCHITECTURES",
    "import_gguf",
    "inspect_gguf",
    "default_name_for",
]

GGUF_MAGIC = b"GGUF"
SUPPORTED_ARCHITECTURES = ("llama", "qwen2")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

Progress = Callable[[str, float], None]


class GGUFImportError(ModelError):
    """A GGUF file could not be imported; the message says why."""


@dataclass(frozen=True)
class GGUFSummary:
    architecture: str
    name: str
    tensor_types: dict[str, int]
    n_tensors: int
    tokenizer_model: str


# --------------------------------------------------------------------------- helpers


def _noop_progress(_msg: str, _frac: float) -> None:
    pass


def _field_value(reader: Any, key: str, default: Any = None) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return default
    try:
        value = field.contents()
    except Exception:  # pragma: no cover - very old gguf packages
        if not field.data:
            return default
        part = field.parts[field.data[0]]
        value = part.tobytes().decode("utf-8") if part.dtype == np.uint8 else part[0]
    if isinstance(value, np.generic):
        value = value.item()
    return value


_SPLIT_NAME = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


def default_name_for(src: Path) -> str:
    """A folder name derived from the GGUF file name: lowercase, no quant suffix."""
    stem = Path(src).name
    m = _SPLIT_NAME.match(stem)
    if m:  # "model-q4_k_m-00001-of-00002.gguf" -> "model-q4_k_m"
        stem = m.group(1)
    if stem.lower().endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    parts = stem.split(".")
    # "SmolLM2-135M-Instruct.Q4_1" -> "SmolLM2-135M-Instruct"
    if len(parts) > 1 and parts[-1].upper().startswith(("Q", "F", "BF", "IQ")):
        parts = parts[:-1]
    name = ".".join(parts).lower()
    cleaned = "".join(c if (c.isalnum() or c in "-_.") else "-" for c in name).strip("-.")
    return cleaned or "model"


def _check_magic(src: Path) -> None:
    if not src.exists():
        raise GGUFImportError(f"{src}: no such file")
    if not src.is_file():
        raise GGUFImportError(f"{src}: not a file")
    with open(src, "rb") as fh:
        head = fh.read(4)
    if head != GGUF_MAGIC:
        raise GGUFImportError(
            f"{src}: not a GGUF file (magic bytes {head!r}, expected {GGUF_MAGIC!r})"
        )


def _open_reader(src: Path) -> Any:
    import gguf

    _check_magic(src)
    try:
        reader = gguf.GGUFReader(str(src), "r")
    except ValueError as e:
        msg = str(e)
        if "is not a valid GGMLQuantizationType" in msg:
            raise GGUFImportError(
                f"{src}: unsupported tensor type ({msg}); this file uses a tensor "
                "type unknown to the installed gguf package"
            ) from None
        raise GGUFImportError(f"{src}: truncated or corrupt GGUF file ({msg})") from None
    except (IndexError, OverflowError, EOFError, OSError, KeyError) as e:
        raise GGUFImportError(
            f"{src}: truncated or corrupt GGUF file ({type(e).__name__}: {e})"
        ) from None
    size = src.stat().st_size
    for t in reader.tensors:
        end = int(t.data_offset) + int(t.n_bytes)
        if end > size or t.data.nbytes < int(t.n_bytes):
            raise GGUFImportError(
                f"{src}: truncated GGUF file: tensor {t.name!r} needs bytes up to "
                f"{end} but the file has {size} bytes"
            )
    return reader


class _SplitReader:
    """The parts of a split GGUF file read as one: metadata of part 1, tensors of all parts."""

    def __init__(self, readers: list[Any]) -> None:
        self.fields = readers[0].fields
        self.tensors = [t for r in readers for t in r.tensors]


def split_parts(src: Path) -> list[Path]:
    """``[src]``, or all the parts of the split GGUF file whose first part is ``src``."""
    src = Path(src)
    m = _SPLIT_NAME.match(src.name)
    if not m:
        return [src]
    count = int(m.group(3))
    return [src.with_name(f"{m.group(1)}-{i:05d}-of-{m.group(3)}.gguf") for i in range(1, count + 1)]


def _open_any(src: Path) -> tuple[Any, list[Path]]:
    """A reader for a GGUF file, or for all parts of a split one (given its first part)."""
    reader = _open_reader(src)
    count = int(_field_value(reader, "split.count", 1) or 1)
    if count <= 1:
        return reader, [src]
    m = _SPLIT_NAME.match(src.name)
    if not m or int(m.group(2)) != 1 or int(m.group(3)) != count:
        raise GGUFImportError(
            f"{src}: one part of a split GGUF file ({count} parts); import its first part "
            f"(the file named ...-00001-of-{count:05d}.gguf)"
        )
    parts = split_parts(src)
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise GGUFImportError(f"{src}: split GGUF file: part(s) {', '.join(missing)} missing next to it")
    return _SplitReader([reader] + [_open_reader(p) for p in parts[1:]]), parts


def inspect_gguf(src: Path | str) -> GGUFSummary:
    """Read only the header of a GGUF file (all parts of a split one)."""
    src = Path(src)
    reader, _parts = _open_any(src)
    types: dict[str, int] = {}
    for t in reader.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    return GGUFSummary(
        architecture=str(_field_value(reader, "general.architecture", "")),
        name=str(_field_value(reader, "general.name", "")),
        tensor_types=types,
        n_tensors=len(reader.tensors),
        tokenizer_model=str(_field_value(reader, "tokenizer.ggml.model", "")),
    )


# --------------------------------------------------------------------------- names

_BLOCK_MAP = {
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
_TOP_MAP = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}
_IGNORED = {"rope_freqs", "rope_factors_long", "rope_factors_short"}


def _map_name(gguf_name: str) -> tuple[str, str] | None:
    """'blk.3.attn_q.weight' -> ('model.layers.3.self_attn.q_proj', 'weight').

    Returns None for tensors the model does not need (precomputed RoPE tables).
    Raises GGUFImportError for unknown names.
    """
    base, _, suffix = gguf_name.rpartition(".")
    if suffix not in ("weight", "bias"):
        base, suffix = gguf_name, "weight"
    if base in _IGNORED:
        return None
    if base in _TOP_MAP:
        return _TOP_MAP[base], suffix
    parts = base.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _BLOCK_MAP:
        return f"model.layers.{parts[1]}.{_BLOCK_MAP[parts[2]]}", suffix
    raise GGUFImportError(f"unknown tensor {gguf_name!r}: no mlx-lm equivalent")


# --------------------------------------------------------------------------- tensors

_PLAIN = {"F32", "F16", "BF16"}
# Block formats whose every block of 32 weights is exactly ``scale * q + bias`` for small
# integers q: converted without loss to MLX affine quantization (group size 32), at these bits.
# Q5_0/Q5_1 (5-bit integers) and the IQ4 non-linear codebooks (integer levels in [-127, 113]
# times a block scale) go to 8 bits: exact, and the width every CPU path handles.
_LEGACY = {"Q8_0": 8, "Q4_0": 4, "Q4_1": 4, "Q5_0": 8, "Q5_1": 8, "IQ4_NL": 8, "IQ4_XS": 8}
_KQUANT_BITS = {"Q2_K": 4, "Q3_K": 4, "Q6_K": 8}
# K-quants with 32-weight sub-blocks of ``d * sc * q - dmin * m``: converted exactly up to the
# float16 rounding of each sub-block's scale and bias (4 bits for Q4_K, 8 for Q5_K's 5-bit q).
_KQUANT_AFFINE = {"Q4_K": 4, "Q5_K": 8}
_LEGACY.update(_KQUANT_AFFINE)
SUPPORTED_TENSOR_TYPES = tuple(sorted(_PLAIN | set(_LEGACY) | set(_KQUANT_BITS)))
# The IQ4_NL / IQ4_XS codebook (ggml-common.h kvalues_iq4nl).
_IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.int16)


def _pack_bits(q: np.ndarray, bits: int) -> np.ndarray:
    """Pack unsigned ints (rows, cols) into uint32 the way MLX does (LSB first)."""
    per = 32 // bits
    rows, cols = q.shape
    q = q.astype(np.uint32).reshape(rows, cols // per, per)
    shifts = (np.arange(per, dtype=np.uint32) * bits)[None, None, :]
    return np.bitwise_or.reduce(q << shifts, axis=-1).astype(np.uint32)


def _f16(blocks: np.ndarray, at: int) -> np.ndarray:
    """The float16 at byte offset ``at`` of every block: (rows, nblk)."""
    return blocks[..., at : at + 2].copy().view(np.float16)[..., 0]


def _nibbles(qs: np.ndarray) -> np.ndarray:
    """16 bytes -> 32 values: low nibbles are values 0..15, high nibbles 16..31 (ggml order)."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def _high_bits(qh: np.ndarray) -> np.ndarray:
    """Q5's 4 bytes of high bits -> (…, 32) values 0/1, bit j of the little-endian u32 for value j."""
    u = qh.copy().view("<u4")  # (..., 1)
    return ((u >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)


def _legacy_to_affine(raw: np.ndarray, type_name: str, rows: int, cols: int):
    """GGUF 32-weight block formats -> (packed uint32, scales f16, biases f16, bits).

    Exact: every block is ``scale * q + bias`` for integers q (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
    IQ4_NL); for IQ4_XS the per-32 scale ``d * (ls - 32)`` is rounded to float16.
    """
    if type_name == "IQ4_XS":
        return _iq4_xs_to_affine(raw, rows, cols)
    if type_name in _KQUANT_AFFINE:
        return _kquant_to_affine(raw, type_name, rows, cols)
    nblk = cols // 32
    blocks = np.ascontiguousarray(raw).reshape(rows, nblk, -1)
    d = _f16(blocks, 0)
    if type_name == "Q8_0":  # f16 d, int8 qs[32]
        q = blocks[..., 2:34].view(np.int8).astype(np.int16) + 128  # 0..255
        scales, biases, bits = d, (d.astype(np.float32) * -128.0).astype(np.float16), 8
    elif type_name == "Q4_0":  # f16 d, u8 qs[16]: w = d * (q - 8)
        q = _nibbles(blocks[..., 2:18])
        scales, biases, bits = d, (d.astype(np.float32) * -8.0).astype(np.float16), 4
    elif type_name == "Q4_1":  # f16 d, f16 m, u8 qs[16]: w = d * q + m
        q = _nibbles(blocks[..., 4:20])
        scales, biases, bits = d, _f16(blocks, 2), 4
    elif type_name == "Q5_0":  # f16 d, u8 qh[4], u8 qs[16]: w = d * (q - 16), q 5 bits
        q = _nibbles(blocks[..., 6:22]) | (_high_bits(blocks[..., 2:6]) << 4)
        scales, biases, bits = d, (d.astype(np.float32) * -16.0).astype(np.float16), 8
    elif type_name == "Q5_1":  # f16 d, f16 m, u8 qh[4], u8 qs[16]: w = d * q + m
        q = _nibbles(blocks[..., 8:24]) | (_high_bits(blocks[..., 4:8]) << 4)
        scales, biases, bits = d, _f16(blocks, 2), 8
    elif type_name == "IQ4_NL":  # f16 d, u8 qs[16]: w = d * levels[nibble]
        q = _IQ4_LEVELS[_nibbles(blocks[..., 2:18])] + 128  # 1..241
        scales, biases, bits = d, (d.astype(np.float32) * -128.0).astype(np.float16), 8
    else:  # pragma: no cover
        raise AssertionError(type_name)
    return _pack_bits(q.reshape(rows, cols), bits), scales, biases, bits


def _kquant_to_affine(raw: np.ndarray, type_name: str, rows: int, cols: int):
    """Q4_K / Q5_K super-blocks of 256 -> 4-/8-bit affine triplets with group size 32.

    Q4_K: f16 d, f16 dmin, u8 scales[12] (6-bit sc and m per 32), u8 qs[128];
    Q5_K: the same plus u8 qh[32] (the fifth bit) before qs. Sub-block j of 32 is
    ``w = (d * sc_j) * q - dmin * m_j`` (gguf.quants' dequantize_blocks).
    """
    import gguf

    nbytes = 144 if type_name == "Q4_K" else 176
    nsb = cols // 256
    sb = np.ascontiguousarray(raw).reshape(rows * nsb, nbytes)
    d = sb[:, 0:2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    dmin = sb[:, 2:4].copy().view(np.float16).astype(np.float32)
    sc, m = gguf.quants.Q4_K.get_scale_min(sb[:, 4:16])  # (n, 8) each
    scales = (d * sc.astype(np.float32)).astype(np.float16)
    biases = (-(dmin * m.astype(np.float32))).astype(np.float16)
    if type_name == "Q4_K":
        qs = sb[:, 16:144].reshape(-1, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
        q = (qs & 0x0F).reshape(-1, 256)
        bits = 4
    else:
        qh = sb[:, 16:48].reshape(-1, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)
        ql = sb[:, 48:176].reshape(-1, 4, 1, 32) >> np.array([0, 4], np.uint8).reshape(1, 1, 2, 1)
        q = ((ql & 0x0F).reshape(-1, 8, 32) | ((qh & 0x01).reshape(-1, 8, 32) << 4)).reshape(-1, 256)
        bits = 8
    return (_pack_bits(q.reshape(rows, cols), bits), scales.reshape(rows, nsb * 8),
            biases.reshape(rows, nsb * 8), bits)


def _iq4_xs_to_affine(raw: np.ndarray, rows: int, cols: int):
    """IQ4_XS super-blocks of 256: f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128].

    Sub-block ib (32 weights) has the 6-bit scale ls = low nibble ib of scales_l | 2 bits ib of
    scales_h << 4, and w = d * (ls - 32) * levels[nibble] (ggml's dequantize_row_iq4_xs).
    """
    nsb = cols // 256
    sb = np.ascontiguousarray(raw).reshape(rows, nsb, 136)
    d = _f16(sb, 0).astype(np.float32)  # (rows, nsb)
    sh = sb[..., 2:4].copy().view("<u2")[..., 0].astype(np.uint32)  # (rows, nsb)
    sl = sb[..., 4:8]  # (rows, nsb, 4)
    ib = np.arange(8)
    lo = (sl[..., ib // 2] >> (4 * (ib % 2))) & 0x0F  # (rows, nsb, 8)
    hi = (sh[..., None] >> (2 * ib)) & 3
    ls = (lo.astype(np.int32) | (hi.astype(np.int32) << 4)) - 32
    dl = (d[..., None] * ls).astype(np.float16)  # (rows, nsb, 8)
    qs = sb[..., 8:136].reshape(rows, nsb, 8, 16)
    q = _IQ4_LEVELS[_nibbles(qs)] + 128  # (rows, nsb, 8, 32)
    scales = dl.reshape(rows, nsb * 8)
    biases = (dl.astype(np.float32) * -128.0).astype(np.float16).reshape(rows, nsb * 8)
    return _pack_bits(q.reshape(rows, cols), 8), scales, biases, 8


def _unpermute_rows(a: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (works on weights, scales, biases).

    llama.cpp did ``w.reshape(n_head, 2, hd//2, ...).swapaxes(1, 2)``; the inverse
    is ``w.reshape(n_head, hd//2, 2, ...).swapaxes(1, 2)``.
    """
    rows = a.shape[0]
    if rows % (2 * n_head):
        raise GGUFImportError(f"cannot un-permute {rows} rows for {n_head} heads")
    half = rows // n_head // 2
    return np.ascontiguousarray(
        a.reshape(n_head, half, 2, *a.shape[1:]).swapaxes(1, 2).reshape(a.shape)
    )


# --------------------------------------------------------------------------- config


def _build_config(reader: Any, arch: str, tensors: dict[str, Any]) -> dict[str, Any]:
    """``tensors`` maps GGUF tensor names to their GGUF shapes (ne0=in, ne1=out)."""
    def get(key: str, default: Any = None) -> Any:
        return _field_value(reader, f"{arch}.{key}", default)

    emb = tensors.get("token_embd.weight")
    if emb is None:
        raise GGUFImportError("the file has no token_embd.weight tensor")
    vocab_rows = int(emb[1]) if len(emb) > 1 else 0
    hidden = get("embedding_length")
    n_layers = get("block_count")
    n_head = get("attention.head_count")
    if hidden is None or n_layers is None or n_head is None:
        raise GGUFImportError(
            f"metadata incomplete: need {arch}.embedding_length, {arch}.block_count "
            f"and {arch}.attention.head_count"
        )
    n_head_kv = get("attention.head_count_kv", n_head)
    if isinstance(n_head_kv, list):
        raise GGUFImportError("per-layer head_count_kv is not supported")
    ffn = get("feed_forward_length")
    if ffn is None:
        ffn = int(tensors["blk.0.ffn_up.weight"][1])
    head_dim = get("attention.key_length", int(hidden) // int(n_head))
    cfg: dict[str, Any] = {
        "architectures": ["Qwen2ForCausalLM" if arch == "qwen2" else "LlamaForCausalLM"],
        "model_type": arch,
        "hidden_size": int(hidden),
        "intermediate_size": int(ffn),
        "num_attention_heads": int(n_head),
        "num_key_value_heads": int(n_head_kv),
        "num_hidden_layers": int(n_layers),
        "head_dim": int(head_dim),
        "rms_norm_eps": float(get("attention.layer_norm_rms_epsilon", 1e-6)),
        "rope_theta": float(get("rope.freq_base", 1000000.0 if arch == "qwen2" else 10000.0)),
        "max_position_embeddings": int(get("context_length", 4096)),
        "vocab_size": int(get("vocab_size", vocab_rows) or vocab_rows),
        "tie_word_embeddings": "output.weight" not in tensors,
    }
    if arch == "llama":
        cfg["attention_bias"] = "blk.0.attn_q.bias" in tensors
        cfg["mlp_bias"] = False
    scaling_type = get("rope.scaling.type")
    if scaling_type == "linear":
        cfg["rope_scaling"] = {"type": "linear", "factor": float(get("rope.scaling.factor", 1.0))}
    elif scaling_type not in (None, "none"):
        raise GGUFImportError(f"unsupported RoPE scaling {scaling_type!r}")
    if cfg["vocab_size"] != vocab_rows:
        cfg["vocab_size"] = vocab_rows
    for key, meta in (("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id")):
        v = _field_value(reader, f"tokenizer.ggml.{meta}")
        if v is not None:
            cfg[key] = int(v)
    return cfg


# --------------------------------------------------------------------------- tokenizer

# Pre-tokenizer regexes used by llama.cpp for the "tokenizer.ggml.pre" names.
_QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _pre_tokenizer(pre: str):
    from tokenizers import Regex, pre_tokenizers

    if pre in ("qwen2", "deepseek-r1-qwen"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_QWEN2_REGEX), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    if pre in ("llama-bpe", "llama3", "smaug-bpe"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_LLAMA3_REGEX), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    if pre in ("smollm", "starcoder", "refact"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    # "gpt2", "default", unknown: plain GPT-2 byte-level pre-tokenization.
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


# GGUF token types (llama.cpp's llama_token_type)
_TT_NORMAL, _TT_UNKNOWN, _TT_CONTROL, _TT_USER, _TT_UNUSED, _TT_BYTE = 1, 2, 3, 4, 5, 6


def _spm_merges(tokens: list[str], types: list[int], scores: list[float]) -> list[tuple[str, str]]:
    """BPE merges equivalent to llama.cpp's SentencePiece tokenizer.

    llama.cpp (llm_tokenizer_spm) starts from the text's characters and repeatedly joins the
    adjacent pair whose concatenation is a vocabulary piece with the highest score. That is BPE
    with one merge per way of splitting each (normal) piece in two vocabulary pieces, ranked by
    the joined piece's score (ties: lower token id first).
    """
    ids: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if int(types[i]) in (_TT_NORMAL, _TT_USER):
            ids.setdefault(t, i)
    ranked = []
    for piece, i in ids.items():
        if len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                ranked.append((-float(scores[i]), i, ids[left], ids[right], left, right))
    ranked.sort()
    return [(r[4], r[5]) for r in ranked]


def _spm_tokenizer(reader: Any, tokens: list[str], types: list[int], vocab: dict[str, int],
                   merges: list[tuple[str, str]]) -> Any:
    """A ``tokenizers`` BPE that tokenizes like llama.cpp's SentencePiece ("llama") vocabulary:
    spaces become "▁", a "▁" is put in front of the text (and after every special token, as
    llama.cpp does) when ``tokenizer.ggml.add_space_prefix`` (default true), characters
    missing from the vocabulary fall back to the <0xXX> byte pieces."""
    from tokenizers import Tokenizer, decoders, models, normalizers

    scores = _field_value(reader, "tokenizer.ggml.scores")
    if scores is None:
        if not merges:
            raise GGUFImportError(
                "SentencePiece tokenizer without scores (tokenizer.ggml.scores) or merges"
            )
    elif len(scores) != len(tokens):
        raise GGUFImportError(f"tokenizer has {len(tokens)} tokens but {len(scores)} scores")
    if not merges:
        merges = _spm_merges(tokens, types, scores)
    unk_id = _field_value(reader, "tokenizer.ggml.unknown_token_id")
    if unk_id is None:
        unk_id = next((i for i, ty in enumerate(types) if int(ty) == _TT_UNKNOWN), None)
    unk = tokens[int(unk_id)] if unk_id is not None and 0 <= int(unk_id) < len(tokens) else None
    has_bytes = any(int(ty) == _TT_BYTE for ty in types)
    bpe = models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=has_bytes)
    tok = Tokenizer(bpe)
    add_prefix = bool(_field_value(reader, "tokenizer.ggml.add_space_prefix", True))
    # A normalizer, not a Metaspace pre-tokenizer: that one does not prepend to a text already
    # starting with a space, llama.cpp does. Normalizers run on each stretch between special
    # tokens, so the prefix also follows every special token, as in llama.cpp.
    steps_n = [normalizers.Replace(" ", "\u2581")]
    if add_prefix:
        steps_n.insert(0, normalizers.Prepend("\u2581"))
    tok.normalizer = normalizers.Sequence(steps_n)
    steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix:
        steps.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(steps)
    return tok


def _build_tokenizer(reader: Any, arch: str, n_vocab_rows: int) -> tuple[Any, dict[str, Any]]:
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    tok_model = _field_value(reader, "tokenizer.ggml.model")
    if tok_model is None:
        raise GGUFImportError("the file has no tokenizer (tokenizer.ggml.model missing)")
    if tok_model not in ("gpt2", "llama"):
        raise GGUFImportError(
            f"tokenizer type {tok_model!r} is not supported (supported: GPT-2 style "
            "byte-level BPE 'gpt2' and SentencePiece BPE 'llama')"
        )
    tokens = _field_value(reader, "tokenizer.ggml.tokens")
    merges = _field_value(reader, "tokenizer.ggml.merges") or []
    types = _field_value(reader, "tokenizer.ggml.token_type") or [1] * len(tokens or [])
    if not tokens:
        raise GGUFImportError("the file has an empty tokenizer vocabulary")
    if len(tokens) > n_vocab_rows:
        raise GGUFImportError(
            f"tokenizer has {len(tokens)} tokens but the embedding has only "
            f"{n_vocab_rows} rows"
        )
    if len(types) != len(tokens):
        raise GGUFImportError(
            f"tokenizer has {len(tokens)} tokens but {len(types)} token types"
        )
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    merge_pairs = []
    for m in merges:
        a, sep, b = m.partition(" ")
        if not sep:
            raise GGUFImportError(f"malformed BPE merge {m!r}")
        merge_pairs.append((a, b))
    if tok_model == "llama":
        tok = _spm_tokenizer(reader, tokens, types, vocab, merge_pairs)
    else:
        bpe = models.BPE(vocab=vocab, merges=merge_pairs, fuse_unk=False, byte_fallback=False)
        tok = Tokenizer(bpe)
        pre = str(_field_value(reader, "tokenizer.ggml.pre", "default"))
        tok.pre_tokenizer = _pre_tokenizer(pre)
        tok.decoder = decoders.ByteLevel()

    special: list[AddedToken] = []
    user: list[AddedToken] = []
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if int(ty) == 3:  # CONTROL
            special.append(AddedToken(t, special=True, normalized=False))
        elif int(ty) == 4:  # USER_DEFINED
            user.append(AddedToken(t, special=False, normalized=False))
    if special:
        tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)

    def tok_str(key: str) -> str | None:
        idx = _field_value(reader, f"tokenizer.ggml.{key}")
        if idx is None or not (0 <= int(idx) < len(tokens)):
            return None
        return tokens[int(idx)]

    bos, eos = tok_str("bos_token_id"), tok_str("eos_token_id")
    pad, unk = tok_str("padding_token_id"), tok_str("unknown_token_id")
    add_bos = bool(_field_value(reader, "tokenizer.ggml.add_bos_token", False))
    if add_bos and bos is not None:
        bos_id = int(_field_value(reader, "tokenizer.ggml.bos_token_id"))
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    elif tok_model == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)

    template = _field_value(reader, "tokenizer.chat_template") or CHATML_TEMPLATE
    tcfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": add_bos,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(_field_value(reader, f"{arch}.context_length", 4096)),
        "chat_template": template,
    }
    for key, val in (("bos_token", bos), ("eos_token", eos), ("pad_token", pad), ("unk_token", unk)):
        if val is not None:
            tcfg[key] = val
    return tok, tcfg


# --------------------------------------------------------------------------- main


def import_gguf(
    src: Path | str,
    dest_root: Path | str,
    name: str | None = None,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    provenance: dict[str, Any] | None = None,
    _unpermute: bool = True,
) -> Path:
    """Import ``src`` (a .gguf file) as the mlx-lm model folder ``dest_root/name``.

    ``progress(message, fraction)`` is called with fraction in [0, 1].
    The folder appears atomically (built in a hidden temp folder, then renamed).
    If the folder already exists, raise GGUFImportError unless ``overwrite``.
    ``provenance`` is merged into ``gguf_import.json`` (e.g. the hub repo and file).
    ``_unpermute=False`` is for tests only: it leaves llama's q/k rows in
    llama.cpp order, which yields a (deliberately) broken model.
    """
    src = Path(src)
    dest_root = Path(dest_root)
    progress = progress or _noop_progress
    name = name or default_name_for(src)
    if "/" in name or name in ("", ".", "..") or name.startswith("."):
        raise GGUFImportError(f"invalid model name {name!r}")
    dest = dest_root / name
    if dest.exists() and not overwrite:
        raise GGUFImportError(f"{dest} already exists (pass overwrite=True to replace it)")

    t0 = time.monotonic()
    progress("reading GGUF header", 0.0)
    reader, parts = _open_any(src)
    arch = _field_value(reader, "general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise GGUFImportError(
            f"unsupported architecture {arch!r} (supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
        )
    by_name = {t.name: t for t in reader.tensors}
    # Validate all tensor types and names before doing any heavy work.
    for t in reader.tensors:
        tname = t.tensor_type.name
        if tname not in _PLAIN and tname not in _LEGACY and tname not in _KQUANT_BITS:
            raise GGUFImportError(
                f"tensor {t.name!r} has unsupported type {tname} "
                f"(supported: {', '.join(SUPPORTED_TENSOR_TYPES)})"
            )
        _map_name(t.name)

    # shapes in GGUF are (ne0=in, ne1=out); we want numpy (out, in)
    config = _build_config(reader, arch, {k: v.shape for k, v in by_name.items()})
    n_head = config["num_attention_heads"]
    n_head_kv = config["num_key_value_heads"]
    vocab_rows = int(by_name["token_embd.weight"].shape[1])
    tokenizer, tok_config = _build_tokenizer(reader, arch, vocab_rows)

    import mlx.core as mx

    weights: dict[str, Any] = {}
    quant_cfg: dict[str, Any] = {}
    type_counts: dict[str, int] = {}
    total = max(1, len(reader.tensors))
    for i, t in enumerate(reader.tensors):
        mapped = _map_name(t.name)
        type_counts[t.tensor_type.name] = type_counts.get(t.tensor_type.name, 0) + 1
        if mapped is None:
            continue
        module, suffix = mapped
        key = f"{module}.{suffix}"
        tname = t.tensor_type.name
        ne = [int(x) for x in t.shape]
        shape = tuple(reversed(ne))  # numpy order (out, in)
        permute_heads = None
        if _unpermute and arch == "llama" and suffix in ("weight", "bias"):
            if t.name.startswith("blk.") and ".attn_q." in t.name:
                permute_heads = n_head
            elif t.name.startswith("blk.") and ".attn_k." in t.name:
                permute_heads = n_head_kv

        def fix(a: np.ndarray) -> np.ndarray:
            return _unpermute_rows(a, permute_heads) if permute_heads else a

        try:
            if tname in _PLAIN:
                if tname == "BF16":
                    import gguf

                    arr = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
                    weights[key] = mx.array(fix(arr)).astype(mx.bfloat16)
                else:
                    arr = np.asarray(t.data).reshape(shape)
                    weights[key] = mx.array(fix(np.ascontiguousarray(arr)))
            elif tname in _LEGACY:
                if len(shape) != 2 or suffix != "weight":
                    raise GGUFImportError(
                        f"tensor {t.name!r}: quantized type {tname} only supported for 2-D weights"
                    )
                rows, cols = shape
                wq, sc, bi, bits = _legacy_to_affine(np.asarray(t.data), tname, rows, cols)
                weights[f"{module}.weight"] = mx.array(fix(wq))
                weights[f"{module}.scales"] = mx.array(fix(sc))
                weights[f"{module}.biases"] = mx.array(fix(bi))
                quant_cfg[module] = {"group_size": 32, "bits": bits}
            else:  # K-quants: dequantize with gguf, requantize with MLX
                import gguf

                arr = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
                arr = fix(np.ascontiguousarray(arr.reshape(shape), dtype=np.float32))
                if len(shape) == 2 and suffix == "weight":
                    bits = _KQUANT_BITS[tname]
                    gs = 64 if shape[1] % 64 == 0 else 32
                    wq, sc, bi = mx.quantize(mx.array(arr, dtype=mx.float16), group_size=gs, bits=bits)
                    weights[f"{module}.weight"] = wq
                    weights[f"{module}.scales"] = sc
                    weights[f"{module}.biases"] = bi
                    quant_cfg[module] = {"group_size": gs, "bits": bits}
                else:
                    weights[key] = mx.array(arr)
        except GGUFImportError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise GGUFImportError(f"tensor {t.name!r} ({tname}, shape {shape}): {e}") from None
        mx.eval(*(weights[k] for k in (f"{module}.{suffix}", f"{module}.scales", f"{module}.biases") if k in weights))
        progress(f"converting {t.name}", 0.05 + 0.85 * (i + 1) / total)

    if config["tie_word_embeddings"]:
        weights.pop("lm_head.weight", None)
    if quant_cfg:
        bits_seen = [q["bits"] for q in quant_cfg.values()]
        gs_seen = [q["group_size"] for q in quant_cfg.values()]
        default_bits = max(set(bits_seen), key=bits_seen.count)
        default_gs = max(set(gs_seen), key=gs_seen.count)
        q: dict[str, Any] = {"group_size": default_gs, "bits": default_bits}
        # Name only the modules that differ from the default (mlx-lm looks each
        # module path up in this dict first).
        q.update({m: c for m, c in quant_cfg.items() if c != {"group_size": default_gs, "bits": default_bits}})
        config["quantization"] = q
        config["quantization_config"] = q

    # ---- write atomically
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = dest_root / f".{name}.importing-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        progress("writing model.safetensors", 0.92)
        mx.save_safetensors(str(tmp / "model.safetensors"), weights, metadata={"format": "mlx"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        tokenizer.save(str(tmp / "tokenizer.json"))
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n")
        (tmp / "gguf_import.json").write_text(
            json.dumps(
                {
                    "source": str(src.resolve()),
                    "source_bytes": sum(p.stat().st_size for p in parts),
                    **({"parts": len(parts)} if len(parts) > 1 else {}),
                    "general.name": _field_value(reader, "general.name"),
                    "architecture": arch,
                    "tensor_types": type_counts,
                    "unpermuted_qk": bool(_unpermute and arch == "llama"),
                    "seconds": round(time.monotonic() - t0, 2),
                    **(provenance or {}),
                },
                indent=2,
            )
            + "\n"
        )
        if dest.exists():
            old = dest_root / f".{name}.old-{os.getpid()}"
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress("done", 1.0)
    return dest
