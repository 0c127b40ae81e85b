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
tokenizes like llama.cpp (see ``engine.llm.gguf_tokenizer._spm_merges``).

The import is in three modules: this one (reading, names, config, the import itself),
:mod:`engine.llm.gguf_tensors` (tensor types into MLX) and :mod:`engine.llm.gguf_tokenizer`
(the vocabulary into ``tokenizers`` files). None imports textual/rich/console.  This module never imports textual/rich/console.  It imports ``mlx.core``
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
from .folders import GGUFImportError
from .gguf_tensors import _KQUANT_BITS, _LEGACY, _PLAIN, SUPPORTED_TENSOR_TYPES, _legacy_to_affine, _unpermute_rows
from .gguf_tokenizer import _build_tokenizer, _field_value

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

Progress = Callable[[str, float], None]


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
