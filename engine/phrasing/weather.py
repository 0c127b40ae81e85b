"""Weather as one phrase: temperature, wind and the sky's conditions in a single sentence.

A condition is looked up in :data:`LEXICON` (conditions of real forecasts, METAR / NWS / Met
Office style), by its longest listed ending ("light rain showers" -> "rain showers"), so modifiers
in front ("scattered", "heavy", "freezing") keep the head's form and behaviour. Each entry says
what the condition is:

* its **form**: a mass noun ("rain", "fog", "ash fall"), a plural noun ("thunderstorms",
  "showers"), a singular count noun ("a blizzard", "a sandstorm") or an adjective ("misty",
  "overcast", "partly cloudy");
* its **kind** (how it behaves in a sentence: it falls, hangs, covers the sky, rolls over as a
  storm, lies on the ground, blows, or is a quality of the air);
* what it **implies** (wet, stormy, cold, hot, dry, humid, bright, dark, calm, heavy, light):
  the temperature words chosen must not contradict these or the wind ("balmy" is never said in a
  gale or a thunderstorm; "warm and sticky" fits thunderstorms, "hot and dry" a sandstorm).

Any other condition gets a phrasing grammatical for its guessed form (:func:`grammar.guess_form`:
"-y" adjective, plural noun, else mass noun) and the implications its words suggest. No numbers
are read out; the condition is always said as written (lower-cased), so it is never lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .grammar import ADJ, COUNT, MASS, PLURAL, WORD, article, cap, content_words, guess_form, is_plural, join_and

# Band bounds (the fact checker reads the same bounds): temperature in °C, wind in mph.
TEMP_BOUNDS = (-20.0, 0.0, 10.0, 18.0, 26.0, 35.0, 999.0)
WIND_BOUNDS = (3.0, 12.0, 25.0, 45.0, 999.0)

# kinds
FALL, HANG, SKY, STORM, AIR, GROUND, SUN, BLOW, WINDY, OTHER = (
    "fall", "hang", "sky", "storm", "air", "ground", "sun", "blow", "wind", "other")

# phrase | form | kind | implications    (m mass, p plural, c count, a adjective)
_ENTRIES = """
rain|m|fall|wet
drizzle|m|fall|wet light
light rain|m|fall|wet light
moderate rain|m|fall|wet
heavy rain|m|fall|wet heavy
torrential rain|m|fall|wet heavy
driving rain|m|fall|wet heavy
freezing rain|m|fall|wet cold
freezing drizzle|m|fall|wet cold light
acid rain|m|fall|wet
monsoon rain|m|fall|wet heavy humid
monsoon rains|p|fall|wet heavy humid
monsoon|c|fall|wet heavy humid
showers|p|fall|wet
rain showers|p|fall|wet
passing showers|p|fall|wet light
heavy showers|p|fall|wet heavy
wintry showers|p|fall|wet cold
snow showers|p|fall|cold
sleet showers|p|fall|wet cold
hail showers|p|fall|stormy
downpour|c|fall|wet heavy
downpours|p|fall|wet heavy
cloudburst|c|fall|wet heavy stormy
snow|m|fall|cold
snowfall|m|fall|cold
light snow|m|fall|cold light
heavy snow|m|fall|cold heavy
wet snow|m|fall|cold wet
flurries|p|fall|cold light
snow flurries|p|fall|cold light
sleet|m|fall|wet cold
hail|m|fall|stormy
small hail|m|fall|stormy light
ice pellets|p|fall|cold
graupel|m|fall|cold
diamond dust|m|fall|cold bright calm
wintry mix|c|fall|wet cold
rain and snow|p|fall|wet cold
sleet and snow|p|fall|wet cold
ash fall|m|fall|dry dark
ashfall|m|fall|dry dark
falling ash|m|fall|dry dark
volcanic ash|m|hang|dry dark
ash haze|m|hang|dry dark
fog|m|hang|calm
freezing fog|m|hang|cold calm
dense fog|m|hang|calm heavy
thick fog|m|hang|calm heavy
sea fog|m|hang|wet calm
fog patches|p|hang|calm light
fog banks|p|hang|calm
mist|m|hang|calm
sea mist|m|hang|wet calm
haze|m|hang|dry
dust haze|m|hang|dry hot
heat haze|m|hang|hot dry bright
smoke|m|hang|dry dark
smoke haze|m|hang|dry dark
wildfire smoke|m|hang|dry dark
smog|m|hang|dark
low cloud|m|sky|dark
cloud|m|sky|dark
misty|a|hang|calm
foggy|a|hang|calm
hazy|a|hang|dry
smoky|a|hang|dry dark
dust|m|blow|dry
blowing dust|m|blow|dry
blowing sand|m|blow|dry hot
drifting sand|m|blow|dry hot
blowing snow|m|blow|cold
drifting snow|m|blow|cold
spindrift|m|blow|cold
sea spray|m|blow|wet
dusty|a|blow|dry
dust storm|c|storm|dry hot stormy
duststorm|c|storm|dry hot stormy
sandstorm|c|storm|dry hot stormy
sand storm|c|storm|dry hot stormy
haboob|c|storm|dry hot stormy
thunderstorms|p|storm|stormy wet humid
thunderstorm|c|storm|stormy wet humid
severe thunderstorms|p|storm|stormy wet heavy
thundershowers|p|storm|stormy wet
thunder|m|storm|stormy
lightning|m|storm|stormy
dry lightning|m|storm|stormy dry
electrical storm|c|storm|stormy
storm|c|storm|stormy wet
storms|p|storm|stormy wet
squalls|p|storm|stormy wet
squall|c|storm|stormy wet
tropical squall|c|storm|stormy wet humid
hailstorm|c|storm|stormy
blizzard|c|storm|stormy cold
blizzards|p|storm|stormy cold
whiteout|c|storm|stormy cold
ground blizzard|c|storm|stormy cold
snowstorm|c|storm|stormy cold
ice storm|c|storm|stormy cold wet
tropical storm|c|storm|stormy wet humid
hurricane|c|storm|stormy wet heavy
typhoon|c|storm|stormy wet heavy
cyclone|c|storm|stormy wet heavy
tornado|c|storm|stormy
waterspouts|p|storm|stormy wet
stormy|a|storm|stormy
gale|c|wind|stormy
gales|p|wind|stormy
high winds|p|wind|
strong winds|p|wind|
gusty winds|p|wind|
trade winds|p|wind|
gusts|p|wind|
windy|a|wind|
breezy|a|wind|
blustery|a|wind|
calm|a|air|calm
clear|a|sky|bright dry
clear skies|p|sky|bright dry
clearing skies|p|sky|bright
clearing|a|sky|bright
mostly clear|a|sky|bright dry
fair|a|sky|bright
sunny|a|sky|bright dry
mostly sunny|a|sky|bright
partly sunny|a|sky|bright
partly cloudy|a|sky|
mostly cloudy|a|sky|dark
cloudy|a|sky|dark
overcast|a|sky|dark
grey|a|sky|dark
gray|a|sky|dark
sun and cloud|m|sky|
sunny spells|p|sun|bright
sunny intervals|p|sun|bright
sunshine|m|sun|bright dry
bright sunshine|m|sun|bright dry
hazy sunshine|m|sun|bright
scorching sun|m|sun|hot dry bright
blazing sun|m|sun|hot dry bright
dry heat|m|air|hot dry
heat|m|air|hot dry
heatwave|c|air|hot dry
heat wave|c|air|hot dry
humid|a|air|humid
muggy|a|air|humid
sultry|a|air|humid hot
steamy|a|air|humid
humidity|m|air|humid
dry|a|air|dry
arid|a|air|dry hot
damp|a|air|wet
wet|a|air|wet
cold snap|c|air|cold
rainy|a|fall|wet
showery|a|fall|wet
drizzly|a|fall|wet light
snowy|a|fall|cold
northerly|c|wind|
southerly|c|wind|
easterly|c|wind|
westerly|c|wind|
north-easterly|c|wind|
north-westerly|c|wind|
south-easterly|c|wind|
south-westerly|c|wind|
northeasterly|c|wind|
northwesterly|c|wind|
southeasterly|c|wind|
southwesterly|c|wind|
onshore wind|c|wind|
offshore wind|c|wind|
sea breeze|c|wind|
wind|c|wind|
winds|p|wind|
land breeze|c|wind|
onshore breeze|c|wind|
breeze|c|wind|
wind chill|c|air|cold
bitter wind chill|c|air|cold
chill|c|air|cold
northern lights|p|sky|bright cold calm
aurora|c|sky|bright cold calm
bright spells|p|sun|bright
sunny periods|p|sun|bright
bright intervals|p|sun|bright
white-out|c|storm|stormy cold
cold front|c|storm|wet
heat haze and dust|m|hang|hot dry
extreme cold|m|air|cold
bitter cold|m|air|cold
severe cold|m|air|cold
intense cold|m|air|cold
extreme heat|m|air|hot
intense heat|m|air|hot
frost|m|ground|cold
hard frost|c|ground|cold
ground frost|m|ground|cold
hoarfrost|m|ground|cold
rime|m|ground|cold
black ice|m|ground|cold
ice|m|ground|cold
dew|m|ground|wet calm
heavy dew|m|ground|wet calm
thaw|c|ground|wet
frosty|a|ground|cold
icy|a|ground|cold
"""

_FORMS = {"m": MASS, "p": PLURAL, "c": COUNT, "a": ADJ}


@dataclass(frozen=True)
class Condition:
    text: str  # as written, whitespace-collapsed and lower-cased
    form: str
    kind: str
    flags: frozenset[str]
    known: bool  # found in the lexicon (by its ending)


def _load() -> dict[str, tuple[str, str, frozenset[str]]]:
    out = {}
    for line in _ENTRIES.strip().splitlines():
        phrase, form, kind, flags = line.split("|")
        out[phrase] = (_FORMS[form], kind, frozenset(flags.split()))
    return out


LEXICON = _load()

# Words in front of a head that add an implication ("heavy" snow, "freezing" fog).
_MODIFIERS = {
    "heavy": "heavy", "torrential": "heavy", "severe": "heavy", "violent": "heavy", "intense": "heavy",
    "dense": "heavy", "thick": "heavy", "driving": "heavy", "persistent": "heavy",
    "light": "light", "slight": "light", "patchy": "light", "scattered": "light", "isolated": "light",
    "occasional": "light", "intermittent": "light", "passing": "light", "fine": "light",
    "freezing": "cold", "icy": "cold", "frozen": "cold", "wintry": "cold", "bitter": "cold",
    "hot": "hot", "dry": "dry", "humid": "humid", "warm": "hot", "stormy": "stormy",
}
# Words anywhere in an unknown condition that say what it implies and how it behaves.
_HINTS = (
    (("storm", "thunder", "lightning", "tempest", "squall", "cyclone", "hurricane", "tornado"), STORM, "stormy"),
    (("rain", "drizzle", "shower", "downpour", "deluge"), FALL, "wet"),
    (("snow", "sleet", "hail", "flurr"), FALL, "cold"),
    (("fog", "mist", "haze", "smoke", "smog", "murk", "vapour", "vapor", "steam"), HANG, ""),
    (("frost", "ice", "rime"), GROUND, "cold"),
    (("dust", "sand", "ash", "cinder", "soot", "spore", "pollen"), BLOW, "dry"),
    (("cloud", "sky", "skies"), SKY, ""),
    (("sun", "glare"), SUN, "bright"),
    (("wind", "gale", "gust"), WINDY, ""),
    (("heat", "swelter"), AIR, "hot"),
)
_HINT_FLAGS = {"snow": "cold", "ice": "cold", "frost": "cold", "freez": "cold", "cold": "cold", "wet": "wet",
               "rain": "wet", "dust": "dry", "sand": "dry", "ash": "dry", "dry": "dry", "hot": "hot", "heat": "hot",
               "humid": "humid", "mugg": "humid", "sultr": "humid", "steam": "humid", "smok": "dark", "dark": "dark",
               "gloom": "dark", "black": "dark", "clear": "bright", "sun": "bright", "bright": "bright"}


@lru_cache(maxsize=8192)
def understand(conditions: str) -> Condition:
    """What a conditions string is (see the module doc)."""
    text = " ".join(conditions.split()).lower()
    if text not in LEXICON and "," not in text and " with " not in text:
        m = _QUALIFIED.match(text) or _WHERE.match(text)
        if m is not None and m.group("head").strip() and understand(m.group("head").strip()).known:
            h = understand(m.group("head").strip())  # "showers in the afternoon": a kind of showers
            return Condition(text, h.form, h.kind, h.flags, h.known)
    words = text.split(" ")
    for i in range(len(words)):
        tail = " ".join(words[i:])
        entry = LEXICON.get(tail)
        if entry is None:
            continue
        form, kind, flags = entry
        extra = set(flags)
        front = words[:i]
        if "of" in front:  # "a chance of showers", "periods of rain": the phrase's head is in front
            lead = [w for w in front[: front.index("of")] if w not in ("a", "an", "the")]
            form = PLURAL if lead and is_plural(lead[-1]) else COUNT
            return Condition(text, form, OTHER, frozenset(flags), False)
        if front and (not all(WORD.fullmatch(w) for w in front) or {"with", "without", "then", "and", "or"} & set(front)):
            break  # "rain, then fog", "a gale with heavy rain": not a modified head
        for w in front:
            f = _MODIFIERS.get(w)
            if f:
                extra.add(f)
        if "heavy" in extra and "light" in extra:
            extra.discard("light")
        if front and form == COUNT and front[0] in ("scattered", "isolated", "occasional", "passing"):
            form = PLURAL if text.endswith("s") else form
        if front and form == ADJ and kind == SKY and not all(w in ("mostly", "partly", "very") for w in front):
            form = ADJ
        return Condition(text, form, kind, frozenset(extra), True)
    form = guess_form(text) if text else MASS
    head = LEXICON.get(words[-1]) if words else None
    if head is not None and WORD.fullmatch(words[-1]):
        form = head[0] if head[0] != COUNT else MASS
    elif form == MASS and words and ((_count_noun(words[-1]) and _in_dictionary(words[-1]))
                                     or words[-1] in _NOTICES and not is_plural(words[-1])):
        form = COUNT  # "a typhoon warning", "a cold spell": a singular count noun takes its article
    kind, flags = OTHER, set()
    low = text.replace("-", " ")
    for stems, k, flag in _HINTS:
        if any(s in low for s in stems):
            kind = k
            if flag:
                flags.add(flag)
            break
    for stem, flag in _HINT_FLAGS.items():
        if stem in low:
            flags.add(flag)
    for w in words:
        f = _MODIFIERS.get(w)
        if f:
            flags.add(f)
    if form == MASS and kind == STORM and words and words[-1].endswith("storm"):
        form = COUNT
    if words and words[-1] in _NOTICES:
        kind = OTHER  # "a gale warning" is not a gale: said as a notice, never "sweeps over"
    if form != ADJ and words and all(_adj_word(w) for w in words) and words[-1] not in _JOINS:
        # "bitterly cold", "bright but cold": adjectives only, never said as a noun
        form = ADJ
        if kind == OTHER:
            kind = SKY if words[-1] in SKY_ADJ else (WINDY if words[-1] in WIND_ADJ else AIR)
    return Condition(text, form, kind, frozenset(flags), False)


# Heads of weather words that are mass nouns ("poor visibility", "high pollen"); any other
# singular noun not in the lexicon is countable and takes an article ("a typhoon warning").
_MASS_HEADS = frozenset("""rain drizzle snow sleet hail fog mist haze smoke smog dust sand ash frost ice dew rime
    sunshine sun cloud cloudiness weather air heat cold humidity visibility pollen spray murk gloom lightning thunder
    precipitation moisture pressure weather sunlight daylight dampness darkness warmth thaw slush""".split())
_NOTICES = frozenset("warning warnings watch watches advisory advisories alert alerts".split())


def _count_compound(head: str) -> bool:
    return any(head.endswith(m) for m in _MASS_HEADS | {"fall", "light", "shine", "drift"})


def _in_dictionary(word: str) -> bool:
    from .grammar import _known

    return bool(_known(word))


def _count_noun(head: str) -> bool:
    if any(head.endswith(m) for m in _MASS_HEADS | {"fall", "light", "shine", "drift"}):
        return False  # "glimmerfall", "starlight", "snowdrift"-like compounds of mass words
    return head not in _MASS_HEADS and not head.endswith(("ing", "ness", "ity", "ure", "tion", "sion")) \
        and not is_plural(head) and guess_form(head) != ADJ


# --- temperature and wind words ------------------------------------------------------------------

# Per band: (words, tag). A tag says when the words fit (see _temp_fits); "" fits always.
TEMPS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("bitterly cold", ""), ("deathly cold", ""), ("brutally cold", ""), ("bitterly cold and raw", "raw")),
    (("freezing", ""), ("icy cold", ""), ("raw and freezing", "raw"), ("frosty", "crisp")),
    (("cold", ""), ("chilly", ""), ("raw and cold", "raw"), ("cold and damp", "damp"), ("crisp and cold", "crisp")),
    (("cool", ""), ("mild", "pleasant"), ("fresh", "fresh"), ("cool and damp", "damp"), ("crisp", "crisp")),
    (("warm", ""), ("pleasantly warm", "pleasant"), ("balmy", "pleasant"), ("warm and sticky", "humid"),
     ("warm and dry", "dry")),
    (("hot", ""), ("hot and sticky", "humid"), ("hot and dry", "dry")),
    (("scorching", ""), ("blisteringly hot", ""), ("baking", "dry"), ("searing", "")),
)
# Per band: (with-phrases: nouns after "with ... and", adverbials after a clause).
WINDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("still air", "not a breath of wind", "no wind at all"),
     ("in still air", "without a breath of wind", "in the windless calm")),
    (("a light breeze", "a soft breeze", "a gentle wind"),
     ("in a light breeze", "as a soft breeze stirs", "in a gentle wind")),
    (("a steady wind", "a brisk wind", "a brisk breeze"),
     ("in a steady wind", "as a brisk wind blows", "in a brisk breeze")),
    (("strong winds", "hard gusts", "a hard wind"),
     ("in strong winds", "as hard gusts sweep through", "in a hard wind")),
    (("a howling gale", "storm-force winds", "a tearing gale"),
     ("in a howling gale", "as a gale tears through", "under storm-force winds")),
)
# (upper bound, plain words) per band: the template and the fact checker read the same bounds.
TEMP_BANDS = tuple((b, tuple(w for w, tag in TEMPS[i] if not tag)) for i, b in enumerate(TEMP_BOUNDS))
WIND_BANDS = tuple((b, WINDS[i][0]) for i, b in enumerate(WIND_BOUNDS))
PLEASANT_WORDS = frozenset({"mild", "balmy", "pleasantly", "pleasant"})


def _temp_fits(tag: str, c: Condition, band: int, wind: int) -> bool:
    f, k = c.flags, c.kind
    rough = "stormy" in f or "heavy" in f or k in (STORM, BLOW, WINDY) or wind >= 3
    if band >= 4 and "cold" in f or band <= 3 and "hot" in f:
        return tag == ""  # the world says snow in the heat: say it plainly, add nothing
    if tag == "":
        return True
    if tag in ("pleasant", "crisp", "fresh") and "hot" in f:
        return False
    if tag == "pleasant":
        return not rough and wind <= 2 and not f & {"dark", "cold", "wet", "humid"} and k not in (HANG, BLOW)
    if tag == "humid":
        return "humid" in f and not f & {"dry", "cold"} and wind <= 3 and k != GROUND
    if tag == "close":
        return bool(f & {"humid", "dark"}) and not f & {"dry", "cold"} and wind <= 1
    if tag == "dry":
        return "dry" in f and not f & {"wet", "humid", "calm", "cold"}  # never "dry" the facts do not say
    if tag == "damp":
        return bool("wet" in f or (k == HANG and "calm" in f)) and not f & {"dry", "hot"}
    if tag == "raw":
        return ("wet" in f or wind >= 2) and not f & {"hot", "humid"}
    if tag == "crisp":
        return (bool(f & {"bright"}) or k == GROUND) and not f & {"wet", "humid", "stormy", "dark"} \
            and k not in (HANG, FALL, BLOW) and wind <= 2
    if tag == "fresh":
        return 1 <= wind <= 2 and not f & {"humid", "dark", "stormy", "wet", "hot"} and k != HANG
    if tag == "swelter":
        return wind <= 2 and not f & {"cold", "wet"}
    return False


def temperature_words(c: Condition, band: int, wind: int) -> list[str]:
    """The temperature words of ``band`` that fit the condition and the wind, none repeating a
    word of the condition ("freezing" is not said of freezing fog)."""
    cw = content_words(c.text)
    out = [w for w, tag in TEMPS[band] if _temp_fits(tag, c, band, wind) and not (content_words(w) & cw)]
    if not out:
        out = [w for w, tag in TEMPS[band] if tag == ""]
    return out


def wind_words(c: Condition, band: int) -> tuple[list[str], list[str]]:
    cw = content_words(c.text)
    nouns, advs = WINDS[band]
    n = [w for w in nouns if not (content_words(w) & cw)] or list(nouns)
    a = [w for w in advs if not (content_words(w) & cw)] or list(advs)
    return n, a


# --- compound conditions -------------------------------------------------------------------------

# Adjectives of the sky (said as "<adj> skies"), of the wind (they carry the wind) and others that
# are not in the lexicon but are plain adjectives of the weather ("dry and bright").
SKY_ADJ = frozenset("cloudy overcast sunny bright clear fair grey gray dull cloudless starry leaden starlit moonlit sunlit".split())
WIND_ADJ = frozenset("windy breezy gusty blustery blowy squally".split())
_PLAIN_ADJ = frozenset("""bright dull fine fair warm hot cold cool mild dry wet damp calm still clear grey gray close
    raw bitter chilly crisp fresh dreary gloomy murky mild sticky stuffy oppressive pleasant""".split())
_SEQUENCE = re.compile(r"^(?P<now>.+?)(?:,\s*|\s+)(?P<tail>(?:clearing|becoming|turning|then|followed by|giving way to|"
                       r"easing|dying out|brightening|cooling|warming|lifting|thinning|burning off|later)\b.*)$")


_JOINS = frozenset(("and", "but", "yet"))
_DEGREE = frozenset("very mostly partly rather quite fairly somewhat unusually unseasonably so too".split())


def _adj_word(w: str) -> bool:
    """Whether a word of a condition is an adjective, a degree adverb or a joint ("bitterly",
    "bright", "but"): a condition made only of these is said as an adjective phrase."""
    if w in _JOINS or w in _DEGREE or w in _PLAIN_ADJ or w in SKY_ADJ or w in WIND_ADJ or w in _NAMED_TEMP:
        return w != "heat"
    e = LEXICON.get(w)
    if e is not None:
        return e[0] == ADJ
    return (len(w) > 4 and w.endswith("ly")) or guess_form(w) == ADJ


def _is_adj(part: str) -> bool:
    words = part.split()
    if not words:
        return False
    if part in LEXICON:
        return LEXICON[part][0] == ADJ
    if all(w in _PLAIN_ADJ or w in SKY_ADJ or w in WIND_ADJ or w in ("mostly", "partly", "very") for w in words):
        return True
    return guess_form(part) == ADJ and words[-1] not in LEXICON


@dataclass(frozen=True)
class Weather:
    """A conditions string taken apart: what is happening now (``main``), a second condition
    "with" it (``extra``), what comes later (``later``, said as written), and for adjectives,
    which describe the sky, the air and the wind."""
    main: Condition
    extra: Condition | None
    later: str
    sky: tuple[str, ...]
    air: tuple[str, ...]
    wind: tuple[str, ...]
    compound: bool  # "light rain and snow": two things at once, a plural subject


@lru_cache(maxsize=8192)
def parse(conditions: str) -> Weather:
    text = " ".join(conditions.split()).lower()
    later = ""
    m = _SEQUENCE.match(text)
    if m and m.group("now").strip() and text not in LEXICON:
        text, later = m.group("now").strip(" ,"), m.group("tail").strip()
        if later == "later" and "," in text:  # "cloudy, rain later": the rain is what comes later
            text, mid = (x.strip() for x in text.rsplit(",", 1))
            later = (mid[5:] if mid.startswith("with ") else mid) + " later"
    extra = None
    if " with " in text and text not in LEXICON:
        head, _, rest = text.partition(" with ")
        if head.strip(" ,") and rest.strip():
            text, extra = head.strip(" ,"), understand(rest.strip())
    parts = [x.strip() for x in re.split(r",\s*|\s+and\s+", text) if x.strip()]
    if len(parts) > 1 and text not in LEXICON and all(_is_adj(x) for x in parts):
        sky = tuple(x for x in parts if x.split()[-1] in SKY_ADJ)
        wind = tuple(x for x in parts if x in WIND_ADJ)
        air = tuple(x for x in parts if x not in sky and x not in wind)
        c = understand(text)
        flags = set()
        for x in parts:
            flags |= understand(x).flags
        c = Condition(text, ADJ, SKY if sky else AIR, frozenset(flags), True)
        return Weather(c, extra, later, sky, air, wind, False)
    c = understand(text)
    compound = False
    if len(parts) > 1 and " and " in text and not _is_adj(parts[0]) and " of " not in text.split(" and ")[0]:
        # "light rain and snow", "fog and drizzle": two things, a plural subject
        kinds = {understand(x).kind for x in parts}
        flags = set()
        for x in parts:
            flags |= understand(x).flags
        kind = kinds.pop() if len(kinds) == 1 else MIXED
        c = Condition(text, PLURAL, kind, frozenset(flags), c.known)
        compound = True
    if c.form == ADJ:
        w = text.split()[-1]
        sky = (text,) if (c.kind == SKY or w in SKY_ADJ) else ()
        wind = (text,) if (c.kind == WINDY or w in WIND_ADJ) and not sky else ()
        air = (text,) if not sky and not wind else ()
        return Weather(c, extra, later, sky, air, wind, False)
    return Weather(c, extra, later, (), (), (), compound)


# --- the sentence --------------------------------------------------------------------------------

MIXED = "mixed"
# kind -> verbs as (singular, plural, lowest wind band, highest wind band): verbs of motion need a
# wind; "softly" never meets a gale.
_V = tuple[str, str, int, int]
_VERBS: dict[str, tuple[_V, ...]] = {
    FALL: (("falls on", "fall on", 0, 4), ("comes down on", "come down on", 0, 2),
           ("sweeps over", "sweep over", 2, 4), ("drives across", "drive across", 3, 4)),
    HANG: (("hangs over", "hang over", 0, 2), ("lies over", "lie over", 0, 1), ("clings to", "cling to", 0, 2),
           ("drifts over", "drift over", 1, 2), ("streams past", "stream past", 3, 4), ("rolls over", "roll over", 2, 3)),
    SKY: (("stretches over", "stretch over", 0, 4), ("spreads over", "spread over", 0, 4)),
    STORM: (("bursts over", "burst over", 0, 4), ("rolls over", "roll over", 1, 4), ("sweeps over", "sweep over", 2, 4),
            ("rages around", "rage around", 3, 4)),
    GROUND: (("lies on", "lie on", 0, 4), ("covers", "cover", 0, 4)),
    SUN: (("shines on", "shine on", 0, 4), ("falls on", "fall on", 0, 4), ("comes and goes over", "come and go over", 0, 4)),
    BLOW: (("hangs over", "hang over", 0, 0), ("settles on", "settle on", 0, 0), ("drifts over", "drift over", 1, 2),
           ("blows across", "blow across", 1, 4), ("sweeps over", "sweep over", 2, 4)),
    WINDY: (("blows across", "blow across", 0, 4), ("sweeps over", "sweep over", 2, 4)),
    AIR: (("hangs over", "hang over", 0, 2), ("settles on", "settle on", 0, 1), ("grips", "grip", 0, 4),
          ("lies heavy on", "lie heavy on", 0, 2)),
    MIXED: (("take turns over", "take turns over", 0, 4), ("come and go over", "come and go over", 0, 4)),
}
_HAIL: tuple[_V, ...] = (("rattles down on", "rattle down on", 0, 4), ("pounds", "pound", 0, 4), ("pelts", "pelt", 1, 4))
_HEAVY_FALL: tuple[_V, ...] = (("falls straight down on", "fall straight down on", 0, 0),
                               ("pours down on", "pour down on", 0, 1), ("pounds", "pound", 0, 2),
                               ("lashes", "lash", 2, 4), ("drives across", "drive across", 3, 4))
_LIGHT_FALL: tuple[_V, ...] = (("falls softly on", "fall softly on", 0, 1), ("falls on", "fall on", 0, 3), ("drifts down on", "drift down on", 0, 1),
                               ("drifts over", "drift over", 1, 2), ("blows across", "blow across", 2, 4),
                               ("sweeps over", "sweep over", 3, 4))
_SNOW_FALL: tuple[_V, ...] = (("settles on", "settle on", 0, 1),)
_HOT_SUN: tuple[_V, ...] = (("beats down on", "beat down on", 0, 4), ("blazes over", "blaze over", 0, 4))
_DARK_SKY: tuple[_V, ...] = (("hangs low over", "hang low over", 0, 1), ("rushes over", "rush over", 3, 4),
                             ("stretches over", "stretch over", 0, 4))
_FROST: tuple[_V, ...] = ()

# Wind as a noun (after "brings ... and" / "with ... and") and as an adverbial; "{T}" takes an
# attributive temperature word, so the temperature is part of the scene ("as a freezing gale tears
# through"), not tacked on after it.
_WIND_NOUNS = (("still air", "not a breath of wind", "no wind at all"),
               ("a light breeze", "a soft breeze", "a gentle wind", "a gentle breeze"),
               ("a steady wind", "a brisk wind", "a brisk breeze", "a blustery wind"),
               ("strong winds", "hard gusts", "a hard wind", "high winds"),
               ("a howling gale", "storm-force winds", "a tearing gale", "gale-force winds"))
_WIND_ADV_T = (("in the windless, {T} air", "in the {T} stillness"),
               ("in a light, {T} breeze", "as a {T} breeze stirs", "in a gentle, {T} breeze"),
               ("in a steady, {T} wind", "as a brisk {T} wind blows", "in a blustery, {T} wind",
                "as a steady {T} wind blows"),
               ("in strong, {T} winds", "in hard, {T} gusts", "in high, {T} winds", "as strong {T} winds blow"),
               ("as a {T} gale tears through", "in a {T} gale-force wind"))
_WIND_ADV = (("in the still air", "without a breath of wind", "in the windless calm"),
             ("in a light breeze", "as a soft breeze stirs", "in a gentle wind", "in a gentle breeze"),
             ("in a steady wind", "as a brisk wind blows", "in a brisk breeze", "in a blustery wind"),
             ("in strong winds", "as hard gusts sweep through", "in a hard wind", "in high winds"),
             ("in a howling gale", "as a gale tears through", "under storm-force winds", "in gale-force winds"))
# How hard a wind-like condition ("gusty winds", "a gale") really blows, per wind band: the wind
# is said once; at a calm the data's two facts are both told, gently.
_HOW_HARD = (("though the air is still for the moment",),
             ("though the wind is no more than a light breeze", "blowing gently", "stirring softly"),
             ("though no more than a brisk breeze", "blowing briskly", "blowing steadily"), ("blowing hard", "blowing in hard gusts", "buffeting everything"),
             ("at gale force", "rising to a howling gale"))
# How hard the wind blows, after "with the wind" (a windy adjective already said it is windy).
_WIND_STRENGTH = ((), (), ("blowing briskly", "blowing steadily"), ("blowing hard",),
                  ("rising to a gale", "blowing a gale"))
# Attributive forms of the temperature words ("a freezing gale", "the still, bitterly cold air").
_ATTRIBUTIVE = {"icy cold": "icy", "raw and cold": "cold", "raw and freezing": "freezing", "bitterly cold and raw": "bitterly cold",
                "crisp and cold": "cold"}

# Temperature words a condition may contain, by band ("hot and humid", "scorching sun").
_NAMED_TEMP = {"bitterly": 0, "frigid": 0, "frozen": 1, "freezing": 1, "icy": 1, "frosty": 1, "cold": 2, "chilly": 2, "cool": 3,
               "mild": 3, "warm": 4, "balmy": 4, "hot": 5, "sweltering": 5, "scorching": 6, "baking": 6,
               "blazing": 6, "searing": 6, "heat": 5}


def _intransitive(verb: str) -> str:
    """"falls softly on" -> "falls softly"; "" for a verb that needs its object ("lashes")."""
    head, _, prep = verb.rpartition(" ")
    if prep in ("on", "over", "across") and head.split(" ")[0] in _BARE_OK:
        return head
    return ""


# Verbs that read without their object ("light rain falls softly", "fog hangs"); not "a storm
# rolls", "fog clings", "skies stretch".
_BARE_OK = frozenset("falls fall comes come drifts drift pours pour settles settle hangs hang".split())


_EXTREME = frozenset(("searing", "scorching", "baking", "blisteringly hot", "deathly cold", "brutally cold",
                      "bitterly cold"))


def _attr_fits(tmpl: str, word: str) -> bool:
    """Whether a temperature word reads in this wind phrase: a two-word one ("bitterly cold")
    only after "a", "the" or a comma, never "hard blisteringly hot gusts"."""
    if word in _EXTREME and any(x in tmpl for x in ("gentle", "light", "soft")):
        return False  # "a gentle, searing breeze": the two words pull apart
    if " " not in word:
        return True
    before = tmpl.split("{T}", 1)[0].rstrip()
    return before.endswith(",") or before.split(" ")[-1] in ("a", "the")


def noun_phrase(c: Condition) -> str:
    """The condition as a noun phrase, said as written: "light rain", "a blizzard",
    "partly cloudy skies", "the scorching sun"."""
    t = c.text or "changeable weather"
    if c.form == COUNT:
        return t if t.split(" ", 1)[0] in ("a", "an", "the") else article(t)
    if c.form == ADJ:
        if c.kind == SKY:
            return t + " skies"
        return t + " weather"
    if c.kind == SUN and t.endswith("sun"):
        return "the " + t
    return t


def _verbs(c: Condition) -> tuple[_V, ...]:
    f, k = c.flags, c.kind
    if k == FALL and ("hail" in c.text or "stormy" in f):
        return _HAIL
    if k == FALL and "heavy" in f:
        return tuple(v for v in _HEAVY_FALL if "wet" in f or not v[0].startswith("pours"))
    if k == FALL and "light" in f:
        return _LIGHT_FALL
    if k == FALL and "cold" in f and "wet" not in f:
        return _VERBS[FALL] + _SNOW_FALL
    if k == SUN and "hot" in f:
        return _HOT_SUN
    if k == SUN and c.form == PLURAL:  # "sunny spells come and go", never "spells shine"
        return _VERBS[SUN][2:]
    if k == SUN:
        return _VERBS[SUN][:2]
    if k == SKY and "dark" in f:
        return _DARK_SKY
    if k == GROUND and ("frost" in c.text or "rime" in c.text):
        return _VERBS[GROUND] + _FROST
    return _VERBS.get(k, ())


_NOT_CONTENT = frozenset("the a an and of on in at to with as over under by is are it its no not into from".split())


def _stems(text: str) -> list[str]:
    return [w[:4] for w in WORD.findall(text.lower().replace("-", " ")) if w not in _NOT_CONTENT and len(w) > 2]


def _repeats(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether a content word (by its first four letters) is said twice ("hard ... hard gusts",
    "bright sunshine shines", "air ... air"); ``allowed`` stems may repeat."""
    st = [x for x in _stems(text) if x not in allowed]
    return len(st) != len(set(st))


