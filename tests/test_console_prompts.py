"""The prompt watcher: saving a prompt file reloads it; a broken file keeps the last good version."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable

from fakes import finish_batch, isolate, make_app, ready, rendered_text, wait_until
from engine.store import Store

pytestmark = pytest.mark.anyio


async def _save_until(pilot, path, text, cond, tries=3, per_try=3.0) -> float:
    """Write ``text`` (again, in case the watcher was still starting) until ``cond()``; return seconds taken."""
    for i in range(tries):
        t0 = time.monotonic()
        path.write_text(text + ("\n" * i), encoding="utf-8")
        try:
            await wait_until(pilot, cond, per_try, "prompt reload")
            return time.monotonic() - t0
        except AssertionError:
            continue
    raise AssertionError("the watcher never reloaded the prompt")


async def test_watcher_reloads_and_broken_file_keeps_last_good(tmp_path, monkeypatch):
    home = isolate(tmp_path, monkeypatch)
    app = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        await wait_until(pilot, lambda: app.watcher_started_at is not None, what="watcher")
        path = app.prompts.folder / "texture.prompt"
        v0 = app.prompts.get().version
        good = path.read_text(encoding="utf-8") + "\nKeep it under sixty words.\n"
        took = await _save_until(pilot, path, good, lambda: app.prompts.get().version != v0)
        assert took < 1.5  # "within a second", with slack for a shared machine
        v1 = app.prompts.get().version
        table = app.query_one("#prompt-table", DataTable)
        await wait_until(pilot, lambda: str(table.get_cell("texture", "version")) == v1, 3, "panel shows v1")
        # places dispatched after the save use it
        app.start_batch("tier:light")
        await finish_batch(pilot, app)
        s = Store(home / "texture.db")
        assert {r["prompt_version"] for r in s.batch_results(s.batches(1)[0]["id"])} == {v1}
        s.close()

        # a broken save: the error shows (file, line, message); v1 stays active
        await _save_until(pilot, path, "Describe ${name}.\nNow with ${nope} in it.\n",
                          lambda: app.prompts.status_of().error is not None)
        assert app.prompts.get().version == v1
        await pilot.pause()
        err = rendered_text(app.query_one("#prompt-error"))
        assert "texture.prompt:2: unknown field 'nope'" in err and v1 in err
        assert str(table.get_cell("texture", "status")) == "error"
        assert any("unknown field" in str(n.message) for n in app._notifications)
        app.start_batch("tier:light")
        await finish_batch(pilot, app)
        s = Store(home / "texture.db")
        assert {r["prompt_version"] for r in s.batch_results(s.batches(1)[0]["id"])} == {v1}
        s.close()

        # fixing it clears the error
        await _save_until(pilot, path, good + "Fixed.\n", lambda: app.prompts.status_of().error is None)
        await pilot.pause()
        assert not app.query_one("#prompt-error").display
