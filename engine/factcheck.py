"""Fact checks: which world facts an output kept, dropped or contradicted.

``check_facts(place, text) -> FactReport``. Deterministic, pure string work, never raises for any
valid :class:`~engine.world.Place` and any ``str`` (lone surrogates, control characters, markup,
megabytes: only the first :data:`MAX_CHECK_CHARS` characters are read).

The facts of a place are exactly what the prompt gives the model (``engine.prompts`` summaries):

============  =================================================================================
kind          fact
============  =================================================================================
conditions    the weather conditions string ("light rain")
temperature   the temperature and its band ("-5°C (freezing)")
wind          the wind speed and its band ("8 mph (light breeze)")
abundant      each resource with abundance > 0.7 (as in ``summarize_resources``)
scarce        each resource with abundance < 0.3
event         each event (its type and summary)
============  =================================================================================

Each fact gets one status: ``kept`` (the text carries it), ``dropped`` (the text says nothing
about it) or ``contradicted`` (the text says something incompatible and nothing compatible).
``FactReport.coverage`` = kept / checkable facts (1.0 when there is nothing to check). A fact is
not checkable when the heuristic has no words for it (conditions made only of stop words); such
facts are listed in ``FactReport.unchecked`` and left out of the ratio.

The heuristic (transparent on purpose: a reviewer can see why from the tables below)
--------------------------------------------------------------------------------------
Text is split into word tokens (letters, with an inner apostrophe or hyphen) with their character
spans; tokens are lower-cased and "stemmed" by plural rules only (``berries`` -> ``berry``,
``boxes`` -> ``box``, ``gusts`` -> ``gust``; ``-ss`` words are left alone). Phrases are matched as
consecutive stemmed tokens. Evidence is the matched words with about 30 characters either side;
``FactItem.span`` is the (start, end) character span of the match in the text, for highlighting.

* **conditions** — :data:`CONDITION_FAMILIES` maps a family (rain, snow, fog, clear, storm,
  overcast, hail, dust, humid, wind) to words. The place's conditions string selects its families
  (e.g. "freezing fog" -> fog, "ash haze" -> fog + dust). Kept: the text uses any word of those
  families (or the conditions string itself). Contradicted: it does not, but uses a *strong* word
  of an opposing family (:data:`OPPOSING`: clear vs rain/snow/storm/overcast/fog/hail). Weak words
  ("bright", "clear", "fair", "sun", "grey", "wet", "damp") count as kept but never as a
  contradiction, because they often describe something else ("bright lanterns"). Conditions with
  no known family fall back to their own content words (kept if one appears; never contradicted).
* **temperature** — the seven bands of ``engine.templates._TEMP_BANDS`` (bitterly cold < -20 <=
  freezing < 0 <= cold < 10 <= cool < 18 <= warm < 26 <= hot < 35 <= scorching), each with the
  template's words plus synonyms (:data:`TEMP_WORDS`; longer phrases win, so "bitterly cold" is
  band 0, not "cold"; words inside the place's resource names or conditions phrase do not count:
  "hot springs" is a resource, "dry heat" the conditions; conditions that name a temperature
  within one band, "hot and humid", do carry it). Numbers with a unit ("-5°C", "12 degrees", "50°F", "minus 3 degrees") are
  converted to °C. Kept: a band word at most one band away, or a number within 3 °C.
  Contradicted: no kept evidence, and a band word two or more bands away or a number more than
  5 °C off ("scorching" on a -20 °C place).
* **wind** — the five bands of ``engine.templates._WIND_BANDS`` (still < 3 mph <= breeze < 12 <=
  brisk < 25 <= strong < 45 <= gale) with :data:`WIND_WORDS`; bare "wind"/"winds" supports bands
  1-3 only (it says the air moves, not how hard). Numbers with mph / km/h / knots are converted
  to mph: kept within 5 mph. Same kept/contradicted rule as temperature (two bands away). Bare
  "wind"/"winds" counts only when nothing more specific was said.
* **abundant / scarce** — a resource is mentioned when its full name (plural-insensitive), its
  head noun (last word: "fresh water" -> "water") or a synonym (:data:`RESOURCE_SYNONYMS`)
  appears. Around each mention (6 words either side, same sentence) abundance words
  (:data:`ABUNDANCE_WORDS`) and scarcity words (:data:`SCARCITY_WORDS`) are counted; a negator
  ("no", "not", "never", "nobody", "without") up to two words before a cue flips it ("no
  shortage of timber" is abundance). The nearest cue decides each mention (on a tie, the cue after it; a comma, colon or
  dash in between counts as three more words). Kept: some mention is
  not described the opposite way. Contradicted: every mention is described the opposite way (an
  abundant resource "running low").
  Dropped: not mentioned. Clauses end at . ! ? ; and before but/though/although/while/whereas/yet.
* **event** — salient words are the event type's words ("market_day" -> market, day; plus
  :data:`EVENT_SYNONYMS`) and the content words of its summary (4+ letters, not stop words).
  Kept: a type word or synonym appears, or at least two summary words (one if the summary has
  only one). Contradicted: the only mentions of the type are negated ("no flood"). Dropped
  otherwise.

The console shows ``items`` as marks in the diff panel (``span`` locates them) and ``coverage``
per variant and per batch (see ``engine.workbench.batch_fact_coverage``).
"""

