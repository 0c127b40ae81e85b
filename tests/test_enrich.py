"""Generation modes (engine.prompts directives), enrich (engine.enrich: the template as it is plus
one checked sentence), and the review-driven choice of mode (engine.enhance). The same state
gives the same text and verdict alone or in any batch, with a scripted model and the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import enhance
from engine.config import Config, ConfigError, load_config
from engine.dispatch import BatchRunner, candidate_key
from engine.enrich import check_sentence, enrich, insert_sentence, judge_enrich, weather_words
from engine.llm.scripted import ScriptedLLM
from engine.prompts import PromptError, PromptLibrary, compile_prompt
from engine.store import Store
from engine.templates import render_template, template_sentences
from engine.world import Event, Resource, make_place

ROOT = Path(__file__).resolve().parents[1]
MILL = make_place("urn:flux:place:dale:old-mill", "Old Mill", "A mill of grey stone sits beside a slow river. The miller is deaf.",
                  4.0, "light rain", 8.0, [Resource("timber", 0.9), Resource("fresh water", 0.1)],
                  [Event("raid", 0.85, "long", "Bandits raided the farms.")])
GOOD = "Water drips from the mossy eaves, and the wheel groans as it turns."


# --- the sentence's own check ------------------------------------------------------------------

def test_a_grounded_sentence_passes_and_is_inserted_after_the_weather():
    assert check_sentence(MILL, GOOD).ok
    s = template_sentences(MILL)
    text = insert_sentence(MILL, GOOD)
    assert text == " ".join([s[0], s[1], GOOD, *s[2:]])
    # The template's own words are all there, unchanged, in order.
    assert text.replace(GOOD + " ", "") == render_template(MILL)


@pytest.mark.parametrize("sentence, reason", [
    ("", "invalid:empty"),
    ("Note: the wheel groans as it turns in the race.", "invalid:scaffolding"),
    ("The wheel groans. Water drips from the eaves above.", "invalid:sentences"),
    ("The wheel groans as it turns in the race", "invalid:sentences"),
    ("The wheel groans loudly.", "invalid:length"),
    ("A wheel of old wood and a race of cold brown water beside grey stone walls.", "invalid:fragment"),
    ("Smoke rising from the chimneys of the mill into the grey sky.", "invalid:fragment"),
    ("Three ducks paddle slowly past the groaning wheel today.", "invalid:numbers"),
    ("You can hear the wheel groan as it turns in the race.", "invalid:person"),
    ("Old Tom the carter whistles as he waits by the door.", "invalid:invented_names"),
    ("Bright sunshine glints on the wheel as it turns slowly.", "invalid:weather"),
    ("The sweltering heat makes the wheel creak as it turns.", "invalid:weather"),
    ("Long shadows stretch across the yard behind the wheel.", "invalid:weather"),
    ("Water runs off the roof, creating a pool by the mill door.", "invalid:cliche"),
    ("The wheel groans as it turns, a testament to patient hands.", "invalid:cliche"),
    ("Stacks of timber lean against the wall as the wheel turns.", "invalid:repeats_template"),
    ("Men still whisper about the bandits as the wheel turns.", "invalid:repeats_template"),
    ("Is the wheel turning in the cold rain of the evening?", "invalid:sentences"),
    ("The wheel turns and turns and turns and turns and turns all day.", "invalid:repetition"),
])
def test_each_rule_has_its_reason(sentence, reason):
    got = check_sentence(MILL, sentence)
    assert not got.ok and got.reason == reason, got


def test_a_phrase_from_the_prompts_example_is_refused():
    prompt = "Place: a square of brick\nSentence: Dust hangs over the quiet stalls in the heat.\n\nPlace: " + MILL.base
    got = check_sentence(MILL, "Dust hangs over the quiet stalls beside the slow mill wheel.", None, prompt)
    assert got.reason == "invalid:prompt_echo"


def test_the_template_content_rule_allows_the_bases_own_words():
    # "river" and "stone" are the base's words, never the supplies or news.
    assert check_sentence(MILL, "The slow river slaps against the grey stone of the race.").ok


def test_weather_words_are_plain_words_without_numbers():
    assert weather_words(MILL) == "light rain, cold, a light breeze"


def test_judge_enrich_accepts_then_gates_and_says_what_was_added():
    reason, detail, text, lq = judge_enrich(MILL, " " + GOOD + " And then more.", "", Config())
    assert reason is None and text == insert_sentence(MILL, GOOD) and GOOD in detail and lq is not None
    reason, detail, text, _ = judge_enrich(MILL, "Sunshine floods the yard of the mill today.", "", Config())
    assert reason == "invalid:weather" and text is None and "Sunshine floods" in detail
    assert enrich(MILL, GOOD).text == insert_sentence(MILL, GOOD)


def test_the_check_is_pure():
    assert [check_sentence(MILL, GOOD) for _ in range(3)] == [check_sentence(MILL, GOOD)] * 3


# --- modes in prompt files --------------------------------------------------------------------

def test_prompt_modes_and_directives():
    assert compile_prompt("Rewrite: ${sentence}").mode == "sentence"
    assert compile_prompt("Rewrite: ${template}").mode == "rewrite"
    p = compile_prompt("#mode: enrich\n#temperature: 0.3\n#candidates: 4\nPlace: ${setting}\nSentence:")
    assert (p.mode, p.temperature, p.candidates) == ("enrich", 0.3, 4)
    assert p.render(MILL) == f"Place: {template_sentences(MILL)[0]}\nSentence:"


@pytest.mark.parametrize("text, line, what", [
    ("#mode: poem\nX ${template}", 1, "#mode: 'poem' is not valid"),
    ("#mode: enrich\n#temperature: hot\nX ${template}", 2, "#temperature: 'hot'"),
    ("#candidates: 9\nX ${template}", 1, "#candidates: '9'"),
    ("#colour: red\nX ${template}", 1, "unknown directive 'colour'"),
    ("#mode: sentence\nX ${template}", 1, "needs a ${sentence}"),
    ("#mode: enrich\nX ${sentence}", 1, "cannot use ${sentence}"),
    ("#mode: enrich\n", 1, "no prompt"),
])
def test_bad_directives_name_the_line(text, line, what):
    with pytest.raises(PromptError) as e:
        compile_prompt(text, "f.prompt")
    assert e.value.line == line and what in e.value.message


def test_shipped_prompts_have_their_modes(tmp_path):
    lib = PromptLibrary(tmp_path / "prompts")
    assert (lib.get("texture").mode, lib.get("rewrite").mode, lib.get("enrich").mode) == ("sentence", "rewrite", "enrich")


# --- the choice of mode by blind review -------------------------------------------------------

def test_config_enhance_setting():
    assert Config().enhance == "auto"
    assert load_config(env={"FLUX_LLM_ENHANCE": "Enrich"}).enhance == "enrich"
    with pytest.raises(ConfigError, match="FLUX_LLM_ENHANCE='loud'"):
        load_config(env={"FLUX_LLM_ENHANCE": "loud"})


def test_reviews_that_lose_keep_the_templates_and_say_so(monkeypatch):
    monkeypatch.setattr(enhance, "REVIEWED", {"tiny": {enhance.DEFAULT_MODE: {"n": 40, "llm": 10, "same": 2,
                                                                             "template": 28, "low": 9}}})
    d = enhance.decide("auto", "tiny-model@q8")
    assert d.off and d.source == "reviews"
    assert "lose to the templates in blind review" in d.sentence and "templates are kept" in d.sentence
    assert "12 of 40" in d.sentence
    # Another mode that passes is taken instead.
    other = next(m for m in enhance.MODES if m != enhance.DEFAULT_MODE)
    good = {"n": 30, "llm": 20, "same": 6, "template": 4, "low": 1}
    stored = {("tiny", other): enhance.ReviewSummary(30, 20, 6, 4, 1)}
    d2 = enhance.decide("auto", "tiny-model@q8", stored)
    assert d2.mode == other and d2.source == "reviews" and not d2.off
    assert enhance.passes(enhance.ReviewSummary(**good)) is True
    # An explicit setting is obeyed, with the warning.
    d3 = enhance.decide(enhance.DEFAULT_MODE, "tiny-model@q8")
    assert d3.mode == enhance.DEFAULT_MODE and "lose to the templates" in d3.sentence
    assert enhance.decide("off", "anything").off
    # Unreviewed models and too few reviews: the default mode, said plainly.
    assert "not blind-reviewed yet" in enhance.decide("auto", "other").sentence
    few = {("other", enhance.DEFAULT_MODE): enhance.ReviewSummary(3, 0, 0, 3, 3)}
    assert enhance.decide("auto", "other", few).mode == enhance.DEFAULT_MODE


def test_stored_review_records_are_summarized(tmp_path):
    f = tmp_path / "reviews" / "r.jsonl"
    f.parent.mkdir()
    rows = ([{"model": "tiny", "mode": "enrich", "ship": "llm", "score_llm": 4}] * 8
            + [{"model": "tiny", "mode": "enrich", "ship": "template", "score_llm": 2}] * 2)
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n", encoding="utf-8")
    s = enhance.stored_reviews(tmp_path / "reviews")[("tiny", "enrich")]
    assert (s.n, s.llm, s.template, s.low) == (10, 8, 2, 2)
    assert s.shipped_or_tied == 0.8 and enhance.passes(s) is False  # 20 % scored <= 2


# --- batches with a scripted model ------------------------------------------------------------

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


def _run(path, prompts, llm, places, cfg=None, prompt_name="texture"):
    store = Store(path)
    try:
        s = BatchRunner(store, cfg or Config(enhance="enrich"), prompts, llm, prompt_name=prompt_name).run(places)
        return s, {r["urn"]: r for r in store.batch_results(s.batch_id)}
    finally:
        store.close()


def _script(places, k: int = 0):
    sents = ["Water drips from the eaves, and the lane smells of wet stone.",
             "Pigeons shuffle along the gutters above the empty doorways.",
             "Sunshine floods the square in a golden blaze today, I think."]
    return {candidate_key(p.urn, k): {"text": sents[i % 3]} for i, p in enumerate(places)}


def test_enrich_batch_stores_the_template_plus_the_sentence(tmp_path, parts, small_places):
    prompts, llm = parts
    svc = llm(script=_script(small_places))
    summary, rows = _run(tmp_path / "a.db", prompts, svc, small_places)
    eligible = [r for r in rows.values() if r["budget"]]
    assert eligible
    for r in eligible:
        tmpl = r["template_text"]
        if r["source"] == "llm":
            added = r["text"].replace(tmpl, "")
            assert all(s in r["text"] for s in tmpl.split(". ")), r  # the template's sentences, unchanged
            assert len(r["text"]) > len(tmpl) and "added: '" in r["detail"]
        else:
            assert r["text"] == tmpl and r["reason"].startswith("invalid:"), r
    # Requests were short single-sentence requests.
    assert all(r["budget"] > 0 for r in eligible)


@pytest.mark.parametrize("candidates", [1, 3])
def test_enrich_same_text_and_verdict_alone_and_in_a_batch(tmp_path, parts, small_places, candidates):
    prompts, llm = parts
    cfg = Config(enhance="enrich", candidates=candidates)
    target = next(p for p in small_places if p.urn.endswith("premium-permanent"))
    _, ra = _run(tmp_path / "a.db", prompts, llm(concurrency=1), [target], cfg)
    _, rb = _run(tmp_path / "b.db", prompts, llm(concurrency=4), small_places[::-1], cfg)
    a, b = ra[target.urn], rb[target.urn]
    assert (a["source"], a["text"], a["llm_text"], a["reason"], a["detail"], a["quality"]) == (
        b["source"], b["text"], b["llm_text"], b["reason"], b["detail"], b["quality"])


def test_best_of_n_takes_an_accepted_candidate(tmp_path, parts, small_places):
    prompts, llm = parts
    target = next(p for p in small_places if p.urn.endswith("premium-permanent"))
    script = {candidate_key(target.urn, 0): {"text": "Sunshine floods the lane today, I think."},
              candidate_key(target.urn, 1): {"text": "A dog barks twice at the shuttered doors along the lane."},
              candidate_key(target.urn, 2): {"text": "Crows squabble on the ridge of the old roofs as dusk comes."}}
    _, rows = _run(tmp_path / "a.db", prompts, llm(script=script), [target], Config(enhance="enrich", candidates=3))
    r = rows[target.urn]
    # Candidate 0 is refused (weather, person); one of the two accepted ones is kept.
    assert r["source"] == "llm" and ("candidate 1 of 3" in r["detail"] or "candidate 2 of 3" in r["detail"]), r


def test_a_prompt_files_temperature_and_candidates_apply_to_its_batches(tmp_path, parts, small_places):
    prompts, llm = parts
    (prompts.folder / "enrich.prompt").write_text("#mode: enrich\n#candidates: 2\n#temperature: 0.2\n"
                                                  "Place: ${setting}\nWeather: ${weather_words}\nSentence:",
                                                  encoding="utf-8")
    prompts.reload_all()
    store = Store(tmp_path / "c.db")
    try:
        runner = BatchRunner(store, Config(enhance="enrich"), prompts, llm())
        s = runner.run(small_places)
        assert (runner.cfg.candidates, runner.cfg.temperature) == (2, 0.2)
        assert any("of 2" in (r["detail"] or "") for r in store.batch_results(s.batch_id))
    finally:
        store.close()


def test_enhance_off_keeps_every_template_and_says_why(tmp_path, parts, small_places, monkeypatch):
    prompts, llm = parts
    monkeypatch.setattr(enhance, "REVIEWED", {"scripted": {enhance.DEFAULT_MODE: {"n": 50, "llm": 1, "same": 2,
                                                                                 "template": 47, "low": 30}}})
    summary, rows = _run(tmp_path / "a.db", prompts, llm(), small_places, Config())
    assert all(r["source"] == "template" for r in rows.values())
    assert {r["reason"] for r in rows.values() if r["budget"] or r["reason"] == "enhance_off"} <= {"enhance_off"}
    assert "lose to the templates in blind review" in summary.notice


# --- the real default model -------------------------------------------------------------------

def _real_model() -> Path | None:
    from engine.llm.models import DEFAULT_MODEL, models_dir

    p = models_dir() / DEFAULT_MODEL
    return p if (p / "config.json").exists() else None


@pytest.mark.model
@pytest.mark.slow
def test_real_model_enrich_same_text_and_verdict_alone_and_in_a_batch(tmp_path):
    path = _real_model()
    if path is None:
        pytest.skip("real model not imported yet (texture models pull)")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--real-child", str(path), str(tmp_path)],
                         capture_output=True, text=True, timeout=900, cwd=str(ROOT),
                         env={**{k: v for k, v in os.environ.items() if not k.startswith("FLUX_")},
                              "PYTHONPATH": str(ROOT), "TEXTURE_HOME": str(tmp_path / "home")})
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["alone"] == got["batched"], got
    assert got["n"] >= 1 and got["modes"] == ["enrich"]
    for row in got["alone"].values():
        src, text, template = row[0], row[1], row[3]
        if src == "llm":  # the template is all there, plus one sentence
            assert all(s in text for s in row[4]) and len(text) > len(template)
        else:
            assert text == template


def _real_child(path: str, work: str) -> None:
    from engine.builtin_world import builtin_world
    from engine.llm.service import start_service
    from engine.policy import decide

    cfg = load_config(env={}, overrides={"FLUX_LLM_MODEL_PATH": path, "FLUX_LLM_ENHANCE": "enrich",
                                         "FLUX_LLM_CONCURRENCY": "3", "FLUX_LLM_TIMEOUT": "600000"})
    places = [p for p in builtin_world() if decide(p, cfg).tier == "premium"][:4]
    lib = PromptLibrary(Path(work) / "prompts")
    llm = start_service(cfg, log=lambda m: None)
    llm.wait_ready()
    res = {}
    try:
        for label, groups in (("alone", [[p] for p in places]), ("batched", [places[::-1]])):
            store = Store(Path(work) / f"{label}.db")
            got = {}
            for g in groups:
                s = BatchRunner(store, cfg, lib, llm).run(g)
                for r in store.batch_results(s.batch_id):
                    got[r["urn"]] = [r["source"], r["text"], r["reason"], r["template_text"]]
            store.close()
            res[label] = got
    finally:
        llm.shutdown()
    by = {p.urn: p for p in places}
    for u, row in res["alone"].items():
        row.append(list(template_sentences(by[u])))
    for u, row in res["batched"].items():
        row.append(list(template_sentences(by[u])))
    print(json.dumps({"alone": res["alone"], "batched": res["batched"], "n": len(places),
                      "modes": sorted({lib.get("enrich").mode})}))


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--real-child":
    _real_child(sys.argv[2], sys.argv[3])
