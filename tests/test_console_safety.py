"""Untrusted text is shown literally: no markup interpreted, no escape sequence reaches the terminal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from textual.widgets import DataTable

from fakes import Factory, diff_settled, finish_batch, isolate, make_app, ready, rendered_text, wait_until
from console.textview import safe, word_diff
from engine.builtin_world import builtin_world
from engine.world import Event, Resource, make_place

HOSTILE_NAME = "[bold red]X[/] \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"
HOSTILE_URN = "urn:flux:place:test:hostile"
HOSTILE_OUTPUT = "The [link=x]square[/link] fills with smoke \x1b[2J while bells ring out over the town tonight."


def hostile_place():
    return make_place(HOSTILE_URN, HOSTILE_NAME, "A base [i]description[/i] with \x1b[31mred\x1b[0m in it. Second.",
                      10.0, "clear [blink]", 5.0, [Resource("ore [b]", 0.9)],
                      [Event("riot", 0.9, "long", "A [link=http://x]riot[/link] \x1b[2J erupts")])


def _no_escape(svg: str) -> None:
    assert "\x1b" not in svg and "\x07" not in svg


@pytest.mark.anyio
async def test_hostile_text_is_literal(tmp_path, monkeypatch):
    home = isolate(tmp_path, monkeypatch)
    places = [hostile_place(), *builtin_world(3)]
    # The hostile place is held after each token (the model stopping with it), so the test sees
    # its first words in the lane while it streams.
    factory = Factory(deadline_s=120, hold=HOSTILE_URN, alone=False, script={HOSTILE_URN: {"text": HOSTILE_OUTPUT}})
    app = make_app(home, places=places, factory=factory)
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        # mid-stream: the lane shows the model's text as it arrives, literally
        await wait_until(pilot, lambda: any(l.urn == HOSTILE_URN and l.tokens >= 2 for l in app.state.lanes)
                         or (factory.llm.step() and False), what="tokens")
        app.flush_now()
        lane_text = "\n".join(rendered_text(v) for v in app.query("LaneView"))
        assert "[link=x]square[/link]" in lane_text  # the arriving text, literally
        assert "[bold red]X[/]" in lane_text
        svg = app.export_screenshot()
        _no_escape(svg)
        factory.llm.release_all()
        await finish_batch(pilot, app)
        row = app.state.rows[f"{app.state.batch.batch_id}:{HOSTILE_URN}"]
        assert row.state == "fell back" and row.reason == "invalid:control_chars"
        table = app.query_one("#queue-table", DataTable)
        table.move_cursor(row=0)
        await pilot.pause()
        assert app.selected_urn == HOSTILE_URN
        await diff_settled(pilot, app)
        name_cell = table.get_cell(row.key, "place")
        assert name_cell.plain.startswith("[bold red]X[/] ␛]8;")
        diff = app.query_one("#diff")
        head = rendered_text(diff.query_one("#diff-head"))
        assert "[bold red]X[/] ␛]8;;http://evil␛\\click" in head
        llm = rendered_text(diff.query_one("#diff-llm"))
        assert "[link=x]square[/link]" in llm and "␛[2J" in llm
        state = rendered_text(diff.query_one("#diff-state"))
        assert "[link=http://x]riot[/link] ␛[2J" in state and "clear [blink]" in state
        svg = app.export_screenshot()
        _no_escape(svg)
        for literal in ("[bold", "[/]", "[link=x]square[/link]", "␛[2J", "[blink]"):
            assert literal.replace(" ", "&#160;") in svg, literal
        # the prompt preview renders the hostile fields literally too
        assert "[i]description[/i]" in rendered_text(app.query_one("#prompt-preview"))


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_safe_text_never_carries_control_chars(s):
    t = safe(s)
    assert "\x1b" not in t.plain and "\x9b" not in t.plain
    a, b = word_diff(s, s[::-1], "", "")
    assert "\x1b" not in a.plain + b.plain
