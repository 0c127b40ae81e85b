"""Where data, configuration and models live: every folder of the product, resolved here.

One variable, ``TEXTURE_HOME``, moves the data folder. Default: ``$XDG_DATA_HOME/world-texture``
(``~/.local/share/world-texture``) on Linux, ``~/Library/Application Support/world-texture`` on
macOS. Inside it: ``texture.db`` (the store), ``prompts/`` (the user-editable prompt files),
``texture.toml`` (optional config file), ``console.json`` (remembered console settings such as the
theme), ``themes/`` (the user's own ``.tcss`` themes, added to the built-in ones) and, for an
installed package, ``models/`` (imported model folders).

The models folder (:func:`models_dir`), first match wins:

1. ``$FLUX_MODELS_DIR`` (the seed's variable; overrides everything);
2. in a source checkout (the engine imported from a folder holding this project's
   ``pyproject.toml``: a clone, ``pip install -e .``): ``<checkout>/models``, as
   ``models/README.md`` promises, whatever ``TEXTURE_HOME`` says;
3. otherwise (a wheel, ``pip install .``): ``<data folder>/models``, so ``TEXTURE_HOME`` moves
   the models too and nothing is ever written into site-packages.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

PROJECT_NAME = "world-texture-console"  # the distribution's name (pyproject.toml)
APP_NAME = "world-texture"  # the folders' name: data, cache


def data_dir() -> Path:
    home = os.environ.get("TEXTURE_HOME")
    if home:
        return Path(home).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def cache_dir() -> Path:
    """Rebuildable files (the compiled decode kernel, its calibration): ``$TEXTURE_CACHE``, else
    ``$XDG_CACHE_HOME/world-texture`` (``~/.cache/world-texture``; ``~/Library/Caches/world-texture``
    on macOS). Not under ``TEXTURE_HOME``: a fresh data folder need not rebuild the kernel."""
    env = os.environ.get("TEXTURE_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_NAME


def kernels_dir() -> Path:
    return cache_dir() / "kernels"


def default_db() -> Path:
    return data_dir() / "texture.db"


def default_prompts_dir() -> Path:
    return data_dir() / "prompts"


def config_file() -> Path:
    return data_dir() / "texture.toml"


def settings_file() -> Path:
    return data_dir() / "console.json"


def themes_dir() -> Path:
    """The user's theme folder (``<data folder>/themes``); the built-in theme files are package
    data (the top-level ``themes`` package)."""
    return data_dir() / "themes"


def models_dir() -> Path:
    """The folder of imported models (see the module docstring for the order)."""
    env = os.environ.get("FLUX_MODELS_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    checkout = source_checkout()
    if checkout is not None:
        return checkout / "models"
    return data_dir() / "models"


MODELS_README = Path(__file__).resolve().parent / "MODELS.md"  # package data; a checkout's models/README.md links to it


def prepare_models_dir() -> Path:
    """The models folder (:func:`models_dir`), created, with the models README in it.

    In a checkout ``models/README.md`` is committed (a link to ``engine/MODELS.md``); a wheel ships
    the file as package data, and a model pulled or imported into ``<data folder>/models`` puts a
    copy beside it (called after the import succeeded, so a failed pull leaves nothing), so the
    folder documents itself there too. An existing README is kept.
    """
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    readme = root / "README.md"
    if not readme.exists() and not readme.is_symlink():
        try:
            readme.write_text(MODELS_README.read_text(encoding="utf-8"), encoding="utf-8")
        except OSError:  # a read-only or odd folder: the models matter, the README does not
            pass
    return root


def repo_root() -> Path:
    """The folder that holds the ``engine`` package: a checkout's root, or site-packages."""
    return Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def source_checkout() -> Path | None:
    """The checkout the engine runs from (``repo_root()`` when it holds this project's
    ``pyproject.toml``), or None for an installed package."""
    root = repo_root()
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return root if f'name = "{PROJECT_NAME}"' in text else None
