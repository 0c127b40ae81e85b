"""What the workbench screen's parts share: tab ids, compare modes, small formatters."""

from __future__ import annotations

import datetime as _dt

from rich.table import Table
from rich.text import Text

from ..widgets import DASH

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


def _stack(head: Text, body) -> Table:
    """A header line above a renderable (one Static shows both)."""
    g = Table.grid(expand=True)
    g.add_column()
    g.add_row(head)
    g.add_row(Text(""))
    g.add_row(body)
    return g
