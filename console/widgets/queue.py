"""1. The batch queue (and the world view): one row per place."""

from __future__ import annotations

import time
from typing import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable

from .._textual_compat import FastTable
from ..model import QueueRow
from ..textview import clip
from .base import DASH, Panel, Styles, _fmt, cursor_row_key, quality_style


# --- 1. batch queue -------------------------------------------------------------------------

# (label, key, width): fixed widths, because cells change as results arrive.
QUEUE_COLUMNS = (("", "mark", 1), ("Place", "place", 20), ("State", "state", 9), ("Q", "quality", 4),
                 ("Tier", "tier", 8), ("Reason", "reason", 16), ("Str", "stream", 3), ("Source", "source", 8),
                 ("ms", "ms", 6), ("Tok", "tok", 4), ("Urn", "urn", 56))
# The world view (every place, its current description): no stream or timing, but its age.
WORLD_COLUMNS = (("", "mark", 1), ("Place", "place", 20), ("State", "state", 9), ("Q", "quality", 4),
                 ("Reason", "reason", 16), ("Age", "age", 5), ("Source", "source", 8), ("Tier", "tier", 8),
                 ("Urn", "urn", 56))
_FIXED_CELLS = ("place", "tier", "urn")  # never change once a row is added


def fmt_quality(q: float | None) -> str:
    return DASH if q is None else f"{q:.2f}"


def fmt_age(seconds: float | None) -> str:
    """12s, 5m, 3h, 2d."""
    if seconds is None:
        return DASH
    s = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{int(s // size)}{unit}"
    return f"{int(s)}s"



class QueuePanel(Panel):
    PANEL_TITLE = "1 Batch queue"
    FOCUS_TARGET = "#queue-table"
    WORLD_TITLE = "1 Places (current text)"

    view = "batch"

    def compose(self) -> ComposeResult:
        yield FastTable(id="queue-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._set_columns("batch")

    def _set_columns(self, view: str) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for label, key, width in (WORLD_COLUMNS if view == "world" else QUEUE_COLUMNS):
            table.add_column(label, key=key, width=width)
        self.view = view
        self.border_title = self.WORLD_TITLE if view == "world" else self.PANEL_TITLE

    def columns(self) -> tuple:
        return WORLD_COLUMNS if self.view == "world" else QUEUE_COLUMNS

    def cells(self, row: QueueRow, marked: bool, styles: Styles, deterministic: bool) -> list[Text]:
        quality = Text(fmt_quality(row.quality), justify="right",
                       style=quality_style(row.quality, styles))
        if self.view == "world":
            age = DASH if deterministic or row.updated_at is None else fmt_age(time.time() - row.updated_at)
            return [
                Text("●" if marked else " ", style=styles.label),
                Text(clip(row.name, 20)),
                Text(row.state, style=styles.state(row.state)),
                quality,
                Text(clip(row.reason or "", 16) or DASH),
                Text(age, justify="right"),
                Text(row.source or DASH),
                Text(row.tier),
                Text(clip(row.urn, 60), style=styles.dim),
            ]
        latency = DASH if deterministic and row.latency_ms else _fmt(row.latency_ms)
        return [
            Text("●" if marked else " ", style=styles.label),
            Text(clip(row.name, 20)),
            Text(row.state, style=styles.state(row.state)),
            quality,
            Text(row.tier),
            Text(clip(row.reason or "", 16) or DASH),
            Text(DASH if row.stream is None or row.stream < 0 else
                 (row.worker.split("@")[0] if row.worker else str(row.stream))),  # a cluster row: its worker
            Text(row.source or DASH),
            Text(latency, justify="right"),
            Text(_fmt(row.tokens), justify="right"),
            Text(clip(row.urn, 60), style=styles.dim),
        ]

    def rebuild(self, rows: list[QueueRow], marked: set, styles: Styles, deterministic: bool, top: bool = False,
                view: str = "batch") -> None:
        table = self.query_one(DataTable)
        current = None if top or view != self.view else self.highlighted_key()
        if view != self.view:
            self._set_columns(view)
        else:
            table.clear()
        for r in rows:
            table.add_row(*self.cells(r, r.urn in marked, styles, deterministic), key=r.key)
        if current is not None:
            try:
                table.move_cursor(row=table.get_row_index(current), animate=False, scroll=True)
            except Exception:
                pass
        self.border_subtitle = f"{len(rows):,} rows"

    def update_rows(self, rows: Iterable[QueueRow], marked: set, styles: Styles, deterministic: bool) -> None:
        table = self.query_one(DataTable)
        for r in rows:
            if r.key not in table.rows:
                continue
            for (label, col, _w), cell in zip(self.columns(), self.cells(r, r.urn in marked, styles, deterministic)):
                if col in _FIXED_CELLS:
                    continue
                table.update_cell(r.key, col, cell)

    def highlighted_key(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))
