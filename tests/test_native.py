"""The whole decode step in C (engine/llm/cpu/native.py, decode.c): the same logits as mlx-lm's step
to float rounding (and the float16 KV cache's), a row's logits bit-identical whatever the other rows and the thread split,
the batch plumbing (NativeRows), the quality guard on the real model, and the fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest_llm import assert_quality_guard, skinny_or_skip, teacher_forced


def _installed_tiny(monkeypatch, weights="q8", vocab=300):
    """A tiny llama model with the CPU kernels installed and the native decoder attached (a vocab
    of a multiple of 16 lets decode steps run on the AMX tile unit where there is one)."""
    skinny_or_skip()
    from engine.llm.cpu import cpu_kernels, native
    from fakes import tiny_model

    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", weights)
    monkeypatch.delenv("FLUX_NATIVE_DECODE", raising=False)
    model = tiny_model(vocab, 0)
    cpu_kernels.install(model)
    dec = native.attach(model)
    return model, dec


def _prefilled(model, ids):
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    from engine.llm.cpu import cpu_kernels

    cache = make_prompt_cache(model)
    with cpu_kernels.engaged(model):
        model(mx.array([ids]), cache=cache)
    mx.eval([c.state for c in cache])
    return cache


@pytest.mark.parametrize("weights", ["q8", "f32"])
def test_native_step_matches_mlx_lms_step(monkeypatch, weights):
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels

    model, dec = _installed_tiny(monkeypatch, weights)
    try:
        assert dec is not None and dec.weights == weights
        cache = _prefilled(model, [3, 17, 42, 5, 99, 7])
        row = dec.new_row(cache, 32)
        assert row.length == 6 and row.capacity == 32
        for tok in (11, 250, 4, 4, 60):
            with cpu_kernels.engaged(model):
                ref = np.array(model(mx.array([[tok]]), cache=cache)[0, -1])
            got = dec.step_np(np.array([tok]), [row])[0]
            assert got.shape == ref.shape and np.isfinite(got).all()
            # float16 KV cache (decode.c): agreement to about 1e-3 of the logits' scale
            np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-3 * max(1.0, float(np.abs(ref).max())))
        assert row.length == 11
    finally:
        cpu_kernels.remove(model)


@pytest.mark.parametrize("vocab", [300, 320])  # 320: on the AMX tile unit where there is one
def test_a_rows_logits_do_not_depend_on_the_other_rows_or_the_thread_split(monkeypatch, vocab):
    from engine.llm.cpu import cpu_kernels

    model, dec = _installed_tiny(monkeypatch, vocab=vocab)
    try:
        cache_a = _prefilled(model, [3, 17, 42, 5])
        cache_b = _prefilled(model, [8, 8, 1, 2, 3, 4, 5, 6, 7, 9, 10])  # another length
        alone = dec.step_np(np.array([21]), [dec.new_row(cache_a, 16)], threads=1)[0]
        for m in (2, 4, 8, 11):  # 11: two calls of at most 8 rows
            rows = [dec.new_row(cache_a if i % 3 == 0 else cache_b, 16) for i in range(m)]
            toks = np.array([21 if i % 3 == 0 else 30 + i for i in range(m)])
            for threads in (1, 2):
                for r in rows:
                    r.length = int(r.length - (1 if threads == 2 else 0))  # step the same position again
                out = dec.step_np(toks, rows, threads=threads)
                for i in range(0, m, 3):
                    assert np.array_equal(out[i], alone), (m, threads, i)
    finally:
        cpu_kernels.remove(model)


def test_the_cache_grows_when_a_row_outlives_its_capacity(monkeypatch):
    from engine.llm.cpu import cpu_kernels

    model, dec = _installed_tiny(monkeypatch)
    try:
        cache = _prefilled(model, [3, 17, 42])
        small, big = dec.new_row(cache, 4), dec.new_row(cache, 64)
        for t in (5, 6, 7, 8, 9):
            a = dec.step_np(np.array([t]), [small])
            b = dec.step_np(np.array([t]), [big])
            assert np.array_equal(a, b)
        assert small.length == big.length == 8 and small.capacity > 4
    finally:
        cpu_kernels.remove(model)


def test_native_rows_follow_the_batch(monkeypatch):
    """extend / filter / extract as mlx-lm's batch caches do, and the forward dispatch."""
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels, native

    model, dec = _installed_tiny(monkeypatch)
    try:
        cache = _prefilled(model, [3, 17, 42])
        rows = native.NativeRows([dec.new_row(cache, 8)])
        rows.extend(native.NativeRows([dec.new_row(cache, 8), dec.new_row(cache, 8)]))
        assert len(rows) == 3 and rows.nbytes == 3 * rows.rows[0].kv.nbytes
        third = rows.rows[2]
        rows.filter([2, 0])
        assert rows.extract(0) is third and len(rows) == 2
        fwd = native.NativeForward(model, dec)
        out = fwd(mx.array([[5], [6]]), cache=[rows])
        assert out.shape == (2, 1, dec.vocab) and third.length == 4
        # anything else goes to the model itself
        assert fwd(mx.array([[5]])).shape == (1, 1, dec.vocab)
        assert fwd.args is model.args
    finally:
        cpu_kernels.remove(model)
    assert native.decoder_for(model) is None


