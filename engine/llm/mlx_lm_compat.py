"""Every private mlx-lm name the engine relies on, in one place (mlx-lm has no public API for them).

:mod:`engine.llm.batching` subclasses mlx-lm's ``BatchGenerator`` / ``GenerationBatch`` to admit a
prompt in one prefill pass (see its module doc). That needs mlx-lm internals, listed below; they
are not a public API and have changed between mlx-lm releases (the newest no longer has some),
which is why ``pyproject.toml`` pins ``mlx-lm>=0.32,<0.33``. ``tests/test_mlx_lm_compat.py`` checks
every one of them against the installed mlx-lm and fails loudly, naming the missing one, when an
upgrade drops or renames any. Upgrade mlx-lm by updating this module and that test first.
"""

from __future__ import annotations

import importlib

_generate = importlib.import_module("mlx_lm.generate")  # the module (mlx_lm.generate is also a function)

BatchGenerator = _generate.BatchGenerator
GenerationBatch = _generate.GenerationBatch
StopSequences = _generate.StopSequences
TokenBuffer = _generate.TokenBuffer
#: private: merges per-prompt KV caches into one batch cache.
merge_caches = _generate._merge_caches

#: Private attributes engine.llm.batching reads or writes, by the class that sets them.
PRIVATE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "GenerationBatch": ("_current_tokens", "_current_logprobs", "_next_tokens", "_next_logprobs",
                        "_token_context", "_num_tokens", "_matchers"),
    "BatchGenerator": ("_generation_batch", "_uid_count", "_stream", "_default_stop_sequences"),
}
#: Private methods engine.llm.batching overrides or calls.
PRIVATE_METHODS: dict[str, tuple[str, ...]] = {"GenerationBatch": ("_step",)}

__all__ = ["BatchGenerator", "GenerationBatch", "StopSequences", "TokenBuffer", "merge_caches",
           "PRIVATE_ATTRIBUTES", "PRIVATE_METHODS"]
