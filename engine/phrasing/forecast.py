"""A forecast read as forecasters write it, and said as one phrase.

Real forecasts are lists: "southwest 5 to 7, occasionally gale 8 later", "fog/mist, v. poor vis",
"cold night, frost in hollows", "drizzle, heavier to follow". Rather than one rule per shape, a
forecast is read in three table-driven steps:

0. :func:`_forecasters` reads the forms of real services on the forecast as written: the slots
   of a UK shipping or inshore forecast ("S or SW 4 or 5. Rough. Showers. Good." -> a southerly or
   southwesterly wind, a rough sea, showers, good visibility), compass points as winds or regions,
   an Alpine forecast's heights said without their numbers ("snowfall limit around 1100 m" -> "snow
   down to the middle slopes", "visibility below 100 m" -> "very poor visibility"), named winds
   ("a Föhn wind"); :func:`proper_nouns` keeps the forecast's own names in their casing;
1. :func:`normalise` expands forecasters' shorthand (:data:`SHORTHAND`: "vis" -> "visibility",
   "v." -> "very", "occ" -> "occasionally", "/" -> "or"), keeps a parenthesis as plain words and
   drops numbers and Beaufort forces ("gale 8" -> "gale", "5 to 7", "minus thirty", "-3C"): no
   number is read out, the words around it stay;
2. :func:`read` splits it into parts (comma, semicolon, " - ", "with", "then", "becoming",
   "later") and classifies each part by lexicon (:data:`WIND_TERMS`, :data:`DIRECTIONS`, the
   weather lexicon of :mod:`.weather`, temperature words) into wind, temperature, visibility, a
   weather noun or adjective, or a change to come; what no lexicon reads is classed by its form
   (adjective, plural or mass noun, "-ing" verb) so it is still said grammatically;
3. :func:`frames` realises the parts as one sentence around the place's name, with the
   temperature and wind words chosen to agree with what the forecast says itself: a forecast
   that names the temperature ("mild", "extreme cold") or the wind ("calm", "gale") gets no
   second word for it; when the reading disagrees with the forecast both are said, as a contrast
   ("..., yet it is only cool").

Everything here runs once per distinct (forecast, temperature band, wind band): the template
caches the frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .. import factcheck
from ..world import Place
from . import metar, periods
from .grammar import ADJ, COUNT, MASS, PLURAL, WORD, article, cap, guess_form, is_plural, join_and
from .weather import (LEXICON, OTHER, SKY_ADJ, TEMPS, Condition, _adj_word, _MODIFIERS,
                      _NAMED_TEMP, _WIND_NOUNS, WINDY, legacy_frames, temperature_words, understand)


# The reader applies some six hundred patterns to every forecast, more than the re module's own cache
# holds (512): its patterns are kept compiled here, so they are compiled once, not on every call.
@lru_cache(maxsize=4096)
def _compiled(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


def _sub(pattern, repl, string: str, count: int = 0, flags: int = 0) -> str:
    """``re.sub`` with the pattern compiled once (see :func:`_compiled`)."""
    return _compiled(pattern, flags).sub(repl, string, count)


# --- 1. normalising ------------------------------------------------------------------------------

# forecasters' shorthand -> plain words (whole words only; applied after lower-casing)
SHORTHAND = {
    "vis": "visibility", "visib": "visibility", "viz": "visibility", "v": "very", "occ": "occasionally",
    "occnl": "occasionally", "occl": "occasionally", "mod": "moderate", "sev": "severe", "hvy": "heavy",
    "lt": "light", "lgt": "light", "isol": "isolated", "vsby": "visibility", "sct": "scattered", "scat": "scattered", "wintry": "wintry",
    "incr": "increasing", "decr": "decreasing", "temp": "temporarily", "tempo": "temporarily", "poss": "possibly",
    "prob": "probably", "shwrs": "showers", "shwr": "shower", "tstms": "thunderstorms", "tstm": "thunderstorm",
    "ts": "thunderstorms", "fm": "from", "frm": "from", "w/": "with", "becmg": "becoming", "bcmg": "becoming",
    "intermit": "intermittent", "n": "north", "s": "south", "e": "east", "w": "west", "ne": "northeast",
    "nw": "northwest", "se": "southeast", "sw": "southwest", "nne": "north-northeast", "ene": "east-northeast",
    "ese": "east-southeast", "sse": "south-southeast", "ssw": "south-southwest", "wsw": "west-southwest",
    "wnw": "west-northwest", "nnw": "north-northwest", "cyc": "cyclonic", "var": "variable", "vrb": "variable",
    "aft": "afternoon", "eve": "evening", "am": "morning", "pm": "afternoon", "hrs": "hours", "thdr": "thunder",
    "drz": "drizzle", "rn": "rain", "sn": "snow", "fg": "fog", "br": "mist", "hz": "haze", "ra": "rain",
}
_NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    minus plus degrees degree celsius fahrenheit knots knot mph kph percent beaufort""".split())
_NUMBER_RX = r"(?:" + "|".join(sorted(_NUMBER_WORDS)) + r")(?:-\w+)?"
_UNIT_WORDS = frozenset("degrees degree celsius fahrenheit knots knot mph kph percent".split())
_NUMBER_LEADS = frozenset("minus plus force near around about to or gale storm severe gusts gusting highs lows high low "
                          "reaching beaufort".split())
_UNIT = r"(?:km/h|km\s*h\b|m/s|bft\b|bf\b|beaufort\b|a\.?m\b\.?|p\.?m\b\.?|°\s*[cf]?|c\b|f\b|degrees?(?:\s*(?:celsius|fahrenheit|c|f))?|deg\b|mph\b|kph\b|kmph\b|km/h|kmh\b|knots?\b|kts?\b|kt\b|mb\b|hpa\b|%|cm\b|mm\b|in\b(?!\s+(?:the|north|south|east|west|[nsew]{1,3})\b)|m\b|km\b|miles?\b)"


def _drop_numbers(text: str) -> str:
    # "with a high near 45", "highs in the 20s", "low minus 22": a reading, not weather
    text = _sub(r"(?:,\s*)?(?:with\s+)?(?:a\s+)?\b(?:highs?|lows?|temperatures?|temps?|max|min)\s+"
                  r"(?:near|around|of|to|in the|reaching|between|about|upper|lower|mid)?\s*(?:minus\s+|-|plus\s+)?"
                  r"(?:\d+|[a-z]+ty|zero)\b[^,;.]*", "", text)
    _dirs = "|".join(sorted(DIRECTIONS, key=len, reverse=True))
    text = _sub(r"\bwinds? (" + _dirs + r")(?: (or|to) (" + _dirs + r"))?\b",
                  lambda m: _directional(m.group(1)) + (" " + m.group(2) + " " + _directional(m.group(3)) if m.group(3) else "")
                  + " wind", text)  # "wind north 30 km/h": "northerly wind"
    start = text
    # "5 to 7", "4 or 5", "-3c", "gusts to 60 mph", "force 6", "f6", "minus thirty"
    text = _sub(r"\bf(?:orce)?\s*\d+\b", " ", text)
    text = _sub(r"[-−+]?\d+(?:[.,]\d+)?\s*" + _UNIT + r"?(?:\s*(?:to|or|-|–)\s*[-−+]?\d+(?:[.,]\d+)?\s*" + _UNIT + "?)?",
                  lambda m: " , " if m.group(0).endswith(".") else " ", text)  # "after 2pm. cloudy": the stop stays
    words = text.split(" ")
    cores = [w.strip(",;:.") for w in words]
    nums = [bool(re.fullmatch(_NUMBER_RX, c or "x")) for c in cores]
    out = []
    for i, w in enumerate(words):
        core = cores[i]
        prev = cores[i - 1] if i else ""
        nxt = cores[i + 1] if i + 1 < len(cores) else ""
        after = nums[i + 2] if i + 2 < len(cores) and nxt in ("to", "or") else False
        if nums[i] and (core in _UNIT_WORDS or prev in _NUMBER_LEADS or (i and nums[i - 1])
                        or (i + 1 < len(cores) and nums[i + 1]) or after or nxt in _UNIT_WORDS):
            # "minus thirty", "gale eight", "ten to fifteen knots": a number in words; "ten" alone is a word
            if w.endswith((",", ";")) and out:
                out[-1] = out[-1] + w[-1]
            continue
        out.append(w)
    dropped = " ".join(out).split() != start.split()
    text = " ".join(out)
    if dropped:  # what a dropped number leaves dangling: "gusts to", "up to", "around", "5 to 7" -> "to"
        text = _sub(r"\b(?:as high as|as low as|in excess of|of up to|up to|to|or|around|about|near|of|at|reaching|gusting to|before|after|until|from|by|above|below)\s*(?=[,;.]|$)", "", text)
        text = _sub(r"(?:^|(?<=[,;]))\s*(?:to|or)\s+(?=\w)", " ", text)
    return text


# --- forecasters' forms: UK shipping and inshore slots, Alpine heights ---------------------------

_COMPASS = {"n": "northerly", "ne": "northeasterly", "e": "easterly", "se": "southeasterly", "s": "southerly",
            "sw": "southwesterly", "w": "westerly", "nw": "northwesterly", "nne": "north-northeasterly",
            "ene": "east-northeasterly", "ese": "east-southeasterly", "sse": "south-southeasterly",
            "ssw": "south-southwesterly", "wsw": "west-southwesterly", "wnw": "west-northwesterly",
            "nnw": "north-northwesterly"}
_COMPASS_RX = r"(?:" + "|".join(sorted(_COMPASS, key=len, reverse=True)) + r")"
# a compass abbreviation is a wind where a force, a gale, another point or the end follows it
_COMPASS_AT = re.compile(r"(?i)(?<![\w'/-])(?<!the )(?<!in )(?<!of )(" + _COMPASS_RX + r")(?![\w'-])(?=\s*(?:\d|or\s+" + _COMPASS_RX
                         + r"\b|at\s+\d|gale|storm|severe|violent|hurricane|veering|backing|becoming|later|[,;]|\.(?!\w)|$))")
_COMPASS_AFTER = re.compile(r"(?i)\b(veering|backing|becoming|or)\s+(" + _COMPASS_RX + r")(?![\w'-])")
_COMPASS_REGION = {k: v[: -len("erly")].replace("-", "-") for k, v in _COMPASS.items()}  # "sw" -> "southwest"
SEA_STATES = ("phenomenal", "very rough", "very high", "smooth", "slight", "moderate", "rough", "high", "choppy", "chop")
_SEA_ONLY = frozenset("phenomenal rough high smooth slight calm".split())
_SLOT_JOIN = frozenset("or occasionally becoming at times then later first for a time very to".split())
_VIS_GRADES = frozenset("good moderate poor very fog".split())
_NAMED = {"saharan": "Saharan", "amihan": "Amihan", "habagat": "Habagat", "föhn": "Föhn", "foehn": "Foehn", "südstau": "Südstau", "nordstau": "Nordstau", "bise": "Bise",
          "sahara": "Sahara", "mistral": "Mistral", "tramontane": "Tramontane", "bora": "Bora", "scirocco": "Scirocco",
          "sirocco": "Sirocco"}
_NAMED_WINDS = frozenset("föhn foehn bise mistral tramontane bora scirocco sirocco bura jugo maestral tramontana lebić lebic "
                         "levant burin".split())


def _metres(num: str, unit: str) -> float:
    v = float(num.replace(",", "").replace("'", ""))
    u = unit.lower()
    return v * 1000 if u.startswith("km") else v / 100 if u == "cm" else v * 0.3048 if u in ("ft", "feet", "foot") else v * 1852 if u in ("nm", "nmi") \
        else v * 1609 if u in ("mi", "mile", "miles") else v


def _sea_by_height(h: float) -> str:
    return "a calm sea" if h < 0.1 else "a smooth sea" if h < 0.5 else "a slight sea" if h < 1.25 else "a moderate sea" \
        if h < 2.5 else "a rough sea" if h < 4 else "a very rough sea" if h < 6 else "a high sea" if h < 9 else "a very high sea"


def _heights(text: str) -> str:
    """A measurement said without its number: "visibility below 100 m" -> "very poor visibility",
    "snowfall limit around 1100 m" -> "snow down to the middle slopes", "zero-degree line 1800 m"
    -> "a freezing level high on the mountains", "high fog, top 1100 m" -> "high fog"."""
    num = r"(\d[\d,']*(?:\.\d+)?)\s*(km|m|ft|feet|foot|metres|meters|nm|nmi|mi|miles?)\b(?!\s*/\s*[hs]|\s*ph\b)"  # never "km/h", "m/s"
    lead = r"(?::?\s+(?:of|at|around|about|near|approx\.?|approximately|ca\.?|below|under|less than|more than|above|over|"\
           r"up to|down to|to|from|locally|occasionally|at times)\b)*:?\s*"

    def vis(m: re.Match) -> str:
        h = _metres(m.group(1), m.group(2))
        if re.search(r"(?i)or (?:better|more|greater)\b|\+", m.group(0)):
            h *= 1.6  # "6 miles or better": at least that, and more
        low = re.search(r"(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*\d", m.group(0))
        if low:  # "4-10 km": as poor as its lower bound
            h = min(h, _metres(low.group(1), m.group(2)))
        return ("very poor" if h < 1000 else "poor" if h < 4000 else "moderate" if h < 10000 else "good") + " visibility"

    def snow_limit(m: re.Match) -> str:
        h = _metres(m.group(1), m.group(2))
        return "snow down to the valley floors" if h < 700 else "snow down to the lower slopes" if h < 1100 \
            else "snow down to the middle slopes" if h < 1800 else "snow only high on the mountains"

    def freezing(m: re.Match) -> str:
        h = _metres(m.group(1), m.group(2))
        return "a freezing level down in the valleys" if h < 800 else "a freezing level on the middle slopes" \
            if h < 1800 else "a freezing level high on the mountains" if h < 3500 else "a freezing level above the summits"

    def gusts(m: re.Match) -> str:
        v = float(m.group(2)) * (1.609 if m.group(3).lower() == "mph" else 1.852 if m.group(3).lower().startswith("k") and "t" in m.group(3).lower() else 1)
        if v < 45:
            return "light gusts" + (m.group(1) or "")  # gusts a breeze has: not a strong wind
        return ("severe gusts" if v >= 100 else "strong gusts" if v >= 60 else "gusts") + (m.group(1) or "")

    t = _sub(r"(?i)\bvisibility (?:one quarter|a quarter|one half|half a|one|1/4|1/2) miles?(?: or less)?", "very poor visibility", text)
    t = _sub(r"(?i)\bvisibility (?:two|three|2|3) miles?(?: or less)?", "poor visibility", t)
    # "Visibility 5-10 km, in rain below 2 km": where it drops, graded too
    t = _sub(r"(?i),?\s*(?:dropping |falling )?(?:in|during) ((?:heavy )?(?:rain|showers|fog|fog patches|precipitation|drizzle|snow|squalls))"
               r" (?:below|under|less than|to) " + num,
               lambda m: ", " + vis(type("M", (), {"group": lambda self, i=0: (m.group(0), m.group(2), m.group(3))[i]})())
               + " in " + m.group(1), t)
    t = _sub(r"(?i),?\s*(?:locally |occasionally |at times )?(?:below|under|less than) " + num
               + r" in ((?:heavy )?(?:rain|showers|fog|fog patches|precipitation|drizzle|snow|squalls|thunderstorms))",
               lambda m: ", " + vis(type("M", (), {"group": lambda self, i=0: (m.group(0), m.group(1), m.group(2))[i]})())
               + " in " + m.group(3), t)  # "Visibility 6-10km, locally below 2km in rain"
    t = _sub(r"(?i)\b(?:visibility|vis|vsby|sight)\b" + lead + r"(?:\d+(?:\.\d+)?\s*(?:-|–|to)\s*)?" + num + r"(?:\s+or (?:less|more|better|greater))?", vis, t)
    # "Seas in sheltered bays below 1 metre": the sea state by its height, where it holds kept
    t = _sub(r"(?i)\b(?:seas?|waves?)((?: (?:in|on|inside|outside|off|along|near|over|across) [a-z' -]+?))\s+(?:below|under|less than|"
               r"up to|near|around|about|above|over|of)\s+(?:\d+(?:\.\d+)?\s*(?:to|-|–)\s*)?(\d+(?:\.\d+)?)\s*"
               r"(ft|feet|foot|m|metres?|meters?)\b", lambda m: _sea_by_height(_metres(m.group(2), m.group(3))) + m.group(1), t)
    # "Seas 10 ft", "seas 2 to 4 ft", "waves 1.5 m": the sea state by the height of its waves (WMO code 3700)
    t = _sub(r"(?i)(?<!swell )(?<!swells )\b(?:high |big |rough )?(?:combined )?(?:seas|waves|sea|wave heights?)\s*:?\s+(?:from (?:the )?[a-z-]+\s+)?(?:in the range of\s+|around\s+|near\s+|of\s+)?(?:\d+(?:\.\d+)?\s*(?:to|-|–|or)\s*)?"
               r"(\d+(?:\.\d+)?)\s*(ft|feet|foot|cm|m|metres|meters)\b(?:\s+or (?:less|lower|below))?(?:,?\s*(building|subsiding|easing|rising|falling)"
               r"(?: to (?:\d+(?:\.\d+)?\s*(?:to|-|–)\s*)?\d+(?:\.\d+)?\s*(?:ft|feet|m|metres|meters)\b)?)?",
               lambda m: _sea_by_height(_metres(m.group(1), m.group(2))) + (" " + m.group(3).lower() if m.group(3) else ""), t)
    t = _sub(r"(?i),\s*(?:\d+(?:\.\d+)?\s*(?:to|-|–)\s*)?(\d+(?:\.\d+)?)\s*(ft|feet|foot|metres|meters)\b"
               r"(?=\s+(?:on|in|near|inside|outside|off|along|over)\b)",
               lambda m: ", " + _sea_by_height(_metres(m.group(1), m.group(2))), t)  # "..., 2 to 4 feet on the banks"
    t = _sub(r"(?i)\bwave detail:[^.]*\.?", "", t)
    t = _sub(r"(?i)\b(swells?|waves?) of (?:\d+(?:[.,]\d+)?\s*(?:to|-|–)\s*)?\d+(?:[.,]\d+)?\s*(?:m|metres|meters|ft|feet)\b", r"\1", t)
    t = _sub(r"(?i),?\s*\breducing ((?:very )?(?:poor|moderate)) visibility\b", r", \1 visibility", t)
    # "30 to 50 cm of fresh snow", "250 to 350 mm of rain": an amount, said without its number
    t = _sub(r"(?i)\b(?:\d+(?:\.\d+)?\s*(?:to|-|–|or)\s*)?\d+(?:\.\d+)?\s*(?:cm|mm|in|inches)\s+of\s+", "", t)
    t = _sub(r"(?i)\bswell:\s*((?:north|south|east|west)[a-z-]*\s+)", r"\1swell ", t)  # "Swell: South-westerly 3-4m"
    t = _sub(r"(?i)\bswell:\s*(low|moderate|heavy|high|long|short|slight|no)\s+(" + _COMPASS_RX + r")\b\.?",
               lambda m: "a " + m.group(1).lower() + " " + _COMPASS[m.group(2).lower()] + " swell.", t)
    t = _sub(r"(?i)\bswell:\s*(low|moderate|heavy|high|long|short|slight|negligible)\b\.?", lambda m: "a " + m.group(1).lower() + " swell.", t)
    t = _sub(r"(?i)\b((?:(?:north|south|east|west)[a-z-]*|[nsew]{1,3}) )?swell(?: (rising|easing|falling|building|increasing|decreasing)(?: to)?)?"
               r"\s+(?:around\s+|of\s+|near\s+)?(?:\d+(?:\.\d+)?\s*(?:to|-|–|or)\s*)?(\d+(?:\.\d+)?)\s*(m|metres|meters|ft|feet)\b",
               lambda m: ("a low " if _metres(m.group(3), m.group(4)) < 2 else "a moderate " if _metres(m.group(3), m.group(4)) < 4
                          else "a heavy ") + ((m.group(1) or "").lower().strip() + " " if m.group(1) and len(m.group(1).strip()) > 3 else "")
               + "swell" + (" " + m.group(2).lower() if m.group(2) else ""), t)
    t = _sub(r"(?i)\bseas? ((?:very )?(?:smooth|slight|moderate|rough|high|phenomenal|calm)(?: (?:to|or) (?:very )?"
               r"(?:smooth|slight|moderate|rough|high|phenomenal))?)\b", lambda m: "a " + m.group(1).lower() + " sea", t)
    unit = re.search(r"(?i)\d\s*(km/h|kmh|kmph|mph|kt|kts|knots)\b", t)
    t = _sub(r"(?i)\s+gusting(?: to)?\s+(\d+)(?![\d.])(?!\s*(?:km/h|kmh|kmph|mph|kt|kts|knots|m/s)\b)",
               lambda m: m.group(0) + " " + (unit.group(1) if unit else "km/h"), t)
    t = _sub(r"(?i)\s+gusting(?: to)?\s+(\d+)\s*(km/h|kmh|kmph|mph|kt|kts|knots)\b",
               lambda m: ", " + ("severe gusts" if float(m.group(1)) * (1.609 if m.group(2).lower() == "mph" else 1.852 if "t" in m.group(2).lower() else 1) >= 100
                                  else "strong gusts"), t)
    t = _sub(r"(?i)\b(?:snowfall limit|snow limit|snow line|snowline|schneefallgrenze|limite pluie-neige|"
               r"rain-snow limit|limit of snowfall|snow level)\b" + lead + num, snow_limit, t)
    t = _sub(r"(?i)\bsnow(?:fall)?\s+(?:down\s+)?to\s+" + num, snow_limit, t)
    t = _sub(r"(?i)\bsnow(?:fall)?\s+(?:above|over|from)\s+" + num, "snow on higher ground", t)
    t = _sub(r"(?i)\b(?:zero-degree line|zero degree line|0\s*°\s*c?\s*(?:level|line)|freezing level|"
               r"nullgradgrenze|isotherme 0\s*°?\s*c?|iso(?:therm)?\s*0(?:\s*°\s*c)?)(?!\w)" + lead + num, freezing, t)
    t = _sub(r"(?i),?\s*(?:with\s+)?(?:its\s+)?(?:tops?|upper limit|upper boundary|top of (?:the )?fog|fog tops?|"
               r"cloud tops?|base|cloud base|ceiling)\b" + lead + num, "", t)
    t = _sub(r"(?i)\bgusts(\s+in the [a-z]+)?\s+(?:of\s+|up to\s+|to\s+|reaching\s+|as high as\s+|near\s+|around\s+)?(\d+)\s*(km/h|kmh|kmph|mph|kt|kts|knots)\b",
               lambda m: gusts(m), t)
    # a height left: "above 2000 m", "at 1500 m", "2000 m" -- said without it
    t = _sub(r"(?i)\s*\b(?:above|below|over|under|around|at|from|to|up to|down to)\s+" + num, "", t)
    return t


_BEAUFORT_NAMES = {"8": "gale 8", "9": "severe gale 9", "10": "storm 10", "11": "violent storm 11"}


def _wind_slot(slot: str) -> str:
    """"S or SW 3 or 4, occasionally 5" -> "southerly or southwesterly 3 or 4, occasionally 5";
    "NW 6 to gale 8" -> "northwesterly 6, at times gale 8"."""
    # "4 or 5, occasionally 6 later": a force said only by its number says nothing once it is dropped
    slot = _sub(r"(?i),\s*(?:occasionally|at times|perhaps|possibly|locally|gusting)\s+(?:force\s+)?\d+(?:\s+(?:later|at first|for a time|"
                  r"in (?:the )?[a-z]+))?(?=\s*[,.;]|$)", "", slot)
    t = _COMPASS_AT.sub(lambda m: _COMPASS[m.group(1).lower()], slot)
    t = _sub(r"(?i)\b([a-z-]+erly) at (?=\d)", r"\1 ", t)  # "E at 25 to 35 km/h"
    t = _sub(r"(?i)\b(occasionally|perhaps|possibly|at times|probably)\s+((?:severe |violent )?gale|storm|violent storm)\s+\d+",
               lambda m: m.group(1) + " a " + m.group(2).lower(), t)
    t = _COMPASS_AFTER.sub(lambda m: m.group(1) + " " + _COMPASS[m.group(2).lower()], t)
    t = _sub(r"(?i)\b(\d+)\s+(?:to|or)\s+((?:severe |violent )?(?:gale|storm)|hurricane force)\s+(\d+)",
               lambda m: _BEAUFORT_NAMES.get(m.group(1), m.group(1)) + ", at times " + m.group(2) + " " + m.group(3), t)
    return t


