"""The five panels. They only draw: the app owns the state and tells them what to show.

Every panel is a container that can be focused (through its focus target), maximised
(``Screen.maximize``) and hidden. All untrusted text goes through :mod:`console.textview`.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from typing import Iterable

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Region
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey
from textual_plotext import PlotextPlot

from engine.policy import decide
from engine.world import Place

from ._textual_compat import FastTable  # noqa: F401 (lives with the other Textual internals)
from .model import Lane, QueueRow
from .factview import fact_line
from .qualityview import quality_text
from .textview import clip, safe, theme_style, word_diff

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


def cursor_row_key(table: DataTable) -> str | None:
    """The key of the row under ``table``'s cursor (None for an empty table or no cursor row)."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:
        return None



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


# --- 2. live streams ------------------------------------------------------------------------

class LaneView(Widget):
    DEFAULT_CSS = "LaneView { height: 2; }"

    def __init__(self, lane: Lane, **kw) -> None:
        super().__init__(**kw)
        self.lane = lane
        self.styles_ref: Styles | None = None
        self.deterministic = False

    def render(self) -> Text:
        lane, st, w = self.lane, self.styles_ref, max(self.size.width, 20)
        dim = st.dim if st else Style(dim=True)
        if not lane.busy:
            t = Text.assemble((f"#{lane.index} ", st.label if st else ""))
            t.append("idle", style=dim)
            if lane.last_name:
                t.append(f" · last: {clip(lane.last_name, w - 20)}", style=dim)
            return t
        now = time.monotonic()
        el = lane.elapsed(now)
        tps = lane.tokens_per_s(now)
        # line 1: lane, place, a bar of elapsed time against the deadline, the clock
        head = Text.assemble((f"#{lane.index} ", st.label if st else ""))
        if lane.worker:  # a cluster lane: which worker (and node) runs it
            head.append_text(safe(f"{clip(lane.worker, 16)} ", dim))
        head.append(clip(lane.name, max(min(w // 2 - 4, 32), 10)))
        head.append(" ")
        clock = "" if self.deterministic else (f" {el:4.1f}/{lane.deadline_s:.1f}s" if lane.deadline_s else f" {el:4.1f}s")
        bar_w = w - head.cell_len - len(clock)
        if bar_w >= 4 and lane.deadline_s and not self.deterministic:
            frac = min(el / lane.deadline_s, 1.0)
            filled = int(round(frac * bar_w))
            late = frac >= 0.8
            head.append("━" * filled, style=(st.bar_late if late else st.bar) if st else "")
            head.append("━" * (bar_w - filled), style=st.bar_empty if st else dim)
        head.append(clock, style=dim)
        head.truncate(w)
        # line 2: tokens, tokens/s, and the tail of the text as it arrives (one line)
        stats = f"{lane.tokens} tok " if self.deterministic else f"{lane.tokens} tok {_fmt(tps, 1)} tok/s "
        line2 = Text(stats, style=dim)
        room = max(w - len(stats) - 1, 8)
        flat = " ".join(lane.text.split())
        line2.append_text(safe(("…" + flat[-(room - 1):]) if len(flat) > room else flat))
        line2.truncate(w)
        return Text("\n").join([head, line2])


class StreamsPanel(_PlainFocus, Panel):
    PANEL_TITLE = "2 Live streams"
    can_focus = True

    def __init__(self, lanes: list[Lane], **kw) -> None:
        super().__init__(**kw)
        self._lanes = lanes

    def compose(self) -> ComposeResult:
        for lane in self._lanes:
            yield LaneView(lane, classes="lane")

    def sync(self, lanes: list[Lane], styles: Styles, deterministic: bool) -> None:
        views = list(self.query(LaneView))
        for lane in lanes[len(views):]:
            v = LaneView(lane, classes="lane")
            self.mount(v)
            views.append(v)
        busy = 0
        for v, lane in zip(views, lanes):
            v.lane, v.styles_ref, v.deterministic = lane, styles, deterministic
            busy += lane.busy
            v.refresh()
        self.border_subtitle = f"{busy}/{len(lanes)} busy"


# --- 3. diff --------------------------------------------------------------------------------

class DiffPanel(Panel):
    PANEL_TITLE = "3 Diff"
    FOCUS_TARGET = "#diff-scroll"

    def compose(self) -> ComposeResult:
        with FocusScroll(id="diff-scroll"):
            yield TextBlock(Text("Select a place in the batch queue to inspect it."), id="diff-head", markup=False)
            yield TextBlock("", id="diff-state", markup=False)
            with Row(id="diff-sides"):
                with Column(classes="diff-side"):
                    yield Static(Text("Template"), classes="diff-title", markup=False)
                    yield TextBlock("", id="diff-template", markup=False)
                with Column(classes="diff-side"):
                    yield Static(Text("LLM"), classes="diff-title", markup=False)
                    yield TextBlock("", id="diff-llm", markup=False)
            yield TextBlock("", id="diff-facts", markup=False)
            yield TextBlock("", id="diff-history", markup=False)

    shown_urn: str | None = None

    def show(self, place: Place | None, urn: str, results: list[dict], template_now: str, live: str | None,
             cfg, styles: Styles, deterministic: bool, facts=None, rating=None) -> None:
        self.shown_urn = urn
        head = Text()
        latest = results[0] if results else None
        name = place.name if place else urn
        head.append_text(safe(name, styles.label))
        head.append("  ")
        head.append_text(safe(urn, styles.dim))
        tier = decide(place, cfg).tier if place else (latest or {}).get("tier", DASH)
        seed = place.seed if place else (latest or {}).get("seed")
        fields = [("tier", tier), ("seed", seed)]
        if latest:
            fields += [("prompt", latest.get("prompt_version") or DASH), ("model", latest.get("model_id") or DASH),
                       ("source", latest.get("source"))]
            if latest.get("worker"):  # ran on a cluster worker: which one (and so which node)
                fields.append(("node", latest["worker"]))
        head.append("\n")
        head.append_text(Text("  ").join(Text.assemble((f"{k} ", styles.dim), safe(v)) for k, v in fields))
        if latest and latest.get("reason"):
            head.append("\n")
            fell = final_reason(latest["reason"])
            style = styles.fell_back if fell else styles.dim
            head.append("fell back: " if fell else "template by policy: ", style=style)
            head.append_text(safe(latest["reason"], style))
            if latest.get("detail"):
                head.append(" — ", style=styles.dim)
                head.append_text(safe(latest["detail"]))
        set_text(self.query_one("#diff-head", Static), head)

        st = Text()
        if place:
            st.append("weather   ", style=styles.dim)
            st.append_text(safe(f"{place.temperature + 0.0:g}°C, {place.conditions}, {place.wind_speed + 0.0:g} mph"))
            st.append("\nresources ", style=styles.dim)
            st.append_text(safe(", ".join(f"{r.type} {r.abundance:.2f}" for r in place.resources) or "none"))
            st.append("\nevents    ", style=styles.dim)
            if place.events:
                for e in sorted(place.events, key=lambda e: -e.significance):
                    st.append("\n  ")
                    st.append(f"{e.significance:.2f} {e.term:<9} ", style=styles.dim)
                    st.append_text(safe(f"{e.type}: {e.summary}"))
            else:
                st.append("none")
        set_text(self.query_one("#diff-state", Static), st)

        template = (latest or {}).get("template_text") or template_now
        llm = live if live is not None else (latest or {}).get("llm_text")
        if llm:
            left, right = word_diff(template, llm, styles.removed, styles.added)
        else:
            left = safe(template)
            right = Text("(generating…)" if live is not None else "(no model text for this place)", style=styles.dim)
        set_text(self.query_one("#diff-template", Static), left)
        set_text(self.query_one("#diff-llm", Static), right)
        set_text(self.query_one("#diff-facts", Static), self._facts(latest, facts, rating, styles))

        hist = Text.assemble(("Earlier results", styles.label))
        if not results:
            hist.append("\n  none yet", style=styles.dim)
        for r in results[:10]:
            hist.append("\n")
            when = DASH if deterministic else _dt.datetime.fromtimestamp(r["created_at"]).strftime("%m-%d %H:%M:%S")
            hist.append(f"#{r['id']} b{r['batch_id']} {when} ", style=styles.dim)
            hist.append(f"{r['source']:<9}", style=styles.done if r["source"] == "llm" else styles.fell_back if r.get("reason") and final_reason(r["reason"]) else styles.dim)
            hist.append_text(safe(f" {r.get('reason') or ''} ", styles.dim))
            hist.append_text(safe(clip(r["text"] or "", 200)))
        set_text(self.query_one("#diff-history", Static), hist)
        self.border_subtitle = clip(name, 40)


    @staticmethod
    def _facts(latest: dict | None, facts, rating, styles: Styles) -> Text:
        """Fact marks of the current text (✓ kept, ✗ dropped, ! contradicted), its rating, the rating keys."""
        if latest is None:
            return Text("")
        t = fact_line(facts, styles, label=f"facts ({latest.get('source') or 'text'})", wrap=False) if facts is not None \
            else Text("facts: – (the place changed since this text)", style=styles.dim)
        t.append("\n")
        t.append_text(quality_text(latest, styles))
        t.append("\n")
        if rating is not None:
            t.append("rated ", style=styles.dim)
            t.append(rating[0], style=styles.done if rating[0] == "good" else styles.error)
            if rating[1]:
                t.append_text(safe(f" — {rating[1]}", styles.dim))
            t.append("  ")
        t.append("+ good  - bad  n note", style=styles.dim)
        return t


def final_reason(reason: str) -> bool:
    return not (reason == "tier" or reason.startswith("rule:"))


# --- 4. metrics -----------------------------------------------------------------------------

class Chart(PlotextPlot):
    """A plotext chart that is built once per change of its data, size or theme.

    ``PlotextPlot`` rebuilds the whole chart on every render; a focus change, a scroll or a
    repaint of anything overlapping it then costs a plotext build (a few ms each, four charts).
    Callers change the data through ``plt`` and then call :meth:`changed`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._version = 0
        self._cached: tuple | None = None

    def changed(self) -> None:
        self._version += 1
        self.refresh()

    def render(self):
        key = (self._version, self.size.width, self.size.height, self.app.theme)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, super().render())
        return self._cached[1]


class MetricsPanel(Panel):
    PANEL_TITLE = "4 Metrics"
    FOCUS_TARGET = "#metrics-scroll"

    def compose(self) -> ComposeResult:
        with FocusScroll(id="metrics-scroll"):
            yield Static(Text("No batch yet."), id="glance", markup=False)
            with Grid(id="charts"):
                yield Chart(id="chart-fallback", classes="chart")
                yield Chart(id="chart-latency", classes="chart")
                yield Chart(id="chart-tps", classes="chart")
                yield Chart(id="chart-dpm", classes="chart")
                yield Chart(id="chart-quality", classes="chart")
                yield Chart(id="chart-facts", classes="chart")

    _stored: tuple | None = None  # the last stored figures shown: (metrics, batches, latencies, deadlines)

    def show(self, metrics: list[dict], batches: list[dict], latencies: list[float], deadlines: list[float],
             styles: Styles, deterministic: bool, live: dict | None = None) -> None:
        """The stored batches' figures; ``live`` (console.live's snapshot) adds the running batch."""
        self._stored = (metrics, batches, latencies, deadlines)
        if live is not None:
            self.show_live(live, styles, deterministic, charts=True)
            return
        glance = Text()
        m = metrics[0] if metrics else None
        if m is None:
            glance.append("No batch with model work yet.", style=styles.dim)
        else:
            facts = _batch_facts(m)
            quality = _batch_figure(m, "average_quality")
            figures = [("latency", _fmt(m.get("avg_latency_ms"), 0, "ms")),
                       ("fallback", _fmt(m.get("fallback_pct"), 1, "%")),
                       ("quality", _fmt(quality, 2)),
                       ("facts", _fmt(None if facts is None else facts * 100, 0, "%")),
                       ("throughput", _fmt(m.get("throughput_per_min"), 1, "/min")),
                       ("tokens/s", _fmt(m.get("tokens_per_s"), 1)),
                       ("ttft", _fmt(m.get("ttft_ms"), 0, "ms")),
                       ("memory", _fmt(m.get("memory_mb"), 0, "MB"))]
            if deterministic:
                figures = [(k, v if k in ("fallback", "facts", "quality") else DASH) for k, v in figures]
            glance.append(f"batch {m['batch_id']}  ", style=styles.label)
            glance.append_text(self._pack(figures, styles, first=glance.cell_len))
        self.query_one("#glance", Static).update(glance)
        self._charts(metrics, batches, latencies, deadlines, deterministic)

    def _pack(self, figures: list, styles: Styles, first: int = 0) -> Text:
        """``name value`` pairs, two spaces apart, on lines of the glance's width: a line never
        breaks inside a pair (Rich would break at the space between name and value)."""
        width = max((self.query_one("#glance", Static).size.width or self.size.width - 2 or 44) - 2, 20)
        out, used = Text(), first
        for i, (k, v) in enumerate(figures):
            item = Text.assemble((f"{k} ", styles.dim), v)
            if i and used + 2 + item.cell_len > width:
                out.append("\n")
                used = 0
            elif i:
                out.append("  ")
                used += 2
            out.append_text(item)
            used += item.cell_len
        return out

    def show_live(self, live: dict, styles: Styles, deterministic: bool, charts: bool = True) -> None:
        """The running batch: its running figures in the glance line and as the last point of the charts."""
        glance = Text()
        glance.append(f"batch {live.get('batch_id') or '…'} running  ", style=styles.label)
        glance.append(f"{live.get('finished', 0):,}/{live.get('total', 0):,} stored", style=styles.dim)
        if live.get("llm_places"):
            glance.append(f" · model {live.get('llm_finished', 0):,}/{live['llm_places']:,}", style=styles.dim)
        glance.append("\n")
        facts = live.get("fact_coverage")
        figures = [("fallback", _fmt(live.get("fallback_pct"), 1, "%")),
                   ("quality", _fmt(live.get("average_quality"), 2)),
                   ("llm quality", _fmt(live.get("llm_average_quality"), 2)),
                   ("facts", _fmt(None if facts is None else facts * 100, 0, "%")),
                   ("tokens/s", _fmt(live.get("tokens_per_s"), 1)),
                   ("latency", _fmt(live.get("avg_latency_ms"), 0, "ms")),
                   ("throughput", _fmt(live.get("throughput_per_min"), 1, "/min"))]
        if deterministic:
            figures = [(k, v if k in ("fallback", "facts", "quality", "llm quality") else DASH) for k, v in figures]
        glance.append_text(self._pack(figures, styles))
        set_text(self.query_one("#glance", Static), glance)
        if charts and self._stored is not None:
            metrics, batches, latencies, deadlines = self._stored
            bid = live.get("batch_id")
            row = {"batch_id": bid, "started_at": time.time(), "tokens_per_s": live.get("tokens_per_s"),
                   "throughput_per_min": live.get("throughput_per_min"), "running": True,
                   "metrics": json.dumps({k: live.get(k) for k in (
                       "average_quality", "llm_average_quality", "template_average_quality", "fact_coverage",
                       "template_fact_coverage",
                       "llm_fact_coverage")})}
            mets = [row] + [m for m in metrics if m.get("batch_id") != bid]
            # The running batch's bar: its non-policy reasons over the places finished that could
            # have used the model (the stored bars divide by every non-policy place the same way).
            reasons = {k: v for k, v in (live.get("reasons") or {}).items() if k != "tier" and not k.startswith("rule:")}
            brow = {"id": bid, "places": live.get("fallback_base") or 0, "reasons": reasons}
            bats = [brow] + [b for b in batches if b.get("id") != bid]
            self._charts(mets, bats, latencies, deadlines, deterministic, live=True)

    def _charts(self, metrics, batches, latencies, deadlines, deterministic, live: bool = False) -> None:
        chrono = list(reversed(batches))  # oldest first
        self._fallback_chart(chrono)
        if not live:  # the running batch adds nothing to the stored latencies
            self._latency_chart(latencies, deadlines, deterministic)
        mets = list(reversed(metrics))
        self._series_chart("#chart-tps", "tokens/s per batch", mets, "tokens_per_s", deterministic)
        self._series_chart("#chart-dpm", "descriptions/min per batch", mets, "throughput_per_min", deterministic)
        self._share_chart("#chart-quality", "quality per batch (0-1)", mets,
                          (("stored", "average_quality"), ("llm", "llm_average_quality"), ("template", "template_average_quality")))
        self._share_chart("#chart-facts", "fact coverage per batch (0-1)", mets,
                          (("all", "fact_coverage"), ("llm", "llm_fact_coverage"), ("template", "template_fact_coverage")))

    @staticmethod
    def _unchanged(w: "Chart", sig) -> bool:
        """True when the chart already shows exactly this data (no plotext rebuild); else remembers it."""
        if getattr(w, "_data_sig", None) == sig:
            return True
        w._data_sig = sig
        return False

    def _share_chart(self, sel: str, title: str, metrics: list[dict], series: tuple) -> None:
        """Figures in 0..1 from the batch metrics JSON, one line per series, batches on the x axis.

        Deterministic figures (quality and fact scores are pure functions of the texts), so they are
        drawn in snapshot tests too."""
        w = self.query_one(sel, Chart)
        mets = metrics[-12:]
        sig = tuple((m["batch_id"], *(_batch_figure(m, key) for _, key in series)) for m in mets)
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        xs = [str(m["batch_id"]) for m in mets]
        drawn = False
        for label, key in series:
            pts = [(i, _batch_figure(m, key)) for i, m in enumerate(mets)]
            pts = [(i, v) for i, v in pts if v is not None]
            if pts:
                plt.plot([i for i, _ in pts], [v for _, v in pts], label=label, marker="dot" if len(pts) < 2 else None)
                drawn = True
        if drawn:
            plt.ylim(0, 1)
            step = max(len(xs) // 6, 1)
            plt.xticks(list(range(len(xs)))[::step], xs[::step])
            plt.xlabel("batch")
        w.changed()

    def _fallback_chart(self, batches: list[dict]) -> None:
        w = self.query_one("#chart-fallback", Chart)
        sig = tuple((b.get("id"), b.get("places"), json.dumps(b.get("reasons"), sort_keys=True, default=str))
                    for b in batches[-12:])
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("fallback % per batch, by reason")
        xs, per_reason = [], {}
        for b in batches[-12:]:
            reasons = json.loads(b.get("reasons") or "{}") if isinstance(b.get("reasons"), str) else (b.get("reasons") or {})
            policy = sum(v for k, v in reasons.items() if k == "tier" or k.startswith("rule:"))
            eligible = max((b.get("places") or 0) - policy, 0)
            xs.append(str(b["id"]))
            for k, v in reasons.items():
                if k == "tier" or k.startswith("rule:"):
                    continue
                per_reason.setdefault(k, {})[b["id"]] = 100.0 * v / eligible if eligible else 0.0
        if xs and per_reason:
            names = sorted(per_reason)
            ys = [[per_reason[n].get(int(x), 0.0) for x in xs] for n in names]
            plt.stacked_bar(xs, ys, labels=names)
            plt.ylim(0, 100)
        elif xs:
            plt.bar(xs, [0.0] * len(xs))
            plt.ylim(0, 100)
        plt.xlabel("batch")
        w.changed()

    def _latency_chart(self, latencies: list[float], deadlines: list[float], deterministic: bool) -> None:
        w = self.query_one("#chart-latency", Chart)
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("latency (s) vs deadline" + ("s" if len(deadlines) > 1 else ""))
        if latencies and not deterministic:
            plt.hist([x / 1000.0 for x in latencies], bins=20)
            for d in deadlines:
                plt.vline(d, "red")
            hi = max([*deadlines, max(latencies) / 1000.0]) * 1.08
            plt.xlim(0, hi)
        w.changed()

    def _series_chart(self, sel: str, title: str, metrics: list[dict], key: str, deterministic: bool) -> None:
        w = self.query_one(sel, Chart)
        # Labels are minutes: a running batch's point redraws only when its figure moves.
        sig = (deterministic, tuple((m["batch_id"], m.get(key), int((m.get("started_at") or 0) // 60)) for m in metrics))
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        pts = [(m["batch_id"], m[key], m.get("started_at")) for m in metrics if m.get(key) is not None]
        if pts and not deterministic:
            xs = list(range(len(pts)))
            plt.plot(xs, [p[1] for p in pts])
            labels = [_dt.datetime.fromtimestamp(p[2]).strftime("%H:%M") if p[2] else str(p[0]) for p in pts]
            step = max(len(xs) // 4, 1)
            plt.xticks(xs[::step], labels[::step])
        w.changed()


def _batch_figure(m: dict, key: str) -> float | None:
    """A figure from the batch metrics JSON (``engine.dispatch`` records them per batch)."""
    try:
        v = json.loads(m.get("metrics") or "{}").get(key)
    except (TypeError, ValueError, AttributeError):
        return None
    return float(v) if isinstance(v, (int, float)) else None


def _batch_facts(m: dict) -> float | None:
    """The batch's fact coverage (0..1), recorded by the batch runner in the metrics JSON."""
    try:
        v = json.loads(m.get("metrics") or "{}").get("fact_coverage")
    except (TypeError, ValueError, AttributeError):
        return None
    return float(v) if isinstance(v, (int, float)) else None


# --- 5. prompts -----------------------------------------------------------------------------

class PromptsPanel(Panel):
    PANEL_TITLE = "5 Prompts"
    FOCUS_TARGET = "#prompt-table"

    def compose(self) -> ComposeResult:
        yield FastTable(id="prompt-table", cursor_type="row")
        yield Static("", id="prompt-error", markup=False)
        with PreviewScroll(id="prompt-preview-scroll"):
            yield TextBlock("", id="prompt-preview", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        t = self.query_one(DataTable)
        t.add_column("Prompt", key="name")
        t.add_column("Version", key="version")
        t.add_column("Reloaded", key="when")
        t.add_column("Status", key="status")

    def show(self, statuses: list, styles: Styles, deterministic: bool) -> None:
        t = self.query_one(DataTable)
        cur = t.cursor_row
        t.clear()
        errors = Text()
        for st in statuses:
            when = DASH if deterministic else time.strftime("%H:%M:%S", time.localtime(st.loaded_at))
            status = Text("error", style=styles.error) if st.error else Text("ok", style=styles.done)
            version = st.active.version if st.active else DASH
            t.add_row(safe(st.name), Text(version), Text(when), status, key=st.name)
            if st.error:
                e = st.error
                if errors.plain:
                    errors.append("\n")
                errors.append("error ", style=styles.error)
                errors.append_text(safe(f"{_short_path(e.file)}:{e.line}: {e.message}"))
                errors.append_text(Text(
                    f" (version {st.active.version} stays active)" if st.active else " (no good version: template-only)",
                    style=styles.dim))
        if statuses:
            t.move_cursor(row=min(cur, len(statuses) - 1), animate=False)
        err = self.query_one("#prompt-error", Static)
        err.update(errors)
        err.display = bool(errors.plain)

    def selected_name(self) -> str | None:
        return cursor_row_key(self.query_one(DataTable))

    def show_preview(self, title: Text, body: Text) -> None:
        set_text(self.query_one("#prompt-preview", Static), Text("\n").join([title, body]))


def _short_path(file: str) -> str:
    # File names only: full paths differ per machine (and per test run).
    return file.replace("\\", "/").rsplit("/", 1)[-1]


class StatusBar(Static):
    """One line at the top: model status, batch progress, pause state."""


class KeyBar(Static):
    """The key map in one line (a light Footer).

    Textual's Footer recomposes all its key widgets on every focus change; with five panels
    that was over half the cost of a focus key. This bar redraws only when an action's
    availability changes (pause/resume/cancel).
    """

    def show_keys(self, items: list[tuple[str, str, bool]], styles: Styles) -> None:
        width = self.size.width or 120
        compact = width < 100  # 80 columns: "bBatch pPause ..." (key and label joined, as Footer does)
        right = Text.assemble(("^p", styles.label), "" if compact else " palette")
        sep = " " if compact else "  "
        # Keys that do not fit on one line go on a second one rather than being cut off.
        lines: list[Text] = [Text()]
        for key, label, enabled in items:
            t = Text()
            t.append(key, style=styles.label if enabled else styles.dim)
            if not compact:
                t.append(" ")
            t.append(label, style="" if enabled else styles.dim)
            cur = lines[-1]
            room = width - (right.cell_len + 1 if len(lines) == 2 else 0)
            if cur.plain and cur.cell_len + len(sep) + t.cell_len > room:
                if len(lines) == 1:
                    lines.append(Text())
                    cur = lines[-1]
                # a third line would not be shown: the last line ends with an ellipsis instead
            if cur.plain:
                cur.append(sep)
            cur.append_text(t)
        last = lines[-1]
        last.truncate(max(width - right.cell_len - 1, 10), overflow="ellipsis")
        pad = max(width - last.cell_len - right.cell_len, 1)
        lines[-1] = Text.assemble(last, " " * pad, right)
        line = Text("\n").join(lines)
        if line != getattr(self, "_shown", None):  # every focus change asks; it rarely differs
            self._shown = line
            if self.styles.height is None or self.styles.height.value != len(lines):
                self.styles.height = len(lines)  # a layout pass, only when the number of lines changes
                self.update(line)
            else:
                self.update(line, layout=False)
