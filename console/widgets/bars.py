"""The status bar and the key bar under the panels."""

from __future__ import annotations


from rich.text import Text
from textual.widgets import Static
from .base import Styles




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