def _sea_words(slot: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", slot.lower().strip(" .")) if w]


def _is_sea(slot: str, strict: bool) -> bool:
    ws = _sea_words(slot)
    if not ws or not all(w in _SLOT_JOIN or w in ("moderate", "very", "inshore", "offshore") or w in _SEA_ONLY for w in ws):
        return False
    return any(w in _SEA_ONLY for w in ws) or not strict


def _sea(slot: str) -> str:
    """"rough or very rough, occasionally high" -> "a rough or very rough sea, occasionally high"."""
    s = " ".join(slot.lower().strip(" .").split())
    m = re.match(r"^((?:very )?[a-z]+) (inshore|offshore|near the coast),? ((?:very )?[a-z]+) (inshore|offshore|further out)$", s)
    if m:  # "slight inshore, moderate offshore"
        return article(m.group(1) + " sea") + " " + m.group(2) + " and " + article(m.group(3) + " sea") + " " + m.group(4)
    m = re.match(r"((?:very )?[a-z]+(?: (?:or|to) (?:very )?[a-z]+)?),? (?:becoming|then) ((?:very )?[a-z]+(?: (?:or|to) (?:very )?[a-z]+)?)"
                 r"(?: later)?$", s)
    s = _sub(r"^((?:very )?[a-z]+), (?:occasionally|at times|perhaps) ((?:very )?[a-z]+)$", r"\1 or \2", s)
    m2 = re.match(r"^((?:very )?[a-z]+ or (?:very )?[a-z]+), (occasionally|at times|perhaps) ((?:very )?[a-z]+)$", s)
    if m2:  # "rough or very rough, occasionally high"
        return article(m2.group(1) + " sea") + ", " + m2.group(2) + " " + article(m2.group(3) + " sea")
    if m:  # "slight becoming moderate": now, then later
        return article(m.group(1) + " sea") + ", then " + article(m.group(2) + " sea") + " later"
    m = re.match(r"((?:very )?[a-z]+(?: (?:or|to) (?:very )?[a-z]+)?)(.*)$", s)
    head, rest = m.group(1), m.group(2)
    return article(head + " sea") + rest


_VIS_LEAD = re.compile(r"(?i)((?:very )?(?:good|moderate|poor|fair|excellent|reduced)(?: (?:to|or) (?:very )?"
                       r"(?:good|moderate|poor|fair))?)(?=\s*(?:[,;]|$|\s+(?:but|becoming|reducing|occasionally|at times|"
                       r"locally|in|then|later|decreasing|falling)\b))")


def _vis(slot: str) -> str:
    s = " ".join(slot.lower().strip(" .").split())
    s = _sub(r"^((?:very )?[a-z]+(?: (?:or|to) (?:very )?[a-z]+)?),? (?:becoming )?(?:very )?[a-z]+ in (?:heavy )?(?:showers|rain|fog|drizzle|snow|mist|precipitation)(?: later)?$",
               r"\1", s)  # "good, moderate in showers": the visibility, its dip in showers a detail
    s = _sub(r"^((?:very )?[a-z]+(?: or (?:very )?[a-z]+)?), (occasionally|at times) ((?:very )?[a-z]+)$",
               r"\1 visibility, \2 \3 visibility", s)  # "good, occasionally moderate"
    s = _sub(r"^((?:very )?[a-z]+(?: or (?:very )?[a-z]+)?),? (?:becoming|then) ((?:very )?[a-z]+(?: or (?:very )?[a-z]+)?)"
               r"(?: later)?$", r"\1 visibility, then \2 visibility later", s)  # "good, becoming poor"
    m = re.match(r"((?:very )?[a-z]+(?: or (?:very )?[a-z]+)?)(.*)$", s)
    return m.group(1) + " visibility" + m.group(2) if "visibility" not in s else s


_DAYS = periods.DAYS
# the Adriatic's named winds, as the Croatian service writes them in English ("jugo", "bura")
_ADRIATIC = "bura|bora|jugo|maestral|tramontana|lebić|lebic|levant|burin"
# the Douglas sea scale, by degree: "Sea 2-3" is a slight sea
_DOUGLAS = ("calm", "calm", "smooth", "slight", "moderate", "rough", "very rough", "high", "very high", "phenomenal")
# where a sentence starts: the text's start, or after a full stop or semicolon (after a colon too, for a
# label's sentence; after a comma too, for a part of a sentence)
_START = r"(?:^|(?<=[.;]\s))"
_START_LABEL = r"(?:^|(?<=[.;:]\s))"
_START_PART = r"(?:^|(?<=[.,;]\s))"
_SENTENCE = r"[^.]*(?:\.\d[^.]*)*(?:\.|$)"  # to the sentence's end, past a decimal point ("24.3°C")


_SEA_STATE = (r"(?:(?:(?:light|moderate|heavy)(?:\s+(?:to|or)\s+(?:light|moderate|heavy))?\s+)?chop\b|very rough|very high|slight|"
              r"moderate|rough|high|calm|smooth|choppy)")
_TIME_FIRST = (r"in the (?:early |late )?(?:morning|afternoon|evening|night)|from the (?:morning|afternoon|evening|night)|"
               r"from midday|from noon|after (?:sunset|dark|midnight|noon|midday)|by (?:the )?(?:morning|afternoon|evening|night)|"
               r"later in the day|later today|later|overnight|tonight|towards evening|toward evening")
# a heading that only says what kind of text follows: "24-hr forecast:", "Mountain weather:", "Race-day mountain forecast:",
# "Avalanche information (early season):" -- the weather after it stays
_HEADING = re.compile(r"(?i)" + _START + r"(?!weather\s*:)(?:\d+[- ]?(?:hr|hour|h)s?\s+|[\w-]+\s+){0,3}(?:forecast|weather|information|bulletin|"
                      r"report|summary|synopsis|overview)(?:, (?:for )?(?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?(?:\s*\([^()]*\))?\s*:\s*")


def _area_label(m: re.Match) -> str:
    """An area's label before its forecast ("Sea of Galilee:", "Lagos offshore:") is left out; a
    label that is itself weather ("Fire Danger:", "Heat Stress:", "ORANGE ALERT:") is kept."""
    label = m.group(0)
    ws = [w.lower() for w in re.findall(r"[^\W\d_][\w'’-]*", _sub(r"\([^()]*\)", "", label))]  # "(SOUTH)": a part of it
    said = _LABEL_SAID_STRICT if label.strip(" :").isupper() or "(" in label or "," in label or "/" in label else _LABEL_SAID
    if any(w in said for w in ws if w not in ("sea", "coast", "coastal", "offshore", "inshore", "inland", "areas", "area", "region",
                                             "waters", "of", "the", "and", "to", "lake", "bay", "channel", "summits", "slopes",
                                             "lower", "upper", "north", "south", "east", "west", "central")):
        return label
    return ""


_LABEL_WEATHER = frozenset("alert danger stress risk index level warning advisory watch fire heat storm flood".split())
# a label's words that say what follows is weather, a time or a reading: "WIND:", "TONIGHT:", "MARINE:"
_LABEL_KEEP = frozenset("""wind winds sea seas swell swells wave waves visibility vis weather outlook forecast marine morning
    afternoon evening night today tonight tomorrow temperature temperatures temp max min high low uv pollen warning warnings""".split())


def _periods(t: str) -> str:
    """Headings, later periods and readings whose numbers are all they say: a heading names the
    text, an outlook is another day, "15 degrees.", "Highs 16 degrees", "At 3000 m: -6 degrees",
    "Max temps: Coast 31°C, Inland 34°C" are readings; a time written before the weather it times
    ("In the evening a cold front ...") is said after it; a sea state in a marine bulletin's label
    ("Sea state: Moderate to choppy; waves 3-6 ft") is the sea, its heights not said twice."""
    t = _sub(r"(\d)\s*[~〜～]\s*(?=[-+]?\d)", r"\1 to ", t)  # "14~20 m/s": a range, as East Asian services write it
    t = _sub(r"(?i)(\d)\s*(m|km|ft|mm|cm)\s*[-–]\s*(?=\d)", r"\1 \2 to ", t)  # "visibility 2000m–4000m": a range
    # "E at 2.06 to 4.63 m/s" (a speed converted from knots): whole numbers, the wind's direction before them
    t = _sub(r"(?i)(\d+)\.\d+(?=(?:\s*(?:to|-|–)\s*\d+(?:\.\d+)?)?\s*(?:m/s|km/h|kts?|knots|mph)\b)", r"\1", t)
    t = _sub(r"(?i)(?<![\w'/-])(" + _COMPASS_RX + r")(?:\s+to\s+(" + _COMPASS_RX + r")(?![\w'-])(?:\s+at)?|(?![\w'-])\s+at)\s+"
               r"(?=\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:m/s|km/h|kts?|knots|mph)\b)",
               lambda m: _COMPASS[m.group(1).lower()] + (" to " + _COMPASS[m.group(2).lower()] if m.group(2) else "") + " ", t)
    # "until 0900GMT", "between 1600GMT and 1900GMT": a time in hours with its zone, said without it
    t = _sub(r"(?i)\s*\bbetween\s+\d{3,4}\s*(?:GMT|UTC|Z|LT|hrs)\s+and\s+\d{3,4}\s*(?:GMT|UTC|Z|LT|hrs)\b", "", t)
    t = _sub(r"(?i)\s*\b(?:from|until|till|after|before|by|at)\s+\d{3,4}\s*(?:GMT|UTC|Z)\b", "", t)
    t = _sub(r"(?i)\b(morning|afternoon|evening|night)\s*/\s*(morning|afternoon|evening|night)\s*:", r"\1 and \2:", t)
    t = _sub(r"(?i)" + _START + r"(?:dekadal|weekly|10-day|ten-day|monthly|seasonal) outlook\s*:\s*", "", t)
    t = _sub(r"(?i)" + _START + r"risk\s*:" + _SENTENCE, "", t).strip()  # "RISK: HIGH after 1500 hrs." (to small craft)
    t = _sub(r"(?i),\s*(?:up to|reaching|locally) [\d.]+\s*(?:m|ft|metres?|meters?|feet)\b(?: (?:near|in|with) [^,.;]*)?", "", t)
    # "Swell below 1 metre": a low swell
    t = _sub(r"(?i)\b(swells?|waves?) (below|under|less than) [\d.]+\s*(?:metres?|meters?|m|ft|feet)\b",
               lambda m: "low " + m.group(1).lower(), t)
    # the Estonian and Jordanian services' forms: "Air temperature 6..8°C", "S-SW 8-12, gusts 17 m/s", "Southwest, west wind
    # 4-9 m/s", "on the coast gusts up to 17 m/s", "Storm warning!", "Winds westerly moderate in speed", "southerly winds active"
    t = _sub(r"!\s*", ". ", t).strip()
    t = _sub(r"([-+]?\d)\s*\.\.\s*(?=[-+]?\d)", r"\1 to ", t)  # "-2..+2°C": a range
    t = _sub(r"(?i)" + _START + r"(?:air )?temperatures?\s+(?:up to |around |about |near |falling to |rising to |of )?[-+]?\d" + _SENTENCE,
               "", t).strip()
    t = _sub(r"(?i),\s*(?:air )?temperature\s+[^,.;]*\d[^,.;]*", "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i)" + _START + r"(?:in the (?:morning|afternoon|evening) |at night )?(?:the )?sea level\b" + _SENTENCE, "", t).strip()
    t = _sub(r"(?i),\s*amount\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*mm\b", "", t)
    t = _sub(r"(?i)\s*\b(?:by|at|after|until|before|from|around)\s+\d{1,2}\s*o['’]clock\b", "", t)
    t = _sub(r"(?i)(?<=[.;]\s)tomorrow\b(?!\s*(?:morning|afternoon|evening|night))" + _SENTENCE, "", t).strip()  # another day
    t = _sub(r"(?i)^(?:tomorrow|today|tonight),?\s+(?:" + _DAYS[3:-1] + r")\s*:\s*", "", t)  # "Tomorrow, Thursday:"
    t = _sub(r"(?i)^today\s+(?=[a-z])", "", t)  # "Today cloudy with clear spells"
    t = _sub(r"(?i)" + _START + r"from the (?:north|south|east|west)[a-z-]* (?=[a-z])", "", t)  # "From the southwest rain spreading"
    t = _sub(r"(?i),\s*in places ([a-z]+)(?=\s*[.,;]|$)", r", \1 in places", t)  # "Showers, in places sleet"
    t = _sub(r"(?i)" + _START + r"on the coast (gales?|storm)\b", lambda m: "a " + m.group(1).lower().rstrip("s") + " on the coast", t)
    _cmp = r"(?-i:N|NE|E|SE|S|SW|W|NW|NNE|ENE|ESE|SSE|SSW|WSW|WNW|NNW)"
    t = _sub(r"(?i),\s*(in the (?:morning|afternoon|evening)|at night|overnight|later)\s+(" + _cmp + r")\s+\d+\s*[-–]\s*\d+"
               r"(?:,\s*gusts[^,.;]*)?", lambda m: ", becoming " + _COMPASS[m.group(2).lower()] + " " + m.group(1).lower(), t)
    t = _sub(r"(?i)\b(" + _cmp + r")[-–](" + _cmp + r")(?:\s+winds?)?\s+\d+(?:\s*[-–]\s*\d+)?(?:\s*(?:m/s|kts?|knots|km/h|mph))?",
               lambda m: _COMPASS[m.group(1).lower()] + " to " + _COMPASS[m.group(2).lower()] + " wind", t)  # "S-SW 8-12"
    t = _sub(r"(?i)\b(" + _cmp + r")[-–](" + _cmp + r")\s+winds?\b",
               lambda m: _COMPASS[m.group(1).lower()] + " to " + _COMPASS[m.group(2).lower()] + " wind", t)  # "N-NE wind"
    t = _sub(r"\b(" + _cmp + r")\s+\d+\s*[-–]\s*\d+(?=,\s*(?:on [^,.;]{1,30}\s)?gusts)",
               lambda m: _COMPASS[m.group(1).lower()] + " wind", t)  # "NW 8-13, gusts 18 m/s"
    _dir = r"(?:north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|south-east|south-west)"
    t = _sub(r"(?i)\b(" + _dir + r"),\s*(" + _dir + r")\s+winds?\b",
               lambda m: _directional(m.group(1).lower()) + " to " + _directional(m.group(2).lower()) + " wind", t)
    t = _sub(r"(?i),\s*(on (?:the )?[^,.;]{1,30}?)\s+gusts\b", r", gusts \1", t)  # "on the coast gusts up to 17 m/s"
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)|at night|overnight|later) (veering|backing|turning) (" + _cmp + r")\b",
               lambda m: m.group(2).lower() + " " + _COMPASS[m.group(3).lower()] + " " + m.group(1).lower(), t)
    t = _sub(r"(?i)\bvisibility in ([a-z]+) (good|moderate|poor|very poor)\b", r"\2 visibility in \1", t)
    t = _sub(r"(?i)\bwinds? (?:veering|backing|turning) (" + _dir + r")\b", lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"(?i)" + _START + r"in places ([a-z][a-z ]*?)(?=\s*[.,;]|$)", r"\1 in places", t)  # "In places light rain"
    t = _sub(r"(?i)\bmoderate in speed\b", "moderate", t)
    t = _sub(r"(?i),\s*gusts?(?:\s+(?:to|up to|of|reaching))?(?:\s+\d+(?:\s*[-–]\s*\d+)?\s*(?:km/h|kts?|knots|mph|m/s))?\s+"
               r"(in the (?:morning|afternoon|evening)|at night|overnight)\b", r", gusty \1", t)  # "gusts 55 km/h in the afternoon"
    t = _sub(r"(?i)\bbecoming active\b", "freshening", t)
    t = _sub(r"(?i)\b((?:north|south|east|west)[a-z-]*erly(?: to (?:north|south|east|west)[a-z-]*erly)?) winds? (?:moderate to )?active\b",
               r"fresh \1 winds", t)
    t = _sub(r"(?i)\bwinds? ((?:north|south|east|west)[a-z-]*erly(?: to (?:north|south|east|west)[a-z-]*erly)?),? (?:moderate to )?active\b",
               r"fresh \1 winds", t)
    t = _sub(r"(?i)\b(winds?) ((?:north|south|east|west)[a-z-]*erly(?: to (?:north|south|east|west)[a-z-]*erly)?),? "
               r"(light|moderate|fresh|strong)(?: to (?:moderate|fresh|strong|active))?\b", r"\3 \2 \1", t)
    t = _sub(r"(?i)\b((?:north|south|east|west)[a-z-]*erly(?: to (?:north|south|east|west)[a-z-]*erly)?) (winds?) "
               r"(light|moderate|fresh|strong)\b(?! to)", r"\3 \1 \2", t)  # "northerly winds moderate in speed"
    t = _sub(r"(?i)" + _START + r"(?:the )?weather will be\s+", "", t)
    t = _sub(r"(?i),?\s*with the appearance of (?:some )?clouds? at (?:medium|middle|high)(?: and (?:medium|high))? (?:altitudes|levels)",
               ", with some high cloud", t)
    t = _sub(r"(?i),?\s*with a (?:noticeable|slight|marked|significant) (?:drop|fall|rise|increase) in temperatures?\b", "", t)
    t = _sub(r"(?i)" + _START + r"(?:[A-Z]{2,5}) (?:warns|forecasts|expects|predicts) (?!(?:of )?high water)(?:of )?", "", t)  # "JMD warns of flash floods"
    t = _sub(r"(?i)" + _START + r"(?:max(?:imum)?|min(?:imum)?)\.?\s*:?\s*-?\d+(?:,\s*(?:max|min)\.?\s*:?\s*-?\d+)?(?:\s*[.;]|$)", "", t).strip()
    # "warm in Aqaba today", "in the southern Ghors and the Dead Sea": where, the place's own
    t = _sub(r"(?i)\b(weather|warm|hot|cool|cold|mild|dry|sunny|cloudy)\s+in (?:the )?(?:(?:northern|southern|eastern|western|central) )?"
               r"(?-i:[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*(?: and (?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?)(?: today)?"
               r"(?=\s*[,.;]|\s*$|,? with\b)", r"\1", t)
    # "lifting by 08:00h", "after 15:00h", "until 6:00 a.m. Saturday", "from 2:00 p.m. today": clock times, said without them
    t = _sub(r"(?i)\s*\b(?:from|until|till|after|before|by|at|around|near)\s+\d{1,2}[:.]\d{2}\s*(?:h\b|hrs\b|[ap]\.?m\.?)"
               r"(?:\s+(?:today|tonight|tomorrow|" + _DAYS[3:-1] + r"))?", "", t)
    t = _sub(r"(?i)\s*\b(?:at\s+)?\d{1,2}:\d{2}\s*h\b", "", t)
    t = _sub(r"(?i)\s*\bwithin (?:the next )?\d+ (?:hours|hrs|h)\b", "", t)  # "possible within 48 hours"
    t = _sub(r"(?i)\bthereafter\b,?", "then", t)
    t = _sub(r"(?i)\bwinds?\s*:\s*(light and variable|light|variable|calm)(?=\s*(?:[.;]|$|,?\s*(?:becoming|then|later)\b))", r"\1 winds", t)
    # "High tide at Georgetown 05:18h (2.84 m).": a tide table's reading, not weather
    t = _sub(r"(?i)" + _START + r"(?:high|low) (?:tide|water)s?\b(?!\s*(?:advisory|warning|alert|watch))(?=[^.]*\d)" + _SENTENCE, "", t).strip()
    # "Spring tides reaching 3.14 m may cause overtopping of sea defences": the tides
    t = _sub(r"(?i)\b((?:spring |high |king )?tides?)\s+(?:reaching|of|up to|near)\s+[\d.]+\s*(?:m|metres|meters|ft|feet)\b",
               r"\1", t)
    t = _sub(r"(?i)\s*\b(?:across|over|in|for) Regions? \d+(?:(?:,\s*|,?\s+and\s+)\d+)*", "", t)  # "across Regions 1, 2 and 10"
    t = _sub(r"(?i),?\s*with higher amounts? (?:over|in|on|along|across) [^,.;]*", "", t)
    t = _sub(r"(?i),\s*as (?:a|the) (tropical wave|trough|low|disturbance|system)\s+(passes|crosses|moves through|approaches|moves in)\b",
               lambda m: ", with a " + m.group(1).lower() + " " + _ing(m.group(2)), t)
    # "Seas moderate, waves 1.5 to 2.1 m in open waters": the sea once
    t = _sub(r"(?i)\b(seas?\s*:?\s*(?:very )?(?:calm|smooth|slight|moderate|rough|high|choppy))(?:\s+(?:with|,)\s*|,\s*)waves\s+"
               r"(?:reaching\s+)?(?:[\d.]+\s*(?:to|-|–)\s*)?[\d.]+\s*(?:m|ft)\b(?:\s+in open waters)?", r"\1", t)
    # "Sea: rough conditions along the coast": the sea, not its "conditions"
    t = _sub(r"(?i)\b(seas?\s*:\s*(?:very )?(?:calm|smooth|slight|moderate|rough|high|choppy)(?:\s+(?:to|or)\s+(?:very )?"
               r"(?:calm|smooth|slight|moderate|rough|high|choppy))?)\s+(?:sea\s+)?conditions\b", r"\1", t)
    t = _sub(r"(?i)\b((?:very )?(?:calm|smooth|slight|moderate|rough|high|choppy)(?:\s+(?:to|or)\s+(?:very )?"
               r"(?:calm|smooth|slight|moderate|rough|high|choppy))?) sea conditions\b", r"\1 seas", t)  # "Rough sea conditions"
    # "Hot and humid conditions continue", "Fine weather expected": the weather, not that it goes on
    t = _sub(r"(?i)(?<=[a-z])\s+(?:conditions|weather)\s+(?:will\s+)?(?:continues?|persists?|prevails?|remains?|expected)\b"
               r"(?=\s*[.,;]|\s*$)", "", t)
    # "Sea breeze SW 15–25 km/h in the afternoon": a southwesterly sea breeze
    t = _sub(r"(?i)\b(sea|land|lake) breeze\s*:?\s+(" + _COMPASS_RX + r")(?![\w'-])(?:\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*"
               r"(?:km/h|kph|kts?|knots|mph|m/s))?",
               lambda m: article(_COMPASS[m.group(2).lower()] + " " + m.group(1).lower() + " breeze"), t)
    # ", increasing from Thursday": what another day brings is its outlook
    t = _sub(r"(?i),?\s*\b(?:increasing|decreasing|easing|building|rising|moderating|abating)\s+(?:from|on|by)\s+(?:"
               + _DAYS[3:-1] + r")\b", "", t)
    # "likely around Winneba, Apam and Kasoa": where, by the names of the places; the place is its own
    t = _sub(r"\s+(?:likely\s+)?(?:around|near|at|in|over) [A-Z][\w'’-]*(?:, [A-Z][\w'’-]*)+,? and [A-Z][\w'’-]*", "", t)
    t = _sub(r"(?i)(?<=[a-z])\s+likely(?=\s*[,.;]|\s*$)", "", t)  # "heavy rains likely"
    # "over inland and elevated areas", "over the coastal and inland areas": where, said plainly
    _where = {"coastal": "along the coast", "mountain": "over the mountains", "elevated": "on high ground", "high": "on high ground",
              "upland": "on high ground", "hilly": "on high ground", "mountainous": "over the mountains", "low-lying": "in low-lying areas"}
    t = _sub(r"(?i)(?<!places )\b(?:over|in|across) (?:the )?(desert|coastal|mountain|mountainous|interior|inland|elevated|high|upland|low-lying)"
               r"(?:,? (?:and|or) (desert|coastal|mountain|mountainous|interior|inland|elevated|high|upland|low-lying))? "
               r"(?:areas|parts|ground|districts|regions)\b(?-i:(?: of (?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*))?",
               lambda m: " and ".join(dict.fromkeys(_where.get(w.lower(), "inland") for w in m.groups() if w)), t)
    # the same reading again in other units, a probability: "(16 to 22 mph)", "(3 ft)", "(77°F)", "(60%)", "(Prob. of precip. 70%)"
    t = _sub(r"(?i)\s*\(\s*(?:near |about |around |up to |over |below )?[-+]?[\d.,]+(?:\s*(?:to|-|–)\s*[-+]?[\d.,]+)?\s*"
               r"(?:mph|km/h|kph|kmh|knots?|kts?|kt|ft|feet|foot|m|metres?|meters?|°\s*[cf]?|f|c|in|inches|mm|cm|miles?|km|nm|m/s|hpa|mb)\s*\)",
               "", t)
    t = _sub(r"\s*\([^()]*\d\s*%[^()]*\)", "", t)
    t = _sub(r"(?i)\bprob(?:\.|ability)? of precip(?:\.|itation)?\s*:?\s*\d+\s*%\.?", "", t)
    t = _sub(r"(?i)\b(heat ?wave|cold ?wave)(\s+(?:alert|warning|advisory|watch))?\s*:\s*", r"\1\2. ", t)  # "Heat wave: ..."
    # "Sea state, Haifa-Ashdod: moderate to rough": the label, less the area it names
    t = _sub(r"(?i)\b(sea state|seas?|wind|winds|visibility|waves?),\s*[A-Z][^:.]{0,40}:\s*", r"\1: ", t)
    t = _sub(r"(?i)\b(sea state\s*:?\s*(?:calm )?(?:to )?)light\b(?=\s*[,.;]|$)", r"\1slight", t)  # "Sea state: calm to light"
    # an area's label before its forecast: "Sea of Galilee: ...", "Lagos offshore: ...", "Coastal cities: ..."
    t = _sub(_START + r"(?!(?i:Wind|Winds|Sea|Seas|Sea state|Weather|Visibility|Vis|Swell|Waves?|Outlook|Warning|Today|"
               r"Tonight|Tomorrow|Morning|Afternoon|Evening|Night|Temperature|Temp|Max|Min|High|Low|Marine|Forecast)\s*:)"
               r"(?:[A-Z][\w'’-]*(?:(?:,\s*|\s*/\s*|,? (?:and|&) )[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)+"  # "Hoima, Kikuube, Masindi:"
               r"|[A-Z][\w'’-]*(?: [\w'’-]+){0,3}\s*\([^()]{1,40}\)"
               r"|[A-Z][\w'’-]*(?: (?:of|the|and))?(?: [A-Z][\w'’-]*)*,(?: [a-z][\w'’-]*){1,3}"  # "Gulf of Riga, central part:"  # "LAKE ALBERT (SOUTH):", "Rwenzori summits (above 4500 m):"
               r"|[A-Z][A-Z'’-]+(?: [A-Z][A-Z'’-]+)*"  # "HANSA BAY:", "USINO-BUNDI:"
               r"|(?i:coastal waters|waters|coast) (?:of |from )?[A-Z][\w'’-]*(?: (?:to|and) [A-Z][\w'’-]*)*"  # "COASTAL WATERS Madang to Saidor:"
               r"|[A-Z][\w'’-]*(?: (?:of|the|and|de|la|al|el))?(?: [A-Z][\w'’-]*)+|[A-Z][\w'’-]* (?:offshore|inshore|coast|coastal waters|"
               r"waters|inland|area|areas|region)|(?:Coastal|Inland|Northern|Southern|Eastern|Western|Central)"
               r"(?: and (?:coastal|inland|northern|southern|eastern|western|central))? (?:cities|areas|towns|"
               r"districts|regions|parts|states|waters|desert|deserts|highlands|mountains|valleys|plains|coast|coasts))\s*:\s*", _area_label, t)
    t = _sub(r"(?i)\b(cloudy|hazy|dusty|sunny|misty) atmosphere\b", r"\1 skies", t)  # "Cloudy atmosphere"
    # "Stable conditions with weak winds may cause a rise in air pollution levels": the air, not what it may cause
    t = _sub(r"(?i)\s+(?:may|could|might|will|can) (?:cause|lead to|result in|bring about)\b[^.;]*", "", t)
    t = _sub(r"(?i)\bstable conditions\b", "stable air", t)
    t = _sub(r"(?i)\bweak winds?\b", "light winds", t)
    t = _sub(r"(?i)\s+and (?:its )?environs\b", "", t)
    # "over parts of Lagos and Ogun states", "over Lagos, Ogun and Ondo states": where, said as "in places"
    t = _sub(r"\b(?:[Oo]ver|[Ii]n|[Aa]cross) (?:(?:some |most |many )?parts of [A-Z][\w'’-]*(?:(?:,| and|, and) [A-Z][\w'’-]*)*"
               r"|[A-Z][\w'’-]*(?:, [A-Z][\w'’-]*)*,? and [A-Z][\w'’-]*) "
               r"(?:[Ss]tates?|[Pp]rovinces?|[Dd]istricts?|[Cc]ounties|[Rr]egions?|[Aa]reas?)\b", "in places", t)
    t = _sub(r"(?i)" + _START_LABEL + r"danger to\b" + _SENTENCE, "", t).strip()  # "Danger to bathers and small boats."
    # "from 1800hrs tonight to 0600hrs tomorrow", "in the 24 hours to 0600hrs": times in hours, said without them
    t = _sub(r"(?i)\s*\bfrom\s+\d{3,4}\s*hrs\b[^.]*?\bto\s+\d{3,4}\s*hrs(?:\s+(?:tonight|today|tomorrow))?", "", t)
    # what was measured, not what is forecast: "Rainfall at Gan exceeded 100 mm ...", "Maximum temperature of 38.6°C recorded at ..."
    t = _sub(r"(?i)" + _START_LABEL + r"(?=[^.]*\d)(?=(?:[^.]|\.\d)*\b(?:recorded|exceeded|measured|observed at|reported at|registered)\b)"
               + _SENTENCE, "", t).strip()
    # "Kaadedhdhoo: Max 31°C, Min 25°C.", "Biratnagar Max 35.4°C Min 24.8°C.", "Day temperature 4-5°C above normal": readings
    t = _sub(_START_LABEL + r"(?:[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*:?\s+)?(?:[Mm]ax(?:imum)?|[Mm]in(?:imum)?|[Hh]igh|[Ll]ow|"
               r"(?:[Dd]ay|[Nn]ight|[Dd]aytime) temperatures?)\.?\s*:?\s*(?:of |around |near |about )?-?\d" + _SENTENCE, "", t).strip()
    t = " ".join(t.split())
    t = _sub(r"(?i)" + _START_LABEL + r"expect(?:ed)?\s+(?=[a-z])", "", t)  # "Expect frequent heavy showers": the showers
    t = _sub(r"(?i)\s*\b(?:is |are )?likely to (?:continue|persist|prevail)\b", "", t)
    t = _sub(r"(?i)\s*\b(?:for|over|during|in) the (?:next|coming) (?:\d+(?:\s*(?:-|–|to)\s*\d+)?|few|two|three) (?:days|hours|hrs)\b", "", t)
    t = _sub(r"(?i)\bwind now\b", "wind", t)
    t = _sub(r"(?i)\s*\b(?:from|until|till|to|by|after|before|at)\s+\d{3,4}\s*(?:hrs|h|hours|utc|lt)\b", "", t)
    t = _sub(r"(?i)\s*\bin the (?:past |last )?\d+ (?:hrs|hours)\b", "", t)
    t = _sub(r"(?i)" + _START + r"forecast for [^:.]{1,40}:\s*", "", t)  # "Forecast for today day time:"
    t = _sub(r"(?i)\bdue to the influence of [^,.;]*,\s*", "", t)  # "Due to the influence of westerly wind, ...": the cause
    # "from 18:00 KST", "until 6 pm AST": a time with its zone, said without it
    t = _sub(r"(?i)\s*\b(?:from|until|till|after|before|by|at)\s+\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?\s*"
               r"(?:KST|JST|UTC|GMT|AST|EST|EDT|CET|CEST|EAT|IST|PKT|local time|LT)\b", "", t)
    # "Heavy rain advisory for Jeju South": the advisory; where it holds is the place's own
    t = _sub(r"\b((?:[A-Za-z-]+ ){1,3}(?:[Ww]arning|[Aa]dvisory|[Aa]lert|[Ww]atch|WARNING|ADVISORY|ALERT|WATCH))"
               r"(?: (?:is |now |remains )*in (?:effect|force))? for (?:all of |the whole of |much of |most of )?(?:the )?"
               r"(?:(?:(?:northern|southern|eastern|western|central|north|south|east|west)(?:,? (?:and|or) (?:northern|southern|eastern|"
               r"western|central))? )?(?:coasts?|shores?|parts?|areas?|districts?|coastal waters) of )?"
               r"[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*(?:,? and [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?(?=\s*[.;,]|\s*$)", r"\1", t)
    t = _sub(r"(?i)\b([ap])\.m\.(?=\s+[A-Z])", r"\1m.", t)  # "after 2.00 p.m. Heavy showers": the time, then the end
    t = _sub(r"(?i)\b([ap])\.m\.?(?=\s|$|[,;])", r"\1m", t)  # "between 11 a.m. and 4 p.m.": a time, not a sentence end
    t = _HEADING.sub("", t)
    t = _sub(r"(?i)^(?:today|tonight|this (?:morning|afternoon|evening))\s*:\s*", "", t)
    t = periods.today(t)
    # "Humidity 85%.", "Pressure 1008 hPa falling.", "Dew point 18°C.", "Sunset: 6:21 p.m.", ", heat index near 104°F":
    # readings of the day, not its weather
    _read = (r"(?:(?:relative )?humidity|(?:air |sea[- ]level |barometric )?pressure|barometer|dew ?points?|wind ?chill|"
             r"heat index|humidex|feels like|uv(?: index)?|sunrise|sunset|moonrise|moonset|qnh|"
             r"sea (?:water |surface )?temperatures?|water temperatures?)")
    t = _sub(r"(?i)" + _START + _read + r"\b(?=[^.]*\d)" + _SENTENCE, "", t).strip()
    t = _sub(r"(?i),\s*" + _read + r"\b[^,.;]*\d[^,.;]*", "", t)
    # "Rainfall 10 to 30 mm.", "New snow 5 to 15 cm, locally over 20 cm.", ", 5 mm or less": amounts, not weather
    t = _sub(r"(?i)" + _START + r"(?:expected |total |new |fresh )?(?:rainfall|rain|snowfall|snow|precipitation)"
               r"(?: (?:in the |over the )?(?:past|last) \d+ (?:hrs|hours|h))?\s*:?\s*"
               r"(?:of |up to |about |around |near )?\d[\d.]*\s*(?:(?:to|-|–)\s*\d[\d.]*\s*)?(?:mm|cm)\b" + _SENTENCE, "", t).strip()
    t = _sub(r"(?i),\s*(?:up to |about |around |locally |over )?\d[\d.]*(?:\s*to\s*\d[\d.]*)?\s*(?:mm|cm)\b(?: or (?:less|more))?"
               r"(?: per hour)?(?: at times)?(?=\s*[,.;]|$)", "", t)
    t = " ".join(t.split())
    # advice to the reader, not weather: "Stay off exposed rocks.", "Vessels in port should check their moorings."
    t = _sub(r"(?i)" + _START_LABEL + r"(?:(?:please )?(?:stay off|stay out|refrain|check|wear|secure|seek shelter|monitor|listen|"
               r"follow|postpone|drink|avoid)\b|[^.;]*\b(?:are |is )?advised to (?!hoist|keep hoisted|lower)|[^.;]*\bshould (?:exercise|check|monitor|remain|avoid|stay|take|secure|keep|follow|listen|refrain|"
               r"seek|postpone|consider|not|be (?:aware|alert|cautious|careful|prepared|vigilant|on (?:the )?alert))\b)" + _SENTENCE, "", t).strip()
    # "Amount 10 mm.", "Rainfall amounts of 20 to 40 mm.": a reading, not weather
    t = _sub(r"(?i)" + _START + r"(?:(?:rainfall|snowfall|precipitation|total) )?amounts?\s*:?\s*(?:of |up to |near |around |about )?\d"
               + _SENTENCE, "", t).strip()
    # "Tropical wave: A tropical wave is forecast to move ...", "Föhn: strong southerly föhn ...": a label its sentence repeats
    m = re.match(r"(?i)^([\w-]+(?: [\w-]+)?)\s*:\s*(?=[^.]*\b\1\b)", t)
    if m:
        t = t[m.end():]
    # the Qatar service's forms: units in capitals ("05-15 KT", "2-4 FT", "1 KM"), "Inshore: ... Offshore: ...",
    # "mild daytime, relatively cold at night", "visibility dropping to 1 KM or less at some places"
    t = _sub(r"(\d)\s+(KTS?|FT|KM|M|KMH|MPH|NM)\b", lambda m: m.group(1) + " " + m.group(2).lower(), t)
    t = _sub(r"(?<![\d:.])\b0(\d)(?=\s*[-–]\s*\d+\s*(?:kts?|ft|km|m)\b)", r"\1", t)  # "05-15 kt"
    off = re.search(_START + r"Offshore\s*:", t)
    if off and re.search(_START + r"Inshore\s*:", t[: off.start()]):
        t = t[: off.start()]  # an inshore forecast, then the offshore one: the place's own, the first
    t = _sub(_START + r"(?:Inshore|Offshore|Coastal waters|Coast|Inland)\s*:\s*", "", t)
    t = _sub(r"(?i),\s*offshore\s+(?:" + _COMPASS_RX + r")[-–](?:" + _COMPASS_RX + r")\s+\d+(?:\s*[-–]\s*\d+)?\s*kts?\b", "", t)
    t = _sub(r"(?i),\s*offshore\s+\d+(?:\s*[-–]\s*\d+)?\s*(?:ft|m)\b[^.;]*", "", t)
    t = _sub(r"(?i)\b(?:inshore|offshore)\s+(?=(?:" + _COMPASS_RX + r")\b|\d)", "", t)  # "Wind: Inshore SE-NE 3-13 kt"
    t = _sub(r"(?i)\bsea state\s*:\s*(?:inshore\s+)?(?=\d)", "seas ", t)
    t = _sub(r"(?i)\bsea\s*:\s*(?=\d)", "seas ", t)
    t = _sub(r"(?i)\b(?:relatively |rather |quite )?(mild|hot|warm|cold|cool|humid|hot and humid|warm and humid) "
               r"(?:daytime|during (?:the )?day(?:time)?|by day)\b", r"\1 by day", t)
    t = _sub(r"(?i)\b(?:relatively|rather) (cold|cool|hot|warm|humid|mild)\b", r"\1", t)
    t = _sub(r"(?i)\bbecomes? (hot|warm|cold|humid|mild)\b", r"becoming \1", t)
    t = _sub(r"(?i)\bgust(?:s|ing)? (?:to )?\d+\s*kts?\b", "gusts", t)
    t = _sub(r"(?i),?\s*(?:causing |with )?visibility (?:dropping|falling|to drop|to fall|reducing|decreasing) to\s+", ", visibility ", t)
    t = _sub(r"(?i)\s*\bfrom \d{1,2}\s*[ap]m (?:until|to|till) \d{1,2}\s*[ap]m\b", "", t)
    t = _sub(r"(?i)\b(?:expected )?over the (?-i:(north|south|east|west))(?: of the country)?\b(?!\s*(?:coasts?|coastal|mountains|hills)\b)",
               r"in the \1", t)
    t = _sub(r"(?i)\bthat (?:may|might|could|will) be (\w+)", r", \1", t)
    t = _sub(r"(?i)(\d\s*(?:km|m))\s*/\s*(\d+(?:\.\d+)?\s*(?:km|m)) or less\b", r"\2 or less", t)  # "3-7 KM / 2 KM or less"
    t = _sub(r"(?i)(visibility\s*:?\s*(?:\d+\s*[-–]\s*)?\d+\s*(?:km|m)),\s*(?:dropping to |down to )?(\d+(?:\.\d+)?\s*(?:km|m))"
               r"(?: or less)?", r"visibility \2", t)  # "Visibility: 4-8 KM, 3 KM or less at places": where it drops
    t = _sub(r"(?i)\bby late night to early morning\b", "overnight", t)
    t = _sub(r"(?i)\bweekend\s*:\s*(?:" + _DAYS[3:-1] + r")(?:\s*(?:&|and)\s*(?:" + _DAYS[3:-1] + r"))?\s*[-–:]\s*", "", t)
    t = _sub(r"(?i)\b(?:" + _DAYS[3:-1] + r")\s*(?:&|and)\s*(?:" + _DAYS[3:-1] + r")\s*[-–:]\s*", "", t)
    # the Bangladesh, Indian and Pakistani services' forms: "S/SW'ly 10-20 kph", "at many places over Chattogram division",
    # "Sky may remain partly cloudy", "temporary gusty wind", "(44-88 mm/24 hrs)", "hoist local cautionary signal no. three"
    t = _sub(r"(?i)\b(" + _COMPASS_RX + r")\s*/\s*(" + _COMPASS_RX + r")['’]ly\b",
               lambda m: _COMPASS[m.group(1).lower()] + " or " + _COMPASS[m.group(2).lower()], t)
    t = _sub(r"(?i)\b(north|south|east|west)\s*/\s*((?:north|south)?(?:east|west)?erly)\b",
               lambda m: _directional(m.group(1).lower()) + " or " + m.group(2).lower(), t)
    t = _sub(r"\s*\((?![^()]*(?i:wbgt))[^()]*\d[^()]*(?:mm|cm|kph|km/h|knots|kts|°|hrs)[^()]*\)", "", t)
    t = _sub(r"(?i)" + _START + r"[^.;]*\b(?:day|night|minimum|maximum) temperatures? (?:may|will|is likely to|are likely to)\b"
               + _SENTENCE, "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i)" + _START + r"(?:yesterday'?s?|today'?s) (?:highest|lowest|maximum|minimum)\b" + _SENTENCE, "", t)
    t = _sub(r"(?i)" + _START + r"(?:sunrise|sunset|moonrise|moonset)\b" + _SENTENCE, "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i),?\s*\bheat index(?: values?)?(?: of| near| around| up to| to)?\s*\d[^,.;]*", "", t)
    t = _sub(r"(?i)\b(?:the )?(?:sky|weather) (?:may|will|is likely to|could) (?:remain|be|become|stay)\s+", "", t)
    t = _sub(r"(?i)\bdiscomfort (?:may|will|is likely to|could)?\s*(?:prevail|persist|continue)?\s*(?:due to|because of|for) "
               r"(?:excessive |high |increased )?(?:moisture|humidity)(?: in the air)?", "uncomfortably humid", t)
    t = _sub(r"(?i)\btemporar(?:y|ily) (gusty|squally)(?:\s*/\s*(gusty|squally))?\s+winds?\b",
               lambda m: m.group(1).lower() + (" or " + m.group(2).lower() if m.group(2) else "") + " winds at times", t)
    t = _sub(r"(?i),?\s*\btemporar(?:y|ily) (gusty|squally)(?: up to)?(?:\s*\d+(?:\s*[-–]\s*\d+)?\s*(?:kph|km/h|knots|kts|mph))?",
               lambda m: ", " + m.group(1).lower() + " at times", t)
    t = _sub(r"(?i)\btemporar(?:y|ily) ((?:partly |mostly )?cloudy)(?: sky)?\b", r"\1 at times", t)
    t = _sub(r"(?i)\btemporar(?:y|ily) ((?:light |heavy |moderate )?(?:rain|showers|drizzle|thundershowers|fog|mist|haze)"
               r"(?:\s*/\s*[a-z]+)?)\b", r"\1 at times", t)
    t = _sub(r"(?i)\bvisibility (?:may|will|could|is likely to) (?:be )?reduced( in the (?:morning|afternoon|evening|night))? "
               r"(?:due to|by|in) (haze|fog|mist|smoke|dust|rain|showers|drizzle)\b", lambda m: m.group(2).lower() + (m.group(1) or ""), t)
    t = _sub(r"(?i)\b(hot|warm|cold|cool|humid|hot and humid|warm and humid|cloudy|wet|windy)(?: weather)? (?:may|will|is likely to) "
               r"(?:prevail|persist|continue)\b", r"\1", t)
    t = _sub(r"(?i)\s*\b(?:on|in|over) the (?:Sea|Gulf|Bight|Strait|Straits|Sound) of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*", "", t)
    t = _sub(r"(?i)\baccompanied by\b", "with", t)
    t = _sub(r"(?i)\bat (many|a few|some|several|most|one or two) places\b(?: over (?:the )?[^,.;]*?(?=[,.;]|$| with\b| in the\b))?",
               lambda m: "in " + ("a few" if m.group(1).lower() == "one or two" else m.group(1).lower()) + " places", t)
    _names = r"[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*"
    t = _sub(r"(?i)\bat places over (?:the )?hilly areas\b(?-i:(?: of " + _names + r"(?:(?:,| and) " + _names + r")*(?: (?:division|districts?|regions?|provinces?))?)?)",
               "in places in the hills", t)
    t = _sub(r"(?i)\bat places\b(?: over (?:the )?[^,.;]*?(?=[,.;]|$| with\b| in the\b))?", "in places", t)
    t = _sub(r"(?i)\s*\b(?:over|throughout) the country\b", "", t)
    t = _sub(r"(?i)\s*\b(?:and|&) (?:its |the )?adjoining (?:areas|offshore islands|islands|coasts|regions)\b", "", t)
    t = _sub(_START + r"[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)* and adjoining [a-z ]+\s*:\s*", "", t)
    t = _sub(r"(?i)\bover inland areas(?: and (?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?", "inland", t)
    t = _sub(r"(?i),?\s*\b(?:mainly|mostly|chiefly|especially)\s+(inland|offshore|near the coast|along the coast|on the coast)\b",
               r" \1", t)
    t = _sub(r"(?i)" + _START + r"due to [^,.;]+,\s*([^.;]*\b(?:disrupted|suspended|hampered|affected|closed|delayed)\b)" + _SENTENCE,
               "", t)  # "Due to fog, inland waterways ... may be disrupted": what it stops, not the weather
    t = _sub(r"(?i)" + _START_LABEL + r"due to ((?:heavy |very heavy )?(rainfall|rain|fog|high winds|winds)),\s*",
               lambda m: "" if re.search(r"(?i)\b" + m.group(2) + r"\b", m.string[: m.start()]) else m.group(1) + ", ", t)
    t = _sub(r"(?i)\b(landslides?|water-?logging|flash floods?|flooding)\s+(?:may|could|can|will|is likely to|are likely to)\s+"
               r"(?:occur|take place|happen|affect)\b",
               lambda m: m.group(1).lower().replace("landslide", "landslides").replace("landslidess", "landslides")
               .replace("water-logging", "waterlogging"), t)
    t = _sub(r"(?i)\bin the low-lying areas of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*(?: town| city| district)?", "in low-lying areas", t)
    t = _sub(r"(?i)\b(?:the )?monsoon is (active|vigorous|weak|fairly active|less active|normal|strong)\b(?: over [^.,;]*?)?"
               r"(?: and (active|vigorous|strong) over [^.;]*)?(?=\s*[.;,]|$)",
               lambda m: article((m.group(2) or m.group(1)).lower() + " monsoon"), t)
    t = _sub(r"(?i)\b(?:the )?sea (?:will|may|is likely to) (?:remain|be|become) ((?:very )?(?:smooth|slight|moderate|rough|high|calm))\b",
               lambda m: "a " + m.group(1).lower() + " sea", t)
    t = _sub(r"(?i)\b(?:the |a )?((?:very |extremely )?severe cyclonic storm|cyclonic storm|deep depression|well-marked low)"
               r"(?: ['\"]?[A-Z][a-z]+['\"]?)? (?:over|in|near) (?:the )?[^.;]*?(?:bay|sea)\b[^.;]*",
               lambda m: "a " + m.group(1).lower().replace("cyclonic storm", "cyclone") + " out at sea", t)
    t = _sub(r"(?i)" + _START + r"[^.;]*\bhoist (?:the )?((?:great |local |distant )?(?:danger|cautionary|warning)\s+)?signal\b"
               r"(?:\s*no\.?\s*[\w]+(?:\s*\((?:r|\d+)\)\s*(?:[a-z]+\b)?)?)?[^.;]*",
               lambda m: article(((m.group(1) or "storm ").lower().strip() + " signal")) + " at the ports", t)
    t = _sub(r"(?i)" + _START + r"[^.;]*\binundated by (?:a )?(wind-driven )?(?:storm |tidal )?surge\b[^.;]*",
               lambda m: ("a storm surge" if m.group(1) else "a tidal surge") + " over low-lying coasts", t)
    t = _sub(r"(?i)\b(?:squally|stormy|unsettled) weather (?:may|will|is likely to|could) affect\b[^.;]*",
               lambda m: m.group(0).split()[0].lower() + " weather", t)
    t = _sub(r"(?i)\b(mild|moderate|severe|very severe)?\s*heat ?wave (?:is|has been) (?:sweeping|prevailing|continuing|spreading)"
               r"(?: over [^.;]*?)?(?:,? and (?:it )?(?:may|is likely to) (?:continue|abate|spread|persist)[^.;]*)?(?=\s*[.;]|$)",
               lambda m: article(((m.group(1) or "").lower() + " heat wave").strip()), t)
    t = _sub(r"(?i)\b(rip current|surf|flood|fire|avalanche) (risk|danger)\s*:\s*(low|moderate|high|very high|considerable|extreme)\b",
               lambda m: article(m.group(3).lower() + " " + m.group(1).lower() + " " + m.group(2).lower()), t)
    t = _sub(r"(?i)\b(beaches|coasts|shores|islands|cays) of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*", r"\1", t)
    t = _sub(r"(?i)\s*\bas (?:a|the) ((?:cold |warm )?front) (moves through|passes|approaches|arrives|crosses|moves in)\b",
               lambda m: "; a " + m.group(1).lower() + " " + _ing(m.group(2)), t)
    t = _sub(r"\s*\bover (?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)+(?=\s*[.,;]|$)", "", t)  # "over Cox's Bazar", "over Great Abaco"
    t = _sub(r"(?i)" + _START + r"(?:behind|ahead of|after|before) the (?:cold |warm )?front\s*:\s*", "", t)
    # the Tanzanian and Omani services' forms: "Likelihood: High. Impact level: Medium.", "max wave height 4 m",
    # "Horizontal visibility", "Winds: SW moderate to fresh", "Waves: Moderate to large, 1.5-2.0 m", "from 1400 to 1900 local time"
    t = _sub(r"(?i)" + _START + r"(?:likelihood|probability|impact(?: level)?|impacts?(?: expected| level)?)\s*:" + _SENTENCE, "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i)" + _START + r"[^.;]*\b(?:may|could|will|might) be (?:disrupted|affected|hampered|suspended|delayed|cancelled)"
               + _SENTENCE, "", t)
    t = _sub(r"(?i)" + _START + r"(?:red|yellow|double red) flags?\b" + _SENTENCE, "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i)\bhorizontal (visibility)\b", r"\1", t)
    t = _sub(r"(?i)\bvisibility (?:near|close to|almost|nearly) (?:zero|nil)\b", "very poor visibility", t)
    t = _sub(r"(?i)\bvisibility (?:may|will|could) (?:drop|fall|decrease|reduce)\b", "visibility", t)
    t = _sub(r"(?i),\s*locally \d+(?:\.\d+)?\s*(?:km|m)\b", "", t)
    t = _sub(r"(?i)\bvisibility\s*:\s*(good|moderate|poor)(?: to| becoming) (moderate|poor)( in [a-z ]+?)?(?=\s*[.,;]|$)",
               lambda m: m.group(1).lower() + " visibility, " + m.group(2).lower() + (m.group(3) or ""), t)
    t = _sub(r"(?i)\bhazardous sea(?: state| conditions)?\b", "a hazardous sea", t)
    t = _sub(r"(?i)\bsea state\s*:\s*((?:slight|small|moderate|large|high|rough|low)(?: to (?:moderate|large|high|rough))?) waves\b",
               lambda m: m.group(1).lower() + " waves", t)
    t = _sub(r"(?i)\bwaves?\s*:\s*((?:slight|small|moderate|large|high|rough|low)(?: to (?:moderate|large|high|rough))?)"
               r"(?:,\s*(?:\d+(?:\.\d+)?\s*(?:–|-|to)\s*)?\d+(?:\.\d+)?\s*m\b)?", lambda m: m.group(1).lower() + " waves", t)
    t = _sub(r"(?i)\b(large|high|big|strong|rough)\s+(waves|swells?|seas)\s+(?:reaching|of|up to|near)\s+[\d.]+\s*(?:m|metres|ft|feet)\b",
               r"\1 \2", t)
    t = _sub(r"(?i)\b(winds?)\s+(?:reaching|of|up to)\s+\d+(?:\s*(?:–|-|to)\s*\d+)?\s*(?:km/h|kt|kts|knots|mph|m/s)\b", r"\1", t)

    def _max_wave(m: re.Match) -> str:
        said = re.search(r"(?i)\b(?:sea|seas|sea state)\b[^.;]*\b(?:calm|smooth|slight|moderate|rough|high|choppy|hazardous)\b|"
                         r"\b(?:calm|smooth|slight|moderate|rough|high|choppy|hazardous) sea", m.string[: m.start()])
        return "" if said else ", " + _sea_by_height(_metres(m.group(1), m.group(2)))
    t = _sub(r"(?i)(?:,\s*|\s+with\s+|\.\s+|\s+)max(?:imum)?\.? (?:significant )?wave heights?\s*:?\s*(?:of\s+|reaching\s+|up to\s+)?"
               r"(?:\d+(?:\.\d+)?\s*(?:–|-|to)\s*)?(\d+(?:\.\d+)?)\s*(m|metres|meters|ft|feet)\b", _max_wave, t)
    t = _sub(r"(?i),?\s*\bwith (?:max(?:imum)? |min(?:imum)? |high |low )?temperatures?\b[^.;]*", "", t)
    t = _sub(r"(?i)\s*\bfrom \d{3,4}\s*(?:hrs?\s*)?(?:to|till|until|-|–)\s*\d{3,4}(?:\s*hrs?)?(?:\s*(?:local time|lt|utc|gmt))?"
               r"(?!\s*(?:m|metres|meters|ft|feet)\b)(?!\d)", "", t)
    t = _sub(r"(?i)\bover (?:some|few|a few|many|most|several) areas\b(?-i:(?: of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?)",
               lambda m: "in " + {"few": "a few"}.get(m.group(0).split()[1].lower(), m.group(0).split()[1].lower()) + " areas", t)
    t = _sub(r"(?i)\b(sandstorm|sand storm) expected (?=over|in|along|across|inland)", r"\1 ", t)
    t = _sub(r"(?i)\bover (?:(?-i:[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*) and )?(?:the )?(desert|coastal|mountain|interior|inland) areas\b"
               r"(?-i:(?: of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?)",
               lambda m: {"coastal": "along the coast", "mountain": "over the mountains"}.get(m.group(1).lower(), "inland"), t)
    t = _sub(r"(?i)\b(desert|coastal|mountain|interior|inland) areas (?-i:of [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)", r"\1 areas", t)
    t = _sub(r"(?i)\bin the (evening|morning|afternoon) and night\b", r"in the \1 and at night", t)
    t = _sub(r"(?i)\bduring (?:the )?night and (?:the )?early morning\b", "at night and in the early morning", t)
    # "Fog with visibility below 100 m in the evening and at night": the fog's time, then what it does to the view
    t = _sub(r"(?i)\b((?:dense |thick |patchy )?(?:fog|mist|haze|dust|sand|drizzle|rain|snow)(?: patches)?) with (visibility [^,.;]*?)"
               r"\s+((?:in the [a-z]+(?: and at night)?)|at night|overnight)(?=\s*[.,;]|$)", r"\1 \3, \2", t)
    t = _sub(r"(?i)\bduring (?:the )?night\b", "at night", t)
    t = _sub(r"(?i)\b(sand ?storm)\b(?= expected| over| in)", lambda m: "a " + m.group(1).lower(), t)
    t = _sub(r"(?i)\b(winds?)\s*:?\s+(" + _COMPASS_RX + r"|(?:north|south)?-?(?:east|west)?erly|northerly|southerly)\s+"
               r"((?:light|gentle|moderate|fresh|strong)(?: to (?:moderate|fresh|strong|gale))?)\b(?!\s*(?:\d|winds?\b))",
               lambda m: m.group(3).lower() + " " + _COMPASS.get(m.group(2).lower(), m.group(2).lower()) + " wind", t)
    # readings: a temperature alone, or after a height or a label
    deg = r"[-−+]?\d+(?:[.,]\d+)?\s*(?:°\s*[cf]?|degrees?(?:\s*(?:celsius|c))?|deg\b)"
    t = _sub(r"(?i)" + _START + r"(?:(?:temperature )?(?:at|on|above|below) [\d,.]+\s*m\s*:\s*)?(?:around |about |near |up to )?"
               + deg + r"\s*(?:[.;]\s*|,\s*|$)", "", t)
    t = _sub(r"(?i)" + _START + r"(?:(?:coast|coastal|inland|interior|valley|mountain|city)\s+)?(?:max(?:imum)?|min(?:imum)?|highs?|lows?)"
               r"(?:\s+temp(?:erature)?s?\.?)?\s*:?\s*(?:[A-Z][a-z]+\s+)?(?:of |up to |around |near |about )?" + deg
               + r"(?:,?\s*(?:[A-Z][a-z]+\s+)?" + deg + r")*(?:\s+(?:in|on|at|along|near) [^.;,]*)?\s*(?:[.;]\s*|$)", "", t)
    t = _sub(r"(?i)" + _START + r"(?:(?:coast|coastal|inland)\s+)?(?:max(?:imum)?|min(?:imum)?)\s+temps?\s*:[^.;]*(?:[.;]\s*|$)", "", t)
    t = _sub(r"(?i),?\s*\b(?:highs?|lows?|maxima|minima|maximum|minimum|max\.?|min\.?)\s+(?:of |up to |around |near |about )?"
               + deg + r"(?:\s+(?:in|on|at|along|near) [^,.;]*)?", "", t)
    t = _sub(r"(?i),\s*afterwards\b", ", then", t)
    t = _sub(r"(?i),\s*some (?:locally )?(heavy|severe|strong|intense)(?: at times)?(?=\s*[,.;]|$)", r", \1 at times", t)
    t = _sub(r"(?i)\b(hazy|haze|dusty|dust)( skies)? due to\b", r"\1\2 from", t)
    t = _sub(r"(?i)" + _START + r"(?:at|on|above|below) [\d,.]+\s*m\s*:\s*", "", t)  # "At 3000 m: ..."
    t = _sub(r"(?i)\b(?:temperature|temp\.?)\s+(?:at|on|above) [\d,.]+\s*m\s*:?\s*" + deg + r"\.?", "", t)
    # "Wind at 3000 m S 70 km/h": the wind high up
    t = _sub(r"(?i)\bwinds? (?:at|on|above) [\d,.]+\s*m\s+(" + _COMPASS_RX + r")\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*(?:km/h|kt|kts|knots|mph|m/s)",
               lambda m: _COMPASS[m.group(1).lower()] + " wind on the heights", t)
    # "snowline falling from 2200 to 1400 m", "freezing level 3000 m falling to 2200 m": the level it falls to
    t = _sub(r"(?i)\b(snowline|snow line|snowfall limit|snow limit|snow level|freezing level|zero-degree line)"
               r"(?:\s+[\d,]+\s*m)?\s+(?:falling|dropping|sinking|lowering|descending)\s+(?:from\s+[\d,]+\s*(?:m\b)?\s*)?to\s+", r"\1 ", t)
    # "10 to 20 cm at 2000 m", "15 to 25 cm": an amount
    t = _sub(r"(?i),?\s*\b(?:(?:above|over|exceeding|more than|up to|around|about|of)\s+)?\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:cm|mm)\b(?!\s+of\b)(?:\s+(?:at|above) [\d,.]+\s*m\b)?", "", t)
    # a warning by its level and kind: "Warning level orange – storm:", "Yellow warning – snow:"
    t = _sub(r"(?i)\bwarning level (red|orange|yellow|amber)\s*[–—-]\s*([a-z ]+?)\s*:\s*",
               lambda m: m.group(1).lower() + " " + m.group(2).lower().strip() + " warning. ", t)
    t = _sub(r"(?i)\b(red|orange|yellow|amber) warning\s*[–—-]\s*([a-z ]+?)\s*:\s*(?-i:(?:[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*,\s*)?)",
               lambda m: m.group(1).lower() + " " + m.group(2).lower().strip() + " warning. ", t)
    t = _sub(r"(?i)\bwarning level (red|orange|yellow|amber)\b", lambda m: m.group(1).lower() + " warning", t)
    t = _sub(r"(?i)\b((?:[a-z]+ ){0,2}(?:advisory|warning|watch))\s+(?:is\s+|remains\s+)?in effect\b[^.;]*",
               lambda m: m.group(0) if m.string[: m.start()].count("...") % 2 else article(m.group(1).lower()) + " in force", t)  # "HEAT ADVISORY in effect today for inland areas ..."
    t = _sub(r"(?i)" + _START + r"(?:possible |potential |expected |likely )impacts?\s*:" + _SENTENCE, "", t)
    t = _sub(r"(?i)" + _START + r"(?:be prepared|caution|take care|stay informed|check)\b" + _SENTENCE, "", t)
    # an avalanche bulletin: its slabs and triggers are an avalanche risk
    t = _sub(r"(?i)" + _START + r"avalanche (?:information|bulletin|report|warning)(?:\s*\([^()]*\))?\s*:\s*", "", t)
    t = _sub(r"(?i)" + _START + r"[^.;]*\b(?:wind slabs?|snow slabs?|slab avalanches?|(?:can|could|may) be (?:released|triggered))\b"
               + _SENTENCE, "an avalanche risk.", t)
    # a marine bulletin: "Sea state: Moderate to choppy; waves 3-6 ft", "Seas: Choppy to rough outside the reef, 5-7 ft"
    t = _sub(r"(?i)\b(sea state\s*:?|seas?\s*:?)\s*(" + _SEA_STATE + r"(?:\s+(?:to|or)\s+" + _SEA_STATE + r")?)(?![\w-])"
               r"((?:\s+(?:outside|inside|beyond|within|off|near|along|in|on) (?:the )?[a-z]+(?: [a-z]+){0,2})?)"
               r"(?:(?:[,;]\s*|\s+)(?:waves?\s*:?\s*)?(?:\d+(?:\.\d+)?\s*(?:-|–|to)\s*)?\d+(?:\.\d+)?\s*(?:ft|feet|m|metres|meters)\b)?"
               r"(?:\.\s*waves?\s*:\s*(?:\d+(?:\.\d+)?\s*(?:-|–|to)\s*)?\d+(?:\.\d+)?\s*(?:ft|feet|m|metres|meters)\b)?",
               lambda m: _sea_state(m.group(2)) + m.group(3) if "chop" in m.group(2).lower() or m.group(1).lower().startswith("sea state")
               else m.group(0), t)
    # compass ranges: "E-SE 10-20 kts" is a wind from between east and southeast
    t = _sub(r"\b(" + _COMPASS_RX.replace("(?:", "(?:(?i:") + r"))[-–](" + r"(?:N|NE|E|SE|S|SW|W|NW|NNE|ENE|ESE|SSE|SSW|WSW|WNW|NNW)"
               + r")\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*(?:kts?|knots|km/h|mph|m/s)\b",
               lambda m: _COMPASS[m.group(1).lower()] + " to " + _COMPASS[m.group(2).lower()] + " wind", t)
    # "higher near thunderstorms", "occasionally higher in gusts": more of the wind just named
    t = _sub(r"(?i),?\s*\b(?:occasionally |locally |at times )?(?:higher|stronger|lighter) (?:in|near|around|with|over|on) [^,.;]+", "", t)
    # "some with frequent lightning", "some heavy with strong gusty winds": the storms' detail
    t = _sub(r"(?i),\s*some (heavy|severe|strong|intense) with\b", r", \1 at times, with", t)
    t = _sub(r"(?i),\s*some with\b", " with", t)
    t = _sub(r"(?i)\b(?:is|are) (?:forecast|expected|likely) to (move|cross|pass|bring|affect|reach|approach|drift|spread|push|sweep|"
               r"develop|linger|arrive|set in)\b", lambda m: _ing(m.group(1)), t)
    t = _sub(r"(?i)\b(?:the|a) ((?:cold |warm |occluded )?front) (arrives|moves in|passes|sets in|crosses)\b",
               lambda m: "a " + m.group(1).lower() + " " + _ing(m.group(2)), t)
    t = _sub(r"(?i)\b(decreasing|diminishing|easing|dying out) to (?:isolated|scattered|little|limited) activity\b", r"\1", t)
    t = _sub(r"(?i)\b(mainly|mostly|chiefly|especially)\s+(?=(?:along|over|in|near|on|across|inland)\b)", "", t)
    t = _sub(r"(?i),?\s*\b(?:over|in|across) (?:the )?(?:(?:northern|southern|eastern|western|central|coastal|inland|interior|"
               r"northeastern|northwestern|southeastern|southwestern)(?:,? and |, )?)+\s*(?:areas|parts|districts|regions)\b"
               r"(?: of (?:the )?(?:region|country|state|province|district|island|islands|territory))?", "", t)
    t = _sub(r"(?i)\b(increasingly cloudy|clouding over|cloud increasing) from the (?:north|south|east|west)[a-z]*\b", r"\1", t)
    t = _sub(r"(?i)\b(mild|warm|cold|cool|chilly|hot) for the (?:time of )?(?:year|season|date)\b", r"\1", t)
    t = _sub(r"(?i)\b(?:föhn|foehn)-(?:influenced|affected)\b", "a föhn wind", t)
    t = _sub(r"(?i)\b((?:(?:strong|light|moderate|weak|gusty|stormy) )?(?:north|south)(?:erly)?) (föhn|foehn)\b(?! wind)",
               lambda m: m.group(1) + " " + m.group(2) + " wind", t)
    t = _sub(r"(?i)(?:^|(?<=[.;,]\s))(föhn|foehn) wall\b", r"a \1 wall", t)
    t = _sub(r"(?i)^(clear|cold|frosty|mild|cloudy|starry|calm) night\s*:\s*", r"\1, ", t)
    # "In the evening a cold front with showers": the weather, then its time
    t = _sub(r"(?i)" + _START + r"(" + _TIME_FIRST + r")\s+(?!(?:and|or|with|then|winds?|turning|veering|backing)\b)([a-zäöüß][^,.;]*)",
               lambda m: m.group(2) + " " + m.group(1).lower(), t)
    t = _sub(r"(?i),?\s*\bwave heights?\b(?=\s*[.,;]|\s*$)", "", t)  # its number gone: the sea is said already
    t = _sub(r"\s*;\s*(?=[.,;]|$)", "", t)  # "Partly cloudy in the afternoon; ." once a reading has gone
    return " ".join(t.split())