def _named_band(c: Condition) -> int | None:
    for w in c.text.replace("-", " ").replace(",", " ").split():
        if w in _NAMED_TEMP:
            return _NAMED_TEMP[w]
    return None


def _later(w: Weather) -> str:
    """The tail for what comes later ("clearing later" -> ", though it should be clearing later")."""
    t = w.later
    if not t:
        return ""
    for lead in ("then ", "followed by ", "giving way to "):
        if t.startswith(lead):
            rest = parse(t[len(lead):])
            word = t[len(lead):].strip()
            if (rest.main.form == ADJ and rest.main.kind != SKY) or (" " not in word and word.endswith("er")
                                                                     and word not in LEXICON):  # "clear then hot", "then brighter"
                return ", and then it should turn " + rest.main.text
            np = noun_phrase(rest.main) if rest.main.form != ADJ or rest.main.kind == SKY else rest.main.text + " weather"
            return ", and then " + np + (" follow" if rest.main.form == PLURAL or rest.compound or rest.main.kind == SKY and rest.main.form == ADJ else " follows")
    if t.endswith(" later") and not t.startswith(("clearing", "becoming", "turning", "brightening", "easing", "dying")):
        rest = parse(t[: -len(" later")])
        if rest.main.form != ADJ:  # "cloudy, rain later": ", with rain later"
            return ", with " + noun_phrase(rest.main) + " later"
        return ", and it should turn " + rest.main.text + " later"  # "frost early, sunny later"
    if t.startswith("turning to ") and w.main.kind == FALL:
        return ", turning to " + t[len("turning to "):] + ("" if t.endswith(("later", "overnight")) else " later")
    for lead in ("becoming ", "turning to ", "turning "):
        if t.startswith(lead):
            when = ""
            body = t[len(lead):]
            for w_ in (" later", " overnight", " by evening", " by night", " this afternoon", " in the afternoon"):
                if body.endswith(w_):
                    body, when = body[: -len(w_)], w_
                    break
            rest = parse(body)
            if rest.main.form != ADJ and when and not (" " not in body and body.endswith("er")):
                return ", with " + noun_phrase(rest.main) + when  # "overcast, becoming snow later"
            word = t[len(lead):].strip()
            comparative = " " not in word and word.endswith("er") and word not in LEXICON  # "brighter"
            if rest.main.form != ADJ and not comparative:  # "cloudy, becoming rain": the rain is to come
                return ", with " + noun_phrase(rest.main) + " to follow"
            break
    they = (w.main.form == PLURAL or w.compound) and w.main.kind != SKY
    first = t.split(" ", 1)[0]
    if first in _BASE_FORM or t.startswith("dying out"):
        base = "die out" + t[len("dying out"):] if t.startswith("dying out") else _BASE_FORM[first] + t[len(first):]
        if re.search(r"\b(later|by \w+|overnight|this \w+|in the \w+|tonight|soon)\b", t):
            # "fog ..., and it should lift by midday": never a dangling "lifting by midday"
            return (", and they should " if they else ", and it should ") + base
        return (", and they are " if they else ", and it is ") + t  # "sea mist ..., and it is clearing"
    if t.startswith(("becoming", "turning")):
        if t.startswith("becoming ") and t.split()[1] in _INTENSITY:
            return (", and they are " if they else ", and it is ") + t  # "showers ..., and they are becoming heavy"
        return ", and it is " + t
    return ", " + t


