"""One batch, "meeting on the other side" (the seed document's dispatch pattern), in four steps:

- :mod:`.plan` — model, prompt, each place's tier, budget, deadline and cache hit; the plan is
  written with the batch so a killed batch is resumed exactly once;
- :mod:`.generate` — every request sent at once, the meeting loop collecting results as they
  arrive (cancel and drain passed on to the service);
- :mod:`.merge` — the places that need no model stored while it works; each model place judged
  (candidates, per-sentence composition, the merge gate) and stored the moment it is final;
- :mod:`.metrics` — the batch's figures and notices, spill of unsaved rows, the summary.

:class:`~.runner.BatchRunner` puts them together; :mod:`.events` are what observers see.
"""

from .events import BatchDone, BatchPlanned, BatchSummary, PlannedItem, ResultStored
from .generate import requests_for
from .merge import candidate_key, candidate_seed, split_candidate_key
from .plan import BatchRun, changed_places
from .runner import UNSAVED_RETRY_S, BatchRunner

# Fallback reasons that mean "the model path failed" (as opposed to policy: tier, rule:<term>).
MODEL_FAULT_REASONS = ("error", "timeout", "model_unavailable", "prompt_error", "cancelled")

__all__ = ["BatchDone", "BatchPlanned", "BatchRun", "BatchRunner", "BatchSummary", "MODEL_FAULT_REASONS",
           "PlannedItem", "ResultStored", "UNSAVED_RETRY_S", "candidate_key", "candidate_seed", "changed_places",
           "requests_for", "split_candidate_key"]
