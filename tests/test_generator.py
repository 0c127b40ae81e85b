"""The generation engine (engine/llm/generator.py) and per-request seeded sampling.

Runs real MLX on a tiny randomly initialised llama (2 layers, 64 dims) with a byte-level tokenizer
built here with ``tokenizers`` (no downloads). Synchronisation is by job events / ``Job.wait``; the
only sleeps are inside the "slow model" wrapper, to make decode steps take a known minimum time.

This file doubles as a child script: ``python tests/test_generator.py --child JSON`` runs requests
on the same tiny model in a fresh process and prints the token ids (cross-process determinism).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if __name__ == "__main__" and "--real-child" in sys.argv:
    from engine.llm.cpu.fastpath import prepare_backend as _prepare_backend

    _prepare_backend()  # OpenBLAS must be loaded before mlx.core is imported

import mlx.core as mx  # noqa: E402

from engine.llm.events import BatchFinished, EngineStatus, PlaceFinished, PlaceStarted, Tokens  # noqa: E402
from engine.llm.generator import GenerationEngine, GenRequest  # noqa: E402
from engine.llm.sampling import SeededSampler, make_request_sampler  # noqa: E402
from conftest_llm import draw_rows  # noqa: E402
from fakes import tiny_model, tiny_tokenizer  # noqa: E402
from tools.bench.raw import raw_batch_generate_on  # noqa: E402

REAL_MODEL = ROOT / "models" / "smollm2-135m-instruct"

# ----------------------------------------------------------------------------- tiny model
# The same tiny byte-level tokenizer and 2-layer llama that `texture robustness` uses.
def make_tiny_tokenizer():
    return tiny_tokenizer()[0]


def make_tiny_model(vocab_size: int, seed: int = 0):
    return tiny_model(vocab_size, seed)  # seeds weights only; sampling never reads global state


class HookModel:
    """Wraps a model: ``before(inputs)`` runs before every forward (sleep, raise, ...)."""

    def __init__(self, inner, before):
        self.inner, self.before = inner, before
        self.layers = inner.layers

    def __call__(self, inputs, cache=None, **kw):
        self.before(inputs)
        return self.inner(inputs, cache=cache, **kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def tiny_loader(before=None):
    def load():
        tok = make_tiny_tokenizer()
        model = make_tiny_model(len(tok))
        if before is not None:
            model = HookModel(model, before)
        return model, tok, {"model_id": "tiny-random-llama"}
    return load


def slow(delay_s: float):
    return lambda inputs: time.sleep(delay_s)


PROMPTS = [
    "The harbour at dawn, fog on the water.",
    "A market square after rain.",
    "Old mill by the river; the wheel is still.",
    "Mountain pass, wind and snow, a lone shrine.",
    "Tavern cellar, barrels and candle smoke.",
    "Forest clearing where the deer gather at dusk.",
    "A library tower with broken windows.",
    "Salt flats under a white sky.",
]


def requests(n: int = 8, temperature: float = 0.7, seeds=None, budgets=None) -> list[GenRequest]:
    seeds = seeds or [1000 + 7919 * i for i in range(n)]
    budgets = budgets or [16 + 3 * (i % 5) for i in range(n)]
    return [GenRequest(f"urn:place:{i}", PROMPTS[i % len(PROMPTS)], seeds[i], budgets[i], temperature)
            for i in range(n)]


def run(engine: GenerationEngine, reqs, timeout: float = 60.0, on_event=None):
    job = engine.submit(reqs, on_event)
    assert job.wait(timeout), "job did not finish"
    return job


def drain(job) -> list:
    out = []
    while not job.events.empty():
        out.append(job.events.get_nowait())
    return out


@pytest.fixture
def make_engine():
    engines = []

    def make(loader=None, concurrency=4, **kw):
        eng = GenerationEngine(loader if loader is not None else tiny_loader(), concurrency=concurrency, **kw)
        eng.start()
        engines.append(eng)
        return eng

    yield make
    for e in engines:
        e.shutdown()


def run_alone(reqs) -> dict[str, list[int]]:
    eng = GenerationEngine(tiny_loader(), concurrency=1)
    eng.start()
    try:
        job = run(eng, reqs)
        return {k: list(v) for k, v in job.token_ids.items()}
    finally:
        eng.shutdown()


@pytest.fixture(scope="module")
def reference() -> dict[str, list[int]]:
    """Every request of ``requests(8)`` run alone (concurrency 1)."""
    return run_alone(requests(8))


# ----------------------------------------------------------------------------- sampling
def test_seeded_sampler_depends_only_on_seed_step_and_row():
    logits = mx.random.normal((3, 300), key=mx.random.key(5))
    lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    a, b = SeededSampler(42, 0.7), SeededSampler(42, 0.7)
    mx.random.seed(1)
    seq_a = [a(lp[0:1]).item() for _ in range(20)]
    mx.random.seed(999)  # the process-wide random state must not matter
    _ = mx.random.uniform(shape=(10,))
    seq_b = [b(lp[0:1]).item() for _ in range(20)]
    assert seq_a == seq_b
    other = SeededSampler(43, 0.7)
    assert seq_a != [other(lp[0:1]).item() for _ in range(20)]  # another seed, another sequence
    g = SeededSampler(42, 0.0)
    assert g(lp[1:2]).item() == int(mx.argmax(lp[1]).item())


def test_seeded_sampler_draws_from_softmax_at_temperature():
    """Gumbel-max with the request's keys samples softmax(logprobs / T): frequencies over many seeds."""
    import math

    probs = [0.6, 0.3, 0.1]
    lp = mx.array([[math.log(p) for p in probs]])
    for temp in (1.0, 0.5):
        want = [p ** (1 / temp) for p in probs]
        want = [w / sum(want) for w in want]
        n = 3000
        counts = [0, 0, 0]
        for seed in range(n):
            counts[int(SeededSampler(seed, temp)(lp).item())] += 1
        for c, w in zip(counts, want):
            assert abs(c / n - w) < 4 * math.sqrt(w * (1 - w) / n) + 1e-3, (temp, counts, want)


