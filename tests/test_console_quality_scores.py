"""The quality score (engine.quality, stored with every result) in the console: the diff panel's
components, the queue's Q column sorted and filtered, the running and the stored batch figures."""

from __future__ import annotations

import json
import re

import pytest
from textual.widgets import DataTable

from fakes import Factory, diff_settled, finish_batch, make_app, ready, rendered_text, wait_until
from engine.builtin_world import builtin_world
from engine.store import Store

pytestmark = pytest.mark.anyio


def _current(home) -> dict:
    s = Store(home / "texture.db")
    try:
        return {urn: s.results_for(urn, 1)[0] for urn in s.current_overview()}
    finally:
        s.close()


async def test_diff_panel_shows_the_score_and_its_components(home):
    app = make_app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        await finish_batch(pilot, app)
        current = _current(home)
        # a place the model worked on: both texts scored
        urn = next(u for u, r in current.items() if r["llm_text"])
        r = current[urn]
        table = app.query_one("#queue-table", DataTable)
        table.move_cursor(row=[x.urn for x in app.state.visible(**app.filters)].index(urn))
        await pilot.pause()
        await diff_settled(pilot, app)
        text = rendered_text(app.query_one("#diff-facts"))
        assert f"quality {r['quality']:.2f} ({json.loads(r['quality_json'])['chosen']} stored)" in text
        assert f"template {r['template_quality']:.2f}" in text and f"llm      {r['llm_quality']:.2f}" in text
        for comp in ("facts", "repetition", "names", "sentences", "length", "scaffolding"):
            assert f"{comp} " in text
        # the queue's Q column is the stored score
        key = f"{app.state.batch.batch_id}:{urn}"
        assert table.get_cell(key, "quality").plain == f"{r['quality']:.2f}"


async def test_world_view_sorted_worst_first_and_filtered_by_quality(home):
    app = make_app(home, places=builtin_world(40))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("random", "25")
        await finish_batch(pilot, app)
        await pilot.press("1", "v", "o")
        assert app.state.view == "world" and app.state.sort == "quality"
        current = _current(home)
        shown = app.state.visible(**app.filters)
        scores = [r.quality for r in shown]
        assert len(shown) == 40 and scores[:len(current)] == sorted(r["quality"] for r in current.values())
        assert all(q is None for q in scores[len(current):])  # the places without a text come last
        table = app.query_one("#queue-table", DataTable)
        assert table.get_row_at(0)[3].plain == f"{min(r['quality'] for r in current.values()):.2f}"
        below = sum(r["quality"] < 0.9 for r in current.values())
        app.set_filter(quality="below:0.9")
        assert table.row_count == below
        app.set_filter(quality="unscored")
        assert table.row_count == 40 - len(current)


async def test_running_quality_matches_the_batch_figure_when_it_ends(home):
    held = "urn:flux:place:ironholt:hollowwatch-shrine-0009"  # a model place, held in flight until released
    factory = Factory(deadline_s=120, hold=held, script={held: {"text": " ".join(["word"] * 200)}})
    app = make_app(home, factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.start_batch("all")
        # templates are stored first: the running quality shows while the model still works
        await wait_until(pilot, lambda: app.batch_running and app.state.live.quality["all"], what="first scores")
        glance = lambda: rendered_text(app.query_one("#glance"))  # noqa: E731
        await wait_until(pilot, lambda: "running" in glance() and re.search(r"(?:^|  )quality \d\.\d\d", glance(), re.M),
                         what="running quality")
        assert app.batch_running
        factory.llm.release_all()
        await finish_batch(pilot, app)
        s = Store(home / "texture.db")
        try:
            stored = json.loads(s.metrics(1)[0]["metrics"])
        finally:
            s.close()
        live = app.state.live.snapshot()
        assert live["average_quality"] == pytest.approx(stored["average_quality"], abs=1e-3)
        assert f"quality {stored['average_quality']:.2f}" in rendered_text(app.query_one("#glance"))
        built = app.query_one("#chart-quality").plt.build()
        assert "quality per batch" in built
