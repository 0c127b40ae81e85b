"""Decode-step products on the CPU: a few rows times every weight matrix, weights read once.

A decode step multiplies one row per stream (1 to 8 rows) by each of the model's weight
matrices. MLX hands that to BLAS as a matrix product, and OpenBLAS packs the whole weight
matrix for it: on this machine 4 rows cost 2-3 times what 1 row costs, and 1 row costs twice
what reading the weights costs (MLX does not use BLAS's matrix-vector path for ``x @ W.T``).
``skinny.c`` reads each weight row once and uses it for all the rows, on two threads: a
decode step's products then cost about what streaming the weights from memory costs, for 1
row as for 4.

It is C, compiled on first use with the system's C compiler (``cc -O3 -march=native``) into
``<cache folder>/kernels/`` (:func:`engine.locations.kernels_dir`:
``$TEXTURE_CACHE`` or ``$XDG_CACHE_HOME/world-texture``) and loaded with ctypes. Without a compiler,
or with ``FLUX_SKINNY=0``, :func:`load` returns None and MLX's own products are used; the
reason is in :func:`status`.

Determinism: every output is a dot product summed in a fixed order, so a row's result does not
depend on how many other rows share the step. Only float32, C-contiguous weights are used.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ... import locations, settings

SOURCE = Path(__file__).with_name("skinny.c")
# The library is built from decode.c (the whole decode step, engine.llm.native), which includes
# skinny.c: one library, one helper thread for both.
BUILD_SOURCE = Path(__file__).with_name("decode.c")
INCLUDED = (Path(__file__).with_name("q4.c"),)  # decode.c's other #includes: part of the build key
MAX_ROWS = 8
Q8_GROUP = 32  # k values per scale in the q8 format (skinny.c's QG)
FLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-pthread"]
NAME = "skinny decode products (C, 2 threads)"

_lock = threading.Lock()
_lib: Any = None
_status = "not loaded"
_tried = False


def cache_dir() -> Path:
    """Where the built kernel and its calibration live: :func:`engine.locations.kernels_dir`."""
    return locations.kernels_dir()


def _cpu_signature() -> str:
    """What -march=native compiles for: the CPU's model and flags (Linux), else the platform."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return platform.machine() + ":" + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() + ":" + platform.processor()


def _compiler() -> str | None:
    cc = os.environ.get("CC")
    if cc and shutil.which(cc.split()[0]):
        return cc
    for name in ("cc", "gcc", "clang"):
        if shutil.which(name):
            return name
    return None


def _build_key(cc: str) -> str:
    src = SOURCE.read_bytes() + BUILD_SOURCE.read_bytes() + b"".join(p.read_bytes() for p in INCLUDED)
    return hashlib.sha256(src + " ".join([cc, *FLAGS, _cpu_signature(), sys.platform]).encode()).hexdigest()[:16]


def _build(cc: str) -> Path:
    key = _build_key(cc)
    out = cache_dir() / f"skinny-{key}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".skinny-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run([*cc.split(), *FLAGS, "-o", tmp, str(BUILD_SOURCE)], capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["no output"])[0]
            raise RuntimeError(f"{cc} failed: {first}")
        os.replace(tmp, out)  # atomic: a concurrent build leaves one complete file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def load() -> Any:
    """The compiled kernel (ctypes library), or None (see :func:`status`). Builds it once."""
    global _lib, _status, _tried
    with _lock:
        if _tried:
            return _lib
        _tried = True
        if settings.skinny_off():
            _status = "off (FLUX_SKINNY=0)"
            return None
        cc = _compiler()
        if cc is None:
            _status = "no C compiler found (install gcc, or set CC); MLX's products are used"
            return None
        try:
            lib = ctypes.CDLL(str(_build(cc)))
            lib.skinny_matmul.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                          ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            lib.skinny_matmul.restype = ctypes.c_int
            lib.skinny_matmul_q8.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            lib.skinny_matmul_q8.restype = ctypes.c_int
            lib.skinny_matmul_q8i.argtypes = lib.skinny_matmul_q8.argtypes
            lib.skinny_matmul_q8i.restype = ctypes.c_int
            lib.skinny_q8i_supported.restype = ctypes.c_int
            lib.skinny_set_spin.argtypes = [ctypes.c_long]
            lib.skinny_helper_chunks.argtypes = [ctypes.c_int]
            lib.skinny_helper_chunks.restype = ctypes.c_long
            lib.skinny_caller_chunks.argtypes = [ctypes.c_int]
            lib.skinny_caller_chunks.restype = ctypes.c_long
            lib.dec_step.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            lib.dec_step.restype = ctypes.c_int
            lib.dec_prefill.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
            lib.dec_prefill.restype = ctypes.c_int
            lib.dec_set_sgemm.argtypes = [ctypes.c_void_p]
            lib.dec_kv_bytes.restype = ctypes.c_int
            lib.dec_sample.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p]
            lib.dec_sample.restype = ctypes.c_int
            lib.dec_has_sgemm.restype = ctypes.c_int
            lib.dec_pack_bf16.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
            lib.dec_pack_bf16.restype = ctypes.c_int
            lib.dec_amx_enable.argtypes = [ctypes.c_int]
            lib.dec_amx_enable.restype = ctypes.c_int
            lib.dec_amx_compiled.restype = ctypes.c_int
            lib.dec_pack_q8.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                        ctypes.c_void_p]
            lib.dec_pack_q8.restype = ctypes.c_int
            lib.dec_matmul_q8_rows.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                               ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.dec_matmul_q8_rows.restype = ctypes.c_int
            lib.dec_matmul_q4.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
            lib.dec_matmul_q4.restype = ctypes.c_int
            lib.dec_matmul_q4i.argtypes = lib.dec_matmul_q4.argtypes
            lib.dec_matmul_q4i.restype = ctypes.c_int
            lib.dec_q4i_path.restype = ctypes.c_int
            lib.dec_q4d_path.restype = ctypes.c_int
            lib.dec_step_q4.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                        ctypes.c_int]
            lib.dec_step_q4.restype = ctypes.c_int
            if lib.skinny_max_rows() != MAX_ROWS or lib.skinny_q8_group() != Q8_GROUP:
                raise RuntimeError("kernel and module disagree on the row limit")
        except (OSError, RuntimeError, subprocess.SubprocessError) as e:
            _status = f"could not build or load {SOURCE.name}: {e}; MLX's products are used"
            return None
        _lib = lib
        _status = "on"
        return lib