def test_request_from_dict():
    r = GenRequest.coerce({"key": "urn:x", "prompt": "p", "seed": 3, "max_tokens": 9,
                           "temperature": None, "deadline_s": 1})
    assert r == GenRequest("urn:x", "p", 3, 9, 0.7, 1.0)


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("concurrency", [2, 4, 8])
def test_batched_equals_alone_any_order(make_engine, reference, concurrency):
    eng = make_engine(concurrency=concurrency)
    reqs = requests(8)
    for order_seed in (0, 1):
        shuffled = list(reqs)
        random.Random(order_seed * 31 + concurrency).shuffle(shuffled)
        job = run(eng, shuffled)
        assert all(f.reason is None for f in job.results.values())
        got = {k: list(v) for k, v in job.token_ids.items()}
        assert got == reference, f"concurrency {concurrency}, order {order_seed}"


def test_streamed_text_matches_final_text(make_engine):
    eng = make_engine(concurrency=3, token_interval_s=0.0)
    job = run(eng, requests(6))
    streamed: dict[str, str] = {}
    for ev in drain(job):
        if isinstance(ev, Tokens):
            streamed[ev.key] = streamed.get(ev.key, "") + ev.text_delta
    for key, fin in job.results.items():
        assert fin.reason is None
        assert streamed.get(key, "") == fin.text
        assert fin.n_tokens == len(job.token_ids[key])


def test_same_in_another_process(reference):
    reqs = requests(8)
    chosen = [reqs[1], reqs[6]]
    payload = json.dumps([r.__dict__ for r in chosen])
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", payload],
                         capture_output=True, text=True, timeout=120, cwd=str(ROOT),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {r.key: reference[r.key] for r in chosen}


