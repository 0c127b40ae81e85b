"""Where data and configuration live. One variable, ``TEXTURE_HOME``, moves all of it.

Default: ``$XDG_DATA_HOME/world-texture`` (``~/.local/share/world-texture``) on Linux,
``~/Library/Application Support/world-texture`` on macOS. Inside it: ``texture.db`` (the store),
``prompts/`` (the user-editable prompt files), ``texture.toml`` (optional config file),
``console.json`` (remembered console settings such as the theme).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    home = os.environ.get("TEXTURE_HOME")
    if home:
        return Path(home).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "world-texture"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "world-texture"


def default_db() -> Path:
    return data_dir() / "texture.db"


def default_prompts_dir() -> Path:
    return data_dir() / "prompts"


def config_file() -> Path:
    return data_dir() / "texture.toml"


def settings_file() -> Path:
    return data_dir() / "console.json"


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
