"""The prompt workbench screen: versions, preview, A/B on a pinned set, ratings.

A full screen (``w`` from the main screen, or the command palette) over :mod:`engine.workbench`.
Four tabs: 1 History, 2 Preview, 3 Compare, 4 Ratings. Keys work from any tab unless noted:

  e edit the prompt in $EDITOR          v preview the on-disk prompt on 8 places (marked, else sampled)
  k pin a set (marked, else 8 sampled)  C compare on a pinned set (versions, temperatures or budgets)
  i re-run the last comparison and show whether each variant's texts are identical
  + / - rate the selected output good / bad     n rate with a note
  x export ratings (JSONL and CSV) to the data folder       c cancel a running preview/compare
  History tab: space mark a version, d diff (two marked, else selected vs on disk), R restore
  escape or w back to the console

Threads: every database touch runs in a thread worker with its own ``Store`` (SQLite connections
stay on their thread). Preview and compare are ``@work(thread=True, exclusive=True,
group="workbench")`` and use the app's one model service (``app.llm``), as batches do; the engine
calls block, so they never run on the UI thread. Workers return their result; the one
``on_worker_state_changed`` handler draws it or turns a failure into a notification.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from pathlib import Path
from typing import Any, Callable

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from engine import locations
from engine import workbench as wb
from engine.llm.events import PlaceFinished
from engine.prompts import DEFAULT_PROMPT, SUFFIX
from engine.store import Store

from .factview import fact_line, marked_text, pct
from .textview import clip, safe
from .widgets import DASH, KeyBar

PREVIEW_N = 8
TABS = ("tab-history", "tab-preview", "tab-compare", "tab-ratings")
MODES = (("versions", "Versions: current vs previous"), ("temperature", "Temperatures (values below)"),
         ("budget", "Token budgets (values below)"))
NEW_SET = "__new__"


def _when(t: float | None, deterministic: bool) -> str:
    if t is None or deterministic:
        return DASH
    return _dt.datetime.fromtimestamp(t).strftime("%m-%d %H:%M:%S")


def _reason(reason: str | None) -> str:
    return "✓ valid" if reason is None else f"✗ {reason}"


# --- dialogs -------------------------------------------------------------------------------------

class NameDialog(ModalScreen[str | None]):
    """One line of text (the name of a pinned set)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, title: str, value: str = "", help: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.help = title, value, help

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(self.value, id="name-input")
            yield Label(Text(self.help or "enter save · escape close"), classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        self.dismiss(ev.value.strip() or None)


class ConfirmDialog(ModalScreen[bool]):
    """Yes (y / enter) or no (n / escape)."""

    BINDINGS = [Binding("y,enter", "dismiss(True)", "Yes"), Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            yield Label("y or enter: yes · n or escape: no", classes="dialog-help")


class NoteDialog(ModalScreen[tuple[str, str] | None]):
    """A note and a rating: type the note; enter rates with ``default`` (or picks good/bad below)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, what: Text, default: str | None = None) -> None:
        super().__init__()
        self.what, self.default = what, default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble("Note for ", self.what), classes="dialog-title", markup=False)
            yield Input(placeholder="what is good or bad about this text", id="note-input")
            yield OptionList(Option("good", id="good"), Option("bad", id="bad"), id="note-rating")
            hint = (f"enter rates it {self.default} · tab to choose good/bad" if self.default
                    else "enter, then choose good or bad")
            yield Label(hint + " · escape close", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        if self.default:
            self.dismiss((self.default, ev.value.strip()))
        else:
            self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, ev: OptionList.OptionSelected) -> None:
        self.dismiss((ev.option.id, self.query_one(Input).value.strip()))


class CompareDialog(ModalScreen[dict | None]):
    """Pinned set (or a new one) and the variants. Enter on "Run" (focused first) runs the default:
    the current prompt against its previous version on the last pinned set."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, sets: list[tuple[str, int]], default_set: str | None, new_count: int, new_what: str) -> None:
        super().__init__()
        self.sets, self.default_set, self.new_count, self.new_what = sets, default_set, new_count, new_what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Compare on a pinned set", classes="dialog-title")
            opts = [(Text(f"{name} ({n} places)"), name) for name, n in self.sets]
            opts.append((Text(f"+ new set from {self.new_count} {self.new_what} places"), NEW_SET))
            default = self.default_set if self.default_set in {n for n, _ in self.sets} else NEW_SET
            yield Select(opts, value=default, allow_blank=False, id="cmp-set")
            yield Input("regression", placeholder="name of the new set", id="cmp-new-name")
            yield Select([(label, key) for key, label in MODES], value="versions", allow_blank=False, id="cmp-mode")
            yield Input("", placeholder="temperatures or budgets, e.g. 0.2, 1.0  or  60, 120", id="cmp-values")
            yield Button("Run comparison", id="cmp-run", variant="primary")
            yield Label("enter run · tab between fields · escape close", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#cmp-run", Button).focus()

    def result(self) -> dict:
        return {"set": self.query_one("#cmp-set", Select).value,
                "new_name": self.query_one("#cmp-new-name", Input).value.strip() or "regression",
                "mode": self.query_one("#cmp-mode", Select).value,
                "values": self.query_one("#cmp-values", Input).value}

    @on(Button.Pressed, "#cmp-run")
    @on(Input.Submitted)
    def _run(self, ev) -> None:
        self.dismiss(self.result())


# --- the screen ------------------------------------------------------------------------------------

class WorkbenchScreen(Screen):
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

    # ---------------------------------------------------------------- model runs
    def _start(self, what: str, total: int) -> bool:
        if self.busy:
            self.notify(f"A {self.busy} is running (c cancels it).", severity="warning", timeout=3)
            return False
        self.busy = what
        self._cancel = threading.Event()
        self._progress = [0, total]
        self._draw_head()
        self._draw_keys()
        return True

    def _on_engine_event(self, ev) -> None:
        # From the generation thread: a plain counter; the 10 Hz tick draws it.
        if isinstance(ev, PlaceFinished):
            self._progress[0] += 1

    def _wait_for_model(self) -> None:
        """The model may still be loading: wait (cancellable) rather than report it unavailable."""
        self.app.wait_for_model(self._cancel)

    def action_cancel(self) -> None:
        if self.busy:
            self._cancel.set()
            self.notify(f"Cancelling the {self.busy}…", timeout=3)

    def action_preview(self) -> None:
        places, what = self._chosen_places()
        if not places or not self._start("preview", len(places)):
            return
        self.preview_what = what
        path = Path(self.app.prompts.folder) / f"{self.prompt_name}{SUFFIX}"
        self.action_tab(1)
        self._run_preview(places, path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="workbench", name="preview")
    def _run_preview(self, places: list, path: Path) -> tuple[list, str | None]:
        self._wait_for_model()
        store = Store(self.app.db_path)  # this thread's own connection
        try:
            rows = wb.preview(places, path, self.app.llm, self.app.cfg, store, on_event=self._on_engine_event,
                              cancel=self._cancel)
            return rows, (rows[0].prompt_version if rows else None)
        finally:
            store.close()

    def _done_preview(self, result) -> None:
        self.preview_rows, self.preview_version = result
        self._draw_preview()
        n_ok = sum(1 for r in self.preview_rows if r.reason is None)
        self.notify(f"Preview of {self.preview_version} on {len(self.preview_rows)} {self.preview_what} "
                    f"places: {n_ok} valid. Production results were not touched.", title="Workbench", markup=False,
                    timeout=5)

    def action_compare(self) -> None:
        places, what = self._chosen_places()
        sets = [(s.name, len(s.urns)) for s in self.sets]

        def chosen(spec: dict | None) -> None:
            if spec:
                self._compare(spec, [p.urn for p in places])

        self.app.push_screen(CompareDialog(sets, self.current_set, len(places), what), chosen)

    def _compare(self, spec: dict, new_urns: list[str]) -> None:
        mode = spec.get("mode", "versions")
        values: list[float] = []
        if mode in ("temperature", "budget"):
            try:
                values = [float(x) for x in str(spec.get("values", "")).replace(",", " ").split()]
            except ValueError:
                values = []
            if len(values) < 1 or (mode == "budget" and any(v < 1 for v in values)):
                self.notify(f"Give one or more {'temperatures' if mode == 'temperature' else 'budgets'}, "
                            "e.g. 0.2, 1.0 or 60, 120.", severity="error", timeout=5)
                return
        set_name = spec.get("set")
        new = None if set_name != NEW_SET else (spec.get("new_name") or "regression", new_urns)
        n = len(new_urns) if new else len(next((s.urns for s in self.sets if s.name == set_name), ()))
        if not self._start("compare", n * max(len(values), 2)):
            return
        self.action_tab(2)
        self._run_compare(set_name, new, mode, values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="workbench", name="compare")
    def _run_compare(self, set_name: str, new: tuple | None, mode: str, values: list[float]) -> dict:
        app, name = self.app, self.prompt_name
        self._wait_for_model()
        store = Store(app.db_path)  # this thread's own connection
        try:
            if new is not None:
                pinned = wb.pin_set(store, new[0], new[1])
            else:
                pinned = wb.get_pinned(store, set_name)
            places = wb.places_for(pinned.urns, app.places)
            cur = wb.resolve_prompt("current", app.prompts, store, name)
            if mode == "versions":
                prev = wb.resolve_prompt("previous", app.prompts, store, name)
                variants = [wb.Variant(f"A current {cur.version[:6]}", cur), wb.Variant(f"B previous {prev.version[:6]}", prev)]
            elif mode == "temperature":
                variants = [wb.Variant(f"temp {v:g}", cur, temperature=v) for v in values]
            else:
                variants = [wb.Variant(f"budget {int(v)}", cur, budget_override=int(v)) for v in values]
            self._progress[1] = len(places) * len(variants)
            res = wb.compare(places, variants, app.llm, app.cfg, store, 1, label=f"{pinned.name}: {mode}",
                             on_event=self._on_engine_event, cancel=self._cancel)
            with self._io_lock:
                return {"result": res, "set": pinned.name, "seq": self._next_seq(), "sets": wb.pinned_sets(store)}
        finally:
            store.close()

    def _done_compare(self, out: dict) -> None:
        self.compare_result = out["result"]
        self.rerun_identical, self.rerun_differs = None, {}
        if self._fresh("sets", out["seq"]):
            self.sets = out["sets"]
        self.current_set = out["set"]
        self._draw_compare()
        self._draw_head()
        self._draw_keys()
        res = self.compare_result
        parts = [f"{s.label}: fallback {pct(s.fallback_rate)}, facts {pct(s.fact_coverage)}"
                 for s in (res.summaries[v.label] for v in res.variants)]
        self.notify(f"Compared on {out['set']!r} ({len(res.urns)} places). " + "; ".join(parts), title="Workbench",
                    markup=False, timeout=6)

    def action_rerun(self) -> None:
        res = self.compare_result
        if res is None:
            self.notify("Run a comparison first (C).", severity="warning", timeout=3)
            return
        if not self._start("re-run", len(res.urns) * len(res.variants)):
            return
        self.action_tab(2)
        self._run_rerun(res)

    @work(thread=True, exclusive=True, exit_on_error=False, group="workbench", name="rerun")
    def _run_rerun(self, before: wb.CompareResult) -> dict:
        app = self.app
        store = Store(app.db_path)
        try:
            places = wb.places_for(before.urns, app.places)
            after = wb.compare(places, before.variants, app.llm, app.cfg, store, 1, label="re-run",
                               on_event=self._on_engine_event, cancel=self._cancel)
        finally:
            store.close()
        identical, differs = {}, {}
        for v in before.variants:
            diff = [u for u in before.urns
                    if (before.cells[(v.label, u)].text, before.cells[(v.label, u)].reason)
                    != (after.cells[(v.label, u)].text, after.cells[(v.label, u)].reason)]
            identical[v.label], differs[v.label] = not diff, diff
        return {"result": after, "identical": identical, "differs": differs, "status": after.status}

    def _done_rerun(self, out: dict) -> None:
        self.compare_result = out["result"]
        if out["status"] == "cancelled":
            self.rerun_identical, self.rerun_differs = None, {}
            self.notify("Re-run cancelled.", timeout=3)
        else:
            self.rerun_identical, self.rerun_differs = out["identical"], out["differs"]
            summary = ", ".join(f"{k}: {'identical' if v else 'DIFFERS'}" for k, v in self.rerun_identical.items())
            self.notify(f"Re-run: {summary}", title="Workbench", markup=False, timeout=6,
                        severity="information" if all(self.rerun_identical.values()) else "warning")
        self._draw_compare()
        self._draw_keys()

    # ---------------------------------------------------------------- preview view
    def _draw_preview(self) -> None:
        st = self.styles_
        t = self.query_one("#wb-preview-table", DataTable)
        cur = t.cursor_row
        t.clear()
        for r in self.preview_rows:
            prod = (r.production_source or DASH) + (" (old)" if r.production_stale else "")
            t.add_row(safe(clip(r.name, 22)), Text(r.tier + ("" if r.eligible else "*")), Text(prod),
                      Text(_reason(r.reason), style=st.done if r.reason is None else st.fell_back),
                      Text(str(len(r.text or "")), justify="right"),
                      Text(pct(r.facts.coverage) if r.facts else DASH, justify="right"),
                      Text(pct(r.production_facts.coverage) if r.production_facts else DASH, justify="right"),
                      self._rating_text(getattr(r, "rating", None)), key=r.urn)
        if self.preview_rows:
            t.move_cursor(row=min(cur, len(self.preview_rows) - 1), animate=False)
        self._show_preview_row()

    def _rating_text(self, rating: str | None) -> Text:
        st = self.styles_
        if rating == "good":
            return Text("+ good", style=st.done)
        if rating == "bad":
            return Text("- bad", style=st.error)
        return Text("")

    def selected_preview(self) -> wb.PreviewRow | None:
        t = self.query_one("#wb-preview-table", DataTable)
        if t.row_count == 0 or not self.preview_rows:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return next((r for r in self.preview_rows if r.urn == key), None)

    @on(DataTable.RowHighlighted, "#wb-preview-table")
    def _preview_row(self, ev) -> None:
        self._show_preview_row()

    def _show_preview_row(self) -> None:
        st = self.styles_
        r = self.selected_preview()
        view = self.query_one("#wb-preview-view", Static)
        if r is None:
            return
        head = Text.assemble(safe(r.name, st.label), "  ", safe(r.urn, st.dim), "\n",
                             ("tier ", st.dim), r.tier, ("  budget ", st.dim), str(r.budget), ("  seed ", st.dim),
                             str(r.seed), ("  tokens ", st.dim), str(r.tokens), ("  result ", st.dim),
                             Text(_reason(r.reason), style=st.done if r.reason is None else st.fell_back))
        if getattr(r, "rating", None):
            head.append("  rated ", style=st.dim)
            head.append_text(self._rating_text(r.rating))
        if not r.eligible:
            head.append("\n* production uses the template for this place (tier/rule); previewed with the light budget",
                        style=st.dim)
        grid = Table.grid(expand=True, padding=(0, 2))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        prod_title = Text.assemble(("Production", st.label), (f" ({r.production_source or 'never run'}"
                                                               f"{', older state' if r.production_stale else ''})", st.dim))
        new_title = Text.assemble(("Preview", st.label), (f" (on disk {r.prompt_version})", st.dim))
        grid.add_row(prod_title, new_title)
        grid.add_row(marked_text(r.production_text, r.production_facts, st) if r.production_text
                     else Text("(no production text yet)", style=st.dim),
                     marked_text(r.text, r.facts, st))
        grid.add_row(Text(""), Text(""))
        grid.add_row(fact_line(r.production_facts, st) if r.production_text else Text(""), fact_line(r.facts, st))
        view.update(_stack(head, grid))

    # ---------------------------------------------------------------- compare view
    def _draw_compare(self) -> None:
        st = self.styles_
        res = self.compare_result
        summ = self.query_one("#wb-summary-table", DataTable)
        summ.clear()
        matrix = self.query_one("#wb-matrix", DataTable)
        if res is None:
            return
        for v in res.variants:
            s = res.summaries[v.label]
            score = self._rating_score(v.label)
            if self.rerun_identical is None:
                rerun = Text("– (i re-runs)", style=st.dim)
            elif self.rerun_identical.get(v.label):
                rerun = Text("identical=yes", style=st.done)
            else:
                rerun = Text(f"DIFFERS ({len(self.rerun_differs.get(v.label, []))})", style=st.error)
            summ.add_row(safe(v.label, st.label),
                         Text(pct(s.fallback_rate), justify="right", style=st.fell_back if s.fallback_rate else ""),
                         Text(pct(s.fact_coverage), justify="right"), Text(pct(score), justify="right"), rerun,
                         Text(f"{s.valid}/{s.places}"),
                         Text(DASH if s.mean_length is None else f"{s.mean_length:.0f}", justify="right"),
                         Text(str(s.contradicted), justify="right", style=st.error if s.contradicted else ""),
                         Text(s.prompt_version), Text(f"{s.temperature:g}"),
                         Text(str(s.budget_override) if s.budget_override else "tier"), key=v.label)
        cur = matrix.cursor_coordinate
        matrix.clear(columns=True)
        matrix.add_column("Place", key="place", width=22)
        for i, v in enumerate(res.variants):
            matrix.add_column(Text(clip(v.label, 20)), key=f"v{i}", width=22)
        for urn in res.urns:
            cells = [self._cell_text(res.cells[(v.label, urn)]) for v in res.variants]
            name = res.cells[(res.variants[0].label, urn)].name or urn
            matrix.add_row(safe(clip(name, 22)), *cells, key=urn)
        try:
            matrix.move_cursor(row=min(cur.row, len(res.urns) - 1), column=max(min(cur.column, len(res.variants)), 1),
                               animate=False)
        except Exception:
            pass
        matrix.border_title = f"{len(res.urns)} places x {len(res.variants)} variants"
        self._show_cell()

    def _rating_score(self, label: str) -> float | None:
        res = self.compare_result
        rated = [c.rating for c in res.column(label) if c.rating in wb.RATINGS]
        return sum(1.0 for r in rated if r == "good") / len(rated) if rated else None

    def _cell_text(self, c: wb.Cell) -> Text:
        st = self.styles_
        t = Text()
        if c.valid:
            t.append("✓ ", style=st.done)
            t.append(f"{c.length}c ")
            t.append(pct(c.fact_coverage), style=st.label)
        else:
            t.append_text(safe(f"✗ {c.reason}", st.fell_back))
        if not self.deterministic and c.latency_ms is not None:
            t.append(f" {c.latency_ms / 1000:.1f}s", style=st.dim)
        if c.rating == "good":
            t.append(" +", style=st.done)
        elif c.rating == "bad":
            t.append(" -", style=st.error)
        return t

    def selected_cell(self) -> wb.Cell | None:
        res = self.compare_result
        if res is None:
            return None
        m = self.query_one("#wb-matrix", DataTable)
        if m.row_count == 0:
            return None
        coord = m.cursor_coordinate
        urn = m.coordinate_to_cell_key(coord).row_key.value
        vi = max(coord.column - 1, 0)
        return res.cells.get((res.variants[min(vi, len(res.variants) - 1)].label, urn))

    @on(DataTable.CellHighlighted, "#wb-matrix")
    def _matrix_cell(self, ev) -> None:
        self._show_cell()

    def _show_cell(self) -> None:
        st = self.styles_
        res = self.compare_result
        c = self.selected_cell()
        view = self.query_one("#wb-cell-view", Static)
        if res is None or c is None:
            return
        row = res.row(c.urn)
        head = Text.assemble(safe(c.name or c.urn, st.label), "  ", safe(c.urn, st.dim), "\n",
                             ("tier ", st.dim), c.tier, ("  seed ", st.dim), str(c.seed),
                             ("   +/- rate the selected cell, n adds a note", st.dim))
        grid = Table.grid(expand=True, padding=(0, 2))
        for _ in row:
            grid.add_column(ratio=1)
        titles, texts, facts = [], [], []
        for cell in row:
            sel = cell.variant == c.variant
            title = Text.assemble(("▶ " if sel else "  ", st.label), safe(cell.variant, st.label if sel else ""),
                                  (f"  {cell.budget} tok budget, temp {cell.temperature:g}", st.dim))
            title.append("\n")
            title.append_text(Text(_reason(cell.reason), style=st.done if cell.reason is None else st.fell_back))
            if cell.detail:
                title.append_text(safe(f" — {clip(cell.detail, 60)}", st.dim))
            if cell.rating:
                title.append("  rated ", style=st.dim)
                title.append_text(self._rating_text(cell.rating))
            titles.append(title)
            texts.append(marked_text(cell.text, cell.facts, st))
            facts.append(fact_line(cell.facts, st))
        grid.add_row(*titles)
        grid.add_row(*texts)
        grid.add_row(*[Text("") for _ in row])
        grid.add_row(*facts)
        view.update(_stack(head, grid))

    # ---------------------------------------------------------------- ratings
    def _output_ref(self) -> tuple[Any, Text] | None:
        """The selected output (a workbench output id) and its description, for the active tab."""
        tab = self.active_tab()
        if tab == "tab-preview":
            r = self.selected_preview()
            if r is not None and r.output_id is not None:
                return r, Text.assemble(safe(r.name), " (preview)")
        elif tab == "tab-compare":
            c = self.selected_cell()
            if c is not None and c.output_id is not None:
                return c, Text.assemble(safe(c.name or c.urn), " · ", safe(c.variant))
        self.notify("Select an output in the Preview or Compare tab to rate it.", severity="warning", timeout=3)
        return None

    def action_rate(self, rating: str, note: str = "") -> None:
        sel = self._output_ref()
        if sel is None:
            return
        obj, _what = sel
        ref = obj.output_id
        self._io("rate", lambda store: (obj, rating, note, wb.rate(store, ref, rating, note),
                                        wb.ratings_list(store, limit=500)))

    def action_note(self) -> None:
        sel = self._output_ref()
        if sel is None:
            return
        obj, what = sel

        def done(result) -> None:
            if result:
                rating, note = result
                self.action_rate(rating, note)

        self.app.push_screen(NoteDialog(what, getattr(obj, "rating", None)), done)

    def _done_rate(self, result, seq: int) -> None:
        obj, rating, note, rid, ratings = result
        if self._fresh("ratings", seq):
            self.ratings = ratings
        obj.rating = rating  # Cell has the field; PreviewRow gets it here (the same meaning)
        self.ratings_done += 1
        self._draw_preview()
        self._draw_compare()
        self._draw_ratings()
        name = getattr(obj, "name", "") or obj.urn
        self.notify(f"Rated {rating}: {name}" + (f" — {note}" if note else ""), title="Rating", markup=False, timeout=3)

    def _draw_ratings(self) -> None:
        st = self.styles_
        t = self.query_one("#wb-ratings-table", DataTable)
        t.clear()
        names = getattr(self.app, "state", None)
        names = names.names if names is not None else {}
        for r in self.ratings:
            origin = r.get("origin") or ("result" if r.get("result_id") else "workbench")
            if r.get("variant"):
                origin += f" {r['variant']}"
            t.add_row(Text(str(r["id"])), Text(_when(r.get("created_at"), self.deterministic)),
                      self._rating_text(r.get("rating")), safe(clip(names.get(r["urn"], r["urn"]), 22)),
                      safe(clip(origin, 16)), Text(r.get("prompt_version") or DASH), safe(clip(r.get("note") or "", 24)),
                      safe(clip(" ".join((r.get("text") or "").split()), 80)), key=str(r["id"]))
        t.border_title = f"{len(self.ratings)} ratings"
        view = self.query_one("#wb-rating-view", Static)
        good = sum(1 for r in self.ratings if r.get("rating") == "good")
        view.update(Text.assemble((f"{len(self.ratings)} ratings", st.label), f"  {good} good, {len(self.ratings) - good} bad",
                                  ("   x exports every rating as JSONL and CSV to the data folder", st.dim)))

    def action_export(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = locations.data_dir()

        def fn(store: Store):
            folder.mkdir(parents=True, exist_ok=True)
            paths, n = [], 0
            for fmt in wb.EXPORT_FORMATS:
                path = folder / f"ratings-{stamp}.{fmt}"
                n = wb.export_ratings(store, path, fmt)
                paths.append(path)
            return n, paths

        self._io("export", fn)

    def _done_export(self, result, seq: int) -> None:
        n, self.last_exports = result
        self.notify(f"Exported {n:,} ratings to {' and '.join(str(p) for p in self.last_exports)}",
                    title="Ratings export", markup=False, timeout=8)

    # ---------------------------------------------------------------- close
    def action_close(self) -> None:
        self.app.pop_screen()


def _stack(head: Text, body) -> Table:
    """A header line above a renderable (one Static shows both)."""
    g = Table.grid(expand=True)
    g.add_column()
    g.add_row(head)
    g.add_row(Text(""))
    g.add_row(body)
    return g
