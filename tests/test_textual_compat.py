"""Fails loudly, naming the name, when a Textual upgrade drops a private piece the console uses."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import textual.screen
from textual.screen import Screen
from textual.widgets import DataTable

from console import _textual_compat as compat


def _datatable_source() -> str:
    return "".join(inspect.getsource(c) for c in DataTable.__mro__ if c.__module__.startswith("textual"))


@pytest.mark.parametrize("name", compat.DATATABLE_PRIVATE)
def test_datatable_still_has(name):
    has = hasattr(DataTable, name) or f"self.{name}" in _datatable_source()
    assert has, f"Textual's DataTable no longer has {name}: console/_textual_compat.py FastTable relies on it"


@pytest.mark.parametrize("name", compat.SCREEN_PRIVATE)
def test_screen_still_has(name):
    assert callable(getattr(Screen, name, None)), f"Textual's Screen has no {name} any more"


def test_screen_still_reads_update_period():
    assert hasattr(textual.screen, "UPDATE_PERIOD") and "UPDATE_PERIOD" in inspect.getsource(Screen), \
        "textual.screen.UPDATE_PERIOD is gone or unread: set_screen_update_period does nothing"


def test_the_console_touches_no_textual_private_name_outside_the_adapter():
    import console

    modules = [p for p in sorted(Path(console.__file__).parent.rglob("*.py")) if p.name != "_textual_compat.py"]
    assert {"app.py", "panels.py", "actions.py", "queue.py", "metrics.py"} <= {p.name for p in modules}
    for path in modules:
        src = path.read_text(encoding="utf-8")
        for name in ("UPDATE_PERIOD", "_watch_maximized", "_row_locations", "_line_cache", "_pseudo_class_state"):
            assert name not in src, f"{path} uses Textual's private {name}: move it to console/_textual_compat.py"
