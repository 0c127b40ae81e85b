"""Pilot tests of the console against ScriptedLLM: every panel and every action."""

from __future__ import annotations

import json
import sys

import pytest
from textual.widgets import DataTable, OptionList

from console.app import TextureApp, default_llm_factory
from console.model import EventBuffer
from fakes import Factory, diff_settled, finish_batch, make_app, ready, rendered_text, wait_until
from console.widgets import DiffPanel, MetricsPanel, QueuePanel
from engine import locations
from engine.builtin_world import builtin_world
from engine.config import Config
from engine.llm.events import Tokens
from engine.policy import decide
from engine.store import Store

ELIGIBLE_12 = ["urn:flux:place:northreach:thistleford-mill-0000", "urn:flux:place:corsair:willowgate-mill-0008",
               "urn:flux:place:ironholt:hollowwatch-shrine-0009"]


# Async tests run on asyncio through anyio's pytest plugin (installed with anyio).
pytestmark = pytest.mark.anyio


def stored(home, batch_id=None):
    s = Store(home / "texture.db")
    try:
        b = s.batches(1)[0] if batch_id is None else next(x for x in s.batches(50) if x["id"] == batch_id)
        return b, s.batch_results(b["id"])
    finally:
        s.close()


# --- start ---------------------------------------------------------------------------------------

async def test_first_frame_without_model_and_template_batch_while_loading(home):
    """Everything that needs no model works while it loads; the batch waits for the model."""
    import threading

    gate = threading.Event()

    class Loading(Factory):
        def __call__(self, cfg):
            llm = super().__call__(cfg)
            llm.set_status("loading")

            def ready_later():
                gate.wait(10)
                llm.set_status("ready")

            threading.Thread(target=ready_later, daemon=True).start()
            return llm

    app = make_app(home, factory=Loading())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.ready_at is not None
        await wait_until(pilot, lambda: app.engine_state[0] == "loading", what="loading state")
        assert "loading" in rendered_text(app.query_one("#status"))
        # template-only places run at once
        assert app.start_batch("tier:template")
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["status"] == "done" and all(r["source"] == "template" for r in rows)
        # a batch with model work waits for the model instead of falling back
        assert app.start_batch("tier:light")
        await wait_until(pilot, lambda: app.state.batch.status == "waiting", what="waiting")
        gate.set()
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert {r["source"] for r in rows} == {"llm"}


async def test_service_missing_runs_template_only(home, monkeypatch):
    monkeypatch.setitem(sys.modules, "engine.llm.service", None)  # import fails like a missing file
    app = make_app(home, factory=default_llm_factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        assert app.engine_state[0] == "unavailable"
        assert app.start_batch("all")
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert len(rows) == 12
        assert {r["reason"] for r in rows if r["urn"] in ELIGIBLE_12} == {"model_unavailable"}
        assert any("unavailable" in str(n.message) for n in app._notifications)


# --- batches --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,arg,expect", [
    ("all", "", 12),
    ("tier:light", "", None),
    ("tier:template", "", None),
    ("random", "5", 5),
    ("match", "mill", None),
    ("changed", "", 12),
])
async def test_start_batch_kinds(home, kind, arg, expect):
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        assert app.start_batch(kind, arg)
        await finish_batch(pilot, app)
        b, rows = stored(home)
        places = builtin_world(12)
        if kind.startswith("tier:"):
            expect = sum(1 for p in places if decide(p, Config()).tier == kind[5:])
        if kind == "match":
            expect = sum(1 for p in places if "mill" in p.name.lower())
        assert b["places"] == len(rows) == expect
        assert len(app.query_one("#queue-table", DataTable).rows) == expect
        # nothing changed since: a "changed" batch has nothing to do
        if kind == "all":
            assert not app.start_batch("changed")


