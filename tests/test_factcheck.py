"""Fact checks (engine/factcheck.py): kept / dropped / contradicted for every kind of fact,
coverage, spans, and the properties (deterministic, never raises)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.builtin_world import builtin_world
from engine.factcheck import FactReport, check_facts, stem
from engine.templates import render_template
from engine.world import Event, Resource, make_place


def place(temperature=-20.0, conditions="light rain", wind=8.0, resources=None, events=None):
    if resources is None:
        resources = [Resource("timber", 0.9), Resource("fresh water", 0.1), Resource("clay", 0.5)]
    if events is None:
        events = [Event("flood", 0.7, "long", "The river burst its banks and flooded the lower streets.")]
    return make_place("urn:flux:place:north:x", "Xford", "A stone village by a river.", temperature, conditions, wind,
                      resources, events)


def status(report: FactReport, kind: str) -> str:
    items = report.by_kind(kind)
    assert len(items) == 1, items
    return items[0].status


# --- conditions -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["A cold drizzle falls.", "Rain drums on the roofs.", "Showers sweep the square.",
                                  "The light rain keeps everyone in."])
def test_conditions_kept_by_synonym(text):
    assert status(check_facts(place(conditions="light rain"), text), "conditions") == "kept"


def test_conditions_dropped_and_contradicted():
    p = place(conditions="light rain")
    assert status(check_facts(p, "The village is quiet tonight."), "conditions") == "dropped"
    r = check_facts(p, "The sky is cloudless and sunny over the village.")
    assert status(r, "conditions") == "contradicted"
    assert "cloudless" in r.by_kind("conditions")[0].evidence


def test_weak_weather_words_never_contradict():
    # "bright lanterns" is not a weather report: weak words keep, never contradict.
    r = check_facts(place(conditions="heavy rain"), "Bright lanterns hang in the windows.")
    assert status(r, "conditions") == "dropped"


@pytest.mark.parametrize("cond,text", [("blizzard", "Snow flurries cover the road."), ("freezing fog", "Mist hides the gate."),
                                       ("clear", "The day is sunny."), ("thunderstorms", "Thunder rolls overhead."),
                                       ("partly cloudy", "Clouds drift past."), ("humid", "The air is muggy.")])
def test_condition_families(cond, text):
    assert status(check_facts(place(conditions=cond), text), "conditions") == "kept"


def test_clear_contradicted_by_rain():
    assert status(check_facts(place(conditions="clear"), "Rain lashes the walls."), "conditions") == "contradicted"


def test_unknown_conditions_use_their_own_words():
    p = place(conditions="soot-laden gloaming")
    assert status(check_facts(p, "A soot-laden gloaming settles."), "conditions") == "kept"
    assert status(check_facts(p, "Nothing happens."), "conditions") == "dropped"


# --- temperature --------------------------------------------------------------------------------

def test_temperature_bands():
    p = place(temperature=-20.0)  # band 1 ("freezing": -20 <= t < 0)
    assert status(check_facts(p, "The frozen lanes creak."), "temperature") == "kept"
    assert status(check_facts(p, "It is bitterly cold."), "temperature") == "kept"  # one band away
    r = check_facts(p, "The scorching heat bakes the walls.")
    assert status(r, "temperature") == "contradicted"
    assert r.by_kind("temperature")[0].fact == "-20°C (freezing)"
    assert status(check_facts(p, "The village waits."), "temperature") == "dropped"


def test_temperature_numbers():
    p = place(temperature=-5.0)
    assert status(check_facts(p, "At -5°C nobody lingers."), "temperature") == "kept"
    assert status(check_facts(p, "It is minus 4 degrees."), "temperature") == "kept"
    assert status(check_facts(p, "A pleasant 23 °F morning."), "temperature") == "kept"  # -5 °C
    assert status(check_facts(p, "It is 30°C in the shade."), "temperature") == "contradicted"


def test_resource_names_are_not_temperatures():
    p = place(temperature=12.0, resources=[Resource("hot springs", 0.9)])
    r = check_facts(p, "Hot springs steam everywhere, there is plenty of them.")
    assert status(r, "temperature") == "dropped"
    assert status(r, "abundant") == "kept"


# --- wind -----------------------------------------------------------------------------------------

def test_wind():
    p = place(wind=8.0)  # light breeze band
    assert status(check_facts(p, "A gentle breeze stirs."), "wind") == "kept"
    assert status(check_facts(p, "The wind plays with the flags."), "wind") == "kept"  # bare wind: moving air
    assert status(check_facts(p, "A howling gale tears at roofs."), "wind") == "contradicted"
    assert status(check_facts(p, "Winds at 10 mph."), "wind") == "kept"
    assert status(check_facts(p, "Winds at 60 mph."), "wind") == "contradicted"
    assert status(check_facts(p, "Nothing moves."), "wind") == "dropped"
    calm = place(wind=1.0)
    assert status(check_facts(calm, "The air is still."), "wind") == "kept"
    assert status(check_facts(calm, "Strong winds batter the houses."), "wind") == "contradicted"


# --- resources --------------------------------------------------------------------------------

_CALM = [Event("fair", 0.5, "short", "The spring fair fills the green.")]


def test_abundant_resource():
    p = place(events=_CALM)
    assert status(check_facts(p, "There is plenty of timber."), "abundant") == "kept"
    assert status(check_facts(p, "Logs are stacked high."), "abundant") == "kept"  # synonym + plural
    assert status(check_facts(p, "There is no shortage of timber."), "abundant") == "kept"  # negated scarcity
    assert status(check_facts(p, "Timber is scarce this winter."), "abundant") == "contradicted"
    assert status(check_facts(p, "The village waits."), "abundant") == "dropped"


def test_plenty_left_out_after_grave_news_is_not_a_dropped_fact():
    grave = place(events=[Event("flood", 0.9, "immediate", "The river burst its banks and drowned two carters.")])
    r = check_facts(grave, "The river burst its banks and drowned two carters; fresh water is scarce.")
    assert not r.by_kind("abundant") and "abundant: timber" in r.unchecked
    # said and wrong still counts against the text; a standing state is not grave news
    assert status(check_facts(grave, "Timber is scarce."), "abundant") == "contradicted"
    calm = place(events=[Event("flood", 0.9, "long", "The lower streets are still flooded.")])
    assert status(check_facts(calm, "The lower streets are still flooded."), "abundant") == "dropped"


def test_scarce_resource():
    p = place()
    assert status(check_facts(p, "Fresh water runs low."), "scarce") == "kept"
    assert status(check_facts(p, "The wells are nearly dry."), "scarce") == "kept"
    r = check_facts(p, "Timber is scarce and water is plentiful.")
    assert status(r, "scarce") == "contradicted"
    assert status(r, "abundant") == "contradicted"


def test_clauses_separate_cues():
    r = check_facts(place(), "There is plenty of timber, but fresh water runs low.")
    assert status(r, "abundant") == "kept"
    assert status(r, "scarce") == "kept"


def test_middling_resources_are_not_facts():
    assert [i.fact for i in check_facts(place(events=_CALM), "x").items if i.kind in ("abundant", "scarce")] == ["timber", "fresh water"]


# --- events -------------------------------------------------------------------------------------

def test_events():
    p = place()
    assert status(check_facts(p, "Floodwater still fills the lanes."), "event") == "kept"
    assert status(check_facts(p, "The river burst its banks last week."), "event") == "kept"  # summary words
    assert status(check_facts(p, "There was no flood this year."), "event") == "contradicted"
    assert status(check_facts(p, "All is well."), "event") == "dropped"


def test_event_type_words_and_synonyms():
    p = place(events=[Event("market_day", 0.5, "short", "Traders set up stalls for market day.")])
    assert status(check_facts(p, "Stalls crowd the square."), "event") == "kept"
    p = place(events=[Event("plague", 0.5, "long", "A coughing sickness has spread through the households.")])
    assert status(check_facts(p, "Fever keeps people indoors."), "event") == "kept"


# --- the report -----------------------------------------------------------------------------------

def test_coverage_and_spans():
    text = "A cold drizzle falls on the frozen village as a gentle breeze stirs. There is plenty of timber."
    r = check_facts(place(), text)
    assert [i.kind for i in r.items] == ["conditions", "temperature", "wind", "abundant", "scarce", "event"]
    assert r.count("kept") == 4 and r.count("dropped") == 2
    assert r.coverage == pytest.approx(4 / 6)
    for start, end, st_, _fact in r.marks():
        assert 0 <= start < end <= len(text)
        assert st_ == "kept"
    assert text[r.by_kind("abundant")[0].span[0]:r.by_kind("abundant")[0].span[1]] == "timber"
    assert FactReport.from_dict(r.as_dict()) == r


def test_coverage_of_nothing_to_check_is_one():
    assert FactReport(()).coverage == 1.0


def test_stem_plurals():
    assert [stem(w) for w in ["berries", "boxes", "gusts", "grass", "Logs", "mushrooms"]] == \
        ["berry", "box", "gust", "grass", "log", "mushroom"]


def test_templates_never_contradict_their_own_place():
    # The deterministic template states every fact it mentions correctly: the heuristic must agree.
    covs = []
    for p in builtin_world(300):
        r = check_facts(p, render_template(p))
        assert r.count("contradicted") == 0, (p.urn, r.contradicted, render_template(p))
        for it in r.items:
            if it.kind in ("conditions", "temperature", "wind"):
                assert it.status == "kept", (p.urn, it, render_template(p))
        covs.append(r.coverage)
    assert sum(covs) / len(covs) > 0.85


# --- properties -----------------------------------------------------------------------------------

_text = st.text(max_size=300)
_res = st.builds(Resource, st.text(min_size=1, max_size=30), st.floats(0, 1))
_ev = st.builds(Event, st.text(min_size=1, max_size=30), st.floats(0, 1), st.sampled_from(["short", "long"]),
                st.text(min_size=1, max_size=80))


@st.composite
def places(draw):
    return make_place("urn:flux:place:r:x", draw(st.text(min_size=1, max_size=20)), draw(st.text(min_size=1, max_size=60)),
                      draw(st.floats(-90, 60)), draw(st.text(min_size=1, max_size=40)), draw(st.floats(0, 250)),
                      draw(st.lists(_res, max_size=4)), draw(st.lists(_ev, max_size=3)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(places(), _text)
def test_never_raises_and_is_deterministic(p, text):
    a = check_facts(p, text)
    b = check_facts(p, text)
    assert a == b
    assert 0.0 <= a.coverage <= 1.0
    for it in a.items:
        assert it.status in ("kept", "dropped", "contradicted")
        if it.span:
            assert 0 <= it.span[0] <= it.span[1] <= len(text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(builtin_world(60)), st.lists(st.sampled_from(
    list("abc -.,;°CF0123456789") + ["rain ", "sunny ", "no ", "timber ", "scarce ", "plenty ", "\ud800", "\x1b[", "mph ",
                                     "degrees ", "minus ", "gale ", "not "]), max_size=60).map("".join))
def test_hostile_text_on_real_places(p, text):
    r = check_facts(p, text)
    assert r == check_facts(p, text)
