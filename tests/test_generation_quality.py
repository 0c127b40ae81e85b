"""The fact-keeping generation features stay inside the determinism contract: the sentence stop and
the repetition penalty are per request, so a request's tokens are the same alone and in a batch
of 4, on the tiny random model and on the real model (SmolLM2, in a fresh process).

Doubles as a child script: ``python tests/test_generation_quality.py --real-child MODEL``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if __name__ == "__main__" and "--real-child" in sys.argv:
    from engine.llm.cpu.fastpath import prepare_backend as _prepare_backend

    _prepare_backend()  # OpenBLAS before mlx.core

import mlx.core as mx  # noqa: E402

from engine.llm.generator import GenerationEngine, GenRequest  # noqa: E402
from engine.llm.sampling import SeededSampler, sample_rows  # noqa: E402
from conftest_llm import draw_rows  # noqa: E402
from fakes import tiny_model, tiny_tokenizer  # noqa: E402
from engine.validate import clean_output, complete_sentences  # noqa: E402

REAL_MODEL = ROOT / "models" / "smollm2-135m-instruct"
PROMPTS = ["The harbour at dawn, fog on the water.", "A market square after rain.",
           "Old mill by the river; the wheel is still.", "Mountain pass, wind and snow, a lone shrine."]


def tiny_loader():
    def load():
        tok = tiny_tokenizer()[0]
        return tiny_model(len(tok), 0), tok, {"model_id": "tiny-random-llama"}
    return load


def run_tokens(loader, reqs, concurrency, timeout=240):
    eng = GenerationEngine(loader, concurrency=concurrency)
    eng.start()
    try:
        job = eng.submit(reqs, None)
        assert job.wait(timeout), "job did not finish"
        return ({k: list(v) for k, v in job.token_ids.items()}, {k: r.text for k, r in job.results.items()},
                {k: r.reason for k, r in job.results.items()})
    finally:
        eng.shutdown()


# --- sentence counting ---------------------------------------------------------------------

def test_complete_sentences_counts_only_ends_followed_by_something():
    assert complete_sentences("One. Two. Three.") == 2  # the last end is not followed yet ("3." may be "3.5")
    assert complete_sentences("One. Two. Three. F") == 3
    assert complete_sentences("It is 3.5 degrees. Then") == 1
    text = "One. Two! Three? Four"
    assert clean_output(text) == "One. Two! Three?"


def _stop_after(chunks, n):
    """Feed ``chunks`` to the sentence stop one at a time -> the text when it fired (or None)."""
    from types import SimpleNamespace

    from engine.llm.jobs import _done_sentences

    st = SimpleNamespace(detok=SimpleNamespace(text=""), checked=0, req=SimpleNamespace(stop_sentences=n))
    for c in chunks:
        st.detok.text += c
        if _done_sentences(st):
            return st.detok.text
    return None


def test_sentence_stop_ends_at_the_count_or_at_a_line_break_after_a_sentence():
    # (it fires on the token after the third end: only then is that sentence known complete)
    assert _stop_after(["One.", " Two.", " Three.", " Four."], 3) == "One. Two. Three. Four."
    # A line break after a complete sentence ends the description (a "Rewrite:" block follows).
    assert _stop_after(["One.", " Two.", "\n", "Rewrite:", " Again."], 3) == "One. Two.\n"
    # A line break before any complete sentence does not.
    assert _stop_after(["Rewrite:", "\n", "One.", " Two.", " Three.", " x"], 3) == "Rewrite:\nOne. Two. Three. x"
    assert clean_output("One. Two.\n") == "One. Two."


# --- repetition penalty --------------------------------------------------------------------

def test_repetition_penalty_rows_are_independent_of_the_batch():
    logits = mx.random.normal((6, 400), key=mx.random.key(9)) * 3
    pens = [1.3, 1.0, 1.5, 1.3, 1.1, 2.0]

    def draw(rows, steps=12):
        return draw_rows(logits, lambda i: SeededSampler(500 + i, 0.8, pens[i]), rows, steps)

    together = draw(list(range(6)))
    alone = {i: draw([i])[i] for i in range(6)}
    assert together == alone
    assert draw([4, 0, 2])[2] == alone[2]
    # The penalty does something: greedy on fixed logits repeats one token without it, not with it.
    g0, g1 = SeededSampler(1, 0.0, 1.0), SeededSampler(1, 0.0, 3.0)
    row = mx.abs(logits[0:1]) + 1.0
    no_pen = [sample_rows(row, [g0]).item() for _ in range(5)]
    pen = [sample_rows(row, [g1]).item() for _ in range(5)]
    assert len(set(no_pen)) == 1 and len(set(pen)) == 5


def test_tiny_model_penalty_and_stop_same_alone_and_in_a_batch():
    reqs = [GenRequest(f"urn:q:{i}", PROMPTS[i], 300 + 11 * i, 40, 0.8, None, 2, 1.3) for i in range(4)]
    alone = run_tokens(tiny_loader(), reqs, 1)[0]  # one lane: each request alone
    batched = run_tokens(tiny_loader(), list(reversed(reqs)), 4)[0]
    assert batched == alone
    plain = run_tokens(tiny_loader(), [GenRequest(r.key, r.prompt, r.seed, 40, 0.8) for r in reqs], 4)[0]
    assert plain != alone  # the penalty changed the tokens


def test_keep_bias_rows_are_independent_of_the_batch_and_drop_once_generated():
    logits = mx.random.normal((5, 300), key=mx.random.key(4)) * 2
    keeps = [(7, 50), (), (120,), (7, 9, 11), (299,)]

    def draw(rows, steps=10):
        samplers = {i: SeededSampler(70 + i, 0.8, 1.0, keeps[i], 3.0) for i in rows}
        out = {i: [] for i in rows}
        for _ in range(steps):
            for i, t in zip(rows, sample_rows(logits[mx.array(rows)], [samplers[i] for i in rows]).tolist()):
                out[i].append(t)
        return out

    alone = {i: draw([i])[i] for i in range(5)}
    assert draw(list(range(5))) == alone and draw([3, 0])[0] == alone[0]
    # Greedy on a row where the kept token trails the best by less than the bias: taken once, then
    # its bias is gone and the best token comes back.
    row = mx.zeros((1, 300))
    row[0, 5] = 1.0
    g = SeededSampler(1, 0.0, 1.0, (200,), 2.0)
    assert [sample_rows(row, [g]).item() for _ in range(3)] == [200, 5, 5]


def test_tiny_model_keep_bias_same_alone_and_in_a_batch():
    base = [GenRequest(f"urn:k:{i}", PROMPTS[i], 900 + 7 * i, 24, 0.8, None, 1, 1.1) for i in range(4)]
    reqs = [GenRequest(r.key, r.prompt, r.seed, r.max_tokens, r.temperature, None, 1, 1.1,
                       ("fog water", "market rain"), 4.0) for r in base]
    alone = run_tokens(tiny_loader(), reqs, 1)[0]
    assert run_tokens(tiny_loader(), list(reversed(reqs)), 4)[0] == alone
    assert run_tokens(tiny_loader(), base, 4)[0] != alone  # the bias changed the tokens


# --- the real model ------------------------------------------------------------------------

@pytest.mark.model
@pytest.mark.slow
def test_real_model_sentence_stop_and_penalty_same_alone_and_batched():
    if not (REAL_MODEL / "config.json").exists():
        pytest.skip(f"real model not imported yet ({REAL_MODEL})")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--real-child", str(REAL_MODEL)],
                         capture_output=True, text=True, timeout=600, cwd=str(ROOT),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["reasons"] == [None] * 4, got
    assert got["batched"] == got["alone"]
    # The stop bounds every text: a request ends as soon as its second sentence is complete
    # (or at EOS, or at the budget), so none carries a third complete sentence.
    for k, text in got["texts"].items():
        assert complete_sentences(text) <= 2, (k, text)


def _real_child(path: str) -> None:
    from engine.llm.models import load_model

    reqs = [GenRequest(f"urn:real:{i}", "Describe in two sentences: " + PROMPTS[i], 77 + 13 * i, 80, 0.7, None, 2, 1.2)
            for i in range(4)]
    alone, texts, why = run_tokens(lambda: load_model(path), reqs, 1)  # one lane: each request alone
    reasons = [why[r.key] for r in reqs]
    batched = run_tokens(lambda: load_model(path), list(reversed(reqs)), 4)[0]
    print(json.dumps({"alone": alone, "batched": batched, "reasons": reasons, "texts": texts,
                      "n": {k: len(v) for k, v in alone.items()}}))


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--real-child":
    _real_child(sys.argv[2])
