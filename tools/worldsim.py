"""A small world server to test the texture service against: it mutates a world file the way a
simulation would, at a chosen rate.

    python -m tools.worldsim --world world.jsonl --init --rate 0.1 --every 30

Each step picks ``rate`` of the places at random (seeded) and, for each: the weather drifts
(temperature ±0.5–3 °C, wind ±0–2, now and then new conditions), resources rise and fall
(abundance ±0.05–0.2, clamped to 0..1), and events appear (20 %: a new event with a random
significance and term) or expire (20 %: the oldest one goes). Every mutated place's state changes.

Writing (``--mode``): ``rename`` (default) writes a temporary file beside it, fsyncs it and
renames it over the world file (readers see the old or the new file, never half of one);
``inplace`` truncates and rewrites the file itself (readers may see it half-written);
``append`` appends one line per mutated place (a later line for an urn updates it).

``--steps N`` stops after N steps; ``--stdin`` waits for a line on stdin before each step
instead of ``--every`` seconds and prints ``step N: K places changed`` after it (a handshake
for tests, which must not synchronise by sleeping).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

CONDITIONS = ("clear", "light rain", "heavy rain", "fog", "overcast", "snow", "drizzle", "windy", "storm", "haze")
EVENT_TYPES = ("market", "festival", "flood", "fire", "caravan", "sickness", "bandits", "harvest", "storm damage", "pilgrims")
TERMS = ("immediate", "short", "medium", "long", "permanent")


def read_places(path: Path) -> list[dict]:
    """The world as dicts, one per urn (a later line for an urn wins, as the service reads it)."""
    by: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            by[d["urn"]] = d
    return list(by.values())


def mutate(place: dict, rng: random.Random, step: int) -> dict:
    p = json.loads(json.dumps(place))
    w = p.setdefault("weather", {"temperature": 10.0, "conditions": "clear", "windSpeed": 5.0})
    delta = rng.uniform(0.5, 3.0) * rng.choice((-1, 1))
    w["temperature"] = round(max(-60.0, min(60.0, float(w.get("temperature", 10.0)) + delta)), 1)
    w["windSpeed"] = round(max(0.0, min(150.0, float(w.get("windSpeed", 5.0)) + rng.uniform(-2.0, 2.0))), 1)
    if rng.random() < 0.2:
        w["conditions"] = rng.choice(CONDITIONS)
    for r in p.get("resources", []):
        r["abundance"] = round(max(0.0, min(1.0, float(r["abundance"]) + rng.uniform(0.05, 0.2) * rng.choice((-1, 1)))), 2)
    events = p.setdefault("events", [])
    roll = rng.random()
    if roll < 0.2 and len(events) < 8:
        kind = rng.choice(EVENT_TYPES)
        events.append({"type": kind, "significance": round(rng.uniform(0.1, 0.95), 2), "term": rng.choice(TERMS),
                       "summary": f"A {kind} (step {step}) draws talk across the square."})
    elif roll < 0.4 and events:
        events.pop(0)
    return p


def write(path: Path, places: list[dict], mode: str, changed: list[dict] | None = None) -> None:
    if mode == "append":
        with open(path, "a", encoding="utf-8") as fh:
            for p in changed or []:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
            fh.flush()
        return
    data = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in places)
    if mode == "inplace":
        with open(path, "r+" if path.exists() else "w", encoding="utf-8") as fh:
            fh.truncate(0)
            fh.write(data)
            fh.flush()
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def init_world(path: Path, limit: int | None = None) -> int:
    from engine.builtin_world import builtin_world

    places = [p.to_json() for p in builtin_world()][:limit]
    write(path, places, "rename")
    return len(places)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.worldsim", description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--init", action="store_true", help="first write the built-in world to --world (if it does not exist)")
    ap.add_argument("--places", type=int, default=None, help="with --init: only the first N built-in places")
    ap.add_argument("--rate", type=float, default=0.1, help="share of places mutated per step (default 0.1)")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between steps (default 30)")
    ap.add_argument("--steps", type=int, default=None, help="stop after N steps (default: run until stopped)")
    ap.add_argument("--mode", choices=("rename", "inplace", "append"), default="rename")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stdin", action="store_true", help="wait for a line on stdin before each step (tests)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not 0.0 < args.rate <= 1.0:
        ap.error("--rate must be above 0 and at most 1")
    if args.init and not args.world.exists():
        n = init_world(args.world, args.places)
        if not args.quiet:
            print(f"wrote {n} built-in places to {args.world}", flush=True)
    if not args.world.exists():
        ap.error(f"{args.world} does not exist (use --init to write the built-in world)")
    rng = random.Random(args.seed)
    places = read_places(args.world)
    step = 0
    try:
        while args.steps is None or step < args.steps:
            if args.stdin:
                if not sys.stdin.readline():
                    break
            elif step:
                time.sleep(args.every)
            step += 1
            k = max(1, round(args.rate * len(places)))
            idx = rng.sample(range(len(places)), k)
            changed = []
            for i in idx:
                places[i] = mutate(places[i], rng, step)
                changed.append(places[i])
            write(args.world, places, args.mode, changed)
            if not args.quiet or args.stdin:
                print(f"step {step}: {k} places changed ({args.mode})", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
