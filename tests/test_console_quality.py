"""The console's quality views: live metrics during a batch, the world view of every place, sorting
and filtering the queue by quality, marking the worst N and running a batch on them."""

from __future__ import annotations

import re
import time

import pytest
from textual.widgets import DataTable, Input

from console.live import LiveMetrics
from console.model import QueueRow, sort_rows
from fakes import Factory, diff_settled, finish_batch, make_app, ready, rendered_text, wait_until
from console.panels import LIVE_GLANCE_S
from console.widgets import MetricsPanel
from engine.builtin_world import builtin_world
from engine.config import Config
from engine.dispatch import BatchDone, BatchPlanned, PlannedItem, ResultStored
from engine.llm.events import PlaceFinished, PlaceStarted, Tokens
from engine.policy import decide
from engine.store import Store
from engine.world import make_place

pytestmark = pytest.mark.anyio

WORLD_12 = builtin_world(12)
ELIGIBLE = [p.urn for p in WORLD_12 if decide(p, Config()).eligible]


def _glance(app) -> str:
    return rendered_text(app.query_one("#glance"))


# --- running figures (console.live) --------------------------------------------------------------

def _planned(urns_model, urns_policy=()):
    items = [PlannedItem(u, u, "light", 80, True, None, 5.0) for u in urns_model]
    items += [PlannedItem(u, u, "template", 0, False, "tier", None) for u in urns_policy]
    return BatchPlanned(7, tuple(items), "auto", "m", "v")


def _stored(urn, source, reason=None, rid=1, latency=None):
    return ResultStored(7, rid, urn, "light", source, reason, None, latency, 10, 0)


def test_live_metrics_follow_the_batch_runners_definitions():
    lm = LiveMetrics()
    lm.apply(_planned(["a", "b", "c", "d"], ["t1", "t2"]))
    assert lm.snapshot()["fallback_pct"] is None  # nothing finished yet: no figure, not 0 %
    lm.apply(_stored("t1", "template", "tier", 1))
    lm.apply(_stored("t2", "template", "tier", 2))
    lm.apply(PlaceStarted("a", 0), now=100.0)
    lm.apply(PlaceStarted("b", 1), now=100.0)
    lm.apply(Tokens("a", 0, " x", 30), now=101.0)
    lm.apply(Tokens("b", 1, " y", 10), now=101.0)
    snap = lm.snapshot(now=102.0)
    assert snap["tokens_per_s"] == 20.0  # 40 tokens in the 2 s since the first place started
    assert snap["fallback_pct"] is None  # policy templates are not fallbacks
    lm.apply(PlaceFinished("a", 0, "text", None, 40), now=102.0)
    lm.apply(_stored("a", "llm", None, 3, latency=1500.0))
    lm.apply(_stored("b", "template", "timeout", 4, latency=5000.0))
    snap = lm.snapshot(now=104.0)
    assert snap["fallback_pct"] == 50.0 and snap["llm_finished"] == 2 and snap["finished"] == 4
    assert snap["avg_latency_ms"] == 3250.0
    assert snap["tokens_per_s"] == 12.5  # (40 + 10) / 4 s
    assert snap["reasons"] == {"tier": 2, "timeout": 1} and snap["fallback_base"] == 2
    lm.record_quality(3, "llm", 0.8, 0.9, llm_score=0.8, template_score=0.7)
    lm.record_quality(4, "template", 0.6, 0.7, llm_score=0.3, template_score=0.6)
    lm.record_quality(99, "llm", 0.0, 0.0)  # not a result of this batch: ignored
    snap = lm.snapshot(now=104.0)
    assert snap["average_quality"] == pytest.approx(0.7) and snap["accepted_llm_average_quality"] == pytest.approx(0.8)
    assert snap["llm_average_quality"] == pytest.approx(0.55) and snap["template_average_quality"] == pytest.approx(0.65)
    assert snap["fact_coverage"] == pytest.approx(0.8) and snap["llm_fact_coverage"] == pytest.approx(0.9)
    v = lm.version
    assert not lm.apply(ResultStored(8, 9, "z", "light", "llm", None, None, None, 1, 0))  # another batch's result
    lm.apply(BatchDone(7, {}))
    assert not lm.running and lm.version == v + 1


