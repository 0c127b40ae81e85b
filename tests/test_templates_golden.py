"""Every template text of the built-in world (and of edge-case places) is exactly what the golden
file pins (tests/golden/templates.json.gz, written by ``PYTHONPATH=. python -m tests.golden_templates``).
A change of wording regenerates it on purpose; an optimisation of the render path must not."""

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


def test_tables_stay_bounded_and_texts_unchanged_when_they_are_dropped(monkeypatch):
    import engine.templates as T

    monkeypatch.setattr(T, "_MAX_TABLES", 7)
    for table in (T._BASES, T._WEATHER, T._NEWS):
        table.clear()
    golden = G.read_golden()[:400]
    places = G.golden_places()[:400]
    assert [render_template(p) for p in places] == golden
    assert max(len(T._BASES), len(T._WEATHER), len(T._NEWS)) <= 7


def test_a_place_rebuilt_from_new_objects_reads_the_same():
    # the resources/events tables are looked up by identity: equal but distinct tuples must
    # give the same text (a miss rebuilds the entry), and a reused tuple must not go stale
    from engine.world import Event, Resource, make_place

    golden = G.read_golden()
    places = G.golden_places()
    for i in range(0, len(places), 97):
        p = places[i]
        q = make_place(p.urn, p.name, p.base, p.temperature, p.conditions, p.wind_speed,
                       [Resource(r.type, r.abundance) for r in p.resources],
                       [Event(e.type, e.significance, e.term, e.summary) for e in p.events])
        if q.seed == p.seed:
            assert render_template(q) == golden[i]
