"""The per-sentence default (engine.compose): each rewritten sentence judged against the template
sentence it replaces, the template kept wherever a rewrite fails, the whole text gated; keys and
seeds per (place, candidate, sentence), so the text is the same alone and in any batch.
(The real model through this path, across processes and concurrency: tests/test_llm_e2e.py.)"""

from __future__ import annotations

import pytest

from engine.compose import (compose, example_echo, judge_sentence, sentence_budget, sentence_key, sentence_seed,
                            split_sentence_key)
from engine.config import Config
from engine.dispatch import BatchRunner, candidate_key, candidate_seed
from engine.evaluate import summarize
from engine.factcheck import check_facts
from engine.llm.scripted import ScriptedLLM
from engine.prompts import PromptLibrary
from engine.quality import parse_quality_json
from engine.store import Store
from engine.templates import render_template, template_sentences
from engine.world import Event, Resource, make_place

U = "urn:flux:place:testland:"
PLACE = make_place("urn:flux:place:dale:old-mill", "Old Mill", "A mill of grey stone sits beside a slow river.", 2.0,
                   "light rain", 8.0, [Resource("timber", 0.9), Resource("fresh water", 0.1)],
                   [Event("bandits", 0.8, "long", "Bandits raided the farms.")])
S = template_sentences(PLACE)
PROMPT = ("Rewrite the sentence in more vivid words.\n\nSentence: It is cold at the mill in a stiff breeze.\n"
          "Rewrite: A stiff, cold breeze drives light rain against the mill.\n\nSentence: {s}\nRewrite:")


def judge(j: int, text: str, **kw):
    return judge_sentence(PLACE, S[j], text, None, PROMPT.format(s=S[j]), **kw)


def test_template_sentences_join_to_the_template_for_the_whole_builtin_world():
    from engine.builtin_world import builtin_world

    counts = set()
    for p in builtin_world():
        ss = template_sentences(p)
        assert " ".join(ss) == render_template(p)
        counts.add(len(ss))
    assert counts == {3}  # every built-in base has a flavour sentence, kept when there is no news
    from engine.world import make_place

    one = make_place("urn:flux:place:v:x", "Old Mill", "A mill sits by a river.", 12.0, "light rain", 8.0, [], [])
    assert len(template_sentences(one)) == 2 and " ".join(template_sentences(one)) == render_template(one)


def test_keys_seeds_and_budgets():
    k = sentence_key(candidate_key(U + "a", 2), 1)
    assert split_sentence_key(k) == (candidate_key(U + "a", 2), 1)
    assert split_sentence_key(U + "a") == (U + "a", None)
    seeds = [sentence_seed(candidate_seed(77, c), j) for c in range(3) for j in range(3)]
    assert len(set(seeds)) == 9 and seeds == [sentence_seed(candidate_seed(77, c), j) for c in range(3) for j in range(3)]
    assert sentence_budget(120, 3) == 40 and sentence_budget(80, 3) == 32 and sentence_budget(20, 3) == 20


def test_a_faithful_rewrite_is_kept():
    weather = [i.fact for i in check_facts(PLACE, S[1]).items if i.status == "kept"]
    assert weather  # the weather sentence carries facts
    out = "Today, " + S[1][0].lower() + S[1][1:]
    assert judge(1, out).reason is None


@pytest.mark.parametrize("j,text,reason", [
    (0, None, "invalid:empty"),
    (1, "COPY", "invalid:unchanged"),
    (1, "The mill is quiet under a warm, cloudless sky today.", "invalid:facts"),  # drops and contradicts
    (0, "A mill of grey stone sits beside the slow river of Ashwood Tower.", "invalid:invented_names"),
    (0, "A mill of grey stone, a mill of grey stone, a mill of grey stone by the river.", "invalid:repetition"),
    (0, "Here is a revised version of the grey stone mill beside the slow river.", "invalid:scaffolding"),
    (0, "A mill of grey stone sits beside a slow river, and a stiff, cold breeze drives it.", "invalid:prompt_echo"),
    (0, "The people of the world are used to a harsh climate and long nights.", "invalid:quality"),  # content lost
    (0, "A mill of grey stone sits beside a slow river and the", "invalid:quality"),  # unfinished
])
def test_each_rule_has_its_reason(j, text, reason):
    text = S[j] if text == "COPY" else text
    got = judge(j, text)
    assert got.reason == reason, got
    if reason not in ("invalid:empty", "invalid:unchanged"):
        assert got.detail or reason == "invalid:prompt_echo" or got.text


def test_example_echo_ignores_words_the_sentence_has():
    assert example_echo("Light rain drives against the mill.", "Light rain drives against the mill.", PROMPT) == []
    assert example_echo("A cold breeze drives light rain against the mill.", S[0], PROMPT.format(s=S[0]))


def test_the_gate_off_keeps_any_valid_changed_sentence():
    bad = "The mill is quiet under a warm, cloudless sky today."
    assert judge(1, bad).reason == "invalid:facts" and judge(1, bad, gate=False).reason is None
    assert judge(1, S[1], gate=False).reason == "invalid:unchanged"