# Length (~720 lines, over the ~600 the redesign aims at), on purpose: ~150 of them are the word
# tables (bands, abundance/scarcity words, negators, stop words) and the rest the checks that
# read them through one token index. They are one rule set: split, a reader would hop between
# files to see why a fact counted as kept, dropped or contradicted. (docs/architecture.md)

from __future__ import annotations

import math
import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Iterable

from .phrasing import metar, periods
from .phrasing.weather import TEMP_BANDS as _TEMP_BANDS, WIND_BANDS as _WIND_BANDS
from .world import Place

KINDS = ("conditions", "temperature", "wind", "abundant", "scarce", "event")
STATUSES = ("kept", "dropped", "contradicted")
MAX_CHECK_CHARS = 20_000
ABUNDANT_ABOVE = 0.7  # as summarize_resources
SCARCE_BELOW = 0.3

# --- tables ---------------------------------------------------------------------------------

# family -> (strong words/phrases, weak words). Weak words keep a fact but never contradict one.
CONDITION_FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rain": (("rain", "raining", "rainy", "rainfall", "rainwater", "drizzle", "drizzling", "shower", "downpour",
              "monsoon", "sleet", "raindrop", "puddle"), ("wet", "damp", "soaked", "dripping", "sodden")),
    "snow": (("snow", "snowing", "snowy", "snowfall", "snowflake", "blizzard", "flurry", "whiteout", "snowdrift",
              "drift"), ("white", "ice", "icy")),
    "fog": (("fog", "foggy", "mist", "misty", "haze", "hazy", "smog", "murk", "murky", "fogbank"), ("smoke", "smoky", "veil")),
    "clear": (("sunny", "sunshine", "sunlight", "sunlit", "cloudless", "clear sky", "blue sky", "clear skies"),
              ("clear", "bright", "fair", "sun", "glare", "dry")),
    "storm": (("storm", "stormy", "thunder", "thunderstorm", "lightning", "squall", "tempest", "thunderclap"), ()),
    "overcast": (("overcast", "cloudy", "cloud", "leaden sky", "grey sky", "gray sky"), ("grey", "gray", "dull", "gloom", "gloomy")),
    "hail": (("hail", "hailstone", "hailstorm"), ()),
    "dust": (("dust", "dusty", "sandstorm", "sand", "ash", "ashen", "soot", "sooty", "cinder"), ()),
    "humid": (("humid", "humidity", "muggy", "sultry", "steamy", "sticky", "clammy"), ()),
    "heat": (("heat", "scorching", "baking", "sweltering", "blazing sun", "beating sun"), ("dry",)),
    "wind": (("wind", "windy", "gale", "gust", "gusty", "breeze"), ()),
}
# How a conditions string picks families: these words (in the conditions string) -> family.
_CONDITION_KEYS: dict[str, str] = {}
for _fam, (_strong, _weak) in CONDITION_FAMILIES.items():
    for _w in _strong:
        if " " not in _w:
            _CONDITION_KEYS[_w] = _fam
_CONDITION_KEYS.update({"clear": "clear", "partly": "overcast", "rain": "rain", "ice": "snow", "icy": "snow",
                        "sun": "clear", "dry": "heat", "smoke": "fog", "smoky": "fog"})
_CONDITION_KEYS.pop("drift", None)
_CONDITION_KEYS.pop("sand", None)  # "glass sand" is a resource; "sandstorm" is the condition word
OPPOSING: dict[str, frozenset[str]] = {
    "clear": frozenset({"rain", "snow", "storm", "overcast", "fog", "hail"}),
    "rain": frozenset({"clear"}),
    "snow": frozenset({"clear"}),
    "storm": frozenset({"clear"}),
    "overcast": frozenset({"clear"}),
    "fog": frozenset({"clear"}),
    "hail": frozenset({"clear"}),
}