def test_different_seeds_differ_and_temperature_zero_is_greedy(make_engine):
    from mlx_lm.generate import generate_step

    eng = make_engine(concurrency=4)
    base = PROMPTS[0]
    varied = [GenRequest(f"s{i}", base, seed, 24, 0.7) for i, seed in enumerate([1, 2, 3, 4])]
    greedy = [GenRequest(f"g{i}", PROMPTS[i], 100 + i, 20, 0.0) for i in range(3)]
    greedy_other_seed = [GenRequest(f"g{i}", PROMPTS[i], 5000 + i, 20, 0.0) for i in range(3)]
    job = run(eng, varied + greedy)
    texts = [job.results[r.key].text for r in varied]
    assert len(set(texts)) == len(texts), "different seeds must give different text"
    job2 = run(eng, greedy_other_seed)
    tok = eng.tokenizer
    for r in greedy:
        assert job2.token_ids[r.key] == job.token_ids[r.key]  # seed is irrelevant at temperature 0
        # reference: mlx-lm's single-sequence generate_step with argmax, on this (main) thread
        ids = tok.apply_chat_template([{"role": "user", "content": r.prompt}], add_generation_prompt=True)
        ref = []
        for t, _ in generate_step(mx.array(ids), eng.model, max_tokens=r.max_tokens,
                                  sampler=lambda x: mx.argmax(x, axis=-1)):
            t = int(t)
            if t in tok.eos_token_ids:
                break
            ref.append(t)
        assert job.token_ids[r.key] == ref


def _reference_tokens(model, tok, r):
    """The recipe, written out for one sequence with plain mlx-lm calls: prefill the whole
    prompt, sample the first token from its last position, then one token per step."""
    from mlx_lm.models.cache import make_prompt_cache

    ids = tok.apply_chat_template([{"role": "user", "content": r.prompt}], add_generation_prompt=True)
    cache = make_prompt_cache(model)
    sampler = make_request_sampler(r.seed, r.temperature)
    y = sampler(model(mx.array([ids]), cache=cache)[:, -1, :])
    out = []
    for _ in range(r.max_tokens):
        t = int(y.item())
        if t in tok.eos_token_ids:
            break
        out.append(t)
        y = sampler(model(y[:, None], cache=cache)[:, -1, :])
    return out


def test_sampled_tokens_match_single_sequence_reference(make_engine):
    """The engine's batched, folded-prefill generation == the recipe run on one sequence by hand."""
    eng = make_engine(concurrency=4)
    reqs = requests(4)
    job = run(eng, reqs)
    for r in reqs:
        assert job.token_ids[r.key] == _reference_tokens(eng.model, eng.tokenizer, r)


def test_batch_sampler_rows_are_independent_of_the_batch():
    """sample_rows: a row's token depends only on its own logits and sampler, never on the
    batch size, its position, or the other rows (temperatures mixed, greedy included)."""
    logits = mx.random.normal((8, 5000), key=mx.random.key(3)) * 4
    temps = [0.7, 1.0, 0.0, 0.3, 0.7, 1.5, 0.7, 0.0]

    def draw(rows, steps=6):
        return draw_rows(logits, lambda i: SeededSampler(100 + i, temps[i]), rows, steps)

    together = draw(list(range(8)))
    alone = {i: draw([i])[i] for i in range(8)}
    shuffled = draw([5, 2, 7, 0, 3])
    assert together == alone
    assert all(shuffled[i] == alone[i] for i in shuffled)
    assert together[2] == [int(mx.argmax(logits[2]).item())] * 6  # T = 0 is greedy
    assert len(set(together[0])) > 1  # T > 0 draws vary step to step


def test_prompt_admission_is_one_prefill_pass():
    """SeededBatchGenerator.add: the whole prompt in one forward pass that ends in the first
    token; the batch's next step decodes the new row with the others (no one-row step)."""
    from engine.llm.batching import SeededBatchGenerator

    tok = make_tiny_tokenizer()
    model = make_tiny_model(len(tok))
    calls = []
    inner_call = type(model.model).__call__

    class Counting(type(model.model)):
        def __call__(self, inputs, *a, **kw):
            calls.append(tuple(inputs.shape))
            return inner_call(self, inputs, *a, **kw)

    model.model.__class__ = Counting
    bg = SeededBatchGenerator(model, max_tokens=1, completion_batch_size=4)
    ids = [tok.encode(p) for p in PROMPTS[:3]]
    uids = [bg.add(ids[0], max_tokens=5, sampler=make_request_sampler(1, 0.7))]
    assert calls == [(1, len(ids[0]))]
    _, out = bg.next()
    assert [r.uid for r in out] == uids and calls[-1] == (1, 1)
    uids += [bg.add(i, max_tokens=5, sampler=make_request_sampler(2, 0.7)) for i in ids[1:]]
    assert calls[-2:] == [(1, len(ids[1])), (1, len(ids[2]))]
    calls.clear()
    _, out = bg.next()
    assert calls == [(3, 1)] and sorted(r.uid for r in out) == sorted(uids)