def _sea_state(words: str) -> str:
    w = words.lower()
    return ("a " if not w.startswith(("a ", "an ")) else "") + (w if w.endswith("chop") else w + " sea")


def _ing(verb: str) -> str:
    from lemminflect import getInflection, getLemma

    head, _, rest = verb.lower().partition(" ")
    head = (getLemma(head, "VERB") or (head,))[0]
    return (getInflection(head, "VBG") or (head + "ing",))[0] + (" " + rest if rest else "")


def _bulletins(t: str) -> str:
    """Bulletin forms, made the weather they state: alert headings, advice to the public,
    validity, probability and impact lines, temperature and tide readings, sea areas, and the
    times, days and places a warning names (the weather stays, its paperwork goes)."""
    t = _sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), t)  # "F.T. Labuan"
    t = _periods(t)
    t = _sub(r"(?i)\s*\((?:[^()]*\b(?:level|category|stage|code)\b[^()]*)\)", "", t)  # "(Alert Level)", "(First Category)"
    t = _sub(r"\s*\((?:[A-Z][\w'’.-]*(?:,? (?:and )?[A-Z][\w'’.-]*)*)\)", "", t)  # "(Tenom, Beaufort, Nabawan)"
    t = _sub(r"\s*\bin [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*\s*:" + _SENTENCE, ".", t)  # "in Sabah: Interior and West Coast."
    t = _sub(r"(?i)\b(coasts?) and (?:the )?interior\b", r"\1", t)
    t = _sub(r"(?i)\b([ap])\.m\.?(?=\s|$|[,;])", r"\1m", t)  # "6:00 p.m. Thursday": not a sentence end
    # "SW 20-25 kt, becoming 25-30 kt in the afternoon": the wind's change, said without its numbers
    def _becoming(m: re.Match) -> str:
        before = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", t[max(0, m.start() - 40):m.start()])]
        after = float(m.group(2))
        word = "increasing" if not before or after > max(before) else "easing" if after < max(before) else ""
        return (", " + word) if word else ""
    t = _sub(r"(?i),?\s*\bbecoming (\d+(?:\.\d+)?\s*(?:-|–|to)\s*)?(\d+(?:\.\d+)?)\s*(?:kt|kts|knots|km/h|mph|m/s)\b", _becoming, t)
    # an alert's heading: "YELLOW LEVEL ADVERSE WEATHER ALERT:", "STRONG WIND ADVISORY:", "Orange Alert:"
    t = _sub(r"(?i),?\s*in gusts (?:up to|of up to|of|to)\b", ", gusts to", t)
    t = _sub(r"\b[A-Z]{2,}\s+warns of ([a-z ]+?)\s*:\s*", lambda m: m.group(1) + " warning. ", t)  # "DMI warns of high water:"
    t = _sub(r"(?i)\b(red|orange|yellow|amber) level (?:adverse |severe )?weather (alert|warning)\b", r"\1 \2", t)
    t = _sub(_START + r"([A-Z][A-Za-z ]*?(?:ALERT|ADVISORY|WARNING|WATCH|Alert|Advisory|Warning|Watch))\s*:\s*",
               lambda m: _sub(r"^(.+?) and (.+?) (warning|alert|advisory|watch)$", r"\1 \3, \2 \3", m.group(1).lower()) + ". ", t)
    t = _sub(r"(?i)\bwarning on ([a-z ]+?)(?=\.|\s*$)", r"\1 warning", t)  # "WARNING ON CONTINUOUS RAIN"
    t = _sub(r"(?i)\s*\b(?:in|over) the following (?:areas|districts|regions|waters)\b" + _SENTENCE, ".", t)
    t = _sub(r"(?i)\s*\bover the waters of\b" + _SENTENCE, ".", t)
    t = _sub(r"(?i)" + _START + r"this (?:condition|warning|situation|system) (?:is|will|may)\b" + _SENTENCE, "", t)
    t = _sub(r"(?i)" + _START + r"marine forecast\b[,:]?\s*", "", t)
    t = _sub(_START + r"(?:[A-Z][\w'’-]* )+[Ww]aters\s*[.:]\s*", "", t)  # "West Coast waters.", "Kudat waters:"
    t = _sub(_START + r"[A-Z][\w'’-]*(?: [A-Z(][\w'’()-]*)*,? (?:above|below) [\d,.]+\s*m(?:etres)?\s*:\s*", "", t)
    t = _sub(r"(?i)\bwind direction\s*:\s*([a-z-]+)\s*\.?\s*wind speed\s*:\s*", r"\1 wind ", t)
    t = _sub(r"(?i)\b(?:from )?\d{4,6}\s*utc\b", "", t)
    t = _sub(r"(?i),?\s*\b(?:temporarily|locally|loc\.?)\s+\d+(?:\s*(?:to|-|–)\s*\d+)?(?:\s*beaufort)?"
               r"(?: (?:from|in|during|on|over|at|by) (?:the )?(?:morning|afternoon|evening|night|midday|noon))?(?=[\s.,;]|$)", "", t)
    t = _sub(r"(?i)\b(north-north(?:east|west)|south-south(?:east|west)|east-(?:north|south)east|west-(?:north|south)west|"
               r"north(?:east|west)?|south(?:east|west)?|east|west)\s+\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:beaufort|bft|bf)\b",
               lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"(?i)\b(?:increased |high |elevated )?concentrations? of (?:african |saharan )?dust\b", "dust", t)
    t = _sub(r"(?i)\bwith visibility reduced(?: to [\d.,]+\s*(?:km|m|metres|miles))?", "with reduced visibility", t)
    t = _sub(r"(?i),?\s*\bwith waves (?:of )?up to [\d.,]+\s*(?:m|metres|meters|ft|feet)\b", "", t)
    t = " ".join(t.split())
    # readings and paperwork, whole sentences: "Temp. 8-10 degrees.", "Highest temperature expected 44°C.",
    # "Valid: 12:00 pm Wednesday to 6:00 am Thursday.", "Probability: Medium (65%).", "Impacts: ...",
    # "High tide 07:42, low tide 14:05.", "Water level up to 1.2 m above normal."
    t = _sub(r"(?i)" + _START + r"(?:temps?\.?|temperatures?:|(?:the )?(?:highest|lowest|maximum|minimum|max|min)\.? "
               r"temperatures?\b|valid\s*:|probability\s*:|impacts?\s*:|(?:high|low) tide\b(?!\s*(?:advisory|warning|alert|watch))|water levels?\b|tides?\s*:|"
               r"(?:rainfall |snowfall |precipitation )?amounts?\s*:?\s*(?:of |up to |near |around |about )?\d)"
               + _SENTENCE, "", t)
    # advice to the public: "Fishermen and marine users are advised to take precaution.", "Avoid driving through ...",
    # "Keep away from wadis ...", "Residents are advised to be on the lookout for flash floods."
    t = _sub(r"(?i)" + _START + r"(?:[^.;]*\b(?:are|is) (?:advised|urged|requested|asked|warned)\b|avoid\b|keep away\b|"
               r"stay away\b|do not\b|take (?:precautions?|care)\b|be on the lookout\b|motorists\b|boaters should\b)" + _SENTENCE, "", t)
    t = " ".join(t.split())
    t = _sub(r"(?i)" + _START + r"wave heights?\s*:?\s*(?:of )?(?:more than |up to |near |around |below |over |about )?\d"
               + _SENTENCE, "", t)
    # "from 14:00 till 21:00", "from Tuesday to Thursday", "from Wednesday", "and Saturday morning"
    t = _sub(r"(?i),?\s*\b(?:valid\s+)?(?:from )?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:till|to|until|-|–)\s*\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?", "", t)
    t = _sub(r"(?i),?\s*\b(?:from|on|until|till|by|and|through) (?:the )?" + _DAYS + r"(?: (?:to|till|until|and|through) "
               + _DAYS + r")?(?: (?:morning|afternoon|evening|night))?\b", "", t)
    # "in 24 hours", "exceeding 30mm", "of more than 2 metres": the amount goes, and the words that led to it
    t = _sub(r"(?i)\s*\b(?:exceeding|in excess of|of more than|more than)\s+\d+(?:[.,]\d+)?\s*"
               r"(?:m/s|km/h|mm|cm|metres?|meters?|m|ft|feet|knots?|kts?|mph)\b(?:\s+in\s+\d+\s+hours?)?", "", t)
    t = _sub(r"(?i)\s*\bin \d+ hours?\b", "", t)
    t = _sub(r"(?i)\b(?:is|are) (?:expected|forecast|likely|predicted)(?= over| in| along| across| for| on| at|\s*[.,;]|$)", "", t)
    # places a bulletin names: "over the Lamu and Tana River coast and offshore", "over Kilifi, Tana River and Lamu counties",
    # "extending to Dibba", "at Jebel Jais (RAK)"
    _name = r"[A-Z][a-z][\w'’-]*(?: [A-Z][a-z][\w'’-]*)*"
    _areas = r" (?:coasts?|county|counties|regions?|districts?|provinces?|waters)"
    t = _sub(r"\s*,?\s*\b(?:over|across) (?:the )?" + _name + r"(?:(?:,| and| &) (?:the )?" + _name + r")+(?:" + _areas
               + r")?(?: and offshore)?(?=[\s.,;]|$)", "", t)  # "over Kilifi, Tana River and Lamu counties"
    t = _sub(r"\s*,?\s*\b(?:over|across) (?:the )?" + _name + _areas + r"(?: and offshore)?(?=[\s.,;]|$)", "", t)
    t = _sub(r"\s*,?\s*\bextending to (?:the )?" + _name + r"(?=[\s.,;]|$)", "", t)
    t = _sub(r"(?i)\bconvective clouds? (?:(?:may be|are|is) )?associated with\b", "clouds with", t)
    t = _sub(r"(?i)\b(?:may be )?associated with\b", "with", t)
    t = _sub(r"(?i)\bprobability of (mist|fog|haze|dust)(?: formation)?\b", r"chance of \1", t)
    t = _sub(r"(?i)\b(mist|fog) formation\b", r"\1", t)
    t = _sub(r"(?i)\bover (?:a )?few places\b", "in a few places", t)
    t = _sub(r"\b(mountains|coasts?|areas|islands|hills|valleys|wadis|parts?) (?:and|of) (?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*"
               r"(?:(?:,| and) [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)*", r"\1", t)
    t = _sub(r"(?i),\s*waves?(?=\s*[.,;]|$)", "", t)
    t = _sub(r"(?i),?\s*\bin (showers|rain|precipitation|squalls) ((?:strong |severe |gale-force |gale force )?gusts)\b",
               r"; \2 in \1", t)
    # "Sea: Oman Sea slight": the sea's name is not its state; "North Sea and Skagerrak: Gale warning."
    t = _sub(r"\b([Ss]eas?)\s*:\s*(?:the )?(?:[A-Z][\w'’-]* )+(?:Sea|Gulf|Bay|Strait|Channel)\s+", r"\1: ", t)
    t = _sub(_START + r"(?:(?:[A-Z][\w'’-]* )+(?:Sea|Gulf|Bay|Strait|Channel)|Kattegat|Skagerrak)(?: and (?:the )?"
               r"[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)?\s*:\s*", "", t)
    # "Seas: Moderate, waves up to 1.5m in open waters": the sea's state, where
    t = _sub(r"(?i)\bseas?\s*:\s*((?:slight|moderate|rough|very rough|high|very high|calm|smooth)(?: to (?:occasionally )?"
               r"(?:slight|moderate|rough|very rough|high))?)((?: (?:on|along|off|in|near) [^,.;]+)?)"
               r"(?:,\s*((?:slight|moderate|rough|very rough|high|calm|smooth)) ((?:on|along|off|in|near) [^,.;]+))?"
               r"(?:,?\s*(?:waves?|swells?)\b(?:[^.;]|\.\d)*)?",
               lambda m: "a " + m.group(1).lower() + " sea" + m.group(2)
               + (", a " + m.group(3).lower() + " sea " + m.group(4) if m.group(3) else ""), t)
    # "Morning: Partly cloudy. Afternoon: Showers.": each period's weather, then its time
    t = _sub(_START_LABEL + r"(Morning|Afternoon|Evening|Night|Overnight|Tonight)\s*:\s*([^.]*)",
               lambda m: m.group(2) + {"morning": " in the morning", "afternoon": " in the afternoon", "evening": " in the evening",
                                       "night": " at night", "overnight": " overnight", "tonight": " tonight"}[m.group(1).lower()], t)
    # DMI: "in the evening showers", "in the afternoon light rain", "in the evening west 18-23 m/s"
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)|tonight|overnight|later) ((?:light |heavy |scattered |isolated |some )?"
               r"(?:showers|rain|drizzle|snow|sleet|fog|mist|thunderstorms|thunder|hail))\b", r"\2 \1", t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)|tonight|overnight|later) ((?:north|south)?-?(?:east|west)|north|south)"
               r"\s+(\d[^.,;]*)", r"becoming \2 \3 \1", t)
    # "Showers, in places with hail": the hail is in places
    t = _sub(r"(?i),?\s*in places with (hail|thunder|sleet|snow|sleet)\b", r" with \1 in places", t)
    # "Moderate, in precipitation poor visibility": the visibility, then where it drops
    t = _sub(r"(?i)\b(good|moderate|poor)(?: visibility)?, in (precipitation|showers|rain|fog|snow) ((?:very )?(?:good|moderate|poor))"
               r"(?: visibility)?", r"\1 visibility, \3 visibility in \2", t)
    # compass points as the wind's direction: "NE'ly", "from west-southwest"
    t = _sub(r"(?i)\b(" + _COMPASS_RX + r")['’]ly\b", lambda m: _COMPASS[m.group(1).lower()], t)
    t = _sub(r"(?i)\bwinds? from (?:the )?((?:north|south|east|west)-(?:north|south)(?:east|west))\b",
               lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"(?i)\bwith a speed of\b[^.;]*", "", t)
    # DHMZ (Croatia): "NE and E (bura) 4-5 Bf", "Wind moderate jugo", "in the afternoon moderate maestral", "Sea 2-3"
    t = _sub(r"(?i)\b(?:" + _COMPASS_RX + r"(?: and | to |/)?)+\s*\((" + _ADRIATIC + r")\)", lambda m: m.group(1).lower(), t)
    t = _sub(r"(?i)\b(?:" + _COMPASS_RX + r"|north|south|east|west)(?: to (?:N|NE|E|SE|S|SW|W|NW|north|"
               r"south|east|west))?\s*\((" + _ADRIATIC + r")\)", lambda m: m.group(1).lower(), t)
    t = _sub(r"(?i),?\s*\bin the [A-Z][\w'’-]* (?:Channel|channel)\b(?: in the (?:morning|afternoon|evening|night))?", "", t)
    t = _sub(r"(?i),?\s*\bin the channels\b(?:\s+\d+(?:\s*[-–]\s*\d+)?(?:\s*bf)?|\s+(?:strong|very strong|gale force|moderate))?", "", t)
    t = _sub(r"(?i),?\s*\bon the open sea\b(?:\s+(?:storm|gale)?\s*\d+(?:\s*[-–]\s*\d+)?(?:\s*bf)?)?", "", t)
    t = _sub(r"(?i)\bwind light and variable\b", "light and variable winds", t)
    t = _sub(r"(?i)\b(strong|moderate|fresh) and (very strong|strong|fresh)\b", r"\1 to \2", t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)) wind turning to (" + _ADRIATIC + r")(?:, (light|moderate|fresh|strong|very strong))?", lambda m: "turning to " + ((m.group(3) or "") + " "
               + m.group(2)).strip().lower() + " " + m.group(1).lower(), t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)) (turning|veering|backing) to (" + _ADRIATIC + r")\b", r"\2 to \3 \1", t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)) ((?:light|moderate|fresh|strong|very strong) )?"
               r"(" + _COMPASS_RX + r") winds?\b",
               lambda m: (m.group(2) or "").lower() + _COMPASS[m.group(3).lower()] + " wind " + m.group(1).lower(), t)
    t = _sub(r"(?i)\bwind (" + _ADRIATIC + r")\b", lambda m: m.group(1).lower(), t)
    t = _sub(r"(?i),?\s*\blater (" + _COMPASS_RX + r")\b(?!\s*\d)",
               lambda m: ", becoming " + _COMPASS[m.group(1).lower()] + " later", t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)) locally reduced in (haze|fog|mist|smoke)\b", r"\2 in places \1", t)
    t = _sub(r"\s*\b(?i:over (?:the )?(?:(?:central|eastern|western|northern|southern|city|north|south|east|west)(?:,| and)? ?)+"
               r"(?!\s*(?:coast|coasts|coastal|mountains|hills|shore|sea|slopes|valley|highlands|islands?)\b)(?:areas|parts|regions|districts)?)(?: of [A-Z][\w'’-]*| [A-Z][\w'’-]*)?(?i:, including the offshore islands)?"
               r"(?=[\s.,;]|$)", "", t)
    t = _sub(r"(?i),\s*locally heavy\b", "", t)
    t = _sub(r"(?i)\bwind (weak|light|moderate|fresh|strong|very strong)(?: to (moderate|fresh|strong|very strong))?"
               r"(?: (" + _ADRIATIC + "|" + _COMPASS_RX + r"))?\b",
               lambda m: ((m.group(1).lower().replace("weak", "light") + (" to " + m.group(2).lower() if m.group(2) else ""))
                          + " " + (_COMPASS.get(m.group(3).lower(), m.group(3).lower()) if m.group(3) else "")
                          + ("" if m.group(3) and m.group(3).lower() in _NAMED_WINDS else " wind")).replace("  ", " "), t)
    t = _sub(r"(?i)\b(in the (?:morning|afternoon|evening|night)) ((?:possible |occasional |locally )*(?:weak |light |moderate |"
               r"fresh |strong |very strong )?(?:" + _ADRIATIC + r"|rain|showers|"
               r"(?:n|ne|e|se|s|sw|w|nw)(?=[\s,.;]|$)))", lambda m: (_sub(r"(?i)\b(n|ne|e|se|s|sw|w|nw)$", lambda c: _COMPASS[
                   c.group(1).lower()] + " wind", m.group(2)) + " " + m.group(1)), t)
    t = _sub(r"(?i)\bseas? (?!\d+(?:\.\d+)?(?:\s*[-–]\s*\d+(?:\.\d+)?)?\s*(?:ft|feet|m|metres|meters)\b)(\d)(?:\s*[-–]\s*(\d))?(?:, at times (\d))?(?!\s*(?:[.,]\d|m\b|ft\b|metres|meters|feet|\d))",
               lambda m: "a " + _DOUGLAS[int(m.group(2) or m.group(1))] + " sea", t)
    t = _sub(r"(?i)\bseas? \(?douglas\)? (\d)", lambda m: "a " + _DOUGLAS[int(m.group(1))] + " sea", t)
    t = _sub(r"(?i),?\s*\b(?:maximum|minimum|max\.?|min\.?) temperatures?\b[^.;]*", "", t)
    t = _sub(r"(?i),?\s*\bat night not below\b[^.;,]*", "", t)
    t = _sub(r"(?i),?\s*\blocally more\b", "", t)
    t = _sub(r"(?i)\s*\bbetween \d{1,2}[.:]\d{2}\s*[ap]m and \d{1,2}[.:]\d{2}\s*[ap]m\b", "", t)
    t = _sub(r"(?i)\bheat stress\s*:\s*(low|moderate|high|very high|extreme)\s*(?:\(\s*wbgt[^)]*\))?",
               lambda m: m.group(1).lower() + " heat stress", t)  # "Heat Stress: Moderate (WBGT 31-32°C)"
    t = _sub(r"(?i)\bfire weather danger\b", "fire danger", t)
    t = _sub(r"(?i)\b(seas? (?:slight|moderate|rough|very rough|high)(?: to (?:slight|moderate|rough|very rough|high))?),\s*"
               r"wave heights?\b(?:[^.;]|\.\d)*", r"\1", t)
    t = _sub(r",?\s*\bon the [A-Z][\w'’-]* (?:pass|bridge|coast|road|motorway)\s+(?=gusts)", ", ", t)  # "on the Klis pass gusts over 100 km/h"
    t = _sub(r"(?i)\bgusts over (\d)", r"gusts to \1", t)
    # a named wind of the Adriatic said as the wind it is: "moderate maestral" -> "moderate maestral wind"
    t = _sub(r"(?i)\b(" + _ADRIATIC + r")\b(?! winds?\b)(?!\s*\()",
               lambda m: m.group(1).lower() + " wind", t)
    # BMS / Namibian forms: "Wind: Variable, light", "Wind: Easterly, moderate, strong and gusty near thunderstorms",
    # "gusty near showers", "Fire Danger Index: High to Very High", "... are possible over", "partly clearing"
    t = _sub(r"(?i)\bwind\s*:\s*((?:north|south|east|west)[a-z-]*erly|variable),\s*((?:light|gentle|moderate|fresh|strong)"
               r"(?: to (?:moderate|fresh|strong))?)\b", lambda m: m.group(2).lower() + " " + m.group(1).lower() + " wind", t)
    t = _sub(r"(?i),?\s*\b(?:strong and )?gusty (near|in|with|around) (showers|thunderstorms|thundershowers|squalls)\b",
               r", with strong gusts \1 \2", t)
    t = _sub(r"(?i)\bfire danger(?: index| rating)?\s*:\s*((?:very |extremely )?(?:low|moderate|high|extreme|severe)"
               r"(?: to (?:very |extremely )?(?:moderate|high|extreme|severe))?)\b",
               lambda m: m.group(1).lower() + " fire danger", t)
    t = _sub(r"(?i)\s+\b(?:is|are) possible\b", " possible", t)
    t = _sub(r"(?i)\bpartly (clearing|brightening)\b", r"\1", t)
    t = _sub(r"(?i)\s*\bexpected (?:over|across|in) (?:the )?[A-Z][a-z][\w'’-]*(?: [A-Z][a-z][\w'’-]*)*", "", t)
    t = _sub(r"(?i)\s*\b(?:in effect|in force) until\b[^.;]*", " in force", t)
    t = _sub(r"(?i)\s*\b(?:before|after|until|till|by|from) \d{1,2}[:.]\d{2}(?:\s*[ap]\.?m(?:\.(?!\s+[A-Z]))?)?(?: local time| utc| lt)?(?: (?:today|tonight|tomorrow|"
               + _DAYS[3:-1] + r"))?", "", t)
    t = _sub(r"(?i)" + _START + r"marine\s*[,:]\s*", "", t)
    t = _sub(_START + r"[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)* to [A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*\s*:\s*", "", t)  # "Walvis Bay to Meob Bay:"
    t = _sub(r"(?i)\bswells? (n|ne|e|se|s|sw|w|nw|nne|ene|ese|sse|ssw|wsw|wnw|nnw)\s+[\d.,]+\s*(?:m|metres|ft)\b",
               lambda m: "a " + _COMPASS[m.group(1).lower()] + " swell", t)
    t = _sub(r"(?i),?\s*\b(?:at |from |until |till |by )?\d{1,2}:\d{2}\b(?:\s*(?:[ap]\.?m(?:\.(?!\s+[A-Z]))?|utc|lt|local time|hrs)\b)?", "", t)
    t = _sub(r"\s+([.,;])", r"\1", t)
    t = _sub(r"(?:^|(?<=\s))(?:[,;]|\.(?!\.))\s*", "", t).strip()
    return t



