"""A preview: one prompt on a few places, next to their production texts."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config import Config
from ..factcheck import FactReport, check_facts
from ..prompts import DEFAULT_PROMPT, Prompt, PromptError, compile_prompt, read_prompt_file
from ..store import Store
from ..world import Place
from .common import WorkbenchError
from .comparison import compare
from .generate import Variant


# --- preview ----------------------------------------------------------------------------------

@dataclass
class PreviewRow:
    """One place of a preview: the prompt as on disk next to production."""

    urn: str
    name: str
    tier: str
    eligible: bool  # production sends this place to the model
    production_text: str | None  # the current stored description (None: never run)
    production_source: str | None  # llm | template
    production_stale: bool  # the production text was made for an older state of the place
    text: str | None  # the new output (cleaned)
    raw_text: str | None
    template: str
    reason: str | None
    facts: FactReport | None
    production_facts: FactReport | None
    latency_ms: float | None
    tokens: int
    prompt_version: str
    budget: int
    temperature: float
    seed: int
    output_id: int | None

    def as_dict(self, facts: bool = False) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("facts", "production_facts")}
        d["fact_coverage"] = None if self.facts is None else round(self.facts.coverage, 4)
        d["production_fact_coverage"] = None if self.production_facts is None else round(self.production_facts.coverage, 4)
        if facts:
            d["facts"] = self.facts.as_dict() if self.facts else None
            d["production_facts"] = self.production_facts.as_dict() if self.production_facts else None
        return d


def _as_prompt(prompt: Prompt | str | Path, name: str = DEFAULT_PROMPT) -> Prompt:
    if isinstance(prompt, Prompt):
        return prompt
    try:
        if isinstance(prompt, Path):
            return read_prompt_file(prompt)
        return compile_prompt(str(prompt), f"<{name}>", name)
    except PromptError as exc:
        raise WorkbenchError(str(exc)) from None


def preview(places: list[Place], prompt: Prompt | str | Path, llm: Any, cfg: Config, store: Store, *,
            temperature: float | None = None, budget_override: int | None = None,
            deadline_s: float | str | None = None, on_event: Callable[[Any], None] | None = None,
            cancel: threading.Event | None = None, timeout_s: float | None = None,
            record: bool = True) -> list[PreviewRow]:
    """Run ``prompt`` (a Prompt, its text, or a prompt file Path) on ``places`` and return each
    next to its production text. Production results are never written; the outputs are stored as
    a workbench run of kind "preview" (so they can be rated) unless ``record=False``."""
    p = _as_prompt(prompt)
    res = compare(places, [Variant("preview", p, temperature, budget_override)], llm, cfg, store, 1, kind="preview",
                  deadline_s=deadline_s, on_event=on_event, cancel=cancel, timeout_s=timeout_s, record=record)
    by = {pl.urn: pl for pl in places}
    rows = []
    for urn in res.urns:
        c = res.cell("preview", urn)
        prod = res.production.get(urn)
        pl = by[urn]
        rows.append(PreviewRow(urn, pl.name, c.tier, c.eligible, prod[0] if prod else None, prod[1] if prod else None,
                               bool(prod) and prod[2] != pl.state_hash, c.text, c.raw_text, res.templates[urn], c.reason, c.facts,
                               check_facts(pl, prod[0]) if prod else None, c.latency_ms, c.tokens, c.prompt_version,
                               c.budget, c.temperature, c.seed, c.output_id))
    return rows