# ----------------------------------------------------------------------------- shared prompt head
HEAD = "Enhance this location description with current conditions:\n"
HEADED = [HEAD + "\nBase: " + p + "\n\nEnhanced description:" for p in PROMPTS[:6]]


def headed_requests(n: int = 6) -> list[GenRequest]:
    return [GenRequest(f"urn:headed:{i}", HEADED[i], 500 + 31 * i, 14 + i, 0.7) for i in range(n)]


def test_shared_head_is_computed_once_and_reused(make_engine):
    eng = make_engine(concurrency=3)
    reqs = headed_requests()
    job = run(eng, reqs)
    assert eng.info["prefix_reuse"] is True
    assert all(job.results[r.key].reason is None for r in reqs)
    head = eng._split_point(reqs[0], eng._tokenize(reqs[0]))
    assert head >= len(HEAD) - 2  # byte-level tokenizer: about one token per character
    # computed for the first request, reused by the five others
    assert eng._prefix_stats == {"computed": 1, "reused": 5}
    assert job.metrics["prefix_tokens_reused"] == 5 * head


def test_shared_head_reuse_never_changes_a_result(make_engine):
    """Hit or miss, first or last, alone or batched: the same tokens (the split depends on the prompt only)."""
    reqs = headed_requests()
    per_request_fresh = {}
    for r in reqs:  # each on a fresh engine: the head is computed, never reused
        eng = make_engine(concurrency=1)
        per_request_fresh.update(run(eng, [r]).token_ids)
        eng.shutdown()
    eng = make_engine(concurrency=4)
    batched = run(eng, list(reversed(reqs))).token_ids
    again = run(eng, reqs[::2]).token_ids  # all hits now
    assert batched == per_request_fresh
    assert all(again[k] == per_request_fresh[k] for k in again)
    off = make_engine(concurrency=4, prefix_reuse=False)
    no_reuse = run(off, reqs)
    assert off.info["prefix_reuse"] is False and no_reuse.metrics["prefix_tokens_reused"] == 0
    assert all(len(v) > 0 for v in no_reuse.token_ids.values())


def test_shared_head_requests_time_out_and_cancel_cleanly(make_engine):
    """Removing a request whose cache started from the shared head (timeout, cancel) leaves the
    head and the other requests intact."""
    eng = make_engine(tiny_loader(before=slow(0.01)), concurrency=2)
    reqs = [GenRequest("late", HEADED[0], 1, 300, 0.0, deadline_s=0.3),
            GenRequest("ok", HEADED[1], 2, 6, 0.0), GenRequest("ok2", HEADED[2], 3, 6, 0.0)]
    job = run(eng, reqs)
    assert job.results["late"].reason == "timeout"
    assert job.results["ok"].reason is None and job.results["ok2"].reason is None
    holder = {}

    def on_event(ev):
        if isinstance(ev, PlaceStarted) and ev.key == "long1":
            holder["job"].cancel()

    job2 = eng.submit([GenRequest(f"long{i}", HEADED[i], 10 + i, 400, 0.0) for i in range(4)], on_event)
    holder["job"] = job2
    assert job2.wait(20)
    assert {f.reason for f in job2.results.values()} == {"cancelled"}
    again = run(eng, [GenRequest("ok", HEADED[1], 2, 6, 0.0)])  # same request, same tokens
    assert again.token_ids["ok"] == job.token_ids["ok"] and again.metrics["prefix_tokens_reused"] > 0


def test_single_line_prompts_are_not_split(make_engine):
    eng = make_engine(concurrency=2)
    r = requests(1)[0]
    assert eng.wait_ready(30)
    assert eng._split_point(r, eng._tokenize(r)) == 0


