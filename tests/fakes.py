"""Test fakes and helpers (test support lives in tests/, never in the product).

- Console tests (tests/test_console*.py) and the end-to-end test: ``isolate``, Pilot waits, a
  ScriptedLLM ``Factory`` (``hold=`` makes it a ``HoldingLLM``: one place stays in flight until the
  test lets it go, instead of a slower place that must still run when the test looks).
- The tiny random llama and byte tokenizer (``tiny_model``, ``tiny_tokenizer``) and the world and
  subprocess helpers of the reliability tests. They are defined in ``tools/`` because
  ``texture robustness`` (a user command) uses them too; tests take them from here.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from engine.builtin_world import builtin_world
from engine.config import Config
from engine.llm.events import PlaceFinished, PlaceStarted, Tokens
from engine.llm.scripted import ScriptedLLM
from tools.robustness import (  # noqa: F401 (re-exported for the tests)
    HOSTILE, INJECTED_PLACE_BASE, INJECTION_FOLLOWING_OUTPUTS, child_env, kill_loop, make_world, texture_cmd, write_jsonl,
)
from tools.tiny_model import CHAT_TEMPLATE, TINY_ARGS, tiny_model, tiny_tokenizer, write_tiny_model_folder  # noqa: F401

FLUX_VARS = ("FLUX_LLM_ENABLED", "FLUX_LLM_MODEL_PATH", "FLUX_LLM_CONCURRENCY", "FLUX_LLM_TIMEOUT",
             "FLUX_LLM_FALLBACK_THRESHOLD", "FLUX_LLM_SHORT_TERM", "FLUX_LLM_MEDIUM_TERM", "FLUX_LLM_LONG_TERM",
             "FLUX_LLM_TEMPERATURE", "FLUX_PROMPTS_DIR", "TEXTURE_SCRIPTED", "EDITOR", "VISUAL")


def isolate(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TEXTURE_HOME", str(home))
    for v in FLUX_VARS:
        monkeypatch.delenv(v, raising=False)
    return home


class HoldingLLM(ScriptedLLM):
    """A ScriptedLLM that holds one place (``hold``: its key, or its per-sentence keys
    ``<key>#s<j>``; or an int n: the n-th request to start, counting from 1) in flight until the
    test releases it.

    Once every other request of the job has finished (with one lane: at once, since then nothing
    else decodes meanwhile; with ``alone=False``: at once, the other lanes stopping with it), the
    worker stops after each of the held place's tokens and waits for a permit: ``holding`` is set
    while it waits, ``step()`` lets one more token through, ``release(n)`` n more (at once, as a
    burst), ``release_all()`` lets the place run to its end. The held place's deadline keeps
    counting, so give the Factory a long ``deadline_s``.
    """

    def __init__(self, hold: str | int, alone: bool = True, **kw):
        self.hold, self.alone = hold, alone
        self._started = 0
        self._lock = threading.Lock()
        self._waiting = self._stepped = False
        self.job = None  # the job the held place belongs to, once it is held
        self.tokens = 0  # tokens emitted so far, every place's
        self.holding = threading.Event()
        self._permits = threading.Semaphore(0)
        self._free = threading.Event()
        self._finished: set[str] = set()
        super().__init__(**kw)

    def held(self, key: str) -> bool:
        return isinstance(self.hold, str) and (key == self.hold or key.startswith(self.hold + "#"))

    def step(self) -> bool:
        """One more token, if the worker waits and has not been let on since it began waiting
        (so polling ``step()`` until a condition holds never overshoots)."""
        with self._lock:
            if not self._waiting or self._stepped:
                return False
            self._stepped = True
        self._permits.release()
        return True

    def release(self, n: int = 1) -> None:
        self._permits.release(n)

    def release_all(self) -> None:
        self._free.set()
        self._permits.release(10_000)

    def _emit(self, job, ev) -> None:
        super()._emit(job, ev)
        if isinstance(ev, Tokens):
            self.tokens += 1
        if isinstance(ev, PlaceStarted):
            self._started += 1
            if self._started == self.hold:
                self.hold = ev.key
        if isinstance(ev, PlaceFinished):
            self._finished.add(ev.key)
        if (isinstance(ev, Tokens) and self.held(ev.key) and not self._free.is_set()
                and (not self.alone or self.concurrency == 1
                     or all(self.held(r["key"]) or r["key"] in self._finished for r in job.requests))):
            with self._lock:
                self._waiting, self._stepped = True, False
            self.job = job
            self.holding.set()
            # Bounded, so a test that forgets to release fails on its own wait instead of hanging.
            self._permits.acquire(timeout=120)
            with self._lock:
                self._waiting = False
            self.holding.clear()


class Factory:
    """An llm_factory that builds a ScriptedLLM (a HoldingLLM with ``hold``) and remembers it."""

    def __init__(self, delay: float = 0.0, script: dict | None = None, deadline_s: float = 5.0,
                 hold: str | int | None = None, alone: bool = True):
        self.delay, self.script, self.deadline_s, self.hold, self.alone = delay, script, deadline_s, hold, alone
        self.llm: ScriptedLLM | None = None

    def __call__(self, cfg):
        kw = dict(concurrency=cfg.concurrency, token_delay_s=self.delay, script=self.script, deadline_s=self.deadline_s)
        self.llm = HoldingLLM(self.hold, self.alone, **kw) if self.hold is not None else ScriptedLLM(**kw)
        return self.llm


def make_app(home: Path, places=None, factory=None, cfg: Config | None = None, **kw):
    from console.app import TextureApp

    factory = factory if factory is not None else Factory()
    app = TextureApp(cfg or Config(), builtin_world(12) if places is None else places,
                     db_path=home / "texture.db", llm_factory=factory, **kw)
    return app


async def wait_until(pilot, cond, timeout: float = 15.0, what: str = "condition") -> None:
    """A bounded loop of pilot.pause() until ``cond()`` holds (the app keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def ready(pilot, app) -> None:
    await pilot.pause()
    await wait_until(pilot, lambda: app.engine_state[0] != "loading" and app.store is not None, what="model ready")


async def finish_batch(pilot, app, timeout: float = 20.0) -> None:
    """Wait for the batch worker, then for its events to be drawn."""
    worker = app.batch_worker
    assert worker is not None
    await wait_until(pilot, lambda: worker.is_finished, timeout, "batch worker")
    app.flush_now()
    await pilot.pause()
    await wait_until(pilot, lambda: not app.batch_running and len(app.events) == 0, timeout, "batch drawn")
    app.flush_now()
    await pilot.pause()


def rendered_text(widget) -> str:
    """The plain text a Static (or any widget) shows."""
    r = widget.render()
    return getattr(r, "plain", None) or str(r)


async def diff_settled(pilot, app, timeout: float = 5.0) -> None:
    """The diff panel redraws shortly after the cursor rests (debounced): wait for it."""
    await wait_until(pilot, lambda: app.ui.diff.shown_urn == app.selected_urn, timeout, "diff redraw")
    await pilot.pause()
