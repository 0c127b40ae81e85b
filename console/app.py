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
  w the prompt workbench (console/workbench/)   + / - rate the selected place's current result
  good / bad   n rate it with a note
  R blind review: a place's facts, its LLM text and its template as A and B in an order not shown,
  scored 1-5 each and shipped (console/review.py)
  v the queue lists every place with its current text (source, reason, quality, age) / the batches
  o sort the queue (quality worst/best first, oldest, reason)   k mark the first N rows shown

The app is in four modules: this one (the app: state, layout, engine events, the model wait, the
prompt watcher, shutdown), :mod:`console.panels` (filling the panels), :mod:`console.batches` (the
service loader and the batch worker) and :mod:`console.actions` (key actions, the palette, panel
focus); the last three are mixins of :class:`TextureApp`. ``@on``-decorated handlers stay in this
module: Textual collects them only from classes that derive from its ``MessagePump``.

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
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable
from textual.worker import Worker

from engine import locations
from engine.config import Config
from engine.dispatch import BatchRunner
from engine.llm.base import LLMService

from .auto import AutoMode
from engine.prompts import PromptLibrary
from engine.store import Store
from engine.world import Place

from .qualityview import stored_scores
from ._textual_compat import LeanMaximizeScreen, set_screen_update_period
from .messages import EngineStateChanged
from .model import ConsoleState, EventBuffer
from .themes import DEFAULT_DARK, load_settings, load_themes
from .actions import PANEL_IDS, ActionsMixin
from .batches import BatchesMixin, default_llm_factory
from .panels import PanelsMixin
from .widgets import (Column, DiffPanel, KeyBar, MetricsPanel, Panel, PromptsPanel, QueuePanel, Row, StatusBar,
                      StreamsPanel, Styles)

FLUSH_HZ = 15

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


class TextureApp(PanelsMixin, BatchesMixin, ActionsMixin, App[int]):
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
        Binding("R", "review", "Review", show=False),  # blind review (console/review.py); also in the palette
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

    @on(DataTable.RowHighlighted, "#queue-table")
    def _queue_row(self, ev: DataTable.RowHighlighted) -> None:
        key = ev.row_key.value if ev.row_key is not None else None
        row = self.state.row(key)
        if row is not None:
            self._select(row.urn)

    @on(DataTable.RowHighlighted, "#prompt-table")
    def _prompt_row(self, ev: DataTable.RowHighlighted) -> None:
        self._refresh_preview()

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