# ----------------------------------------------------------------------------- scheduling
def test_continuous_refill_reuses_lanes(make_engine):
    eng = make_engine(concurrency=2, token_interval_s=0.0)
    budgets = [4, 20, 6, 12, 5]
    reqs = [GenRequest(f"r{i}", PROMPTS[i], 10 + i, b, 0.0) for i, b in enumerate(budgets)]
    job = run(eng, reqs)
    evs = drain(job)
    active: dict[str, int] = {}
    n_tokens: dict[str, int] = {}
    starts = 0
    last_finish_at: dict[str, int] | None = None  # tokens of the still-active requests at the last finish
    for ev in evs:
        if isinstance(ev, PlaceStarted):
            assert len(active) < 2 and ev.stream in (0, 1) and ev.stream not in active.values()
            active[ev.key] = ev.stream
            starts += 1
            last_finish_at = None
        elif isinstance(ev, Tokens):
            n_tokens[ev.key] = ev.n_tokens
            if last_finish_at is not None and ev.key in last_finish_at:
                # the freed lane is refilled before the others advance more than one more step
                assert ev.n_tokens <= last_finish_at[ev.key] + 1, "refill waited"
        elif isinstance(ev, PlaceFinished):
            assert ev.reason is None
            active.pop(ev.key)
            if starts < len(reqs):
                last_finish_at = {k: n_tokens.get(k, 0) for k in active}
    assert starts == 5 and not active
    assert isinstance(evs[-1], BatchFinished)
    lanes = [ev.stream for ev in evs if isinstance(ev, PlaceStarted)]
    assert lanes[:2] == [0, 1] and set(lanes) == {0, 1}
    m = evs[-1].metrics
    assert m["places"] == 5 and m["tokens"] == sum(len(v) for v in job.token_ids.values())
    assert m["tokens_per_s"] > 0 and m["peak_rss_mb"] > 0 and m["fallbacks"] == {}


def test_deadline_counts_from_start_of_decoding(make_engine):
    eng = make_engine(tiny_loader(before=slow(0.01)), concurrency=1)
    reqs = [
        GenRequest("long", PROMPTS[0], 1, 60, 0.0),  # >= 0.6 s of decoding, no deadline
        GenRequest("late", PROMPTS[1], 2, 200, 0.0, deadline_s=0.3),  # 200 tokens need >= 2 s
        GenRequest("quick", PROMPTS[2], 3, 4, 0.0, deadline_s=0.4),  # queued >= 0.9 s, decodes in ~0.05 s
    ]
    job = run(eng, reqs)
    res = job.results
    assert res["long"].reason is None and res["long"].n_tokens > 0
    assert res["late"].reason == "timeout" and res["late"].text is None
    assert "timeout after" in res["late"].detail and "/200 tokens" in res["late"].detail
    assert 0 < res["late"].n_tokens < 200
    assert f"at {res['late'].n_tokens}/200" in res["late"].detail
    assert res["quick"].reason is None, res["quick"].detail
    assert job.metrics["fallbacks"] == {"timeout": 1}
    assert job.metrics["wall_s"] > 0.9  # "quick" really waited longer than its deadline before starting


def test_forward_error_isolated_to_its_request(make_engine):
    poison = 90  # byte token of "{" in the tiny byte-level vocabulary

    def before(inputs):
        if inputs.shape[1] > 1 and bool((inputs == poison).any().item()):
            raise RuntimeError("poisoned prompt")

    tok = make_tiny_tokenizer()
    assert tok.encode("{", add_special_tokens=False) == [poison]
    eng = make_engine(tiny_loader(before=before), concurrency=4, token_interval_s=0.0)
    good = requests(5)
    bad = GenRequest("bad", "a prompt with { in it", 9, 20, 0.7)
    reqs = good[:2] + [bad] + good[2:]
    job = run(eng, reqs)
    assert job.results["bad"].reason == "error" and "poisoned prompt" in job.results["bad"].detail
    expected = run_alone(good)
    streamed: dict[str, str] = {}
    for ev in drain(job):
        if isinstance(ev, Tokens):
            streamed[ev.key] = streamed.get(ev.key, "") + ev.text_delta
    for r in good:
        fin = job.results[r.key]
        assert fin.reason is None, fin.detail
        assert job.token_ids[r.key] == expected[r.key]  # re-run alone after the failure: same tokens
        assert streamed.get(r.key, "") == fin.text  # and no text streamed twice
    assert job.metrics["fallbacks"] == {"error": 1}


