"""News: an event's summary, told as it is, and what is read from it.

The summary is kept word for word (the fact). What is read from it:

* its **tense**: past ("went", "raided ... two nights ago"), present perfect ("has spread"),
  ongoing ("is lodging this week", "fills the square"), a standing state ("still stands",
  "remains closed") or the future ("will arrive", "is expected");
* whether it already says **when** ("yesterday", "this week", "ago"), so no lead-in adds a
  second time ("lately, ... yesterday");
* its **kind** (a calamity, a celebration, an arrival, a discovery), from the event type and the
  summary's words.

No lead-in is added ("Word has it that", "For now,": announcer filler that turns hard news into
gossip); the table stays so a lead-in that fits all three can be added for a world that needs one.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .grammar import WORD, cap, is_plural

PAST, PERFECT, ONGOING, STATE, FUTURE = "past", "perfect", "ongoing", "state", "future"
CALAMITY, CELEBRATION, ARRIVAL, DISCOVERY, OTHER = "calamity", "celebration", "arrival", "discovery", "other"

_KINDS = {
    CALAMITY: """plague sickness fever disease pox cholera epidemic outbreak fire blaze flood flooded floodwater raid
        raided raiders attack attacked war siege drought famine earthquake tremor quake storm collapse collapsed
        eruption erupted landslide avalanche murder murdered death died dead killed riot unrest bandits wolves
        blight locusts shipwreck wreck wrecked damage burned burnt gutted sank mutiny rebellion invasion plundered
        looted ambush poisoned missing drowned cracked strike famine shortage stole stolen theft robbed robbery
        thieves snapped outbreak avalanche wolves caved cave-in trapped trapping injured wounded gashed crushed
        buried burying shattered exploded explosion capsized stranded accident scalded scalding drowning dying
        starving starved perished perishing dies""",
    CELEBRATION: """festival feast wedding celebrate celebrates celebration fair holiday coronation crowned birth
        anniversary games tournament carnival dance dancing music parade jubilee""",
    ARRIVAL: """caravan arrived arrives arrival envoy visitors visitor pilgrims pilgrimage migration herds ship
        ships fleet merchants embassy delegation troupe traders ambassador refugees lodging""",
    DISCOVERY: """discovery discovered uncovered unearthed found vault ruins relic hoard""",
}
_CALAMITY_ENDS = ("storm", "storms", "fire", "fires", "quake", "slide", "slides", "flood", "floods")
_KIND_OF = {w: k for k, ws in _KINDS.items() for w in ws.split()}

_TIME = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|overnight|ago|lately|recently|now|since|soon|"
    r"(this|last|next) (night|morning|evening|week|month|year|season|spring|summer|autumn|winter)|"
    r"at (dawn|dusk|noon|midnight)|this (afternoon)|in the night)\b", re.IGNORECASE)
_FUTURE = re.compile(r"\b(will|shall|tomorrow|is expected|are expected|is due|are due|is set to|are set to|"
                     r"is to|are to|plans? to|next (week|month|year|season))\b", re.IGNORECASE)
_STATE = re.compile(r"\b(still|remains?|remained|stays?|lies? (empty|idle|closed|open|abandoned|in ruins)|"
                    r"stands? (empty|idle|closed|open|abandoned|knee-deep|waist-deep))\b", re.IGNORECASE)
_ONGOING = re.compile(r"\b(is|are|am)\s+(\w+ing)\b", re.IGNORECASE)
_PERFECT = re.compile(r"\b(has|have)\s+(been\s+)?\w+", re.IGNORECASE)
_IRREGULAR_PAST = frozenset("""went came fell burst broke tore took gave rose sank stole struck ran began froze shook
    spread ate drank fought flew fled found left lost made met paid sold sent shot slew split stood swept swore threw
    told thought won wore wrote bore brought bought built caught chose dug drew drove forgot grew hid hung kept knew
    led lay rode rang saw set slid spoke stuck stung swam taught woke was were had did said got heard held hit""".split())
_NOT_PAST = frozenset("red bed need seed shed speed feed breed bleed hundred sacred wicked naked ragged rugged "
                      "beloved aged bred sled wed creed deed greed weed steed".split())
# Safe to lower-case at the start of a summary (not a proper noun).
_COMMON_START = frozenset("""the a an some two three four five several many few most all every each last this these
    those his her their its our one no yesterday today tonight overnight at in on after before during for with
    from since after word news rumours rumors people folk everyone nobody somebody someone""".split())


@lru_cache(maxsize=8192)
def tense(summary: str) -> str:
    s = summary.lower()
    if _FUTURE.search(s):
        return FUTURE
    if _STATE.search(s):
        return STATE
    if _PERFECT.search(s):
        return PERFECT
    if _ONGOING.search(s):
        return ONGOING
    for w in WORD.findall(s):
        if w in _IRREGULAR_PAST or (w.endswith("ed") and len(w) >= 4 and w not in _NOT_PAST):
            return PAST
    if re.search(r"\b(ago|yesterday|last night)\b", s):
        return PAST
    return ONGOING  # "traders set up stalls", "the festival fills the square": present


@lru_cache(maxsize=8192)
def kind(etype: str, summary: str) -> str:
    words = WORD.findall((etype.replace("_", " ") + " " + summary).lower())
    for w in words:  # the type's words come first and win
        k = _KIND_OF.get(w) or (_KIND_OF.get(w[:-1]) if w.endswith("s") else None)
        if k:
            return k
        if len(w) > 6 and w.endswith(_CALAMITY_ENDS):  # "sandstorm", "wildfire", "mudslide"
            return CALAMITY
    return OTHER


def _lowerable(summary: str) -> bool:
    """Whether the summary's first word can be lower-cased after a lead-in (not a proper noun)."""
    words = summary.split(" ", 2)
    first = words[0]
    if not first or not first[0].isupper():
        return True
    if not first[1:].islower() and len(first) > 1:
        return False  # "NASA", "McAllister"
    f = first.lower().strip(",;:")
    if f in _COMMON_START:
        return True
    nxt = words[1] if len(words) > 1 else ""
    # "Bandits raided...", "Miners uncovered...": a plural common noun followed by a lower-case word
    return is_plural(f) and bool(nxt) and nxt[:1].islower()


