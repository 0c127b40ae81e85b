"""World files: every validation reason is reported (file, line, field, reason), the bad line is
skipped and counted and the rest loads; whole-file failures are one clear WorldError; the
built-in world is deterministic and valid."""

from __future__ import annotations

import copy
import json
import math

import pytest

from engine.builtin_world import FULL_WORLD, builtin_world
from engine.world import (
    MAX_BASE, MAX_CONDITIONS,
    MAX_ITEMS,
    MAX_SUMMARY,
    TERMS,
    LineError,
    LoadResult,
    WorldError,
    load_world,
    parse_place,
    write_world,
)


def _set(d: dict, path: str, value) -> dict:
    """Copy of ``d`` with the dotted ``path`` set (``resources.0.type``); value ``DELETE`` removes it."""
    d = copy.deepcopy(d)
    *parents, last = path.split(".")
    cur = d
    for p in parents:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    if value is DELETE:
        del cur[int(last) if isinstance(cur, list) else last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return d


DELETE = object()


def _with_event(place_dict, make_event):
    return place_dict(1, events=[make_event(0.5, "medium")])


def _load_one_bad(world_file, place_dict, bad_line: str | dict) -> tuple[LoadResult, object]:
    """A file: good line 1, the bad line 2, good line 3. Returns the load result and the path."""
    path = world_file([place_dict(0), bad_line, place_dict(2)])
    return load_world(path), path


def _assert_one_error(res: LoadResult, path, line: int, field: str, *words: str) -> LineError:
    assert [p.urn for p in res.places] == ["urn:flux:place:testland:place-000", "urn:flux:place:testland:place-002"]
    assert res.skipped == 1 == len(res.errors)
    err = res.errors[0]
    assert err.file == str(path)
    assert err.line == line
    assert err.field == field
    for w in words:
        assert w.lower() in err.reason.lower(), (w, err.reason)
    # The one-line form names all of it.
    s = str(err)
    assert s.startswith(f"{path}:{line}: ")
    if field:
        assert f": {field}: " in s
    return err


# --- not JSON / not an object ----------------------------------------------------------------

@pytest.mark.parametrize("raw", ['{"urn": "urn:flux:place:a:b", ', "not json at all", "{'single': 'quotes'}", '{"a": 1} trailing'])
def test_not_json_is_reported_and_skipped(world_file, place_dict, raw):
    res, path = _load_one_bad(world_file, place_dict, raw)
    _assert_one_error(res, path, 2, "", "not valid JSON")


@pytest.mark.parametrize("raw, kind", [("[1, 2]", "list"), ("42", "number"), ('"a string"', "string"), ("null", "null"), ("true", "boolean")])
def test_not_an_object_is_reported_and_skipped(world_file, place_dict, raw, kind):
    res, path = _load_one_bad(world_file, place_dict, raw)
    _assert_one_error(res, path, 2, "", "not an object", kind)


def test_deeply_nested_line_does_not_crash(world_file, place_dict):
    res, path = _load_one_bad(world_file, place_dict, "[" * 100_000 + "]" * 100_000)
    assert res.skipped == 1 and res.errors[0].line == 2
    assert len(res.places) == 2


# --- missing fields ---------------------------------------------------------------------------

MISSING = [
    "urn", "name", "description", "description.base", "weather", "weather.temperature", "weather.conditions",
    "weather.windSpeed", "resources", "events", "resources.0.type", "resources.0.abundance",
    "events.0.type", "events.0.significance", "events.0.term", "events.0.summary",
]


def _field_name(path: str) -> str:
    """``resources.0.type`` -> ``resources[0].type`` (the engine's field names)."""
    out = []
    for part in path.split("."):
        if part.isdigit():
            out[-1] += f"[{part}]"
        else:
            out.append(part)
    return ".".join(out)


@pytest.mark.parametrize("path", MISSING)
def test_missing_field_is_reported_with_its_name(world_file, place_dict, make_event, path):
    bad = _set(_with_event(place_dict, make_event), path, DELETE)
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, _field_name(path), "missing")


# --- wrongly typed fields ---------------------------------------------------------------------

