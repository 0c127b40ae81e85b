"""The small typed events a generation job reports (mlx-free, so anyone may import them).

A job reports, per request (``key`` = the place urn): :class:`PlaceStarted` on a stream (lane),
zero or more :class:`Tokens`, then exactly one :class:`PlaceFinished` (text, or a fallback
reason: timeout, error, cancelled, model_unavailable, drained); then one :class:`BatchFinished`.
A request that never started carries no PlaceStarted (``stream`` -1 in its PlaceFinished):
"drained" means the job was drained before the request's turn (see ``LLMService.CAN_DRAIN``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The detail of a "drained" PlaceFinished (every service words it the same).
DRAINED_DETAIL = "not started: the job was drained (its requests already decoding finished)"


@dataclass(frozen=True, slots=True)
class PlaceStarted:
    key: str
    stream: int
    deadline_s: float | None = None
    worker: str | None = None  # the cluster worker running it (engine.cluster); None = this process


@dataclass(frozen=True, slots=True)
class Tokens:
    key: str
    stream: int
    text_delta: str
    n_tokens: int  # tokens generated so far for this request


@dataclass(frozen=True, slots=True)
class PlaceFinished:
    key: str
    stream: int
    text: str | None
    reason: str | None
    n_tokens: int = 0
    latency_s: float | None = None
    ttft_s: float | None = None
    detail: str = ""
    worker: str | None = None  # the cluster worker that ran it (engine.cluster); None = this process


@dataclass(frozen=True, slots=True)
class BatchFinished:
    job_id: int
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EngineStatus:
    state: str  # loading | ready | failed | disabled
    detail: str = ""
    progress: float | None = None
