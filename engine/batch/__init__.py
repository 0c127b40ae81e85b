"""One batch, "meeting on the other side" (the seed document's dispatch pattern), as steps that
:meth:`BatchRunner.run <engine.batch.runner.BatchRunner.run>` calls in order, each handed the runner
and the run's state (:class:`~.plan.BatchRun`):

- :func:`.plan.plan` — model, prompt, each place's tier, budget, deadline and cache hit; the plan is
  written with the batch so a killed batch is resumed exactly once;
- :func:`.generate.dispatch` — every request sent at once;
- :func:`.merge.store_without_model` — the places that need no model stored while it works;
- :func:`.generate.meet` — the meeting loop collecting results as they arrive (cancel and drain
  passed on to the service), each model place judged (candidates, per-sentence composition, the
  merge gate) and stored by :func:`.merge.finish` the moment it is final;
- :func:`.metrics.close` — the batch's figures and notices, spill of unsaved rows, the summary.

:mod:`.events` are what observers see.
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