async def test_batch_dialog_selected_places(home):
    """Mark two rows with space, then b -> 'Selected places' -> enter."""
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        await pilot.press("1", "space", "down", "down", "space")
        assert len(app.marked) == 2
        await pilot.press("b")
        assert isinstance(app.screen.focused, OptionList)
        await pilot.press("down", "enter")  # second option: selected places
        await wait_until(pilot, lambda: app.batch_worker is not None and app.state.batch.batch_id == 2, what="batch 2")
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["selection"] == "selected x2"
        assert {r["urn"] for r in rows} == app.marked


async def test_batch_dialog_escape_and_random(home):
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("b", "escape")
        assert app.batch_worker is None
        await pilot.press("b")
        for _ in range(6):
            await pilot.press("down")
        await pilot.press("enter")  # "N random" with the default N=20 (capped at 12 places)
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["selection"] == "random 20" and len(rows) == 12


async def test_pause_resume(home):
    # The model stops at its first token until the test lets it go: the batch is surely running.
    factory = Factory(hold=1, alone=False, deadline_s=120)
    app = make_app(home, factory=factory)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("tier:light")
        await wait_until(pilot, lambda: factory.llm.holding.is_set() and any(l.busy for l in app.state.lanes),
                         what="a busy lane")
        await pilot.press("p")
        assert app.paused and factory.llm._paused.is_set()
        assert "PAUSED" in rendered_text(app.query_one("#status"))
        assert app.batch_running
        await pilot.press("u")
        assert not app.paused and not factory.llm._paused.is_set()
        factory.llm.release_all()
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["status"] == "done" and {r["source"] for r in rows} == {"llm"}


async def test_cancel_keeps_finished_and_marks_unfinished(home):
    places = builtin_world(150)
    # The model stops at the 13th request's first token (a few places are stored by then) until
    # the cancel has reached it: the streams are surely mid-batch when it comes.
    factory = Factory(hold=13, alone=False, deadline_s=120)
    app = make_app(home, places=places, factory=factory)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await wait_until(pilot, lambda: factory.llm.holding.is_set(), what="the model mid-batch")
        await wait_until(pilot, lambda: any(r.source == "llm" for r in app.state.rows.values()), what="first LLM result")
        await wait_until(pilot, lambda: any(l.busy for l in app.state.lanes), what="running streams")
        await pilot.press("c")
        await wait_until(pilot, lambda: factory.llm.job.cancelled.is_set(), what="the cancel at the model")
        tokens = factory.llm.tokens
        factory.llm.release_all()
        await wait_until(pilot, lambda: app.batch_worker.is_finished, 30, "cancel")
        # At once: the lanes of the step under way may each finish their token, no step follows
        # (counted in tokens, not seconds, so a busy machine cannot make it fail).
        assert factory.llm.tokens - tokens <= app.cfg.concurrency
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["status"] == "cancelled"
        assert len(rows) == len(places)  # never lost
        sources = {r["reason"] for r in rows}
        assert "cancelled" in sources
        assert any(r["source"] == "llm" for r in rows)  # finished results kept
        states = {r.state for r in app.state.rows.values()}
        assert "cancelled" in states and "queued" not in states and "running" not in states
        assert not any(l.busy for l in app.state.lanes)


async def test_rerun_selected_place(home):
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        await pilot.press("1", "down")
        urn = app.selected_urn
        assert urn == builtin_world(12)[1].urn
        await pilot.press("r")
        await finish_batch(pilot, app)
        b, rows = stored(home)
        assert b["selection"] == "rerun" and [r["urn"] for r in rows] == [urn]


async def test_second_batch_refused_while_running(home):
    app = make_app(home, factory=Factory(delay=0.02))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        assert app.start_batch("tier:light")
        assert not app.start_batch("all")
        await pilot.press("c")
        await finish_batch(pilot, app)


# --- panels ---------------------------------------------------------------------------------------

