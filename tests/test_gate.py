"""The reading gate (engine.gate): every rule on its own, the reviewed pairs as a regression set,
templates never refused, determinism alone and in any batch, the batch's accept path (a refused
text keeps its template, the reasons stored and shown), and `texture check` on real files."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

import review_set as rs
from cli import main as cli
from engine import gate as gate_mod
from engine.builtin_world import builtin_world
from engine.config import Config
from engine.dispatch import BatchRunner
from engine.gate import CODES, Verdict, check_text
from engine.llm.scripted import ScriptedLLM
from engine.prompts import PromptLibrary
from engine.quality import parse_quality_json
from engine.store import Store
from engine.templates import render_template
from engine.world import parse_place, write_world

ROOT = Path(__file__).resolve().parents[1]
WHOLE = "rewrite"  # the whole-text prompt: scripted texts are stored as they are
U = "urn:flux:place:testland:"


def mill(**over):
    d = {
        "urn": "urn:flux:place:greywood:cindermoor-mill-1073", "name": "Cindermoor Mill",
        "description": {"base": "A mill of river clay huddles beside a slow river. The air smells of woodsmoke and wet earth."},
        "weather": {"temperature": 28.0, "conditions": "mist", "windSpeed": 13.0},
        "resources": [{"type": "honey", "abundance": 0.68}, {"type": "sulfur", "abundance": 0.9},
                      {"type": "fresh water", "abundance": 0.07}],
        "events": [{"type": "festival", "significance": 0.87, "term": "long",
                    "summary": "The harvest festival fills the square with music."}],
    }
    d.update(over)
    return parse_place(d)


GOOD_MILL = ("Beside a slow river huddles a mill of river clay, and the air smells of woodsmoke. It is sweltering "
             "around Cindermoor Mill in a steady wind, with mist hanging low. Sulfur is plentiful but fresh water "
             "runs low, and the harvest festival fills the square with music.")


def codes(place, text, template=None):
    return check_text(place, text, template).codes


# --- each rule ----------------------------------------------------------------------------------

def test_a_faithful_paraphrase_is_accepted_and_the_verdict_is_plain_data():
    v = check_text(mill(), GOOD_MILL)
    assert v == Verdict(True, []) and v.as_dict() == {"accepted": True, "reasons": []}
    assert Verdict.from_dict(json.loads(json.dumps(v.as_dict()))) == v


@pytest.mark.parametrize("text, code, words", [
    ("A river of clay huddles beside a slow river. It is sweltering at Cindermoor Mill in a steady wind under mist.",
     "subject-lost", "'mill'"),
    ("A mountain of river clay huddles beside a slow river, where the mill works. It is sweltering in a steady "
     "wind under mist.", "subject-lost", "mountain"),
    ("The mill of river clay huddles beside a slow river, near the old market. It is sweltering in a steady wind "
     "under mist.", "subject-lost", "market"),
    ("A mill of river clay and grey stone huddles beside a slow river. It is sweltering in a steady wind under mist.",
     "material-changed", "'stone'"),
    ("A mill huddles beside a slow river. It is sweltering in a steady wind under mist.",
     "material-changed", "gone"),
    ("A mill of river clay huddles beneath a lazy river. It is sweltering in a steady wind under mist.",
     "setting-impossible", "beneath a lazy river"),
    ("A mill of river clay huddles beside a slow river. The windless calm is hot in a fierce tempest, under mist.",
     "weather-clash", "'windless' and 'tempest'"),
    ("A mill of river clay huddles beside a slow river. It is balmy and freezing in a steady wind under mist.",
     "weather-clash", "'freezing' and 'balmy'"),
    ("A mill of river clay huddles beside a slow river. It is bitterly cold in a steady wind under mist.",
     "weather-clash", "28°C"),
    ("A mill of river clay huddles beside a slow river. Light rain falls in a steady wind under mist, and it is hot.",
     "weather-invented", "'rain'"),
    ("A mill of river clay huddles beside a slow river, its walls pale under the moon. It is hot in a steady wind "
     "under mist.", "weather-invented", "'moon'"),
    ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist, and the harvest "
     "festival has finally ended.", "event-reversed", "has finally ended"),
    ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist, and there is no "
     "festival this year.", "event-reversed", "no festival"),
    ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist, and the festival "
     "brings a feast of sulfur and honey.", "goods-misused", "sulfur"),
    ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist, and pilgrims visit "
     "the sulfur.", "goods-misused", "visit"),
    ("A weathered mill, its walls of river clay by a slow river. It is hot in a steady wind under mist.",
     "fragment", "no verb"),
    ("A mill of river clay huddles beside a slow river. It is hot in a steady wind, as the weather misty.",
     "fragment", "as the weather misty"),
    ("A mill of river clay huddles beside a slow river. Escape: it is hot in a steady wind under mist.",
     "label", "'Escape:'"),
    ("A mill of river clay huddles beside a slow river. Festival Fills Square: it is hot in a steady wind under mist.",
     "label", "Festival Fills Square:"),
    ("A mill of river clay huddles beside a slow river, a testament to the harsh land. It is hot in a steady wind "
     "under mist.", "cliche", "a testament to"),
    ("A mill of river clay huddles beside a slow river. It is 28 degrees in a steady wind under mist.",
     "number", "'28'"),
    ("A mill of river clay huddles beside a slow river. It is twenty-eight degrees in a steady wind under mist.",
     "number", "twenty-eight degrees"),
    ("A mill of river clay huddles beside a slow river. It is hot at cindermoor mill in a steady wind under mist.",
     "garbled", "cindermoor mill"),
    ("A mill of river clay huddles beside a sheltered and sheltered river. It is hot in a steady wind under mist.",
     "garbled", "sheltered and sheltered"),
    ("A mill of river clay huddles beside a slow river. The mill is hot in a steady wind, the weather is misty.",
     "garbled", "comma splice"),
])
def test_each_rule_refuses_what_it_names_with_a_readable_reason(text, code, words):
    v = check_text(mill(), text)
    assert not v.accepted
    assert code in v.codes, v.reasons
    reason = v.reasons[v.codes.index(code)]
    assert reason.startswith(code + ": ") and words in reason, reason


def test_a_pattern_the_template_has_excuses_only_the_template_s_own_words():
    # The template opens a clause after a comma ("Lately, the festival is..."); the text's own
    # comma splice is still one.
    template = ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist. "
                "Lately, the harvest festival is loud.")
    text = ("A mill of river clay huddles beside a slow river. It is hot in a steady wind under mist. "
            "The workers have been protesting, their tools are laid down.")
    assert "garbled" in codes(mill(), text, template)
    assert check_text(mill(), template, template).accepted


def test_every_code_is_listed_and_reasons_come_in_rule_order():
    assert len(set(CODES)) == len(CODES)
    v = check_text(mill(), "Escape: A river of clay huddles beside a slow river, a testament to 28 storms.")
    assert set(v.codes) <= set(CODES) and len(v.codes) >= 3
    assert v.codes == sorted(v.codes, key=CODES.index)


def test_cob_walls_are_not_cobblestones():
    p = parse_place({"urn": "urn:flux:place:dale:cobhall", "name": "Cob Hall",
                     "description": {"base": "A hall of cob walls sits on a green. Geese wander the yard."},
                     "weather": {"temperature": 12, "conditions": "overcast", "windSpeed": 5},
                     "resources": [], "events": []})
    assert "material-changed" in codes(p, "A hall of cobblestones sits on a green. It is cool and overcast.")
    assert check_text(p, "A hall of cob walls sits on a green, where geese wander. It is cool and overcast at Cob Hall.").accepted


def test_what_the_place_and_its_template_say_is_never_held_against_a_text():
    # The facts themselves pair a windless calm with a storm: a text that keeps the template's words passes.
    p = mill(weather={"temperature": 16.0, "conditions": "thunderstorms", "windSpeed": 0.9})
    t = render_template(p)
    assert check_text(p, t).accepted
    # Words of the name are not evidence ("Stoneford" is no stone, "Frost" no weather).
    q = mill(name="Stoneford Frostmill")
    assert check_text(q, GOOD_MILL.replace("Cindermoor Mill", "Stoneford Frostmill")).accepted
    # "fresh water" is a resource, not a temperature; "hot springs" too.
    assert check_text(mill(), GOOD_MILL + " Fresh water is drawn from the well.").accepted


def test_templates_of_the_built_in_world_are_never_refused():
    refused = [(p.urn, check_text(p, render_template(p)).reasons) for p in builtin_world()[::3]]
    assert [r for r in refused if r[1]] == []


def test_never_raises_on_odd_text():
    p = mill()
    for t in ["", " ", "\x1b[31m red", "[bold]x[/bold]", "é" * 5000, "a. b. c. d.", "\ud800 lone", None, 42,
              ": : :", "The The The The", "Cindermoor Mill" * 50, "0.5 0.5 0.5"]:
        v = check_text(p, t)
        assert isinstance(v.accepted, bool) and all(isinstance(r, str) for r in v.reasons)
    assert not check_text(p, "").accepted


# --- the reviewed pairs ---------------------------------------------------------------------------

def _verdict(row):
    return check_text(rs.place(row), row["llm"], row["template"])


def test_no_llm_text_a_reader_scored_2_or_less_is_accepted():
    rows = rs.load()
    low = [r for r in rows if r["score_llm"] <= 2]
    assert len(rows) == 67 and len(low) == 44
    accepted = [r["urn"] for r in low if _verdict(r).accepted]
    assert accepted == []


def test_llm_texts_readers_liked_are_accepted():
    rows = rs.load()
    liked = [r for r in rows if r["score_llm"] >= 4]
    tied = [r for r in rows if r["score_llm"] >= 3 and r["ship"] in ("llm", "same")]
    assert len(liked) == 7 and len(tied) == 3
    assert [r["urn"] for r in liked + tied if not _verdict(r).accepted] == []


def test_the_split_is_fixed_by_the_urn():
    rows = rs.load()
    halves = [rs.half(r["urn"]) for r in rows]
    assert halves.count(0) == 34 and halves.count(1) == 33
    assert rs.half("urn:flux:place:greywood:cindermoor-mill-1073") == 0
    assert halves == [rs.half(r["urn"]) for r in reversed(rows)][::-1]


# --- determinism ----------------------------------------------------------------------------------

def test_same_place_and_text_same_verdict_alone_or_in_any_batch():
    rows = rs.load()
    pairs = [(rs.place(r), r["llm"], r["template"]) for r in rows]
    first = [check_text(*x).as_dict() for x in pairs]
    gate_mod._facts.cache_clear()
    alone = [None] * len(pairs)
    for i in random.Random(7).sample(range(len(pairs)), len(pairs)):
        gate_mod._facts.cache_clear()
        alone[i] = check_text(*pairs[i]).as_dict()
    shuffled = list(range(len(pairs)))
    random.Random(3).shuffle(shuffled)
    batch = {i: check_text(*pairs[i]).as_dict() for i in shuffled}
    assert first == alone == [batch[i] for i in range(len(pairs))]
    # The template given or rendered: the same verdict for a built-in place.
    p = builtin_world()[10]
    assert check_text(p, GOOD_MILL) == check_text(p, GOOD_MILL, render_template(p))


# --- the batch's accept path ----------------------------------------------------------------------

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


def _refused_text(p) -> str:
    """The place's template with a cliché added: every fact kept (the quality gate passes it), but
    a reader marks it down."""
    t = render_template(p)
    first = t.index(". ")
    return t[:first] + ", a testament to the harsh and unforgiving land" + t[first:]


def test_a_refused_text_keeps_its_template_and_the_reasons_are_stored(runner_parts, small_places):
    store, prompts, llm = runner_parts
    target = next(p for p in small_places if p.urn == U + "premium-permanent")
    ok = next(p for p in small_places if p.urn == U + "full-long")
    good = render_template(ok).replace("A small stone village", "A small village of stone", 1)
    assert check_text(ok, good).accepted
    svc = llm(script={target.urn: {"text": _refused_text(target)}, ok.urn: {"text": good}})
    summary = BatchRunner(store, Config(), prompts, svc, prompt_name=WHOLE).run(small_places)
    rows = {r["urn"]: r for r in store.batch_results(summary.batch_id)}
    r = rows[target.urn]
    assert r["source"] == "template" and r["text"] == render_template(target)
    assert r["reason"] == "invalid:reading" and "cliche: 'a testament to'" in r["detail"]
    q = parse_quality_json(r["quality_json"])
    assert q["gate"] == {"accepted": False, "reasons": check_text(target, _refused_text(target)).reasons}
    g = rows[ok.urn]
    assert g["source"] == "llm" and g["text"] == good
    assert parse_quality_json(g["quality_json"])["gate"] == {"accepted": True, "reasons": []}
    assert summary.reasons.get("invalid:reading") == 1
    # The gate off (FLUX_LLM_QUALITY_GATE=false): validation only, as before.
    s2 = BatchRunner(store, Config(quality_gate=False), prompts, svc, prompt_name=WHOLE).run(small_places)
    assert {r["urn"]: r for r in store.batch_results(s2.batch_id)}[target.urn]["source"] == "llm"


def test_the_batch_verdict_is_the_same_alone_and_in_a_batch(tmp_path, runner_parts, small_places):
    _store, prompts, llm = runner_parts
    target = next(p for p in small_places if p.urn == U + "premium-permanent")
    script = {target.urn: {"text": _refused_text(target)}}
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    sa = BatchRunner(a, Config(), prompts, llm(concurrency=1, script=script), prompt_name=WHOLE).run([target])
    sb = BatchRunner(b, Config(), prompts, llm(concurrency=4, script=script), prompt_name=WHOLE).run(small_places[::-1])
    ra = {r["urn"]: r for r in a.batch_results(sa.batch_id)}[target.urn]
    rb = {r["urn"]: r for r in b.batch_results(sb.batch_id)}[target.urn]
    assert (ra["source"], ra["reason"], ra["detail"]) == (rb["source"], rb["reason"], rb["detail"])
    assert ra["reason"] == "invalid:reading"
    a.close(), b.close()


def test_a_cached_text_is_read_again(runner_parts, small_places):
    store, prompts, llm = runner_parts
    target = next(p for p in small_places if p.urn == U + "premium-permanent")
    svc = llm(script={target.urn: {"text": _refused_text(target)}})
    s1 = BatchRunner(store, Config(quality_gate=False), prompts, svc, prompt_name=WHOLE).run(small_places)
    assert {r["urn"]: r for r in store.batch_results(s1.batch_id)}[target.urn]["source"] == "llm"
    s = BatchRunner(store, Config(), prompts, svc, prompt_name=WHOLE).run(small_places)
    r = {r["urn"]: r for r in store.batch_results(s.batch_id)}[target.urn]
    assert r["source"] == "template" and r["reason"] == "invalid:reading" and "cached result" in r["detail"]


def test_the_diff_panel_shows_the_gate_reasons():
    from types import SimpleNamespace

    from console.qualityview import quality_text
    from engine.quality import quality_json, score_text

    p = mill()
    bad = "A river of clay huddles beside a slow river. It is hot in a steady wind under mist. \x1b[31m"
    v = check_text(p, bad)
    row = {"quality": 0.9, "template_quality": 0.9, "llm_quality": 0.8, "source": "template",
           "quality_json": quality_json(score_text(p, render_template(p)), score_text(p, bad), "template",
                                        gate=v.as_dict())}
    styles = SimpleNamespace(label="bold", dim="dim", error="red", fell_back="yellow", done="green")
    shown = quality_text(row, styles).plain
    assert "reading gate: refused" in shown and "subject-lost" in shown and "\x1b" not in shown
    row["quality_json"] = quality_json(score_text(p, GOOD_MILL), score_text(p, GOOD_MILL), "llm",
                                       gate=check_text(p, GOOD_MILL).as_dict())
    assert "reading gate" not in quality_text(row, styles).plain  # accepted: nothing added


# --- texture check ---------------------------------------------------------------------------------

def run_check(*argv) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "cli.main", "check", *map(str, argv)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_check_refuses_every_reviewed_text_scored_2_or_less():
    code, out, err = run_check("--texts", rs.REVIEWED, "--field", "llm", "--json")
    assert code == 1 and "Traceback" not in err
    got = [json.loads(line) for line in out.splitlines()]
    assert [set(g) for g in got] == [{"urn", "accepted", "reasons"}] * 67
    by_urn = {g["urn"]: g for g in got}
    rows = rs.load()
    assert all(not by_urn[r["urn"]]["accepted"] and by_urn[r["urn"]]["reasons"] for r in rows if r["score_llm"] <= 2)
    liked = [r for r in rows if r["score_llm"] >= 4]
    assert sum(by_urn[r["urn"]]["accepted"] for r in liked) == len(liked) == 7
    assert "67 text(s) checked" in err and "44" not in err.split("accepted")[0]


def test_check_on_a_world_file_table_and_exit_codes(tmp_path):
    places = [mill(), mill(urn="urn:flux:place:greywood:other-mill", name="Other Mill")]
    world = tmp_path / "world.jsonl"
    write_world(places, world)
    texts = tmp_path / "texts.jsonl"
    texts.write_text(json.dumps({"urn": places[0].urn, "text": GOOD_MILL}) + "\n", encoding="utf-8")
    code, out, err = run_check("--world", world, "--texts", texts)
    assert code == 0 and "accepted" in out and "1 text(s) checked: 1 accepted, 0 refused" in out
    bad = "A river of clay huddles beside a slow river. Escape: it is hot in a steady wind under mist."
    texts.write_text(json.dumps({"urn": places[0].urn, "text": GOOD_MILL}) + "\n"
                     + json.dumps({"urn": places[1].urn, "text": bad}) + "\n", encoding="utf-8")
    code, out, err = run_check("--world", world, "--texts", texts)
    assert code == 1 and "REFUSED" in out and "subject-lost" in out and "label: 'Escape:'" in out
    assert "1 accepted, 1 refused" in out
    # In process, through main(argv), the same.
    assert cli.main(["check", "--world", str(world), "--texts", str(texts), "--json"]) == 1


def test_check_reports_bad_input_by_file_and_line_and_skips_it(tmp_path, capsys):
    world = tmp_path / "world.jsonl"
    write_world([mill()], world)
    texts = tmp_path / "texts.jsonl"
    lines = [json.dumps({"urn": mill().urn, "text": GOOD_MILL}),  # 1: fine
             "{not json",  # 2
             json.dumps({"urn": "urn:flux:place:nowhere:x", "text": "Hello there."}),  # 3
             json.dumps({"urn": mill().urn}),  # 4: no text
             json.dumps(["a", "list"]),  # 5
             json.dumps({"urn": "urn:flux:place:x:y", "facts": {"name": "Y"}, "text": "A text."}),  # 6: facts lack base
             ]
    texts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = cli.main(["check", "--world", str(world), "--texts", str(texts)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert f"{texts}:2: not valid JSON" in err
    assert f"{texts}:3: urn: unknown place 'urn:flux:place:nowhere:x'" in err
    assert f"{texts}:4: text: missing" in err
    assert f"{texts}:5: not an object" in err
    assert f"{texts}:6: facts.base: missing" in err
    assert "1 text(s) checked: 1 accepted, 0 refused; 5 bad line(s) skipped" in out
    # A missing file: one clear line, exit 2.
    code, out, err = run_check("--texts", tmp_path / "nope.jsonl")
    assert code == 2 and "texts file not found" in err and "Traceback" not in err
    code, out, err = run_check("--texts", texts, "--world", tmp_path / "nope-world.jsonl")
    assert code == 2 and "world file not found" in err and "Traceback" not in err


def test_check_uses_the_built_in_world_without_world_and_never_prints_escapes(tmp_path):
    p = builtin_world()[5]
    texts = tmp_path / "t.jsonl"
    texts.write_text(json.dumps({"urn": p.urn, "text": render_template(p) + " \x1b[2J Escape: gone."}) + "\n",
                     encoding="utf-8")
    code, out, err = run_check("--texts", texts)
    assert code == 1 and "\x1b" not in out + err and p.urn in out