def test_off_switch_and_what_is_not_covered(monkeypatch):
    from engine.llm.cpu import cpu_kernels, native
    from fakes import tiny_model

    skinny_or_skip()
    monkeypatch.setenv("FLUX_NATIVE_DECODE", "0")
    model = tiny_model(300, 0)
    cpu_kernels.install(model)
    try:
        assert native.attach(model) is None and "FLUX_NATIVE_DECODE=0" in native.status()
        monkeypatch.delenv("FLUX_NATIVE_DECODE")
        model.model.layers[1].use_sliding = True
        assert native.attach(model) is None
        assert native.status().startswith("not used: sliding-window attention")
        model.model.layers[1].use_sliding = False
        model.model.layers[0].self_attn.rope = object()
        assert native.attach(model) is None and "RoPE variant object" in native.status()
    finally:
        cpu_kernels.remove(model)
    with pytest.raises(native.Unsupported, match="architecture"):
        native.build(object())


def test_the_generator_decodes_natively_and_the_same_alone_as_in_a_batch(monkeypatch):
    """SeededBatchGenerator on the native step: rows admitted at different times give the
    tokens they give alone."""
    from engine.llm.cpu import cpu_kernels
    from engine.llm.batching import SeededBatchGenerator
    from engine.llm.sampling import SeededSampler

    model, dec = _installed_tiny(monkeypatch)
    try:
        prompts = [[3, 17, 42, 5], [8, 1, 2], [9, 9, 9, 9, 9, 1], [100, 7]]

        def run(which):
            bg = SeededBatchGenerator(model, max_tokens=1, completion_batch_size=8, prefill_batch_size=1)
            assert bg._native is dec
            out: dict[int, list[int]] = {}
            uids = {}
            pending = list(which)
            steps = 0
            while pending or uids:
                if pending and (steps % 2 == 0):  # admit one every other step
                    i = pending.pop(0)
                    uids[bg.add(prompts[i], max_tokens=12, sampler=SeededSampler(1000 + i, 0.8))] = i
                _, resp = bg.next()
                steps += 1
                for r in resp:
                    out.setdefault(uids[r.uid], []).append(r.token)
                    if r.finish_reason is not None:
                        del uids[r.uid]
            return out

        alone = {i: run([i])[i] for i in range(4)}
        together = run([0, 1, 2, 3])
        assert together == alone
        assert all(len(v) == 12 for v in alone.values())
    finally:
        cpu_kernels.remove(model)


# --------------------------------------------------------------------------- the real model


