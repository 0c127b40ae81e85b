"""What every panel is built on: layout-sized containers, the focusable Panel, text and number helpers, the theme's Styles."""

from __future__ import annotations


from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ..textview import theme_style


DASH = "–"


class _SizedByLayout:
    """For widgets that never scroll (text, ``overflow: hidden`` containers): a size change found
    by a layout pass does not ask for another.

    Textual sets ``virtual_size`` (a ``layout=True`` reactive) when a layout pass resizes a
    widget, which schedules a second layout pass of the whole screen and repaints the widget
    again. For a widget that does not scroll, the virtual size only follows the size the running
    pass has just computed: the second pass changes nothing.
    """

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class TextBlock(_SizedByLayout, Static):
    """A ``height: auto`` Static whose text changes often (diff, preview)."""


class Row(_SizedByLayout, Horizontal):
    pass


class Column(_SizedByLayout, Vertical):
    pass


class _PlainFocus:
    """For focus targets without ``:focus`` styles of their own (app.tcss has none for them).

    On focus and blur Textual restyles the widget and *every widget inside it*; for the diff's
    and the metrics' scroll areas (a dozen widgets each) and the streams panel, none of which
    looks different when focused, that is wasted work on each panel key. Only the widget itself
    is restyled (so a ``#diff-scroll:focus`` rule would still apply to it), not its scrollbars
    either: ``Stylesheet.update_nodes`` re-applies their rules too, and that asks for a layout
    pass of the whole screen (measured: a second 20 ms pass on the diff panel's key).
    """

    def watch_has_focus(self, _has_focus: bool) -> None:
        self.app.stylesheet.apply(self, animate=True)


class _ScrollKeepsLayout:
    """For scroll areas whose content changes height often (the diff, the prompt preview).

    When a layout pass finds that the content's height changed, Textual sets the scroll area's
    ``virtual_size`` (a ``layout=True`` reactive) and so schedules a second layout pass of the
    whole screen. That pass is needed only when a scrollbar appears or disappears (the content
    then has another width); otherwise the scrollbar's thumb and the scroll offset, which
    ``_scroll_update`` still sets, are all that change. Measured in a 4-stream batch: the second
    pass cost 18-29 ms of a 50-80 ms key press.
    """

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:
        if (layout and size == self._size and container_size == self._container_size
                and virtual_size != self.virtual_size):
            width, height = container_size
            old = self.virtual_size
            if (old.height > height, old.width > width) == (virtual_size.height > height,
                                                            virtual_size.width > width):
                layout = False
        return super()._size_updated(size, virtual_size, container_size, layout=layout)


class FocusScroll(_ScrollKeepsLayout, _PlainFocus, VerticalScroll):
    pass


class PreviewScroll(_ScrollKeepsLayout, VerticalScroll):
    pass


class Panel(_SizedByLayout, Vertical):
    """A titled, focusable, maximisable, hideable panel."""

    ALLOW_MAXIMIZE = True
    PANEL_TITLE = ""
    FOCUS_TARGET = ""  # CSS selector of the widget that takes focus; "" = the panel itself

    def on_mount(self) -> None:
        self.border_title = self.PANEL_TITLE

    def focus_target(self) -> Widget:
        return self.query_one(self.FOCUS_TARGET) if self.FOCUS_TARGET else self

    _focus_look: tuple | None = None

    def show_focus(self, look: tuple | None) -> None:
        """Highlight the title (``look`` = (text colour, background)) or restore it (None).

        Inline rules on the panel alone, set by the app when focus moves between panels. The
        CSS way (``Panel:focus-within``) makes Textual restyle every widget inside both panels
        on each focus change, and a colour set through ``styles`` repaints every child; this
        repaints the panel and nothing else.
        """
        if look == self._focus_look:
            return
        self._focus_look = look
        inline = self.styles.inline
        if look is None:
            for rule in ("border_title_color", "border_title_background", "border_title_style"):
                inline.clear_rule(rule)
        else:
            inline.set_rule("border_title_color", look[0])
            inline.set_rule("border_title_background", look[1])
            inline.set_rule("border_title_style", Style(bold=True))
        if self.is_mounted:
            # Only the top border line (the title) changed: regions are relative to the
            # content area, which starts one cell inside the border.
            gutter = self.styles.gutter
            self.refresh(Region(-gutter.left, -gutter.top, self.outer_size.width, 1))


def set_text(widget: Static, text: Text) -> None:
    """Show ``text`` in a ``height: auto`` Static: nothing when it is unchanged, and a layout
    pass (a reflow of the whole screen) only when its height changes.

    ``Static.update`` always asks for a layout. The diff panel refreshes while the selected place
    streams, and usually only the LLM side grew by a few words on the same lines.
    """
    if getattr(widget, "_texture_shown", None) == text:
        return
    widget._texture_shown = text
    width = widget.size.width
    if not width or not widget.display:
        widget.update(text)
        return
    height = widget.size.height
    widget.update(text, layout=False)
    if widget.get_content_height(widget.size, widget.app.size, width) != height:
        widget.refresh(layout=True)


def _fmt(v, nd: int = 0, suffix: str = "") -> str:
    if v is None:
        return DASH
    return f"{v:,.{nd}f}{suffix}"


def quality_style(q: float | None, styles: "Styles"):
    """Low scores stand out: below 0.5 error, below 0.7 warning, else plain."""
    if q is None:
        return styles.dim
    return styles.cancelled if q < 0.5 else styles.fell_back if q < 0.7 else ""


class Styles:
    """Rich styles derived from the current theme's variables (recomputed on theme change)."""

    def __init__(self, app) -> None:
        self.running = theme_style(app, fg="primary", bold=True)
        self.fell_back = theme_style(app, fg="warning")
        self.cancelled = theme_style(app, fg="error")
        self.done = theme_style(app, fg="success")
        self.queued = theme_style(app, fg="text-muted")
        self.dim = theme_style(app, fg="text-muted")
        self.removed = theme_style(app, bg="error-muted", fg="foreground")
        self.added = theme_style(app, bg="success-muted", fg="foreground")
        self.bar = theme_style(app, fg="primary")
        self.bar_late = theme_style(app, fg="error")
        self.bar_empty = theme_style(app, fg="panel-lighten-2") if "panel-lighten-2" in (app.theme_variables or {}) else self.dim
        self.label = theme_style(app, fg="accent", bold=True)
        self.error = theme_style(app, fg="error", bold=True)

    def state(self, state: str) -> Style:
        return {"running": self.running, "fell back": self.fell_back, "cancelled": self.cancelled,
                "done": self.done, "queued": self.queued}.get(state, Style())


def cursor_row_key(table: DataTable) -> str | None:
    """The key of the row under ``table``'s cursor (None for an empty table or no cursor row)."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:
        return None