def _extra(w: Weather, joint: str = ", with ") -> str:
    """The "with" part ("cloudy with sunny spells" -> ", with sunny spells breaking through")."""
    e = w.extra
    if e is None:
        return ""
    np = noun_phrase(e)
    if e.kind == SUN:
        return joint + np + " breaking through"
    if _QUALIFIED.match(e.text) or _WHERE.match(e.text):
        return joint + np  # "with showers in the afternoon": it says when already
    if "thunder" in e.text:
        return joint + np + " rumbling at times"
    if e.text.split()[0] in _FREQUENT or _QUALIFIED.match(e.text) or e.kind not in (FALL, STORM):
        return joint + np  # "with occasional drizzle", "with excellent visibility": no "at times"
    return joint + np + " at times"


_BASE_FORM = {"burning": "burn", "clearing": "clear", "easing": "ease", "lifting": "lift", "brightening": "brighten", "thinning": "thin",
              "cooling": "cool", "warming": "warm", "dispersing": "disperse", "moderating": "moderate"}
_INTENSITY = frozenset("heavy heavier light lighter lighter heavier intermittent frequent persistent thundery "
                       "squally wintry blustery".split())
_FREQUENT = frozenset("occasional scattered isolated intermittent patchy passing odd frequent periodic some a".split())