WRONG_TYPE = [
    ("urn", 5, "string"),
    ("name", ["x"], "string"),
    ("name", None, "string"),
    ("description", "just text", "object"),
    ("description.base", 12, "string"),
    ("weather", [], "object"),
    ("weather.temperature", "12", "number"),
    ("weather.temperature", True, "number"),
    ("weather.temperature", None, "number"),
    ("weather.conditions", 3, "string"),
    ("weather.windSpeed", {"mph": 3}, "number"),
    ("resources", {"timber": 0.5}, "list"),
    ("events", "none", "list"),
    ("resources.0", "timber", "object"),
    ("resources.0.type", 1, "string"),
    ("resources.0.abundance", "0.5", "number"),
    ("events.0", 7, "object"),
    ("events.0.significance", False, "number"),
    ("events.0.summary", None, "string"),
]


@pytest.mark.parametrize("path, value, kind", WRONG_TYPE, ids=[f"{p}={v!r}" for p, v, _ in WRONG_TYPE])
def test_wrongly_typed_field_is_reported(world_file, place_dict, make_event, path, value, kind):
    bad = _set(_with_event(place_dict, make_event), path, value)
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, _field_name(path), "must be", kind)


def test_bad_urn_shape_is_reported(world_file, place_dict):
    for urn in ("place-1", "urn:flux:place:", "urn:other:x:y"):
        res, file = _load_one_bad(world_file, place_dict, place_dict(1, urn=urn))
        _assert_one_error(res, file, 2, "urn", "urn:flux:place:")


# --- NaN / infinity ---------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["weather.temperature", "weather.windSpeed", "resources.0.abundance", "events.0.significance"])
@pytest.mark.parametrize("literal", ["1e400", "-1e400"])
def test_infinity_from_overflowing_number_is_reported(world_file, place_dict, make_event, field, literal):
    marker = 123456.789
    line = json.dumps(_set(_with_event(place_dict, make_event), field, marker)).replace(repr(marker), literal)
    res, file = _load_one_bad(world_file, place_dict, line)
    _assert_one_error(res, file, 2, _field_name(field), "finite")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_rejected_and_the_rest_loads(world_file, place_dict, literal):
    line = json.dumps(place_dict(1)).replace("12.5", literal)
    res, file = _load_one_bad(world_file, place_dict, line)
    assert res.skipped == 1 and res.errors[0].line == 2 and len(res.places) == 2
    assert res.errors[0].file == str(file)


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_nan_literal_error_names_the_field(world_file, place_dict, literal):
    line = json.dumps(place_dict(1)).replace("12.5", literal)
    res, file = _load_one_bad(world_file, place_dict, line)
    _assert_one_error(res, file, 2, "weather.temperature", "finite")


def test_nan_in_json_array_skips_only_that_element(tmp_path, place_dict):
    text = json.dumps([place_dict(0), place_dict(1), place_dict(2)]).replace("12.5", "NaN", 1)
    path = tmp_path / "w.json"
    path.write_text(text)
    res = load_world(path)
    assert len(res.places) == 2 and res.skipped == 1


# --- out of range -----------------------------------------------------------------------------

OUT_OF_RANGE = [
    ("weather.temperature", -90.01), ("weather.temperature", -91), ("weather.temperature", 60.5), ("weather.temperature", 61),
    ("weather.temperature", 10**20),
    ("weather.windSpeed", -0.1), ("weather.windSpeed", -1), ("weather.windSpeed", 250.01), ("weather.windSpeed", 1000),
    ("resources.0.abundance", -0.01), ("resources.0.abundance", 1.01), ("resources.0.abundance", 2),
    ("events.0.significance", -0.5), ("events.0.significance", 1.0000001), ("events.0.significance", 100),
]


@pytest.mark.parametrize("path, value", OUT_OF_RANGE, ids=[f"{p}={v!r}" for p, v in OUT_OF_RANGE])
def test_out_of_range_number_is_reported(world_file, place_dict, make_event, path, value):
    bad = _set(_with_event(place_dict, make_event), path, value)
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, _field_name(path), "out of range")


IN_RANGE_EDGES = [
    ("weather.temperature", -90), ("weather.temperature", 60), ("weather.temperature", -90.0), ("weather.temperature", 60.0),
    ("weather.windSpeed", 0), ("weather.windSpeed", 250), ("weather.windSpeed", 0.0),
    ("resources.0.abundance", 0), ("resources.0.abundance", 1), ("resources.0.abundance", 1.0),
    ("events.0.significance", 0), ("events.0.significance", 1), ("events.0.significance", 0.0),
]


