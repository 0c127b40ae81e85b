"""Planning a batch: which model, which prompt, each place's tier, budget and deadline, what the
cache already has, and what goes to the model: :func:`plan`, the first step of
:meth:`engine.batch.runner.BatchRunner.run`. The plan is written with the batch (one transaction),
so a batch killed at any moment is resumed exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..enhance import batch_prompt, prompt_config
from ..policy import Decision, decide
from ..prompts import Prompt
from ..store import Store
from ..world import Place, base_hash
from .events import BatchPlanned, PlannedItem
from .merge import _Pending


def changed_places(store: Store, places: Iterable[Place]) -> list[Place]:
    """Places whose state or base text differs from their current stored description
    (the "changed" selection of the CLI and the console)."""
    current = store.current_keys()
    return [p for p in places if current.get(p.urn) != (p.state_hash, base_hash(p))]


@dataclass
class BatchRun:
    """One batch's working state, handed from phase to phase (plan -> generate -> merge -> metrics)."""

    batch_id: int
    places: list[Place]
    decisions: dict[str, Decision]
    pending: dict[str, _Pending]
    cached: dict[str, dict]
    prompt: Prompt | None
    model_id: str | None
    unavailable: str | None
    notice: str
    deadline_label: str
    seen: dict[str, float | None]
    llm_only: set[str] | None
    progress: Callable[[int, int], None] | None
    t0: float
    templates: dict[str, str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    done: int = 0
    # the meeting's figures (engine.batch.generate)
    job: Any = None
    llm_t0: float = 0.0
    latencies: list = field(default_factory=list)
    ttfts: list = field(default_factory=list)
    tokens_total: int = 0
    engine_metrics: dict = field(default_factory=dict)
    drained_n: int = 0
    cancel_sent: bool = False

    @property
    def total(self) -> int:
        return len(self.places)


def plan(runner, places: list[Place], selection: str, progress, batch_id: int | None,
         llm_only: set[str] | None = None, seen_in: dict[str, float | None] | None = None) -> BatchRun:
    """Step 1: the plan of one batch, written with it (a new batch, or the queued ``batch_id``).

    ``runner`` is the :class:`~engine.batch.runner.BatchRunner` (its store, config, model service,
    prompts and observer); ``runner.batch_id`` is set as soon as the batch exists, so a failure
    later re-queues what is unfinished. ``llm_only`` and ``seen_in``: as in ``BatchRunner.run``."""
    t0 = time.perf_counter()
    cfg, store = runner.cfg, runner.store
    runner.batch_id = None
    # One result per place per batch: a place listed twice runs once.
    seen: set[str] = set()
    places = [p for p in places if not (p.urn in seen or seen.add(p.urn))]
    llm_on = cfg.enabled and runner.llm is not None and runner.llm.ready()
    if not cfg.enabled:
        unavailable, notice = "disabled", "LLM disabled (FLUX_LLM_ENABLED=false): template-only batch."
    elif runner.llm is None or not runner.llm.ready():
        why = runner.llm.unavailable_reason() if runner.llm is not None else "no model loaded"
        unavailable, notice = "model_unavailable", f"LLM unavailable ({why}): template-only batch."
    else:
        unavailable, notice = None, ""
    model_id = runner.llm.model_id if llm_on else None
    # engine.enhance: the generation mode blind reviews allow for this model (or templates).
    enh, prompt_name = batch_prompt(runner, cfg, model_id) if llm_on else (None, None)
    if enh is not None and enh.off:
        unavailable, notice, llm_on, model_id = "enhance_off", enh.sentence, False, None

    prompt, prompt_notice = runner.prompt_for_batch(prompt_name)
    runner.cfg = cfg = prompt_config(runner, prompt)  # the prompt file's #temperature / #candidates
    if llm_on and prompt is None:
        st = runner.prompts.status_of(runner.prompt_name) if runner.prompts else None
        err = st.error if st and st.error else f"prompt {runner.prompt_name!r} not found"
        notice = f"No usable prompt ({err}): template-only batch."
        unavailable = "prompt_error"
        llm_on = False
    elif llm_on and prompt_notice:
        notice = f"{notice} {prompt_notice}".strip()
    if prompt is not None:
        store.record_prompt(prompt.name, prompt.version, prompt.text)

    decisions = {p.urn: decide(p, cfg) for p in places}
    # When each state was first seen (the service passes it): such a result never replaces a
    # current description of a state seen later. Without it (a batch started by hand) the
    # result is the newest, as it always was.
    given = seen_in or {}
    seen_at = {p.urn: given.get(p.urn) for p in places}
    store.sync_places(places, lambda p: decisions[p.urn].tier)
    if batch_id is None:
        rows = [(p.urn, p.state_hash, decisions[p.urn].tier, json.dumps(p.to_json(), ensure_ascii=False),
                 seen_at[p.urn]) for p in places]
        batch_id = store.start_batch(selection, len(places), model_id, prompt.version if prompt else None,
                                     cfg.as_dict(), items=rows)
    else:
        store.begin_queued_batch(batch_id, model_id, prompt.version if prompt else None, cfg.as_dict())
    runner.batch_id = batch_id

    pending: dict[str, _Pending] = {}
    cached: dict[str, dict] = {}
    items = []
    for p in places:
        d = decisions[p.urn]
        reason = d.reason
        deadline = None
        if d.eligible:
            if not llm_on:
                reason = unavailable
            else:
                hit = store.cached_llm(p.state_hash, base_hash(p), prompt.version, model_id, d.budget)
                if hit is not None:
                    cached[p.urn] = hit
                    reason = "cached"
                elif llm_only is not None and p.urn not in llm_only:
                    reason = "deferred"  # over this cycle's model cap: the template now, the model later
                else:
                    deadline = (cfg.timeout_ms / 1000.0) if cfg.timeout_ms else runner.llm.deadline_for(d.budget)
                    sents = tuple(prompt.render_sentences(p, d.tier)) if prompt.per_sentence else None
                    pending[p.urn] = _Pending(p, d, prompt.render(p, d.tier), deadline, prompt.version, sents,
                                              prompt.head, getattr(prompt, "mode", ""))
        items.append(PlannedItem(p.urn, p.name, d.tier, d.budget, p.urn in pending, reason, deadline))
    deadline_label = "auto" if cfg.timeout_ms is None else f"{cfg.timeout_ms} ms (FLUX_LLM_TIMEOUT)"
    if pending:
        per_tier = sorted({(it.tier, it.deadline_s) for it in items if it.eligible})
        deadline_label += " — " + ", ".join(f"{t} {s:.1f}s" for t, s in per_tier)
    runner.emit(BatchPlanned(batch_id, tuple(items), deadline_label, model_id, prompt.version if prompt else None))
    return BatchRun(batch_id, places, decisions, pending, cached, prompt, model_id, unavailable, notice,
                    deadline_label, seen_at, llm_only, progress, t0)
