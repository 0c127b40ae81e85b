"""Running figures of the batch in progress, for the metrics panel.

The seed's ``LLMPerformanceMonitor`` keeps running averages — generation latency, fallback
rate, enhancement quality — and reports ``averageLatency``, ``fallbackPercentage`` and
``averageQuality``. :class:`LiveMetrics` keeps the same running figures for the batch that is
running, from the engine events the console already receives (``BatchPlanned``,
``PlaceStarted``, ``Tokens``, ``PlaceFinished``, ``ResultStored``), so the metrics panel fills
while the batch runs instead of when it ends.

Definitions follow the batch runner's own end-of-batch metrics (``engine.dispatch``), so the
running figure converges to the stored one:

- fallback %: of the places sent to the model that have finished, the share that kept their
  template (timeout, invalid:*, error, cancelled);
- tokens/s: tokens generated so far (the latest count of every request, finished or not) over
  the time since the first place started decoding;
- latency: mean latency of the model places finished so far;
- quality: means over the results stored so far, as ``engine.quality.batch_quality`` takes them
  at the end: ``average_quality`` of the stored texts (the seed's ``averageQuality``),
  ``llm_average_quality`` of every raw model text, ``accepted_llm_average_quality`` of the model
  texts kept, ``template_average_quality`` of the templates; fact coverage of the stored texts.
  Fed by ``record_quality`` with the scores the store holds for each new result.

Plain Python, no widgets: the app feeds it on the UI thread when it drains the event buffer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from engine.dispatch import BatchDone, BatchPlanned, ResultStored
from engine.llm.events import PlaceFinished, PlaceStarted, Tokens


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


@dataclass
class LiveMetrics:
    batch_id: int | None = None
    running: bool = False
    total: int = 0
    finished: int = 0
    model_planned: int = 0
    model_finished: int = 0
    model_fell_back: int = 0
    other_fell_back: int = 0  # templates for want of a model (model_unavailable, disabled, prompt_error)
    reasons: Counter = field(default_factory=Counter)
    latencies_ms: list = field(default_factory=list)
    tokens: dict = field(default_factory=dict)  # request key -> tokens generated so far
    first_start: float | None = None
    last_event: float | None = None
    # quality: "all" the stored texts, "accepted" the stored model texts, "llm" every raw model
    # text, "template" every template (as engine.quality.batch_quality averages them)
    quality: dict = field(default_factory=lambda: {"all": [], "accepted": [], "llm": [], "template": []})
    coverage: dict = field(default_factory=lambda: {"all": [], "llm": [], "template": []})
    contradicted: int = 0
    version: int = 0  # bumped on every change: the panel redraws only when it moved
    _eligible: set = field(default_factory=set)
    _source: dict = field(default_factory=dict)  # result id -> source, for record_quality

    def reset(self, ev: BatchPlanned) -> None:
        self.__init__()  # type: ignore[misc]
        self.batch_id, self.running, self.total = ev.batch_id, True, len(ev.items)
        self._eligible = {it.urn for it in ev.items if it.eligible}
        self.model_planned = len(self._eligible)
        self.version = 1

    def apply(self, ev, now: float | None = None) -> bool:
        """Fold one engine event in; True when a figure changed."""
        if isinstance(ev, BatchPlanned):
            self.reset(ev)
            return True
        if not self.running:
            return False
        now = time.monotonic() if now is None else now
        if isinstance(ev, Tokens):
            self.tokens[ev.key] = ev.n_tokens
        elif isinstance(ev, PlaceStarted):
            if self.first_start is None:
                self.first_start = now
            self.tokens.setdefault(ev.key, 0)
        elif isinstance(ev, PlaceFinished):
            self.tokens[ev.key] = max(ev.n_tokens or 0, self.tokens.get(ev.key, 0))
        elif isinstance(ev, ResultStored):
            if ev.batch_id != self.batch_id:
                return False
            self.finished += 1
            self._source[ev.result_id] = ev.source
            if ev.urn in self._eligible:
                self.model_finished += 1
                if ev.source != "llm":
                    self.model_fell_back += 1
                if ev.latency_ms is not None:
                    self.latencies_ms.append(ev.latency_ms)
            elif ev.reason and ev.reason != "tier" and not ev.reason.startswith("rule:") and ev.source != "llm":
                self.other_fell_back += 1
            if ev.reason and ev.source != "llm":
                self.reasons[ev.reason] += 1
        elif isinstance(ev, BatchDone):
            if ev.batch_id == self.batch_id:
                self.running = False
        else:
            return False
        self.last_event = now
        self.version += 1
        return True

    def record_quality(self, result_id: int, source: str | None, score: float | None,
                       coverage: float | None = None, contradicted: int = 0, llm_score: float | None = None,
                       template_score: float | None = None) -> None:
        """A stored result's quality score (0..1) and fact coverage (0..1), once known. Only results
        of this batch count (a resumed batch's results arrive under their own batch id)."""
        if result_id not in self._source:
            return
        source = source or self._source[result_id]
        if score is not None:
            self.quality["all"].append(float(score))
            if source == "llm":
                self.quality["accepted"].append(float(score))
        for key, value in (("llm", llm_score), ("template", template_score)):
            if value is not None:
                self.quality[key].append(float(value))
        if coverage is not None:
            self.coverage["all"].append(float(coverage))
            self.coverage.setdefault(source, []).append(float(coverage))
        self.contradicted += int(contradicted or 0)
        self.version += 1

    def snapshot(self, now: float | None = None) -> dict:
        """The running figures, named like the batch metrics (``engine.dispatch``) they converge to."""
        now = time.monotonic() if now is None else now
        elapsed = (now - self.first_start) if self.first_start is not None else 0.0
        toks = sum(self.tokens.values())
        accepted = self.model_finished - self.model_fell_back
        return {
            "batch_id": self.batch_id,
            "running": self.running,
            "finished": self.finished,
            "total": self.total,
            "llm_places": self.model_planned,
            "llm_finished": self.model_finished,
            "fallback_pct": round(100.0 * self.model_fell_back / self.model_finished, 1) if self.model_finished else None,
            "avg_latency_ms": round(_mean(self.latencies_ms), 1) if self.latencies_ms else None,
            "tokens_per_s": round(toks / elapsed, 1) if elapsed > 0.2 and toks else None,
            "throughput_per_min": round(60.0 * accepted / elapsed, 2) if elapsed > 0.2 and accepted else None,
            "average_quality": _mean(self.quality["all"]),
            "llm_average_quality": _mean(self.quality["llm"]),
            "accepted_llm_average_quality": _mean(self.quality["accepted"]),
            "template_average_quality": _mean(self.quality["template"]),
            "fact_coverage": _mean(self.coverage["all"]),
            "llm_fact_coverage": _mean(self.coverage.get("llm", [])),
            "template_fact_coverage": _mean(self.coverage.get("template", [])),
            "facts_contradicted": self.contradicted,
            "reasons": dict(self.reasons),
            "fallback_base": self.model_finished + self.other_fell_back,
        }