@pytest.mark.parametrize("path, value", IN_RANGE_EDGES, ids=[f"{p}={v!r}" for p, v in IN_RANGE_EDGES])
def test_range_edges_are_accepted(place_dict, make_event, path, value):
    p = parse_place(_set(_with_event(place_dict, make_event), path, value))
    assert p.urn.endswith("place-001")


# --- terms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["forever", "Medium", "", None, 3, ["long"]])
def test_unknown_term_is_reported(world_file, place_dict, make_event, term):
    bad = place_dict(1, events=[make_event(0.5, "medium"), make_event(0.6, term)])
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, "events[1].term", "unknown term")


@pytest.mark.parametrize("term", TERMS)
def test_every_known_term_is_accepted(place_dict, make_event, term):
    assert parse_place(place_dict(1, events=[make_event(0.5, term)])).events[0].term == term


# --- empty and over-long text -----------------------------------------------------------------

@pytest.mark.parametrize("base", ["", "   ", "\n\t  \r\n"])
def test_empty_base_is_reported(world_file, place_dict, base):
    bad = place_dict(1, description={"base": base})
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, "description.base", "empty")


@pytest.mark.parametrize("path", ["name", "weather.conditions", "resources.0.type", "events.0.type", "events.0.summary", "urn"])
def test_other_empty_text_is_reported(world_file, place_dict, make_event, path):
    bad = _set(_with_event(place_dict, make_event), path, "  ")
    res, file = _load_one_bad(world_file, place_dict, bad)
    err = res.errors[0]
    assert res.skipped == 1 and err.line == 2 and err.field == _field_name(path)


def test_base_longer_than_2000_chars_is_reported(world_file, place_dict):
    assert MAX_BASE == 2000
    bad = place_dict(1, description={"base": "x" * 2001})
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, "description.base", "too long", "2001", "2000")


def test_base_of_exactly_2000_chars_is_accepted(place_dict):
    assert len(parse_place(place_dict(1, description={"base": "é" * 2000})).base) == 2000


def test_a_forecast_as_long_as_a_real_service_writes_is_accepted_and_a_longer_one_reported(world_file, place_dict):
    assert MAX_CONDITIONS == 500
    forecast = ("Rain. High near 51. East wind 10 to 15 mph. Chance of precipitation is 90%. New rainfall amounts "
                "between a quarter and half of an inch possible. ") * 2
    assert 250 < len(forecast) <= 500
    assert parse_place(place_dict(1, weather={"temperature": 10.0, "conditions": forecast.strip(), "windSpeed": 12.0}))
    bad = place_dict(1, weather={"temperature": 10.0, "conditions": "r" * 501, "windSpeed": 12.0})
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, "weather.conditions", "too long", "501", "500")


def test_summary_longer_than_300_chars_is_reported(world_file, place_dict, make_event):
    assert MAX_SUMMARY == 300
    bad = place_dict(1, events=[make_event(0.5, summary="s" * 301)])
    res, file = _load_one_bad(world_file, place_dict, bad)
    _assert_one_error(res, file, 2, "events[0].summary", "too long", "301", "300")
    assert parse_place(place_dict(1, events=[make_event(0.5, summary="s" * 300)])).events[0].summary == "s" * 300


# --- too many items ---------------------------------------------------------------------------

def test_more_than_32_resources_is_reported(world_file, place_dict):
    assert MAX_ITEMS == 32
    res33 = [{"type": f"r{i}", "abundance": 0.5} for i in range(33)]
    res, file = _load_one_bad(world_file, place_dict, place_dict(1, resources=res33))
    _assert_one_error(res, file, 2, "resources", "too many", "33", "32")
    assert len(parse_place(place_dict(1, resources=res33[:32])).resources) == 32


def test_more_than_32_events_is_reported(world_file, place_dict, make_event):
    ev33 = [make_event(0.01 * i) for i in range(33)]
    res, file = _load_one_bad(world_file, place_dict, place_dict(1, events=ev33))
    _assert_one_error(res, file, 2, "events", "too many", "33", "32")
    assert len(parse_place(place_dict(1, events=ev33[:32])).events) == 32


# --- duplicates, extras, counting, file forms -------------------------------------------------

