"""Deterministic template descriptions: the fallback that is always there.

Two or three sentences: the base description's opening, the weather, and (when there is
something to say) resources and the most significant event. Phrasing is picked from the
place's state hash (its seed), so the same state always reads the same and neighbouring places
do not read identically. Pure string work on precomputed tables: this is the hot path
(``texture bench`` measures renders/s).
"""

from __future__ import annotations

import re

from .world import Place

# Weather phrasing. Each bank is indexed by bits of the seed.
_TEMP_BANDS = (  # (upper bound °C, words)
    (-20.0, ("bitterly cold", "deathly cold", "frozen hard")),
    (0.0, ("freezing", "icy cold", "raw and frozen")),
    (10.0, ("cold", "chilly", "cool and damp")),
    (18.0, ("cool", "mild", "fresh")),
    (26.0, ("warm", "pleasantly warm", "balmy")),
    (35.0, ("hot", "sweltering", "close and hot")),
    (999.0, ("scorching", "blisteringly hot", "baking")),
)
_WIND_BANDS = (  # (upper bound mph, phrases)
    (3.0, ("under still air", "without a breath of wind", "in the windless calm")),
    (12.0, ("under a light breeze", "as a soft breeze stirs", "with a gentle wind")),
    (25.0, ("in a steady wind", "as a brisk wind blows", "with a stiff breeze")),
    (45.0, ("in strong winds", "as hard gusts batter everything", "under a roaring wind")),
    (999.0, ("in a howling gale", "as a gale tears at every roof", "under storm-force winds")),
)
# (prefix, between temperature and wind, between wind and conditions, suffix); name goes in front.
_WEATHER = (
    ("It is ", " at {n} ", ", in ", " conditions."),
    ("{n} lies ", " ", "; conditions are ", "."),
    ("The day is ", " at {n} ", ", and the weather is ", "."),
    ("All is ", " around {n} ", ", under ", " conditions."),
)
_ABUNDANT = ("There is no shortage of {r}", "Stores of {r} run high", "{r} can be had in plenty", "Nobody here lacks {r}")
_SCARCE = ("supplies of {r} run low", "{r} can hardly be found", "stores of {r} are nearly gone", "there is a shortage of {r}")
_SCARCE_ALONE = ("Supplies of {r} run low", "{r} can hardly be found", "Stores of {r} are nearly gone", "There is a shortage of {r}")
_JOIN = ("; ", ", while ", ", though ", ", but ")
_EVENT = ("", "Word travels fast: ", "Everyone is talking about it: ", "Lately, ")
_ENDS = frozenset(".!?…\"'")


def _band(value: float, bands) -> tuple:
    for bound, words in bands:
        if value < bound:
            return words
    return bands[-1][1]


_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*\s")


def _first_sentence(base: str, limit: int = 240) -> str:
    """The base description's first sentence (whitespace collapsed, at most ``limit`` chars)."""
    base = " ".join(base.split())
    m = _SENTENCE_END.search(base)
    if m is not None and m.end() - 1 < limit:
        return base[: m.end() - 1]
    if len(base) > limit:
        base = base[:limit].rsplit(" ", 1)[0] + "…"
    return base if base[-1] in _ENDS else base + "."


def _join_list(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_template(place: Place) -> str:
    """The template description of ``place``: 2-3 sentences, never empty, never raises."""
    s = place.seed
    first = _first_sentence(place.base)

    temp = _band(place.temperature, _TEMP_BANDS)[s % 3]
    wind = _band(place.wind_speed, _WIND_BANDS)[(s >> 2) % 3]
    cond = " ".join(place.conditions.split()).lower() or "changeable"
    a, b, c, d = _WEATHER[(s >> 4) % 4]
    name = place.name.strip() or "this place"
    weather = _cap(a.replace("{n}", name) + temp + b.replace("{n}", name) + wind + c + cond + d)

    abundant = [r.type for r in place.resources if r.abundance > 0.7]
    scarce = [r.type for r in place.resources if r.abundance < 0.3]
    third = ""
    if abundant:
        third = _cap(_ABUNDANT[(s >> 6) % 4].replace("{r}", _join_list(abundant[:3])))
        if scarce:
            third += _JOIN[(s >> 8) % 4] + _SCARCE[(s >> 10) % 4].replace("{r}", _join_list(scarce[:3]))
    elif scarce:
        third = _cap(_SCARCE_ALONE[(s >> 10) % 4].replace("{r}", _join_list(scarce[:3])))
    if place.events:
        top = place.events[0]
        for e in place.events:
            if e.significance > top.significance:
                top = e
        summary = " ".join(top.summary.split()).rstrip(".!? ")
        if summary:
            lead = _EVENT[(s >> 12) % 4]
            event = lead + (summary[0].lower() + summary[1:] if lead else _cap(summary))
            # Resources and the event share the third sentence, so there are never more than 3.
            third = f"{third}, and {event[0].lower()}{event[1:]}" if third else event
    if third:
        if third[-1] not in _ENDS:
            third += "."
        return f"{first} {weather} {third}"
    return f"{first} {weather}"
