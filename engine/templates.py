"""Deterministic template descriptions: the fallback that is always there.

Two or three sentences:

1. the base description's opening sentence (what the place is);
2. the weather, as one phrase with the place's name: temperature, wind and conditions together,
   each condition said as what it is (``engine.phrasing.weather``);
3. the news: the most significant event and the resources worth mentioning, phrased by what they
   are (``engine.phrasing.news``, ``engine.phrasing.goods``); news of significance 0.8 or more
   leads the sentence. With nothing to tell, the base's own second sentence (its flavour) is kept
   instead, so the place still sounds like itself.

Phrasing is picked from the place's state hash (its seed), so the same state always reads the
same and neighbouring places do not read alike. Rendering is a few lookups in precomputed tables
and one concatenation: this is the hot path (``texture bench`` measures renders/s).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from .phrasing import goods, news
from .phrasing.grammar import cap
from .phrasing.weather import TEMP_BOUNDS, TEMPS, WIND_BOUNDS, WINDS, weather_frames
from .world import Place

# (upper bound, plain words) per band; the fact checker reads the same bounds.
_TEMP_BANDS = tuple((b, tuple(w for w, tag in TEMPS[i] if not tag)) for i, b in enumerate(TEMP_BOUNDS))
_WIND_BANDS = tuple((b, WINDS[i][0]) for i, b in enumerate(WIND_BOUNDS))
_LAST_TEMP = len(TEMP_BOUNDS) - 1
_LAST_WIND = len(WIND_BOUNDS) - 1
ABUNDANT_ABOVE, SCARCE_BELOW = 0.7, 0.3
LEADS_AT = 0.8  # news at least this significant opens the third sentence
MAY_LEAD_AT = 0.5  # from here the seed may choose either order
MAX_LISTED = 4  # resources named per side (abundant, scarce); a longer list would not read
_ENDS = frozenset(".!?…\"'")
_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*\s")
_MAX_FLAVOUR = 200


def _first_sentence(base: str, limit: int = 240) -> str:
    """The base description's first sentence (whitespace collapsed, at most ``limit`` chars)."""
    base = " ".join(base.split())
    m = _SENTENCE_END.search(base)
    if m is not None and m.end() - 1 < limit:
        return base[: m.end() - 1]
    if len(base) > limit:
        base = base[:limit].rsplit(" ", 1)[0] + "…"
    return base if base[-1] in _ENDS else base + "."


def _flavour(base: str, first: str) -> str:
    """The base's second sentence when it is a whole, short sentence of its own ("" if not)."""
    rest = " ".join(base.split())[len(first):].strip()
    if not rest or not rest[0].isupper():
        return ""
    m = _SENTENCE_END.search(rest + " ")
    second = rest[: m.end() - 1] if m else ""
    if not second or len(second) > _MAX_FLAVOUR or second[-1] not in ".!?\"'’”":
        return ""
    return second


def _end(text: str) -> str:
    return text if text[-1] in _ENDS else text + "."


# Precomputed tables, bounded (dropped and rebuilt on demand past _MAX_TABLES); every entry is a
# pure function of its key, so the texts never depend on what was rendered before.
#
# * per base: (its first sentence, its flavour sentence);
# * per (conditions, temperature band, wind band): the weather sentence's phrasings, as (text
#   before the name, text after it);
# * per (resources tuple, events tuple, seed) -- tuples looked up by identity, kept in the entry
#   so an id cannot be reused: the third sentence ("" when there is nothing to tell).
_MAX_TABLES = 20_000
_BASES: dict[str, tuple[str, str]] = {}
_WEATHER: dict[tuple[str, int, int], tuple[tuple[str, str], ...]] = {}
_NEWS: dict[tuple[int, int, int], tuple] = {}


def _base_entry(base: str) -> tuple[str, str]:
    first = _first_sentence(base)
    entry = (first, _flavour(base, first))
    if len(_BASES) >= _MAX_TABLES:
        _BASES.clear()
    _BASES[base] = entry
    return entry


def _weather_entry(conditions: str, tb: int, wb: int) -> tuple[tuple[str, str], ...]:
    frames = weather_frames(conditions, tb, wb)
    if len(_WEATHER) >= _MAX_TABLES:
        _WEATHER.clear()
    _WEATHER[(conditions, tb, wb)] = frames
    return frames


