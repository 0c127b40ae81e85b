"""The console's auto mode (console/auto.py) with Pilot and the scripted model."""

from __future__ import annotations

import json

import pytest

from console.auto import CyclesChart
from fakes import Factory, make_app, ready, rendered_text, wait_until
from engine.builtin_world import builtin_world
from engine.store import Store

pytestmark = pytest.mark.anyio

ELIGIBLE_12 = ["urn:flux:place:northreach:thistleford-mill-0000", "urn:flux:place:corsair:willowgate-mill-0008",
               "urn:flux:place:ironholt:hollowwatch-shrine-0009"]


def write_world(path, places):
    path.write_text("".join(json.dumps(p.to_json()) + "\n" for p in places), encoding="utf-8")


def db_rows(home, sql, args=()):
    s = Store(home / "texture.db")
    try:
        return list(s.db.query(sql, list(args)))
    finally:
        s.close()


def whole_text_prompt() -> None:
    """A user's own whole-text prompt as the default (one request per place; these tests count
    and time model requests as places)."""
    from engine import locations
    from engine.prompts import DEFAULTS_DIR

    folder = locations.default_prompts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texture.prompt").write_text((DEFAULTS_DIR / "rewrite.prompt").read_text(encoding="utf-8") + "\n",
                                           encoding="utf-8")


async def test_auto_mode_runs_a_cycle_visibly_and_switching_it_off_twice_mid_cycle_cancels_keeping_finished_results(
        home, tmp_path):
    places = builtin_world(12)
    world = tmp_path / "world.jsonl"
    write_world(world, places)
    slow = ELIGIBLE_12[2]
    # The two quick places finish; the held one stays in flight until the test releases it.
    long_text = " ".join(["The lanterns sway over wet cobbles while the river runs high and cold."] * 7)
    whole_text_prompt()
    factory = Factory(delay=0.01, deadline_s=120, hold=slow, script={slow: {"text": long_text}})
    app = make_app(home, places=places, factory=factory, world_path=world)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("g")
        await wait_until(pilot, lambda: app.auto.svc is not None and app.auto.svc.status().running_cycle,
                         what="a running cycle")
        app._update_status()
        assert "auto: cycle 1 running" in rendered_text(app.query_one("#status"))
        # The two quick places finish; the slow one is still generating when auto mode goes off
        # (a drain: the slow one would finish) and g again cancels it at once.
        await wait_until(pilot, lambda: len(db_rows(home, "SELECT 1 FROM results WHERE source='llm'")) >= 2,
                         timeout=30, what="two model results")
        await pilot.press("g")
        assert not app.auto.on and app.auto.stopping
        app._update_status()
        assert "auto: stopping, finishing the places in flight" in rendered_text(app.query_one("#status"))
        await pilot.press("g")
        factory.llm.release_all()  # the cancel is seen at the held place's next token
        await wait_until(pilot, lambda: app.auto.worker.is_finished, timeout=30, what="auto worker stopped")
        await pilot.pause()
        app._update_status()
        assert "auto:" not in rendered_text(app.query_one("#status"))
        batch = db_rows(home, "SELECT * FROM batches WHERE selection LIKE 'service cycle%'")
        assert len(batch) == 1 and batch[0]["status"] == "cancelled"
        rows = {r["urn"]: r for r in db_rows(home, "SELECT * FROM results WHERE batch_id=?", [batch[0]["id"]])}
        assert set(rows) == {p.urn for p in places}  # every place of the cycle described
        assert {u for u, r in rows.items() if r["source"] == "llm"} == set(ELIGIBLE_12[:2])  # finished: kept
        assert rows[slow]["source"] == "template" and rows[slow]["reason"] == "cancelled"
        assert not db_rows(home, "SELECT 1 FROM batch_items WHERE status='queued'")
        # The cycle is in the metrics panel's chart; the cancelled place waits for the model.
        await wait_until(pilot, lambda: bool(app.query(CyclesChart)), what="cycles chart")
        assert "service cycles" in rendered_text(app.query_one(CyclesChart))

        # On again: the cancelled place is the only work, and it is described by the model now.
        factory.llm.script.pop(slow)
        await pilot.press("g")
        await wait_until(pilot, lambda: any(r["source"] == "llm" for r in db_rows(
            home, "SELECT source FROM current WHERE urn=?", [slow])), timeout=30, what="the slow place by the model")
        await wait_until(pilot, lambda: app.auto.svc is not None and not app.auto.svc.status().running_cycle,
                         what="cycle 2 done")
        app._update_status()
        assert "auto: idle, 0 changes waiting" in rendered_text(app.query_one("#status"))

        # A change to the world file is seen by the watcher and counted in the header.
        changed = [p.to_json() for p in places]
        changed[0]["weather"]["temperature"] += 3
        world.write_text("".join(json.dumps(d) + "\n" for d in changed), encoding="utf-8")
        await wait_until(pilot, lambda: app.auto.svc is not None and app.auto.svc.status().waiting == 1,
                         timeout=20, what="the change seen")
        app._update_status()
        assert "1 changes waiting" in rendered_text(app.query_one("#status"))
        assert "auto: next cycle in" in rendered_text(app.query_one("#status"))
        await pilot.press("g")
        await wait_until(pilot, lambda: app.auto.worker.is_finished, timeout=30, what="auto worker stopped")


