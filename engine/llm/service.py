"""The model service the dispatcher and the console use: a :class:`GenerationEngine` on the
configured model, loading in its own thread.

``start_service`` returns at once. The engine thread loads the model (importing a ``.gguf``
path first, so ``FLUX_LLM_MODEL_PATH=models/qwen-2.5-7b-instruct-q4-k-m.gguf`` works as the seed
document writes it), reports progress through ``on_status``, and then serves batches. A missing
or broken model leaves the service "failed" with a clear reason; batches then fall back to
templates with reason ``model_unavailable`` and one notice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import Config
from .base import LLMService  # noqa: F401 (the interface every service implements; see engine.llm.base)
from .events import EngineStatus
from .generator import GenerationEngine


def _loader(cfg: Config, log: Callable[[str], None]):
    def load():
        from . import models

        value = cfg.model_path or None
        if value and value.lower().endswith(".gguf"):
            src = Path(value).expanduser()
            name = models.default_name_for(src) if hasattr(models, "default_name_for") else src.stem.lower()
            existing = models.resolve_model(name)
            if existing is None:
                if not src.is_file():
                    raise models.ModelLoadError(f"GGUF file not found: {src}")
                log(f"importing {src} (first use) ...")
                from .models.gguf_import import import_gguf

                import_gguf(src, models.models_dir(), name, lambda msg, frac: None)
            value = name
        elif value:
            from .models.hub import is_repo_ref, pull_repo

            if is_repo_ref(value) and models.resolve_model(value) is None:
                log(f"fetching {value} from the Hugging Face hub (first use) ...")
                value = str(pull_repo(value, progress=log))
        loaded = models.load_model(value)
        return loaded

    return load


def start_service(
    cfg: Config,
    log: Callable[[str], None] = lambda m: None,
    on_status: Callable[[EngineStatus], None] | None = None,
) -> GenerationEngine:
    """A started engine on the configured model (loading in the background)."""

    def status(st: EngineStatus) -> None:
        if st.state in ("ready", "failed"):
            log(f"model {st.state}: {st.detail}")
        if on_status is not None:
            on_status(st)

    def load_log(msg: str) -> None:  # a loading step: logged, and shown as the status detail
        log(msg)
        engine.report_loading(msg)

    engine = GenerationEngine(
        _loader(cfg, load_log) if cfg.enabled else None,
        concurrency=cfg.concurrency,
        on_status=status,
    )
    engine.start()
    return engine
