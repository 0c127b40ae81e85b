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

Reliability:

- A batch holds the database's batch-writer lock while it runs (``Store.batch_lock``): a second
  batch on the same database refuses with :class:`~engine.store.BatchBusyError` (a StoreError).
- Its planned places are written with the batch (one transaction) and each is marked done in the
  transaction that stores its result, so a process killed at any moment leaves a batch that
  :meth:`BatchRunner.run_pending` (or ``texture batch``) resumes exactly once.
- A result that cannot be written (full disk, read-only file) is kept in memory and retried;
  what still cannot be written when the batch ends goes to a JSONL spill file next to the
  database (imported on the next recovery), and the summary says so (status "incomplete").
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .config import Config
from .llm.base import LLMService  # noqa: F401 (the model-service interface; also engine.dispatch.LLMService)
from .llm.events import BatchFinished
from .policy import Decision, decide
from .prompts import Prompt, PromptError, PromptLibrary, DEFAULT_PROMPT, compile_prompt
from .quality import QualityReport, gate, quality_json, score_text
from .store import ResultRow, Store, StoreError
from .compose import compose_results, sentence_requests, split_sentence_key
from .templates import render_template
from .validate import clean_output, validate_output
from .world import Place, base_hash, parse_place  # noqa: F401 (base_hash: also engine.dispatch.base_hash)

# Fallback reasons that mean "the model path failed" (as opposed to policy: tier, rule:<term>).
MODEL_FAULT_REASONS = ("error", "timeout", "model_unavailable", "prompt_error", "cancelled")
# How often a runner holding unsaved rows tries the database again (seconds).
UNSAVED_RETRY_S = 1.0


def changed_places(store: Store, places: Iterable[Place]) -> list[Place]:
    """Places whose state or base text differs from their current stored description
    (the "changed" selection of the CLI and the console)."""
    current = store.current_keys()
    return [p for p in places if current.get(p.urn) != (p.state_hash, base_hash(p))]


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
    unsaved: int = 0  # results that could not be written to the database
    spill_file: str | None = None  # where those results were written instead

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Candidate:
    k: int
    text: str | None
    reason: str | None
    detail: str | None
    latency_s: float | None
    tokens: int | None
    stream: int | None
    worker: str | None = None  # the cluster worker that ran it (engine.cluster)


CANDIDATE_SEP = "#cand"


def candidate_key(urn: str, k: int) -> str:
    """The request key of candidate ``k`` of a place: the urn itself for candidate 0."""
    return urn if k == 0 else f"{urn}{CANDIDATE_SEP}{k}"


def split_candidate_key(key: str | None) -> tuple[str | None, int]:
    if key is None or CANDIDATE_SEP not in key:
        return key, 0
    urn, _, k = key.rpartition(CANDIDATE_SEP)
    return (urn, int(k)) if k.isdigit() else (key, 0)


def candidate_seed(seed: int, k: int) -> int:
    """Candidate k's seed, from (seed, k) alone: the seed itself for k = 0 (so one candidate is
    exactly the batch of before), a splitmix64 mix of both otherwise."""
    if k == 0:
        return seed
    from .llm.sampling import _mix64, normalize_seed

    return _mix64(normalize_seed(seed) ^ _mix64(k)) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class _Pending:
    place: Place
    decision: Decision
    prompt_text: str
    deadline_s: float
    prompt_version: str
    # A per-sentence prompt (engine.compose): (template sentence, its prompt text) per sentence.
    sentences: tuple[tuple[str, str], ...] | None = None

    def parts(self) -> int:
        return len(self.sentences) if self.sentences else 1


