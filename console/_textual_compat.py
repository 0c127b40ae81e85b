"""Every private Textual name the console relies on, in one place (Textual has no public API for them).

Two speed-ups need Textual internals (measured, see the docstrings; textual is pinned in
pyproject.toml):

- :class:`FastTable` keeps DataTable's render caches across cell updates and focus changes; it
  reads and writes the DataTable internals listed in :data:`DATATABLE_PRIVATE`.
- :class:`LeanMaximizeScreen` overrides ``Screen._watch_maximized``; :func:`set_screen_update_period`
  sets ``textual.screen.UPDATE_PERIOD`` (read when a screen is created).

``tests/test_textual_compat.py`` checks every name against the installed Textual and fails loudly,
naming the missing one, when an upgrade drops or renames any: update this module first.
"""

from __future__ import annotations

import textual.screen
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

#: DataTable internals FastTable uses (attributes set by DataTable, and methods it overrides or calls).
DATATABLE_PRIVATE = ("_styles_cache", "_get_styles_to_render_cell", "_pseudo_class_state", "_row_locations",
                     "_column_locations", "_data", "_update_count", "_row_renderable_cache", "_cell_render_cache",
                     "_row_render_cache", "_line_cache", "_y_offsets", "_on_resize", "_clear_caches")
#: Screen internals: the maximize watcher LeanMaximizeScreen overrides.
SCREEN_PRIVATE = ("_watch_maximized",)


def set_screen_update_period(seconds: float) -> None:
    """Screen updates at most every ``seconds`` (Textual's module constant; TEXTUAL_FPS sets it too)."""
    textual.screen.UPDATE_PERIOD = seconds


class LeanMaximizeScreen(Screen):
    """A screen whose maximise/restore restyles the maximised widget only."""

    def _watch_maximized(self, previously_maximized: Widget | None, maximized: Widget | None) -> None:
        # Textual also toggles a ``-maximized-view`` class on the screen, which restyles (and
        # re-lays out) every widget on it, twice per maximise/restore. Its rules (vertical
        # layout, scrolling, centring, a hatch around a smaller widget) change nothing here: a
        # maximised panel fills the screen. The panel's own ``-maximized`` class stays
        # (app.tcss uses it) and restyles that panel only.
        if previously_maximized is not None:
            previously_maximized.remove_class("-maximized")
        if maximized is not None:
            maximized.add_class("-maximized")


class FastTable(DataTable):
    """A DataTable that keeps its render caches across cell updates and focus changes.

    Textual's DataTable drops every cached cell, row and line (a) on each ``update_cell`` (it
    bumps one table-wide update counter that is part of every cache key) and (b) on each style
    update, e.g. gaining or losing focus (``notify_style_update`` clears the caches, and the
    focus state is part of every key). With the queue updating 15 times a second during a batch
    and the panel keys moving focus, the table re-rendered every visible cell with Rich over and
    over: most of the cost of a key press. Here:

    - ``update_cell`` (fixed-width columns only, ``update_width=False``) invalidates just the
      cached cells, row lines and screen lines of the rows it changed, and repaints only those
      rows; the table-wide counter stays put.
    - Caches are keyed by a signature of the styles that shape a cell (the table's own style and
      its component styles: cursor, header, zebra rows, ...) instead of the focus state, and are
      not cleared when styles change: a focus change re-renders only the first time each look
      is seen, and toggling back and forth is served from the caches. The signature changes
      whenever any of those styles does (theme switch, focus), so nothing stale is shown.
    """

    _STYLE_COMPONENTS = tuple(sorted(DataTable.COMPONENT_CLASSES))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_signature: tuple | None = None
        self._stale_rows: set = set()

    # (b) caches keyed by a style signature instead of being cleared on every style update
    def notify_style_update(self) -> None:
        Widget.notify_style_update(self)  # the widget's own style caches (not DataTable's: it clears its render caches)
        self._styles_cache.clear()
        self._get_styles_to_render_cell.cache_clear()  # a shared lru_cache: keyed by table, not by style
        self._style_signature = None
        self.refresh()

    def _signature(self) -> tuple:
        sig = self._style_signature
        if sig is None:
            get = self.get_component_rich_style
            sig = (self.rich_style, *(get(name) for name in self._STYLE_COMPONENTS))
            self._style_signature = sig
        return sig

    def render_lines(self, crop):
        if self._stale_rows:
            self._drop_stale_rows()
        # DataTable puts the focus state (pseudo classes) into its cache keys; the look it
        # produces is fully described by the signature, so that goes in instead.
        self._pseudo_class_state = self._signature()
        return super(DataTable, self).render_lines(crop)

    # (a) cell updates invalidate only their rows
    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        if isinstance(row_key, str):
            row_key = RowKey(row_key)
        if isinstance(column_key, str):
            column_key = ColumnKey(column_key)
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
        self._data[row_key][column_key] = value
        if row_key not in self._stale_rows:
            self._stale_rows.add(row_key)
            self.refresh_row(self._row_locations.get(row_key))

    def _drop_stale_rows(self) -> None:
        stale, self._stale_rows = self._stale_rows, set()
        count = self._update_count
        for key in stale:
            index = self._row_locations.get(key)
            if index is not None:
                self._row_renderable_cache.discard((count, index))
        for cache in (self._cell_render_cache, self._row_render_cache):
            for k in [k for k in cache.keys() if k[0] in stale]:
                cache.discard(k)
        lines = self._line_cache
        if lines:
            offsets, header = self._y_offsets, (self.header_height if self.show_header else 0)
            for k in list(lines.keys()):
                y = k[0] - header
                if 0 <= y < len(offsets) and offsets[y][0] in stale:
                    lines.discard(k)

    def _on_resize(self, event) -> None:
        # DataTable bumps its update counter here (handlers run down the MRO unless stopped),
        # dropping every cached cell and row. The columns have fixed widths and rows one line:
        # the cells do not depend on the table's size, and cached screen lines are keyed by width.
        event.prevent_default()

    def _clear_caches(self) -> None:
        if getattr(self, "_stale_rows", None):
            self._stale_rows.clear()
        super()._clear_caches()
