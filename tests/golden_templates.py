"""The places whose template texts are pinned by tests/golden/templates.json.gz.

``python -m tests.golden_templates`` regenerates the golden file from the current
``engine.templates.render_template`` (only do that on purpose: the file exists to prove that
an optimisation of the render path changes no rendered text).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from engine.builtin_world import builtin_world
from engine.world import Event, Place, Resource

GOLDEN = Path(__file__).parent / "golden" / "templates.json.gz"

_BASES = (
    "A mill of grey stone sits beside a slow river. Carts come and go.",
    "  A   ruined\n\twatchtower   clings to a rise!  Nobody lives here.  ",
    "No sentence end at all",
    "Ends with an ellipsis… and goes on. Second.",
    'He said "Stop." Then left.',
    "Quoted end.' Next one.",
    "Bracketed (see below.) More text.",
    "One sentence only.",
    "Question? Answer.",
    "word " * 80,
    "x" * 300,
    "A" * 239 + ". Tail.",
    "A" * 240 + ". Tail.",
    "Ünïcödé plätz — with dashes. And more.",
    "a",
    "Trailing quote\"",
)
_NAMES = ("Old Mill", "", "   ", "  Padded Name  ", "ünïcode Hall", "x")
_TEMPS = (-50.0, -20.0, -20.000001, -5.0, 0.0, 9.99, 10.0, 18.0, 25.9, 26.0, 34.9, 35.0, 60.0, 999.0, 1500.0)
_WINDS = (0.0, 2.99, 3.0, 11.9, 12.0, 25.0, 30.0, 45.0, 100.0, 999.0, 2000.0)
_CONDS = ("light rain", "", "  HEAVY   Snow ", "Clear")
_RES = (
    (),
    (Resource("timber", 0.9),),
    (Resource("fresh water", 0.1),),
    (Resource("timber", 0.9), Resource("clay", 0.5), Resource("fresh water", 0.1)),
    (Resource("a", 0.71), Resource("b", 0.8), Resource("c", 0.99), Resource("d", 1.0)),
    (Resource("a", 0.29), Resource("b", 0.0), Resource("c", 0.2), Resource("d", 0.1)),
    (Resource("edge hi", 0.7), Resource("edge lo", 0.3)),
    (Resource("a", 0.9), Resource("b", 0.9), Resource("c", 0.1), Resource("d", 0.1), Resource("e", 0.1)),
)
_EVENTS = (
    (),
    (Event("fire", 0.7, "long", "A fire gutted the granary."),),
    (Event("fire", 0.4, "short", "A small fire broke out."), Event("flood", 0.9, "long", "The river burst its banks!")),
    (Event("x", 0.5, "short", "   "),),
    (Event("x", 0.5, "short", "..."),),
    (Event("x", 0.5, "short", "lowercase start, no stop"),),
    (Event("x", 0.5, "short", "Tie one."), Event("y", 0.5, "short", "Tie two.")),
    (Event("x", 0.5, "short", "  Spaced \n  summary  ?! "),),
    (Event("x", 0.5, "short", "É accent"),),
)


def edge_places() -> list[Place]:
    """Places built directly (explicit seeds), covering every table and boundary."""
    out: list[Place] = []
    i = 0
    for b in _BASES:
        for n in _NAMES:
            i += 1
            out.append(Place(f"urn:flux:place:e:{i}", n, b, 12.0, "light rain", 8.0, (), (), "h", i * 2654435761 % (1 << 32)))
    for t in _TEMPS:
        for w in _WINDS:
            for c in _CONDS:
                for s in range(0, 64, 5):
                    i += 1
                    out.append(Place(f"urn:flux:place:e:{i}", "Old Mill", _BASES[0], t, c, w, (), (), "h", s))
    for r in _RES:
        for e in _EVENTS:
            for s in range(0, 1 << 14, 331):
                i += 1
                out.append(Place(f"urn:flux:place:e:{i}", "Old Mill", _BASES[0], 12.0, "light rain", 8.0, r, e, "h", s))
    return out


def golden_places() -> list[Place]:
    return builtin_world() + edge_places()


def render_all(render) -> list[str]:
    return [render(p) for p in golden_places()]


def write_golden() -> None:
    from engine.templates import render_template

    texts = render_all(render_template)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_bytes(gzip.compress(json.dumps(texts, ensure_ascii=False, indent=0).encode("utf-8"), mtime=0))
    print(f"wrote {len(texts)} texts to {GOLDEN}")


def read_golden() -> list[str]:
    return json.loads(gzip.decompress(GOLDEN.read_bytes()).decode("utf-8"))


if __name__ == "__main__":
    write_golden()