# Lead-ins are announcer filler ("Word has it that", "For now,", "The news is grim:"): they add no
# fact and turn hard news into gossip, so the summary is told as it is. Kept as a table (empty)
# so a world with real hearsay kinds can add one that fits.
_LEADS: tuple = ()


def clean(summary: str) -> str:
    return " ".join(summary.split()).rstrip(".!?;:, ")


@lru_cache(maxsize=8192)
def phrasings(etype: str, summary: str) -> tuple[str, ...]:
    """Every way to tell this news as a clause (capitalised, no final stop); () if it says nothing."""
    s = clean(summary)
    if not s.strip(".!?…,;: "):
        return ()
    t, k = tense(s), kind(etype, s)
    has_time = bool(_TIME.search(s))
    low = s.lower()
    out = [cap(s)]
    if _lowerable(s):
        body = s[0].lower() + s[1:]
        for lead, tenses, no_time, kinds in _LEADS:
            if t not in tenses or (no_time and has_time) or (kinds is not None and k not in kinds):
                continue
            if {w for w in lead.lower().split() if len(w) > 3} & set(low.split()) or (t == STATE and "now" in lead.lower() and "still" in low.split()):
                continue  # "still ... still", "news ... news", "for now ... still"
            out.append(lead + body)
    return tuple(out)


def after_resources(etype: str, summary: str, mood: str) -> tuple[tuple[str, str], ...]:
    """The news as the second half of a sentence that began with the resources, as (joint,
    clause) pairs: ``mood`` says what came before ("bad": only shortages, "good": only plenty,
    "mixed"). A calamity after shortages reads "; worse, ...", after plenty ", but ...". ()
    when the summary's first word may be a name (the news then leads, where its capital reads)."""
    s = clean(summary)
    if not s.strip(".!?…,;: ") or not _lowerable(s):
        return ()
    t, k = tense(s), kind(etype, s)
    has_time = bool(_TIME.search(s))
    body = s[0].lower() + s[1:]
    out = [("; ", body)]
    if k == CALAMITY:
        if mood == "bad":
            out.append(("; worse, ", body))
        elif mood == "good":
            out = [(", but ", body)]
        return tuple(out)
    if mood == "bad" and t in (PAST, PERFECT) and k in (DISCOVERY, ARRIVAL, CELEBRATION):
        # "There is little lapis, but a seam of it was struck last week": news against the shortage
        out.insert(0, (", but ", body))
    if t in (ONGOING, PERFECT) and not has_time:
        out.append(("; meanwhile, ", body))
    if t in (PAST, PERFECT, FUTURE):
        out.append(("; word has it that ", body))
    if t == STATE and "still" not in s.lower().split():
        out.append(("; for now, ", body))
    return tuple(out)


# A summary ending in what people visit, eat or serve ("Pilgrims gather to visit the shrine"):
# anything joined after it with a comma would read as more of what they visit or eat.
_ROLE_TAIL = re.compile(
    r"\b(?:visit|visits|visiting|worship|worships|pray to|prays to|bless|blesses|feast|feasts|feasting|banquet|"
    r"meal|meals|dish|dishes|supper|dinner|breakfast|stew|soup|platter|eat|eats|eating|ate|dine|dines|dining|"
    r"served|serve|serves|tasting|taste of|flavou?red with|has become|have become|becomes|became|turned into|"
    r"turns into|is now a|are now a)\b(?:\W+[\w'’-]+){0,7}\W*$", re.IGNORECASE)


@lru_cache(maxsize=8192)
def ends_in_role(summary: str) -> bool:
    return bool(_ROLE_TAIL.search(clean(summary)))


GRAVE = 0.6  # a calamity this significant, told as it happens, is never followed by news of plenty


def grave_news(event) -> bool:
    """Whether an event is grave news told as it happens (a death, a fire, a cave-in), after which
    a note of plenty reads as callous or as a contradiction ("the flocks are dying; sheep are
    plentiful"): a calamity this significant, not a standing state or a future one ("the
    footbridge remains closed" is not). The templates leave the plenty out; the fact checker
    does not count it as dropped from any text."""
    return (event.significance >= GRAVE and kind(event.type, event.summary) == CALAMITY
            and tense(clean(event.summary)) not in (STATE, FUTURE))