def news_sentence(resources: tuple, events: tuple, seed: int) -> str:
    """The third sentence: the deciding event and the resources worth mentioning ("" if none)."""
    abundant = [r.type for r in resources if r.abundance > ABUNDANT_ABOVE][:MAX_LISTED]
    scarce = [r.type for r in resources if r.abundance < SCARCE_BELOW][:MAX_LISTED]
    stock = goods.sentences(abundant, scarce)
    top = None
    for e in events:
        if top is None or e.significance > top.significance:
            top = e
    told = news.phrasings(top.type, top.summary) if top is not None else ()
    if not told:
        return _end(cap(stock[(seed >> 7) % len(stock)])) if stock else ""
    if not stock:
        return _end(told[(seed >> 9) % len(told)])
    stock = [x for x in stock if ";" not in x] or [x.replace(";", ",") for x in stock]  # one semicolon at most
    mood = "mixed" if abundant and scarce else "good" if abundant else "bad"
    after = news.after_resources(top.type, top.summary, mood)
    sig = top.significance
    leads = sig >= LEADS_AT or not after or (sig >= MAY_LEAD_AT and (seed >> 13) & 1)
    if leads:
        plain = [t for t in told if ":" not in t] or told[:1]  # no colon lead-in before a semicolon
        return _end(plain[(seed >> 9) % len(plain)] + "; " + stock[(seed >> 7) % len(stock)])
    joint, clause = after[(seed >> 9) % len(after)]
    if joint == ", but ":  # "Horses are plentiful, but bandits raided the farms": one contrast only
        stock = [x for x in stock if not any(j in x for j in goods.JOINS)] or stock
    return _end(cap(stock[(seed >> 7) % len(stock)]) + joint + clause)


def _news_entry(resources: tuple, events: tuple, seed: int) -> tuple:
    entry = (resources, events, news_sentence(resources, events, seed))
    if len(_NEWS) >= _MAX_TABLES:
        _NEWS.clear()
    _NEWS[(id(resources), id(events), seed)] = entry
    return entry


def render_template(place: Place) -> str:
    """The template description of ``place``: 2-3 sentences, never empty, never raises."""
    s = place.seed
    base = place.base
    be = _BASES.get(base)
    if be is None:
        be = _base_entry(base)
    i = bisect_right(TEMP_BOUNDS, place.temperature)
    tb = i if i <= _LAST_TEMP else _LAST_TEMP
    i = bisect_right(WIND_BOUNDS, place.wind_speed)
    wb = i if i <= _LAST_WIND else _LAST_WIND
    conditions = place.conditions
    frames = _WEATHER.get((conditions, tb, wb))
    if frames is None:
        frames = _weather_entry(conditions, tb, wb)
    pre, post = frames[s % len(frames)]
    name = place.name.strip() or "this place"
    if not pre:
        name = name[:1].upper() + name[1:]
    resources, events = place.resources, place.events
    ne = _NEWS.get((id(resources), id(events), s))
    if ne is None or ne[0] is not resources or ne[1] is not events:
        ne = _news_entry(resources, events, s)
    third = ne[2] or be[1]
    if third:
        return f"{be[0]} {pre}{name}{post} {third}"
    return f"{be[0]} {pre}{name}{post}"


def template_sentences(place: Place) -> tuple[str, ...]:
    """The template of ``place`` as its sentences: the base's opening, the weather, and (when
    there is something to say) the news or the base's flavour. ``" ".join(...)`` is exactly
    :func:`render_template`'s text. A per-sentence prompt (``${sentence}``) rewrites each one."""
    text = render_template(place)
    first = _BASES.get(place.base) or _base_entry(place.base)
    third = news_sentence(place.resources, place.events, place.seed) or first[1]
    head = first[0] + " "
    if not text.startswith(head):  # never expected: the whole text, one sentence
        return (text,)
    rest = text[len(head):]
    if third and rest.endswith(" " + third):
        return (first[0], rest[: -len(third) - 1], third)
    return (first[0], rest) if rest else (first[0],)
