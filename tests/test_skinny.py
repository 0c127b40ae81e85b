"""The skinny decode-step products (engine/llm/cpu/skinny.c): correct, row-independent, optional."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from conftest_llm import random_xw, skinny_or_skip
from engine.llm.cpu import skinny


@pytest.fixture
def fresh_skinny(monkeypatch):
    """load() tried again under the test's environment, and again after it."""
    skinny.reset_for_tests()
    yield monkeypatch
    monkeypatch.undo()
    skinny.reset_for_tests()


@pytest.mark.parametrize("k", [576, 577, 5, 1536])
@pytest.mark.parametrize("n", [7, 1536])  # 7 x k: the caller's thread alone; 1536 x k: two threads
def test_matches_numpy_for_every_row_count(n, k):
    skinny_or_skip()
    for m in range(1, skinny.MAX_ROWS + 1):
        x, w = random_xw(m, n, k, seed=m)
        got = skinny.matmul_np(x, w)
        ref = (x.astype(np.float64) @ w.astype(np.float64).T)
        assert got.shape == (m, n) and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_a_rows_result_does_not_depend_on_the_other_rows_or_threads():
    """What makes a place's text the same at 1, 4 and 8 streams: bit-identical rows."""
    lib = skinny_or_skip()
    x, w = random_xw(8, 1536, 577, seed=3)
    eight = skinny.matmul_np(x, w)
    for m in range(1, 9):
        part = skinny.matmul_np(np.ascontiguousarray(x[8 - m:]), w)  # the last m rows
        assert np.array_equal(part, eight[8 - m:]), m
        alone = skinny.matmul_np(np.ascontiguousarray(x[m - 1:m]), w)
        assert np.array_equal(alone, eight[m - 1:m]), m
    one_thread = np.empty_like(eight)
    assert lib.skinny_matmul(x.ctypes.data, 8, w.ctypes.data, 577, one_thread.ctypes.data, 1536, 1) == 0
    assert np.array_equal(one_thread, eight)


def test_rejects_shapes_it_does_not_cover():
    lib = skinny_or_skip()
    x, w = random_xw(9, 16, 8)
    with pytest.raises(ValueError, match="not a skinny product"):
        skinny.matmul_np(x, w)
    with pytest.raises(ValueError):
        skinny.matmul_np(x[:2], w[:, :7])
    y = np.zeros((9, 16), np.float32)
    assert lib.skinny_matmul(x.ctypes.data, 9, w.ctypes.data, 8, y.ctypes.data, 16, 2) == -1
    assert not y.any()


def _child(q):
    x, w = random_xw(4, 1536, 576, seed=9)
    q.put(skinny.matmul_np(x, w))


def test_a_forked_child_gets_its_own_helper_thread():
    """The helper thread does not survive fork(); a child that used it would wait forever."""
    skinny_or_skip()
    x, w = random_xw(4, 1536, 576, seed=9)
    parent = skinny.matmul_np(x, w)  # starts the helper in this process
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0 and np.array_equal(got, parent)


def test_off_switch_and_missing_compiler_fall_back_with_a_reason(fresh_skinny, tmp_path):
    fresh_skinny.setenv("FLUX_SKINNY", "0")
    assert skinny.load() is None and "FLUX_SKINNY=0" in skinny.status()
    with pytest.raises(RuntimeError, match="unavailable"):
        skinny.matmul_np(*random_xw(1, 4, 4))

    skinny.reset_for_tests()
    fresh_skinny.delenv("FLUX_SKINNY")
    fresh_skinny.setattr(skinny, "_compiler", lambda: None)
    assert skinny.load() is None and "no C compiler" in skinny.status()

    skinny.reset_for_tests()
    fresh_skinny.setattr(skinny, "_compiler", lambda: "false")  # a compiler that always fails
    fresh_skinny.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert skinny.load() is None
    assert "could not build" in skinny.status() and "false failed" in skinny.status()
    assert not list(tmp_path.rglob("*.so*"))  # no half-written library left behind


def test_build_is_cached_per_source_and_cpu(fresh_skinny, tmp_path):
    fresh_skinny.setenv("XDG_CACHE_HOME", str(tmp_path))
    if skinny._compiler() is None:
        pytest.skip("no C compiler")
    assert skinny.load() is not None, skinny.status()
    built = list((tmp_path / "world-texture" / "kernels").glob("skinny-*.so"))  # locations.kernels_dir()
    assert len(built) == 1
    mtime = built[0].stat().st_mtime_ns
    skinny.reset_for_tests()
    assert skinny.load() is not None
    assert built[0].stat().st_mtime_ns == mtime  # loaded, not rebuilt


def test_installed_model_uses_it_for_decode_rows_only(monkeypatch):
    """A tiny llama model: steps of up to 8 rows go through the kernel, a prefill does not, and
    the outputs match mlx-lm's (float32 decode weights; tests/test_skinny_q8.py covers q8)."""
    skinny_or_skip()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "f32")
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels
    from fakes import tiny_model

    model, ref_model = tiny_model(300, 0), tiny_model(300, 0)
    calls = []
    real = skinny.matmul

    def counting(x, w):
        calls.append(x.size // w.shape[1])
        return real(x, w)

    monkeypatch.setattr(skinny, "matmul", counting)
    assert "skinny" in cpu_kernels.install(model)
    layers = cpu_kernels.skinny_layers(model)
    assert layers > 0
    try:
        step = mx.array([[5], [9], [11], [40]])  # 4 rows, one token each: a decode step's shape
        got, ref = model(step), ref_model(step)
        assert len(calls) == layers and set(calls) == {4}
        assert mx.allclose(got, ref, atol=1e-4, rtol=1e-4).item()
        calls.clear()
        model(mx.array([list(range(3, 40))]))  # a 37-token prefill: BLAS
        assert calls == []
        alone = model(step[2:3])  # one row alone gives that row's logits bit for bit
        assert mx.array_equal(alone, got[2:3]).item()
    finally:
        cpu_kernels.remove(model)
    assert cpu_kernels.skinny_layers(model) == 0
