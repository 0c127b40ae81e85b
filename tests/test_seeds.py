"""Seed test vectors: the canonical state JSON is written out literally here (sorted keys, no
whitespace, integral floats as integers, floor(x*100) for abundance/significance, UTF-8) and
hashed with hashlib, independently of the engine; the engine must produce the same hash/seed."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from engine.seeds import canonical_json, canonical_state, hash_state, seed_from_hash
from engine.world import Event, Resource, make_place

# (urn, weather, resources, events, the canonical JSON written by hand, its pinned SHA-256)
VECTORS = [
    pytest.param(
        "urn:flux:place:test:alpha",
        {"temperature": 12.0, "conditions": "light rain", "windSpeed": 8.5},
        [{"type": "timber", "abundance": 0.29}, {"type": "fresh water", "abundance": 0.75}],
        [{"type": "flood", "significance": 0.57}],
        # 12.0 -> 12; floor(0.29*100) = floor(28.999999999999996) = 28; floor(0.57*100) = 56
        '{"events":[{"significance":56,"type":"flood"}],"place":"urn:flux:place:test:alpha",'
        '"resources":[{"abundance":28,"type":"timber"},{"abundance":75,"type":"fresh water"}],'
        '"weather":{"conditions":"light rain","temperature":12,"windSpeed":8.5}}',
        "0197de1f2d77c5428d857b605927be84539552c3aecbb7e6fa6a92712b9d6d86",
        id="float-integral-and-floor",
    ),
    pytest.param(
        "urn:flux:place:nørd:café-1",
        {"temperature": -3.5, "conditions": "bruma — niebla", "windSpeed": 0},
        [],
        [],
        # non-ASCII stays raw UTF-8 (JSON.stringify does not escape it); empty lists stay
        '{"events":[],"place":"urn:flux:place:nørd:café-1","resources":[],'
        '"weather":{"conditions":"bruma — niebla","temperature":-3.5,"windSpeed":0}}',
        "b8e4aca08b1127919097a3f934dd59440bc48923319e3044203e902e55852a3f",
        id="unicode-negative-empty",
    ),
    pytest.param(
        "urn:flux:place:edge:c",
        {"temperature": -0.0, "conditions": 'say "hi"\\\t\x01', "windSpeed": 250.0},
        [{"type": "salt", "abundance": 1.0}, {"type": "eels", "abundance": 0.0}, {"type": "reeds", "abundance": 0.58}],
        [{"type": "raid", "significance": 0.3}, {"type": "fire", "significance": 0.6}, {"type": "coronation", "significance": 0.8}],
        # -0.0 -> 0, 250.0 -> 250, 1.0 -> 100, floor(0.58*100)=57, 0.3*100=30.000000000000004 -> 30;
        # quote, backslash, tab and a C0 control escaped exactly as JSON.stringify does
        r'{"events":[{"significance":30,"type":"raid"},{"significance":60,"type":"fire"},'
        r'{"significance":80,"type":"coronation"}],"place":"urn:flux:place:edge:c",'
        r'"resources":[{"abundance":100,"type":"salt"},{"abundance":0,"type":"eels"},{"abundance":57,"type":"reeds"}],'
        r'"weather":{"conditions":"say \"hi\"\\\t\u0001","temperature":0,"windSpeed":250}}',
        "0de4bfccc74a725a6b8257aa1eeee1641da86f544c85f4d43168ed898346cfde",
        id="edges-and-escapes",
    ),
]


@pytest.mark.parametrize("urn, weather, resources, events, canonical, pinned", VECTORS)
def test_seed_vectors(urn, weather, resources, events, canonical, pinned):
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert expected == pinned  # the vector itself is stable (guards against editing mistakes)
    assert canonical_json(canonical_state(urn, weather, resources, events)) == canonical
    assert hash_state(urn, weather, resources, events) == expected
    assert seed_from_hash(expected) == int(expected[:8], 16)

    # And through the Place constructor the world loader uses.
    p = make_place(urn, "Name", "Base text.", weather["temperature"], weather["conditions"], weather["windSpeed"],
                   [Resource(r["type"], r["abundance"]) for r in resources],
                   [Event(e["type"], e["significance"], "medium", "Summary.") for e in events])
    assert p.state_hash == expected
    assert p.seed == int(expected[:8], 16)


def test_floor_cases_match_javascript_math_floor():
    # Math.floor(0.29 * 100) === 28 in JavaScript too: IEEE doubles, same product.
    assert 0.29 * 100 < 29
    st = canonical_state("urn:flux:place:a:b", {"temperature": 1, "conditions": "c", "windSpeed": 1},
                         [{"type": "r", "abundance": 0.29}, {"type": "s", "abundance": 0.999}],
                         [{"type": "e", "significance": 0.57}])
    assert st["resources"] == [{"type": "r", "abundance": 28}, {"type": "s", "abundance": 99}]
    assert st["events"] == [{"type": "e", "significance": 56}]


def test_integral_float_and_int_hash_the_same():
    w1 = {"temperature": 12.0, "conditions": "c", "windSpeed": 3.0}
    w2 = {"temperature": 12, "conditions": "c", "windSpeed": 3}
    assert hash_state("urn:flux:place:a:b", w1, [], []) == hash_state("urn:flux:place:a:b", w2, [], [])
    assert '"temperature":12,' in canonical_json(canonical_state("urn:flux:place:a:b", w1, [], []))


def test_weather_key_order_does_not_matter():
    a = {"temperature": 1.5, "conditions": "c", "windSpeed": 3}
    b = {"windSpeed": 3, "conditions": "c", "temperature": 1.5}
    assert hash_state("urn:flux:place:a:b", a, [], []) == hash_state("urn:flux:place:a:b", b, [], [])


def test_list_order_matters():
    r = [{"type": "a", "abundance": 0.5}, {"type": "b", "abundance": 0.5}]
    w = {"temperature": 1, "conditions": "c", "windSpeed": 1}
    assert hash_state("urn:flux:place:a:b", w, r, []) != hash_state("urn:flux:place:a:b", w, r[::-1], [])


def test_hash_covers_exactly_the_seed_document_fields():
    """Name, base, event term and summary are not part of hashPlaceState; state changes are."""
    def mk(**kw):
        args = dict(urn="urn:flux:place:a:b", name="N", base="Base.", temperature=10.0, conditions="rain", wind_speed=5.0,
                    resources=[Resource("timber", 0.5)], events=[Event("fire", 0.5, "medium", "A fire.")])
        args.update(kw)
        return make_place(**args)

    ref = mk()
    assert mk(name="Other").state_hash == ref.state_hash
    assert mk(base="Another base.").state_hash == ref.state_hash
    assert mk(events=[Event("fire", 0.5, "long", "Different summary.")]).state_hash == ref.state_hash
    # Same floor bucket: same hash (floor(0.501*100) == 50).
    assert mk(resources=[Resource("timber", 0.501)]).state_hash == ref.state_hash
    for changed in (mk(urn="urn:flux:place:a:c"), mk(temperature=10.5), mk(conditions="snow"), mk(wind_speed=6.0),
                    mk(resources=[Resource("timber", 0.51)]), mk(resources=[Resource("stone", 0.5)]), mk(resources=[]),
                    mk(events=[Event("fire", 0.51, "medium", "A fire.")]), mk(events=[Event("flood", 0.5, "medium", "A fire.")]),
                    mk(events=[])):
        assert changed.state_hash != ref.state_hash


def test_seed_is_a_32_bit_unsigned_int_and_the_hash_is_hex_sha256():
    p = make_place("urn:flux:place:a:b", "N", "B.", 1, "c", 1, [], [])
    assert len(p.state_hash) == 64 and int(p.state_hash, 16) >= 0
    assert 0 <= p.seed < 2**32
    assert seed_from_hash("ffffffff" + "0" * 56) == 2**32 - 1
    assert seed_from_hash("00000000" + "f" * 56) == 0


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_canonical_json_is_compact_and_sorted():
    s = canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]})
    assert s == '{"a":[1,{"c":"é","d":2}],"b":1}'
    assert json.loads(s) == {"b": 1, "a": [1, {"d": 2, "c": "é"}]}
