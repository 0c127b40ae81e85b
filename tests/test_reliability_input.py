"""Hostile and malformed input: the world loader and templates fuzzed with hypothesis; escape
sequences, markup, bidi/zero-width characters, long words and prompt injections rejected as model
output and shown literally (console rendering, export, ``visible``)."""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main as cli
from engine.prompts import DEFAULTS_DIR, default_prompt, read_prompt_file
from fakes import HOSTILE, INJECTED_PLACE_BASE, INJECTION_FOLLOWING_OUTPUTS, make_world
from engine.store import ResultRow, Store
from engine.templates import render_template
from engine.textsafe import UNSAFE_RE, visible
from engine.validate import clean_output, validate_output
from engine.world import _Bad, load_world, make_place, parse_place

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60) | st.sampled_from(
    ["", " ", "\x1b[31m", "[bold]x[/]", "\u202e", "\ud800", "a" * 3000, "rain", "urn:flux:place:r:x"])
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | text
json_value = st.recursive(json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=12)
BASE = make_world(10)
PATHS = [("urn",), ("name",), ("description",), ("description", "base"), ("weather",), ("weather", "temperature"),
         ("weather", "conditions"), ("weather", "windSpeed"), ("resources",), ("resources", 0),
         ("resources", 0, "abundance"), ("events",), ("events", 0), ("events", 0, "term"),
         ("events", 0, "significance"), ("events", 0, "summary"), ("events", 0, "type")]


def _set(d, path, value):
    d = json.loads(json.dumps(d))
    obj = d
    for k in path[:-1]:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return d
    try:
        obj[path[-1]] = value
    except (IndexError, TypeError):
        pass
    return d


def _check_value(v):
    try:
        p = parse_place(v)
    except _Bad as bad:
        assert isinstance(bad.field, str) and bad.reason
        return None
    t = render_template(p)
    assert t.strip(), "every valid place gets a non-empty template"
    assert default_prompt().render(p, "full")
    return p


@SETTINGS
@given(json_value)
def test_any_json_value_is_a_place_or_a_line_error(v):
    _check_value(v)


@SETTINGS
@given(st.integers(0, 9), st.sampled_from(PATHS), json_value)
def test_a_valid_place_with_any_value_anywhere(i, path, v):
    _check_value(_set(BASE[i], path, v))


@SETTINGS
@given(st.integers(0, 9), st.sampled_from([p for p in PATHS if p[-1] in ("base", "name", "conditions", "summary", "type")]), text)
def test_any_text_in_any_text_field_gives_a_template_or_a_line_error(i, path, s):
    p = _check_value(_set(BASE[i], path, s))
    if p is not None:
        assert isinstance(render_template(p), str)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(json_value.map(json.dumps) | st.sampled_from(["{bad json", "[1,", "\x00", "   ", "NaN", "\ud800"]),
                min_size=1, max_size=8))
def test_world_files_of_anything_load_per_line_or_fail_cleanly(tmp_path, items):
    path = tmp_path / "w.jsonl"
    lines = [json.dumps(BASE[0])] + items
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    res = load_world(path)  # never raises: line 1 is valid
    assert len(res.places) >= 1
    assert all(e.line >= 1 and str(e) for e in res.errors)
    assert all(render_template(p).strip() for p in res.places)


# --- hostile strings ---------------------------------------------------------------------------

NAMES = [n for n, _ in HOSTILE]


@pytest.mark.parametrize("name, s", HOSTILE, ids=NAMES)
def test_hostile_model_output_is_rejected(name, s):
    reason = validate_output(clean_output(s))
    assert reason is not None
    if name.startswith(("ansi", "osc", "c1", "bell", "carriage", "nul", "bidi", "zero")):
        assert reason == "control_chars"
    elif name.startswith(("rich", "textual")):
        assert reason == "markup"
    elif name.startswith("injection"):
        assert reason == "injection"
    else:
        assert reason == "too_long"


@pytest.mark.parametrize("out", INJECTION_FOLLOWING_OUTPUTS)
def test_output_that_follows_instructions_injected_through_world_text_is_rejected(out):
    place = make_place("urn:flux:place:a:b", "Mill", INJECTED_PLACE_BASE, 12, "rain", 5, [], [])
    # The seed's prompt (shipped as seed.prompt) carries the base text whole, injection and all.
    prompt = read_prompt_file(DEFAULTS_DIR / "seed.prompt").render(place, "full")
    assert "Ignore all previous instructions" in prompt
    assert validate_output(clean_output(out), prompt) == "injection"
    # A normal description of the same place is still fine.
    assert validate_output("Rain drums on the grey mill by the river while the wheel turns slowly.", prompt) is None
    # The default prompt gives the model the template, which never carries a base sentence that
    # reads as an instruction: the injected instruction never reaches the model.
    assert "ignore all previous instructions" not in default_prompt().render(place, "full").lower()


def _hostile_place(s: str):
    d = make_world(5)[3]
    d["description"]["base"] = s
    d["name"] = s[:200]
    d["events"][0]["summary"] = s[:300]
    return parse_place(d)


@pytest.mark.parametrize("name, s", HOSTILE, ids=NAMES)
def test_hostile_world_text_is_exported_escaped_and_intact(name, s, tmp_path, capsys):
    p = _hostile_place(s)
    tpl = render_template(p)
    db = tmp_path / "t.db"
    store = Store(db)
    bid = store.start_batch("x", 1, None, None, {})
    store.add_results([ResultRow(bid, p.urn, p.state_hash, "template", "template", tpl, tpl)])
    store.close()
    assert cli.main(["export", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert not UNSAFE_RE.search(out) and "\x1b" not in out  # nothing raw reaches a terminal or a pipe
    assert json.loads(out.splitlines()[0])["text"] == tpl  # and nothing was dropped: shown literally


@pytest.mark.parametrize("name, s", HOSTILE, ids=NAMES)
def test_hostile_text_is_shown_literally_in_the_console(name, s):
    from rich.console import Console

    textview = pytest.importorskip("console.textview")
    v = visible(s)
    assert not UNSAFE_RE.search(v)
    buf = io.StringIO()
    Console(file=buf, force_terminal=True, color_system="truecolor", width=5000, soft_wrap=True).print(textview.safe(s))
    rendered = buf.getvalue()
    assert "\x1b]" not in rendered and "\x07" not in rendered and "\x9b" not in rendered
    assert not re.search(r"\x1b\[(?![0-9;]*m)", rendered)  # only Rich's own SGR styling
    plain = re.sub(r"\x1b\[[0-9;]*m", "", rendered)
    for tag in re.findall(r"\[[^\]\n]{1,40}\]", s):
        assert tag in plain  # markup stays literal brackets
    if "\x1b" in s:
        assert "␛" in plain  # and the operator sees that an escape was there


def test_very_long_words_do_not_break_templates_or_validation():
    p = _hostile_place("The mill " + "x" * 1900 + " stands.")
    assert render_template(p).strip()
    assert validate_output("y" * 10_000) == "too_long"
    assert visible("z" * 100_000) == "z" * 100_000
