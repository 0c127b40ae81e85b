"""2. The live streams: one lane per decode stream, its text as it arrives."""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from ..model import Lane
from ..textview import clip, safe
from .base import Panel, Styles, _PlainFocus, _fmt


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
