"""The quality score (engine.quality): each component, the merge gate's reasons, storage, the
batch metrics, best-of-N through the dispatcher, and `texture eval` on a small world."""

from __future__ import annotations

import json

import pytest

from cli import main as cli
from engine.config import Config, load_config
from engine.dispatch import BatchRunner, candidate_key, candidate_seed, split_candidate_key
from engine.llm.scripted import ScriptedLLM
from engine.prompts import PromptLibrary
from engine.quality import (QualityReport, gate, invented_names, parse_quality_json, repeated_ngrams,
                            score_text, sentence_count)
from engine.store import MIGRATIONS, Store
from engine.templates import render_template
from engine.world import parse_place

# Tests that script whole texts per place run the whole-text rewrite prompt (a shipped
# alternative); the per-sentence default (engine.compose) is tested in tests/test_compose.py.
WHOLE = "rewrite"

U = "urn:flux:place:testland:"


def place(**over):
    d = {
        "urn": "urn:flux:place:north:ashford-mill",
        "name": "Ashford Mill",
        "description": {"base": "A mill of grey stone stands by the Wend river. Millers work late."},
        "weather": {"temperature": -8, "conditions": "blizzard", "windSpeed": 30},
        "resources": [{"type": "timber", "abundance": 0.9}, {"type": "grain", "abundance": 0.1}],
        "events": [{"type": "raid", "significance": 0.8, "term": "long", "summary": "Bandits from Harrow burned the granary."},
                   {"type": "festival", "significance": 0.4, "term": "medium", "summary": "A small fair came and went."}],
    }
    d.update(over)
    return parse_place(d)


GOOD = ("Ashford Mill shivers in a freezing blizzard as strong winds howl off the Wend river. "
        "Timber is plentiful, but grain is scarce since bandits from Harrow burned the granary.")


# --- components ---------------------------------------------------------------------------------

def test_a_faithful_text_scores_high_and_every_component_is_visible():
    r = score_text(place(), GOOD)
    assert r.total >= 0.9 and r.contradicted == 0 and r.coverage >= 0.8
    d = r.as_dict()
    for k in ("total", "facts", "repetition", "names", "sentences", "length", "scaffolding", "coverage", "kept",
              "dropped", "contradicted", "dropped_facts", "contradicted_facts", "repeated_4grams", "loop",
              "invented_names", "sentence_count", "chars", "scaffolding_found"):
        assert k in d
    assert QualityReport.from_dict(json.loads(json.dumps(d))).as_dict() == d
    assert score_text(place(), GOOD) == r  # deterministic


def test_templates_score_high():
    p = place()
    r = score_text(p, render_template(p))
    assert r.total >= 0.9 and gate(p, r, 0.8).ok


def test_facts_component_counts_dropped_and_contradicted():
    p = place()
    warm = "Ashford Mill basks in warm sunlight under a cloudless sky. Timber is plentiful by the Wend river."
    r = score_text(p, warm)
    assert r.contradicted >= 2  # temperature and conditions
    assert any(f.startswith("conditions") for f in r.contradicted_facts)
    assert r.facts < score_text(p, GOOD).facts
    quiet = "Ashford Mill stands by the river. Millers work late into the night."
    r2 = score_text(p, quiet)
    assert r2.contradicted == 0 and r2.dropped >= 4 and r2.facts <= 0.2


def test_repetition_component():
    grams, loop = repeated_ngrams("the dream is a dream that is left and the dream is a dream again")
    assert "the dream is a" in grams and not loop
    grams, loop = repeated_ngrams("a long dream a long dream a long dream of snow")
    assert loop
    assert repeated_ngrams(GOOD) == ([], False)
    r = score_text(place(), GOOD + " The storm is on the hill and the storm is on the hill.")
    assert r.repetition < 1.0 and r.repeated_4grams


def test_invented_names_component():
    p = place()
    assert invented_names(p, GOOD) == []  # Ashford Mill, Wend, Harrow are the place's own words
    text = "Snow buries Ashford Mill near the ancient fortress of Ashwood Tower. Timber is plentiful."
    assert invented_names(p, text) == ["Ashwood Tower"]
    # A sentence-initial word is not a name unless it looks like one.
    assert invented_names(p, "Snow falls. Cold bites. Timber is plentiful.") == []
    assert invented_names(p, "Snow falls on Kelby. Kelby sleeps.") == ["Kelby"]
    assert score_text(p, text).names < 1.0


def test_sentences_and_length_components():
    assert sentence_count("One. Two! Three?") == 3
    assert sentence_count("One. Two and then a fragment without end") == 2
    p = place()
    assert score_text(p, "Snow.").sentences == 0.5 and score_text(p, "Snow.").length < 1.0
    five = " ".join(["The blizzard howls over Ashford Mill."] * 5)
    assert score_text(p, five).sentences == 0.0
    assert score_text(p, "x " * 400).length == 0.0


