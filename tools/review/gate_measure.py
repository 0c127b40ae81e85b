"""How the reading gate's verdicts line up with blind reviews of model texts.

    python3 -m tools.review.gate_measure [DIR ...] [--list]

Each DIR holds a blind review: ``pairs.jsonl`` (facts, texts A and B), ``key.jsonl`` (which side
is the model's, ``"llm": "A"|"B"``; the other side is the template) and ``verdicts.jsonl`` (the
reader's ``score_A``/``score_B`` and the worst ``flaw``). Without DIR: the three model reviews
under docs/reviews/ and the built-in reviewed pairs of tests/data/review/. Prints, per set, how
many model texts scored <= 2 the gate refuses and how many scored >= 4 it refuses; ``--list``
prints every text with its score, the gate's reasons and the reader's flaw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.gate import check_text
from engine.world import parse_place

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIRS = ["docs/reviews/model-modes", "docs/reviews/model-enrich", "docs/reviews/model-enrich-dev",
                "tests/data/review/builtin-premium-reviewed.jsonl"]


def _jsonl(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def _place(uid: str, f: dict):
    return parse_place({"urn": uid if uid.startswith("urn:") else f"urn:flux:place:review:{uid}",
                        "name": f["name"], "description": {"base": f["base"]},
                        "weather": f["weather"], "resources": f["resources"], "events": f["events"]})


def rows(src: str) -> list[dict]:
    """(id, place, llm text, template, llm score, flaw) of every reviewed model text."""
    p = ROOT / src if not Path(src).is_absolute() else Path(src)
    out = []
    if p.is_file():
        for r in _jsonl(p):
            out.append({"id": r["urn"], "place": _place(r["urn"], r["facts"]), "llm": r["llm"],
                        "template": r["template"], "score": r["score_llm"], "flaw": r.get("flaw_of_the_other", "")})
        return out
    key = {k["id"]: k for k in _jsonl(p / "key.jsonl")}
    ver = {v["id"]: v for v in _jsonl(p / "verdicts.jsonl")}
    for r in _jsonl(p / "pairs.jsonl"):
        side = key[r["id"]]["llm"]
        other = "B" if side == "A" else "A"
        v = ver[r["id"]]
        out.append({"id": r["id"], "place": _place(r["id"], r["facts"]), "llm": r[side], "template": r[other],
                    "score": v[f"score_{side}"], "flaw": v.get("flaw", "")})
    return out


def measure(src: str, listing: bool = False) -> dict:
    low = high = low_ref = high_ref = tpl_ref = mid = mid_ref = 0
    for r in rows(src):
        v = check_text(r["place"], r["llm"], r["template"])
        t = check_text(r["place"], r["template"], r["template"])
        tpl_ref += not t.accepted
        if r["score"] <= 2:
            low += 1
            low_ref += not v.accepted
        elif r["score"] >= 4:
            high += 1
            high_ref += not v.accepted
        else:
            mid += 1
            mid_ref += not v.accepted
        if listing:
            mark = "REFUSED " if not v.accepted else "accepted"
            print(f"{r['id']}  score {r['score']}  {mark}  {r['llm']}")
            for reason in v.reasons:
                print(f"      - {reason}")
            print(f"      reader: {r['flaw']}")
    return {"set": src, "scored_le2": low, "refused_le2": low_ref, "scored_ge4": high, "refused_ge4": high_ref,
            "scored_3": mid, "refused_3": mid_ref,
            "templates_refused": tpl_ref}


def main(argv: list[str]) -> int:
    listing = "--list" in argv
    srcs = [a for a in argv if not a.startswith("--")] or DEFAULT_DIRS
    for s in srcs:
        m = measure(s, listing)
        print(f"{m['set']}: scored <=2 refused {m['refused_le2']}/{m['scored_le2']}; "
              f"scored >=4 refused {m['refused_ge4']}/{m['scored_ge4']}; "
              f"scored 3 refused {m['refused_3']}/{m['scored_3']}; templates refused {m['templates_refused']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
