"""The base description's first sentence is not cut at an abbreviation's stop ("St. Moritz",
"Mt. Cook", "e.g.", "No. 7", an initial), and still ends at a real sentence end."""

from __future__ import annotations

import pytest

from engine.templates import _first_sentence, _flavour, render_template, template_sentences
from engine.world import make_place


@pytest.mark.parametrize("base, first", [
    ("Riders go head-first on skeletons from St. Moritz down to Celerina. The bend is notorious.",
     "Riders go head-first on skeletons from St. Moritz down to Celerina."),
    ("The hut below Mt. Cook sleeps twelve. Keas steal boots.", "The hut below Mt. Cook sleeps twelve."),
    ("Dr. Gray's surgery, No. 7 on the quay, opens at 9 a.m. on weekdays. It smells of ether.",
     "Dr. Gray's surgery, No. 7 on the quay, opens at 9 a.m. on weekdays."),
    ("Boats of every kind, e.g. yoles and sixareens, i.e. the old craft, line the beach. Gulls wait.",
     "Boats of every kind, e.g. yoles and sixareens, i.e. the old craft, line the beach."),
    ("Nets, creels, floats etc. are piled by the store. A dog sleeps.", "Nets, creels, floats etc. are piled by the store."),
    ("J. R. Hartley kept the bookshop. It is shut now.", "J. R. Hartley kept the bookshop."),
    ("Jets land at V.C. Bird International Airport all day. Taxis wait.", "Jets land at V.C. Bird International Airport all day."),
    ("A mill. A pond.", "A mill."),
    ("What a view! Rain comes.", "What a view!"),
])
def test_the_first_sentence_ends_at_a_sentence_end_not_an_abbreviation(base, first):
    assert _first_sentence(base) == first
    rest = base[len(first):].strip()
    assert _flavour(base, first) == rest


def test_a_rendered_template_keeps_the_whole_place_name():
    p = make_place("urn:flux:place:t:cresta", "Cresta Run", "A natural ice run from St. Moritz down to Celerina.",
                   -5.0, "mostly sunny", 3.0, [], [])
    text = render_template(p)
    assert text.startswith("A natural ice run from St. Moritz down to Celerina. ")
    assert template_sentences(p)[0] == "A natural ice run from St. Moritz down to Celerina."
