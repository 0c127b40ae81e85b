"""Console benchmarks for ``texture bench``: first frame and key latency during a batch.

- :func:`measure_startup`: wall time from launching ``texture console`` in a fresh process (the
  full built-in world, a throwaway TEXTURE_HOME) to the app's first paint (Textual's ``Ready``,
  sent after the first compositor refresh). The process exits right there. The model is the
  scripted one (``TEXTURE_SCRIPTED=1``): the real model loads in a background thread and is not on
  the first frame's path either way.
- :func:`measure_key_latency`: key presses (queue cursor moves, which also redraw the diff and
  the prompt preview, and panel focus keys) while a real 4-stream batch streams tokens
  (ScriptedLLM with a per-token delay), in an ``App.run_test`` session. Each key is sent the way
  the terminal driver sends it; latency runs until its effect is in the app's state (cursor moved
  and the place selected, or the panel focused) and the next screen refresh is done. The diff
  redraws 40 ms after the cursor rests (debounced); ``diff_follows_cursor_*`` times that too.
  (``pilot.press`` itself is not used for timing: it waits for the whole *process* to go idle,
  which never happens while the engine threads stream.)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = "import sys; from cli.main import main; sys.exit(main(['console', '--no-pull']))"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return 0.0
    i = min(int(round(q * (len(xs) - 1))), len(xs) - 1)
    return round(xs[i], 1)


def measure_startup(runs: int = 3, scripted: bool = True, timeout_s: float = 60.0) -> dict:
    """First-frame time of ``texture console`` in ms (median of ``runs`` fresh processes)."""
    figures, inner = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="texture-bench-") as home:
            env = dict(os.environ, TEXTURE_HOME=home, TEXTURE_BENCH_FIRST_FRAME="1")
            if scripted:
                env["TEXTURE_SCRIPTED"] = "1"
            t0 = time.time()
            proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                                  timeout=timeout_s, cwd=str(Path(__file__).resolve().parents[2]))
            if proc.returncode != 0:
                raise RuntimeError(f"console did not start: {proc.stderr.strip()[-500:]}")
            line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
            data = json.loads(line)
            figures.append((data["ready_at"] - t0) * 1000.0)
            if data.get("construct_to_ready_ms") is not None:
                inner.append(data["construct_to_ready_ms"])
    return {
        "first_frame_ms": round(statistics.median(figures), 1),
        "runs_ms": [round(x, 1) for x in figures],
        "app_construct_to_first_frame_ms": round(statistics.median(inner), 1) if inner else None,
        "target_ms": 1500,
        "method": "fresh process `texture console` (built-in world, scripted model) to Textual Ready (first paint)",
    }


async def _key_latency(presses: int, streams: int, token_delay_s: float, places_n: int,
                       real: bool = False) -> dict:
    from engine.builtin_world import builtin_world
    from engine.config import Config
    from engine.llm.scripted import ScriptedLLM

    from console.app import TextureApp

    with tempfile.TemporaryDirectory(prefix="texture-bench-") as home:
        old = os.environ.get("TEXTURE_HOME")
        os.environ["TEXTURE_HOME"] = home
        try:
            cfg = Config(concurrency=streams)
            if real:
                from console.app import default_llm_factory

                factory = default_llm_factory  # the default model, loaded as `texture console` does
            else:
                def factory(c):
                    return ScriptedLLM(concurrency=streams, token_delay_s=token_delay_s)
            app = TextureApp(cfg, builtin_world(places_n), db_path=Path(home) / "texture.db",
                             prompts_dir=Path(home) / "prompts", llm_factory=factory)
            lat: list[float] = []
            follow: list[float] = []
            busy_samples: list[int] = []
            async with app.run_test(size=(120, 40)) as pilot:
                t_end = time.monotonic() + (300 if real else 20)
                while app.engine_state[0] != "ready" and time.monotonic() < t_end:
                    await pilot.pause(0.02)
                if app.engine_state[0] != "ready":
                    raise RuntimeError(f"model not ready: {app.engine_state}")
                app.start_batch("all")
                t_end = time.monotonic() + (120 if real else 20)
                while sum(l.busy for l in app.state.lanes) < streams and time.monotonic() < t_end:
                    await pilot.pause(0.02)
                await pilot.press("1")
                table = app.query_one("#queue-table")
                panel_ids = ("queue", "streams", "diff", "metrics", "prompts")
                keys = ["down", "down", "down", "up", "2", "1", "down", "3", "1", "down", "4", "1"]
                for i in range(presses):
                    k = keys[i % len(keys)]
                    if k in ("down", "up"):
                        row = max(min(table.cursor_row + (1 if k == "down" else -1), table.row_count - 1), 0)

                        def answered(row=row):
                            if table.cursor_row != row:
                                return False
                            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                            r = app.state.rows.get(key)
                            return r is None or app.selected_urn == r.urn  # cursor moved, place selected
                    else:
                        pid = panel_ids[int(k) - 1]

                        def answered(pid=pid):
                            return app._focused_panel().id == pid
                    lat.append(await _timed_key(app, k, answered))
                    busy_samples.append(sum(l.busy for l in app.state.lanes))
                    if k in ("down", "up"):
                        # the diff follows the cursor after a short debounce: time that too
                        t_sel = time.perf_counter()
                        diff = app.ui.diff
                        while diff.shown_urn != app.selected_urn and time.perf_counter() - t_sel < 5:
                            await asyncio.sleep(0.001)
                        follow.append(lat[-1] + (time.perf_counter() - t_sel) * 1000.0)
                app.action_cancel()
                t_end = time.monotonic() + 10
                while app.batch_running and time.monotonic() < t_end:
                    await pilot.pause(0.02)
        finally:
            if old is None:
                os.environ.pop("TEXTURE_HOME", None)
            else:
                os.environ["TEXTURE_HOME"] = old
    return {
        "p50_ms": _pct(lat, 0.50),
        "p95_ms": _pct(lat, 0.95),
        "max_ms": round(max(lat), 1) if lat else 0.0,
        "within_100ms_pct": round(100.0 * sum(1 for x in lat if x <= 100) / len(lat), 1) if lat else 0.0,
        "diff_follows_cursor_p50_ms": _pct(follow, 0.50),
        "diff_follows_cursor_p95_ms": _pct(follow, 0.95),
        "presses": len(lat),
        "streams": streams,
        "busy_streams_avg": round(statistics.mean(busy_samples), 2) if busy_samples else 0,
        "target_ms": 100,
        "method": (f"run_test key -> effect + repaint during a {streams}-stream batch of the real default model"
                   if real else
                   f"run_test key -> effect + repaint during a {streams}-stream ScriptedLLM batch "
                   f"({token_delay_s * 1000:.0f} ms/token)"),
    }


async def _timed_key(app, key: str, answered, timeout_s: float = 5.0) -> float:
    """Send ``key`` as the terminal driver would; ms until ``answered()`` holds and the screen repainted."""
    from textual import events

    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    ev = events.Key(key, key if len(key) == 1 else None)
    ev.set_sender(app)
    app._driver.send_message(ev)
    while not answered():
        if time.perf_counter() - t0 > timeout_s:
            break
        await asyncio.sleep(0.001)
    painted = loop.create_future()
    app.call_after_refresh(lambda: painted.done() or painted.set_result(None))
    await asyncio.wait_for(painted, timeout_s)
    return (time.perf_counter() - t0) * 1000.0


def measure_key_latency(presses: int = 60, streams: int = 4, token_delay_s: float = 0.02, places: int = 400,
                        real: bool = False) -> dict:
    """Key-press latency (ms: p50/p95/max) while a ``streams``-stream batch runs.

    ``real=True`` runs the batch on the real default model (which then competes with the UI for
    the CPU, as in production); otherwise on a ScriptedLLM streaming a token every
    ``token_delay_s``.
    """
    return asyncio.run(_key_latency(presses, streams, token_delay_s, places, real))


def measure_key_latency_both(presses: int = 60) -> dict:
    """The scripted-model figures, plus ``real_model`` figures when the default model is installed."""
    out = measure_key_latency(presses)
    try:
        from engine.llm.models import resolve_model

        have = resolve_model(None) is not None
    except Exception:
        have = False
    if have:
        try:
            out["real_model"] = measure_key_latency(presses, real=True)
        except Exception as exc:  # the bench reports what it could not measure
            out["real_model"] = {"error": f"{type(exc).__name__}: {exc}"}
    else:
        out["real_model"] = {"error": "default model not installed (texture models pull)"}
    return out


if __name__ == "__main__":  # python -m tools.bench.tui
    print(json.dumps({"startup": measure_startup(), "key_latency": measure_key_latency()}, indent=2))
