"""CPU fast path for MLX inference.

Background (measured on x86-64 Linux, mlx[cpu] 0.32):

* The ``mlx[cpu]`` wheel links a slow reference (netlib) BLAS.  If OpenBLAS is
  loaded into the process with ``RTLD_GLOBAL`` *before* ``mlx.core`` is first
  imported, MLX's float32 matmuls resolve ``cblas_sgemm`` to OpenBLAS instead:
  multi-threaded and vectorised, tens of times faster.
* MLX's quantized matmul on CPU is scalar and single-threaded.

So on a CPU-only machine a small model is much faster when it is dequantized
to float32 and run through OpenBLAS.  On macOS (Metal) or CUDA we leave
everything alone and keep the quantized GPU path.

Usage::

    info = prepare_backend()           # before anything imports mlx.core
    model, tok = mlx_lm.load(path)
    if want_dequantize(model_bytes):
        dequantize_model(model)

This module must not import ``mlx`` at import time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import settings

__all__ = [
    "BackendInfo",
    "prepare_backend",
    "find_openblas",
    "want_dequantize",
    "available_memory_bytes",
    "dequantize_model",
    "quantized_module_count",
    "logical_parameter_count",
    "float32_size_bytes",
]

# Debian / Ubuntu locations (multiarch), most preferred first.
_OPENBLAS_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)


@dataclass(frozen=True)
class BackendInfo:
    device: str  # "cpu" | "gpu"
    blas: str  # "openblas (<path>)" | "reference (netlib)" | "accelerate" | "cuda" ...
    dtype: str  # "float32" | "quantized": what load_model should prefer
    note: str = ""

    @property
    def fast(self) -> bool:
        """True when the CPU fast path (OpenBLAS float32) is active."""
        return self.device == "cpu" and self.blas.startswith("openblas")


_lock = threading.Lock()
_cached: BackendInfo | None = None
_openblas_handle: Any = None


def find_openblas() -> str | None:
    """Path of an OpenBLAS shared library, or None.

    Order: ``$FLUX_OPENBLAS`` (if it names an existing file), the Debian/Ubuntu
    multiarch locations, then ``ctypes.util.find_library("openblas")``.
    """
    env = settings.openblas()
    if settings.openblas_off(env):
        return None  # the stock build on purpose (bench's before/after comparison)
    if env and Path(env).is_file():
        return env
    for cand in _OPENBLAS_CANDIDATES:
        if Path(cand).is_file():
            return cand
    found = ctypes.util.find_library("openblas")
    return found or None


def _mlx_has_gpu() -> tuple[bool, str]:
    """Only called on non-Linux-CPU setups or after mlx is already imported."""
    try:
        import mlx.core as mx

        if mx.metal.is_available():
            return True, "metal"
        cuda = getattr(mx, "cuda", None)
        if cuda is not None and cuda.is_available():
            return True, "cuda"
    except Exception:
        pass
    return False, ""


def _cuda_wheel_installed() -> bool:
    try:
        from importlib import metadata

        for dist in ("mlx-cuda", "mlx_cuda"):
            try:
                metadata.version(dist)
                return True
            except metadata.PackageNotFoundError:
                pass
    except Exception:
        pass
    return False


def _detect() -> BackendInfo:
    global _openblas_handle
    forced = settings.llm_dtype()

    if sys.platform == "darwin":
        # Metal (or Accelerate on Intel Macs): MLX is already well served.
        return BackendInfo(
            device="gpu" if platform.machine() == "arm64" else "cpu",
            blas="accelerate",
            dtype="float32" if forced == "float32" else "quantized",
            note="macOS: MLX uses Metal/Accelerate; nothing to do",
        )

    if _cuda_wheel_installed():
        return BackendInfo(
            device="gpu",
            blas="cuda",
            dtype="float32" if forced == "float32" else "quantized",
            note="CUDA build of MLX: quantized GPU path",
        )

    already = "mlx.core" in sys.modules
    path = find_openblas()
    if already:
        gpu, kind = _mlx_has_gpu()
        if gpu:
            return BackendInfo("gpu", kind, "quantized", f"{kind} GPU available")
        if path and _openblas_handle is None and not _maps_contain("libopenblas"):
            return BackendInfo(
                device="cpu",
                blas="reference (netlib)",
                dtype="quantized" if forced != "float32" else "float32",
                note=(
                    "mlx was imported before prepare_backend(): the OpenBLAS fast path "
                    "is unavailable in this process (call prepare_backend() before "
                    "importing mlx)"
                ),
            )
    if path is None:
        return BackendInfo(
            device="cpu",
            blas="reference (netlib)",
            dtype="quantized" if forced != "float32" else "float32",
            note=(
                "OpenBLAS not found (install libopenblas0-pthread or set FLUX_OPENBLAS); "
                "MLX falls back to its slow reference BLAS, so the quantized path is kept"
            ),
        )
    if _openblas_handle is None and not _maps_contain("libopenblas"):
        try:
            _openblas_handle = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            return BackendInfo(
                device="cpu",
                blas="reference (netlib)",
                dtype="quantized",
                note=f"could not load OpenBLAS from {path}: {e}",
            )
    return BackendInfo(
        device="cpu",
        blas=f"openblas ({path})",
        dtype="quantized" if forced == "quantized" else "float32",
        note="OpenBLAS loaded before mlx: float32 matmuls use it",
    )


def sgemm_address() -> int | None:
    """The address of ``cblas_sgemm`` in the OpenBLAS this process loaded for MLX (the fast
    path), for the C prefill (:mod:`engine.llm.native`); None without it."""
    info = _cached
    if info is None or not info.fast:
        return None
    try:
        lib = _openblas_handle if _openblas_handle is not None else ctypes.CDLL(info.blas.split("(", 1)[1].rstrip(")"))
        return ctypes.cast(lib.cblas_sgemm, ctypes.c_void_p).value
    except (OSError, AttributeError, IndexError):
        return None


def _maps_contain(fragment: str) -> bool:
    try:
        with open("/proc/self/maps", "r") as fh:
            return any(fragment in line for line in fh)
    except OSError:
        return False


def prepare_backend() -> BackendInfo:
    """Set up the fastest MLX backend for this machine; idempotent.

    Must run before ``mlx.core`` is first imported for the OpenBLAS fast path
    to take effect (the note says so otherwise).
    """
    global _cached
    with _lock:
        if _cached is None:
            _cached = _detect()
        return _cached


def available_memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return int(pages) * int(size)
    except (ValueError, OSError, AttributeError):
        return None


def want_dequantize(model_bytes: int, *, float32_bytes: int | None = None) -> bool:
    """Should a quantized model of ``model_bytes`` be dequantized to float32?

    ``FLUX_LLM_DTYPE=quantized|float32`` overrides.  Otherwise: only on the CPU
    fast path, and only when the float32 copy (``float32_bytes``, or an
    estimate of ~7x a 4-bit model) stays under half of the available RAM.
    """
    forced = settings.llm_dtype()
    if forced == "quantized":
        return False
    if forced == "float32":
        return True
    info = prepare_backend()
    if not info.fast:
        return False
    need = float32_bytes if float32_bytes is not None else int(model_bytes) * 7
    avail = available_memory_bytes()
    if avail is None:
        return False
    return need < avail * 0.5


# --------------------------------------------------------------------------- dequantize


def quantized_module_count(model: Any) -> int:
    import mlx.nn as nn

    return sum(
        1
        for _, m in model.named_modules()
        if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding))
    )


def logical_parameter_count(model: Any) -> int:
    """Number of model parameters as if nothing were quantized."""
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    total = 0
    quantized_prefixes = []
    for path, m in model.named_modules():
        if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            total += m.weight.shape[0] * (m.weight.shape[1] * 32 // m.bits)
            quantized_prefixes.append(path + ".")
            if "bias" in m:
                total += m.bias.size
    for name, p in tree_flatten(model.parameters()):
        if any(name.startswith(q) for q in quantized_prefixes):
            continue
        total += p.size
    return total


def float32_size_bytes(model: Any) -> int:
    """Bytes the model's parameters take once dequantized to float32."""
    return 4 * logical_parameter_count(model)


