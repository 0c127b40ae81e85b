"""Pilot tests of the review screen (console/review.py) in the real app, on a real SQLite file.

A batch with the scripted model gives places with an LLM text; R opens blind review; keys score
A and B, ship, add a note and move on; the stored review (with its hidden key) is checked in the
database, and the metrics panel's "reviewed:" line. Untrusted text (markup, escape sequences)
is shown literally. No sleeps: ``wait_until`` loops on the screen's own counters.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Static

from console.review import ReviewScreen
from engine import review as rv
from engine.store import ResultRow, Store
from fakes import finish_batch, make_app, ready, rendered_text, wait_until

pytestmark = pytest.mark.anyio

SIZE = (120, 40)


def reviews(home) -> list[dict]:
    s = Store(home / "texture.db")
    try:
        return list(s.db.query("SELECT * FROM wb_reviews ORDER BY id"))
    finally:
        s.close()


async def open_review(pilot, app) -> ReviewScreen:
    await pilot.press("R")
    scr = app.screen
    assert isinstance(scr, ReviewScreen)
    await wait_until(pilot, lambda: scr.loaded, what="review queue loaded")
    await pilot.pause()
    return scr


async def test_review_a_place_from_the_keyboard(home, monkeypatch):
    monkeypatch.setenv("TEXTURE_REVIEWER", "ana")
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        scr = await open_review(pilot, app)
        assert len(scr.items) >= 2
        first, second = scr.items[0], scr.items[1]
        shown_a = rendered_text(scr.query_one("#rv-text-a", Static))
        assert shown_a == first.text_a and rendered_text(scr.query_one("#rv-text-b", Static)) == first.text_b
        assert first.name in rendered_text(scr.query_one("#rv-facts", Static))
        # Enter before a verdict is complete stores nothing.
        await pilot.press("4", "enter")
        assert scr.index == 0 and scr.saved == 0
        # 4 scored A (B is active now): 2 scores B; a ships A; n opens the note.
        await pilot.press("2", "a", "n")
        assert isinstance(scr.focused, Input)
        await pilot.press(*"flat", "enter")
        await pilot.press("enter")
        await wait_until(pilot, lambda: scr.saved == 1, what="review stored")
        assert scr.index == 1
        # Tab switches the side; shift+digit scores B directly; s ships "same"; → next.
        await pilot.press("tab", "3", "tab", "1")
        assert scr.draft()["score_a"] == 1 and scr.draft()["score_b"] == 3
        await pilot.press("at", "s", "right")
        await wait_until(pilot, lambda: scr.saved == 2, what="second review stored")
        # ← shows the first place again with its verdict.
        await pilot.press("left", "left")
        assert scr.index == 0 and scr.draft()["score_a"] == 4
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)
        await pilot.pause()
        assert "reviewed: 2" in rendered_text(app.query_one("#glance", Static))
        # Opened again, the queue starts at the first place not reviewed yet; the others show the verdict.
        again = await open_review(pilot, app)
        assert again.index == 2 and again.stored == {0, 1}
        await pilot.press("left")
        assert again.draft() == {"score_a": 1, "score_b": 2, "ship": "same", "note": ""}
        assert "stored" in rendered_text(again.query_one("#rv-verdict", Static))
        await pilot.press("escape")

    rows = reviews(home)
    assert len(rows) == 2
    r1, r2 = rows
    assert (r1["urn"], r1["text_a"], r1["text_b"], r1["llm_side"]) == (first.urn, first.text_a, first.text_b,
                                                                        first.llm_side)
    assert (r1["score_a"], r1["score_b"], r1["ship"], r1["note"], r1["reviewer"]) == (4, 2, "A", "flat", "ana")
    assert r1["state_hash"] == first.state_hash and r1["result_id"] == first.result_id
    assert (r2["urn"], r2["score_a"], r2["score_b"], r2["ship"]) == (second.urn, 1, 2, "same")
    unblinded = rv.unblind(r1)
    assert unblinded["llm"] == first.llm_text and unblinded["ship"] == ("llm" if first.llm_side == "A" else "template")


async def test_markup_and_escapes_in_place_text_are_shown_literally(home):
    db = home / "texture.db"
    home.mkdir(parents=True, exist_ok=True)
    s = Store(db)
    d = {"urn": "urn:flux:place:x:evil", "name": "[red]Evil[/] Hold", "description": {"base": "A hold [b]of[/b] stone."},
         "weather": {"temperature": 5, "conditions": "fog", "windSpeed": 3}, "resources": [], "events": []}
    s.sync_places([], lambda p: "premium")  # the tables exist; the place itself as a world tool could leave it
    s.db.execute("INSERT INTO places(urn, name, region, state_hash, seed, tier, data, updated_at) "
                 "VALUES (?,?,?,?,?,?,?,?)", [d["urn"], d["name"], "x", "h1", 0, "premium", json.dumps(d), 0])
    s.db.conn.commit()
    bid = s.start_batch("t", 1, "m", "v", {})
    s.add_results([ResultRow(bid, d["urn"], "h1", "premium", "llm", "Fog [bold]x[/] lies \x1b[2J here.",
                             "A hold [link=http://x]of[/link] stone.")])
    s.close()
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        scr = await open_review(pilot, app)
        assert [i.urn for i in scr.items] == [d["urn"]]
        texts = {rendered_text(scr.query_one("#rv-text-a", Static)), rendered_text(scr.query_one("#rv-text-b", Static))}
        assert texts == {"Fog [bold]x[/] lies ␛[2J here.", "A hold [link=http://x]of[/link] stone."}
        facts = rendered_text(scr.query_one("#rv-facts", Static))
        assert "[red]Evil[/] Hold" in facts and "A hold [b]of[/b] stone." in facts
        await pilot.press("5", "1", "b", "enter")
        await wait_until(pilot, lambda: scr.saved == 1, what="review stored")
    (row,) = reviews(home)
    assert (row["score_a"], row["score_b"], row["ship"]) == (5, 1, "B")


async def test_an_empty_store_says_there_is_nothing_to_review(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        scr = await open_review(pilot, app)
        assert scr.items == []
        assert "Nothing to review" in rendered_text(scr.query_one("#rv-facts", Static))
        await pilot.press("1", "a", "enter")  # nothing happens, nothing breaks
        assert scr.saved == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


async def test_palette_opens_review_selections_and_a_verdict_survives_closing_at_once(home):
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for t in ("Review: current LLM texts", "Review: worst 20 by quality", "Review: tier premium"):
            assert t in titles, t
        from engine import workbench as wb

        wb.pin_set(app.store, "[b]night[/b]", [app.places[0].urn])
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Review: pinned set (b)night(/b)" in titles
        batch_cmd = [t for t in titles if t.startswith("Review: batch ")]
        assert batch_cmd == [f"Review: batch {app.state.batch.batch_id}"]
        titles[batch_cmd[0]].callback()
        await pilot.pause()
        scr = app.screen
        assert isinstance(scr, ReviewScreen) and scr.label == f"batch {app.state.batch.batch_id}"
        await wait_until(pilot, lambda: scr.loaded, what="queue")
        item = scr.items[0]
        await pilot.press("2", "5", "b", "enter", "escape")  # closed before the store answers
        assert not isinstance(app.screen, ReviewScreen)
        await wait_until(pilot, lambda: scr.saved == 1, what="stored after the screen closed")
        await wait_until(pilot, lambda: "reviewed: 1" in rendered_text(app.query_one("#glance", Static)),
                         what="metrics line")
    (row,) = reviews(home)
    assert (row["urn"], row["score_a"], row["score_b"], row["ship"]) == (item.urn, 2, 5, "B")