# Temperature bands (same bounds as engine.templates._TEMP_BANDS): index -> words/phrases.
TEMP_BAND_NAMES = ("bitterly cold", "freezing", "cold", "cool", "warm", "hot", "scorching")
TEMP_WORDS: tuple[tuple[str, ...], ...] = (
    ("bitterly cold", "deathly cold", "frozen hard", "frigid", "arctic", "glacial", "bone-chilling", "bitter cold",
     "numbing cold", "brutally cold", "polar", "bitter wind chill", "extreme cold", "severe cold", "intense cold",
     "severe wind chill", "extreme wind chill"),
    ("freezing", "icy cold", "raw and frozen", "icy", "frost", "frosty", "frozen", "wintry", "sub-zero", "ice-cold",
     "frostbitten", "rime"),
    ("cold", "chilly", "cool and damp", "chill", "nippy", "bleak cold"),
    ("cool", "mild", "crisp", "temperate", "fresh"),
    ("warm", "pleasantly warm", "balmy", "warmth", "pleasant warmth", "sun-warmed"),
    ("hot", "sweltering", "close and hot", "sultry", "muggy", "stifling", "heat", "heatwave", "heat wave"),
    ("scorching", "blisteringly hot", "baking", "searing", "blistering", "scorched", "blazing", "broiling",
     "oven-like", "burning heat", "extreme heat"),
)
assert len(TEMP_WORDS) == len(_TEMP_BANDS) == len(TEMP_BAND_NAMES)

WIND_BAND_NAMES = ("still air", "light breeze", "brisk wind", "strong wind", "gale")
WIND_WORDS: tuple[tuple[str, ...], ...] = (
    ("still air", "windless", "without a breath of wind", "no wind", "stillness", "becalmed", "air is still", "calm",
     "air hangs still", "calm air", "motionless air", "breathless air", "not a breath of wind"),
    ("breeze", "breezes", "light breeze", "soft breeze", "gentle wind", "gentle breeze", "light wind", "zephyr", "breezy",
     "soft wind", "faint breeze", "blowing gently", "stirring softly"),
    ("brisk wind", "steady wind", "stiff breeze", "fresh wind", "blustery", "windy", "brisk breeze", "brisk, steady", "blowing briskly",
     "blowing steadily"),
    ("strong wind", "strong winds", "gust", "gusty", "roaring wind", "buffeting", "hard wind", "high wind", "blowing hard",
     "high winds", "battering wind", "whipping wind"),
    ("gale", "gales", "howling", "storm-force", "hurricane", "howling wind", "tearing wind", "screaming wind", "gale-force"),
)
assert len(WIND_WORDS) == len(_WIND_BANDS) == len(WIND_BAND_NAMES)
GENERIC_WIND = frozenset({"wind", "winds"})  # supports bands 1..3 only

ABUNDANCE_WORDS = frozenset(
    """abundant abundance plenty plentiful ample bountiful bounty teeming overflowing brimming heaped piled stacked
    stocked surplus wealth rich richly flourishing thriving full high heavy laden loaded generous lavish copious
    profusion glut flush aplenty abound abounds""".split())
SCARCITY_WORDS = frozenset(
    """scarce scarcity shortage short lack lacking lacks low dwindling dwindle dwindles running rare few little
    meagre meager sparse empty exhausted depleted gone hardly barely rationed rationing precious thin scant scanty
    dearth want wanting famine dry dried vanishing nearly scraping""".split())
NEGATORS = frozenset({"no", "not", "never", "nobody", "without", "nor", "none", "isn't", "aren't", "wasn't", "weren't",
                      "don't", "doesn't", "hardly-any"})

RESOURCE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "timber": ("wood", "lumber", "log", "plank", "firewood"),
    "fresh water": ("water", "well", "spring", "drinking water"),
    "grain": ("wheat", "barley", "rye", "oat", "corn", "harvest"),
    "game": ("deer", "venison", "hunt", "quarry"),
    "labour": ("labor", "worker", "hands", "workforce"),
    "cattle": ("cow", "herd", "oxen", "livestock"),
    "fish": ("catch", "fishing", "net"),
    "coal": ("coal",),
    "iron ore": ("iron", "ore"),
    "bog iron": ("iron",),
    "cypress timber": ("cypress", "timber", "wood"),
    "whale oil": ("whale", "oil"),
    "machine parts": ("machine", "machinery", "part", "gear"),
    "hot springs": ("spring", "springs"),
    "glass sand": ("sand", "glass"),
    "medicinal moss": ("moss",),
    "bread": ("loaf", "loaves", "baker", "bakery"),
    "furs": ("fur", "pelt", "hide"),
    "herbs": ("herb",),
    "spices": ("spice",),
    "wool": ("fleece", "sheep"),
    "goats": ("goat",),
}

EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "festival": ("celebration", "celebrate", "festivity", "feast", "fair", "music", "revelry"),
    "raid": ("raider", "bandit", "attack", "raided"),
    "flood": ("flooded", "flooding", "floodwater", "inundated", "submerged"),
    "plague": ("sickness", "disease", "illness", "fever", "cough", "coughing", "sick"),
    "trade": ("caravan", "merchant", "trader", "goods"),
    "caravan": ("caravan", "wagon"),
    "fire": ("blaze", "flame", "burn", "burned", "burnt", "charred", "ember", "smouldering"),
    "earthquake": ("tremor", "quake", "shook", "shaking"),
    "coronation": ("crowned", "crown", "lord", "king", "queen"),
    "migration": ("herd", "migrating", "passing"),
    "drought": ("dry", "parched", "well", "thirst", "dried"),
    "discovery": ("discovered", "uncovered", "found", "vault"),
    "market": ("stall", "trader", "merchant", "bazaar"),
    "storm": ("storm", "tempest"),
    "damage": ("torn", "wrecked", "ruined"),
    "pilgrimage": ("pilgrim", "shrine", "devout"),
    "strike": ("protest", "striker", "tools", "picket"),
    "wedding": ("bride", "groom", "married", "marriage", "nuptial"),
}
_GENERIC_TYPE_WORDS = frozenset({"day", "damage", "event", "news", "new"})

STOP_WORDS = frozenset(
    """the a an and or but of to in on at by for with as is are was were be been being it its this that these those
    from into onto over under after before than then there their they them he she his her him we our you your
    has have had having not no nor so such very just also only some any all each every other more most much many
    few two three one several last night nights ago days day week weeks month months year years lower upper old new
    through across about around near while when where which who whom whose what why how has have had will would
    could should may might must can shall up down out off again still even yet here""".split())

# Words that start a new clause for the resource cues ("plenty of fish, though water runs low").
CLAUSE_BREAKERS = frozenset({"but", "though", "although", "while", "whereas", "yet"})

_SOFT_BREAKS = (",", ":", "—", "–", "(")

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SENT_RE = re.compile(r"[.!?…;]")
_NUM_RE = re.compile(
    r"(?<![\w.])(?P<sign>[-−–]|minus\s+)?(?P<num>\d{1,4}(?:[.,]\d+)?)\s*"
    r"(?P<unit>°\s*[cf]\b|°|degrees?\s*(?:celsius|centigrade|fahrenheit|c\b|f\b)?|deg\b|"
    r"mph\b|miles\s+(?:an|per)\s+hour|km/h|kph\b|kmh\b|kilometres\s+(?:an|per)\s+hour|kilometers\s+(?:an|per)\s+hour|"
    r"knots?\b)",
    re.IGNORECASE,
)


# --- report types ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FactItem:
    kind: str  # conditions | temperature | wind | abundant | scarce | event
    fact: str  # a readable label of the world fact ("light rain", "timber", "flood: The river burst…")
    status: str  # kept | dropped | contradicted
    evidence: str = ""  # the words that decided it, with a little context ("" when dropped)
    span: tuple[int, int] | None = None  # (start, end) of the deciding words in the text

    def as_dict(self) -> dict:
        return {"kind": self.kind, "fact": self.fact, "status": self.status, "evidence": self.evidence,
                "span": list(self.span) if self.span else None}

    @classmethod
    def from_dict(cls, d: dict) -> "FactItem":
        span = d.get("span")
        return cls(d["kind"], d["fact"], d["status"], d.get("evidence") or "", tuple(span) if span else None)


@dataclass(frozen=True, slots=True)
class FactReport:
    items: tuple[FactItem, ...]
    unchecked: tuple[str, ...] = ()  # facts the heuristic has no words for (not in the ratio)

    @property
    def coverage(self) -> float:
        """kept / checkable facts, 0..1 (1.0 when there is nothing to check)."""
        return (self.count("kept") / len(self.items)) if self.items else 1.0

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    @property
    def kept(self) -> list[FactItem]:
        return [i for i in self.items if i.status == "kept"]

    @property
    def dropped(self) -> list[FactItem]:
        return [i for i in self.items if i.status == "dropped"]

    @property
    def contradicted(self) -> list[FactItem]:
        return [i for i in self.items if i.status == "contradicted"]

    def by_kind(self, kind: str) -> list[FactItem]:
        return [i for i in self.items if i.kind == kind]

    def marks(self) -> list[tuple[int, int, str, str]]:
        """(start, end, status, fact) of every located item, sorted: highlights for a text view."""
        return sorted((i.span[0], i.span[1], i.status, i.fact) for i in self.items if i.span)

    def as_dict(self) -> dict:
        return {"coverage": round(self.coverage, 4), "kept": self.count("kept"), "dropped": self.count("dropped"),
                "contradicted": self.count("contradicted"), "items": [i.as_dict() for i in self.items],
                "unchecked": list(self.unchecked)}

    @classmethod
    def from_dict(cls, d: dict) -> "FactReport":
        return cls(tuple(FactItem.from_dict(x) for x in d.get("items", [])), tuple(d.get("unchecked", [])))