def test_scaffolding_component():
    p = place()
    for bad in ("Here's a revised version of the description: snow falls on the mill.",
                "Snow falls on the mill. This description aims to capture the cold.",
                "Enhanced description: snow falls on the mill."):
        r = score_text(p, bad)
        assert r.scaffolding == 0.0 and r.scaffolding_found, bad
    assert score_text(p, GOOD).scaffolding == 1.0


def test_score_never_raises_on_odd_text():
    p = place()
    for t in ("", None, "\x1b[31m[b]red[/b]", "\ud800 lone surrogate", "é" * 100_000, "A. " * 5000):
        r = score_text(p, t)
        assert 0.0 <= r.total <= 1.0


# --- the gate -------------------------------------------------------------------------------

def test_gate_reasons():
    p = place()
    assert gate(p, score_text(p, GOOD), 0.8).ok
    g = gate(p, score_text(p, "Ashford Mill basks in warm sunlight. Timber is plentiful; bandits from Harrow raided it."), 0.8)
    assert g.reason == "invalid:facts" and "contradicted" in g.detail and "temperature" in g.detail
    g = gate(p, score_text(p, "Cold strong winds hit Ashford Mill. Bandits from Harrow burned the granary."), 0.8)
    assert g.reason == "invalid:facts" and "dropped conditions 'blizzard'" in g.detail
    g = gate(p, score_text(p, "A freezing blizzard and strong winds hit Ashford Mill. Bandits raided it."
                               " The blizzard is on the hill and the blizzard is on the hill."), 0.8)
    assert g.reason == "invalid:repetition"
    g = gate(p, score_text(p, GOOD.replace("the Wend river", "the Castle of Varn")), 0.8)
    assert g.reason == "invalid:invented_names" and "Varn" in g.detail
    g = gate(p, score_text(p, "Here is a revised version: " + GOOD), 0.8)
    assert g.reason == "invalid:scaffolding"
    g = gate(p, score_text(p, GOOD), 0.99)
    assert g.reason == "invalid:quality" and "0.99" in g.detail


# --- storage and the batch ------------------------------------------------------------------

def test_migration_7_adds_the_quality_columns(tmp_path):
    s = Store(tmp_path / "q.db")
    assert (7, "quality") in [(m, n) for m, n, _ in MIGRATIONS]
    cols = {c.name: c.type for c in s.db["results"].columns}
    assert {cols["quality"], cols["template_quality"], cols["llm_quality"]} <= {"REAL", "FLOAT"}
    assert cols["quality_json"] == "TEXT"
    s.close()


@pytest.fixture
def runner_parts(tmp_path):
    store = Store(tmp_path / "t.db")
    prompts = PromptLibrary(tmp_path / "prompts")
    made = []

    def llm(**kw):
        m = ScriptedLLM(**kw)
        made.append(m)
        return m

    yield store, prompts, llm
    for m in made:
        m.shutdown()
    store.close()


def test_batch_stores_quality_and_gate_reasons(runner_parts, small_places):
    store, prompts, llm = runner_parts
    bad = "The town basks in warm sunlight under a cloudless sky, and nobody remembers anything."
    svc = llm(script={U + "full-long": {"text": bad}})
    summary = BatchRunner(store, Config(), prompts, svc, prompt_name=WHOLE).run(small_places)
    rows = {r["urn"]: r for r in store.batch_results(summary.batch_id)}
    for r in rows.values():
        q = parse_quality_json(r["quality_json"])
        assert q is not None and r["template_quality"] == q["template"].total
        assert r["quality"] == (r["llm_quality"] if r["source"] == "llm" else r["template_quality"])
    r = rows[U + "full-long"]
    assert r["source"] == "template" and r["reason"] == "invalid:facts" and "contradicted" in r["detail"]
    assert r["llm_quality"] is not None and r["llm_quality"] < r["template_quality"]
    assert rows[U + "premium-permanent"]["source"] == "llm"  # the scripted model keeps the facts
    m = summary.metrics
    assert m["average_quality"] is not None and 0 < m["average_quality"] <= 1
    assert m["llm_average_quality"] is not None and m["template_average_quality"] is not None
    # The gate off: validation only.
    s2 = BatchRunner(store, Config(quality_gate=False), prompts, svc, prompt_name=WHOLE).run(small_places)
    r2 = {r["urn"]: r for r in store.batch_results(s2.batch_id)}
    assert r2[U + "full-long"]["source"] == "llm"


def test_candidate_keys_and_seeds():
    assert candidate_key("urn:a", 0) == "urn:a" and split_candidate_key("urn:a") == ("urn:a", 0)
    assert split_candidate_key(candidate_key("urn:a", 3)) == ("urn:a", 3)
    assert candidate_seed(77, 0) == 77
    seeds = [candidate_seed(77, k) for k in range(8)]
    assert len(set(seeds)) == 8 and seeds == [candidate_seed(77, k) for k in range(8)]


