"""Blind pairwise review (engine/review.py, `texture review`, the reviews block of `texture eval`).

Real SQLite files throughout; batches through the real BatchRunner with the scripted model.
The shared reviewed set (tests/data/review/builtin-premium-reviewed.jsonl, a copy of the team's
67 reviewed built-in pairs) is imported as it is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import cli.main as cli
from engine import review as rv
from engine import workbench as wb
from engine.config import load_config
from engine.dispatch import BatchRunner
from engine.prompts import PromptLibrary
from engine.store import Store

REVIEWED = Path(__file__).parent / "data" / "review" / "builtin-premium-reviewed.jsonl"


@pytest.fixture
def cfg():
    return load_config(env={})


@pytest.fixture
def batch(store, tmp_path, cfg, llms, small_places):
    """One batch of the small world with the scripted model: its id."""
    return BatchRunner(store, cfg, PromptLibrary(tmp_path / "prompts"), llms()).run(small_places).batch_id


def _texture(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# --- the shared reviewed set: import, figures, export, re-import ---------------------------------

def test_the_shared_reviewed_set_imports_and_gives_its_figures(store, tmp_path):
    rep = rv.import_reviews(store, REVIEWED)
    assert (rep.imported, rep.already, rep.skipped, rep.errors) == (67, 0, 0, [])
    s = rv.review_stats(store)
    # The figures the review README states for this file.
    assert (s["n"], s["llm_shipped"], s["template_shipped"], s["same"]) == (67, 0, 64, 3)
    assert round(s["llm_mean"], 2) == 2.28 and round(s["template_mean"], 2) == 4.42
    assert s["llm_scored_2_or_less_count"] == 44 and s["llm_scored_2_or_less"] == round(44 / 67, 4)
    lo, hi = s["intervals"]["llm_scored_2_or_less"]
    assert lo < 44 / 67 < hi and 0 <= lo and hi <= 1
    assert s["accepted"] is None  # the shared file does not say; its LLM texts were the accepted ones
    assert s["by_model"] == {}
    assert s["intervals"]["llm_mean"][0] >= 1 and s["intervals"]["template_mean"][1] <= 5
    assert s["intervals"]["llm_shipped_share"][0] == 0.0  # Wilson: 0 of 67 still has a positive upper end
    assert 0 < s["intervals"]["llm_shipped_share"][1] < 0.1
    # Re-import: nothing new, nothing changed.
    before = store.db.execute("SELECT count(*) FROM wb_reviews").fetchone()[0]
    rep = rv.import_reviews(store, REVIEWED)
    assert (rep.imported, rep.already, rep.skipped) == (0, 67, 0)
    assert store.db.execute("SELECT count(*) FROM wb_reviews").fetchone()[0] == before == 67
    # The export has the file's shape: every line's fields as they were.
    out = tmp_path / "out.jsonl"
    assert rv.export_reviews(store, out) == 67
    original, exported = lines(REVIEWED), lines(out)
    assert [{k: e[k] for k in o} for o, e in zip(original, exported)] == original
    assert all(list(e)[:len(rv.EXPORT_KEYS)] == list(rv.EXPORT_KEYS) for e in exported)
    # Another machine imports the export: the same figures.
    other = Store(tmp_path / "other.db")
    try:
        assert rv.import_reviews(other, out).imported == 67
        assert rv.review_stats(other) == s
        assert rv.import_reviews(other, REVIEWED).imported == 0  # the same reviews, not new ones
    finally:
        other.close()


def test_reviews_are_workbench_ratings(store):
    rv.import_reviews(store, REVIEWED)
    ratings = wb.ratings_list(store)
    assert len(ratings) == 67 and {r["origin"] for r in ratings} == {"review"}
    by_text = {r["text"]: r["rating"] for r in ratings}
    for o in lines(REVIEWED):
        good = o["ship"] in ("llm", "same") and o["score_llm"] >= 3
        assert by_text[o["llm"]] == ("good" if good else "bad")
    # The golden set (the workbench's) holds the LLM texts a reader shipped or tied and scored 3+.
    assert {g.text for g in wb.golden_set(store)} == {o["llm"] for o in lines(REVIEWED)
                                                      if o["ship"] != "template" and o["score_llm"] >= 3}


def test_the_seeded_order_hides_the_key_on_both_sides(store):
    rv.import_reviews(store, REVIEWED)
    sides = [r["llm_side"] for r in store.db.query("SELECT llm_side FROM wb_reviews")]
    assert 15 < sides.count("A") < 52  # both orders occur (a fair coin: 67 flips)
    for o in lines(REVIEWED):
        assert rv.llm_side(o["urn"], o["template"], o["llm"]) == rv.llm_side(o["urn"], o["template"], o["llm"])


# --- bad input ----------------------------------------------------------------------------------------

def test_bad_lines_are_named_skipped_and_counted_and_nothing_stored_is_lost(store, tmp_path):
    rv.import_reviews(store, REVIEWED)
    good = lines(REVIEWED)[0]
    other = dict(good, urn="urn:flux:place:x:new", reviewer="kim", note="flat")
    other.pop("flaw_of_the_other")
    bad = tmp_path / "bad.jsonl"
    with open(bad, "wb") as fh:
        for row in [
            json.dumps(other),                                      # 1 good (note instead of flaw)
            "{not json",                                            # 2
            json.dumps([1, 2]),                                     # 3
            json.dumps({k: v for k, v in good.items() if k != "urn"}),  # 4 no urn
            json.dumps(dict(good, score_llm=7)),                    # 5
            json.dumps(dict(good, ship="maybe")),                   # 6
            json.dumps(dict(good, facts="sunny")),                  # 7
            json.dumps(dict(good, score_template=True)),            # 8
            "",                                                     # 9 blank: ignored
        ]:
            fh.write(row.encode() + b"\n")
        fh.write(b"\xff\xfe broken\n")                              # 10
    rep = rv.import_reviews(store, bad)
    assert (rep.imported, rep.skipped) == (1, 8)
    text = "\n".join(rep.errors)
    for no, what in ((2, "not JSON"), (3, "JSON object"), (4, "'urn'"), (5, "'score_llm'"), (6, "'ship'"),
                     (7, "'facts'"), (8, "'score_template'"), (10, "UTF-8")):
        assert f"{bad}:{no}: " in text and what in text, (no, what, text)
    assert rv.review_stats(store)["n"] == 68  # the 67 kept, one added
    assert rv.reviews_list(store)[-1]["flaw_of_the_other"] == "flat"


def test_cli_import_reports_bad_lines_without_a_traceback(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"urn": 1}\n', encoding="utf-8")
    rc, out, err = _texture(capsys, "review", "import", str(bad))
    assert rc == 1 and f"skipped {bad}:1: field 'urn' must be a non-empty string" in err
    assert "0 review(s) imported" in err and "Traceback" not in err
    rc, out, err = _texture(capsys, "review", "import", str(tmp_path / "nope.jsonl"))
    assert rc == 2 and err.strip() == f"texture review import: error: no such file: {tmp_path / 'nope.jsonl'}"
    rc, out, err = _texture(capsys, "review", "import", str(tmp_path))
    assert rc == 2 and "is a folder" in err
    rc, out, err = _texture(capsys, "review", "export", str(tmp_path / "no" / "such" / "out.jsonl"))
    assert rc == 2 and "cannot write" in err and "Traceback" not in err


# --- the queue ----------------------------------------------------------------------------------------

def test_the_same_selection_gives_the_same_order_every_time(store, batch, small_places):
    q1 = rv.build_queue(store, batch=batch)
    q2 = rv.build_queue(store, batch=batch)
    assert q1 and [(i.urn, i.text_a, i.text_b, i.llm_side) for i in q1] == \
        [(i.urn, i.text_a, i.text_b, i.llm_side) for i in q2]
    # Each item's order depends on the item only: a smaller or another selection shows it the same way.
    sides = {i.urn: (i.text_a, i.text_b) for i in q1}
    for other in (rv.build_queue(store, batch=batch, limit=1), rv.build_queue(store),
                  rv.build_queue(store, worst=2), rv.build_queue(store, places=small_places)):
        assert other and all(sides[i.urn] == (i.text_a, i.text_b) for i in other)
    rows = {r["urn"]: r for r in store.batch_results(batch)}
    for it in q1:
        r = rows[it.urn]
        assert it.template_text == r["template_text"]
        assert it.llm_text == (r["text"] if r["source"] == "llm" else r["llm_text"])
        assert {it.text_a, it.text_b} == {it.llm_text, it.template_text}
        assert it.facts["name"] and it.facts["base"] and "weather" in it.facts
    assert "llm_side" not in repr(q1[0])  # the key is never printed with an item


def test_selections(store, batch, cfg):
    current = rv.build_queue(store)
    assert current
    worst = rv.build_queue(store, worst=len(current))
    q = [i.meta["quality"] for i in worst]
    assert q == sorted(q, key=lambda x: float("inf") if x is None else x)
    tier = current[0].tier
    assert {i.tier for i in rv.build_queue(store, tier=tier)} == {tier}
    wb.pin_set(store, "mine", [i.urn for i in reversed(current)])
    assert [i.urn for i in rv.build_queue(store, pinned="mine")] == [i.urn for i in reversed(current)]
    with pytest.raises(rv.ReviewError, match="no batch 999"):
        rv.build_queue(store, batch=999)
    with pytest.raises(rv.ReviewError, match="choose one selection"):
        rv.build_queue(store, batch=batch, tier="premium")
    with pytest.raises(wb.WorkbenchError, match="unknown pinned set"):
        rv.build_queue(store, pinned="nope")


def test_a_verdict_is_stored_with_its_key_and_a_second_one_replaces_it(store, batch):
    it = rv.build_queue(store, batch=batch)[0]
    rid = rv.record_review(store, it, 2, 5, "b", "stiff", reviewer="ana")
    row = store.db.execute("SELECT urn, state_hash, text_a, text_b, llm_side, score_a, score_b, ship, note, reviewer "
                           "FROM wb_reviews WHERE id=?", [rid]).fetchone()
    assert row == (it.urn, it.state_hash, it.text_a, it.text_b, it.llm_side, 2, 5, "B", "stiff", "ana")
    shipped = rv.reviews_list(store)[0]
    assert shipped["ship"] == ("template" if it.llm_side == "A" else "llm")
    assert shipped["score_llm"] == (2 if it.llm_side == "A" else 5)
    assert rv.stored_verdict(store, it, "ana") == {"score_a": 2, "score_b": 5, "ship": "B", "note": "stiff"}
    # Whether the gate had accepted the LLM text is kept, and the figures break it out.
    source = store.db.execute("SELECT source FROM results WHERE id=?", [it.result_id]).fetchone()[0]
    assert it.llm_accepted == (source == "llm") and shipped["llm_accepted"] == it.llm_accepted
    acc = rv.review_stats(store)["accepted"]
    assert (acc["n"] if acc else 0) == (1 if it.llm_accepted else 0)
    # ... and the model that wrote it: figures per model, and in the export.
    model = store.db.execute("SELECT model_id FROM results WHERE id=?", [it.result_id]).fetchone()[0]
    assert model and shipped["model_id"] == model and rv.review_stats(store)["by_model"][model]["n"] == 1
    assert rv.record_review(store, it, 4, 4, "same", "", reviewer="ana") == rid  # the same reader: replaced
    assert rv.review_stats(store)["same"] == 1 and rv.review_stats(store)["n"] == 1
    assert rv.record_review(store, it, 1, 1, "a", reviewer="bo") != rid  # another reader: another review
    with pytest.raises(rv.ReviewError, match="score A"):
        rv.record_review(store, it, 6, 1, "a")
    with pytest.raises(rv.ReviewError, match="ship"):
        rv.record_review(store, it, 1, 1, "x")


# --- texture review (a plain terminal) and texture eval --------------------------------------------

def test_cli_review_loop_stats_export_import(capsys, monkeypatch, small_world, tmp_path):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    rc, out, err = _texture(capsys, "batch", "--world", str(small_world), "--json")
    assert rc == 0, err
    answers = iter(["4", "9", "2", "a", "too plain",   # 9 is asked again
                    "k",                               # the second place skipped
                    "3", "3", "s", "",
                    "q"])  # (three places: the q is not reached)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    rc, out, err = _texture(capsys, "review", "start", "--reviewer", "ana", "--world", str(small_world))
    assert rc == 0, err
    assert "[1/" in out and "  A  " in out and "  B  " in out and "2 review(s) stored, 1 skipped\n" in out
    rc, out, err = _texture(capsys, "review", "stats", "--json")
    s = json.loads(out)
    assert s["n"] == 2 and s["same"] == 1 and s["llm_shipped"] + s["template_shipped"] == 1
    for k in ("llm_shipped", "template_shipped", "same", "llm_mean", "template_mean", "llm_scored_2_or_less", "n"):
        assert k in s
    rc, out, err = _texture(capsys, "review", "stats")
    assert "LLM texts scored ≤ 2" in out and "Wilson" in out
    exported = tmp_path / "ana.jsonl"
    rc, out, err = _texture(capsys, "review", "export", str(exported))
    assert rc == 0 and "exported 2 review(s)" in err
    rows = lines(exported)
    assert {r["reviewer"] for r in rows} == {"ana"} and "too plain" in {r["flaw_of_the_other"] for r in rows}
    # A second session leaves out what ana reviewed already (--again shows it).
    answers = iter(["1", "1", "b", "", "q"])
    rc, out, err = _texture(capsys, "review", "start", "--reviewer", "ana")
    assert "2 place(s) you reviewed before left out" in err and "[1/1]" in out
    rc, out, err = _texture(capsys, "review", "start", "--reviewer", "ana")
    assert "nothing left to review" in err
    answers = iter(["q"])
    rc, out, err = _texture(capsys, "review", "start", "--reviewer", "ana", "--again")
    assert "you reviewed this pair before" in out or "[1/3]" in out
    rc, out, err = _texture(capsys, "review", "import", str(exported), "--db", str(tmp_path / "team.db"))
    assert rc == 0 and "2 review(s) imported" in err
    team = json.loads(_texture(capsys, "review", "stats", "--json", "--db", str(tmp_path / "team.db"))[1])
    assert team["n"] == 2 and team["by_model"] and team["accepted"] == s["accepted"]
    rc, out, err = _texture(capsys, "review", "import", str(exported), "--db", str(tmp_path / "team.db"))
    assert rc == 0 and "0 review(s) imported, 2 already stored" in err


def test_cli_review_loop_ends_cleanly_at_end_of_input(capsys, monkeypatch, small_world):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    assert _texture(capsys, "batch", "--world", str(small_world))[0] == 0

    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    rc, out, err = _texture(capsys, "review", "start", "--tier", "premium")
    assert rc == 0 and "0 review(s) stored" in out and "Traceback" not in err
    rc, out, err = _texture(capsys, "review", "start", "--batch", "77")
    assert rc == 2 and "no batch 77" in err


def test_cli_review_prints_untrusted_text_without_escape_sequences(capsys, monkeypatch, tmp_path):
    from engine.store import ResultRow

    db = tmp_path / "t.db"
    store = Store(db)
    d = {"urn": "urn:flux:place:x:evil", "name": "Evil\x1b[31m Hold", "description": {"base": "A hold of stone."},
         "weather": {"temperature": 5, "conditions": "fog", "windSpeed": 3}, "resources": [], "events": []}
    store.db.execute("INSERT INTO places(urn, name, region, state_hash, seed, tier, data, updated_at) "
                     "VALUES (?,?,?,?,?,?,?,?)", [d["urn"], d["name"], "x", "h1", 0, "premium", json.dumps(d), 0])
    store.db.conn.commit()
    bid = store.start_batch("t", 1, "m", "v", {})
    store.add_results([ResultRow(bid, d["urn"], "h1", "premium", "llm", "Fog \x1b[2J[bold]x[/] lies.", "A hold of stone.")])
    store.close()
    monkeypatch.setattr("builtins.input", lambda prompt="": "q")
    rc, out, err = _texture(capsys, "review", "start", "--db", str(db))
    assert rc == 0 and "\x1b" not in out and "␛" in out and "[bold]x[/]" in out


def test_eval_json_carries_the_reviews_block(capsys, monkeypatch, small_world):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    rc, out, err = _texture(capsys, "review", "import", str(REVIEWED))
    assert rc == 0, err
    rc, out, err = _texture(capsys, "eval", "--world", str(small_world), "--json")
    assert rc == 0, err
    r = json.loads(out)["reviews"]
    assert (r["n"], r["llm_shipped"], r["template_shipped"], r["same"]) == (67, 0, 64, 3)
    assert round(r["llm_mean"], 2) == 2.28 and round(r["template_mean"], 2) == 4.42
    assert r["llm_scored_2_or_less"] == round(44 / 67, 4) and "Wilson" in r["intervals"]["method"]
    rc, out, err = _texture(capsys, "eval", "--world", str(small_world))
    assert "reviews: 67 places, read blind" in out and "template shipped    64" in out



def test_facts_of_a_newer_state_are_flagged(store, batch, small_places):
    from dataclasses import replace

    q = rv.build_queue(store, batch=batch)
    assert not any(i.meta["facts_newer"] for i in q)
    moved = [replace(p, conditions="blizzard", state_hash="newer") for p in small_places if p.urn == q[0].urn]
    store.sync_places(moved, lambda p: "premium")
    again = {i.urn: i for i in rv.build_queue(store, batch=batch)}
    assert again[q[0].urn].meta["facts_newer"] and again[q[0].urn].facts["weather"]["conditions"] == "blizzard"
    # Given the world at the text's own state, those facts are used instead.
    exact = {i.urn: i for i in rv.build_queue(store, batch=batch, places=small_places)}
    assert not exact[q[0].urn].meta["facts_newer"] and exact[q[0].urn].facts == q[0].facts
