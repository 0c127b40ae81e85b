"""Model folders and the model errors: what :mod:`engine.llm.models` and :mod:`engine.llm.hub`
both need, kept apart so neither imports the other for it (no import cycle)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError  # noqa: F401 (the base class lives in the one exception tree)


class ModelLoadError(ModelError):
    pass


class ModelPullError(ModelError):
    pass


def is_model_folder(path: Path) -> bool:
    """An mlx-lm model folder: a config.json and at least one model*.safetensors."""
    path = Path(path)
    return (
        path.is_dir()
        and (path / "config.json").is_file()
        and any(path.glob("model*.safetensors"))
    )
