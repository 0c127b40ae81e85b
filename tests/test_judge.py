"""The model judge (engine.judge): verdicts from next-token log-probabilities in both orders, the
measure against blind reviews (split by a fixed hash, held-out agreement, consistency), the
stored measurement, the batch's opt-in gate, `texture eval --judge`, and one run on the real
default model."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import review_set as rs
from engine import judge
from engine.config import Config, load_config
from engine.dispatch import BatchRunner
from engine.prompts import PromptLibrary
from engine.review import import_reviews
from engine.store import Store
from engine.templates import render_template

ROOT = Path(__file__).resolve().parent.parent
REVIEWS = ROOT / "docs" / "reviews"
U = "urn:flux:place:testland:"
_TEXT = re.compile(r"^Text (?P<side>[AB]): (?P<text>.*)$", re.MULTILINE)


def texts_of(prompt: str) -> dict[str, str]:
    return {m["side"]: m["text"] for m in _TEXT.finditer(prompt)}


def oracle(good: set[str], lean: float = 0.0, wrong: set[str] = frozenset()):
    """A scorer that prefers the text in ``good`` (and not the ones in ``wrong``), leaning
    ``lean`` nats towards "A" whatever the texts: a model with a position bias."""
    def score(prompt: str, choices: list[str]) -> dict[str, float]:
        t = texts_of(prompt)
        merit = {s: (1.0 if " ".join(t[s].split()) in good else 0.0) for s in "AB"}
        for s in "AB":
            if " ".join(t[s].split()) in wrong:
                merit[s] = -1.0
        return {"A": -1.0 + merit["A"] + lean, "B": -1.0 + merit["B"]}
    return score


def shipped_texts(pairs: list[judge.Pair]) -> set[str]:
    out = set()
    for p in pairs:
        if p.reader in ("first", "second"):
            out.add(" ".join((p.first if p.reader == "first" else p.second).split()))
    return out


@pytest.fixture
def scripted(llms):
    """The shared ``llms`` fixture of conftest.py: scripted models shut down after the test."""
    return llms


# --- verdicts ---------------------------------------------------------------------------------------

def test_a_verdict_needs_both_orders_to_agree():
    assert judge.verdict_of((2.0, -1.0)).pick == "first"  # A in order 1, B in order 2: the first text
    assert judge.verdict_of((-2.0, 1.0)).pick == "second"
    assert judge.verdict_of((2.0, 1.5)).pick == "tie"  # "A" both times: a position, not a text
    assert judge.verdict_of((0.0, -1.0)).pick == "tie"
    # The position bias comes off both margins before the orders are compared.
    assert judge.verdict_of((2.0, 1.5), bias=1.75).pick == "first"
    assert judge.fit_bias([(2.0, 1.0), (3.0, 3.0), (0.0, 1.0)]) == 1.5
    assert judge.fit_bias([]) == 0.0


def test_the_split_is_a_fixed_hash_of_the_pair_id_and_matches_the_gates():
    rows = rs.load()
    assert [judge.half(r["urn"]) for r in rows] == [("held_out" if rs.half(r["urn"]) else "tuning") for r in rows]
    assert judge.half("x/1") == judge.half("x/1")


def test_reviewed_sets_load_with_the_readers_choice_and_roles(tmp_path):
    shared = judge.load_reviewed(rs.REVIEWED)
    assert len(shared) == 67 and all(p.roles == ("llm", "template") for p in shared)
    assert sum(p.reader == "second" for p in shared) == 64 and sum(p.reader == "same" for p in shared) == 3
    folder = judge.load_reviewed(REVIEWS / "templates-c-lakeland-delta")
    assert len(folder) == 64 and all(set(p.roles) == {"new", "old"} for p in folder)
    assert folder[0].pair_id.startswith("urn:") and folder[0].reader == "first"  # p001: A shipped, A new
    everything = judge.reviewed_pairs([rs.REVIEWED, REVIEWS])
    assert len(everything) > 300 and len({(p.facts.get("name"), p.first, p.second) for p in everything}) == len(everything)
    # The store's reviews count too, each pair of texts once.
    store = Store(tmp_path / "r.db")
    try:
        assert import_reviews(store, rs.REVIEWED).imported == 67
        assert len(judge.reviewed_pairs([], store)) == 67
        assert len(judge.reviewed_pairs([rs.REVIEWED], store)) == 67
    finally:
        store.close()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"urn": "u", "llm": "x", "template": "y", "ship": "maybe"}\n')
    with pytest.raises(judge.JudgeError, match="bad.jsonl:1: 'ship'"):
        judge.load_reviewed(bad)
    with pytest.raises(judge.JudgeError, match="no such file"):
        judge.load_reviewed(tmp_path / "nothing")


# --- the measure ------------------------------------------------------------------------------------

def test_a_judge_that_picks_what_readers_shipped_is_trusted_even_with_a_position_bias(scripted):
    pairs = judge.reviewed_pairs([rs.REVIEWED, REVIEWS])
    llm = scripted(scorer=oracle(shipped_texts(pairs), lean=3.0))
    j = judge.measure(llm, pairs, "scripted")
    # Without the correction every answer is "A" in both orders: all ties.
    assert j["held_out_uncorrected"]["consistency"] == 0.0
    assert j["bias"] > 0 and j["trusted"] is True
    decided = [p for p in pairs if judge.half(p.pair_id) == "held_out" and p.reader != "same"]
    assert j["n"] == j["held_out"]["n"] > judge.MIN_HELD_OUT
    assert j["held_out"]["agree"] >= len(decided) - 5  # texts shipped in one pair and not in another
    lo, hi = j["interval"]
    assert lo <= j["agreement"] <= hi
    assert j["tuning"]["n"] + j["held_out"]["n"] == j["pairs_total"] == len(pairs)
    assert set(j["by_set"]) >= {"builtin-premium-reviewed", "templates-c-lakeland-delta"}
    text = judge.format_block(j)
    assert "judge trusted" in text and "held-out half" in text


def test_a_judge_below_the_bar_is_not_trusted_and_says_why(scripted):
    pairs = judge.reviewed_pairs([rs.REVIEWED])
    llm = scripted(scorer=oracle(set(), lean=0.5))  # no view of the texts: a position only
    j = judge.measure(llm, pairs, "scripted")
    assert j["trusted"] is False and j["n"] == 33
    assert "below the 80%" in j["why"]
    assert "judge NOT trusted" in judge.format_block(j) and "nothing uses its verdicts" in judge.format_block(j)
    few = judge.measure(llm, pairs[:10], "scripted")
    assert few["trusted"] is False and "at least 20" in few["why"]


def test_the_same_pair_gets_the_same_verdict_alone_or_in_any_batch(scripted):
    pairs = judge.reviewed_pairs([rs.REVIEWED])[:12]
    items = [(p.facts, p.first, p.second) for p in pairs]
    llm = scripted()  # the default scripted scores: a function of each prompt alone
    together = judge.judge_pairs(llm, items)
    alone = [judge.judge_pairs(llm, [it])[0] for it in items]
    order = list(range(len(items)))
    random.Random(7).shuffle(order)
    shuffled = judge.judge_pairs(llm, [items[i] for i in order])
    assert together == alone
    assert [shuffled[order.index(i)] for i in range(len(items))] == together


def test_a_service_that_cannot_score_is_refused_plainly():
    class NoScore:
        CAN_SCORE = False

    with pytest.raises(judge.JudgeError, match="cannot score"):
        judge.judge_pairs(NoScore(), [({}, "a", "b")])


# --- the stored measurement and the batch's gate ----------------------------------------------------

def _trusted_block(bias: float = 0.0) -> dict:
    return {"version": judge.VERSION, "bias": bias, "n": 40, "agreement": 0.85, "interval": (0.71, 0.93),
            "consistency": 0.9, "trusted": True, "why": "", "pairs_total": 80}


def test_a_measurement_is_stored_per_model_id_and_a_stale_one_is_not_used():
    assert judge.trusted("scripted")[0] is False and "not been measured" in judge.trusted("scripted")[1]
    judge.save_measurement("scripted", _trusted_block())
    assert judge.trusted("scripted") == (True, judge.trusted("scripted")[1])
    assert judge.measurement_for("other") is None
    judge.save_measurement("scripted", dict(_trusted_block(), agreement=0.7))
    assert judge.trusted("scripted")[0] is False
    judge.save_measurement("scripted", dict(_trusted_block(), version="j0-old"))
    assert judge.measurement_for("scripted") is None


def _accepted_text(p) -> str:
    return render_template(p).replace("A small stone village", "A small village of stone", 1)


def _batch(tmp_path, llm, cfg, places):
    store = Store(tmp_path / f"b{len(list(tmp_path.glob('b*.db')))}.db")
    try:
        s = BatchRunner(store, cfg, PromptLibrary(tmp_path / "prompts"), llm, prompt_name="rewrite").run(places)
        return s, {r["urn"]: r for r in store.batch_results(s.batch_id)}
    finally:
        store.close()


def test_the_batch_asks_a_trusted_judge_only_when_the_setting_is_on(tmp_path, scripted, small_places):
    ok = next(p for p in small_places if p.urn == U + "full-long")
    good = _accepted_text(ok)
    template = render_template(ok)
    prefers_template = oracle({" ".join(template.split())})
    llm = scripted(script={ok.urn: {"text": good}}, scorer=prefers_template)
    # Setting on, judge not measured: nothing asks it.
    s, rows = _batch(tmp_path, llm, Config(judge=True), small_places)
    assert rows[ok.urn]["source"] == "llm" and llm.scored == []
    assert "FLUX_LLM_JUDGE is on, but no judge was asked: the judge is not trusted" in s.notice
    # Measured and trusted, setting off: still nothing.
    judge.save_measurement("scripted", _trusted_block())
    _, rows = _batch(tmp_path, llm, Config(), small_places)
    assert rows[ok.urn]["source"] == "llm" and llm.scored == []
    # Trusted and on: the judge prefers the template, the place keeps it.
    s, rows = _batch(tmp_path, llm, Config(judge=True), small_places)
    r = rows[ok.urn]
    assert r["source"] == "template" and r["reason"] == judge.JUDGE_REASON and "prefers the template" in r["detail"]
    assert s.reasons.get(judge.JUDGE_REASON, 0) >= 1 and llm.scored
    # A judge preferring the model's text lets it through.
    llm.scorer = oracle({" ".join(good.split())})
    _, rows = _batch(tmp_path, llm, Config(judge=True), small_places)
    assert rows[ok.urn]["source"] == "llm" and rows[ok.urn]["text"] == good


def test_the_setting_reads_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLUX_LLM_JUDGE", "true")
    assert load_config(config_file=None).judge is True
    monkeypatch.setenv("FLUX_LLM_JUDGE", "perhaps")
    with pytest.raises(Exception, match="FLUX_LLM_JUDGE"):
        load_config(config_file=None)


# --- texture eval --judge ---------------------------------------------------------------------------

def _eval(*args, env_extra=None, home: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, TEXTURE_HOME=str(home), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "cli.main", "eval", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_eval_judge_prints_its_agreement_first_and_carries_a_json_block(tmp_path):
    home = tmp_path / "home"
    p = _eval("--judge", "anything", "--no-llm", "--sample", "2", "--reviewed", str(rs.REVIEWED),
              env_extra={"TEXTURE_SCRIPTED": "1"}, home=home)
    assert p.returncode == 0, p.stderr
    assert p.stdout.index("held-out half") < p.stdout.index("texture eval:")  # measured before the run
    assert "judge NOT trusted" in p.stdout
    p = _eval("--judge", "anything", "--no-llm", "--sample", "2", "--reviewed", str(rs.REVIEWED), "--json",
              env_extra={"TEXTURE_SCRIPTED": "1"}, home=home)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)["judge"]
    assert {"model", "n", "agreement", "interval", "consistency", "trusted", "verdicts"} <= set(j)
    assert j["model"] == "scripted" and j["n"] == 33 and j["trusted"] is False
    stored = json.loads((home / "judges.json").read_text())
    assert stored["scripted"]["n"] == 33 and stored["scripted"]["version"] == judge.VERSION


@pytest.mark.parametrize("value, says", [("", "give a model name"), ("no-such-model", "cannot be used")])
def test_a_bad_judge_value_is_a_clear_message(tmp_path, value, says):
    p = _eval("--judge", value, "--no-llm", "--sample", "1", home=tmp_path / "home")
    assert p.returncode != 0 and says in p.stderr and "Traceback" not in p.stderr


def test_a_bad_reviewed_path_is_a_clear_message(tmp_path):
    p = _eval("--judge", "x", "--no-llm", "--reviewed", str(tmp_path / "none.jsonl"),
              env_extra={"TEXTURE_SCRIPTED": "1"}, home=tmp_path / "home")
    assert p.returncode != 0 and "no such file" in p.stderr and "Traceback" not in p.stderr


# --- the real default model -------------------------------------------------------------------------

@pytest.mark.model
@pytest.mark.slow
def test_the_real_default_model_judges_deterministically():
    from conftest import real_model_path
    from engine.llm.service import start_service

    real_model = real_model_path()
    if real_model is None:
        pytest.skip("the default model is not imported (texture models pull)")

    pairs = judge.reviewed_pairs([rs.REVIEWED])[:4]
    items = [(p.facts, p.first, p.second) for p in pairs]
    llm = start_service(Config(model_path=str(real_model), concurrency=2))
    try:
        assert llm.wait_ready(300), llm.unavailable_reason()
        together = judge.ask(llm, items)
        alone = [judge.ask(llm, [it])[0] for it in reversed(items)][::-1]
        assert together == alone  # the same figures, to the last bit, alone or together
        j = judge.measure(llm, pairs, llm.model_id)
    finally:
        llm.shutdown()
    assert j["held_out"]["n"] + j["tuning"]["n"] == 4 and j["trusted"] is False
    text = judge.format_block(j)
    assert re.search(r"held-out half \(the figure that counts\)\s+\d+ of \d+\s+agree \((\d+ %|-)", text)
    assert re.search(r"position bias \(fitted on the tuning half\): [+-]\d+\.\d{3} nats", text)
    assert "judge NOT trusted: only" in text


def test_a_cheaper_measure_keeps_every_held_out_pair():
    pairs = judge.reviewed_pairs([rs.REVIEWED])
    few = judge.limit_tuning(pairs, 5)
    assert [p for p in few if judge.half(p.pair_id) == "held_out"] == [p for p in pairs if judge.half(p.pair_id) == "held_out"]
    assert sum(judge.half(p.pair_id) == "tuning" for p in few) == 5
    assert judge.limit_tuning(pairs, 5) == few and judge.limit_tuning(pairs, None) == pairs


def test_the_engine_scores_on_its_model_thread_between_requests():
    """The MLX path (a tiny random llama without the C decoder): log-probabilities that are the
    same alone, together, and while the engine decodes a job."""
    import math

    from engine.llm.generator import GenerationEngine, GenRequest
    from fakes import tiny_model, tiny_tokenizer

    def load():
        tok = tiny_tokenizer()[0]
        return tiny_model(len(tok), 0), tok, {"model_id": "tiny-random-llama"}

    eng = GenerationEngine(load, concurrency=2)
    eng.start()
    try:
        assert eng.wait_ready(60), eng.unavailable_reason()
        prompts = ["Which? Text A: mill. Text B: river.", "Which? Text A: river. Text B: mill."]
        together = eng.choice_logprobs(prompts, ["A", "B"])
        job = eng.submit([GenRequest(f"k{i}", "Describe a mill by the river.", i, 24) for i in range(4)])
        during = [eng.choice_logprobs([p], ["A", "B"])[0] for p in prompts]
        assert job.wait(60)
    finally:
        eng.shutdown()
    assert together == during
    assert all(set(d) == {"A", "B"} and all(v <= 0 and math.isfinite(v) for v in d.values()) for d in together)
