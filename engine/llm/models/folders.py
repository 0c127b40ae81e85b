"""Model folders and the model errors: what :mod:`engine.llm.models` and :mod:`engine.llm.hub`
both need, kept apart so neither imports the other for it (no import cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ...errors import ModelError  # noqa: F401 (the base class lives in the one exception tree)


class ModelLoadError(ModelError):
    pass


class ModelPullError(ModelError):
    pass


class GGUFImportError(ModelError):
    """A GGUF file could not be imported; the message says why."""


def is_model_folder(path: Path) -> bool:
    """An mlx-lm model folder: a config.json and at least one model*.safetensors."""
    path = Path(path)
    return (
        path.is_dir()
        and (path / "config.json").is_file()
        and any(path.glob("model*.safetensors"))
    )


def say(progress: Callable[[str], None] | None, msg: str) -> None:
    """One progress line for a pull or import (nothing when no one listens)."""
    if progress is not None:
        progress(msg)


def import_progress(progress: Callable[[str], None] | None) -> Callable[[str, float], None]:
    """The ``on_progress(msg, fraction)`` callback for ``import_gguf`` that says
    ``importing: N% msg`` through ``progress`` every 10 % (and at the end)."""
    last = [-1]

    def on_import(msg: str, frac: float) -> None:
        pct = int(frac * 100)
        if pct // 10 != last[0] // 10 or frac >= 1.0:
            last[0] = pct
            say(progress, f"importing: {pct}% {msg}")

    return on_import
