"""The workbench's dialogs: a name, a confirmation, a rating note, a comparison's settings."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from .common import MODES, NEW_SET

# --- dialogs -------------------------------------------------------------------------------------


class NameDialog(ModalScreen[str | None]):
    """One line of text (the name of a pinned set)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, title: str, value: str = "", help: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.help = title, value, help

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(self.value, id="name-input")
            yield Label(Text(self.help or "enter save · escape close"), classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        self.dismiss(ev.value.strip() or None)


class ConfirmDialog(ModalScreen[bool]):
    """Yes (y / enter) or no (n / escape)."""

    BINDINGS = [Binding("y,enter", "dismiss(True)", "Yes"), Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            yield Label("y or enter: yes · n or escape: no", classes="dialog-help")


class NoteDialog(ModalScreen[tuple[str, str] | None]):
    """A note and a rating: type the note; enter rates with ``default`` (or picks good/bad below)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, what: Text, default: str | None = None) -> None:
        super().__init__()
        self.what, self.default = what, default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble("Note for ", self.what), classes="dialog-title", markup=False)
            yield Input(placeholder="what is good or bad about this text", id="note-input")
            yield OptionList(Option("good", id="good"), Option("bad", id="bad"), id="note-rating")
            hint = (f"enter rates it {self.default} · tab to choose good/bad" if self.default
                    else "enter, then choose good or bad")
            yield Label(hint + " · escape close", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        if self.default:
            self.dismiss((self.default, ev.value.strip()))
        else:
            self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, ev: OptionList.OptionSelected) -> None:
        self.dismiss((ev.option.id, self.query_one(Input).value.strip()))


class CompareDialog(ModalScreen[dict | None]):
    """Pinned set (or a new one) and the variants. Enter on "Run" (focused first) runs the default:
    the current prompt against its previous version on the last pinned set."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, sets: list[tuple[str, int]], default_set: str | None, new_count: int, new_what: str) -> None:
        super().__init__()
        self.sets, self.default_set, self.new_count, self.new_what = sets, default_set, new_count, new_what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Compare on a pinned set", classes="dialog-title")
            opts = [(Text(f"{name} ({n} places)"), name) for name, n in self.sets]
            opts.append((Text(f"+ new set from {self.new_count} {self.new_what} places"), NEW_SET))
            default = self.default_set if self.default_set in {n for n, _ in self.sets} else NEW_SET
            yield Select(opts, value=default, allow_blank=False, id="cmp-set")
            yield Input("regression", placeholder="name of the new set", id="cmp-new-name")
            yield Select([(label, key) for key, label in MODES], value="versions", allow_blank=False, id="cmp-mode")
            yield Input("", placeholder="temperatures or budgets, e.g. 0.2, 1.0  or  60, 120", id="cmp-values")
            yield Button("Run comparison", id="cmp-run", variant="primary")
            yield Label("enter run · tab between fields · escape close", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#cmp-run", Button).focus()

    def result(self) -> dict:
        return {"set": self.query_one("#cmp-set", Select).value,
                "new_name": self.query_one("#cmp-new-name", Input).value.strip() or "regression",
                "mode": self.query_one("#cmp-mode", Select).value,
                "values": self.query_one("#cmp-values", Input).value}

    @on(Button.Pressed, "#cmp-run")
    @on(Input.Submitted)
    def _run(self, ev) -> None:
        self.dismiss(self.result())
