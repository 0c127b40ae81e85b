"""Generating: a batch's requests for the model service (one per place, candidate and — with a
per-sentence prompt, :mod:`engine.compose` — sentence), sent at once, and the meeting loop that
collects the results as they arrive, hands each finished place to the merge, and passes cancel
and drain on to the service: :func:`dispatch` and :func:`meet`, steps 2 and 4 of
:meth:`engine.batch.runner.BatchRunner.run`."""

from __future__ import annotations

import dataclasses
import queue
import time

from ..compose import sentence_requests, shared_head, split_sentence_key
from ..config import Config
from ..enrich import request_limits
from ..llm.events import BatchFinished
from .merge import _Candidate, _Pending, candidate_key, candidate_seed, finish, split_candidate_key


def requests_for(pending: dict[str, _Pending], cfg: Config) -> list[dict]:
    """Every request of the places in ``pending``. Candidate k of a place has key
    ``candidate_key(urn, k)`` and seed ``candidate_seed(seed, k)``; with a per-sentence prompt,
    sentence j of candidate k has key ``sentence_key(candidate_key(urn, k), j)`` and seed
    ``sentence_seed(candidate seed, j)``. Each depends on the place's state alone."""
    reqs: list[dict] = []
    for urn, pp in pending.items():
        for k in range(cfg.candidates):
            seed = candidate_seed(pp.place.seed, k)
            common = {"temperature": cfg.temperature, "deadline_s": pp.deadline_s,
                      "repetition_penalty": cfg.repetition_penalty}
            if pp.sentences is None:
                budget, stop = ((pp.decision.budget, cfg.stop_sentences) if pp.mode != "enrich"
                                else request_limits(pp.decision.budget))  # engine.enrich: one short sentence
                reqs.append({"key": candidate_key(urn, k), "prompt": pp.prompt_text, "seed": seed,
                             "max_tokens": budget, "stop_sentences": stop,
                             "head": shared_head(pp.head, pp.prompt_text), **common})
                continue
            reqs += sentence_requests(pp.place, pp.sentences, candidate_key(urn, k), seed, pp.decision.budget,
                                      keep_bias=cfg.keep_bias, head=pp.head, **common)
    return reqs


def dispatch(runner, r) -> queue.Queue:
    """Step 2: send the model work first (the service queues it and returns at once); the events
    come back on the queue returned. ``runner``: the :class:`~engine.batch.runner.BatchRunner`."""
    events: queue.Queue = queue.Queue()
    if r.pending:
        r.job = runner.llm.submit(requests_for(r.pending, runner.cfg), events.put)
    return events


def meet(runner, r, events: queue.Queue) -> None:
    """Step 4: collect results until every pending place is stored (see the module doc), each
    handed to :func:`~engine.batch.merge.finish` the moment its last candidate is in."""
    r.llm_t0 = time.perf_counter()
    remaining = set(r.pending)
    n_cand = runner.cfg.candidates
    got: dict[str, dict] = {}
    job = r.job
    drain_sent = False
    while remaining:
        if runner.cancel_event.is_set() and job is not None and not r.cancel_sent:
            job.cancel()
            r.cancel_sent = True
        if runner.drain_event.is_set() and job is not None and not (drain_sent or r.cancel_sent):
            drain_sent = True
            if runner.llm.CAN_DRAIN:
                runner.llm.drain(job)
            else:  # no drain in this service: cancel (finished results are kept all the same)
                job.cancel()
                r.cancel_sent = True
        try:
            ev = events.get(timeout=0.1)
        except queue.Empty:
            continue
        kind = type(ev).__name__
        key = getattr(ev, "key", None)
        head, j = split_sentence_key(key)
        urn, k = split_candidate_key(head)
        # Observers see every candidate and sentence as its place (the console's lanes show the place).
        runner.emit(ev if key == urn or not hasattr(ev, "key") else dataclasses.replace(ev, key=urn))
        if kind == "BatchFinished":
            r.engine_metrics = dict(getattr(ev, "metrics", {}) or {})
            # Anything the engine never reported is an error, never silently lost.
            for urn in sorted(remaining):
                cands = got.get(urn, {})
                pp = r.pending[urn]
                for kk in range(n_cand):
                    for part in ([kk] if pp.sentences is None else [(kk, jj) for jj in range(pp.parts())]):
                        cands.setdefault(part, _Candidate(kk, None, "error", "engine finished without a result",
                                                          None, None, None))
                finish(runner, r, pp, cands)
                remaining.discard(urn)
            break
        if kind != "PlaceFinished" or urn not in remaining:
            continue
        lat = getattr(ev, "latency_s", None)
        ntok = getattr(ev, "n_tokens", None)
        ran = getattr(ev, "reason", None) != "drained"  # a drained request never started
        if lat is not None and ran:
            r.latencies.append(lat)
        if getattr(ev, "ttft_s", None) is not None:
            r.ttfts.append(ev.ttft_s)
        r.tokens_total += ntok or 0
        cands = got.setdefault(urn, {})
        pp = r.pending[urn]
        part = k if pp.sentences is None else (k, j if j is not None else 0)
        cands[part] = _Candidate(k, getattr(ev, "text", None), getattr(ev, "reason", None), getattr(ev, "detail", None),
                                 lat, ntok, getattr(ev, "stream", None), getattr(ev, "worker", None))
        if len(cands) < n_cand * pp.parts():
            continue
        remaining.discard(urn)
        if any(c.reason == "drained" for c in cands.values()):
            # Not (wholly) run before the drain: the place waits for the model as a whole (a
            # best of N over some of its candidates would not be the text it gets alone).
            r.drained_n += 1
            why = _Candidate(0, None, "deferred", "the model had not started it when the batch was "
                             "drained (the service stopping): the model describes it after a restart",
                             None, None, None)
            cands = {0: why} if pp.sentences is None else {(0, jj): why for jj in range(pp.parts())}
        finish(runner, r, pp, cands)
        r.done += 1
        if r.progress:
            r.progress(r.done, r.total)
    if job is not None and not r.engine_metrics:
        # Wait briefly for the engine's own metrics (it sends BatchFinished after the last place).
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                ev = events.get(timeout=0.1)
            except queue.Empty:
                continue
            runner.emit(ev)
            if isinstance(ev, BatchFinished):
                r.engine_metrics = dict(getattr(ev, "metrics", {}) or {})
                break
