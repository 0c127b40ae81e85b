"""A batch's figures (the seed's monitor: latency, fallback %, throughput, tokens/s, memory, fact
coverage, quality), its notices, and its end: unsaved rows spilled, the summary recorded
(:func:`close`, the last step of :meth:`engine.batch.runner.BatchRunner.run`)."""

from __future__ import annotations

import time

from ..store import StoreError
from .events import BatchDone, BatchSummary


def run_metrics(r, store) -> dict:
    """The metrics dict of a batch that met (see the module doc); never raises for a figure."""
    llm_elapsed = time.perf_counter() - r.llm_t0 if r.pending else 0.0
    eligible_n = len(r.pending) - r.drained_n  # the places the model ran (drained ones wait for it)
    fell_back = sum(v for k, v in r.reasons.items() if k not in ("tier", "deferred") and not k.startswith("rule:"))
    llm_fallbacks = eligible_n - r.counts.get("llm", 0) + len(r.cached) if eligible_n else 0
    try:
        import psutil

        mem_mb = psutil.Process().memory_info().rss / 2**20
    except Exception:  # pragma: no cover
        mem_mb = None
    lat, ttfts = r.latencies, r.ttfts
    metrics = {
        "avg_latency_ms": round(1000 * sum(lat) / len(lat), 1) if lat else None,
        "fallback_pct": round(100.0 * llm_fallbacks / eligible_n, 1) if eligible_n else 0.0,
        "throughput_per_min": round(60.0 * (eligible_n - llm_fallbacks) / llm_elapsed, 2) if llm_elapsed > 0 else None,
        "tokens_per_s": round(r.tokens_total / llm_elapsed, 1) if llm_elapsed > 0 else None,
        "memory_mb": round(mem_mb, 1) if mem_mb else None,
        "llm_places": eligible_n,
        "ttft_ms": round(1000 * sum(ttfts) / len(ttfts), 1) if ttfts else None,
        "engine": r.engine_metrics,
        "fell_back": fell_back,
        "drained": r.drained_n,
    }
    try:
        # Fact coverage of what this batch stored (engine.factcheck): shown per batch in metrics.
        from ..workbench import batch_fact_coverage

        fc = batch_fact_coverage(store, r.batch_id, {p.urn: p for p in r.places})
        metrics.update(fact_coverage=fc["coverage"], llm_fact_coverage=fc["llm_coverage"],
                       template_fact_coverage=fc["template_coverage"], facts_contradicted=fc["contradicted"])
    except Exception:  # a metrics problem must never fail a batch
        pass
    try:
        from ..quality import batch_quality

        metrics.update(batch_quality(store, r.batch_id))  # average_quality: the seed's averageQuality
    except Exception:
        pass
    return metrics


def close(runner, r) -> BatchSummary:
    """Step 5: the batch's status, figures and notices; rows still unsaved written or spilled; the
    summary recorded and reported. ``runner``: the :class:`~engine.batch.runner.BatchRunner`."""
    cfg, store = runner.cfg, runner.store
    status, notice = "done", r.notice
    if runner.cancel_event.is_set() or r.cancel_sent:
        status = "cancelled"
    elif r.drained_n:
        status = "drained"
        ran_n = len(r.pending) - r.drained_n
        notice = (f"{notice} Drained: {ran_n} model place(s) started before the drain finished; {r.drained_n} not "
                  f"started got their template and wait for the model (reason deferred).").strip()
    elapsed = time.perf_counter() - r.t0
    metrics = run_metrics(r, store)
    eligible_n = metrics["llm_places"]
    faults = {k: v for k, v in r.reasons.items() if k in ("error", "timeout") or k.startswith("invalid:")}
    if faults:
        what = ", ".join(f"{k} {v}" for k, v in sorted(faults.items(), key=lambda kv: -kv[1]))
        notice = f"{notice} {sum(faults.values())} model place(s) fell back to templates ({what}).".strip()
    if getattr(cfg, "judge", False) and eligible_n:  # the judge asked for, but not used: say why
        from ..judge import unused_reason

        why = unused_reason(runner)
        if why:
            notice = f"{notice} FLUX_LLM_JUDGE is on, but no judge was asked: {why}.".strip()
    if eligible_n and metrics["fallback_pct"] > 100 * cfg.fallback_threshold:
        warn = (f"fallback rate {metrics['fallback_pct']:.0f}% is above FLUX_LLM_FALLBACK_THRESHOLD "
                f"({100 * cfg.fallback_threshold:.0f}%)")
        notice = f"{notice} {warn}".strip()
    # Results that could not be written: one more try, then a spill file. Never silently dropped.
    spill = None
    unsaved_n = 0
    if runner.unsaved and not runner.flush_unsaved():
        unsaved_n = len(runner.unsaved)
        spill = runner.spill(r.batch_id)
        status = "incomplete"
        where = (f"written to {spill} (imported automatically by the next `texture batch`)" if spill else
                 "kept in memory only: the spill file could not be written either")
        notice = f"{notice} {unsaved_n} result(s) could not be stored ({runner.write_error}); {where}.".strip()
    by_tier = {}
    for d in r.decisions.values():
        by_tier[d.tier] = by_tier.get(d.tier, 0) + 1
    summary = BatchSummary(r.batch_id, status, r.total, by_tier, dict(r.counts), dict(r.reasons), round(elapsed, 3),
                           metrics, notice, r.deadline_label, unsaved_n, spill)
    try:
        store.record_metrics(r.batch_id, metrics)
        store.finish_batch(r.batch_id, status, summary.as_dict(), notice)
    except StoreError as exc:
        # The batch stays 'running' in the file; the next start recovers it (its stored
        # results are kept, its spilled ones imported, nothing is re-run twice).
        summary.notice = f"{summary.notice} Could not record the batch's end ({exc}).".strip()
        if status == "done":
            summary.status = "incomplete"
    runner.emit(BatchDone(r.batch_id, summary.as_dict()))
    return summary
