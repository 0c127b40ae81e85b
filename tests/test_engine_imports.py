"""The engine has no UI imports (harlequin-style): every engine module, imported alone in a fresh
interpreter, leaves ``textual``, ``rich`` and anything under ``console`` out of ``sys.modules``."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine

CORE = {
    "engine.world", "engine.builtin_world", "engine.seeds", "engine.templates", "engine.prompts", "engine.policy",
    "engine.config", "engine.validate", "engine.textsafe", "engine.store", "engine.dispatch", "engine.llm.scripted",
    "engine.llm.events", "engine.service", "engine.locations",
}


def engine_modules() -> list[str]:
    names = {"engine"}
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        names.add(info.name)
    return sorted(names)


def test_discovery_finds_the_core_modules():
    assert CORE <= set(engine_modules())


_PROBE = r"""
import importlib, json, sys
importlib.import_module(sys.argv[1])
ui = sorted(m for m in sys.modules
            if m.split(".")[0] in ("textual", "rich", "console"))
print(json.dumps(ui))
"""


@pytest.mark.parametrize("module", engine_modules())
def test_engine_module_imports_no_ui(module, texture_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["TEXTURE_HOME"] = str(texture_home)
    # The engine under test (this checkout), not whatever copy is installed.
    env["PYTHONPATH"] = str(Path(engine.__file__).resolve().parent.parent)
    r = subprocess.run([sys.executable, "-c", _PROBE, module], capture_output=True, text=True, timeout=120, env=env,
                       cwd=str(texture_home))
    assert r.returncode == 0, f"importing {module} failed:\n{r.stderr}"
    ui = json.loads(r.stdout.strip().splitlines()[-1])
    assert ui == [], f"{module} pulls in UI modules: {ui}"
