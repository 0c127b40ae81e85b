"""The batch runner: one batch, "meeting on the other side" as the seed document describes.

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

import threading
import time
from typing import Any, Callable

from ..config import Config
from ..llm.base import LLMService
from ..prompts import Prompt, PromptError, PromptLibrary, DEFAULT_PROMPT, compile_prompt
from ..store import ResultRow, Store, StoreError
from ..templates import render_template
from ..world import Place, parse_place
from .events import BatchSummary
from .generate import dispatch, meet
from .merge import store_without_model
from .metrics import close
from .plan import plan

# How often a runner holding unsaved rows tries the database again (seconds).
UNSAVED_RETRY_S = 1.0


class BatchRunner:
    """One batch at a time on one database: :meth:`run` is the flow, each step a function of
    this package handed the runner (store, config, model service, prompts, observer, the rows not
    yet written) and the run's state (:class:`~engine.batch.plan.BatchRun`): :func:`~.plan.plan`,
    :func:`~.generate.dispatch`, :func:`~.merge.store_without_model`, :func:`~.generate.meet`
    (each place to :func:`~.merge.finish` as it is complete) and :func:`~.metrics.close`."""

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
        self.batch_id: int | None = None  # the batch running now, once its plan has written it

    def cancel(self) -> None:
        self.cancel_event.set()

    def drain(self) -> None:
        """Let the model finish the places it is decoding and start no more: the places it had not
        started are stored with their template and reason ``deferred`` (they wait for the model,
        as over the service's cap). A service without ``CAN_DRAIN`` is cancelled instead."""
        self.drain_event.set()

    def emit(self, ev: Any) -> None:
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
        with self.store.batch_lock(wait_s=self.lock_wait_s, what=f"batch: {selection}"[:80]):
            return self._run(places, selection, progress, batch_id, llm_only, seen_at)

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
            seen_in = self.store.queued_seen_at(batch_id)
            return self._run(places, b["selection"] or f"batch #{batch_id}", progress, batch_id, None, seen_in)

    def store_rows(self, rows: list[ResultRow]) -> list[int]:
        """Write rows; on a write failure keep them (and any later ones) for a retry. -1 = kept."""
        if self.unsaved and time.monotonic() >= self._next_retry:
            self.flush_unsaved()
        if not self.unsaved:
            try:
                return self.store.add_results(rows)
            except StoreError as exc:
                self.write_error = str(exc)
                self._next_retry = time.monotonic() + UNSAVED_RETRY_S
        self.unsaved.extend(rows)
        return [-1] * len(rows)

    def flush_unsaved(self) -> bool:
        try:
            self.store.add_results(self.unsaved)
        except StoreError as exc:
            self.write_error = str(exc)
            self._next_retry = time.monotonic() + UNSAVED_RETRY_S
            return False
        self.unsaved = []
        return True

    def _run(self, places: list[Place], selection: str, progress, batch_id: int | None,
             llm_only: set[str] | None, seen_in: dict[str, float | None] | None) -> BatchSummary:
        try:
            return self._run_inner(places, selection, progress, batch_id, llm_only, seen_in)
        except BaseException:
            # An unexpected failure (or a second Ctrl-C) mid-batch: leave nothing half-done.
            # Whatever is unfinished is re-queued now (we hold the lock, so this is safe).
            b = self.batch_id
            if b is not None:
                try:
                    if self.unsaved:
                        self.flush_unsaved() or self.spill(b)
                    self.store.recover_interrupted()
                except Exception:
                    pass  # the next start recovers it
            raise

    def spill(self, batch_id: int) -> str | None:
        try:
            path = self.store.write_spill(batch_id, self.unsaved)
        except OSError:
            return None
        self.unsaved = []
        return str(path)

    def prompt_for_batch(self, name: str | None = None) -> tuple[Prompt | None, str]:
        """The active prompt (``name``, else the runner's) and a notice when it is not the file's
        current content."""
        if not self.prompts:
            return None, ""
        name = name or self.prompt_name
        prompt = self.prompts.get(name)
        st = self.prompts.status_of(name)
        err = st.error if st is not None else None
        if prompt is not None:
            if err is not None:
                return prompt, f"Prompt file error ({err}): using the last good version {prompt.version}."
            return prompt, ""
        if err is None:
            return None, ""
        # Nothing good loaded in this process: the last version this database used is the last good one.
        try:
            rec = self.store.last_prompt(name)
            if rec is not None:
                good = compile_prompt(rec["text"], f"{name} (version {rec['version']} from the database)", name)
                return good, f"Prompt file error ({err}): using the last good version {good.version} recorded in the database."
        except (PromptError, Exception):
            pass
        return None, ""

    def _run_inner(self, places: list[Place], selection: str, progress, batch_id: int | None,
                   llm_only: set[str] | None, seen_in: dict[str, float | None] | None) -> BatchSummary:
        r = plan(self, places, selection, progress, batch_id, llm_only, seen_in)  # 1. plan (written with the batch)
        events = dispatch(self, r)  # 2. the model work first: the service returns at once
        # 3. every template while the model works; what needs no model is stored now
        r.templates = {p.urn: render_template(p) for p in r.places}
        store_without_model(self, r)
        meet(self, r, events)  # 4. meet on the other side: each place stored as it is final
        return close(self, r)  # 5. figures, notices, spill, the summary