async def test_switching_auto_mode_off_mid_cycle_drains_it(home, tmp_path):
    """One lane: the place decoding when auto mode goes off finishes by the model, the one not
    started keeps its template and waits; on again, the model describes it."""
    from dataclasses import replace

    from engine.config import Config

    places = builtin_world(12)
    world = tmp_path / "world.jsonl"
    write_world(world, places)
    # One lane: the second model place to start is held in flight while the third waits its turn.
    factory = Factory(deadline_s=120, hold=2)
    whole_text_prompt()
    app = make_app(home, places=places, factory=factory, world_path=world, cfg=replace(Config(), concurrency=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("g")
        # The first model place is stored: the second is decoding now (one lane, continuous refill).
        await wait_until(pilot, lambda: len(db_rows(home, "SELECT 1 FROM results WHERE source='llm'")) >= 1
                         and factory.llm.holding.is_set(), timeout=30, what="the first model result")
        await pilot.press("g")
        # The drain reaches the model service through the batch's meeting loop: release the held
        # place only once the service has it, or the waiting place may start first.
        await wait_until(pilot, lambda: factory.llm.job is not None and factory.llm.job.drained.is_set(),
                         timeout=30, what="the drain at the model service")
        factory.llm.release_all()
        await wait_until(pilot, lambda: app.auto.worker.is_finished, timeout=30, what="auto worker stopped")
        batch = db_rows(home, "SELECT * FROM batches WHERE selection LIKE 'service cycle%'")
        assert len(batch) == 1 and batch[0]["status"] == "drained"
        rows = {r["urn"]: r for r in db_rows(home, "SELECT * FROM results WHERE batch_id=?", [batch[0]["id"]])}
        assert set(rows) == {p.urn for p in places}
        model = {u for u in ELIGIBLE_12 if rows[u]["source"] == "llm"}
        left = {u for u in ELIGIBLE_12 if rows[u]["reason"] == "deferred"}
        assert len(model) == 2 and len(left) == 1  # in flight: finished; not started: waits
        assert not db_rows(home, "SELECT 1 FROM batch_items WHERE status='queued'")
        await pilot.press("g")  # on again: the place left is the only work, by the model now
        await wait_until(pilot, lambda: db_rows(home, "SELECT source FROM current WHERE urn=?", list(left))[0]["source"]
                         == "llm", timeout=30, what="the place left by the model")
        assert len(db_rows(home, "SELECT 1 FROM results WHERE source='llm'")) == 3  # none run twice
        await pilot.press("g")
        await wait_until(pilot, lambda: app.auto.worker.is_finished, timeout=30, what="auto worker stopped")


async def test_auto_mode_without_a_world_file_says_what_to_do(home):
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("g")
        await pilot.pause()
        assert not app.auto.on
        assert any("--world FILE" in str(n.message) for n in app._notifications)