def test_sampler_error_and_callback_error(make_engine):
    def factory(req):
        if req.key == "urn:place:2":
            inner = make_request_sampler(req.seed, req.temperature)

            def boom(lp):
                if inner.steps >= 3:
                    raise ValueError("sampler exploded")
                return inner(lp)
            return boom
        return make_request_sampler(req.seed, req.temperature)

    calls = []

    def bad_callback(ev):
        calls.append(ev)
        raise RuntimeError("observer bug")

    eng = make_engine(concurrency=4, sampler_factory=factory)
    reqs = requests(6)
    job = run(eng, reqs, on_event=bad_callback)
    assert job.results["urn:place:2"].reason == "error"
    assert "sampler exploded" in job.results["urn:place:2"].detail
    others = [r for r in reqs if r.key != "urn:place:2"]
    expected = run_alone(others)
    for r in others:
        assert job.results[r.key].reason is None
        assert job.token_ids[r.key] == expected[r.key]
    assert isinstance(calls[-1], BatchFinished)
    # the engine thread survived both the sampler and the callback
    job2 = run(eng, requests(2), on_event=bad_callback)
    assert all(f.reason is None for f in job2.results.values())


def test_cancel_running_job(make_engine):
    eng = make_engine(tiny_loader(before=slow(0.005)), concurrency=2)
    reqs = [GenRequest("first", PROMPTS[0], 1, 3, 0.0)] + [
        GenRequest(f"long{i}", PROMPTS[i + 1], 2 + i, 400, 0.0) for i in range(5)]
    holder = {}
    after_cancel = []  # tokens decoded once the cancel was asked for (on the engine thread)

    def on_event(ev):
        if isinstance(ev, PlaceFinished) and ev.key == "first":
            holder["cancelled"] = True
            holder["job"].cancel()
        elif isinstance(ev, Tokens) and holder.get("cancelled"):
            after_cancel.append(ev.key)

    eng.pause()  # so the job cannot start before ``holder`` knows it
    job = eng.submit(reqs, on_event)
    holder["job"] = job
    eng.resume()
    assert job.wait(30)
    # At once: the step under way may finish its rows, no further step runs (counted in events,
    # not in seconds, so a busy machine cannot make it fail).
    assert len(after_cancel) <= 2, after_cancel
    res = job.results
    assert res["first"].reason is None and res["first"].text is not None  # finished results kept
    cancelled = [k for k, f in res.items() if f.reason == "cancelled"]
    assert sorted(cancelled) == sorted(f"long{i}" for i in range(5))
    assert any("tokens" in res[k].detail for k in cancelled)
    # the engine keeps working afterwards
    job2 = run(eng, [GenRequest("after", PROMPTS[0], 1, 3, 0.0)])
    assert job2.results["after"].reason is None


def test_drain_finishes_the_running_requests_and_starts_no_more(make_engine):
    """Job.drain(): the requests decoding finish as usual (the same tokens as without a drain),
    the queued ones finish "drained" without ever starting, and run later with the same tokens."""
    eng = make_engine(tiny_loader(before=slow(0.002)), concurrency=2, token_interval_s=0.0)
    reqs = [GenRequest(f"r{i}", PROMPTS[i], 20 + i, 24, 0.0) for i in range(5)]
    ref = run(eng, reqs)
    assert all(ref.results[r.key].reason is None for r in reqs)
    started: list[str] = []
    holder: dict = {}

    def on_event(ev):
        # On the engine thread, while both lanes decode (r0 and r1 start together): drain.
        if isinstance(ev, PlaceStarted):
            started.append(ev.key)
        if isinstance(ev, Tokens) and ev.key == "r1" and not holder["job"].drained:
            holder["job"].drain()

    eng.pause()  # so the job cannot start before ``holder`` knows it
    job = eng.submit(reqs, on_event)
    holder["job"] = job
    eng.resume()
    assert job.wait(30)
    res = job.results
    assert started == ["r0", "r1"]  # nothing started after the drain
    for k in ("r0", "r1"):  # in flight: finished, token for token as without the drain
        assert res[k].reason is None and job.token_ids[k] == ref.token_ids[k]
    for k in ("r2", "r3", "r4"):
        assert res[k].reason == "drained" and res[k].stream == -1 and res[k].n_tokens == 0
        assert "drained" in res[k].detail
    assert job.metrics["fallbacks"] == {"drained": 3}
    later = run(eng, reqs[2:])  # what a restart does: the drained requests, the same tokens
    assert {k: later.token_ids[k] for k in ("r2", "r3", "r4")} == {k: ref.token_ids[k] for k in ("r2", "r3", "r4")}


