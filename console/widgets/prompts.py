"""5. The prompts: every prompt file, its active version and errors."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from .._textual_compat import FastTable
from ..textview import safe
from .base import DASH, Panel, PreviewScroll, Styles, TextBlock, cursor_row_key, set_text


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
