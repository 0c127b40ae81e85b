"""The store's plain types: a result row to write, what recovery found and did, the batch-lock
error, the spill-file pattern and the store's clock. Kept apart so :mod:`engine.store.core` and
:mod:`engine.store.recovery` both use them without importing each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import StoreError


class BatchBusyError(StoreError):
    """Another live process (or thread) is running a batch on this database."""


SPILL_GLOB = ".spill-*.jsonl"


def now() -> float:
    return round(time.time(), 3)


@dataclass
class ResultRow:
    batch_id: int
    urn: str
    state_hash: str
    tier: str
    source: str  # "llm" | "template"
    text: str
    template_text: str
    llm_text: str | None = None
    reason: str | None = None
    detail: str | None = None
    prompt_version: str | None = None
    model_id: str | None = None
    seed: int = 0
    budget: int = 0
    latency_ms: float | None = None
    tokens: int | None = None
    stream: int | None = None
    base_hash: str | None = None
    worker: str | None = None  # the cluster worker that ran it (engine.cluster); None = this process
    seen_at: float | None = None  # when the described state was first observed (see migration 6)
    # Quality (engine.quality, migration 7): the stored text's total, the template's, the raw LLM
    # text's (None without one), and quality_json(template report, llm report, chosen).
    quality: float | None = None
    template_quality: float | None = None
    llm_quality: float | None = None
    quality_json: str | None = None

    def as_row(self) -> dict:
        d = dict(self.__dict__)
        d["created_at"] = now()
        return d

    @classmethod
    def from_row(cls, d: dict) -> "ResultRow":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Recovered:
    """A queued batch that re-runs the unfinished places of an interrupted one."""

    batch_id: int  # the resume batch (status 'queued' until a runner starts it)
    from_batch: int | None  # the interrupted batch it came from
    urns: list[str] = field(default_factory=list)
    selection: str = ""


@dataclass
class RecoveryReport:
    interrupted: list[int] = field(default_factory=list)  # batches marked interrupted just now
    pending: list[Recovered] = field(default_factory=list)  # queued resume batches (new and older)
    spill_imported: int = 0  # result rows imported from spill files
    spill_skipped: int = 0  # spill rows already stored or superseded by a re-run
    spill_files: list[str] = field(default_factory=list)
