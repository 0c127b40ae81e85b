"""Decode steps on int8 weights (skinny.c's q8 products): correct, row-independent bit for bit,
and close enough to float32 on the real model (the quality guard)."""

from __future__ import annotations


import numpy as np
import pytest

from conftest_llm import assert_quality_guard, random_xw, skinny_or_skip, teacher_forced
from engine.llm.cpu import skinny


def test_quantize_round_trip_is_within_half_a_step():
    _, w = random_xw(1, 64, 96)
    w[3, :32] = 0.0  # an all-zero group: scale 0, no division by zero
    w[5, :32] = 0.25 * np.arange(32) % 4 - 1.5  # 16 evenly spaced levels, as a 4-bit group has
    q, s = skinny.quantize_q8(w)
    assert q.dtype == np.uint8 and s.shape == (64, 3, 2) and s.dtype == np.float32
    back = skinny.dequantize_q8(q, s)
    step = np.repeat(s[..., 0], 32, axis=1)
    assert np.all(np.abs(back - w) <= step / 2 + 1e-6)
    assert not back[3, :32].any()
    np.testing.assert_allclose(back[5, :32], w[5, :32], atol=1e-6)  # exact up to rounding
    with pytest.raises(ValueError, match="multiple of 32"):
        skinny.quantize_q8(w[:, :40])


@pytest.mark.parametrize("k", [32, 576, 1536])
@pytest.mark.parametrize("n", [7, 1536])  # 7 x k: the caller alone; 1536 x k: two threads
def test_q8_products_match_the_dequantized_weights(n, k):
    skinny_or_skip()
    for m in range(1, skinny.MAX_ROWS + 1):
        x, w = random_xw(m, n, k, seed=m)
        q, s = skinny.quantize_q8(w)
        got = skinny.matmul_q8_np(x, q, s)
        ref = x.astype(np.float64) @ skinny.dequantize_q8(q, s).astype(np.float64).T
        assert got.shape == (m, n) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_a_rows_q8_result_does_not_depend_on_the_other_rows_or_threads():
    lib = skinny_or_skip()
    x, w = random_xw(8, 3000, 576, seed=5)
    q, s = skinny.quantize_q8(w)
    eight = skinny.matmul_q8_np(x, q, s, threads=2)
    for m in range(1, 9):
        part = skinny.matmul_q8_np(np.ascontiguousarray(x[8 - m:]), q, s, threads=2)
        assert np.array_equal(part, eight[8 - m:]), m
        alone = skinny.matmul_q8_np(np.ascontiguousarray(x[m - 1:m]), q, s, threads=1)
        assert np.array_equal(alone, eight[m - 1:m]), m
    one = np.empty_like(eight)
    assert lib.skinny_matmul_q8(x.ctypes.data, 8, q.ctypes.data, s.ctypes.data, 576, one.ctypes.data, 3000, 1) == 0
    assert np.array_equal(one, eight)
    lib.skinny_helper_chunks(1)
    for _ in range(20):  # the helper shares the work when it runs; the result never changes
        assert np.array_equal(skinny.matmul_q8_np(x, q, s, threads=2), eight)


def test_q8_rejects_shapes_it_does_not_cover():
    lib = skinny_or_skip()
    x, w = random_xw(2, 16, 64)
    q, s = skinny.quantize_q8(w)
    with pytest.raises(ValueError, match="not a skinny q8 product"):
        skinny.matmul_q8_np(np.zeros((9, 64), np.float32), q, s)
    y = np.zeros((2, 16), np.float32)
    assert lib.skinny_matmul_q8(x.ctypes.data, 2, q.ctypes.data, s.ctypes.data, 48, y.ctypes.data, 16, 2) == -1
    assert lib.skinny_matmul_q8(x.ctypes.data, 9, q.ctypes.data, s.ctypes.data, 64, y.ctypes.data, 16, 2) == -1
    assert not y.any()


_lib = skinny_or_skip  # the kernel library, or skip with the reason
_data = random_xw  # (m, k) inputs and (n, k) weights from a seed


def _q8i_lib():
    lib = _lib()
    ok, why = skinny.q8i_support()
    if not ok:
        pytest.skip(f"q8i products do not run here: {why}")
    return lib


