"""Decode-step products on the CPU: a few rows times every weight matrix, weights read once.

A decode step multiplies one row per stream (1 to 8 rows) by each of the model's weight
matrices. MLX hands that to BLAS as a matrix product, and OpenBLAS packs the whole weight
matrix for it: on this machine 4 rows cost 2-3 times what 1 row costs, and 1 row costs twice
what reading the weights costs (MLX does not use BLAS's matrix-vector path for ``x @ W.T``).
``skinny.c`` reads each weight row once and uses it for all the rows, on two threads: a
decode step's products then cost about what streaming the weights from memory costs, for 1
row as for 4.

It is C, compiled on first use with the system's C compiler (``cc -O3 -march=native``) into
``$XDG_CACHE_HOME/world-texture-console/kernels/`` and loaded with ctypes. Without a compiler,
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

SOURCE = Path(__file__).with_name("skinny.c")
MAX_ROWS = 8
FLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC", "-pthread"]
NAME = "skinny decode products (C, 2 threads)"

_lock = threading.Lock()
_lib: Any = None
_status = "not loaded"
_tried = False


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "world-texture-console" / "kernels"


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


def _build(cc: str) -> Path:
    src = SOURCE.read_bytes()
    key = hashlib.sha256(src + " ".join([cc, *FLAGS, _cpu_signature(), sys.platform]).encode()).hexdigest()[:16]
    out = cache_dir() / f"skinny-{key}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".skinny-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run([*cc.split(), *FLAGS, "-o", tmp, str(SOURCE)], capture_output=True,
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
        if os.environ.get("FLUX_SKINNY", "").strip().lower() in ("0", "false", "no", "off"):
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
            if lib.skinny_max_rows() != MAX_ROWS:
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


def matmul_np(x: np.ndarray, w: np.ndarray, threads: int = 2) -> np.ndarray:
    """``x @ w.T`` for x (M <= 8, K) and w (N, K), both float32 and C-contiguous."""
    lib = _lib if _lib is not None else load()  # no lock on the hot path once loaded
    if lib is None:
        raise RuntimeError(f"skinny kernel unavailable: {_status}")
    m, k = x.shape
    n = w.shape[0]
    if w.shape[1] != k or not 1 <= m <= MAX_ROWS:
        raise ValueError(f"shapes {x.shape} x {w.shape}.T are not a skinny product")
    y = np.empty((m, n), np.float32)
    lib.skinny_matmul(x.ctypes.data, m, w.ctypes.data, k, y.ctypes.data, n, threads)
    return y


def matmul(x: Any, w: np.ndarray) -> Any:
    """``x @ w.T`` for an MLX array x (..., K) with at most 8 rows; evaluates x."""
    import mlx.core as mx

    k = w.shape[1]
    lead = x.shape[:-1]
    xn = np.array(x, copy=False).reshape(-1, k)
    if xn.dtype != np.float32:
        xn = xn.astype(np.float32)
    if not xn.flags.c_contiguous:
        xn = np.ascontiguousarray(xn)
    return mx.array(matmul_np(xn, w)).reshape(*lead, w.shape[0])


def _bench_main() -> int:  # python -m engine.llm.skinny: a decode step's products, kernel vs MLX
    from .fastpath import prepare_backend

    prepare_backend()
    import time

    import mlx.core as mx
    import mlx.nn as nn

    from .models import load_model

    lm = load_model()
    model = lm.model
    from . import cpu_kernels

    cpu_kernels.remove(model)  # plain layers: MLX's products, and the same weights for the kernel
    layers = [m for _, m in model.named_modules() if type(m) is nn.Linear]
    head = getattr(model.model, "embed_tokens", None)
    weights = [m.weight for m in layers] + ([head.weight] if head is not None else [])
    views = [weight_view(w) for w in weights]
    if load() is None or any(v is None for v in views):
        print(f"skinny kernel unavailable: {status()}")
        return 1
    mb = sum(v.nbytes for v in views) / 2**20
    print(f"{lm.info['name']}: {len(weights)} weight matrices, {mb:.0f} MiB float32, every one "
          f"multiplied once per round (a decode step's products); median of 7 rounds")

    def rounds(fn) -> float:
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return sorted(ts)[3] * 1e3

    print(f"{'rows':>4}  {'MLX (BLAS) ms':>13}  {'skinny ms':>9}  {'speed-up':>8}")
    for m in (1, 2, 4, 8):
        xs = {k: mx.random.normal((m, k), key=mx.random.key(k)) for k in {int(w.shape[1]) for w in weights}}
        mx.eval(list(xs.values()))
        xn = {k: np.array(v, copy=False) for k, v in xs.items()}

        def with_mlx():
            for w in weights:
                mx.eval(xs[w.shape[1]] @ w.T)

        def with_skinny():
            for v in views:
                matmul_np(xn[v.shape[1]], v)

        a, b = rounds(with_mlx), rounds(with_skinny)
        print(f"{m:>4}  {a:>13.1f}  {b:>9.1f}  {a / b:>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(_bench_main())