async def test_filters(home):
    app = make_app(home, factory=Factory(script={ELIGIBLE_12[0]: {"error": "boom"}}))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        table = app.query_one("#queue-table", DataTable)
        assert table.row_count == 12
        app.set_filter(state="fell back")
        assert table.row_count == 1
        app.set_filter(tier="light")
        assert table.row_count == 3
        app.set_filter(reason="tier")
        assert table.row_count == sum(1 for r in app.state.rows.values() if r.reason == "tier")
        app.set_filter(state="done", tier="light")
        assert table.row_count == 2
        # through the dialog: clear with ctrl+r
        await pilot.press("f")
        await pilot.press("ctrl+r")
        assert table.row_count == 12
        # through the dialog: choose a state
        await pilot.press("f")
        await pilot.press("enter", "down", "down", "down", "down", "enter")  # open, pick 'fell back'
        assert app.filters["state"] == "fell back"  # the queue follows at once
        assert table.row_count == 1
        await pilot.press("escape")
        assert app.filters["state"] == "fell back" and table.row_count == 1
        assert "filter" in str(app.query_one("#queue", QueuePanel).border_subtitle)


async def test_panel_focus_maximise_hide(home):
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        for key, pid in zip("12345", ("queue", "streams", "diff", "metrics", "prompts")):
            await pilot.press(key)
            assert app._focused_panel().id == pid
        await pilot.press("3", "m")
        assert app.screen.maximized is app.query_one("#diff")
        await pilot.press("m")
        assert app.screen.maximized is None
        await pilot.press("h")
        assert not app.query_one("#diff").display
        assert app._focused_panel().id != "diff"
        await pilot.press("1", "h")  # left column is now empty: hidden too
        assert not app.query_one("#left").display
        await pilot.press("3")
        assert app.query_one("#diff").display and app.query_one("#left").display
        await pilot.press("a")
        assert all(p.display for p in app.panels())
        # one panel can never hide the whole console
        for key in "1234":
            await pilot.press(key, "h")
        await pilot.press("5", "h")
        assert app.query_one("#prompts").display


async def test_live_streams_show_tokens(home):
    factory = Factory(delay=0.03)
    app = make_app(home, places=builtin_world(12)[:1], factory=factory)  # one light place
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")  # its 3 sentence requests (engine.compose) on 4 lanes
        await wait_until(pilot, lambda: any(l.busy and l.tokens >= 2 for l in app.state.lanes), what="tokens")
        views = list(app.query("LaneView"))
        text = "\n".join(rendered_text(v) for v in views)
        busy = [l for l in app.state.lanes if l.busy]
        assert any(l.name in text for l in busy)
        assert "tok/s" in text
        assert "idle" in text  # at most 3 requests on 4 lanes: one lane idles
        await finish_batch(pilot, app)
        assert all("idle" in rendered_text(v) for v in app.query("LaneView"))


async def test_diff_shows_texts_and_fallback_reason(home):
    urn = ELIGIBLE_12[1]
    app = make_app(home, factory=Factory(script={urn: {"error": "engine exploded"}}))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        idx = [r.urn for r in app.state.rows.values()].index(urn)
        await pilot.press("1")
        for _ in range(idx):
            await pilot.press("down")
        assert app.selected_urn == urn
        await diff_settled(pilot, app)
        diff = app.query_one("#diff", DiffPanel)
        head = rendered_text(diff.query_one("#diff-head"))
        assert "fell back: error" in head and "engine exploded" in head
        assert "Willowgate Mill" in head and "seed" in head and "prompt" in head
        template = rendered_text(diff.query_one("#diff-template"))
        assert "Willowgate Mill" in template or len(template) > 40
        assert "no model text" in rendered_text(diff.query_one("#diff-llm"))
        assert "Earlier results" in rendered_text(diff.query_one("#diff-history"))
        # an LLM place: both texts, word-level highlights on differing words
        idx0 = [r.urn for r in app.state.rows.values()].index(ELIGIBLE_12[0])
        app.query_one("#queue-table", DataTable).move_cursor(row=idx0)
        await pilot.pause()
        assert app.selected_urn == ELIGIBLE_12[0]
        await diff_settled(pilot, app)
        llm_text = diff.query_one("#diff-llm").render()
        assert len(llm_text.plain) > 40 and llm_text.spans  # the model text, highlighted words (any prompt)
        state = rendered_text(diff.query_one("#diff-state"))
        assert "weather" in state and "resources" in state and "events" in state