# --- tokens ---------------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Lower-case and undo English plurals only (transparent, never clever)."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "xes", "sses", "zes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@dataclass(frozen=True, slots=True)
class _Tok:
    raw: str  # lower-cased
    stem: str
    start: int
    end: int
    sent: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    sent = 0
    pos = 0
    for m in _WORD_RE.finditer(text):
        raw = m.group(0).lower().replace("’", "'")
        if _SENT_RE.search(text, pos, m.start()) or raw in CLAUSE_BREAKERS:
            sent += 1
        pos = m.end()
        # Hyphenated words also count as their parts ("sun-warmed" is one token for phrases;
        # "storm-force" too); the parts are added after so "snow-covered" mentions snow.
        out.append(_Tok(raw, stem(raw), m.start(), m.end(), sent))
        if "-" in raw:
            off = m.start()
            for part in raw.split("-"):
                if part:
                    out.append(_Tok(part, stem(part), off, off + len(part), sent))
                off += len(part) + 1
    return out


@lru_cache(maxsize=65536)
def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _WORD_RE.findall(phrase.lower()))


class _Index:
    """Stemmed tokens of a text with fast phrase lookup."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        # Positions in the main sequence (hyphen parts are extra tokens that share the span).
        self.by_stem: dict[str, list[int]] = {}
        for i, t in enumerate(self.toks):
            self.by_stem.setdefault(t.stem, []).append(i)
            if t.raw != t.stem:
                self.by_stem.setdefault(t.raw, []).append(i)

    def find(self, phrase: str | tuple[str, ...]) -> list[tuple[int, int]]:
        """(first token index, last token index) of every occurrence of ``phrase``."""
        words = _phrase_tokens(phrase) if isinstance(phrase, str) else phrase
        if not words:
            return []
        out = []
        for i in self.by_stem.get(words[0], ()):
            j, ok = i, True
            for w in words[1:]:
                j = self._next(j)
                if j is None or (self.toks[j].stem != w and self.toks[j].raw != w):
                    ok = False
                    break
            if ok:
                out.append((i, j))
        return out

    def _next(self, i: int) -> int | None:
        # The next word token after i, skipping the hyphen parts of token i.
        end = self.toks[i].end
        for j in range(i + 1, min(len(self.toks), i + 8)):
            if self.toks[j].start >= end:
                return j
        return None

    def span(self, a: int, b: int) -> tuple[int, int]:
        return self.toks[a].start, max(self.toks[a].end, self.toks[b].end)

    def evidence(self, span: tuple[int, int], pad: int = 30) -> str:
        s, e = span
        lo, hi = max(0, s - pad), min(len(self.text), e + pad)
        snippet = " ".join(self.text[lo:hi].split())
        return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(self.text) else "")

    def negated(self, i: int, reach: int = 2) -> bool:
        t = self.toks[i]
        k, seen = i - 1, 0
        while k >= 0 and seen < reach:
            if self.toks[k].end <= t.start:
                if self.toks[k].sent != t.sent:
                    return False
                if self.toks[k].raw in NEGATORS:
                    return True
                seen += 1
            k -= 1
        return False


# --- checks -----------------------------------------------------------------------------------

def _band_index(value: float, bands) -> int:
    for i, (bound, _words) in enumerate(bands):
        if value < bound:
            return i
    return len(bands) - 1


@lru_cache(maxsize=8)
def _sorted_phrases(table: tuple[tuple[str, ...], ...]) -> tuple[tuple[int, str, int], ...]:
    return tuple(sorted(((len(_phrase_tokens(p)), p, b) for b, ps in enumerate(table) for p in ps), key=lambda x: (-x[0], x[1])))


def _band_hits(ix: _Index, table: tuple[tuple[str, ...], ...],
               blocked: list[tuple[int, int]] = ()) -> list[tuple[int, tuple[int, int]]]:
    """(band, span) of every band word; longer phrases first, a word is used by one phrase only,
    and words inside ``blocked`` spans (resource names, the conditions phrase) are not used."""
    phrases = _sorted_phrases(table)
    used: list[tuple[int, int]] = list(blocked)  # character spans (a hyphen part shares its word's span)
    hits = []
    for _n, p, band in phrases:
        for a, z in ix.find(p):
            sp = ix.span(a, z)
            if any(sp[0] < e and s < sp[1] for s, e in used):
                continue
            used.append(sp)
            hits.append((band, sp))
    return sorted(hits, key=lambda h: h[1])


def _numbers(text: str) -> list[tuple[float, str, tuple[int, int]]]:
    """(value, unit kind 'c'|'f'|'deg'|'mph'|'kmh'|'kn', span) of numbers with units."""
    out = []
    for m in _NUM_RE.finditer(text):
        try:
            v = float(m.group("num").replace(",", "."))
        except ValueError:
            continue
        if m.group("sign"):
            v = -v
        u = m.group("unit").lower()
        if "mph" in u or "mile" in u:
            kind = "mph"
        elif "km" in u or "kph" in u or "kilomet" in u:
            kind = "kmh"
        elif "knot" in u:
            kind = "kn"
        elif "f" in u.replace("deg", "").replace("°", "").strip()[:1] or "fahrenheit" in u:
            kind = "f"
        elif "c" in u.replace("deg", "") or "celsius" in u or "centigrade" in u:
            kind = "c"
        else:
            kind = "deg"
        if math.isfinite(v):
            out.append((v, kind, (m.start(), m.start() + len(m.group(0).rstrip()))))
    return out


def _decide(kept: list[tuple[int, int]], bad: list[tuple[int, int]]) -> tuple[str, tuple[int, int] | None]:
    if kept:
        return "kept", kept[0]
    if bad:
        return "contradicted", bad[0]
    return "dropped", None


def _item(ix: _Index, kind: str, fact: str, status: str, span: tuple[int, int] | None) -> FactItem:
    return FactItem(kind, fact, status, ix.evidence(span) if span else "", span)


def _check_conditions(place: Place, ix: _Index) -> FactItem | None:
    cond = " ".join(place.conditions.split())
    label = cond
    cond = metar.decode(periods.today(cond))  # "-SHRA BKN020": light rain showers, mostly cloudy; today's part
    cond_words = [stem(w) for w in _WORD_RE.findall(cond.lower())]
    fams = []
    for w in cond_words:
        fam = _CONDITION_KEYS.get(w)
        if fam and fam not in fams:
            fams.append(fam)
    # "freezing fog": the temperature word is a temperature fact, not a condition family.
    kept: list[tuple[int, int]] = []
    for a, z in ix.find(tuple(cond_words)):
        kept.append(ix.span(a, z))
    if fams:
        for fam in fams:
            strong, weak = CONDITION_FAMILIES[fam]
            for w in strong + weak:
                kept += [ix.span(a, z) for a, z in ix.find(w)]
        bad: list[tuple[int, int]] = []
        opp = set().union(*(OPPOSING.get(f, frozenset()) for f in fams)) - set(fams)
        for fam in sorted(opp):
            for w in CONDITION_FAMILIES[fam][0]:
                bad += [ix.span(a, z) for a, z in ix.find(w) if not ix.negated(a)]
        status, span = _decide(sorted(kept), sorted(bad))
        return _item(ix, "conditions", label, status, span)
    content = [w for w in cond_words if len(w) >= 3 and w not in STOP_WORDS]
    if not content:
        return None
    for w in content:
        kept += [ix.span(a, z) for a, z in ix.find((w,))]
    status, span = _decide(sorted(kept), [])
    return _item(ix, "conditions", label, status, span)


def _js(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _blocked(place: Place, ix: _Index) -> list[tuple[int, int]]:
    """Spans of the place's own names for things (resource names, the conditions phrase): "hot
    springs" is a resource, not a temperature; "dry heat" is the conditions fact."""
    out = []
    parts = [x for x in re.split(r"\s*(?:,|;|\bwith\b|\bthen\b|\band\b)\s*", place.conditions) if x.strip()]
    for phrase in [place.conditions] + parts + [r.type for r in place.resources]:
        words = _phrase_tokens(phrase)
        if words:
            out += [ix.span(a, z) for a, z in ix.find(words)]
    return out