def test_cancel_after_drain_stops_the_requests_in_flight(make_engine):
    eng = make_engine(tiny_loader(before=slow(0.005)), concurrency=1)
    holder: dict = {}

    def on_event(ev):
        if isinstance(ev, Tokens) and ev.key == "long0":
            holder["job"].drain()
            holder["job"].cancel()  # the second signal: the running request stops too

    eng.pause()
    job = eng.submit([GenRequest(f"long{i}", PROMPTS[i], 5 + i, 400, 0.0) for i in range(3)], on_event)
    holder["job"] = job
    eng.resume()
    assert job.wait(20)
    assert job.results["long0"].reason == "cancelled"
    assert {job.results[k].reason for k in ("long1", "long2")} <= {"drained", "cancelled"}


def test_pause_and_resume(make_engine):
    eng = make_engine(concurrency=2)
    assert eng.wait_ready(30)
    eng.pause()
    job = eng.submit(requests(2))
    assert not job.wait(0.2)
    assert not any(isinstance(e, PlaceStarted) for e in drain(job))
    eng.resume()
    assert job.wait(30)
    assert all(f.reason is None for f in job.results.values())


def test_load_failure_gives_model_unavailable(make_engine):
    statuses = []

    def broken():
        raise FileNotFoundError("no such model folder: /nowhere")

    eng = make_engine(broken, on_status=statuses.append)
    assert eng.wait_ready(10) is False
    assert eng.status.state == "failed" and "no such model folder" in eng.status.detail
    assert eng.ready() is False and "no such model folder" in eng.unavailable_reason()
    assert [s.state for s in statuses] == ["loading", "failed"]
    assert all(isinstance(s, EngineStatus) for s in statuses)
    job = eng.submit(requests(3))
    assert job.wait(1.0)
    assert {f.reason for f in job.results.values()} == {"model_unavailable"}
    assert isinstance(drain(job)[-1], BatchFinished)
    disabled = GenerationEngine(None)
    disabled.start()
    assert disabled.status.state == "disabled"
    job = disabled.submit(requests(1))
    assert job.wait(1.0) and job.results["urn:place:0"].reason == "model_unavailable"
    disabled.shutdown()


def test_ready_and_metrics_and_raw_bench(make_engine):
    eng = make_engine(concurrency=4)
    assert eng.wait_ready(30) and eng.ready() is True and eng.model_id == "tiny-random-llama"
    raw = raw_batch_generate_on(eng, PROMPTS[:4], max_tokens=8, temperature=0.7)
    assert raw["metrics"]["tokens"] > 0 and len(raw["texts"]) == 4
    # the load-time speed probe ran (engine.llm.cpu.probe on the engine thread): deadlines start from it
    assert set(eng.calibration) == {"prefill_s", "step_s"} and eng.calibration["step_s"] > 0
    assert eng.deadline_for(100) >= 2.0