def dequantize_model(model: Any, dtype: Any = None) -> int:
    """Replace every QuantizedLinear/QuantizedEmbedding with float ones, in place.

    Also casts remaining float parameters (norms, plain linears) to ``dtype``
    (default ``mx.float32``) so the whole forward pass runs in one dtype and
    float32 matmuls go through BLAS.  Tied embeddings keep working:
    ``nn.Embedding.as_linear`` is used by mlx-lm for the output projection.
    Returns the number of modules replaced.
    """
    import mlx.core as mx
    import mlx.nn as nn

    dtype = dtype or mx.float32
    replacements: list[tuple[str, Any]] = []
    for path, m in model.named_modules():
        if isinstance(m, nn.QuantizedLinear):
            w = mx.dequantize(
                m.weight, m.scales, m.get("biases"), m.group_size, m.bits, mode=getattr(m, "mode", "affine")
            ).astype(dtype)
            has_bias = "bias" in m
            lin = nn.Linear(w.shape[1], w.shape[0], bias=has_bias)
            lin.weight = w
            if has_bias:
                lin.bias = m.bias.astype(dtype)
            replacements.append((path, lin))
        elif isinstance(m, nn.QuantizedEmbedding):
            w = mx.dequantize(
                m.weight, m.scales, m.get("biases"), m.group_size, m.bits, mode=getattr(m, "mode", "affine")
            ).astype(dtype)
            emb = nn.Embedding(w.shape[0], w.shape[1])
            emb.weight = w
            replacements.append((path, emb))
    for path, new in replacements:
        _set_module(model, path, new)
        mx.eval(new.parameters())
    # cast everything else (norm weights, float16 plain linears) to dtype
    from mlx.utils import tree_map

    def cast(p):
        if isinstance(p, mx.array) and mx.issubdtype(p.dtype, mx.floating) and p.dtype != dtype:
            return p.astype(dtype)
        return p

    model.update(tree_map(cast, model.parameters()))
    mx.eval(model.parameters())
    return len(replacements)


def _set_module(root: Any, path: str, new: Any) -> None:
    parts = path.split(".")
    parent = root
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else getattr(parent, p) if not isinstance(parent, dict) else parent[p]
    last = parts[-1]
    if isinstance(parent, list):
        parent[int(last)] = new
    elif isinstance(parent, dict) and not hasattr(parent, "named_modules"):
        parent[last] = new
    else:
        setattr(parent, last, new)