async def test_metrics_panel_after_batch(home):
    app = make_app(home, factory=Factory(script={ELIGIBLE_12[2]: {"error": "x"}}))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        app.start_batch("tier:light")
        await finish_batch(pilot, app)
        glance = rendered_text(app.query_one("#glance"))
        assert "batch 2" in glance and "fallback" in glance and "tokens/s" in glance and "memory" in glance
        panel = app.query_one("#metrics", MetricsPanel)
        await pilot.press("4", "m")
        await pilot.pause()
        svg = app.export_screenshot()
        assert "fallback" in svg and "latency" in svg and "tokens/s" in svg and "descriptions/min" in svg
        fb = panel.query_one("#chart-fallback").plt.build()
        assert "error" in fb  # the reason shows in the legend


async def test_theme_switch_remembered(home):
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        assert app.theme == "texture-dark"
        await pilot.press("t")
        assert app.theme == "texture-light"
    saved = json.loads(locations.settings_file().read_text())
    assert saved["theme"] == "texture-light"
    app2 = make_app(home)
    async with app2.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app2.theme == "texture-light"
        assert app2.theme_variables["background"].lower() == "#f6f4ef"


async def test_export_writes_jsonl(home):
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        await pilot.press("x")
        await wait_until(pilot, lambda: app.last_export is not None, what="export")
        path = app.last_export
        assert path.parent == locations.data_dir() and path.suffix == ".jsonl"
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert len(lines) == 12 and set(lines[0]) == {"urn", "text", "source", "state_hash", "updated_at", "quality"}
        await wait_until(pilot, lambda: any(str(path) in str(n.message) for n in app._notifications), what="notice")


async def test_command_palette_entries_and_run(home):
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for t in ("Batch: changed places", "Batch: selected places", "Batch: tier premium", "Batch: 20 random places",
                  "Batch: all places", "Pause", "Resume", "Cancel batch", "Re-run selected place",
                  "Edit selected prompt", "Switch theme", "Export", "Filter queue…"):
            assert t in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Batch: all places")
        await wait_until(pilot, lambda: app.screen.query("CommandList") and app.screen.query_one("CommandList").option_count > 0,
                         what="palette hits")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.batch_worker is not None, what="batch from palette")
        await finish_batch(pilot, app)
        assert stored(home)[0]["selection"] == "all"


async def test_edit_prompt_in_editor(home, tmp_path, monkeypatch):
    import contextlib

    script = tmp_path / "ed.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('\\nEdited by the test editor.\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    app = make_app(home)
    # The headless test driver cannot suspend; the real terminal does.
    monkeypatch.setattr(TextureApp, "suspend", lambda self: contextlib.nullcontext())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        before = app.prompts.get().version
        await pilot.press("5", "e")
        assert "Edited by the test editor." in (app.prompts.folder / "texture.prompt").read_text()
        assert app.prompts.get().version != before


def test_event_buffer_coalesces_tokens():
    buf = EventBuffer()
    for i in range(50):
        buf.put(Tokens("a", 0, f" w{i}", i + 1))
    buf.put(Tokens("b", 1, "x", 1))
    buf.put(Tokens("a", 0, " tail", 51))
    items = buf.drain()
    assert len(items) == 3 and buf.received == 52
    assert items[0].n_tokens == 50 and items[0].text_delta.startswith(" w0 w1") and items[2].text_delta == " tail"


@pytest.mark.slow
def test_bench_functions(home):
    from tools.bench.tui import measure_key_latency, measure_startup

    st = measure_startup(runs=1)
    assert st["first_frame_ms"] > 0 and st["first_frame_ms"] < 10_000
    kl = measure_key_latency(presses=10, places=120)
    for k in ("p50_ms", "p95_ms", "max_ms"):
        assert kl[k] >= 0
    assert kl["presses"] == 10 and kl["streams"] == 4


