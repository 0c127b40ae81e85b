"""The workbench screen itself: layout, head and keys, the palette, database workers, history, places."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from engine import workbench as wb
from engine.prompts import DEFAULT_PROMPT, SUFFIX
from engine.store import Store

from ..textview import safe
from ..widgets import KeyBar
from .common import PREVIEW_N, TABS, _when
from .dialogs import ConfirmDialog, NameDialog
from .runs import RunsMixin
from .views import ViewsMixin

# --- the screen ------------------------------------------------------------------------------------


class WorkbenchScreen(RunsMixin, ViewsMixin, Screen):
    """The prompt workbench for ``prompt_name`` (the prompt selected in the console)."""

    BINDINGS = [
        Binding("escape,w", "close", "Back"),
        Binding("1", "tab(0)", "History", show=False),
        Binding("2", "tab(1)", "Preview", show=False),
        Binding("3", "tab(2)", "Compare", show=False),
        Binding("4", "tab(3)", "Ratings", show=False),
        Binding("e", "edit", "Edit"),
        Binding("space", "mark_version", "Mark", show=False),
        Binding("d", "diff", "Diff"),
        Binding("R", "restore", "Restore"),
        Binding("v", "preview", "Preview"),
        Binding("k", "pin", "Pin set"),
        Binding("C", "compare", "Compare"),
        Binding("i", "rerun", "Re-run"),
        Binding("plus", "rate('good')", "Good"),
        Binding("minus", "rate('bad')", "Bad"),
        Binding("n", "note", "Note"),
        Binding("x", "export", "Export"),
        Binding("c", "cancel", "Cancel"),
    ]

    def __init__(self, prompt_name: str = DEFAULT_PROMPT) -> None:
        super().__init__()
        self.prompt_name = prompt_name
        self.history: list[wb.PromptVersion] = []
        self.marked_versions: list[str] = []
        self.sets: list[wb.PinnedSet] = []
        self.current_set: str | None = None
        self.ratings: list[dict] = []
        self.preview_rows: list[wb.PreviewRow] = []
        self.preview_version: str | None = None
        self.compare_result: wb.CompareResult | None = None
        self.rerun_identical: dict[str, bool] | None = None  # variant label -> identical (after `i`)
        self.rerun_differs: dict[str, list[str]] = {}
        self.busy: str | None = None  # "preview" | "compare" | "re-run" while a model run is going
        self.last_exports: list[Path] = []
        self.last_restored: Path | None = None
        self.history_loads = 0  # completed history loads (tests wait on it)
        self.ratings_done = 0  # completed ratings (tests wait on it)
        self.view_mode = "version"  # what the history view shows: "version" | "diff"
        self._hl_version: str | None = None  # the version under the history cursor
        self.diff_shown: tuple[str, str] | None = None  # (older, newer) of the last diff
        self.preview_what = ""  # "marked" | "sampled"
        self._cancel = threading.Event()
        self._progress = [0, 0]  # finished cells, total cells (written from the engine's thread)
        self._shown_head: Text | None = None
        self._seq = 0  # order in which workers read the lists they return (history, sets, ratings)
        self._seq_lock = threading.Lock()
        self._io_lock = threading.Lock()  # small database jobs run one at a time
        self._applied: dict[str, int] = {}

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Static("", id="wb-head", markup=False)
        with TabbedContent(id="wb-tabs"):
            with TabPane("1 History", id="tab-history"):
                yield DataTable(id="wb-history-table", cursor_type="row", classes="wb-table")
                with VerticalScroll(classes="wb-view"):
                    yield Static("", id="wb-version-view", markup=False)
            with TabPane("2 Preview", id="tab-preview"):
                yield DataTable(id="wb-preview-table", cursor_type="row", classes="wb-table")
                with VerticalScroll(classes="wb-view"):
                    yield Static(Text("v runs the prompt as it is on disk on 8 places (the places marked in the "
                                      "queue, else a sample stratified by tier and region)."),
                                 id="wb-preview-view", markup=False)
            with TabPane("3 Compare", id="tab-compare"):
                yield DataTable(id="wb-summary-table", cursor_type="row", classes="wb-summary")
                yield DataTable(id="wb-matrix", cursor_type="cell", classes="wb-table")
                with VerticalScroll(classes="wb-view"):
                    yield Static(Text("k pins a set of places; C compares two prompt versions (or temperatures, "
                                      "budgets) on it; i re-runs the comparison to show it is identical."),
                                 id="wb-cell-view", markup=False)
            with TabPane("4 Ratings", id="tab-ratings"):
                yield DataTable(id="wb-ratings-table", cursor_type="row", classes="wb-table")
                with VerticalScroll(classes="wb-view"):
                    yield Static("", id="wb-rating-view", markup=False)
        yield KeyBar(id="wb-keys", markup=False)

    def on_mount(self) -> None:
        self._table("#wb-history-table", ("", 1), ("Version", 12), ("First seen", 14), ("Last seen", 14),
                    ("Lines", 5), ("Restored", 8), ("State", 8))
        self._table("#wb-preview-table", ("Place", 22), ("Tier", 8), ("Production", 10), ("Preview", 18),
                    ("Len", 5), ("Facts", 6), ("Prod facts", 10), ("Rating", 6))
        # The judging figures first: they stay visible on an 80-column terminal.
        self._table("#wb-summary-table", ("Variant", 18), ("Fallback", 8), ("Facts", 6), ("Rating", 6), ("Re-run", 13),
                    ("Valid", 5), ("Mean len", 8), ("Contra", 6), ("Prompt", 12), ("Temp", 5), ("Budget", 6))
        self._table("#wb-ratings-table", ("#", 4), ("When", 14), ("Rating", 6), ("Place", 22), ("Origin", 16),
                    ("Prompt", 12), ("Note", 24), ("Text", 40))
        self.set_interval(0.1, self._tick, name="workbench-progress")
        self.app.theme_changed_signal.subscribe(self, lambda _t: self.redraw())
        self.query_one("#wb-history-table").focus()
        self.load_history()
        self._draw_head()
        self._draw_keys()

    def _table(self, sel: str, *cols: tuple[str, int]) -> None:
        t = self.query_one(sel, DataTable)
        t.zebra_stripes = True
        for i, (label, width) in enumerate(cols):
            t.add_column(label, key=str(i), width=width)

    def reopened(self) -> None:
        """Shown again from the console (the screen is installed and keeps its results)."""
        self.load_history()
        self._draw_head()
        self._draw_keys()

    def on_unmount(self) -> None:
        self._cancel.set()

    @property
    def styles_(self):
        return self.app._styles

    @property
    def deterministic(self) -> bool:
        return bool(getattr(self.app, "deterministic", False))

    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active or TABS[0]

    def redraw(self) -> None:
        if self.app._styles is None:
            return
        self._draw_history()
        self._draw_preview()
        self._draw_compare()
        self._draw_ratings()
        self._draw_head()
        self._draw_keys()

    # ---------------------------------------------------------------- head and keys
    def _tick(self) -> None:
        if self.busy:
            self._draw_head()

    def _draw_head(self) -> None:
        st = self.styles_
        if st is None:
            return
        t = Text()
        t.append(" Prompt workbench ", style=st.label)
        t.append("prompt ", style=st.dim)
        t.append_text(safe(self.prompt_name))
        active = self.app.prompts.get(self.prompt_name) if self.app.prompts else None
        t.append("  on disk ", style=st.dim)
        t.append(active.version if active else "none (file has no good version)")
        sset = next((s for s in self.sets if s.name == self.current_set), None)
        t.append("  │ set ", style=st.dim)
        t.append_text(safe(f"{sset.name} ({len(sset.urns)})") if sset else Text("none", style=st.dim))
        state = self.app.engine_state[0]
        t.append("  │ model ", style=st.dim)
        t.append(state, style=st.done if state == "ready" else st.fell_back)
        if self.app.paused:
            t.append(" PAUSED", style=st.fell_back)
        if self.busy:
            done, total = self._progress
            t.append("  │ ", style=st.dim)
            t.append(f"{self.busy} {done}/{total}", style=st.running)
            t.append("  c cancels", style=st.dim)
        if self.app.marked:
            t.append(f"  │ {len(self.app.marked)} marked in the queue", style=st.dim)
        if t != self._shown_head:
            self._shown_head = t
            self.query_one("#wb-head", Static).update(t)

    def key_items(self) -> list[tuple[str, str, bool]]:
        tab = self.active_tab()
        items = [("esc", "back", True), ("1-4", "tabs", True), ("e", "edit", True)]
        if tab == "tab-history":
            items += [("space", "mark", True), ("d", "diff", True), ("R", "restore", True)]
        items += [("v", "preview", True), ("k", "pin set", True), ("C", "compare", True),
                  ("i", "re-run", self.compare_result is not None)]
        if tab in ("tab-preview", "tab-compare"):
            items += [("+", "good", True), ("-", "bad", True), ("n", "note", True)]
        items += [("x", "export", True)]
        if self.busy:
            items.insert(0, ("c", "cancel", True))
        return items

    def _draw_keys(self) -> None:
        if self.styles_ is not None:
            self.query_one("#wb-keys", KeyBar).show_keys(self.key_items(), self.styles_)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, ev: TabbedContent.TabActivated) -> None:
        self._draw_keys()

    def on_resize(self, event) -> None:
        self.call_after_refresh(self._draw_keys)

    # ---------------------------------------------------------------- commands (palette)
    def commands(self) -> list[SystemCommand]:
        return [
            SystemCommand("Workbench: back to the console", "Close the workbench (escape)", self.action_close),
            SystemCommand("Workbench: edit the prompt", "Open the prompt file in $EDITOR (e)", self.action_edit),
            SystemCommand("Workbench: preview on 8 places", "Run the on-disk prompt on 8 places (v)", self.action_preview),
            SystemCommand("Workbench: pin a set…", "Save the marked (or 8 sampled) places as a set (k)", self.action_pin),
            SystemCommand("Workbench: compare…", "A/B on a pinned set (C)", self.action_compare),
            SystemCommand("Workbench: re-run comparison", "Run the last comparison again: identical? (i)", self.action_rerun),
            SystemCommand("Workbench: diff versions", "Diff the two marked versions (d)", self.action_diff),
            SystemCommand("Workbench: restore version…", "Write the selected version back to the file (R)", self.action_restore),
            SystemCommand("Workbench: rate good", "Rate the selected output good (+)", lambda: self.action_rate("good")),
            SystemCommand("Workbench: rate bad", "Rate the selected output bad (-)", lambda: self.action_rate("bad")),
            SystemCommand("Workbench: export ratings", "Write all ratings as JSONL and CSV (x)", self.action_export),
            SystemCommand("Workbench: cancel run", "Stop a running preview or comparison (c)", self.action_cancel),
        ]

    # ---------------------------------------------------------------- small database work
    def _next_seq(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _fresh(self, kind: str, seq: int) -> bool:
        """Workers finish in any order: a list read before the one already shown (e.g. the
        pinned sets before a pin) must not replace it."""
        if seq < self._applied.get(kind, 0):
            return False
        self._applied[kind] = seq
        return True

    def _io(self, name: str, fn: Callable[[Store], Any]) -> Worker:
        """``fn(store)`` in a thread worker with its own Store; ``_done_<name>(result, seq)`` gets
        the result (``seq``: the order the workers were started in)."""
        db_path = self.app.db_path

        def run():
            store = Store(db_path)
            try:
                with self._io_lock:  # one at a time, numbered in the order they read and write
                    seq = self._next_seq()
                    return seq, fn(store)
            finally:
                store.close()

        return self.run_worker(run, name=name, group="workbench-io", thread=True, exit_on_error=False)

    def on_worker_state_changed(self, ev: Worker.StateChanged) -> None:
        w = ev.worker
        if w.group not in ("workbench", "workbench-io"):
            return
        if w.group == "workbench" and ev.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = None
            self._draw_head()
            self._draw_keys()
        if ev.state == WorkerState.ERROR:
            err = w.error
            msg = str(err) if isinstance(err, wb.WorkbenchError) else f"{type(err).__name__}: {err}"
            self.notify(msg, title=f"Workbench: {w.name}", severity="error", markup=False, timeout=8)
        elif ev.state == WorkerState.SUCCESS:
            handler = getattr(self, f"_done_{w.name.replace('-', '_')}", None)
            if handler is not None:
                if w.group == "workbench-io":
                    handler(w.result[1], w.result[0])
                else:
                    handler(w.result)

    def load_history(self, record: bool = True) -> None:
        library, name = self.app.prompts, self.prompt_name

        def fn(store: Store):
            if record:
                wb.record_library(store, library)
            return wb.history(store, name, library), wb.pinned_sets(store), wb.ratings_list(store, limit=500)

        self._io("history", fn)

    def _done_history(self, result, seq: int) -> None:
        history, sets, ratings = result
        changed = False
        if self._fresh("history", seq):
            changed = history != self.history
            self.history = history
        if self._fresh("sets", seq):
            self.sets = sets
        if self._fresh("ratings", seq):
            self.ratings = ratings
        known = {v.version for v in self.history}
        self.marked_versions = [v for v in self.marked_versions if v in known]
        if self.current_set not in {s.name for s in self.sets}:
            self.current_set = max(self.sets, key=lambda s: s.updated_at).name if self.sets else None
        self.history_loads += 1
        if changed:
            self._draw_history()
        self._draw_ratings()
        self._draw_head()

    def prompts_changed(self) -> None:
        """The app reloaded prompt files (watcher, editor, restore): record and list again."""
        if self.is_attached:
            self.load_history()

    # ---------------------------------------------------------------- history
    def _draw_history(self) -> None:
        st = self.styles_
        t = self.query_one("#wb-history-table", DataTable)
        cur = t.cursor_row
        keep = self._hl_version  # the cursor stays on its version when a new one arrives
        t.clear()
        for v in self.history:
            state = Text("on disk", style=st.done) if v.on_disk else Text("")
            t.add_row(Text("●" if v.version in self.marked_versions else " ", style=st.label), Text(v.version),
                      Text(_when(v.first_seen, self.deterministic)), Text(_when(v.last_seen, self.deterministic)),
                      Text(str(v.lines), justify="right"), Text(str(v.restores) if v.restores else "", justify="right"),
                      state, key=v.version)
        if self.history:
            keys = [v.version for v in self.history]
            t.move_cursor(row=keys.index(keep) if keep in keys else min(cur, len(keys) - 1), animate=False)
        t.border_title = f"{self.prompt_name}: {len(self.history)} versions"
        if self.view_mode == "version":
            self._show_version()

    def selected_version(self) -> wb.PromptVersion | None:
        t = self.query_one("#wb-history-table", DataTable)
        if t.row_count == 0:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return next((v for v in self.history if v.version == key), None)

    @on(DataTable.RowHighlighted, "#wb-history-table")
    def _history_row(self, ev: DataTable.RowHighlighted) -> None:
        # Read the cursor now rather than the event's row: a redraw (clear, refill, move back to
        # the kept version) posts highlights of rows the cursor only passed through.
        v = self.selected_version()
        key = v.version if v is not None else None
        if key == self._hl_version:
            return  # the table was redrawn (a reload): keep showing the diff, if one is shown
        self._hl_version = key
        self.view_mode = "version"
        self._show_version()

    def _show_version(self) -> None:
        st = self.styles_
        v = self.selected_version()
        view = self.query_one("#wb-version-view", Static)
        if v is None:
            view.update(Text("No recorded version yet.", style=st.dim))
            return
        head = Text.assemble(("version ", st.dim), (v.version, st.label),
                             ("  (on disk)" if v.on_disk else "", st.done),
                             ("   space marks two versions, d diffs them, R restores this one", st.dim))
        view.update(Text("\n").join([head, Text(""), safe(v.text)]))

    def action_tab(self, index: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[index]
        focus = {"tab-history": "#wb-history-table", "tab-preview": "#wb-preview-table", "tab-compare": "#wb-matrix",
                 "tab-ratings": "#wb-ratings-table"}[TABS[index]]
        self.query_one(focus).focus()
        self._draw_keys()

    def _need_tab(self, tab: str, what: str) -> bool:
        if self.active_tab() == tab:
            return True
        self.action_tab(TABS.index(tab))
        self.notify(f"{what}: choose a version in the history first.", timeout=3)
        return False

    def action_mark_version(self) -> None:
        if self.active_tab() != "tab-history":
            return
        v = self.selected_version()
        if v is None:
            return
        if v.version in self.marked_versions:
            self.marked_versions.remove(v.version)
        else:
            self.marked_versions = (self.marked_versions + [v.version])[-2:]
        self._draw_history()

    def action_diff(self) -> None:
        if not self._need_tab("tab-history", "Diff"):
            return
        st = self.styles_
        by = {v.version: v for v in self.history}
        order = {v.version: i for i, v in enumerate(self.history)}  # 0 = most recently seen
        if len(self.marked_versions) == 2:
            a, b = sorted((by[x] for x in self.marked_versions), key=lambda v: -order[v.version])  # older first
        else:
            sel = self.selected_version()
            disk = next((v for v in self.history if v.on_disk), None)
            if sel is None or disk is None or len(self.history) < 2:
                self.notify("Two versions are needed: mark two with space (or select one to diff with the file).",
                            severity="warning", timeout=4)
                return
            if sel.version == disk.version:
                older = next((v for v in self.history if v.version != disk.version), None)
                a, b = older, disk
            else:
                a, b = sel, disk
        lines = wb.diff_versions(a.text, b.text)
        out = Text.assemble(("diff ", st.label), (a.version, st.removed), (" → ", st.dim), (b.version, st.added))
        changed = sum(1 for tag, _ in lines if tag != " ")
        out.append(f"   {changed} changed line(s)\n", style=st.dim)
        for tag, line in lines:
            out.append("\n")
            style = st.removed if tag == "-" else st.added if tag == "+" else ""
            out.append(f"{tag} ", style=style or st.dim)
            out.append_text(safe(line, style))
        self.view_mode = "diff"
        self.diff_shown = (a.version, b.version)
        self.query_one("#wb-version-view", Static).update(out)

    def action_restore(self) -> None:
        if not self._need_tab("tab-history", "Restore"):
            return
        v = self.selected_version()
        if v is None:
            return
        if v.on_disk:
            self.notify(f"Version {v.version} is already the text on disk.", timeout=3)
            return
        st = self.styles_
        q = Text.assemble("Restore version ", (v.version, st.label), " of ", safe(self.prompt_name),
                          f" to {self.prompt_name}{SUFFIX}?\nThe text on disk now stays in the history "
                          "(a restore is a new save: nothing is lost).")

        def answered(yes: bool | None) -> None:
            if yes:
                self._restore(v.version)

        self.app.push_screen(ConfirmDialog(q), answered)

    def _restore(self, version: str) -> None:
        library, name = self.app.prompts, self.prompt_name

        def fn(store: Store):
            path = wb.restore_version(library, store, name, version)
            return version, path, wb.history(store, name, library)

        self._io("restore", fn)

    def _done_restore(self, result, seq: int) -> None:
        version, path, history = result
        self.last_restored = path
        if self._fresh("history", seq):
            self.history = history
        self.marked_versions = []
        self.view_mode = "version"
        self._draw_history()
        self.app._refresh_prompts()
        self.notify(f"Restored version {version} to {path}", title="Workbench", markup=False, timeout=5)

    def action_edit(self) -> None:
        self.app.action_edit_prompt(self.prompt_name)

    # ---------------------------------------------------------------- places
    def _chosen_places(self) -> tuple[list, str]:
        """The marked queue places (up to 8), else 8 stratified by tier and region."""
        app = self.app
        marked = [p for p in app.places if p.urn in app.marked]
        if len(marked) > PREVIEW_N:
            self.notify(f"{len(marked)} places are marked: the first {PREVIEW_N} are used.", timeout=3)
        if marked:
            return marked[:PREVIEW_N], "marked"
        return wb.stratified_sample(app.places, app.cfg, PREVIEW_N), "sampled"

    def action_pin(self) -> None:
        places, what = self._chosen_places()
        if not places:
            self.notify("No places to pin.", severity="warning")
            return
        default = self.current_set or "regression"

        def named(name: str | None) -> None:
            if name:
                self._pin(name, [p.urn for p in places])

        self.app.push_screen(NameDialog(f"Pin {len(places)} {what} places as the set:", default,
                                        "enter save (a set with this name is replaced) · escape close"), named)

    def _pin(self, name: str, urns: list[str]) -> None:
        self._io("pin", lambda store: (wb.pin_set(store, name, urns), wb.pinned_sets(store)))

    def _done_pin(self, result, seq: int) -> None:
        pinned, sets = result
        if self._fresh("sets", seq):
            self.sets = sets
        self.current_set = pinned.name
        self._draw_head()
        self.notify(f"Pinned set {pinned.name!r}: {len(pinned.urns)} places", title="Workbench", markup=False, timeout=4)

    @on(DataTable.RowHighlighted, "#wb-preview-table")
    def _preview_row(self, ev) -> None:
        self._show_preview_row()

    @on(DataTable.CellHighlighted, "#wb-matrix")
    def _matrix_cell(self, ev) -> None:
        self._show_cell()

    # ---------------------------------------------------------------- close
    def action_close(self) -> None:
        self.app.pop_screen()
