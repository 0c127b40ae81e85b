"""The requests and jobs of the model services: :class:`GenRequest` (one place to generate),
:class:`JobBase` (what the engine's and the cluster's jobs share), :class:`Job` (the engine's),
and the engine thread's per-request state (``_Active``) with its sentence stop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .events import BatchFinished, PlaceFinished

log = logging.getLogger("engine.llm.generator")  # the logger these messages always had

__all__ = ["GenRequest", "Job", "JobBase"]


@dataclass(frozen=True)
class GenRequest:
    key: str  # the place urn
    prompt: str  # rendered user prompt; the engine applies the chat template
    seed: int
    max_tokens: int
    temperature: float = 0.7
    deadline_s: float | None = None  # from the moment this request starts decoding
    # End once this many sentences are complete (0 = at EOS or the budget only), and
    # a repetition penalty over this request's own generated tokens (1.0 = off). Both per request.
    stop_sentences: int = 0
    repetition_penalty: float = 1.0
    # Words this request should keep (the facts of its sentence, engine.compose) and the logit
    # bias toward their first tokens until generated (0 = off; engine.llm.sampling).
    keep: tuple[str, ...] = ()
    keep_bias: float = 0.0
    # How many leading characters of ``prompt`` every request of its prompt file shares (the
    # file's static head, engine.prompts.Prompt.head): prefilled once, its cache reused. 0: the
    # first line is taken as the shared head.
    head: int = 0

    @classmethod
    def coerce(cls, obj: "GenRequest | Mapping[str, Any]") -> "GenRequest":
        if isinstance(obj, GenRequest):
            return obj
        return cls(
            key=str(obj["key"]),
            prompt=str(obj["prompt"]),
            seed=int(obj["seed"]),
            max_tokens=int(obj["max_tokens"]),
            temperature=float(obj.get("temperature", 0.7) if obj.get("temperature") is not None else 0.7),
            deadline_s=None if obj.get("deadline_s") is None else float(obj["deadline_s"]),
            stop_sentences=int(obj.get("stop_sentences") or 0),
            repetition_penalty=float(obj.get("repetition_penalty") or 1.0),
            keep=tuple(str(w) for w in (obj.get("keep") or ())),
            keep_bias=float(obj.get("keep_bias") or 0.0),
            head=int(obj.get("head") or 0),
        )


class JobBase:
    """What every service's job has (the engine's :class:`Job`, the cluster's ``ClusterJob``):
    its requests, events (``events`` queue and the ``on_event`` callback), results, metrics,
    cancel and wait. Thread-safe to read ``results`` after :meth:`wait`."""

    def __init__(self, job_id: int, requests: list, on_event: Callable[[Any], None] | None) -> None:
        self.id = job_id
        self.requests = requests
        self.on_event = on_event
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, PlaceFinished] = {}
        self.metrics: dict = {}
        self._cancelled = threading.Event()
        self._drained = threading.Event()
        self._finished = threading.Event()
        self._callback_errors = 0

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def drained(self) -> bool:
        return self._drained.is_set()

    def drain(self) -> None:
        """Start none of this job's requests from now on: the running ones finish as usual, the
        queued ones finish "drained". A later :meth:`cancel` still stops the rest."""
        self._drained.set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def cancel(self) -> None:
        """Stop this job: running requests stop soon, unfinished ones finish "cancelled"."""
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def iter_events(self, timeout: float | None = None) -> Iterable[Any]:
        """Yield events until (and including) ``BatchFinished``."""
        while True:
            ev = self.events.get(timeout=timeout)
            yield ev
            if isinstance(ev, BatchFinished):
                return

    def _deliver(self, ev: Any) -> None:
        """Queue ``ev`` and hand it to ``on_event``; an observer's exception never reaches the
        service (the first one per job is logged)."""
        self.events.put(ev)
        cb = self.on_event
        if cb is None:
            return
        try:
            cb(ev)
        except Exception:
            self._callback_errors += 1
            if self._callback_errors == 1:
                log.exception("on_event callback raised (job %s); further errors not logged", self.id)


class Job(JobBase):
    """A job on the :class:`~engine.llm.generator.GenerationEngine`: also the token ids of each
    result and the engine thread's bookkeeping."""

    def __init__(self, job_id: int, requests: list[GenRequest], on_event: Callable[[Any], None] | None,
                 engine: Any = None) -> None:
        super().__init__(job_id, requests, on_event)
        self.token_ids: dict[str, list[int]] = {}
        self._engine = engine
        # engine-thread bookkeeping
        self._remaining = len(requests)
        self._t_submit = time.perf_counter()
        self._t_first_start: float | None = None
        self._prefix_tokens = 0  # prompt tokens taken from the shared-head KV cache

    def cancel(self) -> None:
        """Stop this job: running requests stop within a step, unfinished ones finish "cancelled"."""
        super().cancel()
        if self._engine is not None:
            self._engine._wake()

    def drain(self) -> None:
        """As :meth:`JobBase.drain`; the queued requests finish "drained" within a step."""
        super().drain()
        if self._engine is not None:
            self._engine._wake()


@dataclass
class _Active:
    job: Job
    req: GenRequest
    lane: int
    t0: float  # start of decoding (insert into the batch); shifted forward by paused time
    uid: int = -1
    n: int = 0
    ids: list = field(default_factory=list)
    detok: Any = None
    ttft: float | None = None
    emitted: int = 0  # characters of text already sent in Tokens events
    pending_delta: str = ""
    last_flush: float = 0.0
    solo: bool = False  # re-running alone after a batched failure
    checked: int = 0  # characters of text the sentence stop has looked at


def _done_sentences(st: "_Active") -> bool:
    """Whether the request has completed ``stop_sentences`` sentences (see
    ``engine.validate.complete_sentences``). Looked at only when new text brought whitespace: a
    sentence counts as complete once something follows its end."""
    from ..validate import complete_sentences

    text = st.detok.text
    new = text[st.checked:]
    st.checked = len(text)
    if not any(c.isspace() for c in new):
        return False
    done = complete_sentences(text)
    # A description is one paragraph: a line break after a complete sentence ends it too (what
    # follows is a small model's next "Rewrite:"/"Note:" block, never the description).
    return done >= st.req.stop_sentences or (done >= 1 and "\n" in new and "\n" in text.lstrip())