def test_best_of_n_same_winner_alone_and_in_a_batch(tmp_path, runner_parts, small_places):
    _store, prompts, llm = runner_parts
    cfg = Config(candidates=3)
    target = small_places[3]  # premium-permanent
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    sa = BatchRunner(a, cfg, prompts, llm(concurrency=1), prompt_name=WHOLE).run([target])
    sb = BatchRunner(b, cfg, prompts, llm(concurrency=4), prompt_name=WHOLE).run(small_places[::-1])
    ra = {r["urn"]: r for r in a.batch_results(sa.batch_id)}[target.urn]
    rb = {r["urn"]: r for r in b.batch_results(sb.batch_id)}[target.urn]
    assert ra["text"] == rb["text"] and ra["detail"] == rb["detail"] and "of 3" in ra["detail"]
    assert ra["tokens"] == rb["tokens"] and ra["quality"] == rb["quality"]
    # The winner is the best-scoring candidate (ties by k) of the three.
    from engine.llm.scripted import scripted_text
    from engine.quality import score_text as st
    from engine.validate import clean_output

    prompt = prompts.get(WHOLE).render(target, ra["tier"])
    scores = [st(target, clean_output(scripted_text(prompt, candidate_seed(target.seed, k)))).total for k in range(3)]
    best = max(range(3), key=lambda k: (scores[k], -k))
    assert ra["detail"].startswith(f"candidate {best} of 3")
    a.close(), b.close()


def test_cached_result_is_gated_again(runner_parts, small_places):
    store, prompts, llm = runner_parts
    bad = "The town basks in warm sunlight under a cloudless sky, and nobody remembers anything."
    svc = llm(script={U + "full-long": {"text": bad}})
    s1 = BatchRunner(store, Config(quality_gate=False), prompts, svc, prompt_name=WHOLE).run(small_places)
    assert {r["urn"]: r for r in store.batch_results(s1.batch_id)}[U + "full-long"]["source"] == "llm"
    s = BatchRunner(store, Config(), prompts, svc, prompt_name=WHOLE).run(small_places)
    r = {r["urn"]: r for r in store.batch_results(s.batch_id)}[U + "full-long"]
    assert r["source"] == "template" and r["reason"] == "invalid:facts" and "cached result" in r["detail"]


# --- config and the CLI ---------------------------------------------------------------------

def test_min_quality_and_candidates_config(tmp_path):
    cfg = load_config(env={"FLUX_LLM_MIN_QUALITY": "0.7", "FLUX_LLM_CANDIDATES": "2"})
    assert cfg.min_quality == 0.7 and cfg.candidates == 2
    f = tmp_path / "texture.toml"
    f.write_text("[llm]\nmin_quality = 0.6\n", encoding="utf-8")
    assert load_config(env={}, config_file=f).min_quality == 0.6
    with pytest.raises(Exception, match="FLUX_LLM_MIN_QUALITY"):
        load_config(env={"FLUX_LLM_MIN_QUALITY": "2"})
    with pytest.raises(Exception, match="FLUX_LLM_CANDIDATES"):
        load_config(env={"FLUX_LLM_CANDIDATES": "0"})


def _texture(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_batch_json_and_export_have_quality(capsys, small_world, monkeypatch):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    rc, out, _ = _texture(capsys, "batch", "--world", str(small_world), "--json", "--min-quality", "0.5")
    assert rc == 0
    d = json.loads(out)
    assert d["quality"]["average_quality"] is not None and d["metrics"]["average_quality"] == d["quality"]["average_quality"]
    rc, out, _ = _texture(capsys, "export")
    rows = [json.loads(x) for x in out.splitlines()]
    assert rows and all(isinstance(r["quality"], float) for r in rows)


def test_eval_on_a_small_world(capsys, small_world, monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    out_file = tmp_path / "eval.json"
    rc, out, err = _texture(capsys, "eval", "--world", str(small_world), "--json", "--output", str(out_file))
    assert rc == 0, err
    d = json.loads(out)
    assert json.loads(out_file.read_text()) == d
    assert d["sample"] == 3  # the small world's eligible places
    for block in ("template", "llm_raw", "llm_accepted"):
        for k in ("fact_coverage", "contradicted", "repeated_4gram_rate", "invented_names_rate", "mean_quality",
                  "sentences_2_3_rate", "mean_length"):
            assert k in d[block]
    assert d["template"]["n"] == 3 and d["llm_raw"]["n"] == 3
    assert 0 <= d["acceptance_rate"] <= 1 and d["tokens_per_description"] > 0
    assert d["llm_accepted"]["contradicted"] == 0
    # Production untouched: eval wrote to a scratch database only.
    rc, out, err = _texture(capsys, "export")
    assert out == ""
    # --compare: two configurations in one run; the text report names both.
    rc, out, err = _texture(capsys, "eval", "--world", str(small_world), "--compare", "before", "gate:min_quality=0.9")
    assert rc == 0, err
    assert "[before]" in out and "[gate]" in out and "acceptance rate" in out
    rc, out, err = _texture(capsys, "eval", "--world", str(small_world), "--compare", "before", "nope=1")
    assert rc == 2 and "unknown setting 'nope'" in err