def _forecasters(conditions: str) -> str:
    """The forms real forecasters use, made words the reader knows, on the forecast as written
    (case kept): the slots of a UK shipping or inshore forecast ("WIND. SEA STATE. WEATHER.
    VISIBILITY.": "S 4, increasing 6 later. Moderate. Rain later. Good."), bare compass points,
    the heights and distances of an Alpine forecast, the named winds ("Föhn", "Bise")."""
    t = _sub(r"(\d) (\d{3})\b", r"\1\2", " ".join(conditions.split()))  # "1 000 metres"
    t = _sub(r"(?i)\bkm\s*/\s*hr?\b|\bkmph\b|\bkph\b|\bkm/hour\b", "km/h", t)  # one spelling of the unit
    t = _bulletins(t)
    # a place or area labelling part of a forecast: "Gilgit: Max 23°C", "Inari: cloudy", "Bay of Bothnia: southwest 10-14 m/s"
    t = _sub(_START + r"(?!(?i:wind|winds|weather|sea|seas|sea state|swell|waves?|visibility|outlook|forecast|warning|warnings|"
               r"traffic weather|pedestrian weather|road weather)\s*:)(?![^:.]*(?i:danger|index|temp|max|min|chill|humidity|depth|warning|"
               r"alert|advisory|level|rating|outlook|forecast|visibility|swell|wind|sea)[^:.]*:)"
               r"[A-Z][\w'’-]*(?: (?:[A-Za-z][\w'’-]*|of|and|to|the)){0,3}:\s+",
               "", t)
    t = _sub(r"(?i)\bpedestrian weather:\s*(very )?slippery\b", lambda m: (m.group(1) or "") + "slippery pavements", t)
    t = _sub(r"(?i)\b(?:traffic|road|driving) weather:\s*", "", t)
    t = _sub(r"(?i)\b(very poor|poor|difficult|hazardous|dangerous|treacherous) driving conditions\b", r"\1 driving", t)
    t = _sub(r"(?i)\s*\bbecause of\b", ", with", t)
    t = _sub(r"(?i)" + _START + r"however,?\s+", "", t)
    # "This Morning...Partly cloudy. This Afternoon...Isolated showers": each period's weather, then its time
    t = _sub(r"(?i)" + _START + r"(this morning|this afternoon|this evening|tonight|overnight|tomorrow|today)\s*\.\.\.\s*([^.]*)",
               lambda m: m.group(2) + ("" if m.group(1).lower() == "today" else " " + m.group(1).lower()), t)
    # IPMA: "Sky very cloudy", "Wind from northwest, strong (40 to 50 km/h)", "Waves from northwest 3 to 4 m", "weak"
    t = _sub(r"\s*\(\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:km/h|kt|knots|mph|m/s)\)", "", t)
    t = _sub(r"(?i)\bperiods of ((?:very |partly |mostly )*cloudy) sky\b", r"\1 at times", t)
    t = _sub(r"(?i)\blittle cloudiness, increasing\b", "little cloud, clouding over", t)
    t = _sub(r"(?i)\b(?:the )?sky ((?:(?:very|generally|mostly|partly|mainly) )*(?:cloudy|clear|overcast))\b", r"\1", t)
    t = _sub(r"(?i)\b((?:(?:very|generally|mostly|partly|mainly) )*(?:cloudy|clear|overcast)) sky\b", r"\1", t)
    t = _sub(r"(?i)\blittle cloudiness\b", "little cloud", t)
    t = _sub(r"(?i)\bweak (showers|rain|drizzle|snow|snowfall)\b", r"light \1", t)
    t = _sub(r"(?i)\bwinds? from (?:the )?(north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|"
               r"south-east|south-west|variable directions?),\s*((?:weak|light|moderate|fresh|strong|very strong)"
               r"(?: to (?:moderate|fresh|strong|very strong))?)\b",
               lambda m: m.group(2).lower().replace("weak", "light") + " " + ("variable" if m.group(1).lower().startswith("variable")
                                                                             else _directional(m.group(1).lower())) + " wind", t)
    t = _sub(r"(?i)\bwinds? from (?:the )?(north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|"
               r"south-east|south-west)\b", lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"(?i)(?<=wind),\s*(?:weak|light|moderate|strong|fresh)(?: to (?:moderate|strong|fresh))? (?:on|in|along|over) [^,.;]+", "", t)
    t = _sub(r"(?i)\bturning to (north|south|east|west|northeast|northwest|southeast|southwest)\b",
               lambda m: "veering " + _directional(m.group(1).lower()), t)
    t = _sub(r"(?i),?\s*higher (?:in|on|over) [^,.;]+", "", t)
    t = _sub(r"(?i)" + _START + r"(?:a )?(?:small|slight|little) (?:drop|rise|fall|change) in (?:temperatures?|maximum|minimum)[^.]*\.?", "", t)
    t = _sub(r"(?i)\b(red|orange|yellow|amber) warning for [a-z ]+?(?: between [^.,;]*)?(?=[.,;]|$)",
               lambda m: m.group(1).lower() + " warning", t)
    t = _sub(r"(?i),?\s*sometimes (heavy|heavier|strong|intense)\b", r", \1 at times", t)
    t = _sub(r"(?i),?\s*becoming weak\b", ", easing", t)
    t = _sub(r"(?i)\bsmall rise in temperature\b\.?", "", t)
    t = _sub(r"(?i),?\s*becoming (?:very )?(?:moderate|poor)(?: to (?:very )?poor)? in (?:showers|rain|fog|drizzle|snow)", "", t)
    t = _sub(r"(?i)" + _START + r"(?:today|tonight|this (?:morning|afternoon|evening)|for today)[,:]\s*", "", t)
    t = _sub(r"(?i)\s*\bvalid (?:from|until|till|to|for)\b[^.]*\.?", "", t)  # "Valid from 11:00 till 19:00."
    t = _sub(r"(?i)\s*\bnext (?:bulletin|update|forecast)\b[^.]*\.?", "", t)
    t = _sub(r"(?i)\s*\bit does not (?:yet )?(?:constitute|present|pose)\b[^.]*\.?", "", t)
    t = _sub(r"(?i)\b(?:moderate |severe |intense |weak )?tropical (storm|cyclone|depression)\s+'?[A-Z][A-Za-z]+'?\s+(?:was|is)\s+"
               r"(?:centred|centered|located)\b[^.]*\.?", lambda m: "a tropical " + m.group(1).lower() + " out at sea.", t)
    t = _sub(r"(?i)\bcyclone warning class ([ivx]+|\d)\b", lambda m: "class " + m.group(1).upper() + " cyclone warning", t)
    # "Yellow Warning: ...", "Strong wind warning for the coastal waters: ...": the warning, then the weather
    t = _sub(r"(?i)\b((?:[a-z-]+ ){1,3}(?:warning|advisory|alert|watch)|heat ?wave|cold ?wave)(?: for [^:.]*)?:\s*",
               lambda m: m.group(1) + ". ", t)
    t = _sub(r"(?i)\b(?:the )?seas? (?:will be|will remain|are expected to be|is expected to be) ((?:very )?(?:smooth|slight|moderate|rough|high|calm)(?: to (?:very )?(?:slight|moderate|rough|high))?)",
               lambda m: "a " + m.group(1).lower() + " sea", t)
    t = _sub(r"(?i)\bgradually (becoming|turning|increasing|decreasing|easing)\b", r"\1", t)
    t = _sub(r"(?i)\bvisibility( in [a-z ]+?)? will be ((?:very )?(?:poor|moderate|good))\b",
               lambda m: m.group(2).lower() + " visibility" + (m.group(1) or ""), t)
    t = _sub(r"(?i),?\s*reducing to \d+(?:\.\d+)?\s*(?:km|m|miles?|nm)\b(?: in [a-z]+)?", "", t)
    t = _sub(r"(?i),?\s*locally (?:force )?\d+(?:\s*(?:beaufort|bft|bf))?(?: (?:at sea|offshore|on the coast|in the [a-z]+))?", "", t)
    t = _sub(r"(?i)\bcloud base\s+(?:of\s+|at\s+|around\s+)?(\d[\d,]*)\s*(m|ft|feet|metres|meters)\b",
               lambda m: "low cloud" if _metres(m.group(1), m.group(2)) < 900 else "cloud", t)
    t = _heights(t)
    t = metar.decode(t)
    t = _sub(r"\((\d[^()]*)\)", r"\1", t)  # "(30-40) kmph"
    t = _sub(r"(?i)\s*\b(?:about|around|near|of|at|of up to|up to)\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*(?:kmph|km/h|kmh|kph|mph|kt|kts|knots|m/s)\b", "", t)
    t = _sub(r"(?i)\s*\bof up to force \d+", "", t)
    t = _sub(r"(?i)\s*\bexpected (?:snowfall|rainfall|precipitation)\b.*$", "", t)  # amounts by area, to the end
    t = _sub(r"(?i)^warning\s*:\s*", "", t)
    # "North West Force 4", "West North West": a compass point written as words
    t = _sub(r"(?i)\b(north|south|east|west)[ -](north|south)[ -](east|west)\b",
               lambda m: m.group(1).lower() + "-" + m.group(2).lower() + m.group(3).lower(), t)
    t = _sub(r"(?i)\b(north|south)[ -](east|west)\b(?!ern)", lambda m: m.group(1).lower() + m.group(2).lower(), t)
    t = _sub(r"(?i)(?:\b(?:the|an?) |^|(?<=[.;]\s))([a-z ]+?(?:warning|signal|advisory|alert|watch)) (?:is|remains) (?:now |still )?"
               r"(?:in force|in effect|current|hoisted)(?: for [^.;]*)?", lambda m: article(m.group(1).lower()) + " in force", t)
    t = _sub(r"(?i)\b(?:may|will|could|can) be (heavy|heavier|torrential|intense|squally|thundery)\b", r"\1", t)
    t = _sub(r"(?i)\s+(?:(?:is|are) )?expected(?=\s*[.,;]|$)", "", t)  # "Mainly dry weather expected."
    t = _sub(r"(?i)" + _START + r"(on|over) (fell tops|the fells|high ground|the hills|the coast|the mountains|summits|the tops) "
               r"((?:[a-z-]+ )?winds?)\b(?! chill)", r"\3 \1 \2", t)  # "On fell tops southwesterly wind 8-12 m/s"
    t = _sub(r"(?i)\b(winds),\s*(?:strong|stronger|fresh|fresher|gale force|gusty)\s+(?:offshore|on high ground|over high ground|"
               r"at sea|on the coast|in exposed places|over the sea|on exposed coasts)(?: at first| later| at times)?", r"\1", t)
    t = _sub(r"(?i)\s*\((?:sea|land|coast|coastal|inland|offshore)\)", "", t)  # "Gale Warning (sea)"
    t = _sub(r"(?i),?\s*(?:with )?relative humidity\b[^.]*", "", t)
    t = _sub(r"(?i),?\s*with temperatures?\b[^.]*", "", t)  # "Cold, with temperatures of about 8 degrees in ..."
    t = _sub(r"(?i)\b(fair|fine|dry|sunny|bright)(?: weather)? (?:aside|apart) from\b", r"\1, with", t)
    t = _sub(r"(?i)\brather strong\b", "fairly strong", t)
    t = _sub(r"(?i)\b(light|moderate|fresh) to (?:at times|occasionally|locally) (heavy|strong|very heavy)\b", r"\1 to \2", t)
    t = _sub(r"(?i)\bcoastal waters? ((?:very )?(?:smooth|slight|moderate|rough|high|calm)(?: to (?:very )?(?:slight|moderate|rough|high))?)\b",
               lambda m: "a " + m.group(1).lower() + " sea", t)
    t = _sub(r"(?i)\b((?:very )?(?:smooth|slight|moderate|rough|high|calm)(?: to (?:very )?(?:slight|moderate|rough|high))?) coastal waters?\b",
               lambda m: "a " + m.group(1).lower() + " sea", t)
    t = _sub(r"(?i)\bgale[ -]force\b(?![ -](?:[a-z-]+ )?(?:winds?|gusts?|gales?)\b)", "gale-force winds", t)
    # a bulletin's number, who issued it and when: "GALE WARNING No. 2 issued at 5:00 AM today"
    t = _sub(r"(?i)\b(warning|advisory|bulletin|alert)\s+no\.?\s*\d+\b", r"\1", t)
    t = _sub(r"(?i)\s*\bissued (?:at|by|for|on)\b[^.]*", "", t)
    t = _sub(r"(?i)\b(landslide|flood|heat|rain|wind|storm|thunderstorm)(?: early)? warning\s*\(?(?:level\s*\d+\s*[-–]?\s*)?"
               r"(red|amber|yellow|orange)\)?", lambda m: m.group(2).lower() + " " + m.group(1).lower() + " warning", t)
    # a sentence addressed to people ("Fishermen are advised not to venture into the sea") is advice, not weather
    t = _sub(r"(?i)" + _START + r"[^.;]*\b(?:requested|advised|urged|should not|must not|are warned|alerted|should exercise|"
               r"should take|should remain|should stay|are reminded|remain cautious|take care|exercise caution)\b[^.;]*[.;]?\s*", "", t)
    t = _sub(r"(?i)\bsea areas?[^.;]*?\b(?:can|may|will) be (?:very )?(rough|moderate|slight|calm|high)(?: at times)?[^.;]*",
               lambda m: "a " + m.group(1).lower() + " sea at times", t)
    t = _sub(r"(?i)\bsea conditions? (?:will|may|can) be ((?:very )?(?:rough|moderate|slight|calm|high)(?: to (?:very )?(?:rough|high|moderate))?)",
               lambda m: "a " + m.group(1).lower() + " sea", t)
    t = _sub(r"(?i)\s+(?:are|is) being experienced\b", "", t)
    t = _sub(r"(?i)\s*\b(?:which|that) may (?:persist|affect|continue)\b[^.]*", "", t)
    t = _sub(r"(?i)\s*\b(?:associated with|due to|caused by) the [a-z ]*?(?:monsoon|surge|trough|front|depression|low)\b", "", t)
    t = _sub(r"(?i)\s+in direction\b", "", t)
    t = _sub(r"(?i)\s*\buntil \d{1,2}[:.]\d{2}(?: (?:local time|utc|gmt|lt))?", "", t)
    # "X will prevail", "showers may occur at a few places", "winds can be expected at times": the weather, not the verb
    t = _sub(r"(?i)\s+(?:will|may|can|could|might|should|are likely to|is likely to)\s+(?:also\s+)?(?:be\s+)?"
               r"(?:prevail|occur|develop|persist|continue|expected|experienced|observed|reported|felt|seen)\b", "", t)
    t = _sub(r"(?i)^winds? becoming (north(?:east|west)?|south(?:east|west)?|east|west)\b(?!erly)",
               lambda m: _directional(m.group(1).lower()) + " wind", t)  # "Wind becoming north 30 km/h ..."
    t = _sub(r"(?i)(?<=[.;]\s)winds? becoming (north(?:east|west)?|south(?:east|west)?|east|west)\b(?!erly)",
               lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"(?i)\bwinds? will be ([a-z-]+erly(?: (?:to|or) [a-z-]+erly)?)(?: in direction)?\b", r"\1 winds", t)
    t = _sub(r"\s*\((?=[A-Z])[^()\d]*\)", "", t)  # "in Albay (Legazpi City, Daraga)": the places, in brackets  # "winds will be south-westerly"
    t = _sub(r"(?i)\s*\b(?:and )?wind speed will be\s+(?:about\s+)?\d+(?:\s*(?:-|–|to)\s*\d+)?\s*(?:kmph|km/h|kph|mph|kt|knots|m/s)", "", t)
    t = _sub(r"(?i)\bsea areas?(?: off the coasts?| around the island)? (?:can|may|will) be (?:very )?(rough|moderate|slight|calm|high)"
               r"(?: at times)?", lambda m: "a " + m.group(1).lower() + " sea at times", t)
    t = _sub(r"(?i)\b(?:(?:moderate|strong|light|fresh|gentle)(?: to (?:strong|fresh|moderate|gale-force|gale force))? )?winds? "
               r"(?:coming )?from the (north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|"
               r"south-east|south-west)\b", lambda m: m.group(0).split(" winds", 1)[0].split(" wind", 1)[0].replace("Winds", "").replace("winds", "").strip()
               + (" " if not m.group(0).lower().startswith(("wind", "winds")) else "") + _directional(m.group(1).lower()) + " winds", t)
    t = _sub(r"(?i)\b(blizzard|whiteout|gale|storm|drought|flood|heatwave|heat wave)(?:-like)? conditions\b", r"\1", t)
    t = _sub(r"(?i)\b(cooler|warmer|milder|colder|drier|wetter|calmer) conditions\b", r"\1", t)
    t = _sub(r"(?i)\b(misty|foggy|hazy|stormy|windy|showery|squally|thundery|wintry|humid|cloudy|sunny|dry|wet|calm|cold|hot|"
               r"icy|snowy|freezing|blustery|unsettled|settled|fair|fine) conditions\b", r"\1", t)
    t = _sub(r"(?i)\b(?:above|over|exceeding|more than|up to|around|about)\s+\d+\s*mm\b", "", t)
    t = _sub(r"(?i)\b((?:mainly|mostly|generally|largely) )?(fair|fine|dry|settled|unsettled|showery|squally|stormy|hot|warm|cold|"
               r"cool|humid|wet|windy|cloudy|hazy|dusty|foggy) weather\b",
               lambda m: (m.group(1) or "") + m.group(2), t)
    t = _sub(r"(?i)\s+(?:are|is) (?:expected|forecast|likely)\b", "", t)
    t = _sub(r"(?i),?\s*in (?:showers|rain|fog|snow|drizzle) (?:very poor|poor|moderate)\b", "", t)  # "visibility moderate, in showers poor"
    # the Japan Meteorological Agency: "North wind, slightly strong", "Waves 4 m, later 3 m, with swell"
    t = _sub(r"(?i)\b((?:north|south|east|west|northeast|northwest|southeast|southwest)(?:erly)? winds?),\s*"
               r"(slightly strong|fairly strong|very strong|strong|fresh|moderate|light|weak)( at sea| on the coast| offshore| at times)?(?=\s*(?:[,.;]|$))",
               lambda m: {"slightly strong": "fresh", "weak": "light"}.get(m.group(2).lower(), m.group(2).lower()) + " "
               + m.group(1) + (m.group(3) or ""), t)
    t = _sub(r"(?i)(\d\s*(?:m|ft|metres|meters)),\s*later\s+\d+(?:\.\d+)?\s*(?:m|ft|metres|meters)\b", r"\1", t)
    t = _sub(r"(?i),?\s*with swell\b", ", a swell", t)
    # indices and readings that are numbers only: "UV index 8 or very high", "Humidex 33", "Amount 10 mm",
    # "High 27 except 21 near the coast", "Max 30°C, Min 25°C", "Temperature steady near 6"
    t = _sub(r"(?i)" + _START + r"(?:uvb?(?: sunburn)? index|humidex|heat index(?: values?)?|(?:sea|water|sea surface) temperature|snow depth|expected (?:snowfall|rainfall|precipitation)|air quality(?: health)? index|aqhi|pollen count|amount|"
               r"(?:high|low|max(?:imum)?|min(?:imum)?)(?: temperatures?)?|temperatures?|wind chill|feels like)\b"
               r"(?=[^.]*\d|\s*:|\s+(?:is\s+)?(?:low|moderate|high|very high|extreme)\b)[^.]*(?:\.|$)", "", t)
    t = _sub(r"(?i),?\s*\b(?:max|min)(?:imum)?\s*[-−]?\d+\s*°?\s*c?\b", "", t)
    # a wind by its speed: "North 18-23 m/s", "Southerly 20-30kt", "Strong westerly winds 35-45 kmph"
    t = _sub(r"(?i)\b(north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|south-east|"
               r"south-west|northerly|southerly|easterly|westerly|north-easterly|north-westerly|south-easterly|south-westerly|"
               r"northeasterly|northwesterly|southeasterly|southwesterly)\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*"
               r"(?:m/s|kt|kts|knots|km/h|kmh|kmph|kph|mph)\b",
               lambda m: _directional(m.group(1).lower()) + " wind", t)
    t = _sub(r"\b(NNE|ENE|ESE|SSE|SSW|WSW|WNW|NNW|NE|SE|SW|NW|N|E|S|W)\s+\d+(?:\s*(?:-|–|to)\s*\d+)?\s*"
               r"(?:m/s|kt|kts|knots|km/h|kmh|kmph|kph|mph)\b", lambda m: m.group(0) if re.search(
                   r"(?i)(?:becoming|turning|then|veering|backing|tending|shifting|changing|or|/|winds?)\s*$", m.string[: m.start()])
               else _COMPASS[m.group(1).lower()] + " wind", t)
    t = _sub(r"(?i)\s*\bwith (?:wind )?speed (?:reaching|of|up to|around)?\s*\d+(?:\s*(?:-|–|to)\s*\d+)?\s*"
               r"(?:m/s|kt|kts|knots|km/h|kmh|kmph|kph|mph)(?:\s+likely)?", "", t)
    t = _sub(r"(?i)\bwind speed\b", "winds", t)
    t = _sub(r"(?i),?\s*\bcoldest (?:inland|in the [a-z]+|on [a-z ]+)(?=\s*[.,;]|$)", "", t)
    t = _sub(r"(?i),?\s*\b(reaching|rising to|increasing to|easing to|decreasing to|dropping to)\s+\d+(?:\s*(?:-|–|to)\s*\d+)?"
               r"\s*(?:m/s|kt|kts|knots|km/h|kmh|kmph|kph|mph)\b",
               lambda m: ", " + {"reaching": "increasing", "rising to": "increasing", "increasing to": "increasing"}.get(
                   m.group(1).lower(), "easing"), t)
    # "The wind along the coast will be moderate south-westerly": the wind, where it blows
    t = _sub(r"(?i)\bthe wind( along the coast| over the sea| on the coast| inland| over land)? will be\s+([^.,]+?)(?=\s*[.,]|$)",
               lambda m: m.group(2) + (" wind" if not re.search(r"(?i)winds?$", m.group(2)) else "") + (m.group(1) or ""), t)
    t = _sub(r"(?i)\b(extremely high|very high|high|extreme|severe) fire danger conditions?\b", r"\1 fire danger", t)
    t = _sub(r"(?i)\s+(?:are|is) (?:expected|forecast)\b", "", t)
    t = _sub(r"(?i)\b(cool|mild|warm|hot|cold|chilly) to (very hot|hot|warm|mild|cool|cold)\b", r"\2", t)  # "warm to hot"
    # a US forecast's headline: "...GALE WARNING TONIGHT..." -> "a gale warning."
    t = _sub(r"\.\.\.\s*((?:[A-Z]+ )*?(?:WARNING|ADVISORY|WATCH))\b[^.]*\.\.\.\s*",
               lambda m: article(m.group(1).lower()) + ". ", t)
    t = _sub(r"(?i)\b(?:chance|probability) of (?:precipitation|rain|snow)(?: is)?\s*(?:near |around )?\d+\s*(?:%|percent)\.?", "", t)
    t = _sub(r"(?i)\blittle or no (?:new )?(?:snow|ice|sleet)? ?accumulation[^.]*\.?", "", t)
    t = _sub(r"(?i)\b(?:new )?(?:rainfall|snowfall|snow|ice|sleet|precipitation|rain) (?:amounts?|accumulations?|totals?)\b[^.]*\.?", "", t)
    t = _sub(r"(?i)" + _START_PART + r"otherwise,?\s+", "", t)
    t = _sub(r"(?i)" + _START_PART + r"(slight )?chance (?!of\b)(?=[a-z])", lambda m: "a " + (m.group(1) or "").lower() + "chance of ", t)
    # "The Minch: South or southwest 6 to gale 8": the sea area's name labels the forecast
    t = _sub(r"^(?!(?i:wind|winds|weather|sea|sea state|seas|visibility|outlook|forecast|warning|warnings|swell)\s*:)"
               r"(?:The )?[A-Z][\w'’-]*(?: (?:[A-Z][\w'’-]*|and|to|of))*:\s+(?=(?:[NSEW]{1,3}|North|South|East|West|"
               r"Northerly|Southerly|Easterly|Westerly|Variable|Cyclonic|(?i:north|south|east|west|variable|cyclonic))[a-z-]*\b)", "", t)
    # "Fire Danger: Severe", "fire danger rating very high": the rating before the noun
    t = _sub(r"(?i)\b(?:bush)?fire danger(?: rating)?\s*(?::|is|-)?\s*(low-moderate|low|moderate|high|very high|"
               r"severe|extreme|catastrophic)\b", lambda m: m.group(1).lower() + " fire danger", t)
    # a mountain forecast's cloud base, summit winds and "feels like"
    t = _sub(r"(?i)\b(summit|mountain|ridge|hill|upland) winds?\s+(" + _COMPASS_RX + r"|north|south|east|west)\b",
               lambda m: _COMPASS.get(m.group(2).lower(), _directional(m.group(2).lower())) + " winds on the "
               + {"summit": "summits", "mountain": "mountains", "ridge": "ridges", "hill": "hills", "upland": "uplands"}[m.group(1).lower()], t)
    t = _sub(r"(?i)\bfeels like\s*(?:around\s+)?([-−]?\d+)\s*°?\s*([cf])?\b",
               lambda m: "a biting wind chill" if (float(m.group(1).replace("−", "-")) < (32 if (m.group(2) or "").lower() == "f" else 0))
               else "", t)
    t = _sub(r"(?i)\b(snow|sleet|rain|hail)\s+above(?=\s*[,.;]|$)", r"\1 higher up", t)  # "sleet below 1800 m, snow above"
    t = _sub(r"(?i)\b(north|south)\s+(föhn|foehn)\b", lambda m: "a " + m.group(1).lower() + " " + _NAMED[m.group(2).lower()], t)
    t = _sub(r"(?i)\bone or two (?=[a-z])", "a few ", t)  # "one or two spells of rain"
    t = _sub(r"(?i)(?:^|(?<=[.,;:]\s)|(?<=\bwith\s))few (?=(?:showers|clouds|rains|thunderstorms|storms|spells|"
               r"flurries|sunny|bright)\b)", "a few ", t)  # "Few showers, mainly at night": a few showers
    t = _sub(r"(?i)\s+(?:is|are) likely\b", " likely", t)
    # "a shower or two", "one or two showers": a few, not a number
    t = _sub(r"(?i)\b(?:(late|early|morning|afternoon|evening|overnight|wintry|heavy|light) )?(?:a )?(shower|flurry|sprinkle|"
               r"thunderstorm|storm)s? or two\b|\bone or two (shower|flurrie|sprinkle|thunderstorm|storm)s\b",
               lambda m: "a few " + (m.group(1).lower() + " " if m.group(1) else "")
               + (m.group(2) or m.group(3)).lower().replace("flurry", "flurrie") + "s", t)
    # "in the W", "over NE parts": a compass point named as a region
    t = _sub(r"(?i)\b(in|over|across|from|to|into|of) (?:the )?(" + _COMPASS_RX + r")(?![\w'-])(?!\.\w)",
               lambda m: m.group(1) + " the " + _COMPASS_REGION[m.group(2).lower()], t)
    t = _sub(r"(?i)\bin (north|south|east|west|northeast|northwest|southeast|southwest|north-east|north-west|"
               r"south-east|south-west)(?=\s*[,.;]|$)", r"in the \1", t)  # "gale 8 in north"
    t = _sub(r"\b(St|Mt|Ste|Mte|Pt|Ft)\.\s+(?=[A-Z])", r"\1 ", t)  # "St. Moritz": a name, not a slot's end
    slots = [x.strip() for x in re.split(r"(?<=[A-Za-z0-9)])\.\s+|\.$", t) if x and x.strip()]
    if not slots:
        return t
    # "Wind: SW 4. Sea state: Slight. Weather: Fair. Visibility: Good.": the labelled inshore form
    labels = [re.match(r"(?i)(wind|sea state|seas?|weather|visibility|vis)(?:s?(?= *:)|s? (?:at|on|over|along|near) [a-z -]{1,24}?)?\s*:\s*", x)
              for x in slots]
    if any(labels):
        kinds = [(m.group(1).lower().replace("vis", "visibility") if m and m.group(1).lower() == "vis" else
                  m.group(1).lower() if m else "") for m in labels]
        slots = [x[m.end():] if m else x for x, m in zip(slots, labels)]
        out = []
        for k, x in zip(kinds, slots):
            if k == "wind":
                x = _wind_slot(x)
            elif k.startswith("sea") and _is_sea(x, strict=False):
                x = _sea(x)
            elif k == "visibility" and all(w in _VIS_GRADES or w in _SLOT_JOIN or w in ("in", "showers", "rain", "fog", "drizzle",
                                                                                          "snow", "mist") for w in _sea_words(x)):
                x = _vis(x)
            elif k == "visibility" and (m := _VIS_LEAD.match(x)):
                x = m.group(1).lower() + " visibility"  # "Good, but fair to poor in thunderstorms": the visibility; its dips a detail
            out.append(x)
        return ". ".join(out)
    shipping = bool(_COMPASS_AT.match(slots[0]) or re.match(r"(?i)(?:variable|cyclonic|light and variable)\b", slots[0])
                    or re.match(r"(?i)(?:north|south|east|west)[a-z-]*(?: or (?:north|south|east|west)[a-z-]*)?"
                                r"(?: (?:veering|backing) (?:north|south|east|west)[a-z-]*)? \d", slots[0]))
    out = []
    for i, slot in enumerate(slots):
        last = i == len(slots) - 1
        if shipping and i == 0:
            bits = [b.strip() for b in slot.split(",")]
            # "SW gale 8 to storm 10, very high": a sea state after the wind
            keep = [b for b in bits if not _is_sea(b, strict=True)]
            sea = [b for b in bits if _is_sea(b, strict=True)]
            slot = _wind_slot(", ".join(keep)) + ("" if not sea else ", " + _sea(", ".join(sea)))
        elif (shipping or len(slots) >= 2) and _is_sea(slot, strict=True) and not (last and all(w in _VIS_GRADES or w in _SLOT_JOIN for w in _sea_words(slot))):
            slot = _sea(slot)
        elif shipping and i == 1 and len(slots) >= 4 and _is_sea(slot, strict=False):
            slot = _sea(slot)  # "moderate" in the second of four slots: the sea
        elif last and len(slots) >= 2 and all(w in _VIS_GRADES or w in _SLOT_JOIN for w in _sea_words(slot)):
            slot = _vis(slot)
        elif shipping:
            slot = _COMPASS_AFTER.sub(lambda m: m.group(1) + " " + _COMPASS[m.group(2).lower()], slot)
        out.append(slot)
    t = ". ".join(out)
    t = _sub(r"(?i)\b(avalanche (?:danger|risk))\s+(low|moderate|considerable|high|very high)\b", r"\2 \1", t)
    if re.fullmatch(r"(?i)\s*light and variable\.?\s*", t):
        return "light and variable winds"
    t = _sub(r"(?i)^light and variable(?=\s*[,.;]|\s+becoming)", "light and variable winds", t)
    t = _sub(r"(?i)" + _START_PART + r"(?:temperature\s+)?inversion(?=\s*[,;.]|$)", "an inversion", t)
    # a named wind on its own: "Föhn" -> "a Föhn wind"; "Südstau, snow" -> "Südstau snow"
    t = _sub(r"(?i)" + _START_PART + r"(föhn|foehn|bise|mistral|tramontane|bora|scirocco|sirocco)(?=\s*[,;.]|$)",
               lambda m: "a " + _NAMED[m.group(1).lower()] + " wind", t)
    t = _sub(r"(?i)" + _START_PART + r"(südstau|nordstau),\s+(snow|rain|heavy snow|heavy rain|cloud)\b",
               lambda m: _NAMED[m.group(1).lower()] + " " + m.group(2), t)
    t = _sub(r"(?i)" + _START_PART + r"(südstau|nordstau)(?=\s*[,;.]|$)",
               lambda m: _NAMED[m.group(1).lower()] + " cloud", t)
    return t


