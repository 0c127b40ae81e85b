"""The review screen: blind pairwise review of a place's LLM text against its template.

A reader sees the place's facts and two texts, A and B, side by side: the stored LLM text and the
template in a seeded order (engine.review) the screen never reveals. Keys:

  1-5      score the active side (A first; after A is scored, B becomes active)
  tab      switch the active side          shift+1-5 (!@#$%)  score B directly
  a b s    ship A, B or "same"             n  a note (enter keeps it, escape drops it)
  enter →  store the verdict and go on     ←  the previous place
  escape q back to the console

Every verdict is stored in a thread worker with its own Store (the UI never waits on the
database); the queue is built the same way. World and model text is shown through
:func:`console.textview.safe` (a Rich ``Text``: markup stays literal, control characters visible).
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker

from engine import review as rv
from engine.errors import TextureError
from engine.store import Store

from .textview import safe

# shift+1..5 on a US layout: the keys Textual names for ! @ # $ %
_SHIFT_DIGITS = ("exclamation_mark", "at", "number_sign", "dollar_sign", "percent_sign")


class ReviewScreen(Screen):
    """Blind review of a queue (``selection``: keyword arguments of :func:`engine.review.build_queue`)."""

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #rv-head { height: 1; padding: 0 1; background: $panel; }
    ReviewScreen #rv-facts-box { height: auto; max-height: 12; border: round $primary-darken-2; padding: 0 1; }
    ReviewScreen #rv-pair { height: 1fr; }
    ReviewScreen .rv-side { width: 1fr; border: round $primary-darken-2; padding: 0 1; }
    ReviewScreen .rv-side.-active { border: round $accent; }
    ReviewScreen #rv-verdict { height: 1; padding: 0 1; }
    ReviewScreen #rv-note { display: none; }
    ReviewScreen #rv-note.-shown { display: block; }
    ReviewScreen #rv-keys { height: auto; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Back"),
        *[Binding(str(i), f"score({i})", f"Score {i}", show=False) for i in range(1, 6)],
        *[Binding(k, f"score({i}, 'B')", show=False) for i, k in enumerate(_SHIFT_DIGITS, 1)],
        Binding("tab", "switch_side", "Side", show=False, priority=True),
        Binding("a", "ship('A')", "Ship A", show=False),
        Binding("b", "ship('B')", "Ship B", show=False),
        Binding("s", "ship('same')", "Same", show=False),
        Binding("n", "note", "Note", show=False),
        Binding("enter,right", "next", "Next", show=False),
        Binding("left", "previous", "Previous", show=False),
    ]

    def __init__(self, selection: dict | None = None, reviewer: str | None = None, label: str = "") -> None:
        super().__init__()
        self.selection = dict(selection or {})
        self.label = label or _label(self.selection)
        self.reviewer = rv.default_reviewer() if reviewer is None else reviewer
        self.items: list[rv.ReviewItem] = []
        self.index = 0
        self.loaded = False
        self.side = "A"
        # Per item index: the verdict being made (score_a, score_b, ship, note), shown again on ←.
        self.drafts: dict[int, dict] = {}
        self.saved = 0  # verdicts stored (tests wait on it)
        self.stored: set[int] = set()  # item indexes with a stored verdict of this reviewer
        self.saved_ids: list[int] = []
        self.error: str | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(Text("Blind review · loading…"), id="rv-head", markup=False)
        with VerticalScroll(id="rv-facts-box"):
            yield Static(Text(""), id="rv-facts", markup=False)
        with Horizontal(id="rv-pair"):
            with VerticalScroll(id="rv-side-a", classes="rv-side -active"):
                yield Static(Text(""), id="rv-text-a", markup=False)
            with VerticalScroll(id="rv-side-b", classes="rv-side"):
                yield Static(Text(""), id="rv-text-b", markup=False)
        yield Static(Text(""), id="rv-verdict", markup=False)
        yield Input(placeholder="note: the worst flaw of the text not shipped (enter keeps it, escape drops it)",
                    id="rv-note")
        yield Static(Text(
            "1-5 score the active side (tab switches; shift+1-5 scores B) · a/b/s ship A, B or same · "
            "n note · enter/→ store and next · ← previous · escape/q back"), id="rv-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#rv-side-a").border_title = "A"
        self.query_one("#rv-side-b").border_title = "B"
        self.query_one("#rv-facts-box").border_title = "facts"
        self._load()

    # ------------------------------------------------------------------ database work (threads)
    def _io(self, name: str, fn: Callable[[Store], Any], done: Callable[[Any], None]) -> Worker:
        """``fn(store)`` in a thread worker of the app (so a verdict being stored survives the
        screen closing) with its own Store; ``done(result)`` then runs on the UI thread, or an
        error is shown as one line."""
        app, db_path = self.app, self.app.db_path

        def run():
            store = Store(db_path)  # this thread's own connection
            try:
                result = fn(store)
            except Exception as exc:
                msg = str(exc) if isinstance(exc, TextureError) else f"{type(exc).__name__}: {exc}"
                app.call_from_thread(self._failed, name, msg)
                return None
            finally:
                store.close()
            app.call_from_thread(done, result)
            return result

        return app.run_worker(run, name=f"review-{name}", group="review-io", thread=True, exit_on_error=False)

    def _failed(self, name: str, msg: str) -> None:
        self.error = msg
        self.app.notify(msg, title=f"Review: {'not stored' if name == 'save' else 'queue'}", severity="error",
                        markup=False, timeout=8)
        if name == "load":
            self.loaded = True
            if self.is_attached:
                self._draw()

    def _load(self) -> None:
        sel, places, reviewer = dict(self.selection), list(getattr(self.app, "places", []) or []), self.reviewer

        def fn(store: Store):
            items = rv.build_queue(store, places=places, **sel)
            return items, {i: v for i, it in enumerate(items) if (v := rv.stored_verdict(store, it, reviewer))}

        self._io("load", fn, self._loaded)

    def _loaded(self, result) -> None:
        self.items, prior = result
        self.drafts.update({i: dict(v) for i, v in prior.items() if i not in self.drafts})
        self.stored.update(prior)
        # Like an annotation queue: start at the first place this reviewer has not reviewed yet.
        self.index = next((i for i in range(len(self.items)) if i not in self.stored), 0)
        self.loaded = True
        if self.is_attached:
            self._draw()

    def _saved(self, rid: int) -> None:
        self.saved += 1
        self.saved_ids.append(rid)
        if self.is_attached and self.app.screen is self:
            self._draw_head()
        else:  # stored after the screen closed: the metrics panel's line catches up
            refresh = getattr(self.app, "_refresh_metrics", None)
            if refresh is not None and getattr(self.app, "store", None) is not None:
                refresh()

    # ------------------------------------------------------------------ drawing
    @property
    def item(self) -> rv.ReviewItem | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def draft(self) -> dict:
        return self.drafts.setdefault(self.index, {"score_a": None, "score_b": None, "ship": None, "note": ""})

    def _draw_head(self) -> None:
        t = Text()
        t.append("Blind review", style="bold")
        t.append(f" · {self.label}")
        if self.loaded:
            t.append(f" · {self.index + 1 if self.items else 0}/{len(self.items)}")
        t.append(f" · {self.saved} stored this session")
        t.append(" · reviewer ")
        t.append_text(safe(self.reviewer or "(unnamed)"))
        self.query_one("#rv-head", Static).update(t)

    def _draw(self) -> None:
        self._draw_head()
        it = self.item
        facts = self.query_one("#rv-facts", Static)
        a, b = self.query_one("#rv-text-a", Static), self.query_one("#rv-text-b", Static)
        if it is None:
            msg = ("Loading…" if not self.loaded else self.error or
                   "Nothing to review: no stored result with an LLM text matches. Run a batch with the model first.")
            facts.update(Text(msg))
            a.update(Text(""))
            b.update(Text(""))
            self.query_one("#rv-verdict", Static).update(Text(""))
            return
        lines = rv.format_facts(it.facts)
        ft = Text()
        ft.append_text(safe(lines[0], "bold"))
        if it.meta.get("facts_newer"):
            ft.append("  (the place's newer state: the texts were written for an earlier one)", style="italic")
        for line in lines[1:]:
            ft.append("\n")
            ft.append_text(safe(line))
        facts.update(ft)
        a.update(safe(it.text_a))
        b.update(safe(it.text_b))
        for side in ("a", "b"):
            box = self.query_one(f"#rv-side-{side}")
            box.set_class(self.side == side.upper(), "-active")
            box.scroll_home(animate=False)
        self._draw_verdict()

    def _draw_verdict(self) -> None:
        d = self.draft()
        t = Text()

        def val(v) -> Text:
            return Text("—", style="dim") if v is None else Text(str(v), style="bold")

        t.append("A "), t.append_text(val(d["score_a"]))
        t.append("  B "), t.append_text(val(d["score_b"]))
        t.append("  ship "), t.append_text(val(d["ship"]))
        t.append(f"  · scoring {self.side}")
        if self.index in self.stored:
            t.append("  · stored (enter stores a change)", style="italic")
        if d["note"]:
            t.append("  · note: ")
            t.append_text(safe(d["note"]))
        self.query_one("#rv-verdict", Static).update(t)
        for side in ("A", "B"):
            box = self.query_one(f"#rv-side-{side.lower()}")
            score = d["score_a" if side == "A" else "score_b"]
            box.border_subtitle = (f"score {score}" if score else "") + (" · ship" if d["ship"] == side else "")

    # ------------------------------------------------------------------ keys
    def _note_open(self) -> bool:
        return self.query_one("#rv-note", Input).has_class("-shown")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if self._note_open() and action not in ("close",):
            return False  # typing a note: keys go to the Input
        return True

    def action_score(self, score: int, side: str | None = None) -> None:
        if self.item is None:
            return
        side = side or self.side
        self.draft()["score_a" if side == "A" else "score_b"] = int(score)
        if side == "A" and self.side == "A":
            self.side = "B"
        self._draw()

    def action_switch_side(self) -> None:
        if self._note_open():
            return
        self.side = "B" if self.side == "A" else "A"
        self._draw()

    def action_ship(self, ship: str) -> None:
        if self.item is None:
            return
        self.draft()["ship"] = ship
        self._draw_verdict()

    def action_note(self) -> None:
        if self.item is None:
            return
        box = self.query_one("#rv-note", Input)
        box.value = self.draft()["note"]
        box.add_class("-shown")
        box.focus()

    @on(Input.Submitted, "#rv-note")
    def _note_done(self, ev: Input.Submitted) -> None:
        ev.stop()
        self.draft()["note"] = ev.value.strip()
        self._close_note()

    def _close_note(self) -> None:
        box = self.query_one("#rv-note", Input)
        box.remove_class("-shown")
        self.set_focus(None)
        self._draw_verdict()

    def action_close(self) -> None:
        if self._note_open():
            self._close_note()  # escape drops the typed note, keeps the one stored before
            return
        self.dismiss(self.saved)

    def action_next(self) -> None:
        it = self.item
        if it is None:
            return
        d = self.draft()
        if d["score_a"] is None or d["score_b"] is None or d["ship"] is None:
            missing = [w for w, k in (("score A", "score_a"), ("score B", "score_b"), ("ship a/b/s", "ship"))
                       if d[k] is None]
            self.notify("Still to give: " + ", ".join(missing), severity="warning", timeout=3)
            return
        verdict, reviewer = dict(d), self.reviewer
        self.stored.add(self.index)
        self._io("save", lambda store: rv.record_review(store, it, verdict["score_a"], verdict["score_b"],
                                                         verdict["ship"], verdict["note"], reviewer,
                                                         origin="review:console"), self._saved)
        if self.index < len(self.items) - 1:
            self.index += 1
            self.side = "A"
            self._draw()
        else:
            self.notify(f"That was the last of {len(self.items)}: escape goes back, ← reviews earlier ones.",
                        title="Review", timeout=4)

    def action_previous(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.side = "A"
            self._draw()


def _label(sel: dict) -> str:
    if sel.get("batch") is not None:
        what = f"batch {sel['batch']}"
    elif sel.get("tier"):
        what = f"tier {sel['tier']}"
    elif sel.get("worst"):
        what = f"worst {sel['worst']} by quality"
    elif sel.get("pinned"):
        what = f"pinned set {sel['pinned']}"
    else:
        what = "current LLM texts"
    return what + (f" (at most {sel['limit']})" if sel.get("limit") else "")
