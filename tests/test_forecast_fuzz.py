"""Forecasts as real services word them (tools/forecast_fuzz.py: Met Office shipping, inshore and
mountain forecasts, NWS, BOM, Met Éireann, Environment Canada vocabulary) through the real
templates: a deterministic sample must read without a label, a number, a word said twice, an
article error, a temperature or wind word doubling or contradicting the forecast's own, a part
of the forecast left out, or a weather fact the fact checker cannot find."""

from __future__ import annotations

import re

import pytest

from engine.phrasing.forecast import normalise, problems, read
from engine.templates import render_template
from engine.world import make_place
from tools import forecast_fuzz as F

SAMPLE = F.forecasts(600, seed=7)[::12]  # 50 forecasts, every band of temperature and wind


def test_the_fuzz_has_enough_real_forecast_strings():
    all_ = F.forecasts(600, seed=7)
    assert len(all_) == len(set(all_)) == 600
    assert F.forecasts(600, seed=7) == all_  # deterministic
    assert sum(bool(re.search(r"\d", f)) for f in all_) > 100  # numbers and Beaufort forces are in it


@pytest.mark.parametrize("forecast", SAMPLE)
def test_sampled_forecasts_read_right_in_every_band(forecast):
    marked = []
    for t in F.TEMPS:
        for w in F.WINDS:
            ws, marks = F.check(forecast, t, w)
            if not re.search(r"[a-z]", normalise(forecast)):
                marks = [m for m in marks if not m.startswith("conditions-")]  # a reading only
            if marks:
                marked.append((ws, marks))
    assert len(marked) <= 2, marked[:3]  # a forecast whose own words clash with the reading may read stiffly


@pytest.mark.parametrize("conditions, never, must", [
    ("gale, with torrential rain", r"with gale\b|gale, and", r"\ba gale\b"),
    ("extreme cold, calm", r"bitterly cold|no wind", r"extreme cold"),
    ("starlit and still, minus thirty", r"breeze|minus|thirty", r"still"),
    ("hot and humid near the springs", r"\bhot\b.*\bhot\b|with hot", r"hot and humid near the springs"),
    ("blowing dust - vis poor", r" - |\bvis\b|a blowing", r"poor visibility"),
    ("fog/mist, v. poor vis", r"/|\bv\b|\bvis\b", r"fog or mist, very poor visibility"),
    ("southwest 5 to 7, occasionally gale 8", r"\d|gale \d|and high winds", r"southwesterly"),
    ("drizzle, heavier to follow", r"a heavier", r"heavier"),
    ("bright but bitter", r"bitterly", r"bright but bitter"),
    ("wind chill severe", r"chill severe", r"severe wind chill"),
    ("fog banks drifting ashore", r"\ba fog banks", r"fog banks drifting ashore"),
    ("cold night, frost in hollows", r"\bcool\b|with a cold night", r"frost in hollows"),
])
def test_what_readers_marked_reads_right_now(conditions, never, must):
    for t, w in ((30.0, 60.0), (-35.0, 1.0), (12.0, 8.0), (20.0, 30.0), (-25.0, 30.0)):
        for s in range(6):
            p = make_place(f"urn:flux:place:v:m{s}", "Harrow Point", "A point. Gulls wheel.", t, conditions, w, [], [])
            ws = render_template(p).split(". ", 1)[1]
            assert not re.search(never, ws.lower()), ws
            assert re.search(must, ws.lower()), ws


def test_a_forecast_naming_its_temperature_or_wind_gets_no_second_word_for_it():
    for conditions, t, w, never in (("mild", 14.0, 8.0, r"\b(cool|fresh|crisp)\b"), ("calm", 14.0, 1.0, r"breath|still air|no wind"),
                                    ("gale 8", 6.0, 60.0, r"howling|storm-force|tearing"),
                                    ("extreme cold", -35.0, 10.0, r"bitterly|deathly|brutally")):
        for s in range(12):
            p = make_place(f"urn:flux:place:v:n{s}", "Harrow Point", "A point. Gulls wheel.", t, conditions, w, [], [])
            ws = render_template(p).split(". ", 1)[1]
            assert not re.search(never, ws.lower()), ws
            assert not problems(ws, conditions, *_bands(t, w), "Harrow Point"), ws


