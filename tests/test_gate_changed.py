"""The reading gate's rules on what a model changed (engine.gate): the place's name, the base's
words, invented causes, wind and rain against the facts, weather acting on the wrong thing,
agreement, notes about the writing, more named padding. Each rule refuses its case and lets the
template's own words pass; every test world's templates pass; the blind model reviews under
docs/reviews/ hold as a regression set (no text scored 4 or more refused)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.gate import CODES, check_text
from engine.templates import render_template
from engine.world import load_world, parse_place
from tools.review.gate_measure import measure, rows

ROOT = Path(__file__).resolve().parents[1]
WORLDS = sorted((ROOT / "tests" / "worlds").glob("*.jsonl"))
REVIEWS = ["docs/reviews/model-modes", "docs/reviews/model-enrich", "docs/reviews/model-enrich-dev"]


def place(name="Lanternfield Farmstead", base="A farmstead stands above the swamp, its walls of salvaged iron.",
          temperature=22.9, conditions="humid", wind=58.7, resources=(("peat", 0.1),), events=(
              ("raid", "Bandits raided the outlying farms two nights ago."),)):
    return parse_place({"urn": "urn:flux:place:test:" + name.lower().replace(" ", "-"), "name": name,
                        "description": {"base": base},
                        "weather": {"temperature": temperature, "conditions": conditions, "windSpeed": wind},
                        "resources": [{"type": t, "abundance": a} for t, a in resources],
                        "events": [{"type": t, "significance": 0.8, "term": "medium", "summary": s} for t, s in events]})


FARM_TEMPLATE = ("A farmstead stands above the swamp, its walls of salvaged iron. The air is humid and warm at "
                 "Lanternfield Farmstead, with a tearing gale. Bandits raided the outlying farms two nights ago; "
                 "peat is scarce.")


def codes(p, text, template=None):
    return check_text(p, text, template).codes


def test_the_new_codes_are_listed():
    for c in ("name-lost", "base-changed", "cause-invented", "weather-garbled", "agreement", "meta"):
        assert c in CODES


def test_the_template_itself_and_a_faithful_rewrite_pass():
    p = place()
    assert check_text(p, FARM_TEMPLATE, FARM_TEMPLATE).accepted
    good = ("A farmstead stands above the swamp, its walls of salvaged iron. A tearing gale sweeps the humid, warm "
            "air at Lanternfield Farmstead. Bandits raided the outlying farms two nights ago; peat is scarce.")
    assert check_text(p, good, FARM_TEMPLATE).accepted


def test_name_lost_a_renamed_or_missing_place():
    p = place(name="Crookedmere Library", base="The library stands above the volcanic highlands, built of whitewashed plaster.",
              temperature=33, conditions="dry heat", wind=60, resources=(), events=(
                  ("plague", "A coughing sickness has spread through the households."),))
    tpl = ("The library stands above the volcanic highlands, built of whitewashed plaster. Dry heat grips Crookedmere "
           "Library in a howling gale. A coughing sickness has spread through the households.")
    v = check_text(p, tpl.replace("Crookedmere Library", "Dry Heat Library"), tpl)
    assert "name-lost" in v.codes and "'Dry Heat Library'" in " ".join(v.reasons)
    assert "name-lost" in codes(p, tpl.replace("Crookedmere Library", "the library"), tpl)
    assert check_text(p, tpl, tpl).accepted


def test_base_changed_a_word_made_its_opposite_and_subject_lost_in_the_opening():
    p = place(name="Pentre Mawr", base="A Welsh farming settlement sits beside a wide irrigation canal.", temperature=12,
              conditions="cloudy", wind=5, resources=(), events=())
    tpl = "A Welsh farming settlement sits beside a wide irrigation canal. Under cloudy skies, Pentre Mawr is cool in a gentle breeze."
    v = check_text(p, tpl.replace("wide irrigation", "narrow irrigation"), tpl)
    assert "base-changed" in v.codes and "'wide irrigation'" in v.reasons[0]
    # "narrow" before another word than the base's is no swap.
    assert check_text(p, tpl + " A narrow lane leads to the fields.", tpl).codes == []
    q = place(name="Puerto Tacuaral", base="A small river landing of mud wharves sits among tall canebrakes.",
              temperature=24, conditions="overcast", wind=6, resources=(), events=())
    tq = "A small river landing of mud wharves sits among tall canebrakes. Under overcast skies, Puerto Tacuaral is warm in a light breeze."
    assert "subject-lost" in codes(q, tq.replace("river landing of", "river with"), tq)
    assert check_text(q, tq, tq).accepted


def test_cause_invented_links_between_news_and_supplies():
    p = place()
    for bad in ("Bandits raided the outlying farms two nights ago, leaving peat scarce.",
                "Peat is scarce due to the raid.", "The families enjoy an abundance of peat.",
                "Bandits rode off, leaving behind little peat."):
        text = FARM_TEMPLATE.rsplit(".", 2)[0] + ". " + bad
        assert "cause-invented" in codes(p, text, FARM_TEMPLATE), bad
    # The template's own words are never held against a text.
    tpl = FARM_TEMPLATE.replace("; peat is scarce.", ", leaving peat scarce.")
    assert "cause-invented" not in codes(p, tpl, tpl)


def test_wind_words_against_the_place_wind():
    p = place()  # 58.7 mph: a gale
    assert "weather-clash" in codes(p, FARM_TEMPLATE.replace("a tearing gale", "a gentle breeze"), FARM_TEMPLATE)
    assert "weather-clash" in codes(p, FARM_TEMPLATE + " The quiet valley sleeps.", FARM_TEMPLATE)
    calm = place(wind=0.5, temperature=40, conditions="clear")
    tpl = ("A farmstead stands above the swamp, its walls of salvaged iron. Clear skies stretch over Lanternfield "
           "Farmstead without a breath of wind. Bandits raided the outlying farms two nights ago; peat is scarce.")
    assert check_text(calm, tpl, tpl).accepted
    v = check_text(calm, tpl + " A scorching wind blows through the walls.", tpl)
    assert "weather-clash" in v.codes and "still air" in " ".join(v.reasons)
    assert check_text(calm, tpl.replace("without a breath of wind", "with no wind at all"), tpl).accepted


def test_temperature_similes_and_rain_strength():
    p = place(temperature=14, conditions="bright", wind=8)
    tpl = ("A farmstead stands above the swamp, its walls of salvaged iron. Bright skies spread over Lanternfield "
           "Farmstead in a light breeze, and the air is cool. Bandits raided the outlying farms two nights ago; peat is scarce.")
    assert check_text(p, tpl, tpl).accepted
    assert "weather-clash" in codes(p, tpl.replace("the air is cool", "the air is cool as ice"), tpl)
    r = place(temperature=8, conditions="light rain", wind=8)
    tr = tpl.replace("Bright skies spread over", "Light rain falls on").replace("the air is cool", "the air is cold")
    assert check_text(r, tr, tr).accepted
    assert "weather-clash" in codes(r, tr.replace("Light rain falls on", "Light rain drums on"), tr)


def test_weather_garbled_wind_carrying_a_gale_and_cloud_that_blows():
    p = place()
    bad = FARM_TEMPLATE.replace("The air is humid and warm at Lanternfield Farmstead, with a tearing gale.",
                                "A humid, warm breeze carries a tearing gale against Lanternfield Farmstead.")
    assert "weather-garbled" in codes(p, bad, FARM_TEMPLATE)
    q = place(temperature=15, conditions="low cloud", wind=6)
    tq = ("A farmstead stands above the swamp, its walls of salvaged iron. The air is cool at Lanternfield Farmstead, "
          "with a light breeze and low clouds. Bandits raided the outlying farms two nights ago; peat is scarce.")
    assert check_text(q, tq, tq).accepted
    assert "weather-garbled" in codes(q, tq.replace("The air is cool at", "Low cloud and a soft breeze gently blow against"), tq)
    # Fog that rolls in while the wind blows is fine.
    assert "weather-garbled" not in codes(q, tq + " Fog rolls in as the breeze blows.", tq)


def test_agreement_only_where_the_model_changed_the_words():
    p = place(name="Balsa de Dona Remedios", base="A raft ferry carries carts across a deep bend of the river.",
              temperature=24, conditions="rain at times", wind=20, resources=(("ferrymen", 0.1),), events=())
    tpl = ("A raft ferry carries carts across a deep bend of the river. A warm day at Balsa de Dona Remedios brings "
           "a steady wind, with rain at times. Ferrymen are running low.")
    assert check_text(p, tpl, tpl).accepted
    assert "agreement" in codes(p, tpl.replace("Ferrymen are", "Ferrymen is"), tpl)
    assert "agreement" in codes(p, tpl.replace("brings a steady wind", "brings steady winds") + " The winds blows hard.", tpl)
    # Copied from the template, it is not the model's doing.
    tpl2 = tpl.replace("Ferrymen are", "Ferrymen is")
    assert "agreement" not in codes(p, tpl2, tpl2)
    # "the roar of the winds is": the verb agrees with "roar".
    assert "agreement" not in codes(p, tpl + " The roar of the winds is loud.", tpl)


def test_meta_text_and_named_padding():
    p = place()
    assert "meta" in codes(p, FARM_TEMPLATE + " This is a continuation of the previous example.", FARM_TEMPLATE)
    for pad in ("creating an atmosphere of foreboding", "causing concern and fear", "a significant historical milestone",
                "revealing secrets buried for centuries", "that could change their lives forever",
                "casting long shadows on the walls", "a feast for the senses"):
        assert "cliche" in codes(p, FARM_TEMPLATE + f" The wind blows on, {pad}.", FARM_TEMPLATE), pad


def test_a_verbless_first_sentence():
    p = place(name="Isla de los Carpinchos", base="A low wooded island sits in the middle of the river.", temperature=24,
              conditions="thick fog early", wind=3.4, resources=(), events=())
    tpl = ("A low wooded island sits in the middle of the river. The temperature is warm at Isla de los Carpinchos, "
           "with thick fog early on and a light breeze.")
    assert check_text(p, tpl, tpl).accepted
    assert "fragment" in codes(p, "Fog early on, warm and light breeze. " + tpl, tpl)
    # "clear" and "warm" before a determiner are verbs.
    assert "fragment" not in codes(p, tpl + " Warm winds clear the fog from the reeds.", tpl)


@pytest.mark.parametrize("world", WORLDS, ids=[w.stem for w in WORLDS])
def test_every_template_of_every_test_world_passes(world):
    places = load_world(world).places
    refused = [(p.urn, check_text(p, render_template(p)).reasons) for p in places]
    assert [r for r in refused if r[1]] == []


def test_same_text_same_verdict_alone_and_in_any_order():
    rs = [r for d in REVIEWS for r in rows(d)]
    alone = {r["id"]: check_text(r["place"], r["llm"], r["template"]).as_dict() for r in rs}
    shuffled = list(rs)
    random.Random(7).shuffle(shuffled)
    for r in shuffled + shuffled:
        assert check_text(r["place"], r["llm"], r["template"]).as_dict() == alone[r["id"]]


@pytest.mark.parametrize("review,min_refused", [("docs/reviews/model-modes", 18), ("docs/reviews/model-enrich", 12),
                                                ("docs/reviews/model-enrich-dev", 22)])
def test_the_blind_model_reviews_no_text_scored_4_refused(review, min_refused):
    m = measure(review)
    assert m["refused_ge4"] == 0
    assert m["templates_refused"] == 0
    assert m["refused_le2"] >= min_refused


def test_rustling_leaves_without_trees_a_swaying_stone_bridge_and_shelter_in_a_gale():
    p = place(name="Cindergate Camp", base="The camp clings along a rutted track, built of salvaged iron.",
              temperature=-10, conditions="high winds", wind=40, resources=(), events=())
    tpl = "The camp clings along a rutted track, built of salvaged iron. It is icy cold at Cindergate Camp, with high winds."
    assert check_text(p, tpl, tpl).accepted
    assert "weather-invented" in codes(p, tpl + " The wind stirs the rustling leaves.", tpl)
    assert "setting-impossible" in codes(p, tpl + " The camp is swaying in the wind.", tpl)
    assert "cliche" in codes(p, tpl + " The wind hits the walls, creating a rustling sound.", tpl)
    g = place(name="Silentbrook Grove", base="The grove sits in a sheltered hollow, built of mossy fieldstone.",
              temperature=20, conditions="windy", wind=40, resources=(), events=())
    tg = "The grove sits in a sheltered hollow, built of mossy fieldstone. It is mild at Silentbrook Grove, with high winds."
    # A grove has trees: its leaves may rustle.
    assert "weather-invented" not in codes(g, tg + " The wind stirs the rustling leaves.", tg)
    h = place(name="Ironreach Camp", base="Here a camp huddles at the edge of the island archipelago, its walls of salvaged iron.",
              temperature=30, conditions="humid", wind=60, resources=(), events=())
    th = ("Here a camp huddles at the edge of the island archipelago, its walls of salvaged iron. It is humid and hot "
          "at Ironreach Camp, with a howling gale.")
    assert check_text(h, th, th).accepted
    assert "weather-clash" in codes(h, th + " The camp is sheltered by the dunes.", th)