def _set_quality(row: ResultRow, template_q: QualityReport, llm_q: QualityReport | None,
                 raw_q: QualityReport | None = None, sentences: tuple[int, int] | None = None) -> None:
    """Fill the row's quality fields (engine.quality; store migration 7). A per-sentence place
    (engine.compose) also keeps the report of the model's own sentences (``raw_q``) and how many
    of its sentences the model wrote (``sentences``: (model, of))."""
    row.template_quality = template_q.total
    row.llm_quality = llm_q.total if llm_q is not None else None
    row.quality = llm_q.total if (row.source == "llm" and llm_q is not None) else template_q.total
    row.quality_json = quality_json(template_q, llm_q, row.source, raw_q, sentences)


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
        self.drain_event = threading.Event()
        self.lock_wait_s = 2.0  # how long to wait for another batch on the same database
        self.unsaved: list[ResultRow] = []  # rows that could not be written yet (full disk, read-only)
        self.write_error: str | None = None
        self._next_retry = 0.0

    def cancel(self) -> None:
        self.cancel_event.set()

    def drain(self) -> None:
        """Let the model finish the places it is decoding and start no more: the places it had not
        started are stored with their template and reason ``deferred`` (they wait for the model,
        as over the service's cap). A service without ``CAN_DRAIN`` is cancelled instead."""
        self.drain_event.set()

    def _emit(self, ev: Any) -> None:
        try:
            self.observer(ev)
        except Exception:  # an observer's bug must never lose a batch
            pass

    def run(self, places: list[Place], selection: str = "all", progress: Callable[[int, int], None] | None = None,
            *, batch_id: int | None = None, llm_only: set[str] | None = None,
            seen_at: dict[str, float] | None = None) -> BatchSummary:
        """Run one batch over ``places``. With ``batch_id``, run that queued (resume) batch instead
        of creating a new one. Raises BatchBusyError if another batch runs on the database.

        ``llm_only`` (the service's per-cycle cap): eligible places outside it get their template
        with reason ``deferred``. ``seen_at``: when each place's state was first observed; such a
        result never replaces a current description of a state observed later."""
        self._llm_only, self._seen_in = llm_only, seen_at
        with self.store.batch_lock(wait_s=self.lock_wait_s, what=f"batch: {selection}"[:80]):
            return self._run(places, selection, progress, batch_id)

    def run_pending(self, progress: Callable[[int, int], None] | None = None,
                    on_resume: Callable[[Any], None] | None = None) -> list[BatchSummary]:
        """Recover batches a dead process left behind and run every queued resume batch.

        Exactly once: recovery re-queues each unfinished place once (a new batch "resume of #N");
        a resume batch killed in turn is itself recovered the same way. ``on_resume(Recovered)`` is
        called before each resume batch runs. Returns the summaries of the batches run.
        """
        out = []
        with self.store.batch_lock(wait_s=self.lock_wait_s, what="resume"):
            rep = self.store.recover_interrupted()
            for rec in rep.pending:
                if on_resume is not None:
                    on_resume(rec)
                out.append(self.resume(rec.batch_id, progress))
        return out

    def resume(self, batch_id: int, progress: Callable[[int, int], None] | None = None) -> BatchSummary:
        """Run a queued batch's places as they were planned (their state when first planned)."""
        with self.store.batch_lock(wait_s=self.lock_wait_s, what=f"resume #{batch_id}"):
            b = self.store.batch(batch_id)
            if b is None or b["status"] != "queued":
                raise StoreError(f"batch #{batch_id} is not queued (status {b['status'] if b else 'missing'})")
            places, bad = [], []
            # A place described by a newer batch since this one was queued (e.g. in the console)
            # must not get its older planned state back: it is superseded, not re-run.
            newer = self.store.superseded_items(batch_id)
            if newer:
                self.store.cancel_items(batch_id, list(newer), "superseded by a newer batch")
            for urn, planned in self.store.planned_places(batch_id):
                try:
                    places.append(parse_place(planned))
                except Exception:
                    bad.append(urn)
            if bad:  # cannot happen for items this program planned; never leave them queued forever
                self.store.cancel_items(batch_id, bad, "planned state unreadable")
            # A resumed place keeps the time its planned state was first seen (never "now").
            self._llm_only = None
            self._seen_in = self.store.queued_seen_at(batch_id)
            return self._run(places, b["selection"] or f"batch #{batch_id}", progress, batch_id)

    def _store_rows(self, rows: list[ResultRow]) -> list[int]:
        """Write rows; on a write failure keep them (and any later ones) for a retry. -1 = kept."""
        if self.unsaved and time.monotonic() >= self._next_retry:
            self._flush_unsaved()
        if not self.unsaved:
            try:
                return self.store.add_results(rows)
            except StoreError as exc:
                self.write_error = str(exc)
                self._next_retry = time.monotonic() + UNSAVED_RETRY_S
        self.unsaved.extend(rows)
        return [-1] * len(rows)

    def _flush_unsaved(self) -> bool:
        try:
            self.store.add_results(self.unsaved)
        except StoreError as exc:
            self.write_error = str(exc)
            self._next_retry = time.monotonic() + UNSAVED_RETRY_S
            return False
        self.unsaved = []
        return True

    def _run(self, places: list[Place], selection: str, progress, batch_id: int | None) -> BatchSummary:
        try:
            return self._run_inner(places, selection, progress, batch_id)
        except BaseException:
            # An unexpected failure (or a second Ctrl-C) mid-batch: leave nothing half-done.
            # Whatever is unfinished is re-queued now (we hold the lock, so this is safe).
            b = getattr(self, "_batch_id", None)
            if b is not None:
                try:
                    if self.unsaved:
                        self._flush_unsaved() or self._spill(b)
                    self.store.recover_interrupted()
                except Exception:
                    pass  # the next start recovers it
            raise

    def _spill(self, batch_id: int) -> str | None:
        try:
            path = self.store.write_spill(batch_id, self.unsaved)
        except OSError:
            return None
        self.unsaved = []
        return str(path)

    def _prompt_for_batch(self) -> tuple[Prompt | None, str]:
        """The active prompt and a notice when it is not the file's current content."""
        if not self.prompts:
            return None, ""
        prompt = self.prompts.get(self.prompt_name)
        st = self.prompts.status_of(self.prompt_name)
        err = st.error if st is not None else None
        if prompt is not None:
            if err is not None:
                return prompt, f"Prompt file error ({err}): using the last good version {prompt.version}."
            return prompt, ""
        if err is None:
            return None, ""
        # Nothing good loaded in this process: the last version this database used is the last good one.
        try:
            rec = self.store.last_prompt(self.prompt_name)
            if rec is not None:
                good = compile_prompt(rec["text"], f"{self.prompt_name} (version {rec['version']} from the database)",
                                      self.prompt_name)
                return good, f"Prompt file error ({err}): using the last good version {good.version} recorded in the database."
        except (PromptError, Exception):
            pass
        return None, ""

    def _run_inner(self, places: list[Place], selection: str, progress, batch_id: int | None) -> BatchSummary:
        t0 = time.perf_counter()
        cfg, store = self.cfg, self.store
        self._batch_id = None
        # One result per place per batch: a place listed twice runs once.
        seen: set[str] = set()
        places = [p for p in places if not (p.urn in seen or seen.add(p.urn))]
        llm_on = cfg.enabled and self.llm is not None and self.llm.ready()
        if not cfg.enabled:
            unavailable, notice = "disabled", "LLM disabled (FLUX_LLM_ENABLED=false): template-only batch."
        elif self.llm is None or not self.llm.ready():
            why = self.llm.unavailable_reason() if self.llm is not None else "no model loaded"
            unavailable, notice = "model_unavailable", f"LLM unavailable ({why}): template-only batch."
        else:
            unavailable, notice = None, ""
        model_id = self.llm.model_id if llm_on else None

        prompt, prompt_notice = self._prompt_for_batch()
        if llm_on and prompt is None:
            st = self.prompts.status_of(self.prompt_name) if self.prompts else None
            err = st.error if st and st.error else f"prompt {self.prompt_name!r} not found"
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
        given = getattr(self, "_seen_in", None) or {}
        self._seen = seen = {p.urn: given.get(p.urn) for p in places}
        llm_only = getattr(self, "_llm_only", None)
        store.sync_places(places, lambda p: decisions[p.urn].tier)
        if batch_id is None:
            items = [(p.urn, p.state_hash, decisions[p.urn].tier, json.dumps(p.to_json(), ensure_ascii=False), seen[p.urn])
                     for p in places]
            batch_id = store.start_batch(selection, len(places), model_id, prompt.version if prompt else None,
                                         cfg.as_dict(), items=items)
        else:
            store.begin_queued_batch(batch_id, model_id, prompt.version if prompt else None, cfg.as_dict())
        self._batch_id = batch_id

        # 1. plan
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
                        deadline = (cfg.timeout_ms / 1000.0) if cfg.timeout_ms else self.llm.deadline_for(d.budget)
                        sents = tuple(prompt.render_sentences(p, d.tier)) if prompt.per_sentence else None
                        pending[p.urn] = _Pending(p, d, prompt.render(p, d.tier), deadline, prompt.version, sents)
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
            # Best of N (issue #13): candidate k of a place has key candidate_key(urn, k) and seed
            # candidate_seed(seed, k); candidate 0 is the place's own request (key urn, its seed).
            # A per-sentence prompt (engine.compose): sentence j of candidate k has key
            # sentence_key(candidate_key(urn, k), j) and seed sentence_seed(candidate seed, j).
            reqs = []
            for urn, pp in pending.items():
                for k in range(cfg.candidates):
                    seed = candidate_seed(pp.place.seed, k)
                    common = {"temperature": cfg.temperature, "deadline_s": pp.deadline_s,
                              "repetition_penalty": cfg.repetition_penalty}
                    if pp.sentences is None:
                        reqs.append({"key": candidate_key(urn, k), "prompt": pp.prompt_text, "seed": seed,
                                     "max_tokens": pp.decision.budget, "stop_sentences": cfg.stop_sentences, **common})
                        continue
                    reqs += sentence_requests(pp.place, pp.sentences, candidate_key(urn, k), seed, pp.decision.budget,
                                              keep_bias=cfg.keep_bias, **common)
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
                                hit["model_id"], p.seed, d.budget, 0.0, hit["tokens"], None, base_hash(p), seen[p.urn])
                # The cached text passes today's gate too, or the place keeps its template.
                tq, lq = score_text(p, templates[p.urn]), score_text(p, hit["text"])
                g = gate(p, lq, cfg.min_quality) if cfg.quality_gate else None
                if g is not None and not g.ok:
                    row.source, row.text, row.reason = "template", templates[p.urn], g.reason
                    row.detail = f"{g.detail} (cached result {hit['id']})"
                _set_quality(row, tq, lq)
            else:
                reason = unavailable if (d.eligible and unavailable) else d.reason
                if d.eligible and not unavailable and llm_only is not None and p.urn not in llm_only:
                    reason = "deferred"
                row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, "template", templates[p.urn], templates[p.urn],
                                None, reason, None, prompt.version if prompt else None, None, p.seed, 0, None,
                                None, None, base_hash(p), seen[p.urn])
                _set_quality(row, score_text(p, templates[p.urn]), None)
            rows.append(row)
        for i in range(0, len(rows), 500):
            chunk = rows[i : i + 500]
            ids = self._store_rows(chunk)
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
        n_cand = cfg.candidates
        got: dict[str, dict[int, _Candidate]] = {}
        cancel_sent = drain_sent = False
        drained_n = 0
        while remaining:
            if self.cancel_event.is_set() and job is not None and not cancel_sent:
                job.cancel()
                cancel_sent = True
            if self.drain_event.is_set() and job is not None and not (drain_sent or cancel_sent):
                drain_sent = True
                if self.llm.CAN_DRAIN:
                    self.llm.drain(job)
                else:  # no drain in this service: cancel (finished results are kept all the same)
                    job.cancel()
                    cancel_sent = True
            try:
                ev = events.get(timeout=0.1)
            except queue.Empty:
                continue
            kind = type(ev).__name__
            key = getattr(ev, "key", None)
            head, j = split_sentence_key(key)
            urn, k = split_candidate_key(head)
            # Observers see every candidate and sentence as its place (the console's lanes show the place).
            self._emit(ev if key == urn or not hasattr(ev, "key") else dataclasses.replace(ev, key=urn))
            if kind == "BatchFinished":
                batch_metrics = dict(getattr(ev, "metrics", {}) or {})
                # Anything the engine never reported is an error, never silently lost.
                for urn in sorted(remaining):
                    cands = got.get(urn, {})
                    pp = pending[urn]
                    for kk in range(n_cand):
                        for part in ([kk] if pp.sentences is None else [(kk, jj) for jj in range(pp.parts())]):
                            cands.setdefault(part, _Candidate(kk, None, "error", "engine finished without a result",
                                                              None, None, None))
                    self._finish(batch_id, pending[urn], templates[urn], cands, counts, reasons)
                    remaining.discard(urn)
                break
            if kind != "PlaceFinished" or urn not in remaining:
                continue
            lat = getattr(ev, "latency_s", None)
            ntok = getattr(ev, "n_tokens", None)
            ran = getattr(ev, "reason", None) != "drained"  # a drained request never started
            if lat is not None and ran:
                latencies.append(lat)
            if getattr(ev, "ttft_s", None) is not None:
                ttfts.append(ev.ttft_s)
            tokens_total += ntok or 0
            cands = got.setdefault(urn, {})
            part = k if pending[urn].sentences is None else (k, j if j is not None else 0)
            cands[part] = _Candidate(k, getattr(ev, "text", None), getattr(ev, "reason", None), getattr(ev, "detail", None),
                                     lat, ntok, getattr(ev, "stream", None),
                                     getattr(ev, "worker", None))
            if len(cands) < n_cand * pending[urn].parts():
                continue
            remaining.discard(urn)
            if any(c.reason == "drained" for c in cands.values()):
                # Not (wholly) run before the drain: the place waits for the model as a whole (a
                # best of N over some of its candidates would not be the text it gets alone).
                drained_n += 1
                why = _Candidate(0, None, "deferred", "the model had not started it when the batch was "
                                 "drained (the service stopping): the model describes it after a restart",
                                 None, None, None)
                pp = pending[urn]
                cands = {0: why} if pp.sentences is None else {(0, jj): why for jj in range(pp.parts())}
            self._finish(batch_id, pending[urn], templates[urn], cands, counts, reasons)
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
                if isinstance(ev, BatchFinished):
                    batch_metrics = dict(getattr(ev, "metrics", {}) or {})
                    break
        if self.cancel_event.is_set() or cancel_sent:
            status = "cancelled"
        elif drained_n:
            status = "drained"
            ran_n = len(pending) - drained_n
            notice = (f"{notice} Drained: {ran_n} model place(s) started before the drain finished; {drained_n} not "
                      f"started got their template and wait for the model (reason deferred).").strip()

        elapsed = time.perf_counter() - t0
        llm_elapsed = time.perf_counter() - llm_t0 if pending else 0.0
        eligible_n = len(pending) - drained_n  # the places the model ran (drained ones wait for it)
        fell_back = sum(v for k, v in reasons.items() if k not in ("tier", "deferred") and not k.startswith("rule:"))
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
            "drained": drained_n,
        }
        try:
            # Fact coverage of what this batch stored (engine.factcheck): shown per batch in metrics.
            from .workbench import batch_fact_coverage

            fc = batch_fact_coverage(store, batch_id, {p.urn: p for p in places})
            metrics.update(fact_coverage=fc["coverage"], llm_fact_coverage=fc["llm_coverage"],
                           template_fact_coverage=fc["template_coverage"], facts_contradicted=fc["contradicted"])
        except Exception:  # a metrics problem must never fail a batch
            pass
        try:
            from .quality import batch_quality

            metrics.update(batch_quality(store, batch_id))  # average_quality: the seed's averageQuality
        except Exception:
            pass
        faults = {k: v for k, v in reasons.items() if k in ("error", "timeout") or k.startswith("invalid:")}
        if faults:
            what = ", ".join(f"{k} {v}" for k, v in sorted(faults.items(), key=lambda kv: -kv[1]))
            notice = f"{notice} {sum(faults.values())} model place(s) fell back to templates ({what}).".strip()
        if eligible_n and metrics["fallback_pct"] > 100 * cfg.fallback_threshold:
            warn = f"fallback rate {metrics['fallback_pct']:.0f}% is above FLUX_LLM_FALLBACK_THRESHOLD ({100 * cfg.fallback_threshold:.0f}%)"
            notice = f"{notice} {warn}".strip()
        # Results that could not be written: one more try, then a spill file. Never silently dropped.
        spill = None
        unsaved_n = 0
        if self.unsaved and not self._flush_unsaved():
            unsaved_n = len(self.unsaved)
            spill = self._spill(batch_id)
            status = "incomplete"
            where = (f"written to {spill} (imported automatically by the next `texture batch`)" if spill else
                     "kept in memory only: the spill file could not be written either")
            notice = f"{notice} {unsaved_n} result(s) could not be stored ({self.write_error}); {where}.".strip()
        summary = BatchSummary(batch_id, status, total, dict(by_tier), dict(counts), dict(reasons), round(elapsed, 3),
                               metrics, notice, deadline_label, unsaved_n, spill)
        try:
            store.record_metrics(batch_id, metrics)
            store.finish_batch(batch_id, status, summary.as_dict(), notice)
        except StoreError as exc:
            # The batch stays 'running' in the file; the next start recovers it (its stored
            # results are kept, its spilled ones imported, nothing is re-run twice).
            summary.notice = f"{summary.notice} Could not record the batch's end ({exc}).".strip()
            if status == "done":
                summary.status = "incomplete"
        self._emit(BatchDone(batch_id, summary.as_dict()))
        return summary

    def _judge(self, pp: _Pending, c: "_Candidate") -> tuple:
        """(reason, detail, text to store if accepted, quality report or None) of one candidate:
        cleaned, validated, scored and gated (engine.quality: the template never loses to a
        worse text)."""
        p = pp.place
        reason, detail, llm_text, lq = c.reason, c.detail, c.text, None
        if reason is None:
            cleaned = clean_output(c.text or "")
            bad = validate_output(cleaned, pp.prompt_text)
            lq = score_text(p, cleaned)
            if bad is None:
                llm_text = cleaned
                g = gate(p, lq, self.cfg.min_quality) if self.cfg.quality_gate else None
                if g is not None and not g.ok:
                    reason, detail = g.reason, g.detail
            else:
                reason = f"invalid:{bad}"
        return reason, detail, llm_text, lq

    def _compose(self, pp: _Pending, cands: dict) -> tuple:
        """A per-sentence place: (reason, detail, text, raw text, quality report, the candidate
        that stands for it) from its judged sentences (engine.compose) and the merge gate."""
        p = pp.place
        comp = compose_results(p, pp.sentences, {(j, k): (c.text, c.reason, c.detail) for (k, j), c in cands.items()},
                               gate=self.cfg.quality_gate)
        lq = score_text(p, comp.text) if comp.model_sentences else score_text(p, comp.raw)
        reason, detail, text = comp.reason, comp.detail, comp.text
        if reason is None and self.cfg.quality_gate:
            g = gate(p, lq, self.cfg.min_quality)
            if not g.ok:
                reason, detail = g.reason, f"{g.detail}; {comp.detail}"
        first = cands[min(cands)]
        return reason, detail, (text if reason is None else None), comp, lq, first

    def _finish(self, batch_id, pp: _Pending, template: str, cands: "dict[int, _Candidate]", counts, reasons):
        p, d = pp.place, pp.decision
        if pp.sentences is not None:
            return self._finish_sentences(batch_id, pp, template, cands, counts, reasons)
        judged = [(k, cands[k], *self._judge(pp, cands[k])) for k in sorted(cands)]
        # The best-scoring valid candidate, ties by k; if none is valid, the best-scoring one says
        # why (ties by k again): same candidates -> same choice, alone or in any batch.
        valid = [j for j in judged if j[2] is None]
        pool = valid or [j for j in judged if j[5] is not None] or judged[:1]
        k, c, reason, detail, llm_text, lq = max(pool, key=lambda j: ((j[5].total if j[5] is not None else -1.0), -j[0]))
        text, stream = c.text, c.stream
        ntok = sum(j[1].tokens or 0 for j in judged) if any(j[1].tokens is not None for j in judged) else None
        lats = [j[1].latency_s for j in judged if j[1].latency_s is not None]
        lat = max(lats) if lats else None
        if len(judged) > 1:
            note = f"candidate {k} of {len(judged)}"
            detail = f"{detail}; {note}" if detail else note
        source = "llm" if reason is None else "template"
        final = llm_text if source == "llm" else template
        # The prompt version recorded is the one this place was rendered with, even if the file
        # was reloaded while it was generating.
        row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, source, final, template, text, reason, detail,
                        pp.prompt_version, self.llm.model_id if self.llm else None, p.seed, d.budget,
                        round(lat * 1000, 1) if lat is not None else None, ntok, stream, base_hash(p),
                        worker=c.worker, seen_at=self._seen.get(p.urn))
        _set_quality(row, score_text(p, template), lq)
        self._store_finished(batch_id, row, counts, reasons)

    def _store_finished(self, batch_id, row: ResultRow, counts, reasons) -> None:
        rid = self._store_rows([row])[0]
        counts[row.source] += 1
        if row.reason:
            reasons[row.reason] += 1
        self._emit(ResultStored(batch_id, rid, row.urn, row.tier, row.source, row.reason, row.detail, row.latency_ms,
                                row.tokens, row.stream))

    def _finish_sentences(self, batch_id, pp: _Pending, template: str, cands: dict, counts, reasons) -> None:
        p, d = pp.place, pp.decision
        reason, detail, final, comp, lq, first = self._compose(pp, cands)
        toks = [c.tokens for c in cands.values() if c.tokens is not None]
        lats = [c.latency_s for c in cands.values() if c.latency_s is not None]
        source = "llm" if reason is None else "template"
        # The model's text as the diff shows it: the composition when the model wrote any of it
        # (the rejected sentences' own words are in the detail and in quality_json "raw").
        shown = comp.text if comp.model_sentences else (comp.raw or None)
        row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, source, final if source == "llm" else template, template,
                        shown, reason, detail, pp.prompt_version, self.llm.model_id if self.llm else None,
                        p.seed, d.budget, round(max(lats) * 1000, 1) if lats else None, sum(toks) if toks else None,
                        first.stream, base_hash(p), worker=first.worker, seen_at=self._seen.get(p.urn))
        raw_q = score_text(p, comp.raw) if comp.raw else None
        _set_quality(row, score_text(p, template), lq, raw_q, (len(comp.model_sentences), comp.n_sentences))
        self._store_finished(batch_id, row, counts, reasons)