def _quantized_x(x):
    """x as the q8i products see it: int8 per row and 32 values, scale max|x| / 127."""
    m, k = x.shape
    g = x.reshape(m, k // 32, 32)
    amax = np.abs(g).max(axis=2, keepdims=True)
    inv = np.divide(np.float32(127), amax, out=np.zeros_like(amax), where=amax > 0)
    q = np.clip(np.rint(g * inv), -127, 127)
    return (q * (amax / np.float32(127))).reshape(m, k)


@pytest.mark.parametrize("k", [32, 96, 576, 1536])  # 32 and 96: a tail group of 32 after the 64s
@pytest.mark.parametrize("n", [7, 1536])
def test_q8i_products_match_int8_activations_times_the_dequantized_weights(n, k):
    _q8i_lib()
    for m in range(1, skinny.MAX_ROWS + 1):
        x, w = _data(m, n, k, seed=m)
        if k > 32:
            x[0, :32] = 0.0  # an all-zero activation group: scale 0
        q, s = skinny.quantize_q8(w)
        got = skinny.matmul_q8i_np(x, q, s)
        wd = skinny.dequantize_q8(q, s).astype(np.float64)
        ref = _quantized_x(x).astype(np.float64) @ wd.T
        assert got.shape == (m, n) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(k))
        # and not the float32-activation product: the activations really are int8
        assert not np.allclose(got, x.astype(np.float64) @ wd.T, rtol=1e-5, atol=1e-5)


def test_a_rows_q8i_result_does_not_depend_on_the_other_rows_or_threads():
    lib = _q8i_lib()
    x, w = _data(8, 3000, 576, seed=6)
    q, s = skinny.quantize_q8(w)
    eight = skinny.matmul_q8i_np(x, q, s, threads=2)
    for m in range(1, 9):
        part = skinny.matmul_q8i_np(np.ascontiguousarray(x[8 - m:]), q, s, threads=2)
        assert np.array_equal(part, eight[8 - m:]), m
        alone = skinny.matmul_q8i_np(np.ascontiguousarray(x[m - 1:m]), q, s, threads=1)
        assert np.array_equal(alone, eight[m - 1:m]), m
    mixed = x.copy()
    mixed[[0, 1, 2, 4, 5, 6, 7]] *= 1000.0  # other rows on another scale: row 3 unchanged
    assert np.array_equal(skinny.matmul_q8i_np(mixed, q, s)[3], eight[3])
    for _ in range(20):  # the helper shares the work when it runs; the result never changes
        assert np.array_equal(skinny.matmul_q8i_np(x, q, s, threads=2), eight)
    y = np.zeros((2, 16), np.float32)
    xs, (q2, s2) = x[:2, :64].copy(), skinny.quantize_q8(w[:16, :64])
    assert lib.skinny_matmul_q8i(xs.ctypes.data, 2, q2.ctypes.data, s2.ctypes.data, 48, y.ctypes.data, 16, 2) == -1
    assert lib.skinny_matmul_q8i(xs.ctypes.data, 9, q2.ctypes.data, s2.ctypes.data, 64, y.ctypes.data, 16, 2) == -1
    assert not y.any()


def test_installed_tiny_model_decodes_on_q8i_rows_independently(monkeypatch):
    """FLUX_DECODE_WEIGHTS=q8i: the int8 copies are multiplied with int8 activations (other
    results than q8's), and one row alone equals the same row in a 4-row step bit for bit."""
    _q8i_lib()
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels
    from fakes import tiny_model

    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8i")
    model, q8_model = tiny_model(300, 0), tiny_model(300, 0)
    cpu_kernels.install(model)
    assert "q8i" in cpu_kernels.decode_choice() and "VNNI" in cpu_kernels.decode_choice()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")
    cpu_kernels.install(q8_model)
    assert cpu_kernels.decode_choice().startswith("q8:")
    try:
        assert 0 < cpu_kernels.q8i_layers(model) < cpu_kernels.q8_layers(model)  # the head: q8
        assert cpu_kernels.q8i_layers(q8_model) == 0 < cpu_kernels.q8_layers(q8_model)
        assert "q8i" in cpu_kernels.description(model)
        step = mx.array([[5], [9], [11], [40]])
        got, ref = model(step), q8_model(step)
        assert not mx.array_equal(got, ref).item()
        assert mx.allclose(got, ref, atol=0.05, rtol=0.05).item()
        assert mx.array_equal(model(step[2:3]), got[2:3]).item()
    finally:
        cpu_kernels.remove(model)
        cpu_kernels.remove(q8_model)
    assert cpu_kernels.q8_layers(model) == 0


