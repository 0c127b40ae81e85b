"""The process-level switches read from the environment, in one place.

These are not :class:`engine.config.Config` fields: they are read where the fast path is set up
(some before ``mlx`` is imported) and at call time, so a benchmark that sets one for a section
(``tools/bench/quant.py``) sees its change. Each function reads ``os.environ`` when called and
returns the value stripped (and lower-cased where the value is a word).

- ``FLUX_OPENBLAS``: the OpenBLAS library to load, or ``none`` for the stock build;
- ``FLUX_LLM_DTYPE``: ``quantized`` or ``float32`` (the model's weights on the CPU fast path);
- ``FLUX_DECODE_WEIGHTS``: ``f32``, ``q8``, ``q8i`` or ``q4`` (the weights, and products, a decode
  step reads: q8i, opt-in, is int8 weights times int8 activations on AVX512-VNNI; q4 reads a
  quantized model's 4-bit and 8-bit matrices where MLX holds them, the default for a model with
  at least 0.4 G 4-bit weights; q8, the default otherwise, a q8 copy of every matrix);
- ``FLUX_SKINNY``: ``0`` turns the C decode kernel off;
- ``FLUX_NATIVE_DECODE``: ``0`` runs decode steps through MLX (with the C products) instead of
  the whole step in C (:mod:`engine.llm.cpu.native`);
- ``FLUX_SKINNY_CALIBRATE``: ``0`` skips the kernel's thread calibration, ``force`` redoes it;
- ``FLUX_KEEP_F32``: ``1`` keeps a float32 copy of every matrix beside its q8 one (the q8 weights
  are the only copy by default; the float32 one serves as a reference in tests);
- ``FLUX_PREFILL_PRODUCTS``: ``q8`` or ``q8i``, how prompts' products run on the q8 weights
  (q8i: int8 activations on AVX512-VNNI where the CPU has it); ``q4`` or ``q4i``, on a model's
  4-bit and 8-bit matrices read in place (q4i, the default where the CPU has AVX512-VNNI, AVX-VNNI
  or AVX2: int8 activations on integer dot products; q4: float32 FMAs);
- ``FLUX_DECODE_PRODUCTS``: ``q4`` or ``q4i``, how decode steps' products run on a model's 4-bit
  and 8-bit matrices read in place (q4i, the default where the CPU has AVX512-VNNI: int8
  activations on integer dot products, q4.c's q4d; q4: float32 FMAs on the dequantized weights).

Folders (``FLUX_MODELS_DIR``, ``TEXTURE_HOME``, ``TEXTURE_CACHE``) are in :mod:`engine.locations`.
"""

from __future__ import annotations

import os

_OFF = ("0", "false", "no", "off")


def _word(name: str) -> str:
    return os.environ.get(name, "").strip().lower()


def openblas() -> str:
    """``FLUX_OPENBLAS`` as written (a path keeps its case), stripped."""
    return os.environ.get("FLUX_OPENBLAS", "").strip()


def openblas_off(value: str) -> bool:
    return value.lower() in ("none", "off", "0", "false")


def llm_dtype() -> str:
    return _word("FLUX_LLM_DTYPE")


def decode_weights() -> str:
    return _word("FLUX_DECODE_WEIGHTS")


def skinny_off() -> bool:
    return _word("FLUX_SKINNY") in _OFF


def native_decode_off() -> bool:
    return _word("FLUX_NATIVE_DECODE") in _OFF


def keep_float32() -> bool:
    return _word("FLUX_KEEP_F32") in ("1", "true", "yes", "on")


def prefill_products() -> str:
    return _word("FLUX_PREFILL_PRODUCTS")


def decode_products() -> str:
    return _word("FLUX_DECODE_PRODUCTS")


def amx_off() -> bool:
    return _word("FLUX_AMX") in _OFF


def skinny_calibrate() -> str:
    return _word("FLUX_SKINNY_CALIBRATE")
