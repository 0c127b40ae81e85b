"""The batch runner's names where they always were: the runner itself lives in :mod:`engine.batch`
(plan / generate / merge / metrics). Importers may use either."""

from .batch import (MODEL_FAULT_REASONS, UNSAVED_RETRY_S, BatchDone, BatchPlanned, BatchRunner, BatchSummary,  # noqa: F401
                    PlannedItem, ResultStored, candidate_key, candidate_seed, changed_places, split_candidate_key)
from .llm.base import LLMService  # noqa: F401 (the model-service interface; also engine.dispatch.LLMService)
from .world import Place, base_hash, parse_place  # noqa: F401 (base_hash: also engine.dispatch.base_hash)