# A condition qualified by when, where or how sure ("rain at times", "frost early", "northern
# lights visible", "thunder possible"): the qualifier stays with its noun, said where a noun phrase
# stands ("..., with torrential rain at times and a blustery wind"), never "rain at times pound".
_QUALIFIED = re.compile(
    r"^(?P<head>.+?)\s+(?P<q>at times|in places|at first|for a time|for a while|overnight|early on|early|"
    r"in the (?:morning|afternoon|evening|night)|this (?:morning|afternoon|evening)|"
    r"by (?:noon|midday|afternoon|evening|nightfall|dusk|dawn|morning|night)|around|about|"
    r"possible|likely|expected|developing|visible|in force|on and off|off and on|"
    r"after (?:rain|showers|dark|sunset|nightfall|dawn)|before dawn)$")
_SAID_AS = {"early": "early on"}
_PREDICATES = frozenset("possible likely expected developing visible increasing".split())


_WHERE = re.compile(r"^(?P<head>.+?)\s+(?P<q>(?:on|over|in|near|along|across|above|below|around|off|at|from|without)\s+.+|inland|offshore)$")
_COMMA_TAIL = re.compile(r"^(?P<head>[^,]+),\s*(?P<q>[^,]+)$")


def _split_qualifier(text: str) -> tuple[str, str, bool]:
    """(head, qualifier, said between commas) of a qualified condition; ("", "", False) if none."""
    if _SEQUENCE.match(text):
        return "", "", False  # "strong northerly, easing by evening": what comes later is a tail
    m = _COMMA_TAIL.match(text)
    if m is not None and understand(m.group("head")).known \
            and understand(m.group("head")).form != ADJ:
        q = m.group("q").strip()
        first = q.split()[0]
        return m.group("head").strip(), q, not first.endswith("ing")  # "fog, lifting by noon": "fog lifting by noon"
    m = _QUALIFIED.match(text)
    if m is not None and m.group("head").strip(" ,") and " with " not in m.group("head") \
            and "," not in m.group("head").strip(" ,"):
        head, q = m.group("head").strip(" ,"), m.group("q")
        hw = head.split()
        if len(hw) > 1 and hw[-1] in _PREDICATES:  # "thunder possible in the afternoon"
            head, q = " ".join(hw[:-1]), hw[-1] + " " + q
        return head, _SAID_AS.get(q, q), m.group("head").rstrip().endswith(",")
    m = _WHERE.match(text)
    if m is not None and understand(m.group("head")).known and m.group("q") not in ("in places",):
        return m.group("head").strip(), m.group("q"), False
    m = re.match(r"^(?P<head>.+?)\s+(?P<q>[a-z]+ing\b.*)$", text)  # "fog banks drifting ashore"
    if m is not None and not _SEQUENCE.match(text) and understand(m.group("head")).known \
            and understand(m.group("head")).form != ADJ:
        return m.group("head").strip(), m.group("q"), False
    return "", "", False


