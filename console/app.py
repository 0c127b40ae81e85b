"""World Texture Console: the Textual app, the product's face.

Threads, and why:
- The UI thread only draws. It never waits on the engine.
- A batch runs ``BatchRunner.run`` in a thread worker (group "batch") with its *own* Store
  connection, opened in that thread (SQLite connections stay on the thread that opened them).
- The model service is started from a thread worker (group "service"): constructing it may import
  MLX and load weights, which must not delay the first frame.
- Engine events land in :class:`console.model.EventBuffer` from the batch thread; a 15 Hz timer on
  the UI drains it, so a stream of tokens costs at most 15 repaints a second.
- The prompt watcher (``_run_prompt_watcher``) is an async worker around ``watchfiles.awatch``.

Keys (every action is also in the command palette, ctrl+p):
  b batch dialog (changed / selected / tier / N random / matching / all)   p pause   u resume
  c cancel   r re-run the selected place   space mark a queue row (for "selected")
  f filter the queue (state, tier, reason)   e edit the selected prompt in $EDITOR
  t switch theme (remembered)   x export JSONL to the data folder   s save an SVG screenshot
  1-5 focus (and show) queue, streams, diff, metrics, prompts   m maximise/restore
  h hide the focused panel   a show all panels   q quit (cancels a running batch first)
  w the prompt workbench (console/workbench.py)   + / - rate the selected place's current result
  good / bad   n rate it with a note
  v the queue lists every place with its current text (source, reason, quality, age) / the batches
  o sort the queue (quality worst/best first, oldest, reason)   k mark the first N rows shown

Test seams: ``TextureApp(llm_factory=...)`` / ``run_console(..., llm_factory=...)`` take any
``factory(cfg)`` returning an :class:`engine.llm.base.LLMService` (ScriptedLLM in tests; the
console follows its status through ``add_status_listener``);
``TEXTURE_SCRIPTED=1`` (with ``TEXTURE_SCRIPTED_DELAY`` seconds per token) uses ScriptedLLM for
demos; ``deterministic=True`` hides clocks and timings for snapshot tests.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import shlex
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual.color import Color
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.reactive import Reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from engine import locations
from engine.config import Config
from engine.dispatch import BatchRunner, changed_places
from engine.llm.base import LLMService
from engine.llm.events import EngineStatus

from .auto import AutoMode, refresh_cycles_chart
from engine.factcheck import check_facts
from engine.policy import decide
from engine.prompts import DEFAULT_PROMPT, PromptLibrary
from engine.store import Store, StoreError
from engine.templates import render_template
from engine.world import Place

from .qualityview import stored_scores
from ._textual_compat import LeanMaximizeScreen, set_screen_update_period
from .messages import EngineStateChanged
from .model import SORTS, STATES, WORLD_STATES, ConsoleState, EventBuffer
from .screens import BatchDialog, FilterDialog, MarkDialog
from .textview import clip, resolve_color, safe
from .themes import DEFAULT_DARK, DEFAULT_LIGHT, load_settings, load_themes, save_settings
from .widgets import (Column, DiffPanel, KeyBar, MetricsPanel, Panel, PromptsPanel, QueuePanel, Row, StatusBar,
                      StreamsPanel, Styles)

FLUSH_HZ = 15
# The running batch's figures in the metrics panel (console.live): glance line and charts, at most
# this often: each redraw is work on the UI thread while keys are pressed. Alternating runs of
# console.bench's key presses during a 4-stream batch, on a shared 2-core machine (load ~15), did
# not tell the console with live figures from the one without (p50 61-111 ms both ways).
LIVE_GLANCE_S = 0.5
LIVE_CHARTS_S = 2.0
PANEL_IDS = ("queue", "streams", "diff", "metrics", "prompts")
# Actions that make no sense while a dialog is open (app bindings stay active on modal screens).
MAIN_SCREEN_ONLY = {"save_svg", "new_batch", "pause", "resume", "cancel", "rerun", "edit_prompt", "export", "filter",
                    "mark", "focus_panel", "maximise", "hide_panel", "show_all", "switch_theme", "workbench",
                    "rate", "note", "toggle_view", "sort", "mark_first"}

LLMFactory = Callable[[Config], LLMService]


GC_FREEZE_EVERY_S = 5.0
GC_FULL_EVERY_S = 300.0
# Screen updates per second at most. Textual's default (60) paints a changed screen at the next
# tick of a 16.7 ms timer; at 120 a key press is on screen ~8 ms sooner on average. Measured with
# timed key presses during a 4-stream batch (python -m console.bench's method), same machine,
# alternating runs: scripted model p50 45-47 -> 30-32 ms, p95 99 -> 64-66 ms; real model p50
# 45 -> 31 ms, p95 79 -> 60 ms. 240 gained nothing more with the real model. Renders still
# happen only when something changed, so an idle console costs the same. TEXTUAL_FPS overrides.
SCREEN_FPS = 120


class ServiceMissing(RuntimeError):
    """engine.llm.service is not installed/importable: the console runs template-only."""


def default_llm_factory(cfg: Config, log: Callable[[str], None] | None = None, on_status=None):
    """The real model service, or a ScriptedLLM when TEXTURE_SCRIPTED=1 (demos, screenshots)."""
    if os.environ.get("TEXTURE_SCRIPTED") == "1":
        from engine.llm.scripted import ScriptedLLM

        delay = float(os.environ.get("TEXTURE_SCRIPTED_DELAY", "0.06"))
        return ScriptedLLM(concurrency=cfg.concurrency, token_delay_s=delay, model_id="scripted")
    try:
        from engine.llm.service import start_service
    except ImportError as exc:
        raise ServiceMissing(f"engine.llm.service is not available ({exc})") from None
    return start_service(cfg, log=log or (lambda m: None), on_status=on_status)


class _UI:
    def __init__(self, status, main, queue, streams, diff, metrics, prompts) -> None:
        self.status, self.main = status, main
        self.queue: QueuePanel = queue
        self.streams: StreamsPanel = streams
        self.diff: DiffPanel = diff
        self.metrics: MetricsPanel = metrics
        self.prompts: PromptsPanel = prompts


class MainScreen(LeanMaximizeScreen):
    """The console's main screen: a focus change repaints only the widgets it restyles.

    Textual's Screen repaints the *whole* screen whenever its ``focused`` reactive changes: a
    full compositor render of every panel on each focus key. The widgets that gain and lose
    focus (and the panel titles, see TextureApp._focus_moved) repaint themselves already.
    Maximising restyles only the panel (see console._textual_compat.LeanMaximizeScreen).
    """

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class TextureApp(App[int]):
    @property
    def engine_state(self) -> tuple[str, str, float | None]:
        """(state, detail, progress) of the model service; written from any thread."""
        return self._engine_state

    @engine_state.setter
    def engine_state(self, value: tuple[str, str, float | None]) -> None:
        self._engine_state = value
        if value[0] == "loading":
            self._model_settled.clear()
        else:
            self._model_settled.set()
        if self._post_engine_state:
            self.post_message(EngineStateChanged(value))

    def on_engine_state_changed(self, message: EngineStateChanged) -> None:
        self._update_status()

    def wait_for_model(self, cancel: threading.Event, while_waiting: Callable[[], None] | None = None) -> bool:
        """Block a worker thread while the model loads (the one wait the batch, the workbench and
        auto mode share); False if ``cancel`` or the app's exit ended the wait first."""
        while not self._model_settled.wait(0.1):  # wakes at once when loading ends
            if cancel.is_set() or self._stop.is_set():
                return False
            if while_waiting is not None:
                while_waiting()
        return not (cancel.is_set() or self._stop.is_set())


    """The operator console."""

    CSS_PATH = "app.tcss"
    TITLE = "World Texture Console"
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("b", "new_batch", "Batch"),
        Binding("p", "pause", "Pause"),
        Binding("u", "resume", "Resume"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "rerun", "Rerun"),
        Binding("space", "mark", "Mark", show=False),
        Binding("v", "toggle_view", "Places"),
        Binding("o", "sort", "Sort"),
        Binding("k", "mark_first", "Mark N"),
        Binding("f", "filter", "Filter"),
        Binding("e", "edit_prompt", "Edit"),
        Binding("t", "switch_theme", "Theme"),
        Binding("x", "export", "Export"),
        Binding("w", "workbench", "Workbench"),
        Binding("g", "auto", "Auto", show=False),  # auto mode (console/auto.py); also in the palette
        Binding("plus", "rate('good')", "Good", show=False),
        Binding("minus", "rate('bad')", "Bad", show=False),
        Binding("n", "note", "Note", show=False),
        Binding("m", "maximise", "Max"),
        Binding("h", "hide_panel", "Hide"),
        Binding("a", "show_all", "Show all", show=False),
        Binding("1", "focus_panel(0)", "Queue", show=False),
        Binding("2", "focus_panel(1)", "Streams", show=False),
        Binding("3", "focus_panel(2)", "Diff", show=False),
        Binding("4", "focus_panel(3)", "Metrics", show=False),
        Binding("5", "focus_panel(4)", "Prompts", show=False),
        Binding("s", "save_svg", "Screenshot", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        cfg: Config,
        places: list[Place],
        errors: Iterable = (),
        *,
        db_path: Path | str | None = None,
        llm_factory: LLMFactory | None = default_llm_factory,
        pull: bool = False,
        deterministic: bool = False,
        prompts_dir: Path | str | None = None,
        exit_on_ready: bool = False,
        world_path: Path | str | None = None,
        auto_changes: Callable[[Any], Any] | None = None,
    ) -> None:
        if "TEXTUAL_FPS" not in os.environ:
            set_screen_update_period(1 / SCREEN_FPS)  # read when a screen is created
        super().__init__()
        self.t_constructed = time.perf_counter()
        self.cfg = cfg
        self.places = list(places)
        self.by_urn = {p.urn: p for p in self.places}
        self.world_errors = list(errors)
        self.world_path = Path(world_path) if world_path else None  # watched by auto mode
        self.auto = AutoMode(self, auto_changes)
        self.db_path = Path(db_path) if db_path else locations.default_db()
        self.llm_factory = llm_factory
        self.pull = pull
        self.deterministic = deterministic
        self.exit_on_ready = exit_on_ready
        self.prompts_dir = Path(prompts_dir) if prompts_dir else (
            Path(cfg.prompts_dir) if cfg.prompts_dir else locations.default_prompts_dir())
        self.state = ConsoleState(cfg.concurrency, {p.urn: p.name for p in self.places})
        self.events = EventBuffer()
        self.llm = None
        self.cluster_llm = None  # engine.cluster.ClusterLLM, started by the first batch run on the cluster
        self._model_settled = threading.Event()  # set while the model is not loading (ready, failed, ...)
        self._post_engine_state = False  # on_mount turns it on: messages need a running app
        self.engine_state = ("loading", "starting the model service", None)
        self.paused = False
        self.batch_running = False
        self.selected_urn: str | None = None
        self.marked: set[str] = set()
        self.filters: dict = {"state": None, "tier": None, "reason": None, "quality": None}
        self.last_export: Path | None = None
        self.last_screenshot: Path | None = None
        self.ready_at: float | None = None  # time.time() of the first frame
        self.store: Store | None = None
        self.prompts: PromptLibrary | None = None
        self._runner: BatchRunner | None = None
        self.batch_worker: Worker | None = None
        self._batch_cancel = threading.Event()
        self._stop = threading.Event()  # app is closing: loaders stop waiting
        self._watch_stop = None  # asyncio.Event for awatch (created on the loop)
        self.watcher_started_at: float | None = None
        self._styles: Styles | None = None
        self._theme_names: list[str] = []
        self._shown_engine = None
        self._select_timer = None
        self._status_shown: Text | None = None
        self._queue_dirty_at = 0.0
        self._diff_live_at = 0.0
        self._live_shown = (None, 0)  # (batch id, LiveMetrics.version) the metrics panel shows
        self._live_at = 0.0
        self._live_charts_at = 0.0
        self._rng = random.Random(0) if deterministic else random.Random()
        self._service_notified = False
        self._main_screen: Screen | None = None
        self._workbench = None  # the workbench screen, installed on first use (keeps its state)
        self.ratings_done = 0  # ratings saved from the main screen (tests wait on it)

    # ------------------------------------------------------------------ layout
    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield StatusBar(Text("World Texture Console"), id="status", markup=False)
        with Row(id="main"):
            with Column(id="left", classes="column"):
                yield QueuePanel(id="queue")
                yield DiffPanel(id="diff")
            with Column(id="right", classes="column"):
                yield StreamsPanel(self.state.lanes, id="streams")
                yield MetricsPanel(id="metrics")
                yield PromptsPanel(id="prompts")
        yield KeyBar(id="keys", markup=False)

    def _gc_maintenance(self) -> None:
        """Keep the cycle collector's full passes short (measured: 70 ms each, twice in 10 s of a
        4-stream batch, each one a key press answered late).

        Every few seconds the objects that survived so far are frozen (cheap: it moves lists), so
        a full pass only scans what was allocated since. Cyclic garbage frozen that way is
        reclaimed by a real full collection, run only while no batch runs and at most every few
        minutes.
        """
        now = time.monotonic()
        if not self.batch_running and now - self._gc_full_at >= GC_FULL_EVERY_S:
            gc.unfreeze()
            gc.collect()
            self._gc_full_at = now
        gc.freeze()

    def panels(self) -> list[Panel]:
        return [self.ui.queue, self.ui.streams, self.ui.diff, self.ui.metrics, self.ui.prompts]

    def on_mount(self) -> None:
        self._post_engine_state = True
        # The world, the widgets and the imported libraries live for the whole session: move them
        # out of the collector's generations so a full collection never stalls a key press.
        gc.collect()
        gc.freeze()
        self._gc_full_at = time.monotonic()
        self.set_interval(GC_FREEZE_EVERY_S, self._gc_maintenance)
        # Direct references: App.query_one searches the *current* screen, which is a dialog
        # while one is open, and the engine keeps streaming meanwhile.
        main = self.screen
        self._main_screen = main
        self.ui = _UI(main.query_one("#status", StatusBar), main.query_one("#main"),
                      *(main.query_one(f"#{pid}") for pid in PANEL_IDS))
        self.ui.keys = main.query_one("#keys", KeyBar)
        themes, errors = load_themes()
        for th in themes:
            self.register_theme(th)
        self._theme_names = [th.name for th in themes]
        for err in errors:
            self.notify(f"theme file skipped: {err}", severity="warning", markup=False)
        wanted = load_settings().get("theme") or DEFAULT_DARK
        self.theme = wanted if wanted in self.available_themes else DEFAULT_DARK
        self._styles = Styles(self)
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.store = Store(self.db_path)  # the UI thread's own read connection
        self.prompts = PromptLibrary(self.prompts_dir)
        self.set_interval(1 / FLUSH_HZ, self._flush_events, name="engine-flush")
        self.watch(main, "focused", self._focus_moved, init=False)
        self.ui.queue.focus_target().focus()
        self._load_service()
        self._run_prompt_watcher()
        self.call_after_refresh(self._load_initial)
        if self.world_errors:
            self.notify(f"{len(self.world_errors)} bad line(s) in the world file were skipped "
                        f"(first: {self.world_errors[0]})", severity="warning", markup=False, timeout=8)

    def flush_now(self) -> None:
        """Apply buffered engine events at once (tests; the timer does this 15 times a second)."""
        self._flush_events()

    def on_ready(self) -> None:
        self.ready_at = time.time()
        self.t_ready = time.perf_counter()
        if self.exit_on_ready:
            self.exit(0)

    def _load_initial(self) -> None:
        """History from the store, after the first frame is up."""
        batches = self.store.batches(1)
        if batches:
            self.state.load_history(self.store.batch_results(batches[0]["id"]))
        self._load_world()
        if not batches:
            self.state.view = "world"  # no batch yet: the queue lists every place instead of nothing
        self._rebuild_queue()
        self._refresh_metrics()
        self._refresh_prompts()
        rows = self.state.active()
        if rows:
            self._select(next(iter(rows.values())).urn, now=True)
        self._update_status()
        self._update_keybar()

    # ------------------------------------------------------------------ engine events
    def _flush_events(self) -> None:
        """Drain engine events (coalesced) and redraw what they changed."""
        if self._stop.is_set() or not self.is_running or not self.ui.queue.is_attached:
            return  # closing: the widgets may already be gone
        try:
            self._apply_events()
        except NoMatches:  # a panel torn down while the app shuts down
            if self.is_running and not self._stop.is_set():
                raise

    def _apply_events(self) -> None:
        events = self.events.drain()
        ch = self.state.apply(events) if events else None
        if ch is not None and ch.stored_ids:
            self.state.apply_quality(self._stored_quality(list(ch.stored_ids)), ch)
        queue = self.ui.queue
        now = time.monotonic()
        if ch is not None:
            filtering = any(self.filters.values()) or self.state.sort is not None
            rebuild = ch.rebuild and (self.state.view == "batch" or ch.planned)
            if rebuild or len(ch.rows) > 300:
                self._rebuild_queue(top=ch.planned)
            elif ch.rows:
                if filtering:
                    # Rows may enter or leave the filter or move in the sort: rebuild, at most twice a second.
                    self._queue_dirty_at = self._queue_dirty_at or now
                else:
                    rows = [self.state.row(k) for k in ch.rows]
                    queue.update_rows([r for r in rows if r is not None], self.marked, self._styles, self.deterministic)
            if ch.batch_done is not None:
                self._batch_done(ch.batch_done)
            sel = self.selected_urn
            if sel and sel in ch.stored_urns:
                self._refresh_diff()
        if self._queue_dirty_at and now - self._queue_dirty_at > 0.5:
            self._queue_dirty_at = 0.0
            self._rebuild_queue()
        if (ch is not None and ch.lanes) or any(l.busy for l in self.state.lanes):
            self.ui.streams.sync(self.state.lanes, self._styles, self.deterministic)
            sel = self.selected_urn
            if sel and now - self._diff_live_at > 0.5 and any(l.urn == sel for l in self.state.lanes):
                self._diff_live_at = now
                self._refresh_diff()
        if ch is not None and ch.live or self.state.live.running:
            self._refresh_live_metrics(now)
        if ch is not None or self.batch_running or self._shown_engine != self.engine_state:
            self._update_status()
        if self._shown_engine != self.engine_state:
            self._engine_changed()

    def _stored_quality(self, ids: list[int]) -> dict[int, tuple]:
        """result id -> the scores of results just stored (qualityview.stored_scores): one read
        (WAL: never blocked by the batch's writes) per 500 results, on the UI's own connection."""
        return {r["id"]: stored_scores(r) for r in self.store.quality_scores(ids)}

    def _batch_done(self, summary: dict) -> None:
        status = summary.get("status", "done")
        src = summary.get("by_source", {})
        reasons = summary.get("reasons", {})
        fell = sum(v for k, v in reasons.items() if k != "tier" and not k.startswith("rule:"))
        msg = (f"batch {summary.get('batch_id')} {status}: {summary.get('places', 0):,} places, "
               f"{src.get('llm', 0):,} by the model, {src.get('template', 0):,} templates ({fell:,} fell back)")
        if summary.get("notice"):
            msg += f"\n{summary['notice']}"
        self.notify(msg, title="Batch", severity="warning" if status == "cancelled" or summary.get("notice") else "information",
                    markup=False, timeout=6)
        self._refresh_metrics()
        self._refresh_diff()
        self.refresh_bindings()

    # ------------------------------------------------------------------ panels
    def _rebuild_queue(self, top: bool = False) -> None:
        st = self.state
        rows = st.visible(**self.filters)
        queue = self.ui.queue
        queue.rebuild(rows, self.marked, self._styles, self.deterministic, top=top, view=st.view)
        f = ", ".join(f"{k}={v}" for k, v in self.filters.items() if v)
        sort = dict(SORTS).get(st.sort) if st.sort else None
        queue.border_subtitle = (f"{len(rows):,} {'places' if st.view == 'world' else 'rows'}" + (f" · filter {f}" if f else "")
                                 + (f" · sort {sort}" if sort else ""))

    def _load_world(self) -> None:
        """The world view's rows: every place with its current description (one store query)."""
        try:
            current = self.store.current_overview()
        except Exception as exc:  # an old or damaged database must not take the queue down
            current = {}
            self.notify(f"Could not read the current descriptions: {exc}", severity="warning", markup=False)
        self.state.load_world(self.places, current, lambda p: decide(p, self.cfg).tier)

    def _refresh_metrics(self) -> None:
        metrics = self.store.metrics(30)
        batches = self.store.batches(12)
        latencies: list[float] = []
        for b in batches[:3]:
            latencies += [r["latency_ms"] for r in self.store.batch_results(b["id"])
                          if r["latency_ms"] is not None and r["source"] in ("llm", "template") and r["tokens"] is not None]
        deadlines = list(self.state.batch.deadlines)
        if not deadlines and self.llm is not None:
            try:
                deadlines = [self.cfg.timeout_ms / 1000.0] if self.cfg.timeout_ms else [self.llm.deadline_for(self.cfg.budgets["full"])]
            except Exception:
                deadlines = []
        live = self.state.live.snapshot() if self.state.live.running else None
        self._live_shown = (self.state.live.batch_id, self.state.live.version)
        self.ui.metrics.show(metrics, batches, latencies, deadlines, self._styles, self.deterministic, live=live)
        refresh_cycles_chart(self)

    def _refresh_live_metrics(self, now: float) -> None:
        """The running batch's figures (console.live), coalesced: the glance line at most twice a
        second, the charts every 2 s (each rebuilt only if its data moved), whatever the event rate."""
        live = self.state.live
        metrics = self.ui.metrics
        main = self._main_screen
        if not metrics.display or (main is not None and main.maximized is not None and main.maximized is not metrics):
            return
        moved = self._live_shown != (live.batch_id, live.version)
        if not live.running and not moved:
            return
        if now - self._live_at < LIVE_GLANCE_S:
            return
        self._live_at = now
        self._live_shown = (live.batch_id, live.version)
        snap = live.snapshot()
        charts = now - self._live_charts_at >= LIVE_CHARTS_S
        if charts:
            self._live_charts_at = now
        metrics.show_live(snap, self._styles, self.deterministic, charts=charts)

    def _refresh_prompts(self) -> None:
        panel = self.ui.prompts
        panel.show(self.prompts.status(), self._styles, self.deterministic)
        self._refresh_preview()
        if self._workbench is not None:
            self._workbench.prompts_changed()

    def _refresh_preview(self) -> None:
        panel = self.ui.prompts
        name = panel.selected_name() or DEFAULT_PROMPT
        prompt = self.prompts.get(name)
        place = self.by_urn.get(self.selected_urn or "")
        title = Text.assemble(("Preview ", self._styles.label))
        if prompt is None:
            panel.show_preview(title, Text(f"prompt {name!r} has no good version", style=self._styles.error))
            return
        if place is None:
            panel.show_preview(title, Text("select a place to render this prompt for it", style=self._styles.dim))
            return
        title.append_text(safe(f"{name} v{prompt.version} for {place.name}", self._styles.dim))
        panel.show_preview(title, safe(prompt.render(place, decide(place, self.cfg).tier)))

    def _refresh_diff(self) -> None:
        urn = self.selected_urn
        if not urn:
            return
        place = self.by_urn.get(urn)
        results = self.store.results_for(urn, 10)
        live = next((l.text for l in self.state.lanes if l.urn == urn), None)
        template_now = render_template(place) if place else ""
        latest = results[0] if results else None
        facts = rating = None
        if latest is not None and live is None:
            if place is not None and place.state_hash == latest["state_hash"]:
                facts = check_facts(place, latest["text"] or "")  # pure string work, about a millisecond
            rating = self.store.latest_rating(latest["id"])
        self.ui.diff.show(place, urn, results, template_now, live, self.cfg, self._styles,
                          self.deterministic, facts=facts, rating=rating)

    def _select(self, urn: str | None, now: bool = False) -> None:
        if urn == self.selected_urn:
            return
        self.selected_urn = urn
        # Debounced: holding an arrow key moves the cursor at full speed and the diff (a layout
        # pass of the whole screen) redraws once the cursor rests for a moment.
        if self._select_timer is not None:
            self._select_timer.stop()
            self._select_timer = None
        if now:
            self._show_selected()
        else:
            self._select_timer = self.set_timer(0.04, self._show_selected, name="select-debounce")

    def _show_selected(self) -> None:
        self._select_timer = None
        self._refresh_diff()
        self._refresh_preview()

    @on(DataTable.RowHighlighted, "#queue-table")
    def _queue_row(self, ev: DataTable.RowHighlighted) -> None:
        key = ev.row_key.value if ev.row_key is not None else None
        row = self.state.row(key)
        if row is not None:
            self._select(row.urn)

    @on(DataTable.RowHighlighted, "#prompt-table")
    def _prompt_row(self, ev: DataTable.RowHighlighted) -> None:
        self._refresh_preview()

    def _update_status(self) -> None:
        st = self._styles
        t = Text()
        t.append(" World Texture ", style=st.label)
        state, detail, progress = self.engine_state
        t.append("model ", style=st.dim)
        mstyle = {"ready": st.done, "loading": st.running, "failed": st.cancelled}.get(state, st.fell_back)
        label = state + (f" {progress * 100:.0f}%" if progress is not None and state == "loading" else "")
        t.append(label, style=mstyle)
        model_id = getattr(self.llm, "model_id", None)
        if model_id and state == "ready":
            t.append_text(safe(f" {clip(model_id, 24)}", st.dim))
        elif detail and state != "ready":
            narrow = (self.size.width or 120) < 100
            t.append_text(safe(f" {clip(detail, 18 if narrow else 40)}", st.dim))
        b = self.state.batch
        if b.batch_id is not None or self.batch_running:
            t.append(" │ ", style=st.dim)
            status = b.status if not self.batch_running or b.status not in ("done", "cancelled") else "running"
            if self.batch_running and b.status == "waiting":
                status = "waiting for model"
            t.append(f"batch {b.batch_id or '…'} {status} ")
            t.append(f"{b.finished:,}/{b.total:,}", style=st.label)
            if self.batch_running and not self.deterministic and b.started:
                t.append(f" {time.monotonic() - b.started:4.0f}s", style=st.dim)
        if self.cluster_llm is not None and self.cluster_llm.ready():
            t.append_text(safe(f" │ {self.cluster_llm.size_label()}", st.dim))
        auto = self.auto.label()
        if auto:
            t.append(" │ ", style=st.dim)
            t.append_text(safe(auto, st.running))
        if self.paused:
            t.append(" │ ", style=st.dim)
            t.append("PAUSED", style=st.fell_back)
        if any(self.filters.values()):
            t.append(" │ filtered", style=st.dim)
        if self.marked:
            t.append(f" │ {len(self.marked)} marked", style=st.dim)
        if t != self._status_shown:  # redraw (without a layout pass) only when it changed
            self._status_shown = t
            self.ui.status.update(t, layout=False)

    def _engine_changed(self) -> None:
        self._shown_engine = self.engine_state
        state, detail, _ = self.engine_state
        if state in ("unavailable", "failed") and not self._service_notified:
            self._service_notified = True
            self.notify(f"Model {state}: {detail}. Template-only until it is fixed.", severity="warning",
                        markup=False, timeout=8)
        self.refresh_bindings()
        self._refresh_metrics() if state == "ready" and self.store is not None else None

    def _on_theme_changed(self, theme) -> None:
        save_settings(theme=theme.name)
        self._styles = Styles(self)
        panel = self._panel_of(self._main_screen.focused if self._main_screen else None)
        if panel is not None:
            panel.show_focus(self._focus_look())
        if self.store is None:
            return
        self._rebuild_queue()
        self._refresh_diff()
        self._refresh_prompts()
        self._refresh_metrics()
        self.ui.streams.sync(self.state.lanes, self._styles, self.deterministic)
        self._update_status()
        self._update_keybar()

    # ------------------------------------------------------------------ service
    @work(thread=True, group="service", name="service-loader")
    def _load_service(self) -> None:
        cfg = self.cfg
        if not cfg.enabled:
            self.engine_state = ("disabled", "FLUX_LLM_ENABLED=false: template-only", None)
            return
        if self.llm_factory is None:
            self.engine_state = ("unavailable", "no model service configured", None)
            return

        def log(msg: str) -> None:
            state, _, progress = self.engine_state
            self.engine_state = (state, str(msg), progress)

        if self.pull and self.llm_factory is default_llm_factory and os.environ.get("TEXTURE_SCRIPTED") != "1":
            self._maybe_pull(log)
        def on_status(st: EngineStatus) -> None:  # from the service's thread: a plain attribute write
            self.engine_state = (st.state, st.detail or "", st.progress)

        try:
            svc = self.llm_factory(cfg)
        except ServiceMissing as exc:
            self.engine_state = ("unavailable", str(exc), None)
            return
        except Exception as exc:  # a broken model folder must not take the console down
            self.engine_state = ("failed", f"{type(exc).__name__}: {exc}", None)
            return
        self.llm = svc
        svc.add_status_listener(on_status)  # the current status now, then every change

    def _maybe_pull(self, log) -> None:
        """First run: fetch the default model (only when no model path is configured)."""
        if self.cfg.model_path:
            return
        try:
            from engine.llm import models
        except ImportError:
            return
        try:
            if models.resolve_model(None) is None:
                self.engine_state = ("loading", "fetching the default model (first run)", None)
                models.pull_default(progress=lambda msg, *a: setattr(self, "engine_state", ("loading", str(msg), None)))
        except Exception as exc:  # the service then reports the missing model itself
            log(f"model pull failed: {exc}")

    # ------------------------------------------------------------------ batches
    def select_places(self, kind: str, arg: str = "") -> tuple[list[Place], str]:
        """The places a batch of ``kind`` runs on, and its selection label."""
        places = self.places
        if kind == "changed":
            return changed_places(self.store, places), "changed"
        if kind == "selected":
            urns = set(self.marked) or ({self.selected_urn} if self.selected_urn else set())
            return [p for p in places if p.urn in urns], f"selected x{len(urns)}"
        if kind.startswith("tier:"):
            tier = kind.split(":", 1)[1]
            return [p for p in places if decide(p, self.cfg).tier == tier], f"tier={tier}"
        if kind == "random":
            try:
                n = max(int(str(arg).strip() or "20"), 0)
            except ValueError:
                n = 20
            return self._rng.sample(places, min(n, len(places))), f"random {n}"
        if kind == "match":
            text = str(arg).strip().lower()
            if not text:
                return [], "match"
            return [p for p in places if text in p.name.lower() or text in p.urn.lower()], f"match {clip(arg, 30)}"
        if kind == "rerun":
            return [p for p in places if p.urn == arg], "rerun"
        if kind == "all":
            return list(places), "all"
        raise ValueError(f"unknown batch kind {kind!r}")

    def start_batch(self, kind: str, arg: str = "", where: str | None = None) -> bool:
        """``where``: "local" (this machine) or "cluster" (engine.cluster); None = FLUX_CLUSTER's choice."""
        if self.batch_running:
            self.notify("A batch is already running (c cancels it).", severity="warning")
            return False
        places, selection = self.select_places(kind, arg)
        if not places:
            self.notify(f"Nothing to do: no place matches ({selection}).", markup=False)
            return False
        self.batch_running = True
        self._batch_cancel.clear()
        b = self.state.batch
        b.batch_id, b.selection, b.status, b.total, b.finished = None, selection, "starting", len(places), 0
        b.started = time.monotonic()
        where = where or ("cluster" if self.cfg.cluster else "local")
        self.batch_worker = self._run_batch(places, selection, where)
        self.refresh_bindings()
        self._update_status()
        return True

    @work(thread=True, exclusive=True, group="batch", name="batch")
    def _run_batch(self, places: list[Place], selection: str, where: str = "local") -> dict | None:
        needs_llm = self.cfg.enabled and any(decide(p, self.cfg).eligible for p in places)
        llm = self.llm
        if needs_llm and where == "cluster":
            llm = self._cluster_service()
            if llm is None:
                self.state.batch.status = "failed"
                return None
        elif needs_llm:
            # The model may still be loading: wait for it (cancellable) rather than fall back.
            self.wait_for_model(self._batch_cancel, lambda: setattr(self.state.batch, "status", "waiting"))
            if self._batch_cancel.is_set() or self._stop.is_set():
                self.state.batch.status = "cancelled"
                return None
        store = Store(self.db_path)  # this thread's own connection
        try:
            runner = BatchRunner(store, self.cfg, self.prompts, llm, observer=self.events.put)
            self._runner = runner
            if self._batch_cancel.is_set():
                runner.cancel()
            # Work a killed process left unfinished is resumed first, exactly once.
            resumed = runner.run_pending()
            if resumed:
                n = sum(s.places for s in resumed)
                self.call_from_thread(self.notify, f"Resumed {n} unfinished place(s) from an interrupted batch.",
                                      markup=False)
            return runner.run(places, selection).as_dict()
        finally:
            self._runner = None
            store.close()

    def _cluster_service(self):
        """The cluster's model service (started on first use, on the batch thread); None with a
        notification when it cannot start (Ray missing, no cluster, no worker with the model)."""
        if self.cluster_llm is not None and self.cluster_llm.ready():
            return self.cluster_llm
        self.state.batch.status = "starting cluster"
        try:
            from dataclasses import replace

            from engine.cluster import start_cluster_llm

            cfg = self.cfg if self.cfg.cluster else replace(self.cfg, cluster="auto")
            scripted = ({"token_delay_s": float(os.environ.get("TEXTURE_SCRIPTED_DELAY", "0.06"))}
                        if os.environ.get("TEXTURE_SCRIPTED") == "1" else None)
            refused: list[str] = []
            self.cluster_llm = start_cluster_llm(cfg, log=refused.append, scripted=scripted)
            for msg in refused:
                if "refused" in msg or "did not start" in msg:
                    self.call_from_thread(self.notify, msg, title="Cluster", severity="warning", markup=False, timeout=10)
            return self.cluster_llm
        except Exception as exc:  # ClusterError and anything Ray raises: an operator message
            self.call_from_thread(self.notify, f"Batch not run on the cluster: {exc}", title="Cluster",
                                  severity="error", markup=False, timeout=12)
            return None

    def on_worker_state_changed(self, ev: Worker.StateChanged) -> None:
        if ev.worker.group != "batch":
            return
        if ev.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.batch_running = False
            if ev.state == WorkerState.ERROR:
                self.state.batch.status = "failed"
                err = ev.worker.error
                # Store errors (another batch running, disk full, read-only) are operator messages.
                what = str(err) if isinstance(err, StoreError) else f"{type(err).__name__}: {err}"
                self.notify(f"Batch not run: {what}", severity="error", markup=False, timeout=10)
            self.refresh_bindings()
            self._update_status()

    # ------------------------------------------------------------------ actions
    def refresh_bindings(self) -> None:
        super().refresh_bindings()
        self._update_keybar()

    def _update_keybar(self) -> None:
        ui = getattr(self, "ui", None)
        if ui is None or self._styles is None:
            return
        items = []
        # 80 columns cannot hold every key: maximise and hide (also in the palette) make room
        # for the workbench while q Quit stays visible.
        narrow = (ui.keys.size.width or 120) < 100
        for b in self.BINDINGS:
            if not b.show or (narrow and b.action in ("maximise", "hide_panel")):
                continue
            ok = self.check_action(b.action, ())
            if ok is False and b.action not in ("pause",):
                continue
            if b.action == "pause" and self.paused:
                continue
            items.append((b.key, b.description, bool(ok)))
        ui.keys.show_keys(items, self._styles)

    def on_resize(self, event) -> None:
        self.call_after_refresh(self._update_keybar)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # The main screen's actions sleep while a dialog or the workbench is on top
        # (app bindings stay active on every screen).
        if action in MAIN_SCREEN_ONLY and (isinstance(self.screen, ModalScreen) or
                                           (self._main_screen is not None and self.screen is not self._main_screen)):
            return False
        if action == "pause":
            return not self.paused and self.llm is not None and self.llm.CAN_PAUSE
        if action == "resume":
            return self.paused
        if action == "cancel":
            return True if self.batch_running else None
        return True

    def action_auto(self) -> None:
        self.auto.toggle()

    def action_new_batch(self) -> None:
        counts = {"all": len(self.places), "selected": len(self.marked) or (1 if self.selected_urn else 0)}
        try:
            counts["changed"] = len(changed_places(self.store, self.places))
            tiers: dict[str, int] = {}
            for p in self.places:
                t = decide(p, self.cfg).tier
                tiers[t] = tiers.get(t, 0) + 1
            counts.update({f"tier:{t}": n for t, n in tiers.items()})
        except Exception:
            pass

        def chosen(result) -> None:
            if result:
                self.start_batch(*result)

        self.push_screen(BatchDialog(counts, cluster=self.cfg.cluster), chosen)

    def action_pause(self) -> None:
        if self.llm is None or not self.llm.CAN_PAUSE:
            self.notify("No model to pause.", severity="warning")
            return
        self.llm.pause()
        self.paused = True
        self.notify("Paused: streams hold; u resumes.", timeout=3)
        self.refresh_bindings()
        self._update_status()

    def action_resume(self) -> None:
        if self.llm is not None and self.llm.CAN_PAUSE:
            self.llm.resume()
        self.paused = False
        self.refresh_bindings()
        self._update_status()

    def action_cancel(self) -> None:
        if not self.batch_running:
            self.notify("No batch is running.")
            return
        self._batch_cancel.set()
        runner = self._runner
        if runner is not None:
            runner.cancel()
        if self.paused:  # a paused engine must run to see the cancel
            self.action_resume()
        self.state.batch.status = "cancelling"
        self.notify("Cancelling: finished results are kept, unfinished places are stored as cancelled.", timeout=4)
        self._update_status()

    def action_rerun(self) -> None:
        if not self.selected_urn or self.selected_urn not in self.by_urn:
            self.notify("Select a place in the queue first.", severity="warning")
            return
        self.start_batch("rerun", self.selected_urn)

    def action_mark(self) -> None:
        if not isinstance(self.focused, DataTable) or self.focused.id != "queue-table":
            return
        queue = self.ui.queue
        key = queue.highlighted_key()
        row = self.state.row(key)
        if row is None:
            return
        self.marked.symmetric_difference_update({row.urn})
        same = [r for r in self.state.active().values() if r.urn == row.urn]
        queue.update_rows(same, self.marked, self._styles, self.deterministic)
        self._update_status()

    def action_mark_first(self) -> None:
        """Mark the first N rows the queue shows (e.g. the worst N after sorting by quality)."""
        def chosen(n) -> None:
            if n is not None:
                self.mark_first(n)

        self.push_screen(MarkDialog(len(self.state.visible(**self.filters)), len(self.marked)), chosen)

    def mark_first(self, n: int) -> int:
        """Marks exactly the first ``n`` rows shown (0 clears every mark); returns how many are marked."""
        rows = self.state.visible(**self.filters)[: max(n, 0)]
        self.marked = {r.urn for r in rows}
        self._rebuild_queue()
        self._update_status()
        if n:
            self.notify(f"{len(self.marked):,} places marked: b then 'Selected places' runs a batch on them.",
                        markup=False, timeout=4)
        return len(self.marked)

    def action_toggle_view(self, view: str | None = None) -> None:
        """The queue shows the batches' rows or every place of the world with its current text."""
        st = self.state
        view = view or ("batch" if st.view == "world" else "world")
        if view == "world":
            self._load_world()
        st.view = view
        known = set(st.reasons())
        if self.filters.get("reason") and self.filters["reason"] not in known:
            self.filters["reason"] = None
        if self.filters.get("state") and self.filters["state"] not in (WORLD_STATES if view == "world" else STATES):
            self.filters["state"] = None
        self._rebuild_queue(top=True)
        rows = st.visible(**self.filters)
        if rows:
            self._select(rows[0].urn)
        self._update_status()

    def action_sort(self, sort: str | None = "next") -> None:
        """Cycle the queue's sort order (or set one): as listed, quality worst/best first, oldest, reason."""
        ids = [k for k, _ in SORTS]
        if sort == "next":
            sort = ids[(ids.index(self.state.sort) + 1) % len(ids)] if self.state.sort in ids else ids[1]
        self.state.sort = sort
        self._rebuild_queue(top=True)
        self.notify(f"Queue sorted: {dict(SORTS)[sort]}", timeout=2, markup=False)

    def action_filter(self) -> None:
        def chosen(result) -> None:
            if result is not None:
                self.set_filter(**result)

        states = WORLD_STATES if self.state.view == "world" else STATES
        self.push_screen(FilterDialog(self.filters, self.state.reasons(), on_change=lambda f: self.set_filter(**f),
                                      states=states), chosen)

    def set_filter(self, state: str | None = None, tier: str | None = None, reason: str | None = None,
                   quality: str | None = None) -> None:
        self.filters = {"state": state, "tier": tier, "reason": reason, "quality": quality}
        self._rebuild_queue()
        self._update_status()

    def action_edit_prompt(self, name: str | None = None) -> None:
        name = name or self.ui.prompts.selected_name() or DEFAULT_PROMPT
        path = self.prompts.folder / f"{name}.prompt"
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.suspend():
                subprocess.call([*shlex.split(editor), str(path)])
        except Exception as exc:  # SuspendNotSupported (e.g. headless), editor not found
            self.notify(f"Cannot open the editor ({editor}): {exc}", severity="error", markup=False)
            return
        self.prompts.reload(path)  # the watcher would catch it too; this makes it immediate
        self._refresh_prompts()

    # the prompt workbench and ratings
    def action_workbench(self) -> None:
        from .workbench import WorkbenchScreen

        name = self.ui.prompts.selected_name() or DEFAULT_PROMPT
        if self._workbench is None:
            self._workbench = WorkbenchScreen(name)
            self.install_screen(self._workbench, "workbench")  # installed: results survive closing it
        else:
            self._workbench.prompt_name = name
            self._workbench.reopened()
        self.push_screen("workbench")

    def _current_result(self) -> dict | None:
        if not self.selected_urn:
            self.notify("Select a place in the batch queue first.", severity="warning")
            return None
        results = self.store.results_for(self.selected_urn, 1)
        if not results:
            self.notify("This place has no result to rate yet.", severity="warning")
            return None
        return results[0]

    def action_rate(self, rating: str, note: str = "") -> None:
        """Rate the selected place's current result (the one the diff panel shows)."""
        result = self._current_result()
        if result is not None:
            self._rate_result(result["id"], result["urn"], rating, note)

    def action_note(self) -> None:
        result = self._current_result()
        if result is None:
            return
        from .workbench import NoteDialog

        place = self.by_urn.get(result["urn"])
        last = self.store.latest_rating(result["id"])

        def done(answer) -> None:
            if answer:
                self._rate_result(result["id"], result["urn"], answer[0], answer[1])

        self.push_screen(NoteDialog(safe(place.name if place else result["urn"]), last[0] if last else None), done)

    @work(thread=True, exit_on_error=False, group="ratings", name="rate")
    def _rate_result(self, result_id: int, urn: str, rating: str, note: str) -> int:
        from engine import workbench as wb

        store = Store(self.db_path)  # this thread's own connection
        try:
            rid = wb.rate(store, f"result:{result_id}", rating, note)
        except Exception as exc:
            msg = str(exc) if isinstance(exc, wb.WorkbenchError) else f"{type(exc).__name__}: {exc}"
            self.notify(f"Rating not saved: {msg}", severity="error", markup=False)
            raise
        finally:
            store.close()
        self.call_from_thread(self._rated, urn, rating, note)
        return rid

    def _rated(self, urn: str, rating: str, note: str) -> None:
        self.ratings_done += 1
        if urn == self.selected_urn:
            self._refresh_diff()
        name = self.by_urn[urn].name if urn in self.by_urn else urn
        self.notify(f"Rated {rating}: {name}" + (f" — {note}" if note else ""), title="Rating", markup=False, timeout=3)

    def action_switch_theme(self) -> None:
        names = [n for n in self._theme_names if n in self.available_themes] or [DEFAULT_DARK, DEFAULT_LIGHT]
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    def action_export(self) -> None:
        self._export()

    def action_save_svg(self) -> None:
        folder = Path(os.environ.get("TEXTURE_SCREENSHOT_DIR") or locations.data_dir())
        folder.mkdir(parents=True, exist_ok=True)
        path = self.save_screenshot(path=str(folder), filename=f"console-{time.strftime('%Y%m%d-%H%M%S')}.svg")
        self.last_screenshot = Path(path)
        self.notify(f"Screenshot saved to {path}", title="Screenshot", markup=False, timeout=5)

    @work(thread=True, group="export", name="export")
    def _export(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = locations.data_dir() / f"export-{stamp}.jsonl"
        store = Store(self.db_path)
        n = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as out:  # the format of `texture export`
                for row in store.export_rows():
                    out.write(json.dumps(row, ensure_ascii=True) + "\n")
                    n += 1
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            raise
        finally:
            store.close()
        self.last_export = path
        self.notify(f"Exported {n:,} places to {path}", title="Export", markup=False, timeout=8)
        return path

    # panels: focus, maximise, hide
    def _focused_panel(self) -> Panel:
        node = self.focused
        while node is not None and not isinstance(node, Panel):
            node = node.parent
        return node if isinstance(node, Panel) else self.ui.queue

    @staticmethod
    def _panel_of(node) -> Panel | None:
        while node is not None and not isinstance(node, Panel):
            node = node.parent
        return node

    def _focus_look(self) -> tuple:
        """The focused panel's title colours: $background on $primary."""
        return (Color.parse(resolve_color(self, "background") or "#000000"),
                Color.parse(resolve_color(self, "primary") or "#ffffff"))

    def _focus_moved(self, old, new) -> None:
        """The main screen's focus moved (keys, mouse, tab): the focused panel's title lights up.

        Called synchronously when Screen.focused changes, so the title changes in the same frame.
        """
        was, now = self._panel_of(old), self._panel_of(new)
        if was is now:
            return
        if was is not None:
            was.show_focus(None)
        if now is not None:
            now.show_focus(self._focus_look())

    def _fix_columns(self) -> None:
        for col in self.ui.main.query(".column"):
            col.display = any(p.display for p in col.query(Panel))

    def action_focus_panel(self, index: int) -> None:
        panel = self.panels()[index]
        if self.screen.maximized is not None and self.screen.maximized is not panel:
            self.screen.minimize()
        if not panel.display:  # setting it again would still restyle the panel
            panel.display = True
            self._fix_columns()
        panel.focus_target().focus()

    def action_maximise(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            panel = self._focused_panel()
            self.screen.maximize(panel, container=False)
            panel.focus_target().focus()

    def action_hide_panel(self) -> None:
        panel = self._focused_panel()
        visible = [p for p in self.panels() if p.display]
        if len(visible) <= 1:
            self.notify("That is the last visible panel.", severity="warning")
            return
        if self.screen.maximized is not None:
            self.screen.minimize()
        panel.display = False
        self._fix_columns()
        nxt = next(p for p in self.panels() if p.display)
        nxt.focus_target().focus()
        self.notify(f"{panel.PANEL_TITLE[2:]} hidden: press {panel.PANEL_TITLE[0]} to show it again.", timeout=3)

    def action_show_all(self) -> None:
        for p in self.panels():
            p.display = True
        self._fix_columns()

    # command palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for kind, label in (("changed", "changed places"), ("selected", "selected places"),
                            ("tier:premium", "tier premium"), ("tier:full", "tier full"),
                            ("tier:light", "tier light"), ("tier:template", "tier template"),
                            ("random", "20 random places"), ("all", "all places")):
            yield SystemCommand(f"Batch: {label}", f"Start a batch on {label}",
                                lambda kind=kind: self.start_batch(kind, "20" if kind == "random" else ""))
        yield SystemCommand("Batch: choose…", "Open the batch dialog (b)", self.action_new_batch)
        yield SystemCommand("Auto mode on/off", "Watch the world file and run cycles on its changes (g)",
                            self.action_auto)
        yield SystemCommand("Pause", "Pause the model's streams (p)", self.action_pause)
        yield SystemCommand("Resume", "Resume the model's streams (u)", self.action_resume)
        yield SystemCommand("Cancel batch", "Stop running streams; keep finished results (c)", self.action_cancel)
        yield SystemCommand("Re-run selected place", "A one-place batch for the selected place (r)", self.action_rerun)
        yield SystemCommand("Edit selected prompt", "Open the prompt file in $EDITOR (e)", self.action_edit_prompt)
        yield SystemCommand("Save screenshot (SVG)", "Save an SVG of the screen to the data folder (s)", self.action_save_svg)
        yield SystemCommand("Switch theme", "Cycle the console themes (t)", self.action_switch_theme)
        yield SystemCommand("Export", "Write every place's current description as JSONL (x)", self.action_export)
        if screen is self._main_screen:
            yield SystemCommand("Prompt workbench", "Versions, preview, A/B on a pinned set, ratings (w)",
                                self.action_workbench)
            yield SystemCommand("Rate selected result good", "Rate the selected place's current text good (+)",
                                lambda: self.action_rate("good"))
            yield SystemCommand("Rate selected result bad", "Rate the selected place's current text bad (-)",
                                lambda: self.action_rate("bad"))
            yield SystemCommand("Rate selected result with a note", "A rating with a note (n)", self.action_note)
        elif hasattr(screen, "commands"):
            yield from screen.commands()
        yield SystemCommand("Queue: every place", "List every place with its current text's source, reason, quality, age (v)",
                            lambda: self.action_toggle_view("world"))
        yield SystemCommand("Queue: batch rows", "List the rows of the batches (v)", lambda: self.action_toggle_view("batch"))
        for sid, label in SORTS:
            yield SystemCommand(f"Sort queue: {label}", f"Order the queue's rows: {label} (o cycles)",
                                lambda sid=sid: self.action_sort(sid))
        yield SystemCommand("Mark the first N rows…", "Mark the first N rows shown, e.g. the worst N by quality (k)",
                            self.action_mark_first)
        yield SystemCommand("Clear marks", "Unmark every row (k, then 0)", lambda: self.mark_first(0))
        yield SystemCommand("Filter queue…", "Filter the batch queue by state, tier, reason, quality (f)", self.action_filter)
        yield SystemCommand("Clear queue filter", "Show every row of the batch queue", lambda: self.set_filter())
        for i, pid in enumerate(PANEL_IDS):
            yield SystemCommand(f"Focus {pid} panel", f"Focus (and show) the {pid} panel ({i + 1})",
                                lambda i=i: self.action_focus_panel(i))
        yield SystemCommand("Maximise panel", "Maximise or restore the focused panel (m)", self.action_maximise)
        yield SystemCommand("Hide panel", "Hide the focused panel (h)", self.action_hide_panel)
        yield SystemCommand("Show all panels", "Show every hidden panel (a)", self.action_show_all)

    # ------------------------------------------------------------------ prompts watcher
    @work(exclusive=True, group="prompts", name="prompt-watcher")
    async def _run_prompt_watcher(self) -> None:
        from watchfiles import awatch

        self._watch_stop = asyncio.Event()
        folder = self.prompts.folder
        self.watcher_started_at = time.monotonic()
        # debounce 150 ms: an editor's save lands within a second; rust_timeout bounds shutdown.
        async for changes in awatch(folder, debounce=150, step=50, stop_event=self._watch_stop,
                                    rust_timeout=500, recursive=False):
            if self._stop.is_set() or not self.is_running:
                break  # closing: the panels may already be gone
            paths = sorted({Path(p) for _, p in changes if p.endswith(".prompt")})
            for path in paths:
                st = self.prompts.reload(path)
                if st.error:
                    e = st.error
                    self.notify(f"{Path(e.file).name}:{e.line}: {e.message}", title="Prompt error", severity="error",
                                markup=False, timeout=8)
                else:
                    self.notify(f"{path.name} reloaded: version {st.active.version}", title="Prompt", markup=False,
                                timeout=3)
            if paths:
                try:
                    self._refresh_prompts()
                except NoMatches:
                    # The prompts panel always has its table while it is mounted: this is the app
                    # closing (its widgets torn down) while a change was being read.
                    break

    # ------------------------------------------------------------------ shutdown
    def _stop_background(self) -> None:
        self._stop.set()
        self.auto.shutdown()
        self._batch_cancel.set()
        if self._runner is not None:
            self._runner.cancel()
        if self._watch_stop is not None:
            self._watch_stop.set()
        if self._workbench is not None:
            self._workbench._cancel.set()  # a preview/compare in a worker thread stops waiting

    async def action_quit(self) -> None:
        """Quit; a running batch is cancelled first so its unfinished places are stored as cancelled."""
        worker = self.batch_worker
        if self.batch_running and worker is not None:
            self.action_cancel()
            deadline = time.monotonic() + 3.0
            while not worker.is_finished and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        self.exit()

    def exit(self, *args, **kwargs) -> None:
        self._stop_background()
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        self._stop_background()
        if self.cluster_llm is not None:
            try:
                self.cluster_llm.shutdown()
            except Exception:
                pass
        llm = self.llm
        if llm is not None:
            try:
                if self.paused and llm.CAN_PAUSE:
                    llm.resume()
                llm.shutdown()
            except Exception:
                pass
        if self.store is not None:
            self.store.close()


def run_console(cfg: Config, places: list[Place], errors=(), *, db_path=None, pull: bool = True,
                llm_factory: LLMFactory | None = None, **app_kwargs) -> int:
    """Entry point used by ``texture console``. Returns the exit code."""
    db_path = Path(db_path) if db_path else locations.default_db()
    # Open the store once here so an unusable database is one clear CLI error, not a crashed UI.
    store = Store(db_path)
    store.mark_interrupted_batches()
    store.close()
    exit_on_ready = os.environ.get("TEXTURE_BENCH_FIRST_FRAME") == "1"
    app = TextureApp(cfg, places, errors, db_path=db_path, llm_factory=llm_factory or default_llm_factory,
                     pull=pull and not exit_on_ready, exit_on_ready=exit_on_ready, **app_kwargs)
    if exit_on_ready:
        app.run(headless=True)
        inner = (app.t_ready - app.t_constructed) * 1000 if app.ready_at else None
        print(json.dumps({"ready_at": app.ready_at, "construct_to_ready_ms": inner}), flush=True)
        return 0
    app.run()
    return app.return_code or 0