def test_duplicate_urn_is_reported_on_the_later_line_and_first_wins(world_file, place_dict):
    dup = place_dict(0, name="Impostor")
    path = world_file([place_dict(0), place_dict(1), dup, place_dict(2)])
    res = load_world(path)
    assert [p.name for p in res.places] == ["Place 0", "Place 1", "Place 2"]
    assert res.skipped == 1
    err = res.errors[0]
    assert (err.file, err.line, err.field) == (str(path), 3, "urn")
    assert "duplicate" in err.reason and "line 1" in err.reason


def test_unknown_extra_fields_are_ignored(place_dict, make_event):
    d = place_dict(1, events=[make_event(0.5)], colour="red", extra={"nested": [1, 2]})
    d["weather"]["humidity"] = 0.9
    d["resources"][0]["unit"] = "tons"
    d["events"][0]["id"] = 42
    d["description"]["long"] = "ignored"
    p = parse_place(d)
    assert p.urn == d["urn"] and p.resources[0].type == "timber" and p.events[0].type == "festival"


def test_many_bad_lines_are_each_counted_and_the_rest_loads(world_file, place_dict):
    lines = [place_dict(0), "garbage", place_dict(1, urn="bad"), "", "   ", place_dict(2), "[]", place_dict(0)]
    path = world_file(lines)
    res = load_world(path)
    assert [p.name for p in res.places] == ["Place 0", "Place 2"]
    # Blank lines are neither places nor errors, but they still count for line numbers.
    assert [(e.line, e.field) for e in res.errors] == [(2, ""), (3, "urn"), (7, ""), (8, "urn")]
    assert res.skipped == 4
    assert res.source == str(path)


def test_crlf_line_endings_are_accepted(tmp_path, place_dict):
    path = tmp_path / "w.jsonl"
    path.write_bytes(("\r\n".join(json.dumps(place_dict(i)) for i in range(3)) + "\r\n").encode())
    assert len(load_world(path).places) == 3


def test_invalid_utf8_bytes_do_not_crash(tmp_path, place_dict):
    path = tmp_path / "w.jsonl"
    good = json.dumps(place_dict(0)).encode()
    bad = json.dumps(place_dict(1)).encode().replace(b"Place 1", b"Place \xff\xfe 1")
    path.write_bytes(good + b"\n" + bad + b"\n\x00\x01\x02\n")
    res = load_world(path)
    assert len(res.places) == 2  # undecodable bytes are replaced, not fatal
    assert [e.line for e in res.errors] == [3]


def test_json_array_file_is_accepted(world_file, place_dict):
    path = world_file([place_dict(i) for i in range(4)], array=True)
    res = load_world(path)
    assert [p.name for p in res.places] == [f"Place {i}" for i in range(4)]
    assert res.errors == []


def test_json_array_with_leading_whitespace_and_bad_elements(tmp_path, place_dict):
    path = tmp_path / "w.json"
    items = [place_dict(0), 5, place_dict(1, weather={"temperature": 99, "conditions": "x", "windSpeed": 1}), place_dict(2)]
    path.write_text("\n\n   " + json.dumps(items))
    res = load_world(path)
    assert len(res.places) == 2
    assert [(e.line, e.field) for e in res.errors] == [(2, ""), (3, "weather.temperature")]
    assert all(e.file == str(path) for e in res.errors)


def test_json_array_that_is_not_valid_json_is_one_clear_error(tmp_path, place_dict):
    path = tmp_path / "w.json"
    path.write_text("[" + json.dumps(place_dict(0)) + ",")
    with pytest.raises(WorldError, match="no valid place"):
        load_world(path)


# --- whole-file errors ------------------------------------------------------------------------

def test_missing_file_is_a_world_error(tmp_path):
    with pytest.raises(WorldError, match="not found"):
        load_world(tmp_path / "nope.jsonl")


