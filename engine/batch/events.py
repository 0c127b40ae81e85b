"""What a batch tells its observer (the console, the service, ``texture batch --json``) and its
summary: the plan, each stored result, the end."""

from __future__ import annotations

from dataclasses import dataclass


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