def test_sort_rows_by_quality_and_age():
    rows = [QueueRow(1, "a", "A", "light", quality=0.9, updated_at=30.0), QueueRow(1, "b", "B", "light"),
            QueueRow(1, "c", "C", "light", quality=0.2, updated_at=10.0),
            QueueRow(1, "d", "D", "light", quality=0.5, updated_at=20.0)]
    assert [r.urn for r in sort_rows(rows, "quality")] == ["c", "d", "a", "b"]  # unscored last
    assert [r.urn for r in sort_rows(rows, "-quality")] == ["a", "d", "c", "b"]
    assert [r.urn for r in sort_rows(rows, "age")] == ["b", "c", "d", "a"]  # no text is the oldest
    assert [r.urn for r in sort_rows(rows, None)] == ["a", "b", "c", "d"]


async def test_metrics_panel_fills_during_the_first_batch(home, monkeypatch):
    """Before: "No batch with model work yet" until the first batch ended. Now the running figures
    show while it runs, coalesced (a few redraws a second however many events arrive)."""
    held = ELIGIBLE[-1]
    # The held place's text is longer than its budget; the others' end after a few tokens, so the
    # held one has most of its budget left for the burst below.
    script = {urn: {"text": "Rain on the mill."} for urn in ELIGIBLE[:-1]}
    script[held] = {"text": " ".join(["word"] * 200)}
    factory = Factory(deadline_s=120, hold=held, script=script)
    app = make_app(home, factory=factory)
    calls = []
    plain = MetricsPanel.show_live
    monkeypatch.setattr(MetricsPanel, "show_live", lambda self, *a, **k: calls.append(1) or plain(self, *a, **k))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert "No batch with model work yet" in _glance(app)
        app.start_batch("all")
        # the other model places finish; the held one keeps the batch running until released
        await wait_until(pilot, lambda: factory.llm is not None and factory.llm.holding.is_set(), what="held place")
        await wait_until(pilot, lambda: app.state.live.model_finished >= len(ELIGIBLE) - 1, what="other places")
        # figures (whatever the gate made of the scripted texts), not dashes; tokens/s once the
        # batch has run for a moment (the glance is redrawn twice a second while it runs)
        await wait_until(pilot, lambda: re.search(r"fallback\s\d+\.\d%", _glance(app))
                         and re.search(r"tokens/s\s\d", _glance(app))
                         and f"model {len(ELIGIBLE) - 1}/" in _glance(app), what="running figures")
        glance = _glance(app)
        assert app.batch_running and "batch 1 running" in glance
        assert f"model {len(ELIGIBLE) - 1}/{len(ELIGIBLE)}" in glance
        assert re.search(r"tokens/s\s\d", glance)  # a running figure, not a dash
        s = Store(home / "texture.db")
        try:
            assert s.metrics() == []  # the batch has not recorded its metrics: these are live
        finally:
            s.close()
        # A burst of tokens from the held place: many events, few redraws of the panel (at most one
        # per LIVE_GLANCE_S of the time they took to arrive and be drawn, and far fewer than events).
        burst = 20
        events_before, calls_before, t0 = app.events.received, len(calls), time.monotonic()
        factory.llm.release(burst)
        await wait_until(pilot, lambda: app.events.received >= events_before + burst, what="the burst of tokens")
        await wait_until(pilot, lambda: factory.llm.holding.is_set() and len(app.events) == 0, what="burst drawn")
        app.flush_now()
        await pilot.pause()
        drawn, took = len(calls) - calls_before, time.monotonic() - t0
        assert app.batch_running and app.events.received - events_before >= burst
        assert drawn < burst and drawn <= 1 + took / LIVE_GLANCE_S
        await pilot.press("c")
        factory.llm.release_all()
        await finish_batch(pilot, app)
        glance = _glance(app)
        assert "running" not in glance and "batch 1" in glance  # the stored figures take over


# --- the world view ------------------------------------------------------------------------------