# ----------------------------------------------------------------------------- real model
@pytest.mark.model
@pytest.mark.slow
def test_real_model_batched_equals_alone():
    """On the imported SmolLM2 (OpenBLAS float32 fast path, so in a fresh process that calls
    ``prepare_backend()`` before importing mlx): batched (4 streams, reversed order) == alone."""
    if not (REAL_MODEL / "config.json").exists():
        pytest.skip(f"real model not imported yet ({REAL_MODEL})")
    if not (ROOT / "engine" / "llm" / "models" / "registry.py").exists():
        pytest.skip("engine.llm.models not available")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--real-child", str(REAL_MODEL)],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["reasons"] == [None] * len(got["alone"]), got
    assert all(len(ids) > 0 for ids in got["alone"].values())
    assert got["batched"] == got["alone"]


def _real_child(path: str) -> None:
    from engine.llm.cpu.fastpath import prepare_backend

    print(prepare_backend(), file=sys.stderr)  # already done at import time in this child
    from engine.llm.models import load_model

    reqs = [GenRequest(f"urn:real:{i}", PROMPTS[i], 77 + 13 * i, 12, 0.7) for i in range(3)]
    # two prompts with a shared first line: the head's KV cache is computed once and reused
    reqs += [GenRequest(f"urn:real:h{i}", HEADED[i], 91 + i, 12, 0.7) for i in range(2)]
    out: dict = {}
    reasons = []
    for conc, order in ((1, reqs), (4, list(reversed(reqs)))):
        eng = GenerationEngine(lambda: load_model(path), concurrency=conc)
        eng.start()
        try:
            job = run(eng, order, timeout=240)
        finally:
            eng.shutdown()
        out["alone" if conc == 1 else "batched"] = {k: list(v) for k, v in job.token_ids.items()}
        if conc == 1:
            reasons = [job.results[r.key].reason for r in reqs]
    out["reasons"] = reasons
    print(json.dumps(out))


@pytest.mark.model
@pytest.mark.slow
def test_real_model_drain_finishes_in_flight_with_the_same_tokens():
    """Drain on the imported SmolLM2 (the real fast path, in a fresh process): the request
    decoding when the job is drained finishes with the tokens it gets alone; the others never
    start, and run afterwards with their own tokens."""
    if not (REAL_MODEL / "config.json").exists():
        pytest.skip(f"real model not imported yet ({REAL_MODEL})")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--real-child", str(REAL_MODEL), "drain"],
                         capture_output=True, text=True, timeout=300, cwd=str(ROOT),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["started"] == ["urn:real:0"]
    assert got["reasons"] == {"urn:real:0": None, "urn:real:1": "drained", "urn:real:2": "drained"}
    assert got["drained_ids"]["urn:real:0"] == got["alone_ids"]["urn:real:0"] and got["alone_ids"]["urn:real:0"]
    assert got["later_reasons"] == [None, None]


def _real_drain_child(path: str) -> None:
    from engine.llm.models import load_model

    reqs = [GenRequest(f"urn:real:{i}", PROMPTS[i], 77 + 13 * i, 12, 0.7) for i in range(3)]
    eng = GenerationEngine(lambda: load_model(path), concurrency=1)
    eng.start()
    try:
        assert eng.wait_ready(240), eng.unavailable_reason()
        alone = run(eng, reqs[:1], timeout=240)
        started: list[str] = []
        holder: dict = {}

        def on_event(ev):
            if isinstance(ev, PlaceStarted):
                started.append(ev.key)
                holder["job"].drain()  # on the engine thread, as the first request starts

        eng.pause()
        job = eng.submit(reqs, on_event)
        holder["job"] = job
        eng.resume()
        assert job.wait(240)
        later = run(eng, reqs[1:], timeout=240)
    finally:
        eng.shutdown()
    print(json.dumps({"started": started, "reasons": {k: f.reason for k, f in job.results.items()},
                      "drained_ids": {k: list(v) for k, v in job.token_ids.items()},
                      "alone_ids": {k: list(v) for k, v in alone.token_ids.items()},
                      "later_reasons": [later.results[r.key].reason for r in reqs[1:]]}))


# ----------------------------------------------------------------------------- child process
def _child(payload: str) -> None:
    reqs = [GenRequest(**d) for d in json.loads(payload)]
    print(json.dumps(run_alone(reqs)))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "--real-child" and sys.argv[3] == "drain":
        _real_drain_child(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "--real-child":
        _real_child(sys.argv[2])