# words the template says itself ("a slight sea", "light rain"): capitalised in a forecast they are a name only
# at the head of one ("the Little Bahama Bank"), or "the Sea of Abaco" would make every sea a "Sea"
_SAID_WORDS = frozenset("""sea seas wind winds rain snow fog mist cloud clouds sky skies storm storms little high low great
    big good poor fair fine light heavy bay gulf sound""".split())
_NAME_LEADS = frozenset("the in on over along across near around above below at from to of into towards toward off "
                        "beyond behind by through west east north south".split())


_SAINTS = frozenset("St Mt Ste Mte Pt Ft San Santa Sankt".split())


def proper_nouns(conditions: str) -> dict[str, str]:
    """The forecast's own capitalised words (lower-case -> as written): a word capitalised mid-
    forecast ("the Inn flats", "the Rhine Valley") and the names of winds and weather ("Föhn",
    "Südstau"). Compass points and all-capital words are not names."""
    out = {}
    # a word after a sentence's start or a label ("Winds: East") is capitalised by the form, not as a name
    raw = [w for seg in re.split(r"[.;:!?]\s+", conditions) for w in re.findall(r"[^\W\d_][\w'’-]*", seg)[1:]]
    if raw and sum(w[0].isupper() for w in raw) * 2 > len(raw):  # "Chance Rain Showers": title case, no names
        return {k: v for k, v in _NAMED.items() if re.search(r"(?i)\b" + k + r"\b", conditions)}
    t = _forecasters(conditions)
    words = re.findall(r"[^\W\d_][\w'’-]*", t)
    caps = sum(w[0].isupper() for w in words)
    if words and caps * 2 <= len(words):  # "HEAVY Snow", "Rain Later": a forecast in title case has no names
        prev = ""
        for m in re.finditer(r"[^\W\d_][\w'’-]*|[.,;:!?]", t):
            w = m.group(0)
            # a forecast's own word ("Sea", "Little") is a name only at the head of one ("the Little Bahama Bank")
            named = w.lower() not in _SAID_WORDS or re.match(r"\s+[A-Z][a-z]", t[m.end():])
            if w[0].isupper() and w[1:].islower() and not named and prev.lower() in out:
                out[prev.lower() + " " + w.lower()] = prev + " " + w  # "the Arabian Sea": the name, not every sea
            elif w[0].isupper() and w[1:].islower() and named and (m.start() and (prev in _NAME_LEADS or prev.lower() in out
                                                                             or prev.islower() and not _known_word(w.lower()))
                                                               or prev in _SAINTS):
                out[w.lower()] = w  # "on the Inn flats", "in the Rhine Valley", "over Lake Geneva", "St Moritz"
                if prev in _SAINTS:
                    out[prev.lower()] = prev
            prev = w if w[0].isalpha() else ""
    for k, v in _NAMED.items():
        if re.search(r"(?i)\b" + k + r"\b", t):
            out[k] = v
    return out


