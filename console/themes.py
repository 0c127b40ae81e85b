"""Themes (the top-level ``themes/*.tcss`` package data, plus the user's ``<data folder>/themes/*.tcss``) and the
console's remembered settings (``console.json``).

A theme file only defines Textual theme variables (``$primary: #5fafd7;``); it is validated data:
a bad file is reported once and skipped, and the built-in themes below are always there, so the
console starts even when a theme folder is missing or broken.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from engine import locations

DEFAULT_DARK = "texture-dark"
DEFAULT_LIGHT = "texture-light"

_COLOR_KEYS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
               "surface", "panel", "boost")
_DECL = re.compile(r"^\s*\$([a-z][a-z0-9-]*)\s*:\s*([^;]+?)\s*;\s*$")
_COMMENT = re.compile(r"/\*.*?\*/", re.S)

BUILTIN: dict[str, dict] = {
    DEFAULT_DARK: dict(dark=True, primary="#5fafd7", secondary="#af87d7", accent="#ffaf5f", warning="#d7af5f",
                       error="#e06c75", success="#87c38a", foreground="#d0d4d9", background="#15181c",
                       surface="#1d2126", panel="#252a31"),
    DEFAULT_LIGHT: dict(dark=False, primary="#1f6fa8", secondary="#7a4fb0", accent="#b35c00", warning="#9a6700",
                        error="#c0392b", success="#2e7d32", foreground="#1f2328", background="#f6f4ef",
                        surface="#fffdf8", panel="#e9e5dc"),
}


class ThemeFileError(ValueError):
    pass


# The top-level ``themes`` package (package data: in every install, the wheel too). A plain folder
# on disk: setuptools installs packages unzipped.
BUILTIN_THEME_FILES = Path(str(resources.files("themes")))


def themes_dir() -> Path:
    """The built-in theme files (the ``themes`` package, shipped in the wheel)."""
    return BUILTIN_THEME_FILES


def theme_folders() -> list[Path]:
    """Where themes are read, later folders overriding earlier ones: the built-in theme files,
    then the user's folder (:func:`engine.locations.themes_dir`, ``<data folder>/themes``)."""
    return [BUILTIN_THEME_FILES, locations.themes_dir()]


def parse_theme_file(path: Path) -> Theme:
    """A :class:`Theme` from a ``.tcss`` file of ``$variable: value;`` lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: cannot read ({exc})") from None
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    values: dict[str, str] = {}
    variables: dict[str, str] = {}
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _DECL.match(line)
        if not m:
            raise ThemeFileError(f"{path.name}:{no}: expected '$variable: value;'")
        key, value = m.group(1), m.group(2)
        if key in ("name", "dark"):
            values[key] = value
        elif key in _COLOR_KEYS:
            try:
                Color.parse(value)
            except ColorParseError:
                raise ThemeFileError(f"{path.name}:{no}: ${key}: {value!r} is not a colour") from None
            values[key] = value
        else:
            variables[key] = value  # extra variables (e.g. $footer-key-foreground) pass through
    if "primary" not in values:
        raise ThemeFileError(f"{path.name}: $primary is required")
    dark = values.pop("dark", "true").lower()
    if dark not in ("true", "false"):
        raise ThemeFileError(f"{path.name}: $dark must be true or false")
    name = values.pop("name", path.stem)
    return Theme(name=name, dark=dark == "true", variables=variables, **values)


def load_themes(folder: Path | None = None) -> tuple[list[Theme], list[str]]:
    """The built-in themes, overridden/extended by valid theme files; and one error per bad file."""
    found = {name: Theme(name=name, **spec) for name, spec in BUILTIN.items()}
    errors: list[str] = []
    for folder in theme_folders() if folder is None else [folder]:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.tcss")):
            try:
                theme = parse_theme_file(path)
            except ThemeFileError as exc:
                errors.append(str(exc))
                continue
            found[theme.name] = theme
    return list(found.values()), errors


# --- remembered settings ------------------------------------------------------------------

def load_settings() -> dict:
    try:
        data = json.loads(locations.settings_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_settings(**changes) -> None:
    """Merge ``changes`` into console.json (other keys are kept); never raises."""
    path = locations.settings_file()
    data = load_settings()
    data.update(changes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
