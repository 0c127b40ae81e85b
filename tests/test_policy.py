"""Tiers by significance (the seed's SignificanceBasedDispatcher) and enhancement rules by term
(the seed's enhancementRules)."""

from __future__ import annotations

import pytest

from engine.config import Config, load_config
from engine.policy import FULL, LIGHT, PREMIUM, TEMPLATE, decide, term_enabled, tier_for
from engine.world import Event, make_place


def place(*events: tuple[float, str]):
    return make_place("urn:flux:place:a:b", "N", "Base.", 10, "rain", 5, [],
                      [Event("fire", s, t, "A fire.") for s, t in events])


@pytest.mark.parametrize("sig, tier", [
    (0.0, TEMPLATE), (0.29, TEMPLATE), (0.2999999999, TEMPLATE),
    (0.3, LIGHT), (0.3000001, LIGHT), (0.59, LIGHT), (0.5999999999, LIGHT),
    (0.6, FULL), (0.79, FULL), (0.7999999999, FULL),
    (0.8, PREMIUM), (0.95, PREMIUM), (1.0, PREMIUM),
])
def test_tier_boundaries(sig, tier):
    assert tier_for(sig) == tier
    assert decide(place((sig, "medium")), Config()).tier == tier


def test_no_events_is_template_only():
    d = decide(place(), Config())
    assert (d.tier, d.eligible, d.budget, d.reason) == (TEMPLATE, False, 0, "tier")


def test_template_tier_is_never_eligible_whatever_the_rules():
    cfg = Config(short_term=True, medium_term=True, long_term=True)
    for term in ("immediate", "short", "medium", "long", "permanent"):
        d = decide(place((0.29, term)), cfg)
        assert not d.eligible and d.reason == "tier" and d.budget == 0


ALL_ON = Config(short_term=True, medium_term=True, long_term=True)
ALL_OFF = Config(short_term=False, medium_term=False, long_term=False)


@pytest.mark.parametrize("cfg", [Config(), ALL_ON, ALL_OFF], ids=["defaults", "all-on", "all-off"])
def test_immediate_never(cfg):
    assert not term_enabled("immediate", cfg)
    d = decide(place((0.9, "immediate")), cfg)
    assert (d.tier, d.eligible, d.reason, d.budget) == (PREMIUM, False, "rule:immediate", 0)


def test_short_only_with_the_flag():
    assert not decide(place((0.5, "short")), Config()).eligible
    assert decide(place((0.5, "short")), Config()).reason == "rule:short"
    d = decide(place((0.5, "short")), Config(short_term=True))
    assert d.eligible and d.reason is None and d.budget == Config().budgets["light"]
    assert decide(place((0.5, "short")), load_config(env={"FLUX_LLM_SHORT_TERM": "true"})).eligible


@pytest.mark.parametrize("term, var", [("medium", "FLUX_LLM_MEDIUM_TERM"), ("long", "FLUX_LLM_LONG_TERM"), ("permanent", "FLUX_LLM_LONG_TERM")])
def test_medium_and_long_default_on_and_can_be_disabled(term, var):
    assert decide(place((0.7, term)), Config()).eligible
    assert decide(place((0.7, term)), load_config(env={})).eligible
    d = decide(place((0.7, term)), load_config(env={var: "false"}))
    assert not d.eligible and d.reason == f"rule:{term}"


def test_permanent_follows_long_not_medium():
    assert decide(place((0.9, "permanent")), Config(medium_term=False)).eligible
    assert not decide(place((0.9, "permanent")), Config(long_term=False)).eligible
    assert decide(place((0.9, "permanent")), Config(long_term=True, medium_term=False)).eligible


def test_budget_is_the_tiers_budget():
    cfg = Config(budgets={"light": 11, "full": 22, "premium": 33})
    assert decide(place((0.3, "medium")), cfg).budget == 11
    assert decide(place((0.6, "medium")), cfg).budget == 22
    assert decide(place((0.8, "medium")), cfg).budget == 33
    assert decide(place((0.8, "medium")), Config()).budget == 150  # the seed's maxTokens


def test_the_most_significant_event_decides():
    # Tier from the max; term from the event that set it.
    d = decide(place((0.9, "immediate"), (0.5, "medium")), Config())
    assert d.tier == PREMIUM and not d.eligible and d.reason == "rule:immediate"
    d = decide(place((0.4, "immediate"), (0.7, "long")), Config())
    assert d.tier == FULL and d.eligible


def test_on_a_tie_any_enabled_term_enables():
    assert decide(place((0.7, "immediate"), (0.7, "medium")), Config()).eligible
    d = decide(place((0.7, "immediate"), (0.7, "short")), Config())
    assert not d.eligible and d.reason.startswith("rule:")
