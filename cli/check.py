"""``texture check``: would the product accept these texts, and if not, why.

::

    texture check --texts FILE.jsonl [--world FILE] [--field NAME] [--json] [--min-quality Q]

Each line of ``--texts`` is ``{"urn": ..., "text": ...}`` (``--field NAME`` reads the text from
another field, e.g. ``--field llm`` on a reviewed file). A line may carry its place's facts
inline, ``"facts": {"name", "base", "weather", "resources", "events"}`` (the reviewed files'
shape), and its template as ``"template"``; other lines are looked up in ``--world`` (default:
the built-in world) and get the place's template. Each text goes through the quality gate the
batch uses (engine.quality: facts contradicted or dropped, invented names, repetition, chat
leftovers, the minimum score) and the reading gate (engine.gate).

Output: with ``--json`` one line per text, ``{"urn", "accepted", "reasons"}``, on stdout and the
summary on stderr; otherwise a table and the summary on stdout. Bad lines (bad JSON, not an
object, a missing or empty field, an unknown urn, facts that are not a valid place) are reported
on stderr with file, line and what is wrong, skipped and counted.

Exit status: 2 when the input is bad (no such file, or any bad line), else 1 when any text was
refused, else 0.

Wiring (cli/main.py): ``check.add_parser(sub)`` in ``build_parser``, ``"check"`` in ``main``'s
command set and handlers (``check.handle``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import UsageError

MAX_LINE_ERRORS_SHOWN = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check", help="would these texts be accepted? the gates' verdict and reasons per text",
        description="Check texts against the gates an LLM text must pass to replace its template: the quality "
        "gate (facts, invented names, repetition, leftovers, minimum score) and the reading gate (subject and "
        "material kept, weather that holds together, events not turned round, goods in possible roles, no verbless "
        "fragments, labels, cliches or numbers). Exit status 0: all accepted, 1: some refused, 2: bad input.")
    p.add_argument("--texts", type=Path, required=True, metavar="FILE.jsonl",
                   help='JSON Lines, one {"urn": ..., "text": ...} per line (facts may be inline: "facts": {...})')
    p.add_argument("--world", type=Path, default=None,
                   help="world file for lines without inline facts (default: the built-in 1,500-place world)")
    p.add_argument("--field", default="text", metavar="NAME", help="the field that holds the text (default: text; "
                   "e.g. llm for a reviewed file)")
    p.add_argument("--json", action="store_true", help='one {"urn", "accepted", "reasons"} per line on stdout')
    p.add_argument("--min-quality", type=float, default=None, metavar="Q",
                   help="the quality gate's minimum score, 0-1 (default: the product's default)")
    return p


class _BadLine(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def _place_from_facts(urn: str, facts: Any):
    from engine.world import _Bad, parse_place

    if not isinstance(facts, dict):
        raise _BadLine("facts", "must be an object")
    obj = {"urn": urn, "name": facts.get("name"), "description": {"base": facts.get("base")},
           "weather": facts.get("weather"), "resources": facts.get("resources"), "events": facts.get("events")}
    obj = {k: v for k, v in obj.items() if v is not None}
    if "base" not in facts:
        obj.pop("description")
    try:
        return parse_place(obj)
    except _Bad as bad:
        field = {"description": "facts.base", "description.base": "facts.base"}.get(bad.field, f"facts.{bad.field}")
        raise _BadLine(field if bad.field != "urn" else "urn", bad.reason) from None
    except RecursionError:
        raise _BadLine("facts", "too deeply nested") from None


def read_lines(path: Path, field: str):
    """(line number, decoded value or error message) of every non-blank line; raises UsageError
    when the file cannot be read at all."""
    if not path.exists():
        raise UsageError(f"texts file not found: {path}")
    if path.is_dir():
        raise UsageError(f"texts path is a folder, not a file: {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read texts file {path}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8-sig", errors="replace")
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield no, json.loads(line)
        except (ValueError, RecursionError) as exc:
            msg = str(exc).split(": line")[0] if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield no, _BadLine("", f"not valid JSON ({msg})")


def check_file(path: Path, field: str, world_places, min_quality: float):
    """(results, bad lines): results are dicts {"urn", "accepted", "reasons", "line"}; bad lines
    are "FILE:LINE: field: reason" strings. ``world_places``: a callable giving {urn: Place}
    (asked only when a line has no inline facts)."""
    from engine.gate import check_text
    from engine.quality import gate, score_text
    from engine.templates import render_template
    from engine.validate import validate_output

    results, bad = [], []
    places = None
    for no, value in read_lines(path, field):
        try:
            if isinstance(value, _BadLine):
                raise value
            if not isinstance(value, dict):
                raise _BadLine("", "not an object")
            urn = value.get("urn")
            if not isinstance(urn, str) or not urn.strip():
                raise _BadLine("urn", "missing" if urn is None else "must be a non-empty string")
            if field not in value:
                raise _BadLine(field, "missing")
            text = value[field]
            if not isinstance(text, str):
                raise _BadLine(field, "must be a string")
            if "facts" in value:
                place = _place_from_facts(urn, value["facts"])
            else:
                if places is None:
                    places = world_places()
                place = places.get(urn)
                if place is None:
                    raise _BadLine("urn", f"unknown place {urn!r} (not in the world)")
            template = value.get("template")
            if not isinstance(template, str) or not template.strip():
                template = render_template(place)
        except _BadLine as e:
            bad.append(f"{path}:{no}: {e.field + ': ' if e.field else ''}{e.reason}")
            continue
        reasons = []
        invalid = validate_output(text)
        if invalid is not None:
            reasons.append(f"invalid: {invalid}")
        g = gate(place, score_text(place, text), min_quality)
        if not g.ok:
            reasons.append(f"{(g.reason or 'invalid:quality').removeprefix('invalid:')}: {g.detail}")
        reasons += check_text(place, text, template).reasons
        results.append({"urn": urn, "accepted": not reasons, "reasons": reasons, "line": no})
    return results, bad


def handle(args) -> int:
    from engine.quality import DEFAULT_MIN_QUALITY
    from engine.textsafe import visible

    from .common import report_world_errors, world

    min_q = DEFAULT_MIN_QUALITY if args.min_quality is None else args.min_quality
    if not 0.0 <= min_q <= 1.0:
        raise UsageError(f"--min-quality must be between 0 and 1, got {min_q:g}")

    def world_places():
        places, errors = world(args)
        report_world_errors(errors)
        return {p.urn: p for p in places}

    results, bad = check_file(args.texts, args.field, world_places, min_q)
    for b in bad[:MAX_LINE_ERRORS_SHOWN]:
        print(f"skipped {visible(b)}", file=sys.stderr)
    if len(bad) > MAX_LINE_ERRORS_SHOWN:
        print(f"... and {len(bad) - MAX_LINE_ERRORS_SHOWN} more bad lines", file=sys.stderr)
    accepted = sum(1 for r in results if r["accepted"])
    summary = (f"{len(results)} text(s) checked: {accepted} accepted, {len(results) - accepted} refused"
               + (f"; {len(bad)} bad line(s) skipped" if bad else ""))
    out = sys.stdout
    if args.json:
        for r in results:
            # ensure_ascii: no control or bidi character of a text reaches the terminal raw.
            out.write(json.dumps({"urn": r["urn"], "accepted": r["accepted"], "reasons": r["reasons"]}) + "\n")
        print(summary, file=sys.stderr)
    else:
        for r in results:
            out.write(f"{'accepted' if r['accepted'] else 'REFUSED ':<9} {visible(r['urn'])}  (line {r['line']})\n")
            for reason in r["reasons"]:
                out.write(f"          - {visible(reason)}\n")
        out.write(summary + "\n")
    out.flush()
    if bad:
        return 2
    return 0 if accepted == len(results) else 1
