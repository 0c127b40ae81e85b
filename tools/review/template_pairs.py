"""Pairs for a blind review of the templates: old renderer vs new, in random (seeded) order.

    python -m tools.review.template_pairs WORLD.jsonl [WORLD.jsonl ...] --out pairs.jsonl --key key.jsonl [--seed N]

Writes (a) ``--out``: one line per place with an ``id``, its ``facts`` (name, base, weather,
resources, events) and two texts ``A`` and ``B`` -- nothing in it says which is which; (b)
``--key``: ``{"id": ..., "new": "A" | "B"}`` per line, kept apart from the reader. The old text is
``tools/review/old_template.py`` (the renderer before this change), the new one
``engine.templates.render_template``. The review method: ``shared/review/README.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from engine.templates import render_template
from engine.world import WorldError, load_world
from tools.review import old_template


def facts(place) -> dict:
    d = place.to_json()
    return {"name": d["name"], "base": d["description"]["base"], "weather": d["weather"],
            "resources": d["resources"], "events": d["events"]}


def pairs(paths: list[str], seed: int = 0) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    rows, key = [], []
    for path in paths:
        for place in load_world(path).places:
            old, new = old_template.render_template(place), render_template(place)
            new_side = rng.choice("AB")
            pid = ""
            a, b = (new, old) if new_side == "A" else (old, new)
            rows.append({"id": pid, "facts": facts(place), "A": a, "B": b})
            key.append({"id": pid, "urn": place.urn, "new": new_side})
    order = list(range(len(rows)))
    rng.shuffle(order)  # worlds interleaved, so the reader cannot tell them apart by position either
    rows, key = [rows[i] for i in order], [key[i] for i in order]
    for n, (row, k) in enumerate(zip(rows, key), 1):  # ids say nothing about the world or the side
        row["id"] = k["id"] = f"p{n:03d}"
    return rows, key


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write blind old-vs-new template pairs and their key.")
    ap.add_argument("worlds", nargs="+", help="world files (JSON Lines)")
    ap.add_argument("--out", required=True, help="the reader's file (JSONL): facts and texts A/B")
    ap.add_argument("--key", required=True, help="the key (JSONL): which side is new; keep it from the reader")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if Path(args.out).resolve() == Path(args.key).resolve():
        print("error: --out and --key must be different files", file=sys.stderr)
        return 2
    try:
        rows, key = pairs(args.worlds, args.seed)
    except WorldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, items in ((args.out, rows), (args.key, key)):
        with open(path, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} pairs to {args.out} and the key to {args.key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