def _teacher_forced_native(dec, ids):
    top, lps = [], []
    row = dec.row_from(None, len(ids) + 1)
    for i in range(len(ids) - 1):
        logits = dec.step_np(np.array([ids[i]]), [row])[0].astype(np.float64)
        lp = logits - (logits.max() + math.log(np.exp(logits - logits.max()).sum()))
        top.append(int(np.argmax(lp)))
        lps.append(float(lp[ids[i + 1]]))
    return top, lps


@pytest.mark.model
@pytest.mark.slow
def test_real_model_decodes_natively_within_the_quality_guard(monkeypatch):
    """The default model loads with the native step (recipe n in the model id); teacher-forced
    through it (q8 weights, float16 cache) against mlx-lm's float32 step: top-1 agreement >= 0.97
    and perplexity on the importer's fixed paragraph within 2 %."""
    from engine.llm import models
    from engine.llm.cpu import native
    from test_gguf_import import PARAGRAPH

    skinny_or_skip()
    if models.resolve_model(None) is None:
        pytest.skip("default model not imported (texture models pull)")
    monkeypatch.delenv("FLUX_LLM_DTYPE", raising=False)
    monkeypatch.delenv("FLUX_DECODE_WEIGHTS", raising=False)
    monkeypatch.delenv("FLUX_NATIVE_DECODE", raising=False)
    lm = models.load_model(None)
    if lm.info["device"] != "cpu":
        pytest.skip("not the CPU path")
    dec = native.decoder_for(lm.model)
    assert dec is not None and dec.weights == "q8", lm.info["decode_step"]
    assert lm.info["model_id"].endswith(dec.recipe) and lm.info["decode_step"].startswith("on:")
    ids = lm.tokenizer.encode(PARAGRAPH)
    got = _teacher_forced_native(dec, ids)
    # the reference: mlx-lm's own step on the float32 weights (no int8 copies)
    stash = {id(m): m.__dict__.pop("_texture_q8") for _, m in lm.model.named_modules() if "_texture_q8" in m.__dict__}
    assert stash
    assert_quality_guard("native q8", got, teacher_forced(lm, ids))


# --------------------------------------------------------------------------- through the engine


def _native_loader():
    """The engine's loader for the tiny model with the CPU kernels and the native decoder on, as
    load_model gives the real one."""
    from engine.llm.cpu import cpu_kernels, native
    from fakes import tiny_model, tiny_tokenizer

    def load():
        tok = tiny_tokenizer()[0]
        model = tiny_model(len(tok), 0)
        cpu_kernels.install(model)
        assert native.attach(model) is not None, native.status()
        return model, tok, {"model_id": "tiny-random-llama@q8.n"}

    return load


HEAD = "Rewrite the sentence in more vivid words.\n\nSentence: The mill is old.\nRewrite: An old mill.\n\n"
BODIES = ["Sentence: The rain falls on the quay.\nRewrite:", "Sentence: Wind bends the reeds.\nRewrite:",
          "Sentence: Fog hides the tower.\nRewrite:", "Sentence: Snow covers the pass.\nRewrite:",
          "Sentence: The market is loud today.\nRewrite:"]


