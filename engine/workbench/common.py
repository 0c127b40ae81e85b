"""What every part of the workbench shares: the rating and export constants, its error, small helpers."""

from __future__ import annotations


from ..store import Store, WorkbenchStore
from ..errors import TextureError


RATINGS = ("good", "bad")
EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_FIELDS = ("id", "created_at", "rating", "note", "urn", "state_hash", "seed", "text", "prompt_name",
                 "prompt_version", "prompt_text", "model_id", "temperature", "budget", "output_key", "output_id",
                 "result_id", "origin", "base_hash")
TIER_ORDER = ("premium", "full", "light", "template")


class WorkbenchError(TextureError):
    """A user error with a one-line message (unknown version, unknown pinned set, ...)."""


def _wb(store: Store) -> WorkbenchStore:
    return WorkbenchStore(store)



def _norm(text: str | None) -> str:
    return " ".join((text or "").split())

def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None
