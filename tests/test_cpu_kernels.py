"""The CPU fast path's base-2 kernels (engine/llm/cpu/cpu_kernels.py) against mlx-lm's own."""

from __future__ import annotations

import mlx.core as mx
import pytest

from engine.llm.cpu import cpu_kernels
from engine.llm.cpu.cpu_kernels import _prefill_attention, fast_swiglu


def _close(a: mx.array, b: mx.array, tol: float) -> float:
    d = mx.abs(a - b).max().item()
    assert d <= tol, f"max |diff| {d} > {tol}"
    return d


def test_swiglu_matches_mlx_lm_including_extremes():
    from mlx_lm.models.activations import swiglu

    g = mx.concatenate([mx.random.normal((1, 64, 256), key=mx.random.key(1)) * 6,
                        mx.array([[[-1e4, -90.0, -20.0, 0.0, 20.0, 90.0, 1e4] + [0.0] * 249]])], axis=1)
    x = mx.random.normal(g.shape, key=mx.random.key(2))
    ref, got = swiglu(g, x), fast_swiglu(g, x)
    assert bool(mx.all(mx.isfinite(got)).item())
    rel = (mx.abs(ref - got) / (mx.abs(ref) + 1e-6)).max().item()
    assert rel < 1e-5, rel


@pytest.mark.parametrize("L,S,Hq,Hkv", [(17, 17, 4, 2), (12, 30, 9, 3), (5, 5, 2, 2)])
def test_prefill_attention_causal_matches_fast_sdpa(L, S, Hq, Hkv):
    k = mx.random.key(L * 100 + S)
    q = mx.random.normal((1, Hq, L, 16), key=mx.random.split(k)[0])
    kk = mx.random.normal((1, Hkv, S, 16), key=mx.random.split(k)[1])
    v = mx.random.normal((1, Hkv, S, 16), key=mx.random.key(S))
    ref = mx.fast.scaled_dot_product_attention(q, kk, v, scale=0.25, mask="causal")
    _close(_prefill_attention(q, kk, v, 0.25, "causal"), ref, 2e-5)
    ref = mx.fast.scaled_dot_product_attention(q, kk, v, scale=0.25, mask=None)
    _close(_prefill_attention(q, kk, v, 0.25, None), ref, 2e-5)


def test_prefill_attention_array_masks_and_left_padding():
    from mlx_lm.models.base import create_causal_mask

    B, Hq, Hkv, L, D = 2, 6, 2, 9, 8
    q = mx.random.normal((B, Hq, L, D), key=mx.random.key(3))
    kk = mx.random.normal((B, Hkv, L, D), key=mx.random.key(4))
    v = mx.random.normal((B, Hkv, L, D), key=mx.random.key(5))
    # (B, 1, L, S) bool with left padding, as BatchKVCache.make_mask gives it; row 1 has 4 pad slots,
    # so its first 4 queries see no key at all: the output must stay finite.
    mask = create_causal_mask(L, 0, left_padding=mx.array([0, 4]))
    got = _prefill_attention(q, kk, v, 0.3, mask)
    assert bool(mx.all(mx.isfinite(got)).item())
    ref = mx.fast.scaled_dot_product_attention(q, kk, v, scale=0.3, mask=mask)
    _close(got[0], ref[0], 2e-5)
    _close(got[1, :, 4:], ref[1, :, 4:], 2e-5)  # the real (unpadded) queries
    # 2-D bool and additive float masks
    m2 = create_causal_mask(L, 0)
    _close(_prefill_attention(q, kk, v, 0.3, m2), mx.fast.scaled_dot_product_attention(q, kk, v, scale=0.3, mask=m2), 2e-5)
    add = mx.where(m2, 0.0, -1e9).astype(mx.float32)
    _close(_prefill_attention(q, kk, v, 0.3, add), mx.fast.scaled_dot_product_attention(q, kk, v, scale=0.3, mask=add), 2e-5)


def test_prefill_attention_is_row_independent():
    """The engine's determinism needs a row's result to be the same in any batch shape."""
    q = mx.random.normal((3, 4, 7, 8), key=mx.random.key(6))
    kk = mx.random.normal((3, 2, 7, 8), key=mx.random.key(7))
    v = mx.random.normal((3, 2, 7, 8), key=mx.random.key(8))
    batched = _prefill_attention(q, kk, v, 0.35, "causal")
    for i in range(3):
        alone = _prefill_attention(q[i:i + 1], kk[i:i + 1], v[i:i + 1], 0.35, "causal")
        assert mx.array_equal(batched[i:i + 1], alone).item()


def _tiny(seed=0):
    from fakes import tiny_model

    return tiny_model(300, seed)