def _bands(t, w):
    from bisect import bisect_right

    from engine.phrasing.weather import TEMP_BOUNDS, WIND_BOUNDS
    return min(bisect_right(TEMP_BOUNDS, t), 6), min(bisect_right(WIND_BOUNDS, w), 4)


def test_shorthand_and_numbers_are_normalised():
    assert normalise("fog/mist, v. poor vis") == "fog or mist, very poor visibility"
    assert normalise("southwest 5 to 7, occasionally gale 8") == "southwest, occasionally a gale"
    assert normalise("starlit and still, minus thirty") == "starlit and still"
    assert normalise("smoky haze (from the forges)") == "smoky haze from the forges"
    assert normalise("occ. rain, vis mod/good") == "occasional rain, moderate or good visibility"
    assert normalise("ten") == "ten" and normalise("polar low") == "polar low"  # a word is not a number
    roles = [(p.words, p.role) for p in read("blowing dust - vis poor")]
    assert roles == [("blowing dust", "noun"), ("poor visibility", "vis")]


def test_the_forecasters_formats_are_hand_written_and_many():
    pool = F.SHIPPING_UK + F.ALPINE
    assert len(set(pool)) == len(pool) >= 150
    assert sum(bool(re.match(r"(?:Wind: )?(?:N|NE|E|SE|S|SW|W|NW|SSW|WNW|ESE)\b", f, re.I)) for f in F.SHIPPING_UK) > 50
    assert sum(bool(re.search(r"\d+ m\b", f)) for f in F.ALPINE) > 20


@pytest.mark.parametrize("forecast", (F.SHIPPING_UK + F.ALPINE)[::3])
def test_shipping_and_alpine_forecasts_read_right_in_every_band(forecast):
    marked = []
    for t in F.TEMPS:
        for w in F.WINDS:
            ws, marks = F.check(forecast, t, w)
            if marks:
                marked.append((ws, marks))
    assert not marked, marked[:3]


@pytest.mark.parametrize("conditions, sentence, mark", [
    ("S 4, increasing 6 later. Rain later. Moderate.", "A cool day at Harrow Point brings s, moderate and a steady wind.",
     "compass"),
    ("NE 4 or 5, veering E 5 to 7", "A cold day at Harrow Point brings ne and a hard wind, veering east.", "compass"),
    ("overcast, snowfall limit around 1100 m", "It is overcast at Harrow Point, with snowfall limit and a breeze.", "measure"),
    ("high fog, top 1100 m", "It is top and cold at Harrow Point, with high fog.", "measure"),
    ("Hill fog, vis 800 m", "It is cool at Harrow Point, with hill fog, visibility and a brisk wind.", "measure"),
    ("cold and clear, freezing fog patches on the Inn flats",
     "It is cold and clear at Harrow Point, with freezing fog patches on the inn flats.", "case:Inn"),
    ("NW gale 8 to storm 10. High or very high.", "A cold day at Harrow Point brings high or very high and a gale.",
     "sea:High or very high"),
    ("N 7 to severe gale 9. Rough or very rough, occasionally high.",
     "It is rough or very rough and cold at Harrow Point, with occasionally high and a gale.", "sea:Rough or very rough, occasionally high"),
])
def test_the_fuzz_marks_what_readers_marked_in_these_formats(conditions, sentence, mark):
    assert mark in F.format_marks(conditions, sentence)


def test_the_fuzz_does_not_mark_a_sentence_that_reads_right():
    assert F.format_marks("NW gale 8 to storm 10. High or very high.",
                          "A cold day at Harrow Point brings a high or very high sea and a northwesterly gale.") == []
    assert F.format_marks("cold and clear, freezing fog patches on the Inn flats",
                          "It is cold and clear at Harrow Point, with freezing fog patches on the Inn flats.") == []
    assert F.format_marks("HEAVY Snow", "It is cold at Harrow Point, with heavy snow.") == []