def recase(text: str, names: dict[str, str]) -> str:
    """``text`` with the forecast's own names given their casing back."""
    for low, w in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = _sub(r"(?<![\w'-])" + re.escape(low) + r"(?![\w'-])", w, text)
    return text


@lru_cache(maxsize=16384)
def normalise(conditions: str) -> str:
    """The forecast in plain lower-case words: shorthand expanded, numbers dropped, separators
    made commas. Words the forecast says are kept; nothing is added."""
    t = " ".join(_forecasters(conditions).split()).lower()
    t = t.replace("’", "'").replace("…", ",")
    t = _sub(r"\s*\(\s*([^()]*?)\s*\)\s*", r" \1 ", t).strip()  # "smoky haze (from the forges)"
    # "wind: westerly 4", "visibility: good": a section's label, not a part of the weather
    t = _sub(r"\b(?:winds?|weather|sea state|visibility|outlook|forecast)\s*:\s*",
               lambda m: "visibility " if m.group(0).startswith("vis") else ("seas " if m.group(0).startswith("sea") else ""), t)
    t = _sub(r"\s+[-–—]+\s+|\s*;\s+|\s*:\s+", ", ", t)
    t = _drop_numbers(t)
    t = _sub(r"\b(" + "|".join(sorted(DIRECTIONS, key=len, reverse=True)) + r") (violent )?storm\b(?! force|-force)",
               r"\1 \2storm-force wind", t)  # "northerly storm 10": Beaufort 10, not a thunderstorm
    t = _sub(r"(?<=[a-z])\s*/\s*(?=[a-z])", " or ", t)
    t = _sub(r"(?<=[a-z])\s*[&+]\s*(?=[a-z])", " and ", t)  # "rain & drizzle"
    t = _sub(r"\bw/\s*", "with ", t)
    # "v. poor", "occ. rain": a stop after shorthand is not a sentence end
    t = _sub(r"\b(" + "|".join(re.escape(k) for k in SHORTHAND if k.isalpha()) + r")\.(?=\s|,|$)", r"\1", t)
    t = _sub(r"\b([a-z]+)\b", lambda m: SHORTHAND.get(m.group(1), m.group(1)) if _short_ok(m, t) else m.group(1), t)
    t = _drop_numbers(t)  # again: "v. poor vis 200m" is read only now
    t = _sub(r"[.!?]+(?=\s|$)", ",", t)
    t = _sub(r"(?:^|,)\s*(?:occasionally|at times|perhaps|possibly|locally|mainly|later)\s*(?=,|$)", "", t)
    t = _sub(r"\s*,\s*", ", ", t)
    t = _sub(r"(?:,\s*)+", ", ", t)
    t = _sub(r"\b(\w+)(?: \1\b)+", r"\1", t)  # "hot hot hot"
    t = " ".join(t.split()).strip(" ,")
    # "medium chance of showers, most likely in the afternoon": one part, with its article
    t = _sub(r", (most likely) (in|during|over|on|near|around|by|after|before|from) ", r" \1 \2 ", t)
    t = _sub(r", (?:mainly|mostly|especially|chiefly|particularly) (in|during|over|on|near|around|by|after|before|from|along) ",
               r" \1 ", t)  # "snow showers, mostly near the north coast": where they fall
    t = _sub(r"(?:^|(?<=, ))((?:very )?(?:smooth|slight|moderate|rough|high|heavy|calm)(?: (?:to|or) (?:very )?(?:smooth|slight|"
               r"moderate|rough|high|phenomenal))?) seas?\b", r"a \1 sea", t)
    t = _sub(r"\b(along|on|in) and (?:off|along|near) ", r"\1 ", t)  # "along and off the coast"
    t = _sub(r"(?:^|(?<=, )|(?<=with ))(?:the |a )?((?:slight|small|low|medium|moderate|high|good|fair|strong|remote|outside|increasing) )?"
               r"(chance|risk|likelihood|possibility) of\b", lambda m: "a " + (m.group(1) or "") + m.group(2) + " of", t)
    t = _sub(r"\b(showers|rain|snow|drizzle),? some (?:heavy|heavier)(?: and (?=[a-z]+ing\b))?", r"\1, heavy at times, ", t)
    t = _sub(r",\s*,", ",", t).rstrip(", ")
    # "fresh southwesterly", "southerly increasing later": a direction said as the wind it is
    t = _sub(r"(?<!becoming )(?<!turning )(?<!then )(?<!veering )(?<!backing )(?<!or )(?<!to )"
               r"\b((?:north|south|east|west)[a-z-]*erly)(?= (?:increasing|decreasing|veering|backing|easing|moderating|"
               r"freshening|tending|shifting)\b|\s*,|$)", r"\1 wind", t)
    t = _sub(r"(?:^|(?<=, ))((?:north|south)?(?:east|west)|north|south) changing\b", lambda m: _directional(m.group(1)) + " wind, changing", t)
    t = _sub(r"\b(wind|winds) (increasing|decreasing|easing|moderating|freshening|shifting|tending|veering|backing|changing)\b",
               r"\1, \2", t)
    # "visibility poor", "wind chill severe": the quality before the noun
    t = _sub(r"\b(winds?) (light|calm|strong|moderate|fresh|variable|light and variable)(?=\s*[,.;]|$)", r"\2 \1", t)
    # "southwesterly wind, fresh to strong": how hard, before the wind
    t = _sub(r"\b((?:[a-z-]+erly (?:to|or) )?[a-z-]+erly winds?|[a-z-]+erlies), ((?:light|gentle|moderate|fresh|strong)(?: to (?:moderate|fresh|strong|gale force|gales?))?)(?=\s*,|$)",
               r"\2 \1", t)
    t = _sub(r"(?:^|(?<=, ))occasionally (rain|snow|drizzle|showers|sleet|hail)\b", r"occasional \1", t)
    t = _sub(r"(?:^|(?<=, ))but ", "", t)  # "bright in between, but snow showers"
    t = _sub(r"\b(roads?|paths|pavements|surfaces|tracks) (icy|slippery|wet|flooded|treacherous)\b", r"\2 \1", t)
    t = _sub(r"\b(?:cool|cold|chilly|frosty|mild|warm) (?:morning|start), (cool|cold|mild|warm|hot|very hot) (?:afternoon|day|later)\b",
               lambda m: m.group(0).split(" ", 1)[0] + " at first, " + m.group(1) + " later", t)  # "cool morning, warm afternoon"
    t = _sub(r"\b(visibility|wind chill|cloud cover|humidity|pollen|swell|air quality|seas?) (very poor|poor|good|excellent|"
               r"moderate or good|moderate or poor|good or moderate|poor or very poor|moderate|reduced|severe|extreme|"
               r"heavy|light|strong|high|low|rough|slight|very rough|calm)\b", r"\2 \1", t)
    t = _sub(r"\b((?:very )?(?:good|moderate|poor)) visibility, ((?:very )?(?:good|moderate|poor)) in (\w+)",
               r"\1 visibility, \2 visibility in \3", t)  # "VIS MODERATE, POOR IN STORMS"
    return t


_AMBIGUOUS = frozenset("n s e w v am in temp mod var eve aft ts ra br fg sn ne se nw sw nne ene ese sse ssw wsw wnw nnw "
                       "rn hz fm aft cyc".split())


def _short_ok(m: re.Match, text: str) -> bool:
    """Whether an ambiguous abbreviation is one here ("v poor" is "very poor"; "s" alone is south
    only next to a wind or a number)."""
    w = m.group(1)
    if w not in SHORTHAND:
        return False
    if len(text.split()) == 1:
        return False  # a forecast of one word is said as written ("SW", "vis")
    if w not in _AMBIGUOUS:
        return True
    after = text[m.end():].lstrip(" .")
    before = text[: m.start()].rstrip()
    if w == "v":
        return after.startswith(("poor", "good", "heavy", "light", "strong", "cold", "warm", "hot", "high", "low", "rough"))
    if w in ("n", "s", "e", "w", "ne", "se", "nw", "sw", "nne", "ene", "ese", "sse", "ssw", "wsw", "wnw", "nnw"):
        return bool(re.match(r"(\d|to |or |veering|backing|becoming|tending|shifting|turning|gale|wind|force|[nsew]{1,3}\b)", after)) or \
            before.endswith(("veering", "backing", "becoming", "tending", "shifting", "turning", "to", "or", "wind", "winds"))
    if w == "in":
        return False
    if w in ("am", "temp", "mod", "var", "eve", "aft"):
        return bool(re.match(r"(\d|,|$|\w)", after)) and w not in ("am", "temp") or (w == "mod" and after.startswith(("or", "to", "/")))
    return len(text.split()) <= 3


# --- 2. reading ----------------------------------------------------------------------------------

WIND, TEMP, VIS, NOUN, ADJECTIVE, VERB = "wind", "temp", "vis", "noun", "adj", "verb"

# words that name a wind strength -> wind band (0 still .. 4 gale); Beaufort names included
WIND_TERMS = {
    "calm": 0, "still": 0, "windless": 0, "light air": 0, "light airs": 0,
    "light": 1, "gentle": 1, "breeze": 1, "breezes": 1, "breezy": 1, "light winds": 1, "light breeze": 1,
    "moderate": 2, "fresh": 2, "brisk": 2, "windy": 2, "blustery": 2, "blowy": 2, "fresh breeze": 2,
    "strong": 3, "gusty": 3, "gusts": 3, "gust": 3, "squally": 3, "high winds": 3, "strong breeze": 3,
    "near gale": 3, "strong winds": 3, "hard gusts": 3,
    "gale": 4, "gales": 4, "severe gale": 4, "severe gales": 4, "storm": 4, "storm force": 4, "storm-force": 4,
    "violent storm": 4, "hurricane force": 4, "hurricane-force": 4, "gale force": 4, "gale-force": 4, "howling": 4,
    "severe gusts": 4, "violent": 4,
}
_WIND_NOUNS_RE = re.compile(r"\b(winds?|breezes?|gales?|gusts?|airs?|squalls?|wind|(?:north|south|east|west)[a-z-]*erlies|"
                            r"(?:nor|sou)'?(?:west|east)ers?)\b")  # "westerlies", "nor'westers": the wind itself
DIRECTIONS = ("north-northeast east-northeast east-southeast south-southeast south-southwest west-southwest "
              "west-northwest north-northwest northeast northwest southeast southwest north-east north-west "
              "south-east south-west north south east west northerly southerly easterly westerly northeasterly "
              "northwesterly southeasterly southwesterly north-easterly north-westerly south-easterly south-westerly "
              "cyclonic variable onshore offshore katabatic").split()
_DIRECTION_SET = frozenset(DIRECTIONS)
_WIND_CHANGE = frozenset("veering backing tending shifting changing increasing decreasing easing moderating freshening rising dropping "
                         "falling abating slackening".split())
# a temperature said by the forecast itself -> band
TEMP_TERMS = {
    "bitterly": 0, "bitter": 0, "extreme cold": 0, "severe cold": 0, "intense cold": 0, "frigid": 0, "arctic": 0,
    "polar": 0, "severe wind chill": 0, "extreme wind chill": 0, "bitter wind chill": 0, "deathly": 0,
    "freezing": 1, "frozen": 1, "icy": 1, "frosty": 1, "sub-zero": 1, "wind chill": 1, "cold night": 2,
    "cold": 2, "chilly": 2, "chill": 2, "nippy": 2, "raw": 2, "cool": 3, "mild": 3, "fresh": 3, "temperate": 3,
    "warm": 4, "balmy": 4, "warmer": 4, "hot": 5, "humid heat": 5, "heat": 5, "sweltering": 5, "sultry": 5,
    "muggy": 5, "stifling": 5, "scorching": 6, "baking": 6, "searing": 6, "blazing": 6, "extreme heat": 6,
    "blistering": 6, "heatwave": 5, "heat wave": 5, "cooler": 3, "colder": 2, "hotter": 5,
}
_VIS_WORDS = frozenset("visibility".split())
_VIS_QUALITY = frozenset("very poor good moderate excellent reduced fair".split())
# what says when: said after its part as written ("frost in hollows", "rain by evening")
_WHEN = re.compile(
    r"\s+(?P<q>(?:later|at first|early|early on|overnight|at times|for a time|in places|in hollows|"
    r"on high ground|on the hills|on hills|on the coast|inland|offshore|near the coast|at night|tonight|"
    r"in the (?:morning|afternoon|evening|night)|this (?:morning|afternoon|evening)|later on|soon|"
    r"by (?:dawn|morning|noon|midday|afternoon|evening|dusk|nightfall|night|tonight)|to follow|for a while|"
    r"(?:in|on|near|over|along|across|around|from|off|at|above|below|by|under|during|throughout|after|before|until) "
    r"(?:the |a )?(?:[^\W\d_]|[' -])+))$")
_LATER_LEADS = ("then ", "becoming ", "turning ", "later ", "followed by ", "giving way to ", "soon ")
_LATER_TAILS = ("later", "to follow", "later on", "by evening", "by dusk", "by nightfall", "by night", "overnight",
                "by afternoon", "by midday", "by noon", "by morning", "soon", "tonight", "this evening",
                "in the evening", "in the afternoon", "in the night", "after midnight", "after dark", "after sunset",
                "before dawn", "by dawn", "around midnight")
_FREQ = ("occasionally ", "at times ", "sometimes ", "perhaps ", "possibly ", "probably ", "chance of ", "risk of ",
         "a chance of ", "a risk of ", "temporarily ", "mainly ", "mostly ", "locally ", "some ")


@dataclass(frozen=True)
class Part:
    words: str  # the part as said (normalised)
    role: str  # WIND | TEMP | VIS | NOUN | ADJECTIVE | VERB
    form: str  # ADJ | MASS | PLURAL | COUNT | "verb"
    later: bool  # a change to come ("then rain", "rain by evening", "becoming windy")
    joint: str  # how the forecast tied it on: ",", "with", "then", "becoming", "turning", "and"
    wind_band: int | None  # the wind strength it names
    temp_band: int | None  # the temperature it names
    flags: frozenset[str]


_CHANGE = ("clearing", "easing", "lifting", "dying out", "brightening", "dissipating", "ending", "thinning",
           "burning off", "developing", "spreading", "moving in", "moving through", "dying away", "petering out",
           "turning heavier", "becoming")


_CHANGE_WORDS = frozenset(c.split()[0] for c in _CHANGE)


def _split(text: str) -> list[tuple[str, str]]:
    """(joint, part) pairs: the joint is how a part is tied to what comes before (",", "with",
    "then", "becoming", "and")."""
    t = _sub(r",?\s+(then|becoming|turning|followed by|giving way to)\s+", r", \1 ", text)
    t = _sub(r",?\s+with\s+", ", with ", t)
    t = _sub(r"(?<=[a-z])(?<!\bthen)(?<!\bbecoming)(?<!\bturning)(?<!\bwith)\s+(?=(?:" + "|".join(_CHANGE) + r")\b)", ", ", t)
    out = []
    for chunk in [c.strip() for c in t.split(",") if c.strip()]:
        joint = ","
        for lead in ("with ", "then ", "becoming ", "turning to ", "turning ", "followed by ", "giving way to ", "and "):
            if out and chunk.startswith(lead) and len(chunk) > len(lead):  # a forecast's first word stays its own
                joint, chunk = lead.strip(), chunk[len(lead):].strip()
                break
        out.append((joint, chunk))
    return out


