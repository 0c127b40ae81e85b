"""The workbench's preview, compare and ratings views (the tables and the detail under them)."""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable, Static

from engine import locations
from engine import workbench as wb
from engine.store import Store

from ..factview import fact_line, marked_text, pct
from ..textview import clip, safe
from ..widgets import DASH
from .common import _reason, _stack, _when
from .dialogs import NoteDialog


class ViewsMixin:
    """Part of :class:`~console.workbench.screen.WorkbenchScreen` (split from it for length): the
    preview, compare and ratings tabs. Their ``@on`` row handlers stay on the screen class (Textual
    collects decorated handlers only from its own ``MessagePump`` classes).
    """

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