def _in_news(place: Place, rtype: str) -> bool:
    top = max(place.events, key=lambda e: e.significance, default=None)
    if top is None:
        return False
    from .phrasing.goods import LIVING, said_in, said_words, understand

    return understand(rtype)[0] in LIVING and said_in(rtype, said_words(top.summary))


def _grave(place: Place) -> bool:
    from .phrasing.news import grave_news

    top = max(place.events, key=lambda e: e.significance, default=None)
    return top is not None and grave_news(top)


def _check_temperature(place: Place, ix: _Index, nums) -> FactItem:
    t = place.temperature
    band = _band_index(t, _TEMP_BANDS)
    label = f"{_js(t)}°C ({TEMP_BAND_NAMES[band]})"
    kept, bad = [], []
    for b, span in _band_hits(ix, TEMP_WORDS, _blocked(place, ix)):
        if abs(b - band) <= 1:
            kept.append(span)
        elif abs(b - band) >= 2:
            bad.append(span)
    if not kept:
        # Conditions that name the temperature themselves ("hot and humid") carry it when they
        # agree with it; they never count against it (the conditions are a fact of their own).
        resources = [ix.span(a, z) for r in place.resources for a, z in ix.find(_phrase_tokens(r.type) or ("",))]
        for b, span in _band_hits(ix, TEMP_WORDS, resources):
            if abs(b - band) <= 1:
                kept.append(span)
    for v, kind, span in nums:
        if kind not in ("c", "f", "deg"):
            continue
        c = (v - 32) * 5 / 9 if kind == "f" else v
        if abs(c - t) <= 3:
            kept.append(span)
        elif abs(c - t) > 5:
            bad.append(span)
    status, span = _decide(sorted(kept), sorted(bad))
    return _item(ix, "temperature", label, status, span)