def test_folder_is_a_world_error(tmp_path):
    with pytest.raises(WorldError, match="folder"):
        load_world(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file_is_a_world_error(tmp_path, content):
    path = tmp_path / "w.jsonl"
    path.write_text(content)
    with pytest.raises(WorldError, match="no valid place"):
        load_world(path)


def test_file_with_no_valid_place_names_the_first_problem(world_file, place_dict):
    path = world_file(["oops", place_dict(1, urn=3)])
    with pytest.raises(WorldError) as ei:
        load_world(path)
    msg = str(ei.value)
    assert "no valid place" in msg and "2 bad lines" in msg and f"{path}:1" in msg


# --- round trips ------------------------------------------------------------------------------

def test_to_json_round_trips(place_dict, make_event):
    p = parse_place(place_dict(1, events=[make_event(0.5), make_event(0.9, "permanent")]))
    assert parse_place(p.to_json()) == p
    assert parse_place(json.loads(json.dumps(p.to_json()))) == p


def test_write_world_then_load_world_round_trips_the_builtin_world(tmp_path):
    places = builtin_world(60)
    path = tmp_path / "w.jsonl"
    write_world(places, path)
    res = load_world(path)
    assert res.places == places and res.errors == []


def test_unicode_text_round_trips(tmp_path, place_dict):
    name = "Ærøskøbing 北京 🌧️ \u200b ‮rtl"
    p = parse_place(place_dict(1, name=name, description={"base": "Ünïcödé — “quotes” \\ back\\slash \"dq\" \t tab."}))
    path = tmp_path / "w.jsonl"
    write_world([p], path)
    assert load_world(path).places == [p]


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"])
def test_line_separator_characters_inside_strings_round_trip(tmp_path, place_dict, sep):
    p = parse_place(place_dict(1, description={"base": f"First part{sep}second part of the description."}))
    path = tmp_path / "w.jsonl"
    write_world([p, parse_place(place_dict(2))], path)
    res = load_world(path)
    assert res.places[0] == p and res.errors == []


def test_lone_surrogate_escape_is_skipped_not_fatal(world_file, place_dict):
    bad = json.dumps(place_dict(1)).replace("light rain", "light \\ud800 rain")
    res, file = _load_one_bad(world_file, place_dict, bad)
    assert res.skipped == 1 and res.errors[0].line == 2 and len(res.places) == 2


# --- the built-in world -----------------------------------------------------------------------

def test_builtin_world_is_deterministic_and_valid():
    world = builtin_world()
    assert len(world) == FULL_WORLD == 1500
    assert len({p.urn for p in world}) == 1500
    assert world[:10] == builtin_world(10)
    for p in world:
        assert parse_place(p.to_json()) == p  # every place passes the same validation as a file
    terms = {e.term for p in world for e in p.events}
    assert terms == set(TERMS)
    sigs = [p.max_significance for p in world]
    assert any(s == -math.inf for s in sigs)
    assert any(0.3 <= s < 0.6 for s in sigs) and any(0.6 <= s < 0.8 for s in sigs) and any(s >= 0.8 for s in sigs)
    assert len({p.region for p in world}) >= 5


# --- base_hash: one function for the dispatcher and the workbench ---------------------------------

@pytest.mark.parametrize("base", ["A mill by the river.", "Café — naïve 😀 東京", "tab\tand\nnewline", "\x00\x1b[31m"])
def test_base_hash_is_the_plain_utf8_hash_for_every_valid_text(base):
    import hashlib

    from engine import dispatch
    from engine.workbench import comparison as workbench_comparison  # where the workbench hashes base texts
    from engine.world import base_hash

    p = builtin_world()[0]
    p = type(p)(p.urn, p.name, base, p.temperature, p.conditions, p.wind_speed, p.resources, p.events, p.state_hash, p.seed)
    expected = hashlib.sha256(base.encode("utf-8")).hexdigest()[:16]  # what stored results already hold
    assert base_hash(p) == expected
    assert dispatch.base_hash is base_hash and workbench_comparison.base_hash is base_hash  # exists once


def test_base_hash_of_a_lone_surrogate_is_a_hash_not_a_crash_and_world_files_cannot_carry_one(tmp_path):
    from engine.world import base_hash

    p = builtin_world()[0]
    bad = type(p)(p.urn, p.name, "half \ud800 a pair", p.temperature, p.conditions, p.wind_speed, p.resources,
                  p.events, p.state_hash, p.seed)
    h = base_hash(bad)
    assert len(h) == 16 and h != base_hash(p)
    # A world file with that text is refused by the parser with a message naming the field.
    d = p.to_json()
    d["description"]["base"] = "half \ud800 a pair"
    with pytest.raises(Exception) as exc:
        parse_place(d)
    assert "description.base" in str(exc.value) or "surrogate" in str(exc.value)