def status() -> str:
    return _status


def reset_for_tests() -> None:
    global _lib, _status, _tried
    with _lock:
        _lib, _status, _tried = None, "not loaded", False


def weight_view(w: Any) -> np.ndarray | None:
    """A zero-copy float32 (N, K) numpy view of an MLX weight, or None if it is not one."""
    import mlx.core as mx

    if w.dtype != mx.float32 or w.ndim != 2:
        return None
    v = np.array(w, copy=False)
    return v if v.flags.c_contiguous and v.dtype == np.float32 else None


# Threads per product, by row count (1 row, 2+ rows): set by engine.llm.calibrate for the
# machine at hand; 2 (the caller and the helper) until then.
threads_for = {1: 2, 2: 2}


def build_id() -> str:
    """What identifies the compiled kernel: the source, flags and CPU it was built for."""
    return _build_key(_compiler() or "cc")


def quantize_q8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 (N, K) -> (uint8 (N, K), float32 (N, K/32, 2)): w ~ q * s + b per 32 values of a
    row, s = (max - min) / 255 and b = min (MLX's affine layout, 8 bits). A group that came from
    4-bit or 8-bit affine weights spanning 15 or 255 levels is represented exactly (to float
    rounding). K must be a multiple of 32."""
    n, k = w.shape
    if k % Q8_GROUP:
        raise ValueError(f"K={k} is not a multiple of {Q8_GROUP}")
    q = np.empty((n, k), np.uint8)
    sb = np.empty((n, k // Q8_GROUP, 2), np.float32)
    step = max(1, (1 << 22) // k)  # rows at a time: the float temporaries stay at a few MiB
    for r in range(0, n, step):
        g = w[r:r + step].reshape(-1, k // Q8_GROUP, Q8_GROUP)
        lo, hi = g.min(axis=2), g.max(axis=2)
        s = ((hi - lo) / 255.0).astype(np.float32)
        inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
        q[r:r + step] = np.clip(np.rint((g - lo[..., None]) * inv[..., None]), 0, 255).astype(np.uint8).reshape(-1, k)
        sb[r:r + step, :, 0] = s
        sb[r:r + step, :, 1] = lo
    return q, sb


def dequantize_q8(q: np.ndarray, sb: np.ndarray) -> np.ndarray:
    n, k = q.shape
    g = q.reshape(n, k // Q8_GROUP, Q8_GROUP).astype(np.float32)
    return (g * sb[..., 0:1] + sb[..., 1:2]).reshape(n, k)


def _q8_call(fn_name: str, x: np.ndarray, q: np.ndarray, s: np.ndarray, threads: int | None) -> tuple[np.ndarray, int]:
    """Check the shapes of a q8 product, run the kernel's ``fn_name`` on them: (y, its return code)."""
    lib = _lib if _lib is not None else load()
    if lib is None:
        raise RuntimeError(f"skinny kernel unavailable: {_status}")
    m, k = x.shape
    n = q.shape[0]
    if q.shape[1] != k or s.shape != (n, k // Q8_GROUP, 2) or not 1 <= m <= MAX_ROWS or k % Q8_GROUP:
        raise ValueError(f"shapes {x.shape} x q8 {q.shape}.T are not a skinny q8 product")
    y = np.empty((m, n), np.float32)
    t = threads if threads is not None else threads_for[min(m, 2)]
    return y, getattr(lib, fn_name)(x.ctypes.data, m, q.ctypes.data, s.ctypes.data, k, y.ctypes.data, n, t)


def matmul_q8_np(x: np.ndarray, q: np.ndarray, s: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``x @ dequantize_q8(q, s).T`` for x (M <= 8, K) float32, q uint8 (N, K), s (N, K/32, 2)."""
    return _q8_call("skinny_matmul_q8", x, q, s, threads)[0]


def matmul_q8_rows_np(x: np.ndarray, q: np.ndarray, s: np.ndarray, int_dot: bool = False,
                      threads: int | None = None) -> np.ndarray:
    """``x @ dequantize_q8(q, s).T`` for any number of rows (decode.c's blocked q8 products: each
    row's result is the bits it gets alone); ``int_dot``: int8 activations where the CPU has
    AVX512-VNNI."""
    lib = _lib if _lib is not None else load()
    if lib is None:
        raise RuntimeError(f"skinny kernel unavailable: {_status}")
    m, k = x.shape
    n = q.shape[0]
    if q.shape[1] != k or s.shape != (n, k // Q8_GROUP, 2) or m < 1 or k % Q8_GROUP:
        raise ValueError(f"shapes {x.shape} x q8 {q.shape}.T are not a q8 product")
    y = np.empty((m, n), np.float32)
    t = threads if threads is not None else threads_for[2]
    r = lib.dec_matmul_q8_rows(x.ctypes.data, m, q.ctypes.data, s.ctypes.data, k, y.ctypes.data, n, int(int_dot), t)
    if r != 0:
        raise RuntimeError(f"dec_matmul_q8_rows failed ({r})")
    return y


def q8i_support() -> tuple[bool, str]:
    """Whether the q8i products (int8 activations on AVX512-VNNI ``vpdpbusd``) run here, and why."""
    lib = _lib if _lib is not None else load()
    if lib is None:
        return False, f"skinny kernel unavailable: {_status}"
    if lib.skinny_q8i_supported():
        return True, "the CPU has AVX512-VNNI (cpuid) and the kernel was built with it"
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "i386", "i686"):
        return False, f"no integer dot-product variant for {machine}"
    return False, "the CPU does not report AVX512-VNNI (or the compiler lacks the target)"


def matmul_q8i_np(x: np.ndarray, q: np.ndarray, s: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``x @ dequantize_q8(q, s).T`` with x quantized to int8 per row and 32-value group (each
    row with its own scales) and the dots on AVX512-VNNI. Raises where q8i cannot run."""
    y, r = _q8_call("skinny_matmul_q8i", x, q, s, threads)
    if r != 0:
        raise RuntimeError("q8i products unavailable on this CPU" if r == -2 else f"skinny_matmul_q8i failed ({r})")
    return y


def matmul_np(x: np.ndarray, w: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``x @ w.T`` for x (M <= 8, K) and w (N, K), both float32 and C-contiguous."""
    lib = _lib if _lib is not None else load()  # no lock on the hot path once loaded
    if lib is None:
        raise RuntimeError(f"skinny kernel unavailable: {_status}")
    m, k = x.shape
    n = w.shape[0]
    if w.shape[1] != k or not 1 <= m <= MAX_ROWS:
        raise ValueError(f"shapes {x.shape} x {w.shape}.T are not a skinny product")
    y = np.empty((m, n), np.float32)
    t = threads if threads is not None else threads_for[min(m, 2)]
    lib.skinny_matmul(x.ctypes.data, m, w.ctypes.data, k, y.ctypes.data, n, t)
    return y


def matmul(x: Any, w: np.ndarray | tuple[np.ndarray, np.ndarray], int_dot: bool = False) -> Any:
    """``x @ w.T`` for an MLX array x (..., K) with at most 8 rows (any number for q8 weights);
    evaluates x. ``w`` is a
    float32 (N, K) array or a q8 pair from :func:`quantize_q8`; ``int_dot`` (q8 only) uses the
    q8i products (int8 activations, :func:`matmul_q8i_np`)."""
    import mlx.core as mx

    q8 = isinstance(w, tuple)
    k = (w[0] if q8 else w).shape[1]
    lead = x.shape[:-1]
    xn = np.array(x, copy=False).reshape(-1, k)
    if xn.dtype != np.float32:
        xn = xn.astype(np.float32)
    if not xn.flags.c_contiguous:
        xn = np.ascontiguousarray(xn)
    if q8 and xn.shape[0] > MAX_ROWS:  # no float32 copy to hand to BLAS: the blocked q8 products
        y = matmul_q8_rows_np(xn, *w, int_dot=int_dot)
    else:
        y = (matmul_q8i_np(xn, *w) if int_dot else matmul_q8_np(xn, *w)) if q8 else matmul_np(xn, w)
    return mx.array(y).reshape(*lead, y.shape[1])
