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

from dataclasses import dataclass
from functools import lru_cache

from .grammar import ADJ, COUNT, MASS, PLURAL, WORD, article, cap, content_words, guess_form

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
rain and snow|m|fall|wet cold
sleet and snow|m|fall|wet cold
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
cloudy with showers|a|sky|wet dark
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
    words = text.split(" ")
    for i in range(len(words)):
        tail = " ".join(words[i:])
        entry = LEXICON.get(tail)
        if entry is None:
            continue
        form, kind, flags = entry
        extra = set(flags)
        front = words[:i]
        if front and not all(WORD.fullmatch(w) for w in front):
            break  # "rain, then fog"-like strings: not a modified head
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
    return Condition(text, form, kind, frozenset(flags), False)


# --- temperature and wind words ------------------------------------------------------------------

# Per band: (words, tag). A tag says when the words fit (see _temp_fits); "" fits always.
TEMPS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("bitterly cold", ""), ("deathly cold", ""), ("brutally cold", ""), ("bitterly cold and raw", "raw")),
    (("freezing", ""), ("icy cold", ""), ("raw and freezing", "raw"), ("frosty", "crisp")),
    (("cold", ""), ("chilly", ""), ("raw and cold", "raw"), ("cold and damp", "damp"), ("crisp and cold", "crisp")),
    (("cool", ""), ("mild", "pleasant"), ("fresh", "fresh"), ("cool and damp", "damp"), ("crisp", "crisp")),
    (("warm", ""), ("pleasantly warm", "pleasant"), ("balmy", "pleasant"), ("warm and sticky", "humid"),
     ("warm and dry", "dry")),
    (("hot", ""), ("sweltering", "swelter"), ("hot and sticky", "humid"), ("close and hot", "close"),
     ("hot and dry", "dry")),
    (("scorching", ""), ("blisteringly hot", ""), ("baking", "dry"), ("searing", "")),
)
# Per band: (with-phrases: nouns after "with ... and", adverbials after a clause).
WINDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("still air", "not a breath of wind", "no wind at all"),
     ("in still air", "without a breath of wind", "in the windless calm")),
    (("a light breeze", "a soft breeze", "a gentle wind"),
     ("on a light breeze", "as a soft breeze stirs", "in a gentle wind")),
    (("a steady wind", "a brisk wind", "a stiff breeze"),
     ("in a steady wind", "as a brisk wind blows", "in a stiff breeze")),
    (("strong winds", "hard gusts", "a roaring wind"),
     ("in strong winds", "as hard gusts sweep through", "under a roaring wind")),
    (("a howling gale", "storm-force winds", "a tearing gale"),
     ("in a howling gale", "as a gale tears through", "under storm-force winds")),
)
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
        return bool(f & {"humid", "stormy", "wet"}) and not f & {"dry", "cold"} and wind <= 3 and k != GROUND
    if tag == "close":
        return bool(f & {"humid", "dark"}) and not f & {"dry", "cold"} and wind <= 1
    if tag == "dry":
        return bool(f & {"dry", "hot", "bright"}) and not f & {"wet", "humid", "calm", "cold"}
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


# --- the sentence --------------------------------------------------------------------------------

# kind -> (verb phrases as (singular, plural)); the verbs a condition takes as a subject.
_VERBS = {
    FALL: (("falls on", "fall on"), ("comes down on", "come down on"), ("sweeps over", "sweep over")),
    HANG: (("hangs over", "hang over"), ("lies over", "lie over"), ("clings to", "cling to")),
    SKY: (("stretches over", "stretch over"),),
    STORM: (("rolls over", "roll over"), ("sweeps over", "sweep over"), ("rages around", "rage around")),
    GROUND: (("lies on", "lie on"), ("covers", "cover")),
    SUN: (("shines on", "shine on"),),
    BLOW: (("blows across", "blow across"), ("sweeps over", "sweep over")),
    WINDY: (("blows over", "blow over"), ("sweeps over", "sweep over")),
    AIR: (("hangs over", "hang over"), ("settles on", "settle on")),
}
_HAIL = (("rattles down on", "rattle down on"), ("hammers", "hammer"), ("pelts", "pelt"))
_HEAVY_FALL = (("lashes", "lash"), ("comes down hard on", "come down hard on"), ("sweeps over", "sweep over"))
_LIGHT_FALL = (("drifts over", "drift over"), ("falls softly on", "fall softly on"))
_HOT_SUN = (("beats down on", "beat down on"), ("blazes over", "blaze over"))
# kind -> the preposition for "<place> lies <temperature> <prep> <condition>" (None: not used).
_PREP = {FALL: "in", HANG: "in", SKY: "under", STORM: "amid", SUN: "in", BLOW: "in", AIR: "in", GROUND: None,
         WINDY: None, OTHER: None}


# Temperature words a condition may contain, by band ("hot and humid").
_NAMED_TEMP = {"frozen": 1, "freezing": 1, "icy": 1, "frosty": 1, "cold": 2, "chilly": 2, "raw": 2, "cool": 3,
               "mild": 3, "warm": 4, "balmy": 4, "hot": 5, "sweltering": 5, "scorching": 6, "baking": 6}