def _check_wind(place: Place, ix: _Index, nums) -> FactItem:
    w = place.wind_speed
    band = _band_index(w, _WIND_BANDS)
    label = f"{_js(w)} mph ({WIND_BAND_NAMES[band]})"
    kept, bad = [], []
    hits = _band_hits(ix, WIND_WORDS, _blocked(place, ix))
    used = {s for _b, s in hits}
    for b, span in hits:
        if abs(b - band) <= 1:
            kept.append(span)
        else:
            bad.append(span)
    for v, kind, span in nums:
        mph = {"mph": v, "kmh": v / 1.609344, "kn": v * 1.150779}.get(kind)
        if mph is None:
            continue
        if abs(mph - w) <= 5:
            kept.append(span)
        elif abs(_band_index(mph, _WIND_BANDS) - band) >= 2:
            bad.append(span)
    if not kept:
        # Conditions that name the wind themselves ("breezy", "windy") carry it when they agree
        # with it, as for the temperature; they never count against it.
        resources = [ix.span(a, z) for r in place.resources for a, z in ix.find(_phrase_tokens(r.type) or ("",))]
        for b, span in _band_hits(ix, WIND_WORDS, resources):
            if abs(b - band) <= 1 and span not in bad:
                kept.append(span)
    if 1 <= band <= 3 and not kept and not bad:  # only when nothing more specific was said
        for g in sorted(GENERIC_WIND):
            for a, z in ix.find((g,)):
                sp = ix.span(a, z)
                if not any(s[0] <= sp[0] and sp[1] <= s[1] for s in used):
                    kept.append(sp)
    status, span = _decide(sorted(kept), sorted(bad))
    return _item(ix, "wind", label, status, span)


def _resource_terms(rtype: str) -> list[tuple[str, ...]]:
    words = _phrase_tokens(rtype)
    terms: list[tuple[str, ...]] = []
    if words:
        terms.append(words)
        if len(words) > 1 and len(words[-1]) >= 3 and words[-1] not in STOP_WORDS:
            terms.append((words[-1],))
    key = " ".join(rtype.lower().split())
    for syn in RESOURCE_SYNONYMS.get(key, ()):
        t = _phrase_tokens(syn)
        if t and t not in terms:
            terms.append(t)
    return terms


def _cue(ix: _Index, a: int, z: int, window: int = 6, named: frozenset[int] = frozenset()) -> tuple[float | None, float | None]:
    """Token distance to the nearest abundance cue and to the nearest scarcity cue around tokens
    a..z (``window`` words either side, same sentence; a negated cue counts as its opposite)."""
    sent = ix.toks[a].sent
    near_ab: float | None = None
    near_sc: float | None = None
    for k in range(max(0, a - window), min(len(ix.toks), z + window + 1)):
        t = ix.toks[k]
        if a <= k <= z or t.sent != sent or (ix.toks[a].start <= t.start < ix.toks[z].end) or k in named:
            continue  # a word of a resource's own name ("dried fish") is no cue for its neighbour
        is_ab = t.raw in ABUNDANCE_WORDS or t.stem in ABUNDANCE_WORDS
        is_sc = t.raw in SCARCITY_WORDS or t.stem in SCARCITY_WORDS
        if not (is_ab or is_sc):
            continue
        if ix.negated(k):
            is_ab, is_sc = is_sc, is_ab
        # On equal distance the cue after the mention wins ("timber is scarce and water is
        # plentiful": water is plentiful), hence the half-word penalty for cues before it.
        d = (a - k + 0.5) if k < a else (k - z)
        # A comma, colon or dash between them weighs as 3 more words ("plenty of water and salt,
        # and the wells are running low": the wells' cue is not about the salt).
        lo, hi = (t.end, ix.toks[a].start) if k < a else (ix.toks[z].end, t.start)
        d += 3 * sum(ix.text.count(ch, lo, hi) for ch in _SOFT_BREAKS)
        if is_ab and (near_ab is None or d < near_ab):
            near_ab = d
        if is_sc and (near_sc is None or d < near_sc):
            near_sc = d
    return near_ab, near_sc


def _check_resource(kind: str, rtype: str, ix: _Index, named: frozenset[int] = frozenset()) -> FactItem | None:
    terms = _resource_terms(rtype)
    if not terms:
        return None
    label = " ".join(rtype.split())
    mentions = []
    seen: set[int] = set()
    for term in terms:
        for a, z in ix.find(term):
            if a in seen:
                continue
            seen.add(a)
            mentions.append((a, z))
    if not mentions:
        return FactItem(kind, label, "dropped")
    mentions.sort()
    good, bad = [], []
    for a, z in mentions:
        near_ab, near_sc = _cue(ix, a, z, named=named)
        same, other = (near_ab, near_sc) if kind == "abundant" else (near_sc, near_ab)
        # The nearest cue decides: described the opposite way only if an opposite cue is closer
        # than any cue of the right kind.
        opposite = other is not None and (same is None or other < same)
        (bad if opposite else good).append(ix.span(a, z))
    status, span = _decide(good, bad)
    return _item(ix, kind, label, status, span)