def test_engine_decodes_natively_with_the_static_head_shared_and_the_same_tokens_alone_or_batched(monkeypatch):
    """The engine on the native path: the prompt file's static head (GenRequest.head) is
    prefilled once (a RowKV in the LRU) and copied by every request; each request gives the same
    tokens alone on a fresh engine as in a batch of 4 that admits them as lanes free up."""
    from engine.llm.generator import GenerationEngine
    from engine.llm.jobs import GenRequest

    skinny_or_skip()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")
    monkeypatch.delenv("FLUX_NATIVE_DECODE", raising=False)
    reqs = [GenRequest(f"r{i}", HEAD + b, 40 + i, 10 + 3 * i, 0.8, head=len(HEAD)) for i, b in enumerate(BODIES)]

    def run(eng, rs):
        job = eng.submit(rs)
        assert job.wait(120)
        assert all(f.reason is None for f in job.results.values()), {k: f.reason for k, f in job.results.items()}
        return job

    engines = []
    try:
        alone = {}
        for r in reqs:
            eng = GenerationEngine(_native_loader(), concurrency=1)
            eng.start()
            engines.append(eng)
            alone.update(run(eng, [r]).token_ids)
        eng = GenerationEngine(_native_loader(), concurrency=4)
        eng.start()
        engines.append(eng)
        job = run(eng, list(reversed(reqs)))
        assert job.token_ids == alone
        assert eng._bg is not None and eng._bg._native is not None  # decoded in C
        from engine.llm.cpu.native import RowKV

        heads = list(eng._prefixes.values())
        assert len(heads) == 1 and isinstance(heads[0], RowKV)
        # the head covers the instructions and the worked example, not only the first line
        assert heads[0].length > len(HEAD.split("\n")[0]) + 10
        assert eng._prefix_stats == {"computed": 1, "reused": len(reqs) - 1}
        assert job.metrics["prefix_tokens_reused"] == (len(reqs) - 1) * heads[0].length
    finally:
        for e in engines:
            e.shutdown()


# --------------------------------------------------------------------------- the C sampler


def test_c_sampler_draws_the_inverse_cdf_at_the_rows_uniform():
    """dec_sample: the first index whose running softmax mass exceeds u; greedy at T <= 0."""
    from engine.llm.cpu import skinny

    skinny_or_skip()
    lib = skinny.load()
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4]] * 5, np.float32))
    inv = np.array([1.0, 1.0, 1.0, 1.0, 0.0], np.float32)
    us = np.array([0.05, 0.15, 0.55, 0.95, 0.5], np.float64)  # cumulative 0.1, 0.3, 0.6, 1.0
    out = np.empty(5, np.int32)
    assert lib.dec_sample(logits.ctypes.data, 5, 4, inv.ctypes.data, us.ctypes.data, out.ctypes.data) == 0
    assert out.tolist() == [0, 1, 2, 3, 3]
    # a low temperature sharpens toward the largest logit
    inv[:] = 50.0
    lib.dec_sample(logits.ctypes.data, 5, 4, inv.ctypes.data, us.ctypes.data, out.ctypes.data)
    assert out.tolist()[:4] == [3, 3, 3, 3]


def test_native_sample_applies_penalty_and_keep_bias_per_row_and_is_batch_invariant():
    from engine.llm.cpu import native
    from engine.llm.sampling import SeededSampler

    skinny_or_skip()
    rng = np.random.default_rng(3)
    base = rng.standard_normal((1, 300)).astype(np.float32)

    def draws(sampler, steps, others=0):
        got = []
        for step in range(steps):
            rows = [base.copy()] + [rng.standard_normal((1, 300)).astype(np.float32) for _ in range(others)]
            mates = [SeededSampler(900 + j, 0.9, 1.3, (5, 6), 2.0) for j in range(others)]
            got.append(int(native.sample(np.concatenate(rows), [sampler] + mates)[0]))
        return got

    alone = draws(SeededSampler(7, 0.8, 1.2, (11, 12), 3.0), 30)
    batched = draws(SeededSampler(7, 0.8, 1.2, (11, 12), 3.0), 30, others=3)
    assert alone == batched
    s = SeededSampler(7, 0.8, 1.2, (11, 12), 3.0)
    draws(s, 30)
    assert s.steps == 30 and s.seen_ids == set(alone) and s.keep_left == {11, 12} - set(alone)
    # greedy with a keep bias: the boosted id wins until it has been generated, then never again
    flat = np.zeros((1, 300), np.float32)
    flat[0, 40] = 1.0
    g = SeededSampler(1, 0.0, 1.0, (77,), 5.0)
    assert int(native.sample(flat.copy(), [g])[0]) == 77
    assert int(native.sample(flat.copy(), [g])[0]) == 40
    # the repetition penalty divides a generated token's positive logit
    p = SeededSampler(1, 0.0, 4.0)
    two = np.zeros((1, 300), np.float32)
    two[0, 3], two[0, 4] = 2.0, 1.0
    assert [int(native.sample(two.copy(), [p])[0]) for _ in range(2)] == [3, 4]