def test_q8_is_the_default_and_q8i_is_opt_in(monkeypatch):
    from engine.llm.cpu import cpu_kernels

    _lib()
    monkeypatch.delenv("FLUX_DECODE_WEIGHTS", raising=False)
    monkeypatch.delenv("FLUX_LLM_DTYPE", raising=False)
    monkeypatch.setattr(skinny, "q8i_support", lambda: (True, "the CPU has AVX512-VNNI"))
    assert cpu_kernels.decode_weights_wanted() == "q8"
    assert "opt-in: FLUX_DECODE_WEIGHTS=q8i" in cpu_kernels.decode_choice()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8i")
    assert cpu_kernels.decode_weights_wanted() == "q8i"
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "f32")
    assert cpu_kernels.decode_weights_wanted() == "f32"


def test_q8i_asked_for_where_it_cannot_run_falls_back_to_q8(monkeypatch):
    from engine.llm.cpu import cpu_kernels

    _lib()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8i")
    monkeypatch.setattr(skinny, "q8i_support", lambda: (False, "the CPU does not report AVX512-VNNI"))
    assert cpu_kernels.decode_weights_wanted() == "q8"
    assert "not available: the CPU does not report AVX512-VNNI" in cpu_kernels.decode_choice()


def test_installed_tiny_model_decodes_on_int8_rows_independently(monkeypatch):
    """A tiny llama model with q8 decode weights: each layer whose K is a multiple of 32 keeps an
    int8 copy, decode rows use it, one row alone equals the same row in a 4-row step bit for bit."""
    skinny_or_skip()
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels
    from fakes import tiny_model

    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")
    model, ref_model = tiny_model(300, 0), tiny_model(300, 0)
    cpu_kernels.install(model)
    try:
        assert cpu_kernels.q8_layers(model) > 0
        assert "8-bit weights" in cpu_kernels.description(model)
        step = mx.array([[5], [9], [11], [40]])
        got, ref = model(step), ref_model(step)
        assert not mx.array_equal(got, ref).item()  # int8 weights, not float32 ones
        assert mx.allclose(got, ref, atol=0.05, rtol=0.05).item()
        alone = model(step[2:3])
        assert mx.array_equal(alone, got[2:3]).item()
    finally:
        cpu_kernels.remove(model)
    assert cpu_kernels.q8_layers(model) == 0


# --------------------------------------------------------------------------- the quality guard

@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("weights", ["q8", "q8i"])
def test_quality_guard_q8_against_float32(monkeypatch, weights):
    """Teacher-forced top-1 agreement with the float32 path >= 0.97, and perplexity on the
    importer's fixed paragraph within 2 % of float32's, on the real default model: for the q8
    products and for q8i (the same weights times int8 activations)."""
    _q8i_lib() if weights == "q8i" else _lib()
    from engine.llm.cpu import cpu_kernels
    from engine.llm import models

    from test_gguf_import import PARAGRAPH

    if models.resolve_model(None) is None:
        pytest.skip("default model not imported (texture models pull)")
    monkeypatch.delenv("FLUX_LLM_DTYPE", raising=False)
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", weights)
    lm = models.load_model(None)
    if lm.info["device"] != "cpu" or not cpu_kernels.q8_layers(lm.model):
        pytest.skip("not the CPU path with q8 decode weights")
    assert lm.info["model_id"].split("@")[1].startswith(weights + ".")
    assert lm.info["decode_weights"] == weights and lm.info["decode_kernel"].startswith(weights + ":")
    ids = lm.tokenizer.encode(PARAGRAPH)
    q8_top, q8_lp = teacher_forced(lm, ids)
    stash = {id(m): m.__dict__.pop("_texture_q8") for _, m in lm.model.named_modules() if "_texture_q8" in m.__dict__}
    assert stash and cpu_kernels.q8_layers(lm.model) == 0  # now the float32 skinny products
    f_top, f_lp = teacher_forced(lm, ids)
    assert_quality_guard(weights, (q8_top, q8_lp), (f_top, f_lp))
