"""The five panels. They only draw: the app owns the state and tells them what to show.

Every panel is a container that can be focused (through its focus target), maximised
(``Screen.maximize``) and hidden. All untrusted text goes through :mod:`console.textview`.

One module a panel (``queue``, ``streams``, ``diff``, ``metrics``, ``prompts``), what they are built
on (``base``) and the two bars (``bars``); every public name is re-exported here, so
``from console.widgets import QueuePanel`` works as before the split.
"""

from __future__ import annotations

from .._textual_compat import FastTable  # lives with the other Textual internals
from .base import Column, cursor_row_key, DASH, FocusScroll, Panel, PreviewScroll, quality_style, Row, set_text, Styles, TextBlock
from .queue import fmt_age, fmt_quality, QUEUE_COLUMNS, QueuePanel, WORLD_COLUMNS
from .streams import LaneView, StreamsPanel
from .diff import DiffPanel, final_reason
from .metrics import Chart, MetricsPanel
from .prompts import PromptsPanel
from .bars import KeyBar, StatusBar

__all__ = [
    "Chart",
    "Column",
    "cursor_row_key",
    "DASH",
    "DiffPanel",
    "FastTable",
    "final_reason",
    "fmt_age",
    "fmt_quality",
    "FocusScroll",
    "KeyBar",
    "LaneView",
    "MetricsPanel",
    "Panel",
    "PreviewScroll",
    "PromptsPanel",
    "quality_style",
    "QUEUE_COLUMNS",
    "QueuePanel",
    "Row",
    "set_text",
    "StatusBar",
    "StreamsPanel",
    "Styles",
    "TextBlock",
    "WORLD_COLUMNS",
]