# --------------------------------------------------------------------------- AMX prompt products


def _amx_or_skip(dec):
    from engine.llm.cpu import native

    if dec is None or dec.prompt_products != "amx-bf16":
        pytest.skip(f"prompts are not prefilled on AMX here: {native.status()}")


def test_bf16_packing_rounds_to_nearest_even_in_the_tile_pair_layout():
    """dec_pack_bf16: bfloat16 by round-to-nearest-even (ties to even), laid out as the tile unit
    reads B: per 16 outputs x 32 inputs a 16 x 64-byte tile whose row p holds inputs 2p, 2p+1 of
    each output; other shapes refused."""
    from engine.llm.cpu import skinny

    skinny_or_skip()
    lib = skinny.load()
    rng = np.random.default_rng(0)
    N, K = 32, 64
    w = rng.standard_normal((N, K)).astype(np.float32)
    w[0, :3] = [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8 + 2**-20)]  # a tie down, a tie up, just above a tie
    out = np.empty(N * K, np.uint16)
    assert lib.dec_pack_bf16(w.ctypes.data, N, K, out.ctypes.data) == 0
    u = w.view(np.uint32).astype(np.uint64)
    ref = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    tiles = ref.reshape(N // 16, 16, K // 32, 16, 2).transpose(0, 2, 3, 1, 4).reshape(-1)
    np.testing.assert_array_equal(out, tiles)
    assert out[:2].tolist() == [0x3F80, 0x3F82]  # W[0][0] (1 + 2^-8 -> 1.0) and W[0][1] (-> 1 + 2^-6)
    assert ref[0, :3].tolist() == [0x3F80, 0x3F82, 0xBF81]
    assert lib.dec_pack_bf16(w.ctypes.data, 24, K, out.ctypes.data) == -1
    assert lib.dec_pack_bf16(w.ctypes.data, N, 48, out.ctypes.data) == -1


def test_amx_prompt_products_repeat_bit_for_bit_and_agree_with_float32_blas(monkeypatch):
    """On a CPU with AMX the prompt's products run in bfloat16 on the tile unit: the same prompt
    gives the same logits and cache bits on one thread or two, and agrees with the float32 BLAS
    products to bfloat16 rounding (same top token), without being the same bits."""
    from engine.llm.cpu import native

    model, dec = _installed_tiny(monkeypatch)
    if dec is None or not dec.can_prefill:
        pytest.skip(f"no C prefill here: {native.status()}")
    _amx_or_skip(dec)
    assert dec.recipe.startswith(native.RECIPE + "b") and all(m.wb for m in dec.mats)
    ids = [3 + (7 * i) % 250 for i in range(45)]  # 45 rows: padded to 48 for the tiles

    def pre(threads):
        row = dec.row_from(None, 64)
        return dec.prefill(row, ids, threads=threads), row.kv.copy()

    a2, kv2 = pre(2)
    a1, kv1 = pre(1)
    again, _ = pre(2)
    assert np.array_equal(a2, a1) and np.array_equal(kv2, kv1) and np.array_equal(a2, again)
    saved = [m.wb for m in dec.mats]
    for m in dec.mats:
        m.wb = None
    try:
        b, kvb = pre(2)
    finally:
        for m, wb in zip(dec.mats, saved):
            m.wb = wb
    assert not np.array_equal(a2, b)
    np.testing.assert_allclose(a2, b, rtol=0, atol=0.03 * max(1.0, float(np.abs(b).max())))
    np.testing.assert_allclose(kv2.astype(np.float32), kvb.astype(np.float32), rtol=0,
                               atol=0.03 * max(1.0, float(np.abs(kvb.astype(np.float32)).max())))
    assert int(np.argmax(a2)) == int(np.argmax(b))


def test_decode_steps_on_the_tile_unit_agree_with_the_q8_kernel(monkeypatch):
    """Where every matrix fits the tiles (the output projection too), decode steps run on the tile
    unit (recipe t): q8 weights dequantized into bfloat16 tiles, activations as two bfloat16
    parts; their logits agree with skinny.c's float32-activation q8 kernel to bfloat16 rounding."""
    from engine.llm.cpu import cpu_kernels, native

    model, dec = _installed_tiny(monkeypatch, vocab=320)
    try:
        _amx_or_skip(dec)
        assert dec.step_products == "amx-bf16" and dec.recipe == native.RECIPE + "bt"
        cache = _prefilled(model, [3, 17, 42, 5, 99, 7])
        tiles_row, plain_row = dec.new_row(cache, 32), dec.new_row(cache, 32)
        allm = list(dec.mats) + [dec.md.head]
        qps = [m.qp for m in allm]
        for tok in (11, 250, 4):
            a = dec.step_np(np.array([tok]), [tiles_row])[0]
            for m in allm:
                m.qp = None
            try:
                b = dec.step_np(np.array([tok]), [plain_row])[0]
            finally:
                for m, q in zip(allm, qps):
                    m.qp = q
            assert not np.array_equal(a, b)
            np.testing.assert_allclose(a, b, rtol=0, atol=0.02 * max(1.0, float(np.abs(b).max())))
    finally:
        cpu_kernels.remove(model)


def test_flux_amx_off_keeps_float32_blas_prompt_products_and_the_plain_recipe(monkeypatch):
    from engine.llm.cpu import native

    monkeypatch.setenv("FLUX_AMX", "0")
    model, dec = _installed_tiny(monkeypatch, vocab=320)
    assert dec is not None
    assert dec.prompt_products == "blas-f32" and dec.step_products == "skinny" and dec.recipe == native.RECIPE
    assert not any(m.wb or m.qp for m in dec.mats)
    if dec.can_prefill:
        assert "FLUX_AMX=0" in native.status()


@pytest.mark.model
@pytest.mark.slow
def test_real_model_prompts_prefilled_on_amx_within_the_quality_guard(monkeypatch):
    """Teacher-forced through the AMX prompt products: the logits after each prefix of the
    importer's fixed paragraph, that prefix prefilled on the tile unit (bfloat16 products, float16
    cache, q8 output projection), against mlx-lm's float32 step: top-1 agreement >= 0.97 and
    perplexity within 2 %."""
    from engine.llm import models
    from engine.llm.cpu import native
    from test_gguf_import import PARAGRAPH

    skinny_or_skip()
    if models.resolve_model(None) is None:
        pytest.skip("default model not imported (texture models pull)")
    for var in ("FLUX_LLM_DTYPE", "FLUX_DECODE_WEIGHTS", "FLUX_NATIVE_DECODE", "FLUX_AMX"):
        monkeypatch.delenv(var, raising=False)
    lm = models.load_model(None)
    dec = native.decoder_for(lm.model)
    _amx_or_skip(dec)
    assert lm.info["model_id"].endswith(dec.recipe) and lm.info["prompt_products"] == "amx-bf16"
    ids = lm.tokenizer.encode(PARAGRAPH)
    top, lps = [], []
    for i in range(1, len(ids)):
        logits = dec.prefill(dec.row_from(None, i + 1), ids[:i]).astype(np.float64)
        lp = logits - (logits.max() + math.log(np.exp(logits - logits.max()).sum()))
        top.append(int(np.argmax(lp)))
        lps.append(float(lp[ids[i]]))
    for _, m in lm.model.named_modules():
        m.__dict__.pop("_texture_q8", None)
    assert_quality_guard("AMX prompt products", (top, lps), teacher_forced(lm, ids))
