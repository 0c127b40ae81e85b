"""Canonical place-state hash and the deterministic seed derived from it.

This is the seed document's ``hashPlaceState``::

    JSON.stringify({place: urn, weather, resources: [{type, abundance: floor(a*100)}],
                    events: [{type, significance: floor(s*100)}]})

serialised as *canonical* JSON (sorted keys, no whitespace, integral floats written as
integers, UTF-8) so any language produces the same bytes, hashed with SHA-256; the seed is
the integer value of the first 8 hex digits. Test vectors live in ``tests/test_seeds.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


def _canon_number(x: Any) -> Any:
    # JSON.stringify writes 12.0 as 12; Python writes 12.0. Normalise so both agree.
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def canonical_state(urn: str, weather: dict, resources: list[dict], events: list[dict]) -> dict:
    return {
        "place": urn,
        "weather": {
            "temperature": _canon_number(weather["temperature"]),
            "conditions": weather["conditions"],
            "windSpeed": _canon_number(weather["windSpeed"]),
        },
        "resources": [
            {"type": r["type"], "abundance": math.floor(r["abundance"] * 100)} for r in resources
        ],
        "events": [
            {"type": e["type"], "significance": math.floor(e["significance"] * 100)} for e in events
        ],
    }


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def hash_state(urn: str, weather: dict, resources: list[dict], events: list[dict]) -> str:
    text = canonical_json(canonical_state(urn, weather, resources, events))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seed_from_hash(state_hash: str) -> int:
    return int(state_hash[:8], 16)