# How hard a wind-like condition ("gusty winds", "trade winds") blows, per wind band.
_HOW_HARD = (
    ("in otherwise still air",),
    ("easing to a light breeze", "no stronger than a soft breeze"),
    ("blowing a stiff breeze", "at a brisk, steady pace"),
    ("blowing hard", "buffeting everything"),
    ("at gale force", "rising to a howling gale", "driving storm-force gusts"),
)
_TEMP_TAILS = (", and the air is ", ", and the day is ", ", and it is ")

# Temperature words that do not read as "<place> lies <word>".
_NOT_AFTER_LIES = frozenset({"crisp", "fresh", "mild", "balmy", "searing", "scorching", "frosty", "crisp and cold"})


def noun_phrase(c: Condition) -> str:
    """The condition as a noun phrase, said as written: "light rain", "a blizzard",
    "partly cloudy skies", "the scorching sun"."""
    t = c.text or "changeable weather"
    if c.form == COUNT:
        return article(t)
    if c.form == ADJ:
        if c.kind == SKY:
            head, _, rest = t.partition(" with ")
            return head + " skies with " + rest if rest else t + " skies"
        return t + " weather"
    if c.kind == SUN and t.endswith("sun"):
        return "the " + t
    return t


def _verbs(c: Condition) -> tuple[tuple[str, str], ...]:
    if c.kind == FALL and "stormy" in c.flags:
        return _HAIL
    if c.kind == FALL and "heavy" in c.flags:
        return _HEAVY_FALL
    if c.kind == FALL and "light" in c.flags:
        return _LIGHT_FALL
    if c.kind == SUN and "hot" in c.flags:
        return _HOT_SUN
    return _VERBS.get(c.kind, ())


@lru_cache(maxsize=16384)
def weather_frames(conditions: str, temp_band: int, wind_band: int) -> tuple[tuple[str, str], ...]:
    """Every phrasing of the weather sentence for these conditions and bands, as (text before
    the name, text after it); the template picks one by the place's seed. Deterministic."""
    c = understand(conditions)
    temps = temperature_words(c, temp_band, wind_band)
    nouns, advs = wind_words(c, wind_band)
    out: list[tuple[str, str]] = []
    if c.form == ADJ and c.kind != SKY:
        adj = c.text
        simple = [t for t in temps if " and " not in t] or temps
        compound = " and " in adj or "," in adj
        named = [_NAMED_TEMP[w] for w in adj.replace(",", " ").split() if w in _NAMED_TEMP]
        if compound and named and abs(named[0] - temp_band) <= 1:
            # "hot and humid" already says how warm it is: said once, as written
            return tuple(("It is " + adj + " at ", ", with " + w + ".") for w in nouns) + \
                tuple(("", " lies " + adj + " " + w + ".") for w in advs)
        for t in simple:
            for w in nouns:
                if compound:
                    out.append(("It is " + t + " at ", ", " + adj + ", with " + w + "."))
                else:
                    out.append(("It is " + adj + " and " + t + " at ", ", with " + w + "."))
            for w in advs:
                if not compound and t not in _NOT_AFTER_LIES:
                    out.append(("", " lies " + adj + " and " + t + " " + w + "."))
        return tuple(out)
    np = noun_phrase(c)
    plural = c.form == PLURAL or (c.form == ADJ and c.kind == SKY)
    for t in temps:
        for w in nouns:
            if " with " not in np:  # never "with ... with"
                out.append(("It is " + t + " at ", ", with " + np + " and " + w + "."))
            out.append((cap(article(t + " day")) + " at ", " brings " + np + " and " + w + "."))
    verbs = _verbs(c)
    cond_words = c.text.replace("-", " ").split()
    if c.kind == WINDY:
        # the condition is the wind: said once, with how hard it blows ("gusty winds blowing hard")
        cw = content_words(c.text)
        out = []  # not "high winds and a soft breeze": one wind, and how hard it blows
        hows = [h for h in _HOW_HARD[wind_band] if not (content_words(h) & cw)] or list(_HOW_HARD[wind_band][-1:])
        for t in temps:
            for how in hows:
                out.append(("It is " + t + " at ", ", with " + np + " " + how + "."))
    for sg, pl in verbs:
        verb = pl if plural else sg
        stem = verb.split(" ", 1)[0].rstrip("s")[:4]
        if any(w.startswith(stem) for w in cond_words):
            continue  # never "blowing sand blows"
        last = verb.rsplit(" ", 1)[-1]
        ways = hows if c.kind == WINDY else advs
        for w in ways:
            if w.split(" ", 1)[0] == last or "air" in w or w.startswith(stem):
                continue
            sep = ", " if c.kind == WINDY and not w.startswith(("at ", "in ")) else " "
            for i, t in enumerate(temps):
                tail = _TEMP_TAILS[(i + len(w)) % len(_TEMP_TAILS)]
                out.append((cap(np) + " " + verb + " ", sep + w + tail + t + "."))
    if not out:  # never expected: every form above yields phrasings
        out.append(("It is " + temps[0] + " at ", ", with " + np + " and " + nouns[0] + "."))
    prep = _PREP.get(c.kind)
    if prep:
        for t in temps:
            if t in _NOT_AFTER_LIES:
                continue
            for w in advs:
                if w.split(" ", 1)[0] == prep:
                    continue
                out.append(("", " lies " + t + " " + prep + " " + np + (", " if w.startswith("as ") else " ") + w + "."))
    return tuple(out)