def test_install_is_per_model_and_remove_restores():
    a, b = _tiny(), _tiny()
    x = mx.array([list(range(3, 40))])
    ref = a(x)
    mx.eval(ref)
    assert mx.array_equal(ref, b(x)).item()
    assert cpu_kernels.install(object()) is None  # not an architecture the kernels cover
    first = cpu_kernels.install(a)
    assert first.startswith(cpu_kernels.NAME) and cpu_kernels.install(a) == first  # idempotent
    assert cpu_kernels.active(a) and not cpu_kernels.active(b)
    got = a(x)
    _close(got, ref, 1e-4)
    assert not mx.array_equal(got, ref).item()  # the kernels really ran for a ...
    assert mx.array_equal(b(x), ref).item()  # ... and not for b, though both are llama models
    # a single-query (decode) step keeps mlx's fused attention
    import mlx_lm.models.llama as llama

    q = mx.random.normal((1, 4, 1, 16), key=mx.random.key(9))
    kk = mx.random.normal((1, 2, 5, 16), key=mx.random.key(10))
    ref1 = mx.fast.scaled_dot_product_attention(q, kk, kk, scale=0.5, mask=None)
    cpu_kernels._state.depth = 1
    try:
        assert mx.array_equal(llama.scaled_dot_product_attention(q, kk, kk, None, 0.5, None), ref1).item()
        multi = mx.concatenate([q, q], axis=2)
        assert not mx.array_equal(llama.scaled_dot_product_attention(multi, kk, kk, None, 0.5, None),
                                  mx.fast.scaled_dot_product_attention(multi, kk, kk, scale=0.5, mask=None)).item()
    finally:
        cpu_kernels._state.depth = 0
    cpu_kernels.remove(a)
    assert not cpu_kernels.active(a) and mx.array_equal(a(x), ref).item()


def _padded_batch_vs_alone(model):
    """Two prompts of different lengths prefilled alone, merged into a left-padded batch cache,
    three decode steps: each row's logits in the batch and alone (its own cache, one row)."""
    from mlx_lm.models.cache import make_prompt_cache

    from engine.llm.mlx_lm_compat import merge_caches

    prompts = [list(range(20, 57)), list(range(60, 69))]
    caches = []
    for p in prompts:
        c = make_prompt_cache(model)
        mx.eval(model(mx.array([p]), cache=c))
        caches.append(c)
    batch = merge_caches(caches)
    alone = []
    for p in prompts:
        c = make_prompt_cache(model)
        mx.eval(model(mx.array([p]), cache=c))
        alone.append(merge_caches([c]))  # one row: the engine's batch of one
    same = True
    for t in (5, 6, 7):
        got = model(mx.array([[t], [t + 1]]), cache=batch)
        for r in range(2):
            one = model(mx.array([[t + r]]), cache=alone[r])
            same = same and mx.array_equal(got[r:r + 1], one).item()
    return same


def test_a_decode_rows_attention_does_not_depend_on_the_padded_batch():
    """A decode step's attention runs row by row over each row's own keys: a row's logits in a
    left-padded batch equal its logits alone, bit for bit (over the padded, masked batch they
    did not, which the int8 rounding of q8i turned into other tokens)."""
    from fakes import tiny_model

    model = tiny_model(300, 0)
    cpu_kernels.install(model)
    try:
        assert _padded_batch_vs_alone(model)
    finally:
        cpu_kernels.remove(model)


def test_decode_attention_per_row_equals_the_row_alone_where_the_padded_batch_does_not():
    """SmolLM2's attention shape (9 query heads, 3 KV heads, 64 wide), rows of 150 and 40 keys:
    mlx's fused attention over the left-padded, masked batch gives row 2 other bits than row 2
    alone; the engine's dispatcher (row by row over each row's keys) gives the same bits."""
    import mlx_lm.models.llama as llama
    from mlx_lm.models.cache import BatchKVCache, create_causal_mask

    cpu_kernels._patch_modules()
    q = mx.random.normal((2, 9, 1, 64), key=mx.random.key(1))
    k = mx.random.normal((2, 3, 150, 64), key=mx.random.key(2))
    v = mx.random.normal((2, 3, 150, 64), key=mx.random.key(3))
    cache = BatchKVCache([0, 110])
    mask = create_causal_mask(1, offset=149, left_padding=cache.left_padding)
    alone = mx.fast.scaled_dot_product_attention(q[1:], k[1:, :, 110:], v[1:, :, 110:], scale=0.125, mask=None)
    fused = mx.fast.scaled_dot_product_attention(q, k, v, scale=0.125, mask=mask)
    assert not mx.array_equal(fused[1:], alone).item()  # what the row-wise step fixes
    assert mx.allclose(fused[1:], alone, atol=1e-5).item()
    cpu_kernels._state.depth = 1
    try:
        got = llama.scaled_dot_product_attention(q, k, v, cache, 0.125, mask)
    finally:
        cpu_kernels._state.depth = 0
    assert mx.array_equal(got[1:], alone).item()
    assert mx.array_equal(got[:1], mx.fast.scaled_dot_product_attention(q[:1], k[:1], v[:1], scale=0.125)).item()
