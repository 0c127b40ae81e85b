"""The console's key actions and command palette: batches, marks, views, prompts, ratings, export, panels."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Iterable

from textual.color import Color
from textual import work
from textual.app import SystemCommand
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable

from engine import locations
from engine.dispatch import changed_places

from engine.policy import decide
from engine.prompts import DEFAULT_PROMPT
from engine.store import Store

from .model import SORTS, STATES, WORLD_STATES
from .screens import BatchDialog, FilterDialog, MarkDialog
from .textview import resolve_color, safe
from .themes import DEFAULT_DARK, DEFAULT_LIGHT
from .widgets import Panel

PANEL_IDS = ("queue", "streams", "diff", "metrics", "prompts")
# Actions that make no sense while a dialog is open (app bindings stay active on modal screens).
MAIN_SCREEN_ONLY = {"save_svg", "new_batch", "pause", "resume", "cancel", "rerun", "edit_prompt", "export", "filter",
                    "mark", "focus_panel", "maximise", "hide_panel", "show_all", "switch_theme", "workbench",
                    "review", "rate", "note", "toggle_view", "sort", "mark_first"}


class ActionsMixin:
    """Part of :class:`console.app.TextureApp` (split from it for length): every ``action_*`` bound
    to a key (see the module doc of :mod:`console.app`), the palette's commands and panel focus.
    """

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

    def action_review(self, kind: str = "", value: str = "") -> None:
        """Blind review (console/review.py) of the current LLM texts, or of a tier, a batch, the
        worst N by quality or a pinned set (``kind`` batch | tier | worst | pinned)."""
        from .review import ReviewScreen

        sel: dict = {"limit": 50}
        if kind == "batch":
            sel = {"batch": int(value)}
        elif kind == "tier":
            sel["tier"] = value
        elif kind == "worst":
            sel = {"worst": int(value or 20)}
        elif kind == "pinned":
            sel = {"pinned": value}
        self.push_screen(ReviewScreen(sel), lambda _result=None: self._refresh_metrics())

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
            yield SystemCommand("Review: current LLM texts", "Blind review: facts, LLM text and template as A/B (R)",
                                self.action_review)
            yield SystemCommand("Review: worst 20 by quality", "Blind review of the 20 lowest-scored LLM texts",
                                lambda: self.action_review("worst", "20"))
            for tier in ("premium", "full", "light"):
                yield SystemCommand(f"Review: tier {tier}", f"Blind review of the {tier} tier's current LLM texts",
                                    lambda tier=tier: self.action_review("tier", tier))
            try:
                from engine.workbench import pinned_sets

                sets = [ps.name for ps in pinned_sets(self.store)] if self.store is not None else []
            except Exception:  # an old or damaged database: no pinned-set entries
                sets = []
            for name in sets:
                # The palette reads titles as markup: brackets of a set's name are shown as parentheses.
                shown = name.replace("[", "(").replace("]", ")")
                yield SystemCommand(f"Review: pinned set {shown}", "Blind review of a pinned set's current LLM texts",
                                    lambda name=name: self.action_review("pinned", name))
            last = self.state.batch.batch_id if getattr(self.state, "batch", None) is not None else None
            if last is not None:
                yield SystemCommand(f"Review: batch {last}", "Blind review of the last batch's LLM texts",
                                    lambda last=last: self.action_review("batch", str(last)))
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
