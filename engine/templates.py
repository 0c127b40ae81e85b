"""Deterministic template descriptions: the fallback that is always there.

Two or three sentences:

1. the base description's opening sentence (what the place is);
2. the weather, as one phrase with the place's name: temperature, wind and conditions together,
   each condition said as what it is (``engine.phrasing.weather``);
3. the news: the most significant event, told as it is and first, then the resources worth
   mentioning as a plain second clause (or "with few horses left" after a calamity), phrased by
   what they are (``engine.phrasing.news``, ``engine.phrasing.goods``). With nothing to tell, the
   base's own second sentence (its flavour) is kept instead, so the place still sounds like itself.

Phrasing is picked from the place's state hash (its seed), so the same state always reads the
same and neighbouring places do not read alike. Rendering is a few lookups in precomputed tables
and one concatenation: this is the hot path (``texture bench`` measures renders/s).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from .phrasing import goods, news
from .phrasing.news import grave_news
from .phrasing.grammar import cap, content_words, place_name, plural_name
from .phrasing.forecast import weather_frames
from .phrasing.goods import said_in as _said_in, said_words as _said_words
from .phrasing.weather import TEMP_BANDS, TEMP_BOUNDS, WIND_BANDS, WIND_BOUNDS
from .validate import looks_like_instruction
from .world import Place

# (upper bound, plain words) per band; the fact checker reads the same bounds.
_TEMP_BANDS, _WIND_BANDS = TEMP_BANDS, WIND_BANDS
_LAST_TEMP = len(TEMP_BOUNDS) - 1
_LAST_WIND = len(WIND_BOUNDS) - 1
ABUNDANT_ABOVE, SCARCE_BELOW = 0.7, 0.3
MAX_LISTED = 4  # resources named per side (abundant, scarce); a longer list would not read
_ENDS = frozenset(".!?…\"'")
_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*\s")
_MAX_FLAVOUR = 200
# a stop after these is an abbreviation, not a sentence end ("St. Moritz", "Mt. Cook", "e.g. the")
ABBREVIATIONS = frozenset("""st sta sto sct skt sv mt mts ste dr mr mrs ms messrs prof rev fr sr jr hon gov gen col capt cpt lt sgt maj
    cmdr adm rd ave av blvd ft pt sq nr approx ca cf vs viz etc al inc ltd co corp bros dept univ est fig figs vol
    vols ed eds jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat sun e.g i.e
    a.m p.m u.s u.k a.d b.c n.b p.s""".split())
_NUMBERED = frozenset("no nos nr pp p op art vol ch sec rs rp ksh sh".split())  # "No. 7", "pp. 12"


def sentence_end(text: str, start: int = 0) -> "re.Match | None":
    """The first sentence end in ``text`` from ``start`` (a stop, ! or ?, closing quotes, then a
    space) that is not an abbreviation's stop ("St. Moritz", "e.g. the", "No. 7", "J. R. Hartley")
    and is followed by what can start a sentence."""
    for m in _SENTENCE_END.finditer(text, start):
        if text[m.start()] == ".":
            word = re.search(r"(?:^|[\s(\"'‘“])([^\s(\"'‘“]*)$", text[: m.start()])
            w = (word.group(1) if word else "").lower()
            nxt = text[m.end():m.end() + 1]
            if w in ABBREVIATIONS and not (w == "etc" and nxt.isupper()):
                continue
            if w in _NUMBERED and nxt.isdigit():
                continue
            if (len(w) == 1 and w.isalpha() or re.fullmatch(r"(?:[a-z]\.)+[a-z]", w)) and text[m.start() - 1].isupper():
                continue  # an initial: "J. R. Hartley", "V.C. Bird International Airport"
            if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in "\"'‘“(["):
                continue  # "the 3 p.m. ferry", a stop followed by a lower-case word
        return m
    return None


def _first_sentence(base: str, limit: int = 240) -> str:
    """The base description's first sentence (whitespace collapsed, at most ``limit`` chars)."""
    base = " ".join(base.split())
    m = sentence_end(base + " ")
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
    m = sentence_end(rest + " ")
    second = rest[: m.end() - 1] if m else ""
    if not second or len(second) > _MAX_FLAVOUR or second[-1] not in ".!?\"'’”":
        return ""
    if looks_like_instruction(second):  # world text is untrusted: never hand an instruction on
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
    """The third sentence: the deciding event, told plainly and first, with the resources worth
    mentioning folded in after it ("..., with plenty of peat but little ale"); the resources
    alone when there is no news ("" if there is nothing to tell)."""
    abundant = [r.type for r in resources if r.abundance > ABUNDANT_ABOVE][:MAX_LISTED]
    scarce = [r.type for r in resources if r.abundance < SCARCE_BELOW][:MAX_LISTED]
    gone = frozenset(" ".join(r.type.split()) for r in resources if r.abundance < goods.NONE_BELOW)
    top = None
    for e in events:
        if top is None or e.significance > top.significance:
            top = e
    if top is not None and (abundant or scarce):
        # a resource the news itself speaks of ("the ferryman will not cross", "the wire to the
        # fort is down") is not listed again after it: "...; there are few ferrymen" reads clumsy
        said = _said_words(top.summary)
        living = goods.LIVING
        abundant = [r for r in abundant if not (_said_in(r, said) and goods.understand(r)[0] in living)]
        scarce = [r for r in scarce if not (_said_in(r, said) and goods.understand(r)[0] in living)]
    told = news.phrasings(top.type, top.summary) if top is not None else ()
    if not told:
        stock = goods.sentences(abundant, scarce, gone)
        return _end(cap(stock[(seed >> 7) % len(stock)])) if stock else ""
    lead = told[(seed >> 9) % len(told)]
    if abundant and grave_news(top):
        # "Eleven men are still below; ... copper ore is plentiful": plenty beside grave news reads
        # as callous or as a contradiction ("flocks are dying; sheep are plentiful"), so it is left
        # out (a minor detail); a shortage still reads as part of the news
        abundant = []
    if not (abundant or scarce):
        return _end(lead)
    stock = goods.sentences(abundant, scarce, gone)
    if content_words(lead) & content_words(" ".join(abundant + scarce)) and news.kind(top.type, top.summary) != news.CALAMITY:
        # the news names the resource ("the apricot harvest begins"): the stock first, as its
        # cause, never "..., and there are apricots in plenty" after it
        mood = "bad" if scarce and not abundant else ("good" if abundant and not scarce else "mixed")
        after = news.after_resources(top.type, top.summary, mood)
        if after:
            joint, body = after[0]
            named = _named_at_start(body, abundant + scarce)
            if named and scarce == [named] and not abundant and goods.understand(named)[0] != goods.PEOPLE:
                return _end("Supplies are running low" + joint + body)  # the news names what is short
            return _end(cap(stock[(seed >> 7) % len(stock)]) + joint + body)
        first = lead.split(" ", 1)[0]
        if content_words(first) & content_words(" ".join(abundant + scarce)) and first[1:].islower():
            # "Cotton prices have doubled": its first word is the resource, a common noun
            rest = lead[len(first):]
            if scarce == [first.lower()] and not abundant and goods.understand(first)[0] != goods.PEOPLE:
                # "Supplies are running low; ice is being rationed", never "Ice is running low; ice is..."
                return _end("Supplies are running low; " + first.lower() + rest)
            return _end(cap(stock[(seed >> 7) % len(stock)]) + "; " + first.lower() + rest)
    if news.ends_in_role(top.summary):  # "...visit the shrine; salt is scarce", never "the shrine, with salt"
        return _end(lead + "; " + stock[(seed >> 7) % len(stock)])
    if ";" in lead:  # "The abbot died at dawn; his body will lie in state": no third semicolon
        tail = [x for x in (y.replace(", but ", " but ").replace(", though ", " though ").replace(", while ", " while ")
                            .replace(", and ", " and ") for y in stock) if ", " not in x]
        return _end(lead + (", and " + tail[(seed >> 7) % len(tail)] if tail else ""))
    if " and " in lead or news.kind(top.type, top.summary) == news.CALAMITY:
        # a summary already joined with "and", or grave news: the stock after a semicolon, never
        # a second "and" nor a supply note tacked onto a death with "and"
        tail = stock[(seed >> 7) % len(stock)]
        return _end(lead + "; " + (tail.replace(", and ", " and ") if " and " in lead else tail))
    # otherwise a plain second clause, never "twins, with plenty of coffee" (a "with" would
    # attach the stock to whatever the news ends on)
    short = [x.replace(", but ", " but ").replace(", though ", " though ").replace(", while ", " while ")
             for x in stock if ", " not in x]  # one side only: "x but y" after ", and" is a run-on
    if not short or len(lead) + len(short[0]) > 150 or (len(lead) > 90 and ", " in lead):
        # a long news item or a long list of supplies: the two halves after a semicolon, never
        # "..., with plenty of rice and boatmen aplenty but fish sauce in short supply"
        return _end(lead + "; " + stock[(seed >> 7) % len(stock)])
    return _end(lead + "; " + short[(seed >> 7) % len(short)])  # readers prefer the semicolon to a bare "and"


def _named_at_start(body: str, names: list[str]) -> str:
    """The resource a news clause opens on ("ice is being rationed" -> "ice"), "" if none."""
    low = body.lower()
    for n in sorted(names, key=len, reverse=True):
        k = " ".join(n.split()).lower()
        if low.startswith(k + " ") and low[len(k) + 1:].split(" ", 1)[0] in ("is", "are", "was", "were", "has", "have", "will"):
            return body[: len(k)]
    return ""


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
    name = place_name(place.name.strip()) or "this place"
    if not pre:
        name = name[:1].upper() + name[1:]
    elif name.startswith("The ") and name[4:5].isupper():
        name = "the " + name[4:]  # "Under clear skies, the Isvägen Crossing"
    if post.startswith((" is ", " lies ")) and plural_name(place.name):
        post = (" are " if post.startswith(" is ") else " lie ") + post.split(" ", 2)[2]  # "the Quarries are hot"
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