# a part that only says where, when or how much ("mainly in the afternoon", "on the coast", "early
# morning", "more"): it belongs to the part before it and is never said as a thing of its own
_QUAL_LEAD = re.compile(r"^(?:(?:mainly|mostly|chiefly|largely|especially|particularly|generally|locally|occasionally|"
                        r"at times|possibly|probably|perhaps|also|even|but|and)\s+)+")
_QUAL_ALONE = frozenset("more less possibly probably perhaps too also later first again".split())
_QUAL_TIME = re.compile(r"(?:(?:early|late|mid)[- ]?)?(?:morning|afternoon|evening|night|day|daytime|dawn|dusk|"
                        r"midday|noon|midnight)(?:s)?(?:\s+(?:and|or|to)\s+(?:(?:early|late|mid)[- ]?)?"
                        r"(?:morning|afternoon|evening|night|day|daytime|dawn|dusk|midday|noon|midnight)s?)*")
_QUAL_PLACE = re.compile(r"(?:in|on|near|over|along|across|around|at|during|by|from|through|throughout|until|before|"
                         r"after|this|for|off|about|inland|offshore|onshore|coastal|the|and|or)\b.*")
_SEA_HEADS = frozenset("sea seas swell swells wave waves surf tide tides current currents visibility wind winds gust "
                       "gusts breeze breezes gale gales squall squalls".split())


@lru_cache(maxsize=16384)
def _qualifier(bit: str) -> bool:
    """Whether a part only says where, when or how much, with no weather of its own: "mainly in
    the afternoon", "on the coast", "over the west coast of mahé", "early morning", "more"."""
    b = _QUAL_LEAD.sub("", bit.strip())
    if not b or b in _QUAL_ALONE:
        return True
    ws = _words(b)
    if any(w in _SEA_HEADS or understand(w).known for w in ws):
        return False
    return bool(_QUAL_TIME.fullmatch(b) or _QUAL_PLACE.fullmatch(b) and len(ws) > 1)


def _and_split(part: str) -> list[str]:
    """"fog and strong winds" -> two parts (they are different things); "hot and humid", "rain and
    snow", "sleet or snow" stay one (one role); "humid by night and early morning" stays one (a
    when is not a part)."""
    if " and " not in part or re.fullmatch(r"(?:an? )?[a-z-]+ and [a-z-]+ (?:warning|advisory|watch|alert)s?(?: in (?:force|effect))?", part):
        return [part]  # "a wind and wave warning": one warning
    bits = [b.strip() for b in part.split(" and ") if b.strip()]
    joined = bits[:1]
    for b in bits[1:]:  # "flash flooding possible in creeks and low-lying areas": one where, two places
        if re.search(r"\b(?:in|over|along|near|across|around|on)\b", joined[-1]) \
                and not any(w in _KNOWN or w in _SEA_HEADS or understand(w).known for w in _words(b)):
            joined[-1] += " and " + b
        else:
            joined.append(b)
    if len(joined) == 1:
        return [part]
    bits = joined
    if any(_qualifier(b) for b in bits[1:]):
        if _role_of(bits[0]) in (WIND, VIS):  # "monsoon winds offshore and on high ground": the wind
            return [" and ".join(b for b in bits if not _qualifier(b))]
        return [part]
    roles = [_role_of(b) for b in bits]
    if len(set(roles)) == 1:
        return [part]
    out, cur, cur_role = [], bits[0], roles[0]
    for b, r in zip(bits[1:], roles[1:]):
        if r == cur_role:
            cur += " and " + b
        else:
            out.append(cur)
            cur, cur_role = b, r
    out.append(cur)
    return out


def _words(text: str) -> list[str]:
    return WORD.findall(text)


def _wind_band(text: str) -> int | None:
    best = None
    ws = text.replace("-", " ")
    for term, band in sorted(WIND_TERMS.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"\b" + re.escape(term.replace("-", " ")) + r"\b", ws):
            if term in ("light", "gentle", "moderate", "fresh", "strong", "violent", "storm", "still", "calm") \
                    and not _WIND_NOUNS_RE.search(ws) and not any(d in ws.split() for d in _DIRECTION_SET):
                if term not in ("calm", "still") or len(ws.split()) > 2:
                    continue  # "light rain", "strong sun", "fresh snow", "storm" alone: not a wind strength
            best = band if best is None else max(best, band)
    return best


def _temp_band(text: str) -> int | None:
    ws = text.replace("-", " ")
    for term, band in sorted(TEMP_TERMS.items(), key=lambda kv: -len(kv[0])):
        if re.search(r"\b" + re.escape(term.replace("-", " ")) + r"\b", ws):
            if term in ("fresh", "raw") and len(ws.split()) > 1:
                continue  # "fresh snow", "fresh westerly", "raw sewage": not the air's temperature
            if term == "freezing" and re.search(r"freezing (rain|drizzle|fog|spray|mist)", ws):
                continue  # a kind of rain, said as the forecast says it
            return band
    return None


@lru_cache(maxsize=16384)
def _role_of(part: str) -> str:
    ws = _words(part)
    if not ws:
        return NOUN
    core = _strip_freq(part)
    cw = _words(core)
    if any(w in _VIS_WORDS for w in cw):
        return VIS
    if any(w in ("swell", "swells", "warning", "warnings", "advisory", "watch", "alert") for w in cw):
        return NOUN  # "a heavy southerly swell", "a gale warning": a thing, not the wind
    if len(cw) > 1 and cw[-1] == "likely" and not any(w in _DIRECTION_SET for w in cw):
        return NOUN  # "sea erosion likely", "rain or thundershower likely"
    if ws[0] in ("a", "an") and len(ws) > 1 and ws[1] not in _DIRECTION_SET and not _WIND_NOUNS_RE.fullmatch(ws[-1]) \
            and not any(w in _DIRECTION_SET for w in ws):
        return NOUN  # "a chance of a shower", "a few showers": a noun phrase with its article
    if "chill" in cw or (core in TEMP_TERMS and core not in WIND_TERMS):
        return TEMP
    if cw and cw[0] in _WIND_CHANGE and (len(cw) == 1 or any(x in _DIRECTION_SET or x in WIND_TERMS for x in cw[1:])
                                         or _WIND_NOUNS_RE.search(core)):
        return WIND
    if cw and all(x in _VIS_QUALITY or x in ("or", "occasionally", "becoming", "at", "times", "then") for x in cw) \
            and any(x in ("poor", "good") for x in cw):
        return VIS  # "moderate or good, occasionally poor": the visibility of a shipping forecast
    if any(w in _DIRECTION_SET for w in cw) or _WIND_NOUNS_RE.search(core) and not re.search(
            r"\b(rain|snow|sleet|hail|shower|showers|drizzle|fog|mist|dust|sand|thunder|quality)\b", core):
        return WIND
    if core in WIND_TERMS or (cw and all(w in WIND_TERMS or w in ("and", "very", "rather", "but") for w in cw)):
        return WIND
    if core in LEXICON:
        return ADJECTIVE if LEXICON[core][0] == ADJ else NOUN
    if _temp_band(core) is not None and (cw[-1] in TEMP_TERMS or core in TEMP_TERMS or cw[-1] in ("night", "day", "nights", "spell", "snap", "start")):
        return TEMP
    if cw[0].endswith("ing") and cw[0] not in ("morning", "evening", "lightning", "ceiling", "icing") and len(cw[0]) > 4 \
            and not (len(cw) > 1 and cw[0] in _ING_ADJ):  # "freezing fog patches": a kind of fog
        return VERB
    return ADJECTIVE if _form(core) == ADJ else NOUN


_ING_ADJ = frozenset("freezing blowing drifting driving lingering towering rolling passing scattering pouring clearing "
                     "sweeping swirling falling".split())


def _strip_freq(part: str) -> str:
    for f in _FREQ:
        if part.startswith(f) and len(part) > len(f):
            return part[len(f):]
    return part


_COUNT_WEATHER = frozenset("shower thunderstorm storm squall flurry downpour cloudburst sprinkle gust thundershower warning advisory alert watch "
                           "dust-storm duststorm sandstorm whirlwind".split())


@lru_cache(maxsize=16384)
def _form(core: str) -> str:
    if core in LEXICON:
        return LEXICON[core][0]
    ws = _words(core)
    if not ws:
        return MASS
    if ws[0] in ("a", "an"):
        return COUNT
    if len(ws) > 1 and ws[-1] == "likely":
        return MASS
    if ws[-1] in _COUNT_WEATHER and ws[0] not in ("some", "no"):
        return COUNT  # "an isolated shower"
    if all(_adjective(w) for w in ws):
        return ADJ
    c = understand(core)
    if c.known:
        return c.form
    head = ws[-1]
    if is_plural(head):
        return PLURAL
    f = guess_form(core)
    if f == ADJ and not _adjective(head):
        return MASS
    return f


def _adjective(w: str) -> bool:
    if w in ("and", "but", "or", "very", "rather", "quite", "mostly", "partly", "becoming", "yet", "mainly", "generally", "largely"):
        return True
    if w in LEXICON:
        return LEXICON[w][0] == ADJ
    if w in TEMP_TERMS and w not in ("heat", "chill", "heatwave"):
        return True
    try:
        from lemminflect import getAllLemmas
        lem = getAllLemmas(w)
    except Exception:
        lem = {}
    if lem:
        return "ADJ" in lem and "NOUN" not in lem or w in ("still", "calm", "clear", "fine", "fair", "dry", "wet",
                                                          "bright", "dull", "close", "bitter", "cold", "cool", "warm")
    return _adj_word(w)


def _flags(text: str) -> frozenset[str]:
    c = understand(text)
    return c.flags


_GRADES = frozenset("smooth calm slight moderate rough very rough high very high phenomenal good poor very poor fair".split(" "))


