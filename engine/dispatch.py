"""One batch, "meeting on the other side" as the seed document describes.

1. Plan: for each place, state hash -> seed, tier -> budget, rules -> eligible, prompt -> text.
2. Dispatch: eligible places go to the generation thread's queue at once (returns immediately).
3. While the model works, render every template (microseconds each) and store the places that
   need no model.
4. Meet: as each LLM result arrives, clean and validate it; a valid text wins, otherwise the
   template with its reason (disabled, model_unavailable, timeout, invalid:<code>, error,
   cancelled, prompt_error). Every result is stored the moment it is final, with everything
   needed to reproduce it, so a crash loses at most the places still being generated.

The runner runs on the caller's thread (the CLI's main thread or a console worker) and owns its
SQLite connection; the generation thread only ever talks to it through a queue.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from .config import Config
from .policy import Decision, decide
from .prompts import Prompt, PromptLibrary, DEFAULT_PROMPT
from .store import ResultRow, Store
from .templates import render_template
from .validate import clean_output, validate_output
from .world import Place


def base_hash(place: Place) -> str:
    return hashlib.sha256(place.base.encode("utf-8")).hexdigest()[:16]


class LLMService(Protocol):
    """What the dispatcher needs from the generation side (see ``engine.llm.service``)."""

    model_id: str | None

    def ready(self) -> bool: ...
    def unavailable_reason(self) -> str | None: ...
    def deadline_for(self, budget: int) -> float: ...
    def submit(self, requests: list[dict], on_event: Callable[[Any], None]) -> Any: ...


# --- events for observers (the console). Small and immutable. ---------------------------------

@dataclass(frozen=True)
class PlannedItem:
    urn: str
    name: str
    tier: str
    budget: int
    eligible: bool  # goes to the model in this batch
    reason: str | None  # why not (tier, rule:<term>, disabled, model_unavailable, cached, prompt_error)
    deadline_s: float | None


@dataclass(frozen=True)
class BatchPlanned:
    batch_id: int
    items: tuple[PlannedItem, ...]
    deadline_label: str
    model_id: str | None
    prompt_version: str | None


@dataclass(frozen=True)
class ResultStored:
    batch_id: int
    result_id: int
    urn: str
    tier: str
    source: str
    reason: str | None
    detail: str | None
    latency_ms: float | None
    tokens: int | None
    stream: int | None


@dataclass(frozen=True)
class BatchDone:
    batch_id: int
    summary: dict


@dataclass
class BatchSummary:
    batch_id: int
    status: str
    places: int
    by_tier: dict
    by_source: dict
    reasons: dict
    elapsed_s: float
    metrics: dict
    notice: str = ""
    deadline: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Pending:
    place: Place
    decision: Decision
    prompt_text: str
    deadline_s: float
    prompt_version: str


class BatchRunner:
    def __init__(
        self,
        store: Store,
        cfg: Config,
        prompts: PromptLibrary | None,
        llm: LLMService | None = None,
        observer: Callable[[Any], None] | None = None,
        prompt_name: str = DEFAULT_PROMPT,
    ):
        self.store, self.cfg, self.prompts, self.llm = store, cfg, prompts, llm
        self.observer = observer or (lambda ev: None)
        self.prompt_name = prompt_name
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def _emit(self, ev: Any) -> None:
        try:
            self.observer(ev)
        except Exception:  # an observer's bug must never lose a batch
            pass

    def run(self, places: list[Place], selection: str = "all", progress: Callable[[int, int], None] | None = None) -> BatchSummary:
        t0 = time.perf_counter()
        cfg, store = self.cfg, self.store
        llm_on = cfg.enabled and self.llm is not None and self.llm.ready()
        if not cfg.enabled:
            unavailable, notice = "disabled", "LLM disabled (FLUX_LLM_ENABLED=false): template-only batch."
        elif self.llm is None or not self.llm.ready():
            why = self.llm.unavailable_reason() if self.llm is not None else "no model loaded"
            unavailable, notice = "model_unavailable", f"LLM unavailable ({why}): template-only batch."
        else:
            unavailable, notice = None, ""
        model_id = self.llm.model_id if llm_on else None

        prompt: Prompt | None = self.prompts.get(self.prompt_name) if self.prompts else None
        if llm_on and prompt is None:
            st = self.prompts.status_of(self.prompt_name) if self.prompts else None
            err = st.error if st and st.error else f"prompt {self.prompt_name!r} not found"
            notice = f"No usable prompt ({err}): template-only batch."
            unavailable = "prompt_error"
            llm_on = False
        if prompt is not None:
            store.record_prompt(prompt.name, prompt.version, prompt.text)

        store.sync_places(places, lambda p: decide(p, cfg).tier)
        batch_id = store.start_batch(selection, len(places), model_id, prompt.version if prompt else None, cfg.as_dict())

        # 1. plan
        decisions = {p.urn: decide(p, cfg) for p in places}
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
                    else:
                        deadline = (cfg.timeout_ms / 1000.0) if cfg.timeout_ms else self.llm.deadline_for(d.budget)
                        pending[p.urn] = _Pending(p, d, prompt.render(p, d.tier), deadline, prompt.version)
            items.append(PlannedItem(p.urn, p.name, d.tier, d.budget, p.urn in pending, reason, deadline))
        deadline_label = "auto" if cfg.timeout_ms is None else f"{cfg.timeout_ms} ms (FLUX_LLM_TIMEOUT)"
        if pending:
            per_tier = sorted({(it.tier, it.deadline_s) for it in items if it.eligible})
            deadline_label += " — " + ", ".join(f"{t} {s:.1f}s" for t, s in per_tier)
        self._emit(BatchPlanned(batch_id, tuple(items), deadline_label, model_id, prompt.version if prompt else None))

        # 2. dispatch LLM work first
        events: queue.Queue = queue.Queue()
        job = None
        if pending:
            reqs = [
                {"key": urn, "prompt": pp.prompt_text, "seed": pp.place.seed, "max_tokens": pp.decision.budget,
                 "temperature": cfg.temperature, "deadline_s": pp.deadline_s}
                for urn, pp in pending.items()
            ]
            job = self.llm.submit(reqs, events.put)

        # 3. render every template while the model works; store what needs no model
        templates = {p.urn: render_template(p) for p in places}
        counts: Counter = Counter()
        by_tier: Counter = Counter(d.tier for d in decisions.values())
        reasons: Counter = Counter()
        done = 0
        total = len(places)
        rows: list[ResultRow] = []
        for p in places:
            if p.urn in pending:
                continue
            d = decisions[p.urn]
            hit = cached.get(p.urn)
            if hit is not None:
                # The accepted (cleaned, validated) text is the cached one, not the raw model text.
                row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, "llm", hit["text"], templates[p.urn],
                                hit["llm_text"], None, f"cached from result {hit['id']}", hit["prompt_version"],
                                hit["model_id"], p.seed, d.budget, 0.0, hit["tokens"], None, base_hash(p))
            else:
                reason = unavailable if (d.eligible and unavailable) else d.reason
                row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, "template", templates[p.urn], templates[p.urn],
                                None, reason, None, prompt.version if prompt else None, None, p.seed, 0, None,
                                None, None, base_hash(p))
            rows.append(row)
        for i in range(0, len(rows), 500):
            chunk = rows[i : i + 500]
            ids = store.add_results(chunk)
            for r, rid in zip(chunk, ids):
                counts[r.source] += 1
                if r.source == "template" and r.reason:
                    reasons[r.reason] += 1
                self._emit(ResultStored(batch_id, rid, r.urn, r.tier, r.source, r.reason, r.detail, r.latency_ms, r.tokens, r.stream))
            done += len(chunk)
            if progress:
                progress(done, total)

        # 4. meet on the other side
        latencies, ttfts, tokens_total = [], [], 0
        llm_t0 = time.perf_counter()
        batch_metrics: dict = {}
        status = "done"
        remaining = set(pending)
        cancel_sent = False
        while remaining:
            if self.cancel_event.is_set() and job is not None and not cancel_sent:
                job.cancel()
                cancel_sent = True
            try:
                ev = events.get(timeout=0.1)
            except queue.Empty:
                continue
            self._emit(ev)
            kind = type(ev).__name__
            if kind == "BatchFinished":
                batch_metrics = dict(getattr(ev, "metrics", {}) or {})
                # Anything the engine never reported is an error, never silently lost.
                for urn in list(remaining):
                    self._finish(batch_id, pending[urn], templates[urn], None, "error", "engine finished without a result", None, None, None, counts, reasons)
                    remaining.discard(urn)
                break
            if kind != "PlaceFinished" or ev.key not in remaining:
                continue
            remaining.discard(ev.key)
            pp = pending[ev.key]
            reason = getattr(ev, "reason", None)
            text = getattr(ev, "text", None)
            lat = getattr(ev, "latency_s", None)
            ntok = getattr(ev, "n_tokens", None)
            if lat is not None:
                latencies.append(lat)
            if getattr(ev, "ttft_s", None) is not None:
                ttfts.append(ev.ttft_s)
            tokens_total += ntok or 0
            self._finish(batch_id, pp, templates[ev.key], text, reason, getattr(ev, "detail", None), lat, ntok,
                         getattr(ev, "stream", None), counts, reasons)
            done += 1
            if progress:
                progress(done, total)
        if job is not None and not batch_metrics:
            # Wait briefly for the engine's own metrics (it sends BatchFinished after the last place).
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    ev = events.get(timeout=0.1)
                except queue.Empty:
                    continue
                self._emit(ev)
                if type(ev).__name__ == "BatchFinished":
                    batch_metrics = dict(getattr(ev, "metrics", {}) or {})
                    break
        if self.cancel_event.is_set():
            status = "cancelled"

        elapsed = time.perf_counter() - t0
        llm_elapsed = time.perf_counter() - llm_t0 if pending else 0.0
        eligible_n = len(pending)
        fell_back = sum(v for k, v in reasons.items() if k not in ("tier",) and not k.startswith("rule:"))
        llm_fallbacks = eligible_n - counts.get("llm", 0) + len(cached) if eligible_n else 0
        try:
            import psutil

            mem_mb = psutil.Process().memory_info().rss / 2**20
        except Exception:  # pragma: no cover
            mem_mb = None
        metrics = {
            "avg_latency_ms": round(1000 * sum(latencies) / len(latencies), 1) if latencies else None,
            "fallback_pct": round(100.0 * llm_fallbacks / eligible_n, 1) if eligible_n else 0.0,
            "throughput_per_min": round(60.0 * (eligible_n - llm_fallbacks) / llm_elapsed, 2) if llm_elapsed > 0 else None,
            "tokens_per_s": round(tokens_total / llm_elapsed, 1) if llm_elapsed > 0 else None,
            "memory_mb": round(mem_mb, 1) if mem_mb else None,
            "llm_places": eligible_n,
            "ttft_ms": round(1000 * sum(ttfts) / len(ttfts), 1) if ttfts else None,
            "engine": batch_metrics,
            "fell_back": fell_back,
        }
        if eligible_n and metrics["fallback_pct"] > 100 * cfg.fallback_threshold:
            warn = f"fallback rate {metrics['fallback_pct']:.0f}% is above FLUX_LLM_FALLBACK_THRESHOLD ({100 * cfg.fallback_threshold:.0f}%)"
            notice = f"{notice} {warn}".strip()
        summary = BatchSummary(batch_id, status, total, dict(by_tier), dict(counts), dict(reasons), round(elapsed, 3),
                               metrics, notice, deadline_label)
        store.record_metrics(batch_id, metrics)
        store.finish_batch(batch_id, status, summary.as_dict(), notice)
        self._emit(BatchDone(batch_id, summary.as_dict()))
        return summary

    def _finish(self, batch_id, pp: _Pending, template: str, text, reason, detail, lat, ntok, stream, counts, reasons):
        p, d = pp.place, pp.decision
        llm_text = text
        if reason is None:
            cleaned = clean_output(text or "")
            bad = validate_output(cleaned, pp.prompt_text)
            if bad is None:
                llm_text = cleaned
            else:
                reason, detail = f"invalid:{bad}", detail
        source = "llm" if reason is None else "template"
        final = llm_text if source == "llm" else template
        # The prompt version recorded is the one this place was rendered with, even if the file
        # was reloaded while it was generating.
        row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, source, final, template, text, reason, detail,
                        pp.prompt_version, self.llm.model_id if self.llm else None, p.seed, d.budget,
                        round(lat * 1000, 1) if lat is not None else None, ntok, stream, base_hash(p))
        rid = self.store.add_results([row])[0]
        counts[source] += 1
        if reason:
            reasons[reason] += 1
        self._emit(ResultStored(batch_id, rid, p.urn, d.tier, source, reason, detail, row.latency_ms, ntok, stream))