def test_compose_keeps_the_template_where_a_rewrite_failed_and_says_why():
    good = S[0].replace("sits", "stands")
    judged = {(0, 0): judge(0, good), (1, 0): judge(1, "The mill is quiet under a warm, cloudless sky today."),
              (2, 0): judge(2, S[2])}
    c = compose(PLACE, S, judged)
    assert c.text == " ".join([good, S[1], S[2]]) and c.model_sentences == (0,) and c.reason is None
    assert "model wrote sentence(s) 1 of 3" in c.detail and "sentence 2 kept from the template (facts" in c.detail
    # Best of N: the first valid candidate of each sentence (lowest k).
    judged[(1, 1)] = judge(1, "Today, " + S[1][0].lower() + S[1][1:])
    judged[(0, 1)] = judge(0, S[0].replace("sits", "waits"))
    c2 = compose(PLACE, S, judged)
    assert c2.chosen_k == (0, 1, None) and c2.model_sentences == (0, 1)
    # Nothing kept: the most serious reason; one engine error said once.
    none = compose(PLACE, S, {(0, 0): judge(0, "A mill of [bold]grey stone[/bold] beside a slow river."), (1, 0): judge(1, S[1]),
                              (2, 0): judge(2, S[2])})
    assert none.reason == "invalid:markup" and none.model_sentences == ()
    err = compose(PLACE, S, {(j, 0): judge_sentence(PLACE, S[j], None, "error", "", "boom") for j in range(3)})
    assert err.reason == "error" and err.detail == "boom"


@pytest.fixture
def parts(tmp_path):
    made = []

    def llm(**kw):
        m = ScriptedLLM(**kw)
        made.append(m)
        return m

    yield PromptLibrary(tmp_path / "prompts"), llm
    for m in made:
        m.shutdown()


def _run(path, prompts, llm, places, cfg=None):
    store = Store(path)
    try:
        s = BatchRunner(store, cfg or Config(), prompts, llm).run(places)
        return s, {r["urn"]: r for r in store.batch_results(s.batch_id)}
    finally:
        store.close()


def test_batch_with_the_default_prompt_sends_one_request_per_sentence_and_stores_the_composition(tmp_path, parts,
                                                                                                small_places):
    prompts, llm = parts
    assert prompts.get().per_sentence
    svc = llm()
    summary, rows = _run(tmp_path / "a.db", prompts, svc, small_places)
    by = {p.urn: p for p in small_places}
    llm_rows = [r for r in rows.values() if r["source"] == "llm"]
    assert llm_rows  # the scripted model retells each sentence ("Even now, ...")
    for r in llm_rows:
        p = by[r["urn"]]
        q = parse_quality_json(r["quality_json"])
        m, n = q["sentences"]
        assert n == len(template_sentences(p)) and 1 <= m <= n and "model wrote sentence(s)" in r["detail"]
        assert q["raw"] is not None and r["text"] != r["template_text"]
        # Every fact the template kept, the stored text keeps.
        tk = {i.fact for i in check_facts(p, r["template_text"]).items if i.status == "kept"}
        assert tk <= {i.fact for i in check_facts(p, r["text"]).items if i.status == "kept"}
    rep = summarize(list(rows.values()), sum(1 for r in rows.values() if r["budget"]), 1.0)
    assert rep["model_sentence_share"] is not None and 0 < rep["model_sentence_share"] <= 1


def test_a_scripted_place_text_is_split_into_its_sentence_requests(tmp_path, parts, small_places):
    prompts, llm = parts
    target = next(p for p in small_places if p.urn == U + "full-long")
    ts = template_sentences(target)
    script = {target.urn: {"text": f"{ts[0].replace(' sits', ' still sits')} The town basks in warm sunlight "
                                   f"under a cloudless sky today."}}
    _, rows = _run(tmp_path / "a.db", prompts, llm(script=script), small_places)
    r = rows[target.urn]
    assert r["source"] == "llm" and r["text"].startswith(ts[0].replace(" sits", " still sits"))
    assert ts[1] in r["text"]  # the contradicting weather sentence: the template's kept
    assert "sentence 2 kept from the template (facts" in r["detail"]


@pytest.mark.parametrize("candidates", [1, 3])
def test_same_text_alone_and_in_a_batch(tmp_path, parts, small_places, candidates):
    prompts, llm = parts
    cfg = Config(candidates=candidates)
    target = next(p for p in small_places if p.urn == U + "premium-permanent")
    _, ra = _run(tmp_path / "a.db", prompts, llm(concurrency=1), [target], cfg)
    _, rb = _run(tmp_path / "b.db", prompts, llm(concurrency=4), small_places[::-1], cfg)
    a, b = ra[target.urn], rb[target.urn]
    assert (a["text"], a["llm_text"], a["detail"], a["tokens"], a["quality"]) == (
        b["text"], b["llm_text"], b["detail"], b["tokens"], b["quality"])
