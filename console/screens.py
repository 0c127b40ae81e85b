"""Modal dialogs: choose what a batch runs on, filter the queue."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from .model import QUALITY_FILTERS, STATES, TIERS

# (option id, label). "random" and "match" take the text of the input line.
BATCH_KINDS = (
    ("changed", "Changed places (state differs from the stored one)"),
    ("selected", "Selected places (space marks rows in the queue)"),
    ("tier:premium", "Tier: premium"),
    ("tier:full", "Tier: full"),
    ("tier:light", "Tier: light"),
    ("tier:template", "Tier: template"),
    ("random", "N random places (N on the line below)"),
    ("match", "Places whose name or urn contains the text below"),
    ("all", "All places"),
)


class BatchDialog(ModalScreen[tuple[str, str, str] | None]):
    """Returns (kind, argument, where) or None; where is "local" or "cluster" (engine.cluster)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, counts: dict[str, int], default_n: int = 20, cluster: str = "") -> None:
        super().__init__()
        self.counts = counts
        self.default_n = default_n
        self.cluster = cluster  # FLUX_CLUSTER: "" (this machine by default), "auto" or an address

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Start a batch on…", classes="dialog-title")
            opts = []
            for kid, label in BATCH_KINDS:
                n = self.counts.get(kid)
                opts.append(Option(Text(label + (f"  {n:,}" if n is not None else "")), id=kid))
            yield OptionList(*opts, id="batch-kinds")
            yield Input(str(self.default_n), placeholder="N, or text to match", id="batch-arg")
            where = f"Ray cluster at {self.cluster}" if self.cluster not in ("", "auto") else "Ray cluster (local instance or FLUX_CLUSTER)"
            yield Select([(Text("Run on this machine"), "local"), (Text(f"Run on a {where}"), "cluster")],
                         value="cluster" if self.cluster else "local", allow_blank=False, id="batch-where")
            yield Label("enter start · tab to the line and where it runs · escape close", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _where(self) -> str:
        return str(self.query_one("#batch-where", Select).value)

    @on(OptionList.OptionSelected)
    def _chosen(self, ev: OptionList.OptionSelected) -> None:
        self.dismiss((ev.option.id, self.query_one("#batch-arg", Input).value, self._where()))

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        ol = self.query_one(OptionList)
        opt = ol.get_option_at_index(ol.highlighted) if ol.highlighted is not None else None
        kind = opt.id if opt is not None and opt.id in ("random", "match") else ("match" if not ev.value.strip().isdigit() else "random")
        self.dismiss((kind, ev.value, self._where()))


class FilterDialog(ModalScreen[dict | None]):
    """Filter the batch queue by state, tier and reason; the queue follows as values change.

    Returns the final filter dict (escape closes and keeps it; ctrl+r clears all three).
    """

    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+r", "clear", "Clear")]

    def __init__(self, current: dict, reasons: list[str], on_change=None, states=STATES) -> None:
        super().__init__()
        self.current = dict(current)
        self.reasons = reasons
        self.on_change = on_change
        self.states = tuple(states)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Filter the batch queue", classes="dialog-title")
            state = self.current.get("state")
            yield Select([(s, s) for s in self.states], prompt="any state",
                         value=state if state in self.states else Select.NULL, id="f-state")
            yield Select([(t, t) for t in TIERS], prompt="any tier", value=self.current.get("tier") or Select.NULL, id="f-tier")
            reasons = list(self.reasons)
            cur = self.current.get("reason")
            if cur and cur not in reasons:
                reasons.append(cur)
            yield Select([(Text(r), r) for r in reasons], prompt="any reason", value=cur or Select.NULL, id="f-reason")
            yield Select([(label, q) for q, label in QUALITY_FILTERS], prompt="any quality",
                         value=self.current.get("quality") or Select.NULL, id="f-quality")
            yield Label("enter opens a list · the queue follows at once · ctrl+r clear · escape close",
                        classes="dialog-help")

    def _value(self, sel: str):
        v = self.query_one(sel, Select).value
        return None if v is Select.NULL or v is Select.BLANK else v

    def values(self) -> dict:
        return {"state": self._value("#f-state"), "tier": self._value("#f-tier"), "reason": self._value("#f-reason"),
                "quality": self._value("#f-quality")}

    @on(Select.Changed)
    def _changed(self, ev: Select.Changed) -> None:
        self.current = self.values()
        if self.on_change:
            self.on_change(self.current)

    def action_close(self) -> None:
        self.dismiss(self.current)

    def action_clear(self) -> None:
        self.dismiss({"state": None, "tier": None, "reason": None, "quality": None})


class MarkDialog(ModalScreen[int | None]):
    """How many of the rows shown to mark, from the top (0 clears every mark). Returns N or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, shown: int, marked: int, default_n: int = 20) -> None:
        super().__init__()
        self.shown, self.marked, self.default_n = shown, marked, default_n

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Mark the first N rows of the queue", classes="dialog-title")
            yield Label(Text(f"{self.shown:,} rows shown, {self.marked:,} marked. Sort first (o: quality, worst "
                             "first) to mark the worst N; 0 clears every mark."))
            yield Input(str(min(self.default_n, self.shown) if self.shown else 0), placeholder="N", id="mark-n",
                        restrict=r"[0-9]*")
            yield Label("enter mark · escape close · then b, 'Selected places'", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, ev: Input.Submitted) -> None:
        v = ev.value.strip()
        self.dismiss(int(v) if v.isdigit() else None)