async def test_queue_lists_every_place_when_no_batch_ran(home):
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        table = app.query_one("#queue-table", DataTable)
        assert app.state.view == "world" and table.row_count == 12
        assert {r.state for r in app.state.world.values()} == {"no text"}
        assert "Places" in str(app.query_one("#queue").border_title)
        # a batch shows its own rows; v shows every place again, with what the batch stored
        app.start_batch("tier:light")
        await finish_batch(pilot, app)
        assert app.state.view == "batch" and table.row_count == len(ELIGIBLE)
        await pilot.press("1", "v")
        assert app.state.view == "world" and table.row_count == 12
        world = {r.urn: r for r in app.state.world.values()}
        s = Store(home / "texture.db")
        try:
            current = s.current_overview()
        finally:
            s.close()
        assert set(current) == set(ELIGIBLE)
        for urn in ELIGIBLE:  # what the store holds as the place's current description
            c = current[urn]
            assert (world[urn].source, world[urn].reason, world[urn].result_id) == (c["source"], c["reason"], c["result_id"])
            assert world[urn].state in ("done", "fell back") and world[urn].updated_at == c["updated_at"]
            assert world[urn].quality == c.get("quality")
        assert sum(r.state == "no text" for r in world.values()) == 12 - len(ELIGIBLE)
        # filter by reason in the world view, then open a place's diff from it
        app.set_filter(state="no text")
        assert table.row_count == 12 - len(ELIGIBLE)
        app.set_filter()
        table.move_cursor(row=[r.urn for r in app.state.visible()].index(ELIGIBLE[0]))
        await pilot.pause()
        await diff_settled(pilot, app)
        assert app.selected_urn == ELIGIBLE[0]
        assert "LLM" in rendered_text(app.query_one("#diff-llm")) or app.query_one("#diff-llm").render().plain
        await pilot.press("v")
        assert app.state.view == "batch" and table.row_count == len(ELIGIBLE)


async def test_world_view_shows_a_changed_place_and_the_last_batch_at_restart(home):
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
    # next start: the place's weather moved on since its text was written
    p0 = WORLD_12[0]
    moved = make_place(p0.urn, p0.name, p0.base, p0.temperature + 20, p0.conditions, p0.wind_speed,
                       list(p0.resources), list(p0.events))
    app = make_app(home, places=[moved, *WORLD_12[1:]])
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        assert app.state.view == "batch"  # a batch exists: the last one is shown, as before
        await pilot.press("1", "v")
        world = {r.urn: r for r in app.state.world.values()}
        assert world[p0.urn].state == "changed"
        assert all(r.state in ("done", "fell back") for u, r in world.items() if u != p0.urn)
        app.set_filter(state="changed")
        assert app.query_one("#queue-table", DataTable).row_count == 1


async def test_mark_first_n_then_batch_on_the_marked_places(home):
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("1", "o")  # a sort order: the marked rows are the first N shown in it
        assert app.state.sort == "quality"
        await pilot.press("k")
        inp = app.screen.query_one("#mark-n", Input)
        inp.value = ""
        await pilot.press("4", "enter")
        shown = [r.urn for r in app.state.visible(**app.filters)]
        assert app.marked == set(shown[:4])
        table = app.query_one("#queue-table", DataTable)
        assert [table.get_cell(f"w:{u}", "mark").plain for u in shown[:5]] == ["●"] * 4 + [" "]
        assert "4 marked" in rendered_text(app.query_one("#status"))
        await pilot.press("b")
        await pilot.press("down", "enter")  # "Selected places"
        await wait_until(pilot, lambda: app.batch_worker is not None, what="batch")
        await finish_batch(pilot, app)
        s = Store(home / "texture.db")
        try:
            b = s.batches(1)[0]
            assert b["selection"] == "selected x4" and {r["urn"] for r in s.batch_results(b["id"])} == set(shown[:4])
        finally:
            s.close()
        assert app.mark_first(0) == 0 and not app.marked


async def test_new_keys_are_in_the_footer_and_the_palette(home):
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        keys = rendered_text(app.query_one("#keys"))
        for label in ("v Places", "o Sort", "k Mark N", "f Filter", "q Quit", "^p palette"):
            assert label in keys, label  # none cut off: the bar takes a second line instead
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for t in ("Queue: every place", "Queue: batch rows", "Sort queue: quality, worst first",
                  "Sort queue: oldest text first", "Mark the first N rows…", "Clear marks"):
            assert t in titles, t


async def test_hostile_place_name_in_the_world_view_is_literal(home):
    hostile = make_place("urn:flux:place:test:hostile", "[bold red]X[/] \x1b[2J", "A base.", 10.0, "clear", 5.0, [], [])
    app = make_app(home, places=[hostile, *WORLD_12[:3]])
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        table = app.query_one("#queue-table", DataTable)
        cell = table.get_cell("w:urn:flux:place:test:hostile", "place")
        assert cell.plain.startswith("[bold red]X[/] ␛[2J")
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "[bold&#160;red]X[/]" in svg
