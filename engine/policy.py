"""Which places get the model, at what budget: significance tiers and enhancement rules.

Tiers are exactly the seed's ``SignificanceBasedDispatcher``: max event significance >= 0.8
premium, >= 0.6 full, >= 0.3 light, else template only (no events: template only).
Rules are the seed's ``enhancementRules`` by event term: immediate -> template only; short -> off
unless FLUX_LLM_SHORT_TERM; medium/long -> on unless disabled; permanent counts as long.
The term that decides is that of the place's most significant event (the one that set the tier);
on a tie, any enabled term among the tied events enables.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .world import Place

PREMIUM, FULL, LIGHT, TEMPLATE = "premium", "full", "light", "template"


def tier_for(max_significance: float) -> str:
    if max_significance >= 0.8:
        return PREMIUM
    if max_significance >= 0.6:
        return FULL
    if max_significance >= 0.3:
        return LIGHT
    return TEMPLATE


def term_enabled(term: str, cfg: Config) -> bool:
    if term == "immediate":
        return False
    if term == "short":
        return cfg.short_term
    if term == "medium":
        return cfg.medium_term
    return cfg.long_term  # long and permanent


@dataclass(frozen=True, slots=True)
class Decision:
    tier: str
    eligible: bool
    budget: int  # max tokens (0 for template-only)
    reason: str | None  # why not eligible: "tier" or "rule:<term>"


def decide(place: Place, cfg: Config) -> Decision:
    tier = tier_for(place.max_significance)
    if tier == TEMPLATE:
        return Decision(tier, False, 0, "tier")
    top = place.max_significance
    terms = [e.term for e in place.events if e.significance == top]
    if not any(term_enabled(t, cfg) for t in terms):
        return Decision(tier, False, 0, f"rule:{terms[0]}")
    return Decision(tier, True, int(cfg.budgets[tier]), None)
