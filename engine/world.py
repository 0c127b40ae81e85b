"""Places: the types, loading and validation of world files, and the built-in world.

A world file is JSON Lines, one Place per line (a JSON array file is accepted too). Every bad
line is reported with file, line, field and reason, skipped and counted; the rest loads.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .seeds import hash_state, seed_from_hash
from .errors import TextureError

TERMS = ("immediate", "short", "medium", "long", "permanent")
MAX_BASE = 2000
MAX_SUMMARY = 300
MAX_SHORT_TEXT = 200  # name, resource/event type
MAX_CONDITIONS = 500  # a real service's forecast runs to 200-400 characters ("Rain. High near 51. East wind ...")
MAX_ITEMS = 32
URN_PREFIX = "urn:flux:place:"


class WorldError(TextureError):
    """The world cannot be used at all (missing file, nothing valid in it)."""


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    abundance: float


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    significance: float
    term: str
    summary: str


@dataclass(frozen=True, slots=True)
class Place:
    urn: str
    name: str
    base: str
    temperature: float
    conditions: str
    wind_speed: float
    resources: tuple[Resource, ...]
    events: tuple[Event, ...]
    state_hash: str = ""
    seed: int = 0

    @property
    def region(self) -> str:
        rest = self.urn[len(URN_PREFIX):] if self.urn.startswith(URN_PREFIX) else self.urn
        return rest.split(":", 1)[0] if ":" in rest else ""

    @property
    def max_significance(self) -> float:
        return max((e.significance for e in self.events), default=-math.inf)

    def to_json(self) -> dict:
        """The world-file form of this place (round-trips through :func:`parse_place`)."""
        return {
            "urn": self.urn,
            "name": self.name,
            "description": {"base": self.base},
            "weather": {"temperature": self.temperature, "conditions": self.conditions, "windSpeed": self.wind_speed},
            "resources": [{"type": r.type, "abundance": r.abundance} for r in self.resources],
            "events": [
                {"type": e.type, "significance": e.significance, "term": e.term, "summary": e.summary}
                for e in self.events
            ],
        }


def base_hash(place: Place) -> str:
    """The 16-hex-digit hash of a place's base description (part of the result cache key and of
    the workbench's output key).

    Encoded ``utf-8`` with ``surrogatepass``: for every text a world file can give (the parser
    rejects lone surrogates) that is byte for byte the plain UTF-8 encoding, so stored hashes are
    unchanged; a ``Place`` built in code with a lone surrogate gets a hash instead of a crash.
    """
    return hashlib.sha256(place.base.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_place(urn, name, base, temperature, conditions, wind_speed, resources, events) -> Place:
    resources = tuple(resources)
    events = tuple(events)
    h = hash_state(
        urn,
        {"temperature": temperature, "conditions": conditions, "windSpeed": wind_speed},
        [{"type": r.type, "abundance": r.abundance} for r in resources],
        [{"type": e.type, "significance": e.significance} for e in events],
    )
    return Place(urn, name, base, temperature, conditions, wind_speed, resources, events, h, seed_from_hash(h))


@dataclass(frozen=True, slots=True)
class LineError:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class LoadResult:
    places: list[Place]
    errors: list[LineError] = field(default_factory=list)
    source: str = ""

    @property
    def skipped(self) -> int:
        return len(self.errors)


class _Bad(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _text(obj: dict, key: str, path: str, max_len: int, *, allow_empty: bool = False) -> str:
    if key not in obj:
        raise _Bad(path, "missing")
    v = obj[key]
    if not isinstance(v, str):
        raise _Bad(path, f"must be a string, got {_kind(v)}")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(path, "invalid text (a lone surrogate escape)") from None
    if not allow_empty and not v.strip():
        raise _Bad(path, "must not be empty")
    if len(v) > max_len:
        raise _Bad(path, f"too long ({len(v)} chars, max {max_len})")
    return v


def _number(obj: dict, key: str, path: str, lo: float, hi: float) -> float:
    if key not in obj:
        raise _Bad(path, "missing")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(path, f"must be a number, got {_kind(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad(path, "must be finite (NaN and infinity are not allowed)")
    if isinstance(v, int) and abs(v) > 1e15:
        raise _Bad(path, f"out of range ({lo:g}..{hi:g})")
    if not lo <= v <= hi:
        raise _Bad(path, f"out of range: {v!r} (allowed {lo:g}..{hi:g})")
    return v


def _obj(v: Any, path: str) -> dict:
    if not isinstance(v, dict):
        raise _Bad(path, f"must be an object, got {_kind(v)}")
    return v


def _list(obj: dict, key: str, path: str) -> list:
    if key not in obj:
        raise _Bad(path, "missing")
    v = obj[key]
    if not isinstance(v, list):
        raise _Bad(path, f"must be a list, got {_kind(v)}")
    if len(v) > MAX_ITEMS:
        raise _Bad(path, f"too many items ({len(v)}, max {MAX_ITEMS})")
    return v


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(v), type(v).__name__
    )


def parse_place(obj: Any) -> Place:
    """A validated Place from one decoded JSON value; raises ``_Bad`` naming the field."""
    obj = _obj(obj, "(line)")
    urn = _text(obj, "urn", "urn", MAX_SHORT_TEXT)
    if not urn.startswith(URN_PREFIX) or len(urn) == len(URN_PREFIX):
        raise _Bad("urn", f"must look like {URN_PREFIX}<region>:<slug>")
    name = _text(obj, "name", "name", MAX_SHORT_TEXT)
    desc = _obj(obj.get("description"), "description") if "description" in obj else None
    if desc is None:
        raise _Bad("description", "missing")
    base = _text(desc, "base", "description.base", MAX_BASE)
    if "weather" not in obj:
        raise _Bad("weather", "missing")
    weather = _obj(obj["weather"], "weather")
    temperature = _number(weather, "temperature", "weather.temperature", -90, 60)
    conditions = _text(weather, "conditions", "weather.conditions", MAX_CONDITIONS)
    wind = _number(weather, "windSpeed", "weather.windSpeed", 0, 250)
    resources = []
    for i, r in enumerate(_list(obj, "resources", "resources")):
        p = f"resources[{i}]"
        r = _obj(r, p)
        resources.append(Resource(_text(r, "type", p + ".type", MAX_SHORT_TEXT), _number(r, "abundance", p + ".abundance", 0, 1)))
    events = []
    for i, e in enumerate(_list(obj, "events", "events")):
        p = f"events[{i}]"
        e = _obj(e, p)
        etype = _text(e, "type", p + ".type", MAX_SHORT_TEXT)
        sig = _number(e, "significance", p + ".significance", 0, 1)
        term = e.get("term")
        if "term" not in e:
            raise _Bad(p + ".term", "missing")
        if term not in TERMS:
            raise _Bad(p + ".term", f"unknown term {term!r} (one of {', '.join(TERMS)})")
        summary = _text(e, "summary", p + ".summary", MAX_SUMMARY)
        events.append(Event(etype, sig, term, summary))
    return make_place(urn, name, base, temperature, conditions, wind, resources, events)


def _lines(path: Path) -> Iterator[tuple[int, Any | Exception]]:
    """(line number, decoded value or the decode error) for a JSONL or JSON-array file."""
    with open(path, "rb") as fh:
        raw = fh.read()
    # utf-8-sig: a byte-order mark at the start is not part of line 1.
    text = raw.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            # NaN/Infinity decode to floats so validation can name the field that holds them.
            values = json.loads(text)
        except (ValueError, RecursionError) as exc:
            yield 1, exc
            return
        if isinstance(values, list):
            # Line numbers of a JSON array are its element positions (1-based).
            for i, v in enumerate(values, 1):
                yield i, v
            return
        yield 1, values
        return
    # Split on "\n" only: U+2028/U+2029/U+0085 are legal inside JSON strings.
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield no, json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield no, exc


def load_world(path: str | Path) -> LoadResult:
    """Load and validate a world file. Raises :class:`WorldError` only if nothing is usable."""
    path = Path(path)
    if not path.exists():
        raise WorldError(f"world file not found: {path}")
    if path.is_dir():
        raise WorldError(f"world path is a folder, not a file: {path}")
    try:
        items = list(_lines(path))
    except OSError as exc:
        raise WorldError(f"cannot read world file {path}: {exc.strerror or exc}") from None
    name = str(path)
    places: list[Place] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for no, value in items:
        if isinstance(value, Exception):
            msg = str(value).split(": line")[0] if isinstance(value, json.JSONDecodeError) else str(value)
            errors.append(LineError(name, no, "", f"not valid JSON ({msg})"))
            continue
        try:
            place = parse_place(value)
        except _Bad as bad:
            errors.append(LineError(name, no, bad.field if bad.field != "(line)" else "", bad.reason if bad.field != "(line)" else f"not an object (got {_kind(value)})"))
            continue
        except RecursionError:
            errors.append(LineError(name, no, "", "too deeply nested"))
            continue
        if place.urn in seen:
            errors.append(LineError(name, no, "urn", f"duplicate urn (first on line {seen[place.urn]})"))
            continue
        seen[place.urn] = no
        places.append(place)
    if not places:
        detail = f" ({len(errors)} bad lines; first: {errors[0]})" if errors else " (the file is empty)"
        raise WorldError(f"no valid place in {path}{detail}")
    return LoadResult(places, errors, name)


def write_world(places: Iterable[Place], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for p in places:
            fh.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
