"""Snapshot tests (pytest-textual-snapshot): the main screen and the diff panel.

Deterministic: a fixed 12-place world, a tmp TEXTURE_HOME, the scripted model with no delay, and
the app's ``deterministic`` flag, which hides clocks, latencies and timing charts. Update with
``pytest tests/test_console_snapshots.py --snapshot-update`` after checking the report.
"""

from __future__ import annotations

from fakes import Factory, diff_settled, finish_batch, isolate, make_app, ready

ERROR_URN = "urn:flux:place:corsair:willowgate-mill-0008"


def _app(tmp_path, monkeypatch):
    home = isolate(tmp_path, monkeypatch)
    app = make_app(home, factory=Factory(script={ERROR_URN: {"error": "scripted failure"}}), deterministic=True)
    app.animation_level = "none"
    return app


async def _after_batch(pilot, app):
    await ready(pilot, app)
    app.start_batch("all")
    await finish_batch(pilot, app)
    await diff_settled(pilot, app)
    app.clear_notifications()
    await pilot.pause()


def test_snapshot_main_screen(snap_compare, tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)

    async def run_before(pilot):
        await _after_batch(pilot, app)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_snapshot_main_screen_80x24(snap_compare, tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)

    async def run_before(pilot):
        await _after_batch(pilot, app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_diff_panel_fallback(snap_compare, tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)

    async def run_before(pilot):
        await _after_batch(pilot, app)
        keys = [r.urn for r in app.state.rows.values()]
        await pilot.press("1", *(["down"] * keys.index(ERROR_URN)), "3", "m")
        await diff_settled(pilot, app)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
