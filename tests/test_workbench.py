"""The prompt workbench (engine/workbench/) with the scripted model: versions, restore, pinned
sets, samples, preview (production untouched), compare (matrix, summaries, re-run), ratings,
golden set, export."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest

from engine.builtin_world import builtin_world
from engine.config import load_config
from engine.dispatch import BatchRunner
from engine.policy import decide
from engine.prompts import PromptLibrary, compile_prompt, version_of
from engine.store import WORKBENCH_MIGRATIONS, Store, applied_workbench_migrations
from engine import workbench as wb
from engine.workbench import Variant, WorkbenchError, cell_key

U = "urn:flux:place:testland:"
ELIGIBLE = [U + "light-medium", U + "full-long", U + "premium-permanent"]
ALT_PROMPT = "Describe ${name} briefly.\n\nWeather: ${weather}\n\nDescription:\n"


@pytest.fixture
def library(tmp_path):
    return PromptLibrary(tmp_path / "prompts")


@pytest.fixture
def cfg():
    return load_config(env={})


def table_counts(store) -> dict:
    return {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("results", "current", "batches")}


def edit(library, text, name="texture"):
    path = library.folder / f"{name}.prompt"
    path.write_text(text, encoding="utf-8")
    library.reload(path)
    return path


# --- schema -------------------------------------------------------------------------------------

def test_schema_is_idempotent_and_keeps_store_migrations(tmp_path, store):
    # Opening the store is enough: the workbench schema is its own migration set, applied by Store.
    names = set(store.db.table_names())
    assert {"wb_pinned_sets", "wb_prompt_events", "wb_runs", "wb_outputs", "ratings", "wb_migrations"} <= names
    assert applied_workbench_migrations(store.db) == [m[0] for m in WORKBENCH_MIGRATIONS]
    for _, _, body in WORKBENCH_MIGRATIONS:
        body(store.db)  # again, directly: idempotent
    cols = {r[1] for r in store.db.execute("PRAGMA table_info(ratings)").fetchall()}
    assert {"output_id", "output_key", "prompt_name", "temperature", "base_hash", "origin", "variant"} <= cols
    store.close()
    again = Store(tmp_path / "t.db")  # the store's own migrations still open it
    assert again.applied_migrations()[:4] == [1, 2, 3, 4]
    assert again.migrate() == []  # nothing left to apply, core or workbench
    assert applied_workbench_migrations(again.db) == [m[0] for m in WORKBENCH_MIGRATIONS]
    again.close()


def test_a_database_from_before_the_workbench_migration_set_gets_it_recorded(tmp_path):
    # A database made when migration 4 ran the workbench schema directly (no wb_migrations table):
    # the set's first migration runs again (idempotent) and is recorded; nothing stored is lost.
    s = Store(tmp_path / "old.db")
    wb.pin_set(s, "keep", ["urn:x"])
    s.db.execute("DROP TABLE wb_migrations")
    s.close()
    s = Store(tmp_path / "old.db")
    assert applied_workbench_migrations(s.db) == [m[0] for m in WORKBENCH_MIGRATIONS]
    assert wb.get_pinned(s, "keep").urns == ("urn:x",)
    s.close()


def test_the_workbench_module_holds_no_sql():
    # Every statement is a WorkbenchStore/Store method (engine/store/); tests/test_architecture.py
    # checks the whole product, this names the module the redesign moved it out of.
    modules = sorted(Path(wb.__file__).parent.glob("*.py"))  # the engine/workbench/ package
    assert len(modules) > 1
    for path in modules:
        src = path.read_text(encoding="utf-8")
        for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "_tx", ".db."):
            assert word not in src, f"{path.name}: {word}"


# --- versions -----------------------------------------------------------------------------------

def test_history_records_the_on_disk_version_when_the_workbench_opens(store, library, cfg):
    w = wb.Workbench(store, library, None, cfg)
    hist = w.history()
    assert len(hist) == 1 and hist[0].on_disk and hist[0].version == library.get().version
    wb.Workbench(store, library, None, cfg)  # reopening adds nothing
    assert len(w.history()) == 1
    # one event per shipped prompt file (texture, seed), none more on reopening
    assert store.db.execute("SELECT count(*) FROM wb_prompt_events WHERE name='texture'").fetchone()[0] == 1
    assert store.db.execute("SELECT count(*) FROM wb_prompt_events").fetchone()[0] == len(library.status())


def test_diff_versions():
    a = "line one\nline two\nline three\n"
    b = "line one\nline 2\nline three\nline four\n"
    assert wb.diff_versions(a, b) == [(" ", "line one"), ("-", "line two"), ("+", "line 2"), (" ", "line three"),
                                      ("+", "line four")]
    assert wb.diff_versions(a, a) == [(" ", line) for line in a.splitlines()]


def test_restore_is_a_new_save_and_history_keeps_every_version(store, library, cfg):
    original = library.get().text
    v1 = library.get().version
    wb.record_library(store, library)
    path = edit(library, ALT_PROMPT)
    wb.record_library(store, library)
    v2 = version_of(ALT_PROMPT)
    third = ALT_PROMPT + "Keep it short.\n"
    edit(library, third)  # never recorded by anyone: the restore must record it first
    v3 = version_of(third)

    out = wb.restore_version(library, store, "texture", v1[:6])
    assert out == path
    assert path.read_text(encoding="utf-8") == original
    assert library.get().version == v1
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # atomic: no temp file left

    hist = wb.history(store, "texture", library)
    assert [h.version for h in hist][0] == v1  # the restore is the newest save
    assert {h.version for h in hist} == {v1, v2, v3}
    top = hist[0]
    assert top.on_disk and top.restores == 1
    assert next(h for h in hist if h.version == v3).text == third
    actions = [r["action"] for r in store.db.query("SELECT action FROM wb_prompt_events ORDER BY id")]
    assert actions[-2:] == ["before_restore", "restored"]
    # The store's own "last good version" (used by batches when a file breaks) agrees.
    assert store.last_prompt("texture")["version"] == v1

    # Restore the third one back: nothing was lost.
    wb.restore_version(library, store, "texture", v3)
    assert path.read_text(encoding="utf-8") == third


def test_restore_keeps_a_broken_file_text(store, library):
    wb.record_library(store, library)
    v1 = library.get().version
    edit(library, "Broken ${nope}\n")
    wb.restore_version(library, store, "texture", v1)
    kept = list(store.db.query("SELECT text FROM wb_prompt_events WHERE action='before_restore_unparsable'"))
    assert kept and kept[0]["text"] == "Broken ${nope}\n"
    assert library.status_of("texture").error is None


def test_restore_unknown_version_is_a_clear_error(store, library):
    with pytest.raises(WorkbenchError, match="unknown prompt version 'ffffff'"):
        wb.restore_version(library, store, "texture", "ffffff")
    with pytest.raises(WorkbenchError, match="4 or more hex digits"):
        wb.restore_version(library, store, "texture", "zz")


def test_resolve_prompt(store, library, tmp_path):
    wb.record_library(store, library)
    v1 = library.get().version
    with pytest.raises(WorkbenchError, match="no previous version"):
        wb.resolve_prompt("previous", library, store)
    edit(library, ALT_PROMPT)
    wb.record_library(store, library)
    assert wb.resolve_prompt("current", library, store).version == version_of(ALT_PROMPT)
    assert wb.resolve_prompt("previous", library, store).version == v1
    assert wb.resolve_prompt(v1[:5], library, store).version == v1
    f = tmp_path / "other.prompt"
    f.write_text("Other ${name}\n", encoding="utf-8")
    assert wb.resolve_prompt(str(f), library, store).text == "Other ${name}\n"
    with pytest.raises(WorkbenchError, match="not found"):
        wb.resolve_prompt(str(tmp_path / "missing.prompt"), library, store)
    with pytest.raises(WorkbenchError, match="unknown prompt version"):
        wb.resolve_prompt("abcdef12", library, store)


# --- pinned sets and samples -----------------------------------------------------------------

def test_pinned_sets(store):
    s = wb.pin_set(store, "regress", [ELIGIBLE[0], ELIGIBLE[1], ELIGIBLE[0]])
    assert s.urns == (ELIGIBLE[0], ELIGIBLE[1])
    wb.pin_set(store, "other", [ELIGIBLE[2]])
    assert [p.name for p in wb.pinned_sets(store)] == ["other", "regress"]
    wb.pin_set(store, "regress", ELIGIBLE)  # replace
    assert wb.get_pinned(store, "regress").urns == tuple(ELIGIBLE)
    with pytest.raises(WorkbenchError, match="unknown pinned set 'nope' \\(known: other, regress\\)"):
        wb.get_pinned(store, "nope")
    with pytest.raises(WorkbenchError, match="empty"):
        wb.pin_set(store, "x", [])
    assert wb.unpin_set(store, "other") and not wb.unpin_set(store, "other")


def test_places_for_names_unknown_urns(small_places):
    assert [p.urn for p in wb.places_for([ELIGIBLE[1], ELIGIBLE[0]], small_places)] == [ELIGIBLE[1], ELIGIBLE[0]]
    with pytest.raises(WorkbenchError, match="unknown urn: urn:flux:place:x:y"):
        wb.places_for(["urn:flux:place:x:y"], small_places)


def test_stratified_sample(cfg):
    world = builtin_world(400)
    s = wb.stratified_sample(world, cfg, 12)
    assert s == wb.stratified_sample(list(reversed(world)), cfg, 12)  # deterministic, order-independent
    assert len({p.urn for p in s}) == 12
    decisions = [decide(p, cfg) for p in s]
    assert all(d.eligible for d in decisions)  # plenty of eligible places: only those
    assert {d.tier for d in decisions} == {"light", "full", "premium"}
    assert len({p.region for p in s}) >= 6
    assert wb.stratified_sample(world, cfg, 12, seed=1) != s
    # Eligible first, then the rest.
    n_eligible = sum(decide(p, cfg).eligible for p in world)
    big = wb.stratified_sample(world, cfg, n_eligible + 5)
    flags = [decide(p, cfg).eligible for p in big]
    assert flags == [True] * n_eligible + [False] * 5
    assert wb.stratified_sample(world, cfg, 0) == []
    assert len(wb.stratified_sample(world[:3], cfg, 10)) == 3


# --- preview ------------------------------------------------------------------------------------

def test_preview_leaves_production_untouched(store, library, cfg, llms, small_places):
    llm = llms()
    BatchRunner(store, cfg, library, llm).run(small_places)
    before = table_counts(store)
    current_before = list(store.db.query("SELECT * FROM current ORDER BY urn"))
    results_before = list(store.db.query("SELECT * FROM results ORDER BY id"))

    edit(library, ALT_PROMPT)
    chosen = [p for p in small_places if p.urn in ELIGIBLE]
    rows = wb.preview(chosen, library.get(), llm, cfg, store)

    assert table_counts(store) == before
    assert list(store.db.query("SELECT * FROM current ORDER BY urn")) == current_before
    assert list(store.db.query("SELECT * FROM results ORDER BY id")) == results_before
    assert [r.urn for r in rows] == [p.urn for p in chosen]
    for r in rows:
        assert r.production_text == next(c["text"] for c in current_before if c["urn"] == r.urn)
        assert r.production_source == "llm" and not r.production_stale
        assert r.text and r.reason is None and r.prompt_version == version_of(ALT_PROMPT)
        assert r.template and r.facts is not None and r.production_facts is not None
        assert r.output_id is not None
    assert store.db.execute("SELECT kind FROM wb_runs").fetchone()[0] == "preview"


def test_preview_accepts_text_and_path_and_marks_ineligible(store, library, cfg, llms, small_places):
    llm = llms()
    quiet = [p for p in small_places if p.urn == U + "quiet"]
    rows = wb.preview(quiet, ALT_PROMPT, llm, cfg, store, budget_override=12)
    assert rows[0].production_text is None and not rows[0].eligible and rows[0].tier == "template"
    assert rows[0].budget == 12 and rows[0].tokens <= 12
    rows = wb.preview(quiet, library.folder / "texture.prompt", llm, cfg, store)
    assert rows[0].prompt_version == library.get().version
    assert rows[0].budget == cfg.budgets["light"]  # template-tier places preview at the light budget
    with pytest.raises(WorkbenchError, match="unknown field"):
        wb.preview(quiet, "Hello ${nope}", llm, cfg, store)


# --- compare ------------------------------------------------------------------------------------

def scripted_ab(places, good_a=True):
    """Script texts per cell: variant 0 mentions the facts, variant 1 does not; one invalid cell."""
    script = {}
    for p in places:
        script[cell_key(1, 0, p.urn)] = {"text": f"At {p.name} the weather is {p.conditions} and everyone notices it today."}
        script[cell_key(1, 1, p.urn)] = {"text": "Nothing at all seems to happen in this quiet and sleepy little place."}
    script[cell_key(1, 1, places[0].urn)] = {"text": "Hi."}  # too short: invalid
    for k, v in list(script.items()):
        script[k.replace("r1|", "r2|", 1)] = v
    return script


def test_compare_of_the_per_sentence_default_reproduces_the_batch(store, library, cfg, llms, small_places):
    from engine.dispatch import BatchRunner

    chosen = [p for p in small_places if p.urn in ELIGIBLE]
    assert library.get().per_sentence
    seen_keys = []
    res = wb.compare(chosen, [Variant("A", library.get())], llms(), cfg, store,
                     on_event=lambda ev: seen_keys.append(ev.key) if hasattr(ev, "key") else None)
    assert {wb.parse_cell_key(k)[1:] for k in seen_keys} == {(0, u) for u in ELIGIBLE}
    s = BatchRunner(store, cfg, library, llms()).run(chosen)
    rows = {r["urn"]: r for r in store.batch_results(s.batch_id)}
    for u in ELIGIBLE:
        c = res.cell("A", u)
        assert rows[u]["source"] == "llm" and c.reason is None
        assert c.text == rows[u]["text"] and c.tokens == rows[u]["tokens"] and "model wrote" in c.detail


def test_compare_matrix_and_summaries(store, library, cfg, llms, small_places):
    chosen = [p for p in small_places if p.urn in ELIGIBLE]
    llm = llms(script=scripted_ab(chosen))
    alt = compile_prompt(ALT_PROMPT, name="texture")
    # Whole texts scripted per cell: the whole-text rewrite prompt (the per-sentence default's
    # comparison reproduces a batch: test_compare_of_the_per_sentence_default_reproduces_the_batch).
    variants = [Variant("A", library.get("rewrite")), Variant("B", alt, temperature=0.2, budget_override=40)]
    seen_keys = []
    res = wb.compare(chosen, variants, llm, cfg, store, on_event=lambda ev: seen_keys.append(ev.key)
                     if hasattr(ev, "key") else None)

    assert res.urns == ELIGIBLE and [v.label for v in res.variants] == ["A", "B"]
    assert len(res.cells) == 6 and set(res.cells) == {(v, u) for v in "AB" for u in ELIGIBLE}
    assert {wb.parse_cell_key(k)[1:] for k in seen_keys} == {(vi, u) for vi in (0, 1) for u in ELIGIBLE}
    a, b = res.summaries["A"], res.summaries["B"]
    assert a.fallback_rate == 0.0 and b.fallback_rate == pytest.approx(1 / 3)
    assert b.reasons == {"invalid:too_short": 1}
    assert res.cell("B", ELIGIBLE[0]).reason == "invalid:too_short"
    assert a.mean_length == pytest.approx(sum(res.cell("A", u).length for u in ELIGIBLE) / 3)
    assert a.fact_coverage > b.fact_coverage
    assert b.temperature == 0.2 and b.budget_override == 40 and a.temperature == cfg.temperature
    assert res.cell("B", ELIGIBLE[1]).budget == 40
    assert res.cell("A", ELIGIBLE[2]).budget == cfg.budgets["premium"]
    assert a.rerun_identical is None and a.rated == 0 and a.rating_score is None
    cell = res.cell("A", ELIGIBLE[0])
    assert cell.output_id and cell.latency_ms is not None and cell.tokens > 0 and cell.facts.count("kept") >= 1

    d = res.as_dict()
    json.dumps(d)
    assert [s["label"] for s in d["summary"]] == ["A", "B"]
    assert [r["urn"] for r in d["matrix"]] == ELIGIBLE and set(d["matrix"][0]["cells"]) == {"A", "B"}
    assert {"text", "length", "latency_ms", "tokens", "reason", "fact_coverage", "rating"} <= set(d["matrix"][0]["cells"]["A"])

    # Stored: the console can show it later.
    again = wb.load_run(store, res.run_id)
    assert again.as_dict() == d
    assert wb.runs_list(store)[0]["id"] == res.run_id


def test_rerun_is_identical(store, library, cfg, llms, small_places):
    llm = llms()
    res = wb.compare(small_places, [Variant("A", library.get()), Variant("B", library.get(), budget_override=10)],
                     llm, cfg, store, runs=2)
    assert all(s.rerun_identical for s in res.summaries.values())
    assert all(c.rerun_identical for c in res.cells.values())
    assert len(res.rerun) == len(res.cells) == 12
    assert store.db.execute("SELECT count(*) FROM wb_outputs WHERE run_id=?", [res.run_id]).fetchone()[0] == 24


def test_rerun_difference_is_reported(store, library, cfg, llms, small_places):
    urn = small_places[1].urn
    llm = llms(script={cell_key(2, 0, urn): {"text": "A different text appears on the second run, oddly enough."}})
    res = wb.compare(small_places, [Variant("A", library.get())], llm, cfg, store, runs=2)
    s = res.summaries["A"]
    assert s.rerun_identical is False and s.rerun_differs == [urn]
    assert res.cell("A", urn).rerun_identical is False


def test_comparing_a_draft_does_not_touch_the_version_history(store, library, cfg, llms, small_places):
    wb.record_library(store, library)
    before = list(store.db.query("SELECT * FROM prompt_versions ORDER BY version"))
    draft = compile_prompt(ALT_PROMPT, name="texture")
    res = wb.compare(small_places[:2], [Variant("draft", draft)], llms(), cfg, store)
    wb.preview(small_places[:1], ALT_PROMPT + "More.\n", None, cfg, store)
    assert list(store.db.query("SELECT * FROM prompt_versions ORDER BY version")) == before
    assert [h.version for h in wb.history(store, "texture")] == [library.get().version]
    assert store.last_prompt("texture")["version"] == library.get().version
    # ... but its text is kept for the run and for ratings.
    assert wb.prompt_text(store, draft.version) == ALT_PROMPT
    rid = wb.rate(store, res.cell("draft", small_places[0].urn), "good")
    assert next(r for r in wb.ratings_list(store) if r["id"] == rid)["prompt_text"] == ALT_PROMPT
    assert wb.load_run(store, res.run_id).variants[0].prompt.text == ALT_PROMPT


def test_compare_without_a_model(store, library, cfg, small_places):
    res = wb.compare(small_places[:2], [Variant("A", library.get())], None, cfg, store)
    assert res.summaries["A"].fallback_rate == 1.0
    assert {c.reason for c in res.cells.values()} == {"model_unavailable"}
    assert res.summaries["A"].fact_coverage is None and res.model_id is None


def test_compare_cancel(store, library, cfg, llms, small_places):
    llm = llms(token_delay_s=0.05, concurrency=1)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    res = wb.compare(small_places, [Variant("A", library.get())], llm, cfg, store, runs=2, cancel=cancel)
    assert res.status == "cancelled" and not res.rerun
    assert "cancelled" in {c.reason for c in res.cells.values()}


def test_compare_rejects_bad_input(store, library, cfg, small_places):
    with pytest.raises(WorkbenchError):
        wb.compare(small_places, [], None, cfg, store)
    with pytest.raises(WorkbenchError):
        wb.compare([], [Variant("A", library.get())], None, cfg, store)
    with pytest.raises(WorkbenchError):
        wb.compare(small_places, [Variant("A", library.get())], None, cfg, store, runs=3)


def test_duplicate_labels_are_made_unique(store, library, cfg, small_places):
    res = wb.compare(small_places[:1], [Variant("A", library.get()), Variant("A", library.get())], None, cfg, store)
    assert [v.label for v in res.variants] == ["A", "A#2"]


# --- ratings ------------------------------------------------------------------------------------

def test_ratings_persist_everything_needed_to_reproduce(store, library, cfg, llms, small_places):
    llm = llms()
    chosen = [p for p in small_places if p.urn in ELIGIBLE]
    res = wb.compare(chosen, [Variant("A", library.get(), temperature=0.3, budget_override=30)], llm, cfg, store)
    c = res.cell("A", ELIGIBLE[0])
    rid = wb.rate(store, c, "good", "reads well")
    row = next(store.db.query("SELECT * FROM ratings WHERE id=?", [rid]))
    p = chosen[0]
    assert row["text"] == c.text and row["urn"] == p.urn and row["state_hash"] == p.state_hash
    assert row["seed"] == p.seed and row["prompt_version"] == library.get().version and row["prompt_name"] == "texture"
    assert row["model_id"] == "scripted" and row["temperature"] == 0.3 and row["budget"] == 30
    assert row["output_key"] == c.output_key and row["output_id"] == c.output_id and row["note"] == "reads well"
    assert row["origin"] == "workbench"
    # The prompt text is reachable through the version.
    assert wb.prompt_text(store, row["prompt_version"]) == library.get().text
    # Reproduce: the same key gives the same text.
    again = wb.compare(chosen, [Variant("A", library.get(), temperature=0.3, budget_override=30)], llm, cfg, store)
    assert again.cell("A", ELIGIBLE[0]).output_key == row["output_key"]
    assert again.cell("A", ELIGIBLE[0]).text == row["text"]


def test_golden_set_and_rating_score(store, library, cfg, llms, small_places):
    llm = llms()
    chosen = [p for p in small_places if p.urn in ELIGIBLE]
    v = [Variant("A", library.get())]
    first = wb.compare(chosen, v, llm, cfg, store)
    wb.rate(store, first.cell("A", ELIGIBLE[0]).output_id, "good")
    wb.rate(store, f"wb:{first.cell('A', ELIGIBLE[1]).output_id}", "bad", "flat")
    assert [g.urn for g in wb.golden_set(store)] == [ELIGIBLE[0]]

    res = wb.compare(chosen, v + [Variant("B", compile_prompt(ALT_PROMPT, name="texture"), budget_override=5)], llm, cfg, store)
    a, b = res.summaries["A"], res.summaries["B"]
    assert res.cell("A", ELIGIBLE[0]).rating == "good" and res.cell("A", ELIGIBLE[1]).rating == "bad"
    assert res.cell("A", ELIGIBLE[2]).rating is None
    assert a.rated == 2 and a.rating_score == 0.5
    assert a.golden_places == 1 and a.golden_match == 1.0 and a.golden_similarity == 1.0
    assert b.golden_match == 0.0 and res.cell("B", ELIGIBLE[0]).golden_match is False  # 5 tokens: not the golden text
    assert b.rated == 0 and b.rating_score is None

    # The latest rating wins: re-rated bad, it leaves the golden set.
    wb.rate(store, first.cell("A", ELIGIBLE[0]).output_id, "bad")
    assert wb.golden_set(store) == []


def test_rate_production_result(store, library, cfg, llms, small_places):
    llm = llms()
    summary = BatchRunner(store, cfg, library, llm).run(small_places)
    row = next(r for r in store.batch_results(summary.batch_id) if r["source"] == "llm")
    rid = wb.rate(store, f"result:{row['id']}", "good")
    r = next(store.db.query("SELECT * FROM ratings WHERE id=?", [rid]))
    assert r["result_id"] == row["id"] and r["temperature"] == cfg.temperature and r["origin"] == "result:llm"
    assert r["output_key"] and r["prompt_name"] == "texture"
    # A comparison of the production prompt and settings finds it as golden.
    p = next(p for p in small_places if p.urn == row["urn"])
    res = wb.compare([p], [Variant("prod", library.get())], llm, cfg, store)
    assert res.cell("prod", p.urn).output_key == r["output_key"]
    assert res.summaries["prod"].golden_match == 1.0


def test_rate_errors(store, library, cfg, small_places):
    res = wb.compare(small_places[:1], [Variant("A", library.get())], None, cfg, store)
    with pytest.raises(WorkbenchError, match="no text to rate"):
        wb.rate(store, res.cell("A", small_places[0].urn), "good")
    with pytest.raises(WorkbenchError, match="'good' or 'bad'"):
        wb.rate(store, 1, "meh")
    with pytest.raises(WorkbenchError, match="unknown output 999"):
        wb.rate(store, 999, "good")
    with pytest.raises(WorkbenchError, match="unknown output"):
        wb.rate(store, "x:1", "good")


def test_export_ratings_round_trip(store, library, cfg, llms, small_places, tmp_path):
    llm = llms()
    res = wb.compare(small_places, [Variant("A", library.get())], llm, cfg, store)
    ids = [wb.rate(store, res.cell("A", u), "good" if i % 2 else "bad", f"note {i}, with \"quotes\"\nand a newline")
           for i, u in enumerate(ELIGIBLE)]
    expected = {r["id"]: r for r in wb.ratings_list(store)}

    n = wb.export_ratings(store, tmp_path / "r.jsonl", "jsonl")
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert n == 3 and [r["id"] for r in rows] == ids
    for r in rows:
        assert set(r) == set(wb.EXPORT_FIELDS)
        assert all(r[k] == expected[r["id"]][k] for k in wb.EXPORT_FIELDS)
        assert r["prompt_text"] == library.get().text

    assert wb.export_ratings(store, tmp_path / "r.csv", "csv") == 3
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as fh:
        crow = list(csv.DictReader(fh))
    assert [int(r["id"]) for r in crow] == ids
    for r in crow:
        e = expected[int(r["id"])]
        assert all(r[k] == ("" if e[k] is None else str(e[k])) for k in wb.EXPORT_FIELDS)
    with pytest.raises(WorkbenchError, match="unknown export format"):
        wb.export_ratings(store, tmp_path / "r.x", "xml")


# --- metrics --------------------------------------------------------------------------------------

def test_batch_fact_coverage(store, library, cfg, llms, small_places):
    summary = BatchRunner(store, cfg, library, llms()).run(small_places)
    m = wb.batch_fact_coverage(store, summary.batch_id)  # places from the store's places table
    assert m["checked"] == 6 and m["skipped"] == 0
    # The scripted model writes the prompt's weather and first event (engine.llm.scripted); templates keep every fact.
    assert m["template_coverage"] == 1.0 and 0.5 <= m["llm_coverage"] <= m["template_coverage"]
    assert 0 <= m["coverage"] <= 1
    assert wb.batch_fact_coverage(store, summary.batch_id, small_places) == m
