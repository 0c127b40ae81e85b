"""The one model-service interface: what the dispatcher, the workbench and the console use.

:class:`LLMService` is the base class the real engine (:class:`~engine.llm.generator.GenerationEngine`),
the scripted test seam (:class:`~engine.llm.scripted.ScriptedLLM`) and the cluster
(:class:`~engine.cluster.ClusterLLM`) all derive from. Callers ask the capability flags
(``CAN_PAUSE``, ``CAN_CANCEL``, ``CAN_DRAIN``; as harlequin's adapters do) instead of ``hasattr``; ``ready()`` is a
plain method returning a bool; ``status`` is always an :class:`~engine.llm.events.EngineStatus`.

Status observers subscribe with :meth:`LLMService.add_status_listener`: the listener gets the
current status at once and then every change, from whichever thread made it (the engine's);
it must be quick and must not raise (a raising listener is logged and skipped).

mlx-free, so anyone may import it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Callable

from .events import EngineStatus

log = logging.getLogger(__name__)

StatusListener = Callable[[EngineStatus], None]


class LLMService(ABC):
    """A model service: ``submit`` a list of requests, get typed events back (see engine.llm.events)."""

    #: ``pause()`` / ``resume()`` hold and release decoding (paused time does not count against deadlines).
    CAN_PAUSE: bool = False
    #: ``cancel(job)`` (and ``job.cancel()``) stops a submitted job; its places finish "cancelled".
    CAN_CANCEL: bool = False
    #: ``drain(job)`` (and ``job.drain()``) stops *starting* a job's requests: the ones already
    #: decoding finish as usual, the ones not started finish at once with reason "drained"
    #: (the texture service's first SIGTERM). A caller without it falls back to ``cancel``.
    CAN_DRAIN: bool = False
    #: ``choice_logprobs(prompts, choices)``: the next-token log-probabilities of a few answers
    #: after each prompt (no sampling), for the judge (engine.judge).
    CAN_SCORE: bool = False

    model_id: str | None = None

    # -- what every service implements
    @property
    @abstractmethod
    def status(self) -> EngineStatus: ...

    @abstractmethod
    def ready(self) -> bool: ...

    @abstractmethod
    def unavailable_reason(self) -> str | None: ...

    @abstractmethod
    def deadline_for(self, budget: int) -> float: ...

    @abstractmethod
    def submit(self, requests: list, on_event: Callable[[Any], None] | None = None) -> Any: ...

    # -- defaults a service overrides when it can
    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until loading ended; True if the model is ready."""
        return self.ready()

    def pause(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot pause (CAN_PAUSE is False)")

    def resume(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot resume (CAN_PAUSE is False)")

    def cancel(self, job: Any) -> None:
        if not self.CAN_CANCEL:
            raise NotImplementedError(f"{type(self).__name__} cannot cancel (CAN_CANCEL is False)")
        job.cancel()

    def drain(self, job: Any) -> None:
        if not self.CAN_DRAIN:
            raise NotImplementedError(f"{type(self).__name__} cannot drain (CAN_DRAIN is False)")
        job.drain()

    def choice_logprobs(self, prompts: list[str], choices: list[str],
                        timeout: float | None = None) -> list[dict[str, float]]:
        """For each prompt (a user message, chat-templated as a request's), the log-probability
        of each choice's first token as the model's next token: one dict per prompt. Each prompt
        is computed alone, so its figures do not depend on the others."""
        raise NotImplementedError(f"{type(self).__name__} cannot score (CAN_SCORE is False)")

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Stop serving (idempotent); the default has nothing to stop."""

    # -- status observers
    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(status)`` now and on every later status change."""
        self.__dict__.setdefault("_status_listeners", []).append(listener)
        self._call_listener(listener, self.status)

    def _notify_status(self, st: EngineStatus) -> None:
        for fn in list(self.__dict__.get("_status_listeners", ())):
            self._call_listener(fn, st)

    @staticmethod
    def _call_listener(fn: StatusListener, st: EngineStatus) -> None:
        try:
            fn(st)
        except Exception:  # an observer's bug never kills the service
            log.exception("status listener failed")
