"""Real forecasters' formats through the weather sentence: UK shipping and inshore forecasts
("WIND. SEA STATE. WEATHER. VISIBILITY."), Alpine forecasts with heights and distances, named
winds and places in the forecast; and resources that are animals or birds, never goods."""

from __future__ import annotations

import re

import pytest

from engine.phrasing.forecast import normalise, proper_nouns, weather_frames
from engine.phrasing.goods import ANIMALS, WILD, sentences, understand


def _said(conditions: str, tb: int = 2, wb: int = 2) -> list[str]:
    return [pre + "Harrow Point" + post for pre, post in weather_frames(conditions, tb, wb)]


@pytest.mark.parametrize("conditions, must, never", [
    ("SW 4 or 5, occasionally 6. Showers. Good.", r"southwesterly wind", r"\bsw\b|\d"),
    ("S or SW 3 or 4, occasionally 5. Mainly fair. Good.", r"a southerly or southwesterly wind", r"\bsw?\b|wind or"),
    ("NE 4 or 5, veering E 5 to 7", r"northeasterly.*veering easterly", r"\bne\b|\bveering east\b"),
    ("W 5 to 7, backing SW later", r"westerly.*backing southwesterly later", r"\bw\b"),
    ("NW gale 8 to storm 10. High or very high.", r"a high or very high sea", r"brings high or|\d"),
    ("N 7 to severe gale 9. Rough or very rough, occasionally high.", r"a rough or very rough sea",
     r"it is rough|with occasionally high"),
    ("SE 5 or 6. Rain then fog patches. Moderate or very poor.", r"moderate or very poor visibility", r"\bse\b"),
    ("S 4, increasing 6 later. Rain later. Moderate.", r"(?=.*southerly wind)(?=.*moderate visibility)", r"\bs\b|brings moderate,"),
    ("Light and variable", r"light and variable winds", r"variable as|brings light and variable (?!winds)"),
])
def test_a_shipping_forecast_is_read_slot_by_slot(conditions, must, never):
    for s in _said(conditions):
        assert re.search(must, s.lower()), s
        assert not re.search(never, s.lower()), s


@pytest.mark.parametrize("conditions, must", [
    ("Südstau, snow, visibility below 100 m", r"very poor visibility"),
    ("Hill fog, vis 800 m, improving slowly", r"very poor visibility"),
    ("overcast, snowfall limit around 1100 m", r"snow down to the middle slopes"),
    ("rain and snow mixed, snow above 1100 m", r"snow on higher ground"),
    ("sunny, zero-degree line 1800 m", r"a freezing level high on the mountains"),
    ("high fog, top 1100 m, partly breaking up in the afternoon", r"high fog"),
    ("Föhn, gusty in the Rhine Valley, gusts up to 80 km/h", r"strong gusts"),
])
def test_a_measurement_is_said_without_its_number_and_never_bare(conditions, must):
    for s in _said(conditions):
        assert re.search(must, s), s
        assert not re.search(r"\d|(?:with|brings|,) (?:visibility|snowfall limit|zero-degree line|top|freezing level)"
                             r"(?= and|,|\.)", s), s
        assert not re.search(r"\bit is top\b", s), s


@pytest.mark.parametrize("conditions, names", [
    ("cold and clear, freezing fog patches on the Inn flats", ["Inn"]),
    ("Föhn, gusty in the Rhine Valley, gusts up to 80 km/h", ["Föhn", "Rhine Valley"]),
    ("Südstau, snow, visibility below 100 m", ["Südstau snow"]),
    ("Sahara dust, milky sun", ["Sahara dust"]),
])
def test_the_forecasts_own_names_keep_their_capitals(conditions, names):
    for s in _said(conditions):
        for n in names:
            assert n in s, s


def test_a_title_cased_forecast_has_no_names():
    assert proper_nouns("HEAVY   Snow") == {} and proper_nouns("Rain Later") == {}
    assert all("Snow" not in pre + post for pre, post in weather_frames("HEAVY   Snow", 2, 2))


def test_a_named_wind_is_a_wind_and_an_inversion_a_thing():
    assert any("a Föhn wind" in s for s in _said("Föhn, gusty in the Rhine Valley, gusts up to 80 km/h"))
    assert all("an inversion" in s for s in _said("cold, clear; inversion, milder on the slopes"))
    assert normalise("Showers dying out, becoming dry") == "showers dying out, becoming dry"
    assert all("showers dying out" in s for s in _said("Showers dying out, becoming dry"))


def test_a_bare_compass_point_is_a_wind_and_nothing_else_is():
    assert normalise("SW") == "southwesterly wind" and normalise("ne, becoming n") == "northeasterly wind, becoming northerly"
    assert normalise("snow over Sweden, e.g. in the north") .startswith("snow over sweden, e.g")
    assert normalise("it's raining") == "it's raining"


@pytest.mark.parametrize("name, cat", [("racehorses", ANIMALS), ("rare migrants", WILD), ("fulmars", WILD),
                                       ("bonxies", WILD), ("rooks", WILD)])
def test_animals_and_birds_are_not_goods(name, cat):
    assert understand(name)[0] == cat


def test_animals_are_never_running_low_and_never_listed_with_things():
    for s in sentences([], ["lake ice", "racehorses"]) + sentences([], ["gannets", "bonxies"]):
        assert "running low" not in s and "in short supply" not in s, s
        assert "lake ice and racehorses" not in s, s


def test_people_and_animals_together_are_few_not_running_low():
    assert understand("helicopter pilots")[0] == "people"
    for s in sentences([], ["otters", "oil workers"]):
        assert "running low" not in s and "short supply" not in s, s


def test_light_and_variable_winds_name_the_wind():
    from engine.phrasing.forecast import said_bands
    assert said_bands("Light and variable")[1] == 1
    for s in _said("Light and variable", 2, 2):
        assert "blowing briskly" not in s and "light and variable winds" in s, s


@pytest.mark.parametrize("conditions, must, never", [
    ("rain, heavy at times in the W", r"in the west", r"\bw\b|westerly"),
    ("SW 4. Showers in the NE. Good.", r"showers in the northeast, good visibility", r"\bne\b"),
    ("NE 5 to 7, occasionally gale 8 in north", r"a gale in the north", r"gale north"),
    ("fog near St. Moritz, clearing later", r"near St Moritz", r"\bst,|moritz"),
])
def test_a_compass_point_as_a_region_and_a_saints_name(conditions, must, never):
    for s in _said(conditions):
        assert re.search(must, s), s
        assert not re.search(never, s), s