def _qualified(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    text = " ".join(conditions.split()).lower()
    if text in LEXICON:
        return ()
    head, q, commas = _split_qualifier(text)
    if not head:
        return ()
    c = understand(head)
    np = noun_phrase(c) if c.form != ADJ else head
    if c.kind == WINDY and c.form != ADJ:  # "katabatic gusts off the ice": the wind itself, said once
        said = (", " + q) if commas else " " + q
        hows = [h for h in _HOW_HARD[wind_band] if not content_words(h) & content_words(head)] if wind_band >= 3 else []
        ts = temperature_words(c, temp_band, wind_band)
        how = " " + hows[0] if hows else ""
        if 1 <= wind_band <= 2 and not commas:
            how = " blowing gently" if wind_band == 1 else " " + _WIND_STRENGTH[2][0]
        elif 1 <= wind_band <= 2:  # "a moderate southwesterly blowing briskly, occasionally fresh"
            how = " blowing gently" if wind_band == 1 else " " + _WIND_STRENGTH[2][0]
        return tuple(("It is " + t + " at ", ", with " + np + (how + said if commas else said + how) + ".") for t in ts[:3])
    predicate = q in _PREDICATES or q.split()[0] in _PREDICATES or q.split()[0].endswith("ing")
    slots = (", with " + np,) if predicate else (", with " + np, " brings " + np, "It is " + np)
    out = []
    for pre, post in _frames(head, temp_band, wind_band):
        for slot in slots:
            for part in (0, 1):
                x = (pre, post)[part]
                i = x.find(slot)
                j = i + len(slot)
                if i < 0 or not x[j:].startswith((" and ", ".", ",")):
                    continue
                said = (", " + q + ("," if x[j:].startswith(" and ") else "")) if commas else " " + q
                x = x[:j] + said + x[j:]
                out.append((x, post) if part == 0 else (pre, x))
                break
            else:
                continue
            break
    if out:
        return tuple(dict.fromkeys(out))
    t = temperature_words(c, temp_band, wind_band)[0]
    said = (", " + q + ",") if commas else " " + q
    return (("It is " + t + " at ", ", with " + np + said + " and " + _WIND_NOUNS[wind_band][0] + "."),)


_NUMBER_WORDS = ("ten|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|eleven|twelve|fifteen|"
                 "degrees|knots|mph|percent")
_GERUNDS = frozenset("raining snowing drizzling pouring sleeting hailing thundering teeming bucketing".split())


def _special(text: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """Forecast shapes no frame below reads: a verb ("raining sideways"), a list of noun phrases
    ("warm night, clear skies"), the air with a wind of its own ("dusty and scorching, gusty
    winds"). () when the condition is none of these."""
    if text in LEXICON:
        return ()
    words = text.split()
    plain = [t for t, tag in TEMPS[temp_band] if not tag]
    parts0 = [x.strip() for x in re.split(r",\s*|\s+and\s+", text) if x.strip()]
    bare = [x[: -len(" later")] if x.endswith(" later") else x for x in parts0]
    bare = [(_QUALIFIED.match(x).group("head") if _QUALIFIED.match(x) else x) for x in bare]
    if len(parts0) >= 2 and " with " not in text and not any(x.startswith(("becoming", "turning", "then")) for x in parts0) \
            and all(understand(x).form == ADJ or _is_adj(x) for x in bare) \
            and any(_QUALIFIED.match(x) or x.endswith(" later") for x in parts0):
        # "frosty early, sunny by midday", "cold at first, warm later": the day's adjectives in turn
        said = [(x[: -len(" early")] + " early on") if x.endswith(" early") else x for x in parts0]
        named = [b for b in (_named_band(Condition(x, ADJ, AIR, frozenset(), True)) for x in bare) if b is not None]
        ws = list(_WIND_NOUNS[wind_band][:2])
        if not any(abs(b - temp_band) <= 1 for b in named):
            # the reading first: "It is cool at X, frosty early on and sunny by midday, with a soft breeze."
            return tuple(("It is " + plain[0] + " at ", ", " + join_and(said) + ", with " + n + ".") for n in ws)
        return tuple(("It is " + join_and(said) + " at ", ", with " + n + ".") for n in ws)
    if " with " in text and "," in text.partition(" with ")[0]:
        head, _, rest = text.partition(" with ")  # "showers, some heavy, with hail"
        hc = understand(head.split(",")[0].strip())
        if hc.kind == WINDY and hc.form != ADJ and "," not in head.strip(" ,"):  # "gale, with torrential rain"
            return _special(head.strip(" ,") + " with " + rest, temp_band, wind_band)
        if hc.form != ADJ and hc.known:
            ts = temperature_words(hc, temp_band, wind_band) or plain
            adv = _WIND_ADV[wind_band][0]
            return tuple(("It is " + t + " at ", ", with " + head.strip(" ,") + ", and " + noun_phrase(understand(rest))
                          + " " + adv + ".") for t in ts[:3])
    if " with " in text and "," not in text.replace(", with ", " with "):
        head, _, rest = text.replace(", with ", " with ").partition(" with ")
        hc, rc = parse(head).main, understand(rest)
        if rc.kind == WINDY and rc.form != ADJ and hc.form == ADJ:  # "cold and dry with a brisk northerly"
            return _special(head + ", " + rest, temp_band, wind_band)
        if hc.form == ADJ and set(head.replace(",", " ").split()) & WIND_ADJ and rc.kind != WINDY:
            # "windy with blowing dust": the wind is said by "windy", then how hard it blows
            ts = [x for x in temperature_words(hc, temp_band, wind_band) if x not in head] or plain
            named = _named_band(hc)
            t = "" if named is not None and abs(named - temp_band) <= 1 else " and " + ts[0]
            how = {0: ", though the air is still for the moment", 3: ", the wind blowing hard",
                   4: ", the wind rising to a gale"}.get(wind_band, "")
            return (("It is " + head + t + " at ", ", with " + noun_phrase(rc) + how + "."),)
        if hc.kind == WINDY and hc.form != ADJ:  # "severe gale with whiteouts": the gale is the wind
            ts = temperature_words(hc, temp_band, wind_band) or plain
            return tuple(("It is " + t + " at ", ", with " + noun_phrase(hc) + " and " + noun_phrase(rc) + ".")
                         for t in ts[:2])
    if " and " in text and "," not in text and " with " not in text:
        ps = [x.strip() for x in text.split(" and ")]
        pc = [understand(x) for x in ps]
        if len(ps) == 2 and any(c.kind == WINDY and c.form != ADJ for c in pc) and all(c.form != ADJ for c in pc):
            # "rain and strong winds": the wind is in the condition, said once
            ts = temperature_words(Condition(text, PLURAL, MIXED, frozenset().union(*(c.flags for c in pc)), True),
                                   temp_band, wind_band) or plain
            return tuple(f for t in ts[:3] for f in ((cap(article(t + " day")) + " at ", " brings " + text + "."),
                                                    ("It is " + t + " at ", ", with " + text + ".")))
    if words and words[0] in _GERUNDS:  # "It is raining sideways at X, raw and cold, with high winds."
        c = Condition(text, MASS, FALL, frozenset({"wet"}), False)
        ts = temperature_words(c, temp_band, wind_band) or plain
        return tuple(("It is " + t + " and " + text + " at ", ", with " + n + ".") for t in ts[:3]
                     for n in _WIND_NOUNS[wind_band][:2])
    if "," in text and " with " not in text and not _SEQUENCE.match(text) and not _QUALIFIED.match(text):
        parts = [x.strip() for x in text.split(",") if x.strip()]
        cs = [understand(x) for x in parts]
        windy = [c for c in cs if c.kind == WINDY and c.form != ADJ]
        if len(parts) >= 2 and all(c.form != ADJ for c in cs) and (all(c.known for c in cs[1:]) or windy) \
                and len(windy) <= 1:
            cs = [c for c in cs if c not in windy] + windy  # "light winds, haar rolling in": the wind last
            np = join_and([noun_phrase(c) for c in cs]).replace(" and ", ", ", len(cs) - 2) if len(cs) > 2 else \
                ", ".join(noun_phrase(c) for c in cs)
            if windy:
                np = join_and([noun_phrase(c) for c in cs])
                ts = temperature_words(Condition(text, PLURAL, MIXED, frozenset(), True), temp_band, wind_band) or plain
                return tuple(("It is " + t + " at ", ", with " + np + ".") for t in ts[:3])
            flags = frozenset().union(*(c.flags for c in cs))
            ts = temperature_words(Condition(text, PLURAL, MIXED, flags, True), temp_band, wind_band) or plain
            out = []
            for t in ts[:3]:
                for n in _WIND_NOUNS[wind_band][:3]:
                    out.append(("It is " + t + " at ", ", with " + np + " and " + n + "."))
            return tuple(out)
        if len(parts) >= 2 and all(parse(x).main.form == ADJ for x in parts[:-1]) and cs[-1].kind == WINDY \
                and cs[-1].form != ADJ:
            parts, cs = [join_and(parts[:-1])] + parts[-1:], cs[:1] + cs[-1:]
            # the second part is the wind: said once, with how hard it blows
            hows = [h for h in _HOW_HARD[wind_band] if not content_words(h) & content_words(parts[1])]
            tail = (" " + hows[0]) if wind_band >= 3 and hows else ""
            if 1 <= wind_band <= 2:  # "a light northerly blowing gently": how hard the named wind blows
                tail = " " + _WIND_STRENGTH[wind_band][0] if wind_band == 2 else " blowing gently"
            named = _named_band(Condition(parts[0], ADJ, AIR, frozenset(), True))
            ts = temperature_words(parse(parts[0]).main, temp_band, wind_band)
            # "bright but bitter": never "... bitter and bitterly cold"
            t = next((x for x in ts if not any(w[:5] in x for w in parts[0].split() if len(w) > 3)), ts[0])
            if named is None:
                return (("It is " + parts[0] + " and " + t + " at ", ", with " + noun_phrase(cs[1]) + tail + "."),)
            yet = "" if abs(named - temp_band) <= 1 else ", yet it is " + ("only " if named > temp_band else "") + t
            return (("It is " + parts[0] + " at ", ", with " + noun_phrase(cs[1]) + tail + yet + "."),)
    return ()


def legacy_frames(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    text = re.sub(r"\b(\w+)(?: \1\b)+", r"\1", " ".join(conditions.split()).lower())  # "hot hot hot"
    text = re.sub(r"\b(visibility|wind chill|cloud cover|cloud|humidity|pollen|swell|seas?) (very poor|poor|good|excellent|"
                  r"moderate|reduced|severe|extreme|heavy|light|strong|high|low|rough|slight)\b", r"\2 \1", text)
    if "," in text:  # "starlit and still, minus thirty", "gusts to sixty": no numbers read out
        kept = [x for x in text.split(",") if not re.search(r"\d|\b(?:minus|plus)\b|\b(?:" + _NUMBER_WORDS + r")\b", x)]
        text = ",".join(kept).strip(" ,") if kept else text
    if re.search(r"[^\W\d_]", text):  # "windy!!": a forecast's own stops are not the sentence's
        text = text.rstrip(".!?;:… ") or text
    if re.search(r"[.!?;]\s+[^\W\d_]", text):  # "grey. just grey." is one phrase: its stops are commas
        text = re.sub(r"\s*[.!?;]+\s*", ", ", text).strip(" ,") or text
    conditions = text
    special = _special(text, temp_band, wind_band)
    if special:
        return special
    w = parse(text)
    if w.later and text not in LEXICON:
        now = w.main.text if w.extra is None else ""
        if now and _split_qualifier(now)[0]:
            # "frost early, sunny later": the qualified condition's frames, then what comes later
            tail = _later(w)
            out = []
            for pre, post in _qualified(now, temp_band, wind_band):
                if post.endswith("."):
                    t2 = tail.replace(", with ", ", and ", 1) if ", with " in pre + post and tail.startswith(", with ") else tail
                    out.append((pre, post[:-1] + t2 + "."))
            if out:
                return tuple(out)
    m = _COMMA_TAIL.match(text)
    if m is not None and text not in LEXICON and not _SEQUENCE.match(text) and " with " not in text \
            and understand(m.group("head").strip()).form != ADJ and m.group("q").strip() in ("calm", "still", "dry",
                                                                                            "clear", "humid", "misty"):
        text = m.group("q").strip() + ", " + m.group("head").strip()  # "extreme cold, calm": "calm, extreme cold"
        conditions = text
        m = _COMMA_TAIL.match(text)
    if m is not None and text not in LEXICON and not _SEQUENCE.match(text) and " with " not in text:
        head, tail = m.group("head").strip(), m.group("q").strip()
        if parse(head).main.form == ADJ and understand(tail).form != ADJ:
            # "sunny and warm, high pollen": the sky and the air, with the pollen
            out = _frames(head + " with " + tail, temp_band, wind_band)
            if out:
                return out
            hc = parse(head).main
            t = temperature_words(hc, temp_band, wind_band)[0]
            t = "" if _named_band(hc) is not None else " and " + t
            return (("It is " + head + t + " at ", ", with " + noun_phrase(understand(tail)) + " and "
                     + _WIND_NOUNS[wind_band][0] + "."),)
    out = _qualified(conditions, temp_band, wind_band) or _frames(conditions, temp_band, wind_band)
    if out:
        return out
    w = parse(conditions)
    if w.extra is not None and w.main.form == ADJ:  # "dry with sunny spells" where no frame fits
        t = temperature_words(w.main, temp_band, wind_band)[0]
        return (("It is " + w.main.text + " and " + t + " at ", ", with " + noun_phrase(w.extra) + " and "
                 + _WIND_NOUNS[wind_band][0] + "."),)
    c = understand(conditions)
    t = temperature_words(c, temp_band, wind_band)[0]
    parts = [x for x in re.split(r",\s*|\s+and\s+", text) if x]
    if parts and all(_is_adj(x) or understand(x).form == ADJ for x in parts):
        # adjectives only ("wet and windy", "calm and frosty"): said with the temperature word
        named = _named_band(c)
        words = parts + ([t] if t not in parts and named is None else [])
        wind = "" if ("calm" in parts or "still" in parts) and wind_band == 0 else ", with " + _WIND_NOUNS[wind_band][0]
        yet = ""
        if named is not None and abs(named - temp_band) > 1:  # "cold and windy" at -40 °C: both said
            yet = (", and the air is " if (temp_band < named <= 2 or temp_band > named >= 4) else ", yet it is ") + t
        return (("It is " + join_and(words) + " at ", wind + yet + "."),)
    if "," in text or not c.known:
        # a forecast string no rule above reads ("overcast, becoming snow later, fog early"):
        # told as the forecast it is, word for word, rather than forced into a noun slot
        return (("It is " + t + " at ", ", with " + _WIND_NOUNS[wind_band][0] + ", and the forecast is for "
                 + text + "."),)
    np = noun_phrase(c) if c.form != ADJ else c.text + " weather"
    wind = " and " + _WIND_NOUNS[wind_band][0] if c.kind != WINDY or c.form == ADJ else ""
    return (("It is " + t + " at ", ", with " + np + wind + "."),)


def _frames(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    w = parse(conditions)
    c = w.main
    temps = temperature_words(c, temp_band, wind_band)
    if w.extra is not None:  # "cloudy with showers": the showers' wet and storm rule the words too
        both = Condition(c.text, c.form, c.kind, c.flags | w.extra.flags, c.known)
        temps = [t for t in temperature_words(both, temp_band, wind_band) if t in temps] or temps
    named = _named_band(c)
    yet = ""
    if named is not None and abs(named - temp_band) <= 1:
        temps = []  # "scorching sun", "hot and humid": the condition already says how warm it is
    elif named is not None and (temp_band < named <= 2 or temp_band > named >= 4):
        yet = ", and the air is "  # "bitterly cold" is no contradiction of "cold": said plainly, no "yet"
    elif named is not None:
        yet = ", yet it is only " if named > temp_band else ", yet it is "
    attrs = []
    for t in temps:
        a = _ATTRIBUTIVE.get(t, t)
        if " and " not in a and a not in attrs:
            attrs.append(a)
    nouns = list(_WIND_NOUNS[wind_band])
    advs = list(_WIND_ADV[wind_band])
    end = _later(w) + "."
    tail_extra = _extra(w)
    out: list[tuple[str, str]] = []
    must = [x for x in re.sub(r"[,;]", " ", conditions.lower()).split()
            if x not in ("and", "then", "becoming", "turning", "to") and x not in _BASE_FORM and x not in ("dying",)]
    cst = _stems(conditions)
    twice = frozenset(x for x in cst if cst.count(x) > 1)  # "gray gray": the world's own words
    if yet.startswith(", and"):  # "cold ..., and the air is bitterly cold": the two facts share a word
        twice |= frozenset(cst)

    def add(pre: str, post: str) -> None:
        whole = " " + (pre + " " + post).lower()
        if whole.count(" with ") > 1 or whole.count(" under ") > 1:
            return  # one frame: never "with ..., with ..."
        if not all(x in whole for x in must):
            return  # the condition is always said as written
        if not _repeats(pre + " " + post, twice) and (pre, post) not in out:
            out.append((pre, post))

    plural = c.form == PLURAL or w.compound or (c.form == ADJ and c.kind == SKY)
    # --- adjectives: the sky, the air and the wind said apart ("dry and bright") ---
    if c.form == ADJ:
        if yet and temps:  # "hot and humid" at a freezing reading: both facts, the condition first
            end = _later(w) + yet + temps[0] + "."
            temps = []
        sky = join_and(list(w.sky)) + " skies" if w.sky else ""
        air = list(w.air)
        windy = list(w.wind)
        if air:  # "muggy and hot", never "muggy and hot and sticky"
            temps = [t for t in temps if " and " not in t] or [t.split(" and ")[0] for t in temps[:1]]
        air_t = [", ".join(air) + " and " + t if len(air) > 1 else (air[0] + " and " + t if air else t) for t in temps] or \
            ([join_and(air)] if air else [])
        if windy:
            wadj = join_and(windy)
            how = [n for n in nouns if not (content_words(n) & content_words(wadj))]
            if wind_band == 2:  # "breezy" says it: never "breezy ... with the wind blowing steadily"
                how = []
                tails = [""]
            elif wind_band >= 3:  # "breezy ... with a strong wind" says the wind twice: how hard it blows
                how = []
                tails = [", with the wind " + h for h in _WIND_STRENGTH[wind_band]]
            else:
                tails = [", with " + n for n in how] if wind_band else [", " + _HOW_HARD[0][0]]
            if not tails:
                tails = [", " + _HOW_HARD[wind_band][0]]
            descs = [wadj + (", " + a if a else "") for a in (air_t or [""])]
            for d in descs:
                d = d.replace(", ", " and ", 1) if d.count(", ") == 1 and " and " not in d else d
                for tl in tails:
                    more = _extra(w, " and ") if tl.startswith(", with") else tail_extra
                    if sky:
                        add("It is " + d + " at ", ", under " + sky + tl + more + end)
                    else:
                        add("It is " + d + " at ", tl + more + end)
            if out:
                return tuple(out)
        if sky:
            for t in temps:
                day = ", ".join(air + [t]) if air else t
                for n in nouns[:1] if wind_band == 0 else nouns:
                    add(cap(article(day + " day")) + " at ", " brings " + sky + " and " + n + tail_extra + end)
            for d in air_t:
                for n in nouns:
                    add("It is " + d + " at ", ", with " + sky + " and " + n + tail_extra + end)
                for adv in advs:  # "Under clear skies, Old Mill is warm in a stiff breeze."
                    add("Under " + sky + ", ", " is " + d + " " + adv + tail_extra + end)
            for sg, pl, lo, hi in _verbs(Condition(c.text, ADJ, SKY, c.flags, True)):
                if not lo <= wind_band <= hi:
                    continue
                for adv in advs:
                    if air_t and (air or not attrs or yet):
                        for d in air_t:
                            rest = (", and the day is " if "air" in adv else ", and the air is ") + d
                            add(cap(sky) + " " + pl + " ", " " + adv + rest + tail_extra + end)
                    elif not temps:
                        add(cap(sky) + " " + pl + " ", " " + adv + tail_extra + end)
                for tmpl in _WIND_ADV_T[wind_band] if not air and not yet else ():
                    for a in attrs:
                        if not _attr_fits(tmpl, a):
                            continue
                        adv = tmpl.replace("a {T}", article(a)).replace("{T}", a)
                        add(cap(sky) + " " + pl + " ", " " + adv + tail_extra + end)
            if out:
                return tuple(out)
        # the air alone ("muggy", "hot and humid", "misty"); "bright but cold" is the day's, not the air's
        day_words = any(x in SKY_ADJ for x in c.text.split())
        for d in air_t or [c.text]:
            for n in nouns:
                add("It is " + d + " at ", ", with " + n + tail_extra + end)
                if c.kind in (AIR, HANG):
                    add(("The day is " if day_words else "The air is ") + d + " at ", ", with " + n + tail_extra + end)
            if c.kind in (AIR, HANG) and len(d.split()) <= 3 and not day_words:
                thick = d if c.text in d and " and " in c.text else d.replace(" and ", ", ")
                if wind_band == 0:
                    add("The " + thick + " air hangs still over ", tail_extra + end)
                elif wind_band <= 2:
                    for n in nouns:
                        add(cap(n) + " stirs the " + thick + " air at ", tail_extra + end)
                else:  # "a howling gale tears through the humid, hot air"
                    verb = ("sweep", "sweeps") if wind_band == 3 else ("tear", "tears")
                    for n in nouns:
                        v = verb[0] if n.endswith("s") and not n.startswith("a ") else verb[1]
                        add(cap(n) + " " + v + " through the " + thick + " air at ", tail_extra + end)
        return tuple(out)
    # --- nouns: rain, fog, a blizzard, sunny spells, light rain and snow ---
    np = noun_phrase(c)
    head_np = np
    for t in temps:
        if c.kind == WINDY or yet:
            break
        day = cap(article(t + " day")) + " at "
        for n in (nouns[:1] if wind_band == 0 else nouns):
            if w.compound:
                for adv in advs:
                    add(day, " brings " + np + " " + adv + tail_extra + end)
                break
            else:
                add(day, " brings " + np + " and " + n + tail_extra + end)
        if not tail_extra and not w.compound:
            for n in nouns:
                add("It is " + t + " at ", ", with " + np + " and " + n + end)
    verbs = [v for v in _verbs(c) if v[2] <= wind_band <= v[3]]
    cond_words = WORD.findall(c.text.replace("-", " "))
    verbs = [v for v in verbs if not any(st in cw for st in _stems(v[0]) for cw in cond_words)]  # "sunshine shines"
    if c.kind == WINDY:
        hows = [h for h in _HOW_HARD[wind_band] if not (content_words(h) & content_words(c.text))] or [_HOW_HARD[wind_band][-1]]
        if " " in c.text:  # "gusty winds" already say how they blow: never "..., blowing hard"
            hows = [h for h in hows if h != "blowing hard"] or hows
        subj = [cap(np)]  # never "chilly gusty winds ..., blowing hard": one modifier, the tail says how hard
        for sg, pl, lo, hi in verbs:
            for s_ in subj:
                for how in hows:
                    t_tail = "" if s_ != cap(np) or not temps else ", and the air is " + temps[0]
                    sep = ", " if not how.startswith(("at ", "in ")) else " "
                    add(s_ + " " + (pl if plural else sg) + " ", sep + how + t_tail + end)
        for t in temps:
            for how in hows:
                add("It is " + t + " at ", ", with " + np + (", " if how.startswith("though") else " ") + how + end)
        if not temps:
            for how in hows:
                add("It is " + c.text + " at ", " " + how + end if how.startswith(("at ", "in ")) else ", " + how + end)
        return tuple(out)
    if wind_band >= 3 and (not temps or yet) and not w.compound and not tail_extra and c.kind not in (SKY, SUN):
        # "dry heat and a howling gale batter the fort": the wind is part of the scene
        for n in nouns:
            for v in ("batter", "sweep over") if c.kind != GROUND else ():
                add(cap(head_np) + " and " + n + " " + v + " ", (yet + temps[0] if yet and temps else "") + end)
    for sg, pl, lo, hi in verbs:
        verb = pl if plural else sg
        if attrs and not yet:
            for tmpl in _WIND_ADV_T[wind_band]:
                for a in attrs:
                    if not _attr_fits(tmpl, a):
                        continue
                    adv = tmpl.replace("a {T}", article(a)).replace("{T}", a)
                    add(cap(head_np) + " " + verb + " ", " " + adv + tail_extra + end)
                    bare = _intransitive(verb)
                    if bare and c.kind != SKY and not adv.startswith(("on ", "under ")):  # not "falls on a breeze"  # "At Old Mill, light rain falls softly in the windless, cool air."
                        add("At ", ", " + head_np + " " + bare + " " + adv + tail_extra + end)
        elif yet and temps:
            for adv in advs:
                for t in temps[:2]:
                    add(cap(head_np) + " " + verb + " ", " " + adv + yet + t + tail_extra + end)
        elif not temps:
            for adv in advs:
                add(cap(head_np) + " " + verb + " ", " " + adv + tail_extra + end)
        else:  # no attributive word fits: the temperature after the scene
            for adv in advs:
                for t in temps[:2]:
                    add(cap(head_np) + " " + verb + " ", " " + adv + (", and the day is " if "air" in adv else ", and the air is ") + t + tail_extra + end)
    if not c.known or c.text.split()[-1] in _NOTICES or " or " in c.text:
        # a word the lexicon does not know (or a notice): said only where any noun phrase reads
        # right ("..., with a typhoon warning and a tearing gale"), never as the subject of a verb
        # chosen by a guess ("high pollen blows across")
        out = [f for f in out if (", with " + np) in f[1] or (" brings " + np) in f[1]]
    if not out:  # never expected: every form above yields phrasings
        t = temps[0] if temps else TEMPS[temp_band][0][0]
        out.append(("It is " + t + " at ", ", with " + np + (" and " + nouns[0] if c.kind != WINDY or c.form == ADJ else "") + end))
    return tuple(out)
