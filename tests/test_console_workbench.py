"""Pilot tests of the prompt workbench screen (console/workbench/) against ScriptedLLM.

Each designer workflow from the keyboard: edit a prompt, preview it on 8 places (production
untouched), compare it with the previous version on a pinned set (fact coverage, fallback rate,
re-run identical), rate outputs (workbench and main diff panel), export ratings, roll back.
No sleeps: bounded ``pilot.pause`` loops (``tests/fakes.py`` ``wait_until``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys

import pytest
from rich.console import Console
from textual.widgets import DataTable, OptionList

from console.app import TextureApp
from fakes import Factory, diff_settled, finish_batch, make_app, ready, rendered_text, wait_until
from console.workbench import CompareDialog, ConfirmDialog, NameDialog, NoteDialog, WorkbenchScreen
from engine import locations
from engine import workbench as wb
from engine.builtin_world import builtin_world
from engine.config import Config
from engine.store import Store

pytestmark = pytest.mark.anyio

SIZE = (120, 40)


def db(home) -> Store:
    return Store(home / "texture.db")


def production(home) -> tuple[list[dict], list[dict]]:
    s = db(home)
    try:
        return (list(s.db.query("SELECT * FROM results ORDER BY id")),
                list(s.db.query("SELECT * FROM current ORDER BY urn")))
    finally:
        s.close()


def shown(widget) -> str:
    """The plain text of a Static, also when it holds a Rich table (side-by-side views)."""
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def table_text(table: DataTable) -> str:
    rows = []
    for r in range(table.row_count):
        rows.append(" | ".join(getattr(c, "plain", str(c)) for c in table.get_row_at(r)))
    return "\n".join(rows)


async def open_workbench(pilot, app) -> WorkbenchScreen:
    await pilot.press("w")
    scr = app.screen
    assert isinstance(scr, WorkbenchScreen)
    await wait_until(pilot, lambda: scr.history_loads > 0, what="history loaded")
    return scr


async def idle(pilot, scr, what: str, timeout: float = 20.0) -> None:
    await wait_until(pilot, lambda: scr.busy is None, timeout, what)
    await pilot.pause()


def save_prompt(app, text: str) -> None:
    """A designer's editor saving the prompt file (the console's watcher picks it up)."""
    (app.prompts.folder / "texture.prompt").write_text(text, encoding="utf-8")


# --- open, close, palette ----------------------------------------------------------------------

async def test_open_close_keys_and_palette(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Prompt workbench" in titles and "Rate selected result good" in titles
        scr = await open_workbench(pilot, app)
        assert len(scr.history) == 1 and scr.history[0].on_disk
        assert scr.history[0].version == app.prompts.get().version
        assert "on disk" in table_text(app.screen.query_one("#wb-history-table", DataTable))
        wb_titles = [c.title for c in app.get_system_commands(scr)]
        for t in ("Workbench: preview on 8 places", "Workbench: compare…", "Workbench: pin a set…",
                  "Workbench: re-run comparison", "Workbench: export ratings", "Workbench: restore version…"):
            assert t in wb_titles
        # the main screen's keys sleep while the workbench is up
        await pilot.press("b", "f")
        assert app.screen is scr
        for key, tab in (("2", "tab-preview"), ("3", "tab-compare"), ("4", "tab-ratings"), ("1", "tab-history")):
            await pilot.press(key)
            assert scr.active_tab() == tab
        await pilot.press("escape")
        assert app.screen is app._main_screen
        # reopening shows the same screen (its results survive)
        await pilot.press("w")
        assert app.screen is scr
        await pilot.press("w")
        assert app.screen is app._main_screen
        # from the palette
        await pilot.press("ctrl+p")
        await pilot.press(*"Prompt workbench")
        await wait_until(pilot, lambda: app.screen.query("CommandList") and app.screen.query_one("CommandList").option_count > 0,
                         what="palette hits")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkbenchScreen), what="workbench from palette")


# --- edit, history, diff, restore ----------------------------------------------------------------

async def test_edit_diff_and_roll_back(home, tmp_path, monkeypatch):
    script = tmp_path / "ed.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('\\nAlways mention the weather.\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.setattr(TextureApp, "suspend", lambda self: contextlib.nullcontext())  # headless: no terminal
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        scr = await open_workbench(pilot, app)
        path = app.prompts.folder / "texture.prompt"
        original, v_old = path.read_text(), app.prompts.get().version
        # edit from the workbench: e opens $EDITOR; the history gains the saved version
        await pilot.press("e")
        assert "Always mention the weather." in path.read_text()
        await wait_until(pilot, lambda: len(scr.history) == 2, what="edited version in the history")
        v_new = app.prompts.get().version
        assert v_new != v_old and scr.history[0].version == v_new and scr.history[0].on_disk
        assert scr.selected_version().version == v_old  # the cursor stays on its version
        # d with nothing marked: the selected version against the one on disk
        await pilot.press("d")
        view = rendered_text(scr.query_one("#wb-version-view"))
        assert f"diff {v_old} → {v_new}" in view and "+ Always mention the weather." in view
        # mark both, diff them (older first)
        await pilot.press("space", "up", "space")
        assert set(scr.marked_versions) == {v_old, v_new}
        await pilot.press("d")
        assert "+ Always mention the weather." in rendered_text(scr.query_one("#wb-version-view"))
        # R on the older version asks first; n keeps everything as it is
        await pilot.press("down")
        assert scr.selected_version().version == v_old
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert app.screen is scr and path.read_text() != original
        # roll back: y writes the old text to the file; the history gains a save
        await pilot.press("R")
        await pilot.press("y")
        await wait_until(pilot, lambda: scr.last_restored is not None, what="restore")
        assert path.read_text() == original
        assert app.prompts.get().version == v_old
        await wait_until(pilot, lambda: scr.history and scr.history[0].version == v_old, what="history after restore")
        top = scr.history[0]
        assert top.on_disk and top.restores == 1
        assert {v.version for v in scr.history} == {v_old, v_new}  # nothing lost
        s = db(home)
        try:
            actions = [r["action"] for r in s.db.query("SELECT action FROM wb_prompt_events ORDER BY id")]
        finally:
            s.close()
        assert actions[-1] == "restored" and "before_restore" in actions
        assert "Restored version" in " ".join(str(n.message) for n in app._notifications)


# --- preview -------------------------------------------------------------------------------------

async def test_preview_on_8_places_leaves_production_untouched(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        before = production(home)
        scr = await open_workbench(pilot, app)
        save_prompt(app, "Describe ${name} today.\n\nWeather: ${weather}\nResources: ${resources}\nEvents: ${events}\n")
        await wait_until(pilot, lambda: len(scr.history) == 2, what="saved version recorded")
        await pilot.press("v")
        assert scr.active_tab() == "tab-preview"
        await idle(pilot, scr, "preview")
        rows = scr.preview_rows
        assert len(rows) == 8
        assert [r.urn for r in rows] == [p.urn for p in wb.stratified_sample(app.places, app.cfg, 8)]
        assert {r.prompt_version for r in rows} == {app.prompts.get().version}  # the prompt as on disk
        assert all(r.production_text for r in rows)  # side by side with production
        assert production(home) == before  # production results untouched
        table = scr.query_one("#wb-preview-table", DataTable)
        assert table.row_count == 8 and "✓ valid" in table_text(table)
        view = shown(scr.query_one("#wb-preview-view"))
        assert "Production" in view and "Preview" in view and "facts" in view and "%" in view
        s = db(home)
        try:
            kinds = [r["kind"] for r in s.db.query("SELECT kind FROM wb_runs")]
        finally:
            s.close()
        assert kinds == ["preview"]

        # marked places in the queue are previewed instead of a sample
        await pilot.press("escape", "1", "space", "down", "space")
        marked = set(app.marked)
        assert len(marked) == 2
        await pilot.press("w", "v")
        await idle(pilot, scr, "preview of marked places")
        assert {r.urn for r in scr.preview_rows} == marked
        assert production(home) == before


# --- pinned set and compare ----------------------------------------------------------------------

async def test_compare_previous_version_on_pinned_set(home):
    sample = wb.stratified_sample(builtin_world(12), Config(), 8)
    broken = sample[0].urn
    # variant B (index 1, the previous version) fails on one place: a fallback rate of 1/8
    app = make_app(home, factory=Factory(script={wb.cell_key(1, 1, broken): {"error": "scripted failure"}}))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        scr = await open_workbench(pilot, app)
        before = app.prompts.get().text
        edited = "Be brief. " + before
        assert edited != before  # a real edit of the default prompt, whatever its wording
        save_prompt(app, edited)
        await wait_until(pilot, lambda: len(scr.history) == 2, what="edited version recorded")
        current, previous = scr.history[0].version, scr.history[1].version
        # k: pin the sampled places under a name
        await pilot.press("k")
        assert isinstance(app.screen, NameDialog)
        await pilot.press("ctrl+a", "ctrl+k", *"nightly", "enter")
        await wait_until(pilot, lambda: scr.current_set == "nightly", what="pinned set")
        s = db(home)
        try:
            assert wb.get_pinned(s, "nightly").urns == tuple(p.urn for p in sample)
        finally:
            s.close()
        # C: the dialog's defaults (this set, current vs previous) run with enter
        await pilot.press("C")
        assert isinstance(app.screen, CompareDialog)
        await pilot.press("enter")
        assert scr.active_tab() == "tab-compare"
        await idle(pilot, scr, "compare")
        res = scr.compare_result
        assert res is not None and len(res.urns) == 8 and len(res.variants) == 2
        a, b = (res.summaries[v.label] for v in res.variants)
        assert (a.prompt_version, b.prompt_version) == (current, previous)
        assert a.fallback_rate == 0 and b.fallback_rate == pytest.approx(1 / 8)
        assert a.fact_coverage is not None and b.fact_coverage is not None
        assert res.cell(res.variants[1].label, broken).reason == "error"
        summary = table_text(scr.query_one("#wb-summary-table", DataTable))
        assert "12%" in summary  # B's fallback rate
        assert f"{a.fact_coverage * 100:.0f}%" in summary
        matrix = scr.query_one("#wb-matrix", DataTable)
        assert matrix.row_count == 8 and "✗ error" in table_text(matrix)
        assert "facts" in shown(scr.query_one("#wb-cell-view"))
        # i: re-run; seeded generation gives identical texts for each variant
        await pilot.press("i")
        await idle(pilot, scr, "re-run")
        assert scr.rerun_identical == {v.label: True for v in res.variants}
        assert table_text(scr.query_one("#wb-summary-table", DataTable)).count("identical=yes") == 2

        # temperatures on the same set, chosen in the dialog from the keyboard
        await pilot.press("C")
        await pilot.press("shift+tab", *"0.2, 0.9", "shift+tab", "enter", "down", "enter", "tab", "enter")
        await idle(pilot, scr, "temperature compare")
        res = scr.compare_result
        assert [v.label for v in res.variants] == ["temp 0.2", "temp 0.9"]
        assert [res.summaries[v.label].temperature for v in res.variants] == [0.2, 0.9]
        assert len(res.urns) == 8


async def test_compare_without_previous_version_is_a_clear_error(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        scr = await open_workbench(pilot, app)
        await pilot.press("C", "enter")
        await idle(pilot, scr, "compare")
        assert scr.compare_result is None
        assert any("no previous version" in str(n.message) for n in app._notifications)


# --- ratings and export ----------------------------------------------------------------------------

async def test_rate_outputs_and_export(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        scr = await open_workbench(pilot, app)
        await pilot.press("v")
        await idle(pilot, scr, "preview")
        rows = scr.preview_rows
        # + good, - bad, n with a note (enter, then choose "bad")
        await pilot.press("plus")
        await wait_until(pilot, lambda: scr.ratings_done == 1, what="rating 1")
        await pilot.press("down", "minus")
        await wait_until(pilot, lambda: scr.ratings_done == 2, what="rating 2")
        await pilot.press("down", "n")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"too long", "enter")
        assert isinstance(app.screen.focused, OptionList)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: scr.ratings_done == 3, what="rating with a note")
        assert "+ good" in table_text(scr.query_one("#wb-preview-table", DataTable))
        s = db(home)
        try:
            got = {(r["urn"], r["rating"], r["note"]) for r in wb.ratings_list(s)}
        finally:
            s.close()
        assert got == {(rows[0].urn, "good", ""), (rows[1].urn, "bad", ""), (rows[2].urn, "bad", "too long")}
        assert scr.query_one("#wb-ratings-table", DataTable).row_count == 3

        # + in the main diff panel rates the selected place's current result
        await pilot.press("escape", "1")
        await diff_settled(pilot, app)
        urn = app.selected_urn
        await pilot.press("3", "plus")
        await wait_until(pilot, lambda: app.ratings_done == 1, what="main-screen rating")
        await diff_settled(pilot, app)
        assert "rated good" in rendered_text(app.query_one("#diff-facts"))
        s = db(home)
        try:
            r = wb.ratings_list(s, limit=1)[0]
            current = s.results_for(urn, 1)[0]
        finally:
            s.close()
        assert r["urn"] == urn and r["rating"] == "good" and r["result_id"] == current["id"]
        assert r["origin"].startswith("result:")

        # x exports every rating as JSONL and CSV in the data folder
        await pilot.press("w", "x")
        await wait_until(pilot, lambda: len(scr.last_exports) == 2, what="export")
        jsonl, csvp = scr.last_exports
        assert jsonl.parent == csvp.parent == locations.data_dir()
        assert jsonl.suffix == ".jsonl" and csvp.suffix == ".csv"
        lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
        assert [x["rating"] for x in lines] == ["good", "bad", "bad", "good"]
        assert lines[2]["note"] == "too long" and lines[0]["text"]
        with open(csvp, newline="", encoding="utf-8") as fh:
            assert len(list(csv.DictReader(fh))) == 4
        await wait_until(pilot, lambda: any(str(jsonl) in str(n.message) for n in app._notifications), what="notice")


async def test_main_screen_note_and_fact_marks(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        await pilot.press("1")
        await diff_settled(pilot, app)
        facts = rendered_text(app.query_one("#diff-facts"))
        assert "facts (" in facts and "%" in facts and any(m in facts for m in "✓✗!")
        assert "+ good  - bad  n note" in facts
        await pilot.press("n")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"reads well", "enter", "enter")  # no rating yet: enter picks the first (good)
        await wait_until(pilot, lambda: app.ratings_done == 1, what="rating with a note")
        await diff_settled(pilot, app)
        assert "rated good — reads well" in rendered_text(app.query_one("#diff-facts"))


async def test_metrics_show_fact_coverage_per_batch(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        s = db(home)
        try:
            m = json.loads(s.metrics(1)[0]["metrics"])
        finally:
            s.close()
        assert m["fact_coverage"] is not None
        assert f"facts {m['fact_coverage'] * 100:.0f}%" in rendered_text(app.query_one("#glance"))