def _event_words(etype: str, summary: str) -> tuple[list[str], list[str]]:
    type_words = [w for w in _phrase_tokens(etype.replace("_", " ")) if len(w) >= 3 and w not in _GENERIC_TYPE_WORDS]
    syn: list[str] = []
    for w in _phrase_tokens(etype.replace("_", " ")):
        syn += [stem(s) for s in EVENT_SYNONYMS.get(w, ())]
    types = list(dict.fromkeys(type_words + syn))
    content = [w for w in _phrase_tokens(summary) if len(w) >= 4 and w not in STOP_WORDS]
    return types, list(dict.fromkeys(w for w in content if w not in types))


def _of_something_else(ix: _Index, z: int) -> bool:
    """The negated event word is followed by "of" ("no shortage of copper", "no lack of hands"):
    a quantity said of something else, not the event denied."""
    j = ix._next(z)
    return j is not None and ix.toks[j].raw == "of"


def _check_event(ev, ix: _Index) -> FactItem | None:
    summary = " ".join(ev.summary.split())
    short = summary if len(summary) <= 60 else summary[:59].rstrip() + "…"
    label = f"{ev.type}: {short}"
    types, content = _event_words(ev.type, summary)
    if not types and not content:
        return None
    pos, neg = [], []
    for w in types:
        for a, z in ix.find((w,)):
            if not ix.negated(a):
                pos.append(ix.span(a, z))
            elif not _of_something_else(ix, z):  # "no shortage of copper" says nothing of the event
                neg.append(ix.span(a, z))
    if pos:
        return _item(ix, "event", label, "kept", sorted(pos)[0])
    found = []
    for w in content:
        hits = ix.find((w,))
        if hits:
            found.append(ix.span(*hits[0]))
    need = 1 if len(content) == 1 else 2
    if len(found) >= need:
        return _item(ix, "event", label, "kept", sorted(found)[0])
    if neg:
        return _item(ix, "event", label, "contradicted", sorted(neg)[0])
    return FactItem("event", label, "dropped")


def check_facts(place: Place, text: str) -> FactReport:
    """Which of ``place``'s facts ``text`` kept, dropped or contradicted (see the module doc)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_CHECK_CHARS]
    ix = _Index(text)
    nums = _numbers(text)
    items: list[FactItem] = []
    unchecked: list[str] = []
    c = _check_conditions(place, ix)
    if c is None:
        unchecked.append(f"conditions: {' '.join(place.conditions.split())}")
    else:
        items.append(c)
    items.append(_check_temperature(place, ix, nums))
    items.append(_check_wind(place, ix, nums))
    rix = ix
    base_first = " ".join(place.base.split())
    base_first = base_first[: (re.search(r"[.!?](\s|$)", base_first) or re.search(r"$", base_first)).start() + 1]
    at = text.find(base_first) if len(base_first) > 20 else -1
    masked = text
    if at >= 0:  # the world's own base sentence says nothing about today's supplies ("stripped of their bark")
        masked = text[:at] + " " * len(base_first) + text[at + len(base_first):]
    name = " ".join(place.name.split())
    if len(name) > 3 and name in masked:  # nor does the place's name ("Kibret Cattle Dip" is not cattle)
        masked = masked.replace(name, " " * len(name))
    if masked != text:
        rix = _Index(masked)
    named = frozenset(k for r in place.resources for a, z in rix.find(_phrase_tokens(r.type) or ("",))
                      for k in range(a, z + 1))
    for r in place.resources:
        kind = "abundant" if r.abundance > ABUNDANT_ABOVE else "scarce" if r.abundance < SCARCE_BELOW else None
        if kind is None:
            continue
        it = _check_resource(kind, r.type, rix, named)
        if it is not None and kind == "abundant" and it.status == "dropped" and _grave(place):
            it = None  # plenty is a minor detail a text leaves out after grave news
        if it is not None and it.status == "dropped" and _in_news(place, r.type):
            it = None  # the news speaks of them ("the ferryman will not cross"): not listed again
        (items.append(it) if it is not None else unchecked.append(f"{kind}: {r.type}"))
    for ev in place.events:
        it = _check_event(ev, ix)
        (items.append(it) if it is not None else unchecked.append(f"event: {ev.type}"))
    return FactReport(tuple(items), tuple(unchecked))


def mean_coverage(reports: Iterable[FactReport]) -> float | None:
    """The mean coverage of ``reports`` (None when there are none)."""
    vals = [r.coverage for r in reports]
    return sum(vals) / len(vals) if vals else None