async def test_quit_during_batch_stores_unfinished_as_cancelled(home):
    places = builtin_world(120)
    app = make_app(home, places=places, factory=Factory(delay=0.03))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await wait_until(pilot, lambda: any(l.busy for l in app.state.lanes), what="running streams")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.batch_worker.is_finished, 5, "batch stopped")
    b, rows = stored(home)
    assert b["status"] == "cancelled" and len(rows) == len(places)
    assert any(r["reason"] == "cancelled" for r in rows)


async def test_a_batch_started_in_the_console_first_resumes_work_a_killed_process_left(home):
    """A killed process left a batch 'running' with unfinished places: the console's next batch
    resumes them exactly once before its own selection."""
    import json as _json

    from engine.store import ResultRow

    world = builtin_world(12)
    home.mkdir(parents=True, exist_ok=True)
    s = Store(home / "texture.db")
    items = [(p.urn, p.state_hash, "template", _json.dumps(p.to_json())) for p in world[:6]]
    dead = s.start_batch("all", 6, None, None, {}, items=items)
    s.add_results([ResultRow(dead, p.urn, p.state_hash, "template", "template", f"Old {p.urn}.", "T.") for p in world[:2]])
    s.close()
    app = make_app(home, places=world)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert app.start_batch("tier:template")
        await finish_batch(pilot, app)
    s = Store(home / "texture.db")
    try:
        batches = {b["id"]: b for b in s.batches(10)}
        assert batches[dead]["status"] == "interrupted"
        resumes = [b for b in batches.values() if (b["selection"] or "").startswith("resume of")]
        assert len(resumes) == 1 and resumes[0]["status"] == "done"
        resumed_urns = {r["urn"] for r in s.batch_results(resumes[0]["id"])}
        assert resumed_urns == {p.urn for p in world[2:6]}
    finally:
        s.close()


# --- garbage collection never lands on a key press -------------------------------------------------

async def test_gc_maintenance_freezes_during_batches_and_collects_when_idle(home):
    import gc
    import weakref

    class Node:
        pass

    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        assert gc.get_freeze_count() > 0  # frozen at mount

        def cyclic_garbage():
            a, b = Node(), Node()
            a.other, b.other = b, a
            ref = weakref.ref(a)
            del a, b
            return ref

        gc.disable()  # no automatic collection between the steps below
        try:
            # during a batch: survivors are frozen, no full collection runs
            app.batch_running = True
            # "long ago" without assuming the machine has been up for GC_FULL_EVERY_S (a fresh
            # CI machine's monotonic clock can be younger than that)
            long_ago = float("-inf")
            app._gc_full_at = long_ago
            ref = cyclic_garbage()
            app._gc_maintenance()
            assert ref() is not None and app._gc_full_at == long_ago
            gc.collect()  # a full pass no longer sees frozen objects
            assert ref() is not None
            # idle and due: a real full collection reclaims what was frozen, then freezes again
            app.batch_running = False
            app._gc_maintenance()
            assert ref() is None and app._gc_full_at > 0 and gc.get_freeze_count() > 0
            # idle but not due yet: only a freeze
            ref = cyclic_garbage()
            app._gc_maintenance()
            gc.collect()
            assert ref() is not None
        finally:
            gc.enable()


async def test_charts_are_built_once_per_change_not_per_repaint(home, monkeypatch):
    from textual_plotext import PlotextPlot

    from console.widgets import Chart

    built = []
    plain = PlotextPlot.render
    monkeypatch.setattr(PlotextPlot, "render", lambda self: built.append(self.id) or plain(self))
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "m")  # metrics maximised: every chart on screen
        await pilot.pause()
        chart = app.query_one("#chart-tps", Chart)
        n = built.count("chart-tps")
        assert n >= 1
        for key in ("m", "m", "1", "4", "m"):  # restore, maximise, focus out and in: repaints only
            await pilot.press(key)
            await pilot.pause()
        chart.refresh()
        await pilot.pause()
        assert built.count("chart-tps") == n
        chart.changed()  # new data: built again, once
        await pilot.pause()
        assert built.count("chart-tps") == n + 1
