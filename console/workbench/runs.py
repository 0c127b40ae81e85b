"""The workbench's model runs: preview, compare and re-run in thread workers on the app's service."""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work

from engine import workbench as wb
from engine.llm.events import PlaceFinished
from engine.prompts import SUFFIX
from engine.store import Store

from ..factview import pct
from .common import NEW_SET
from .dialogs import CompareDialog


class RunsMixin:
    """Part of :class:`~console.workbench.screen.WorkbenchScreen` (split from it for length): starting,
    running (thread workers, exclusive, group "workbench") and drawing the results of model runs.
    """

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
