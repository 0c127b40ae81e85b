"""One workbench job on the model service: variants, cell keys, budgets, output keys, submit and collect."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..config import Config
from ..llm.events import PlaceFinished
from ..policy import TEMPLATE, decide
from ..prompts import Prompt
from ..world import Place


# --- generation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One column of a comparison: a prompt, optionally at another temperature or budget."""

    label: str
    prompt: Prompt
    temperature: float | None = None  # None: the config's temperature
    budget_override: int | None = None  # None: the place's tier budget

    def as_dict(self) -> dict:
        return {"label": self.label, "prompt_name": self.prompt.name, "prompt_version": self.prompt.version,
                "temperature": self.temperature, "budget_override": self.budget_override}


def cell_key(run_no: int, variant_index: int, urn: str) -> str:
    """The request key of one cell in engine events: ``"r1|v0|<urn>"``."""
    return f"r{run_no}|v{variant_index}|{urn}"


def parse_cell_key(key: str) -> tuple[int, int, str]:
    """``(run_no, variant_index, urn)`` from :func:`cell_key` (or a per-sentence request's key,
    ``<cell key>#s<j>``); raises ValueError otherwise."""
    r, v, urn = key.split("|", 2)
    if not (r.startswith("r") and v.startswith("v")):
        raise ValueError(f"not a workbench cell key: {key!r}")
    from ..compose import split_sentence_key

    urn = split_sentence_key(urn)[0] or urn  # a per-sentence request's key names its cell
    return int(r[1:]), int(v[1:]), urn


def budget_for(place: Place, cfg: Config, override: int | None = None) -> int:
    """The token budget a variant gives ``place`` (template-tier places get the light budget)."""
    if override is not None:
        return max(1, int(override))
    tier = decide(place, cfg).tier
    return int(cfg.budgets.get(tier if tier != TEMPLATE else "light", 80))


def output_key(urn: str, state_hash: str, base_hash: str, prompt_version: str, model_id: str | None,
               temperature: float, budget: int, seed: int) -> str:
    """The reproduction key of one output: same key -> same text (generation is seeded)."""
    blob = json.dumps([urn, state_hash, base_hash, prompt_version, model_id, float(temperature), int(budget), int(seed)],
                      ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class _Fin:
    text: str | None
    reason: str | None
    n_tokens: int = 0
    latency_s: float | None = None
    detail: str = ""


def _generate(llm: Any, reqs: list[dict], on_event: Callable[[Any], None] | None, cancel: threading.Event | None,
              timeout_s: float | None) -> dict[str, _Fin]:
    """Submit ``reqs`` as one job and collect one finish per key (never hangs past ``timeout_s``)."""
    if not reqs:
        return {}
    if llm is None or not llm.ready():
        why = llm.unavailable_reason() if llm is not None else "no model loaded"
        return {r["key"]: _Fin(None, "model_unavailable", detail=str(why or "")) for r in reqs}
    keys = {r["key"] for r in reqs}
    got: dict[str, _Fin] = {}
    lock = threading.Lock()
    done = threading.Event()

    def cb(ev: Any) -> None:
        if isinstance(ev, PlaceFinished) and ev.key in keys:
            with lock:
                got.setdefault(ev.key, _Fin(ev.text, ev.reason, ev.n_tokens or 0, ev.latency_s, ev.detail or ""))
                if len(got) >= len(keys):
                    done.set()
        if on_event is not None:
            try:
                on_event(ev)
            except Exception:  # an observer's bug never loses a comparison
                pass

    job = llm.submit(reqs, cb)
    t_end = None if timeout_s is None else time.monotonic() + timeout_s
    cancelled_at = None
    while not done.wait(0.05):
        stop = (cancel is not None and cancel.is_set()) or (t_end is not None and time.monotonic() > t_end)
        if stop and cancelled_at is None:
            job.cancel()
            cancelled_at = time.monotonic()
        if cancelled_at is not None and time.monotonic() - cancelled_at > 10.0:
            break  # the engine did not answer the cancel: give up on the rest
    with lock:
        out = dict(got)
    why = "cancelled" if cancel is not None and cancel.is_set() else "timeout"
    for k in keys - set(out):
        out[k] = _Fin(None, why, detail="no result from the model")
    return out