def _qualified(chunks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The forecast's parts with each "where/when/how much" part ("showers, mainly in the
    afternoon") joined to the weather before it ("showers mainly in the afternoon"); beside a wind,
    a visibility or a sea, or with nothing before it, it is left out (the wind, visibility or sea is
    said without it)."""
    out: list[tuple[str, str]] = []
    for joint, chunk in chunks:
        if any(chunk == c for _, c in out):
            continue  # "Sea state moderate, wave height 1.5-2.0 m": one moderate sea
        if out and joint in ("becoming", "then", "turning", ",") and chunk in _GRADES:
            before = _words(out[-1][1])
            if "sea" in before and chunk in _SEA_ONLY | {"moderate", "very rough", "very high"}:
                joint, chunk = "then", article(chunk + " sea")  # "sea: moderate becoming slight": a slight sea to come
            elif "visibility" in before and chunk in _VIS_GRADES | {"very poor"}:
                joint, chunk = "then", chunk + " visibility"
        more = re.match(r"(?:heavier|lighter|stronger|more frequent|more persistent) (.+)$", chunk)
        if more and out and _role_of(out[-1][1]) == NOUN and not _QUAL_TIME.search(chunk) \
                and (_qualifier(more.group(1)) or more.group(1) in ("inland", "offshore", "on the coast", "along the coast")):
            out[-1] = (out[-1][0], out[-1][1] + " " + chunk)  # "showers, heavier inland": more of the showers there
            continue
        if not _qualifier(chunk):
            out.append((joint, chunk))
            continue
        if out and _role_of(out[-1][1]) in (NOUN, ADJECTIVE) and not _qualifier(out[-1][1]) \
                and not _words(out[-1][1])[-1:] == ["sea"] and _QUAL_LEAD.sub("", chunk) not in _QUAL_ALONE:
            out[-1] = (out[-1][0], out[-1][1] + " " + chunk)
    return out


@lru_cache(maxsize=16384)
def read(conditions: str) -> tuple[Part, ...]:
    """The forecast's parts, in order, each classified (see the module doc)."""
    text = normalise(conditions)
    parts: list[Part] = []
    later = False
    for joint, chunk in _qualified(_split(text)):
        later = joint in ("then", "becoming", "turning", "turning to", "followed by", "giving way to")
        for bit in _and_split(chunk):
            core = _strip_freq(bit)
            m = _WHEN.search(core)
            tail = m.group("q") if m and m.start() > 0 else ""
            role = _role_of(core[: len(core) - len(tail)].strip() if tail else bit)
            is_later = later or tail in _LATER_TAILS or core.endswith(tuple(" " + x for x in _LATER_TAILS)) \
                or bit.startswith(("later ", "soon "))
            form = "verb" if role == VERB else _form(core[: len(core) - len(tail)].strip() if tail else core)
            if role in (TEMP, ADJECTIVE, NOUN) and len(_words(core)) > 1 and _words(core)[-1] in _TIME_HEADS and not tail:
                form = COUNT  # "a hot day", "a sunny morning", "a partly cloudy afternoon"
            if joint == "becoming" and role in (ADJECTIVE, TEMP, WIND) and form != ADJ and _form(core) == ADJ:
                form = ADJ
            if core in _CHANGE_WORDS and parts and parts[-1].role == NOUN and not later:
                role, form = VERB, "verb"  # "a few showers, clearing": what the showers do
            if re.match(r"an? (?:[a-z]+ )?(?:chance|risk|likelihood|possibility) of ", bit):
                is_later = False  # "a chance of a thunderstorm in the afternoon": said now, of later
            parts.append(Part(bit, role, form, is_later, joint, _wind_band(bit) if role in (WIND, ADJECTIVE, NOUN) else None,
                              _temp_band(bit) if role in (TEMP, ADJECTIVE, NOUN) else None, _flags(core)))
    return tuple(parts)


# --- 3. saying it --------------------------------------------------------------------------------

# wind per band, said on its own: as a noun after "with", with a direction after "from the"
_WIND_NP_ALL = (("still air", "no wind at all"), ("a light breeze", "a gentle breeze", "a light wind"),
                ("a brisk wind", "a steady wind", "a brisk breeze"), ("strong winds", "a hard wind", "hard gusts"),
                ("a howling gale", "gale-force winds", "a tearing gale"))
_WIND_NP = (("still air", "no wind at all"), ("a light breeze", "a gentle breeze"), ("a brisk wind", "a steady wind"),
            ("strong winds", "a hard wind"), ("a howling gale", "gale-force winds"))
# how the wind really blows when the forecast names another strength two bands away
_BUT_WIND = ("though the air is still for now", "though no more than a light breeze is blowing for now",
             "though only a brisk breeze is blowing for now", "though it is blowing hard now",
             "though it is rising to a howling gale now")


def _np(p: Part) -> str:
    """A part as a noun phrase (article by inflect for a singular count noun)."""
    w = p.words
    if p.role == VIS and "visibility" not in w:
        return w + " visibility"
    if re.search(r"\bsun$", w) and _words(w)[0] not in _DETERMINERS:
        return "the " + w  # "the hot sun"
    if p.form == COUNT and w.split(" ", 1)[0] not in ("a", "an", "the", "some", "no", "occasionally", "at", "chance",
                                                      "risk", "possibly", "probably", "perhaps", "locally", "mainly"):
        return article(w)
    if p.form == ADJ:
        return w + (" skies" if _sky_adj(w) else " weather")
    return w


def _sky_adj(w: str) -> bool:
    last = _words(w)[-1] if _words(w) else ""
    return last in SKY_ADJ


def _wind_np(p: Part, wind_band: int) -> str:
    """A wind part as a noun phrase that keeps the forecast's words: "a gale", "gusts",
    "a southwesterly wind", "the wind veering northwest"."""
    w = p.words
    ws = _words(w)
    if ws and ws[0] in _WIND_CHANGE:
        return "the wind " + w  # "the wind veering northwest later"
    # "southwest gale", "a west wind": the direction as an adjective ("southwesterly")
    w = _sub(r"\b(" + "|".join(sorted((d for d in DIRECTIONS if not d.endswith("erly")), key=len, reverse=True))
               + r")(?= (?:(?:severe|strong|near|fresh|moderate|light|gentle|violent|high) )?(?:winds?|gales?|breezes?|gusts?|storm))",
               lambda m: _directional(m.group(1)), w)
    w = _sub(r"\b(violent )?storm$", "storm-force wind", w)  # "northerly storm 10": Beaufort 10
    ws = _words(w)
    if not _WIND_NOUNS_RE.search(w) and any(x.endswith("erly") for x in ws) and not all(
            x in _DIRECTION_SET or x in ("or", "and", "to", "veering", "backing", "becoming", "then") for x in ws):
        last = max(i for i, x in enumerate(ws) if x.endswith("erly"))
        w = _sub(r"\b" + re.escape(ws[last]) + r"\b", ws[last] + " wind", w, count=1)  # "fresh southerly" -> "... wind"
        ws = _words(w)
    if _WIND_NOUNS_RE.search(w):
        first_noun = next((x for x in ws if _WIND_NOUNS_RE.fullmatch(x)), "")
        if ws[0] not in _DETERMINERS and first_noun in ("wind", "breeze", "gale", "squall", "gust", "storm"):
            return article(w)
        return w
    if ws and all(x in _DIRECTION_SET or x in ("or", "and", "to", "veering", "backing", "becoming", "then") for x in ws):
        # "southwest", "northerly veering east": a wind from there, how hard the reading says
        m = re.match(r"([a-z-]+)(?: (or|to) ([a-z-]+))?(?= |$)", w)
        if m.group(3) and m.group(3) in _DIRECTION_SET:  # "southerly or southwesterly": one wind
            lead = _directional(m.group(1)) + " " + m.group(2) + " " + _directional(m.group(3))
            return article(lead + " wind") + w[m.end():]
        lead = ws[0]
        rest = w[len(lead):]
        return article(_directional(lead) + " wind") + rest
    if p.wind_band is not None:
        # "calm", "gusty", "storm force": adjectives and strengths
        if w in ("calm", "still", "windless"):
            return "calm air" if w == "calm" else ("still air" if w == "still" else "windless air")
        if w.endswith(("force", "-force")):
            return w + " winds"
        if p.form == ADJ or w in WIND_TERMS:
            return w + (" winds" if w not in ("gale", "storm", "breeze") else "")
    return w


_DETERMINERS = frozenset("a an the some occasionally at chance risk possibly probably perhaps locally mainly no".split())


def _directional(d: str) -> str:
    if d.endswith("erly") or d in ("cyclonic", "variable", "onshore", "offshore", "katabatic"):
        return d
    return d + "erly"


def _temp_words(temp_band: int, flags: frozenset[str], wind_band: int) -> list[str]:
    c = Condition("", MASS, OTHER, flags, False)
    got = temperature_words(c, temp_band, wind_band)
    plain = [w for w, tag in TEMPS[temp_band] if not tag]
    return got or plain


@lru_cache(maxsize=16384)
def frames(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """Phrasings of the weather sentence as (text before the name, text after it).

    Slots, each filled from the parts that fit it: adjectives lead ("It is starlit and still
    at"), a temperature noun leads when nothing else does ("Extreme cold grips", "It is a cold
    night at"), where a part holds comes after the name ("near the springs"), "-ing" parts follow
    ("clouding over"), nouns go in one "with" list (the wind last), then what the reading adds
    against the forecast ("yet it is only cool") and what is to come ("then rain by evening")."""
    parts = read(conditions)
    if not parts:
        return ()
    seq = _adjective_sequence(parts, temp_band, wind_band)
    if seq:
        return seq
    now = [p for p in parts if not p.later]
    later = [p for p in parts if p.later]
    if not now:
        now, later = later[:1], later[1:]
    flags = frozenset().union(*(p.flags for p in parts))
    named_t, named_w = said_bands(conditions)
    how_wind = named_w is None and any(p.role == WIND and p.words == _strip_freq(p.words) and _words(p.words)
                                       and _words(p.words)[0] not in _WIND_CHANGE for p in now)
    said_words = {_stem(x) for x in _words(" ".join(p.words for p in parts)) if x not in ("a", "an", "the")}

    adjs, where, nouns, temp_np, verbs, changes = [], [], [], [], [], []
    how_said = False
    # "mostly cloudy in the Tyrol, dry in Carinthia": each adjective keeps its own place
    own_where = sum(1 for p in now if p.form == ADJ and p.role != VERB and _head_tail(p.words)[1]) > 1
    for i, p in enumerate(now):
        head, tail = _head_tail(p.words)
        if p.role == VERB and i and now[i - 1].role == NOUN and now[i - 1].joint != "with" and nouns \
                and nouns[-1] == _np(now[i - 1]) and not _is_wind_np(nouns[-1]) and p.words.split()[0] in _CHANGE_WORDS:
            nouns[-1] += " " + p.words  # "showers dying out", "fog clearing later": what the noun does
        elif p.role == VERB:
            verbs.append(p.words)
        elif p.form == ADJ and (p.role != WIND or head in _WIND_ADJS or (_words(head) or [""])[-1] in _WIND_ADJS):
            if own_where:
                adjs.append(p.words)
            else:
                adjs.append(head)
                if tail:
                    where.append(tail)
        elif p.role == TEMP and not temp_np:
            temp_np.append(_np(p))
        elif p.role == VIS and p.words != _strip_freq(p.words) and nouns and "visibility" in nouns[-1]:
            nouns[-1] += ", " + p.words  # "good visibility, occasionally poor"
        elif p.role == WIND and p.words != _strip_freq(p.words) and nouns:
            nouns[-1] += ", " + p.words[: len(p.words) - len(_strip_freq(p.words))] + _wind_np(
                Part(_strip_freq(p.words), p.role, p.form, False, p.joint, p.wind_band, None, p.flags), wind_band)
        elif p.role == WIND and _words(p.words) and _words(p.words)[0] in _WIND_CHANGE and nouns:
            changes.append(p.words)  # "..., a severe gale, backing northeast"
        elif p.role == WIND:
            np = _wind_np(p, wind_band)
            if how_wind and _WIND_NOUNS_RE.search(np) and not how_said:
                how = _HOW[wind_band]
                if {_stem(x) for x in _words(how)} & said_words and _HOW_ALT[wind_band]:
                    how = _HOW_ALT[wind_band]  # never "..., rising to a howling gale, occasionally a gale"
                np += (", " if wind_band == 0 else " ") + how  # "fresh westerly winds blowing briskly": how hard, once
                how_said = True
                how_wind = False
            nouns.append(np)
        else:
            nouns.append(_np(p))
    nouns = [n for n in nouns if not _is_wind_np(n)] + [n for n in nouns if _is_wind_np(n)]  # the wind last
    still = "still" in adjs
    if still:
        adjs.remove("still")

    # the temperature: the forecast's own word when it agrees, else the reading's
    temp_word, contrast_t = "", ""
    rough = frozenset({"stormy"}) if (named_w or 0) >= 3 else frozenset()
    tws = _temp_words(temp_band, flags | rough, wind_band)
    said = " ".join(p.words for p in parts)
    said_st = {_stem(x) for x in _words(said) if x not in ("a", "an", "the")}
    tws = [t for t in tws if not {_stem(x) for x in _words(t)} & said_st] or \
        [x for x in _TEMP_ALT[temp_band] if _stem(x) not in said_st][:1] or tws
    if named_t is None:
        temp_word = tws[0]
    elif abs(named_t - temp_band) > 1:
        only = (named_t > temp_band >= 3) or (named_t < temp_band <= 2)  # "yet it is only cool"
        contrast_t = (", yet it is only " if only else ", yet it is ") + tws[0]
    # the wind: the forecast's own word when it agrees, else the reading's
    wind_tail, wind_nps = "", [""]
    if named_w is None and how_said:
        pass  # the forecast's own wind, with how hard it blows
    elif named_w is None:
        fresh = [x for x in _WIND_NP_ALL[wind_band] if not {_stem(y) for y in _words(x)} & said_words]
        wind_nps = (fresh or list(_WIND_NP[wind_band]))[:2] if not (still and wind_band <= 1) else [""]
        if still and wind_band > 1:
            wind_tail, wind_nps = ", " + _BUT_WIND[wind_band], [""]
    elif abs(named_w - wind_band) > 1 or (wind_band == 0 and named_w == 1):  # "light winds, though the air is still"
        but = _BUT_WIND[wind_band]
        if {_stem(x) for x in _words(but)} & said_words:
            but = _BUT_WIND_ALT[wind_band]  # "blowing dust, ..., though strong winds are up now"
        wind_tail = ", " + but
    later_s = _later(later, wind_band)
    changes_s = "".join(", " + c for c in changes)
    verb_s = "".join(", " + v for v in verbs)
    where_s = " " + " ".join(where) if where else ""
    out: list[tuple[str, str]] = []
    for wn in wind_nps:
        ns = nouns + ([wn] if wn else [])
        with_s = (", with " + join_and(ns)) if ns else ""
        tail = with_s + verb_s + changes_s + wind_tail + contrast_t + later_s + "."
        adjs = [x for a in adjs for x in (a.split(" and ") if " but " not in a else [a])]  # "dry and sunny" + "warm"
        lead = adjs + ([temp_word] if temp_word else [])
        if still and not temp_np:
            out.append(("The air is " + join_and(["still"] + lead) + where_s + " at ", tail))
        elif temp_np:
            # "It is a cold night at X", "Extreme cold grips X": the forecast's own temperature leads
            air = (", and the air is " + join_and((["still"] if still else []) + adjs)) if adjs or still else ""
            tail = with_s + verb_s + air + changes_s + wind_tail + contrast_t + later_s + "."
            head = _words(temp_np[0])[-1] if _words(temp_np[0]) else ""
            if temp_np[0].startswith(("a ", "an ")) and head in _TIME_HEADS:
                out.append(("It is " + temp_np[0] + " at ", where_s + tail))
            else:
                verb = "grip" if _plural_np(temp_np) else "grips"
                out.append((cap(temp_np[0]) + " " + verb + " ", where_s + tail))
        elif (adjs or temp_word) and where and all(_TIMELY.match(x) for x in where):
            # "dry and dusty at times": when it holds, said of the forecast's words only
            if temp_word:
                out.append(("It is " + temp_word + " at ", ", " + join_and(adjs) + where_s + tail))
            else:
                out.append(("At ", ", it is " + join_and(adjs) + where_s + tail))
        elif adjs or temp_word:
            # "It is hot and humid near the springs at Sodere Springs": where it holds, before the name
            out.append(("It is " + join_and(lead) + where_s + " at ", tail))
        elif nouns:
            np_s = join_and(nouns)
            be = "are" if _plural_np(nouns[:1]) else "is"  # "there is rain and ...": the first noun agrees
            w_s = (", with " + wn) if wn else ""
            rest = verb_s + w_s + changes_s + wind_tail + contrast_t + later_s + "."
            if np_s.startswith("the ") and re.search(r"\bsun\b", nouns[0]):
                others = (", with " + join_and(nouns[1:] + ([wn] if wn else []))) if nouns[1:] or wn else ""
                out.append((cap(nouns[0]) + " shines on ", others + verb_s + changes_s + wind_tail + contrast_t + later_s + "."))
            else:
                out.append(("At ", ", there " + be + " " + np_s + rest))
        else:
            out.append(("It is " + tws[0] + " at ", tail))
        if temp_word and nouns and not adjs and not verbs and not temp_np and not still:
            out.append((cap(article(temp_word + " day")) + " at ", " brings " + join_and(ns) + changes_s + wind_tail + contrast_t
                        + later_s + "."))
    return tuple(dict.fromkeys(out))


_BUT_WIND_ALT = ("though the air is still for now", "though no more than a gentle breeze stirs for now",
                 "though only a brisk breeze is up for now", "though strong winds are up now",
                 "though a howling gale is up now")
_TEMP_ALT = (("frigid", "bitter"), ("freezing", "icy"), ("chilly", "nippy"), ("cool", "mild"), ("warm", "balmy"),
             ("hot", "sweltering"), ("scorching", "searing"))
_HOW_ALT = ("", "stirring softly", "blowing steadily", "buffeting everything", "howling at storm-force")
_HOW = ("though the air is still for now", "blowing gently", "blowing briskly", "blowing hard", "rising to a howling gale")


@lru_cache(maxsize=16384)
def said_bands(conditions: str) -> tuple[int | None, int | None]:
    """(temperature band, wind band) that the forecast's own words carry for the fact checker
    ("mild", "extreme cold"; "calm", "gale", "gusts"), None where it says none: a forecast that
    says it gets no second word for it."""
    now = " ".join(p.words for p in read(conditions) if not p.later and (p.words == _strip_freq(p.words)
                                                                          or p.words.startswith(("mainly ", "mostly ", "generally "))))
    now = now.replace("-", " ").replace("freezing level", "").replace("fresh snow", "snow")
    now = _sub(r"\b(?:cold|warm) fronts?\b", "front", now)  # a front, not the air's temperature
    now = _sub(r"\b(?:gale|storm|wind|hurricane|strong wind|small craft) (?:warning|advisory|watch)s?\b", "", now)
    now = _sub(r"\bfresh (?=[a-z-]*(?:erly|erlies|winds?|breezes?|gales?)\b)", "", now)  # "fresh westerlies": a wind  # a warning, not the wind now
    now = _sub(r"\b(light|gentle|moderate|fresh|strong) and variable\b", r"\1", now)  # "light and variable winds"
    now = _sub(r"\b(?:(?:light|gentle|moderate|strong) (?:to|or) fresh|fresh (?:to|or) (?:strong|moderate|gale))\b", "", now)  # a wind's strength
    # "warm, but cool along the coast": the day's temperature is the one said of no one place
    unplaced = _sub(r"\b(?:cool|cold|cooler|colder|warm|warmer|hot|hotter|mild|milder|chilly) (?:along|near|on|over|by) "
                      r"(?:the )?(?:coasts?|shore|hills|mountains|high ground|heights|coastal areas)\b", "", now)
    out = []
    for table in (factcheck.TEMP_WORDS, factcheck.WIND_WORDS):
        best, size = None, 0
        text = now
        if table is factcheck.TEMP_WORDS and unplaced != now and any(
                re.search(r"\b" + re.escape(w.replace("-", " ")) + r"s?\b", unplaced) for ws in table for w in ws):
            text = unplaced
        for b, ws in enumerate(table):
            for w in ws:
                if len(w) > size and re.search(r"\b" + re.escape(w.replace("-", " ")) + r"s?\b", text):
                    if table is factcheck.TEMP_WORDS and re.search(r"freezing (rain|drizzle|fog|spray|mist)|icy (stretches|patches|roads)|frost", now) and w in ("freezing", "icy", "frost"):
                        continue  # a kind of rain or ground, not the air's temperature
                    best, size = b, len(w)
        out.append(best)
    return out[0], out[1]


def _adjective_sequence(parts: tuple[Part, ...], temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """"cold at first, warm later", "frosty early, sunny by midday": the day's adjectives in turn,
    each with its time ("It is cold at first and warm later at X"). () for any other forecast."""
    if len(parts) < 2 or not all(p.form == ADJ and p.role in (ADJECTIVE, TEMP) for p in parts):
        return ()
    if not any(_TIMELY.search(p.words) for p in parts) or not _TIMELY.search(parts[0].words):
        # "fine, later cloudy": said as the weather now and a change to come, not as a sequence
        return ()
    said = [b for p in parts for b, ws in enumerate(factcheck.TEMP_WORDS) for w in ws if re.search(r"\b" + re.escape(w) + r"\b", p.words)]
    words = [p.words.replace(" early", " early on") if p.words.endswith(" early") else p.words for p in parts]
    temp = ""
    if not any(abs(b - temp_band) <= 1 for b in said):
        st = {_stem(x) for x in _words(" ".join(words))}
        t = next((x for x in _temp_words(temp_band, frozenset(), wind_band) if not {_stem(y) for y in _words(x)} & st),
                 _TEMP_ALT[temp_band][0])
        temp = (", yet it is " if said else ", and it is ") + t
    st = {_stem(x) for x in _words(" ".join(words))}
    winds = [x for x in _WIND_NP_ALL[wind_band] if not {_stem(y) for y in _words(x)} & st][:2] or list(_WIND_NP[wind_band])
    return tuple(("It is " + join_and(words) + " at ", ", with " + n + temp + ".") for n in winds)


_INTENSITY = frozenset("heavy heavier light lighter persistent thundery wintry drier brighter patchy intermittent "
                       "showery squally torrential very more less".split())
_TIMELY = re.compile(r"(?:at |by |for |early|later|overnight|tonight|soon|this |in the (?:morning|afternoon|evening|night))")
_TIME_HEADS = frozenset("night day morning evening afternoon start spell snap".split())
_WIND_ADJS = frozenset("calm still windy breezy blustery gusty squally windless blowy".split())


def _head_tail(words: str) -> tuple[str, str]:
    """("hot and humid", "near the springs") of "hot and humid near the springs"."""
    m = _WHEN.search(words)
    if not (m and m.start() > 0):
        return words, ""
    head, tail = words[: m.start()].strip(), m.group("q")
    while (j := re.search(r" (and|or)$", head)):  # "offshore and on high ground": one tail of two
        m = _WHEN.search(head[: j.start()])
        if not (m and m.start() > 0):
            head = head[: j.start()]  # "offshore wind and on high ground": the wind, and where
            break
        head, tail = head[: m.start()].strip(), m.group("q") + " " + j.group(1) + " " + tail
    return head, tail


def _is_wind_np(np: str) -> bool:
    return bool(_WIND_NOUNS_RE.search(np)) and not re.search(r"\b(rain|snow|showers?|fog|mist|dust|sand|hail|sleet|drizzle)\b", np)


def _plural_np(nouns: list[str]) -> bool:
    if len(nouns) > 1:
        return True
    ws = [w for w in _words(_head_tail(nouns[0])[0]) if not (w.endswith("ing") and w not in ("morning", "evening", "lightning"))]
    return bool(ws) and is_plural(ws[-1]) and ws[0] not in ("a", "an")  # "showers clearing": the showers agree


def _later(parts: list[Part], wind_band: int) -> str:
    """What the forecast says is to come, as one tail: ", turning windy later", ", then rain by
    evening", ", and then showers follow". The first change keeps the forecast's own link
    ("becoming", "turning", "then"), the rest follow with "then"; "later" is said once."""
    if not parts:
        return ""
    bits = []
    timed = any(_WHEN.search(p.words) for p in parts)
    for i, p in enumerate(parts):
        w = p.words
        last = i == len(parts) - 1
        for lead in ("later ", "soon "):
            if w.startswith(lead):
                w = w[len(lead):] + " " + lead.strip()
        m = _WHEN.search(w)
        when = m.group("q") if m else ""
        if not when and last and not timed:
            w = w + " later"
        w = _sub(r"\b(increasing|rising|decreasing|easing|dropping)(?: to)? (severe gale|gale|storm|near gale|"
                   r"violent storm)\b", r"\1 to a \2", w)
        w = _sub(r"\b(becoming) (severe gale|gale|storm|near gale|violent storm)\b", r"\1 a \2", w)
        link = p.joint if p.joint in ("becoming", "turning") else "turning"
        if w.startswith(("occasionally ", "perhaps ", "possibly ", "probably ", "at times ")) and p.role == WIND:
            bits.append(w)  # "..., perhaps a severe gale later"
            continue
        if bits and not (p.role == VERB or (p.role == WIND and _words(w)[0] in _WIND_CHANGE)):
            link = "then"  # "turning westerly, then fair": one "turning" a sentence
        if p.role == VERB or (_words(w) and _words(w)[0].endswith("ing") and _words(w)[0] not in ("morning", "evening")):
            bits.append(w)  # "clearing later", "burning off by noon"
        elif p.role == VIS:
            if "visibility" not in w:  # "visibility good, becoming poor in rain": then poor visibility in rain
                head, tail = _head_tail(w)
                w = head + " visibility" + (" " + tail if tail else "")
            bits.append("then " + w)
        elif p.form == ADJ or (p.role == NOUN and _words(_head_tail(w)[0]) and all(
                _adjective(x) or x in _INTENSITY for x in _words(_head_tail(w)[0]))):  # "rain, becoming heavy in the evening"
            bits.append(link + " " + w.replace(" to follow", " later"))
        elif p.role == WIND:
            bare = w[: len(w) - len(when)].strip() if when else w
            if all(x in _DIRECTION_SET or x in ("later", "or", "and") for x in _words(bare)):
                w = _sub(r"(?<![\w-])(" + "|".join(sorted((d for d in DIRECTIONS if not d.endswith("erly")), key=len, reverse=True))
                           + r")(?![\w-])", lambda m: _directional(m.group(1)), bare) + w[len(bare):]
                bits.append(link + " " + w)  # "light winds, becoming southeasterly later"
            elif _words(w)[0] in _WIND_CHANGE:
                bits.append(w)
            elif all(x in _DIRECTION_SET or x in WIND_TERMS or x in ("or", "to", "and") for x in _words(bare)):
                bits.append(link + " " + w)  # "becoming fresh southerly in the afternoon": the wind already said
            else:
                bits.append("then " + _wind_np(Part(w, p.role, p.form, True, p.joint, p.wind_band, None, p.flags), wind_band))
        elif _words(w) and _words(w)[0].endswith("er") and _words(w)[0] not in ("water", "weather", "thunder", "shower"):
            bits.append(link + " " + w.replace(" to follow", " later"))  # "heavier to follow", "brighter later"
        else:
            np = _np(Part(w, p.role, p.form, True, p.joint, None, None, p.flags))
            if not when and p.joint in ("then", "followed by", "giving way to") and not bits:
                np = np[: -len(" later")] if np.endswith(" later") else np
                ws_ = _words(np)
                plural = (ws_ and is_plural(ws_[-1]) and ws_[0] not in ("a", "an")) or " and " in np
                bits.append("and then " + np + (" follow" if plural else " follows"))
                continue
            bits.append("then " + np)
    if sum(b.endswith(" later") for b in bits) > 1:  # "later" is said once, at the end
        bits = [b[: -len(" later")] if b.endswith(" later") and i < len(bits) - 1 else b for i, b in enumerate(bits)]
        if not bits[-1].endswith(" later"):
            bits[-1] += " later"
    return ", " + ", ".join(bits)


# --- checks: what a reader marks ------------------------------------------------------------------

_LABEL = re.compile(r"\bconditions?\b|\bthe weather is\b|\bforecast is\b", re.I)
_JOINTS = frozenset("then becoming turning and or with to followed by giving way follow".split())
_FUNCTION = frozenset("""the a an and of on in at to with as over under by is are it its no not into from than
    then there this that for but yet only now though while still less more very""".split())


def _stem(w: str) -> str:
    w = w.lower()
    for suf in ("ily", "ly", "ness", "ing", "ier", "iest", "er", "est", "es", "s", "y", "e"):
        if len(w) - len(suf) >= 4 and w.endswith(suf):
            w = w[: -len(suf)]
            break
    return w[:5]


def _mask(sentence: str, conditions: str) -> str:
    """The sentence with the forecast's own words blanked (what the template added remains)."""
    low = sentence.lower()
    for p in read(conditions):
        for piece in sorted({p.words, _strip_freq(p.words)}, key=len, reverse=True):
            i = low.find(piece)
            if i >= 0:
                low = low[:i] + " # " + low[i + len(piece):]
                break
        else:
            for w in _words(p.words):
                low = _sub(r"\b" + re.escape(w) + r"\b", " # ", low, count=1)
    return low


_TEMP_AT = (-30.0, -10.0, 5.0, 14.0, 22.0, 30.0, 40.0)  # a reading inside each band
_WIND_AT = (1.0, 8.0, 18.0, 35.0, 60.0)


def _facts(sentence: str, conditions: str, temp_band: int, wind_band: int) -> list[str]:
    """The fact checker's verdict on the weather facts of the sentence ([] when all kept)."""

    p = Place("urn:flux:place:probe:p", "Probe", "", _TEMP_AT[temp_band], conditions, _WIND_AT[wind_band], (), (), "", 0)
    r = factcheck.check_facts(p, sentence)
    out = []
    for kind in ("conditions", "temperature", "wind"):
        items = r.by_kind(kind)
        if items and items[0].status != "kept":
            out.append(kind + "-" + items[0].status)
    return out


def problems(sentence: str, conditions: str, temp_band: int, wind_band: int, name: str = "",
             first: bool = False) -> list[str]:
    """What a reader would mark in a weather sentence: a label, a number, a word said twice, an
    article inflect would not choose, a temperature or wind word that doubles or contradicts the
    forecast's own, a part of the forecast left out, a weather fact the fact checker does not find.
    [] when it reads right; with ``first``, at most the first problem found (the cheap checks run
    first)."""
    out: list[str] = []
    body = sentence.replace(name, " ") if name else sentence
    masked = _mask(body, conditions)
    if _LABEL.search(masked):
        out.append("label")
    if re.search(r"\d", body):
        out.append("digit")
    if out and first:
        return out
    own = _own_stems(conditions)
    seen: dict[str, int] = {}
    for w in _words(body):
        if w.lower() in _FUNCTION or len(w) <= 3:
            continue
        st = _stem(w)
        seen[st] = seen.get(st, 0) + 1
    for st, n in seen.items():
        if st[:4] in ("visi", "sea") and n <= len(set(re.findall(r"\b(\w+) (?:very )?" + st[:4], body.lower()))):
            continue  # "good visibility, then moderate visibility later": each said with its own grade
        if n > max(1, sum(o[:4] == st[:4] for o in own)):  # "east ..., backing easterly": the forecast's own
            out.append("doubled:" + st)
    if out and first:
        return out
    for m in re.finditer(r"\b([Aa]n?) ([A-Za-z][\w-]*)", body):
        if _article_word(m.group(2)) != m.group(1).lower():
            out.append("article:" + m.group(0))
    for m in re.finditer(r"\b([Aa]n?) ((?:[a-z-]+ )?)([a-z-]+)\b(?=\s*(?:[,.;]|$| and | \w+ing\b| in | on | over ))", body):
        if is_plural(m.group(3)) and not m.group(2).strip().endswith(("of",)) and m.group(2).strip() != "few":
            out.append("article:" + m.group(0))  # "a fog banks drifting ashore"
    said = {_stem(w)[:4] for w in _words(body)}
    norm = normalise(conditions)
    cut = reduced(norm, capitalised(conditions)) if norm else norm
    for p in read(cut if cut != norm else conditions):  # what the reader left out on purpose is not "dropped"
        if not all(_stem(w)[:4] in said for w in _words(_strip_freq(p.words)) if w not in _JOINTS):
            out.append("dropped:" + p.words)
    if out and first:
        return out
    contrast = bool(re.search(r"\b(yet|though|only)\b", masked))
    named_t, named_w = said_bands(conditions)
    for kind, named, actual in (("temp", named_t, temp_band), ("wind", named_w, wind_band)):
        if named is None:
            continue
        added = [_band_words(kind)[1][m.group(0)] for m in _band_words(kind)[0].finditer(masked)]
        if any(abs(b - named) >= 2 for b in added) and not contrast:
            out.append(kind + "-contradicted")
        elif added and abs(named - actual) <= 1 and all(abs(b - named) <= 1 for b in added) \
                and not (kind == "wind" and named == 1 and actual == 0 and contrast):  # "light winds, though the air is still"
            out.append(kind + "-doubled")
    if out and first:
        return out
    out += _facts(body, conditions, temp_band, wind_band)
    return out


@lru_cache(maxsize=4096)
def _article_word(word: str) -> str:
    return article(word).split(" ", 1)[0]


@lru_cache(maxsize=16384)
def _own_stems(conditions: str) -> list[str]:
    return [_stem(w) for w in _words(normalise(conditions)) if w not in _FUNCTION and len(w) > 3]


@lru_cache(maxsize=2)
def _band_words(kind: str) -> tuple[re.Pattern, dict[str, int]]:
    table = factcheck.TEMP_WORDS if kind == "temp" else factcheck.WIND_WORDS
    bands = {w: b for b, ws in enumerate(table) for w in ws}
    rx = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(bands, key=len, reverse=True)) + r")\b")
    return rx, bands


# --- the weather sentence ------------------------------------------------------------------------

_PROBE = "Old Mill"


def _clean_frames(frames: tuple[tuple[str, str], ...], conditions: str, temp_band: int,
                  wind_band: int) -> tuple[list[tuple[str, str]], int]:
    """The frames a reader would not mark (:func:`forecast.problems`), and the fewest problems
    any frame has."""
    good, least = [], 99
    for pre, post in frames:
        n = len(problems(pre + _PROBE + post, conditions, temp_band, wind_band, _PROBE, first=True))
        least = min(least, n)
        if n == 0:
            good.append((pre, post))
    return good, least


@lru_cache(maxsize=16384)
def weather_frames(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """Every phrasing of the weather sentence (:func:`_frames_for`), with the forecast's own names
    in their own casing ("on the Inn flats", "a Föhn wind", "Südstau snow")."""
    out = _frames_for(conditions, temp_band, wind_band)
    names = proper_nouns(conditions)
    if not names:
        return out
    return tuple((recase(pre, names), recase(post, names)) for pre, post in out)


def _frames_for(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """Every phrasing of the weather sentence for these conditions and bands, as (text before
    the name, text after it); the template picks one by the place's seed. Deterministic.

    A forecast in shorthand or with numbers ("fog/mist, v. poor vis", "southwest 5 to 7") is read
    by :mod:`.forecast` (normalised, split into parts, each classified, said as one phrase). Any
    other condition gets the phrasings of :func:`_weather_frames`, less those a reader would mark
    (a word said twice, a temperature or wind word doubling or contradicting the forecast's own);
    when none is left, the forecast reader's."""
    plain = " ".join(conditions.split()).lower().rstrip(".!?;:… ")
    norm = normalise(conditions)
    cut = reduced(norm, capitalised(conditions)) if norm else norm
    if cut != norm:  # what is left is said and checked as the forecast
        norm = conditions = cut
    if not norm or not any(ch.isalpha() for ch in norm):
        if re.search(r"[^\W\d_]", conditions) and re.search(r"\d", conditions):
            # "high minus 5": a reading only, no weather to tell (a word alone, "ten", is said as written)
            return tuple(("It is " + t + " at ", ", with " + n + ".") for t, tag in TEMPS[temp_band] if not tag
                         for n in _WIND_NOUNS[wind_band][:2])
        return legacy_frames(conditions, temp_band, wind_band)
    if norm == plain and "," not in norm:
        old = legacy_frames(conditions, temp_band, wind_band)
        if _plain_condition(norm):
            return old  # a condition of the lexicon, said its own way: nothing to check
        good, least = _clean_frames(old, conditions, temp_band, wind_band)
        if good and not norm.startswith(("mainly ", "mostly ", "generally ", "largely ")):
            return tuple(good)
        if good:  # a longer phrase the lexicon does not know whole ("mainly cold and dry"): the reader's, if it reads right
            fresh, _ = _clean_frames(frames(norm, temp_band, wind_band), conditions, temp_band, wind_band)
            return tuple(fresh or good)
    else:
        old, least = (), 99
    new = frames(norm, temp_band, wind_band)
    good_new, least_new = _clean_frames(new, conditions, temp_band, wind_band)
    if good_new:
        return tuple(good_new)
    if old and least <= least_new:
        return old
    return new or legacy_frames(conditions, temp_band, wind_band)


# words a forecast is read with: a part made of these (its "where" or "when" tail aside) is understood
_FORECAST_WORDS = frozenset("""the a an of in on at by with and or then to from over across along near into off around
    about later early first times time morning afternoon evening night day days tonight today tomorrow overnight dawn
    dusk midday noon hours hour while few some more less mostly mainly partly isolated scattered occasional occasionally
    patchy patches patch spells spell periods period outbreaks outbreak bursts burst intervals breaks heavy heavier light
    lighter moderate very rather quite little no dry drier wet wetter becoming turning then clearing soon possible
    possibly probably perhaps chance risk likely likelihood slight small medium high low good poor fair fine sea seas
    swell waves wave surf visibility cloud clouds cloudy sky skies sun sunshine sunny bright brightening frost frosts
    ground hollows hills hill coast coasts inland high ground areas places parts north south east west northern southern
    eastern western central far late fire danger ban wind winds chill chilly breeze breezes gusts gusty gust gale gales
    storm storms thunder thunderstorms thunderstorm lightning shower showers rain snow sleet hail drizzle fog mist haze
    dust sand smoke ash ice icy freezing frozen thaw thawing humid humidity muggy heat hot warm cool cold mild air
    temperatures temperature level levels summits summit tops slopes valleys valley peaks ridges passes lower upper
    higher up down falls fall spreading developing dying out easing lifting moving through building rising falling
    dropping mixed mostly generally widespread local locally further continuing persistent steady brief short long
    spells heavy at inversion avalanche uv index pollen count most biting bitter severe extreme strong fresh hard gentle
    sharp snowfall flurries sleety wintry squally squalls blustery showery thundery misty foggy hazy smoky dusty sultry
    stormy windy breezy calm still variable cyclonic onshore offshore increasing decreasing veering backing shifting
    tending returning improving deteriorating worsening rolling drifting blowing clearing after before until sunset
    sunrise dark daybreak nightfall flood floods flooding flash landslides landslide slips thundery thunder warning
    warnings advisory advisories watch alert statement special craft winter effect force orange yellow red amber
    signal signals cautionary ports port surge tidal monsoon cyclone cyclonic depression waterlogging rip current currents
    front fronts choppy chop reef banks beaches""".split())


def _understood(p: Part, strict: frozenset[str] | None = None) -> bool:
    """Whether the reader knows every word of a part (its "where"/"when" tail aside): a part it
    only classed by its form ("rim walk closes at") is not. ``strict`` (the forecast's capitalised
    words): no name or code left behind ("labuan", "interior", "loc"), for a part beside others
    that are read."""
    head, _tail = _head_tail(p.words)
    ws = _words(head)
    if not ws or ws[-1] in ("and", "or", "at", "of", "to", "with", "the", "a", "an", "from") or ws[0] in ("of", "to", "and", "or"):
        return False  # what a dropped number or name left behind
    unknown = [w for w in ws if w not in _FORECAST_WORDS and w not in _KNOWN and not _known_word(w)]
    if strict is not None and any(_foreign(w, strict) for w in unknown):
        return False
    if strict is not None and any(w in _FINITE for w in ws):
        return False  # a clause the reader did not make a phrase of ("sky may remain", "it may continue")
    # one word of its own ("haar", "a keen wind", "spits of rain") is said by its form; a clause of them is not
    return len(unknown) < 3 and not (len(unknown) >= 2 and len(unknown) * 2 >= len(ws))


_FINITE = frozenset("may will can could would should might must is are was were has have had been".split())
_KNOWN = frozenset(w for k in (list(LEXICON) + list(WIND_TERMS) + list(TEMP_TERMS) + list(DIRECTIONS) + list(_CHANGE)
                               + list(SEA_STATES) + list(SHORTHAND.values()) + list(_MODIFIERS)) for w in WORD.findall(k))
# the words that make an area's label weather (see _area_label): a label in capitals, a list or a bracketed one
# is weather only by its weather words, not by words such as "lower", "summits" or "south"
_LABEL_SAID = _FORECAST_WORDS | _KNOWN | _LABEL_WEATHER
_LABEL_SAID_STRICT = _KNOWN | _LABEL_WEATHER | _LABEL_KEEP


_CODES = frozenset("loc utc gmt bst cet eet lt".split())


def _foreign(w: str, caps: frozenset[str]) -> bool:
    """A word the reader does not know that names no weather: a name the forecast capitalised
    mid-sentence ("Labuan", "Psiloritis", "Interior") or a code ("LOC", "UTC"); the reader's own
    names ("Föhn", "Amihan") and compass words are not."""
    if w in _NAMED or re.fullmatch(r"(?:(?:north|south|east|west)-?)+(?:erly|erlies|ward|wards|ern)?", w):
        return False
    return w in _CODES or w in caps


def capitalised(conditions: str) -> frozenset[str]:
    """The forecast's words written with a capital inside a sentence (lower-cased): names, in a
    forecast not written in capitals or title case."""
    out = set()
    conditions = _sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), conditions)
    for sent in re.split(r"[.;:!?]\s+|\n", conditions):
        ws = re.findall(r"[^\W\d_][\w'’-]*", sent)
        if len(ws) > 1 and sum(w[0].isupper() for w in ws) * 2 <= len(ws):
            out.update(w.lower() for w in ws[1:] if w[0].isupper() and not w.isupper())
    return frozenset(out)


@lru_cache(maxsize=16384)
def _known_word(w: str) -> bool:
    return understand(w).known or w.rstrip("s") in _KNOWN or w in _NAMED


@lru_cache(maxsize=16384)
def reduced(norm: str, caps: frozenset[str] = frozenset()) -> str:
    """The normalised forecast less what the reader does not understand: a part made of words no
    lexicon knows ("rim walk closes at on days forecast", an advisory pasted into the forecast) is
    left out when the rest says the weather; a forecast understood nowhere is kept whole (it is
    then said by its form)."""
    chunks = [c.strip() for c in norm.split(",") if c.strip()]
    if len(chunks) < 2 and len(read(norm)) < 2:
        return norm
    ok = []
    every = [p for c in chunks for p in read(c)]
    # beside parts read whole, a part with a word no lexicon knows is left out too
    strict = caps if len(every) >= 2 and any(_understood(p, caps) for p in every) else None
    kept = True
    for c in chunks:
        parts = read(c)
        if not parts and _qualifier(c):  # "mainly in the afternoon": kept with the part before it, if that is kept
            if kept and ok:
                ok.append(c)
            continue
        keep = [p for p in parts if _understood(p, strict)]
        kept = bool(keep)
        if len(keep) == len(parts):
            ok.append(c)
        elif keep:  # "torrential rain with <a clause no lexicon reads>": the rain stays
            ok.append(keep[0].words + "".join((", " if p.joint == "," else ", " + p.joint + " ") + p.words for p in keep[1:]))
    if not ok or ok == chunks:
        return norm
    ok[0] = _sub(r"^(?:then|becoming|turning|with|and|followed by|giving way to) ", "", ok[0])
    return ", ".join(ok)


def _plain_condition(text: str) -> bool:
    """A condition the lexicon reads whole ("light rain", "freezing fog", "sunny spells") that
    names no temperature or wind of its own: its phrasings need no checking."""
    c = understand(text)
    if not c.known or c.kind == WINDY or " " in text and not _MODIFIED.fullmatch(text):
        return False
    return said_bands(text) == (None, None) and not (set(text.split()) & set(_NAMED_TEMP))


_MODIFIED = re.compile(r"(?:(?:" + "|".join(sorted(_MODIFIERS, key=len, reverse=True)) + r"|moderate|patchy|scattered|isolated|"
                       r"mostly|partly|a few|some|occasional) )*[a-z-]+(?: [a-z-]+)?")


