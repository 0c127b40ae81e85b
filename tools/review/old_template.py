"""The template renderer as it was before weather, resources and news were phrased by what they are (a frozen copy, for blind old-vs-new reviews: tools/review/template_pairs.py).

Two or three sentences: the base description's opening, the weather, and (when there is
something to say) resources and the most significant event. Phrasing is picked from the
place's state hash (its seed), so the same state always reads the same and neighbouring places
do not read identically. Pure string work on precomputed tables (per place: the phrasings of its
base, name and conditions, and of its resources and events, built once): this is the hot path
(``texture bench`` measures renders/s).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from engine.world import Place

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


_TEMP_BOUNDS = tuple(bound for bound, _ in _TEMP_BANDS)
_TEMP_WORDS = tuple(words for _, words in _TEMP_BANDS)
_WIND_BOUNDS = tuple(bound for bound, _ in _WIND_BANDS)
_WIND_WORDS = tuple(words for _, words in _WIND_BANDS)
_LAST_TEMP = len(_TEMP_WORDS) - 1
_LAST_WIND = len(_WIND_WORDS) - 1


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


# Precomputed phrasing tables, so rendering is a few lookups and one concatenation.
#
# * Per (base, name, conditions) -- strings that rarely change when the weather does: the first
#   sentence with the capitalised opening of each of the four weather phrasings joined on, the
#   name put in, and the normalised conditions put into each phrasing's ending.
# * Per resources tuple and per events tuple (immutable; looked up by identity, the tuple kept in
#   the entry so its id cannot be reused): the third sentence's phrasings for every seed variant.
#   A place rebuilt from the same state (make_place keeps the tuples) hits these tables too.
#
# Every table is bounded (dropped and rebuilt on demand when it grows past _MAX_TABLES), and
# every entry is a pure function of its key, so the texts are exactly those of the plain code.
_MAX_TABLES = 20_000
_TABLES: dict[tuple[str, str, str], tuple[tuple[str, str, str], ...]] = {}
_RESOURCE_TABLES: dict[int, tuple] = {}
_EVENT_TABLES: dict[int, tuple] = {}


def _place_table(base: str, name: str, conditions: str) -> tuple[tuple[str, str, str], ...]:
    first = _first_sentence(base)
    cond = " ".join(conditions.split()).lower() or "changeable"
    n = name.strip() or "this place"
    table = tuple(
        (first + " " + _cap(a.replace("{n}", n)), b.replace("{n}", n), c + cond + d)
        for a, b, c, d in _WEATHER
    )
    if len(_TABLES) >= _MAX_TABLES:
        _TABLES.clear()
    _TABLES[(base, name, conditions)] = table
    return table


def _end(text: str) -> str:
    return text if text[-1] in _ENDS else text + "."


def _resource_table(resources: tuple) -> tuple:
    """(resources, kind, first[4], first_final[4], second[4], second_final[4]).

    kind 0 = nothing to say, 1 = abundant only, 2 = abundant and scarce, 3 = scarce only.
    "first" is the clause that opens the third sentence (with its leading space), "second" the
    scarce clause after a join; "_final" versions end the sentence (a full stop if needed).
    """
    abundant = [r.type for r in resources if r.abundance > 0.7]
    scarce = [r.type for r in resources if r.abundance < 0.3]
    first = first_final = second = second_final = ()
    if abundant:
        a = _join_list(abundant[:3])
        first = tuple(" " + _cap(t.replace("{r}", a)) for t in _ABUNDANT)
        first_final = tuple(_end(t) for t in first)
        if scarce:
            r = _join_list(scarce[:3])
            second = tuple(t.replace("{r}", r) for t in _SCARCE)
            second_final = tuple(_end(t) for t in second)
            kind = 2
        else:
            kind = 1
    elif scarce:
        r = _join_list(scarce[:3])
        first = tuple(" " + _cap(t.replace("{r}", r)) for t in _SCARCE_ALONE)
        first_final = tuple(_end(t) for t in first)
        kind = 3
    else:
        kind = 0
    entry = (resources, kind, first, first_final, second, second_final)
    if len(_RESOURCE_TABLES) >= _MAX_TABLES:
        _RESOURCE_TABLES.clear()
    _RESOURCE_TABLES[id(resources)] = entry
    return entry


def _event_table(events: tuple) -> tuple:
    """(events, phrasings[4] or None): the most significant event's sentence for each lead, as
    (alone, with its leading space; after a resources clause), both ending the sentence."""
    phrasings = None
    if events:
        top = events[0]
        for e in events:
            if e.significance > top.significance:
                top = e
        summary = " ".join(top.summary.split()).rstrip(".!? ")
        if summary:
            phrasings = []
            for lead in _EVENT:
                event = lead + (summary[0].lower() + summary[1:] if lead else _cap(summary))
                phrasings.append((" " + _end(event), _end(f", and {event[0].lower()}{event[1:]}")))
            phrasings = tuple(phrasings)
    entry = (events, phrasings)
    if len(_EVENT_TABLES) >= _MAX_TABLES:
        _EVENT_TABLES.clear()
    _EVENT_TABLES[id(events)] = entry
    return entry


def render_template(place: Place) -> str:
    """The template description of ``place``: 2-3 sentences, never empty, never raises."""
    s = place.seed
    base, name, conditions = place.base, place.name, place.conditions
    table = _TABLES.get((base, name, conditions))
    if table is None:
        table = _place_table(base, name, conditions)
    head, mid, tail = table[(s >> 4) % 4]
    i = bisect_right(_TEMP_BOUNDS, place.temperature)
    temp = _TEMP_WORDS[i if i <= _LAST_TEMP else _LAST_TEMP][s % 3]
    i = bisect_right(_WIND_BOUNDS, place.wind_speed)
    wind = _WIND_WORDS[i if i <= _LAST_WIND else _LAST_WIND][(s >> 2) % 3]

    resources = place.resources
    rt = _RESOURCE_TABLES.get(id(resources))
    if rt is None or rt[0] is not resources:
        rt = _resource_table(resources)
    events = place.events
    et = _EVENT_TABLES.get(id(events))
    if et is None or et[0] is not events:
        et = _event_table(events)
    kind, phrasings = rt[1], et[1]
    # Resources and the event share the third sentence, so there are never more than 3.
    if phrasings is None:
        if kind == 0:
            return f"{head}{temp}{mid}{wind}{tail}"
        if kind == 2:
            return f"{head}{temp}{mid}{wind}{tail}{rt[2][(s >> 6) % 4]}{_JOIN[(s >> 8) % 4]}{rt[5][(s >> 10) % 4]}"
        return f"{head}{temp}{mid}{wind}{tail}{rt[3][((s >> 6) if kind == 1 else (s >> 10)) % 4]}"
    alone, joined = phrasings[(s >> 12) % 4]
    if kind == 0:
        return f"{head}{temp}{mid}{wind}{tail}{alone}"
    if kind == 2:
        return f"{head}{temp}{mid}{wind}{tail}{rt[2][(s >> 6) % 4]}{_JOIN[(s >> 8) % 4]}{rt[4][(s >> 10) % 4]}{joined}"
    return f"{head}{temp}{mid}{wind}{tail}{rt[2][((s >> 6) if kind == 1 else (s >> 10)) % 4]}{joined}"


def template_sentences(place: Place) -> tuple[str, ...]:
    """The template of ``place`` as its sentences: the base's opening, the weather, and (when
    there is something to say) resources and the deciding event. ``" ".join(...)`` is exactly
    :func:`render_template`'s text. A per-sentence prompt (``${sentence}``) rewrites each one."""
    text = render_template(place)
    first = _first_sentence(place.base)
    table = _TABLES.get((place.base, place.name, place.conditions)) or _place_table(place.base, place.name, place.conditions)
    s = place.seed
    head, mid, tail = table[(s >> 4) % 4]
    i = bisect_right(_TEMP_BOUNDS, place.temperature)
    temp = _TEMP_WORDS[i if i <= _LAST_TEMP else _LAST_TEMP][s % 3]
    i = bisect_right(_WIND_BOUNDS, place.wind_speed)
    wind = _WIND_WORDS[i if i <= _LAST_WIND else _LAST_WIND][(s >> 2) % 3]
    weather = f"{head[len(first) + 1:]}{temp}{mid}{wind}{tail}"
    if not text.startswith(f"{first} {weather}"):  # never expected: the whole text, one sentence
        return (text,)
    rest = text[len(first) + 1 + len(weather):].strip()
    return (first, weather, rest) if rest else (first, weather)
