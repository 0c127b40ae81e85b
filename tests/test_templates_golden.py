"""Every template text of the built-in world (and of edge-case places) is exactly what the
render path produced before it was optimised (tests/golden/templates.json.gz, written by
``python -m tests.golden_templates`` from the unoptimised code)."""

from __future__ import annotations

import golden_templates as G

from engine.templates import render_template


def test_golden_file_covers_the_whole_builtin_world_and_the_edge_cases():
    golden = G.read_golden()
    assert len(golden) == len(G.golden_places()) > 1500 + 10_000


def test_every_rendered_text_matches_the_golden_file():
    golden = G.read_golden()
    places = G.golden_places()
    texts = G.render_all(render_template)
    diffs = [(i, places[i].urn, g, t) for i, (g, t) in enumerate(zip(golden, texts)) if g != t]
    assert not diffs, f"{len(diffs)} texts changed; first: {diffs[0]}"


def test_rendering_twice_gives_the_same_texts():
    # precomputed tables must not leak one place's phrasing into another's
    places = G.golden_places()
    first = [render_template(p) for p in places]
    assert [render_template(p) for p in reversed(places)][::-1] == first
