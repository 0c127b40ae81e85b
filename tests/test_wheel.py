"""A wheel that installs anywhere: built from this checkout, installed (not editable) into a fresh
virtual environment, run from a folder outside the checkout.

The wheel is installed with ``--no-deps`` into the venv's own site-packages, which comes first on
``sys.path``: the test asserts that ``engine``, ``console`` and ``tools`` are imported from there,
not from the checkout or an editable install. Its dependencies (mlx, textual, ...) are not
downloaded again: a ``.pth`` file puts the site-packages of the interpreter running the tests
after the venv's own. ``--system-site-packages`` would not do: it sees the *base* interpreter's
packages, not those of an active venv, so the test would pass on a system-wide install only.
Plain paths in a ``.pth`` file are added as they are (their own ``.pth`` files, such as an
editable install's, are not processed), so the checkout does not leak in through them.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools leaves build/ and *.egg-info beside the sources, and a
    # stale build/lib would put files deleted since into the wheel.
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "models", "tests"))
    dist = work / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(dist)],
                       capture_output=True, text=True, timeout=600, cwd=str(work))
    if r.returncode != 0 and "Could not find a version that satisfies" in r.stderr:
        pytest.skip(f"no index to fetch the build backend from: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr[-3000:]
    wheels = list(dist.glob("world_texture_console-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    # After the install, so pip never sees (or touches) the running environment's copy.
    own = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    Path(own, "_running_interpreter.pth").write_text("".join(f"{d}\n" for d in _running_site_packages()),
                                                      encoding="utf-8")
    return venv


def _running_site_packages() -> list[str]:
    """Where the interpreter running the tests finds its packages: a venv's own site-packages (and
    the base's, if it was made with --system-site-packages), or a system install's, and the user's."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLUX_", "TEXTURE_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TEXTURE_HOME"] = str(home)
    return env


def test_the_wheel_runs_a_batch_outside_the_checkout_with_models_in_the_data_folder(installed, tmp_path):
    run = tmp_path / "elsewhere"  # not the checkout: nothing there to import by accident
    run.mkdir()
    home = tmp_path / "home"
    py, texture = installed / "bin" / "python", installed / "bin" / "texture"
    probe = subprocess.run([str(py), "-c", "import engine, console, tools, cli, themes, json; from engine import locations; "
                            "print(json.dumps([engine.__file__, console.__file__, tools.__file__, cli.__file__, themes.__file__, "
                            "str(locations.models_dir()), locations.source_checkout()]))"],
                           capture_output=True, text=True, cwd=str(run), env=_env(home), timeout=120)
    assert probe.returncode == 0, probe.stderr
    eng, con, tls, cl, thm, models, checkout = json.loads(probe.stdout)
    site = str(installed)
    assert all(f.startswith(site) for f in (eng, con, tls, cl, thm)), (eng, con, tls, cl, thm)
    assert models == str(home / "models") and checkout is None  # TEXTURE_HOME moves the models

    listing = subprocess.run([str(texture), "models", "list"], capture_output=True, text=True, cwd=str(run),
                             env=_env(home), timeout=300)
    assert listing.returncode == 0, listing.stderr
    assert f"models folder: {home / 'models'}" in listing.stdout

    # The batch: the scripted model (the test seam of `texture batch`) keeps it fast; the real
    # model from a wheel install was checked by hand (see docs/architecture.md).
    env = {**_env(home), "TEXTURE_SCRIPTED": "1"}
    r = subprocess.run([str(texture), "batch", "--limit", "20", "--json"], capture_output=True, text=True,
                       cwd=str(run), env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "done" and out["places"] == 20
    assert out["db"] == str(home / "texture.db")
    assert (home / "prompts").is_dir()  # the user-editable prompt files were created in the data folder
    assert not (run / "models").exists() and not any(Path(site).rglob("site-packages/models"))


def test_the_wheel_carries_the_models_readme_and_puts_it_in_the_data_folders_models(installed, tmp_path):
    # models/ is not a package: its README ships as engine/MODELS.md (the checkout's
    # models/README.md links to it), and preparing <data folder>/models copies it there.
    home = tmp_path / "home"
    code = ("import json; from engine import locations; root = locations.prepare_models_dir(); "
            "print(json.dumps([str(locations.MODELS_README), str(root), (root / 'README.md').read_text(encoding='utf-8')]))")
    r = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       cwd=str(tmp_path), env=_env(home), timeout=120)
    assert r.returncode == 0, r.stderr
    shipped, root, text = json.loads(r.stdout)
    assert shipped.startswith(str(installed)) and root == str(home / "models")
    assert text == (ROOT / "models" / "README.md").read_text(encoding="utf-8") and "# models/" in text


def test_the_wheel_carries_the_themes_and_the_console_loads_them(installed, tmp_path):
    # The built-in themes are the top-level `themes` package, found through importlib.resources.
    code = ("import json; from console import themes; found, errors = themes.load_themes(); "
            "print(json.dumps([str(themes.BUILTIN_THEME_FILES), sorted(t.name for t in found), errors, "
            "sorted(p.name for p in themes.BUILTIN_THEME_FILES.glob('*.tcss'))]))")
    r = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       cwd=str(tmp_path), env=_env(tmp_path / "home"), timeout=120)
    assert r.returncode == 0, r.stderr
    folder, names, errors, files = json.loads(r.stdout)
    assert folder.startswith(str(installed))
    assert files == ["texture-dark.tcss", "texture-light.tcss"] and errors == []
    assert {"texture-dark", "texture-light"} <= set(names)
