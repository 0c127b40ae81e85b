"""The reviewed built-in pairs (tests/data/review/builtin-premium-reviewed.jsonl) for the gate's
tests: loading, the fixed split in two halves, and agreement with the reader.

The split is by a fixed hash of the urn (sha256, even -> the half the rules were written from,
odd -> the held-out half), so it never depends on the file's order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from engine.world import parse_place

REVIEWED = Path(__file__).parent / "data" / "review" / "builtin-premium-reviewed.jsonl"


def load(path: Path = REVIEWED) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def half(urn: str) -> int:
    """0: the half the rules were written from; 1: held out."""
    return int(hashlib.sha256(urn.encode("utf-8")).hexdigest(), 16) % 2


def place(row: dict):
    f = row["facts"]
    return parse_place({"urn": row["urn"], "name": f["name"], "description": {"base": f["base"]},
                        "weather": f["weather"], "resources": f["resources"], "events": f["events"]})


def expected(row: dict) -> str:
    """What the reader's review says of the LLM text: "accept" (scored 3+ and shipped or tied),
    "reject" (scored 2 or less), or "either" (scored 3+ but the template was shipped)."""
    if row["score_llm"] <= 2:
        return "reject"
    return "accept" if row["ship"] in ("llm", "same") else "either"


def agreement(rows: list[dict], check) -> dict:
    """The gate's decisions on ``rows`` against the reviews. ``check(row) -> accepted``."""
    out = {"n": len(rows), "reject_expected": 0, "rejected_of_those": 0, "accept_expected": 0,
           "accepted_of_those": 0, "either": 0, "accepted_of_either": 0, "scored_4_plus": 0, "accepted_4_plus": 0}
    for r in rows:
        acc = bool(check(r))
        e = expected(r)
        if e == "reject":
            out["reject_expected"] += 1
            out["rejected_of_those"] += not acc
        elif e == "accept":
            out["accept_expected"] += 1
            out["accepted_of_those"] += acc
        else:
            out["either"] += 1
            out["accepted_of_either"] += acc
        if r["score_llm"] >= 4:
            out["scored_4_plus"] += 1
            out["accepted_4_plus"] += acc
    decided = out["reject_expected"] + out["accept_expected"]
    out["agree_decided"] = out["rejected_of_those"] + out["accepted_of_those"]
    out["decided"] = decided
    # Strict reading: accept <-> scored 3+ and shipped or tied; everything else should be refused.
    out["agree_strict"] = out["agree_decided"] + (out["either"] - out["accepted_of_either"])
    return out
