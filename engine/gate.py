"""The reading gate: rules that refuse a text for the reasons people refuse it.

``check_text(place, text, template=None) -> Verdict(accepted, reasons)``. Counting fact words
(:mod:`engine.factcheck`, the quality gate of :mod:`engine.quality`) cannot see meaning: "A river
of clay huddles beside a slow river" keeps every fact word of "A mill of river clay huddles beside
a slow river". These rules look for what blind readers marked down in reviewed texts (see
``docs/gate.md`` for how they were derived and measured). Each reason is ``"<code>: <what>"``,
the code short and stable (:data:`CODES`), the rest a sentence a reviewer can check against the
text.

==================  ==========================================================================
code                refuses
==================  ==========================================================================
subject-lost        the base's subject ("mill") is named only inside the place's name, or the
                    base sentence turned it into something else ("a river of clay",
                    "a mountain of dark basalt", "this ancient stone quarry", "the spring is a
                    sheltered hollow"), or another kind of place is named ("from the market"
                    at an inn)
material-changed    a building material that is not the base's ("stone" walls for a brick fort,
                    "cobblestones" for cob), or the base's material gone altogether
setting-impossible  the place put under water ("sprawls beneath a lazy river")
weather-clash       weather words that cannot both hold, in the text or against the facts:
                    still air and a gale, sun and a thunderstorm, warm and frozen, dry air in a
                    humid place, temperature words two bands from the place's temperature
weather-invented    weather the place does not have: rain or snow in a sandstorm, a tempest
                    without a storm, sunlight under fog, the moon, stars, dawn or dusk
event-reversed      an event told as over or not happening ("the festival has finally ended",
                    "no wedding") while the facts say it is going on
goods-misused       a resource in a role it cannot have: food made of sulfur ("a feast of
                    sulfur"), pilgrims visiting the obsidian, a shortage that "has become a game"
fragment            a sentence (or an "as ..." clause) without a verb ("A weathered outpost, its
                    walls of river clay a testament...", "as the weather overcast")
label               a heading glued in front of a sentence ("Escape:", "Breeze:", "Coconut
                    Trade Caravan Arrived:")
cliche              padding the reviews named ("a testament to", "stark contrast",
                    "unforgiving", "nature's masterpiece", "final resting place")
number              a number read out ("25 degrees", "86 mph", "0.98")
garbled             a word mangled or doubled ("copperwatchtower", "the herds of great
                    herds"), a comma splice of the weather ("..., the weather is clear")
name-lost           the place's name as given is not in the text, or another name stands in
                    its place ("Dry Heat Library" for Crookedmere Library)
base-changed        a word of the template made its opposite before the same word ("a wide
                    canal" made "a narrow canal")
cause-invented      a link between the news and the supplies the data never makes ("...,
                    leaving peat scarce", "due to", "enjoy an abundance of clay")
weather-garbled     weather acting on the wrong thing ("a warm breeze carries a gale", "low
                    cloud ... blow against")
agreement           a plural subject with a singular verb the template does not have
                    ("winds blows", "ferrymen is")
meta                a note about the writing ("This is a continuation of the previous example")
(and, with the codes above: wind words two bands from the place's wind, any wind in still air,
rain that drums in drizzle, "rustling leaves" where the place has no trees, a stone or iron
place that sways, more named padding)
==================  ==========================================================================

What the place's own data says (its name, base, conditions, resources, event summaries) and what
its template says is never held against a text: a text may repeat its template's words. A sentence
of the template, word for word, is never read for a fragment, and the template's own phrases
(a "serves travellers", "cool as ice", "ferrymen is") are not the text's doing.

Pure string work on precompiled patterns; per place, what the rules need (subject, materials,
weather families, the place's own words) is computed once and cached (keyed by the place value,
so the same place gives the same verdict alone or in any batch). Never raises for a valid Place
and any ``str``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .factcheck import TEMP_WORDS, WIND_WORDS, _CONDITION_KEYS, _band_index, stem
from .templates import _TEMP_BANDS, _WIND_BANDS, render_template
from .world import Place

MAX_GATE_CHARS = 20_000

CODES = ("subject-lost", "material-changed", "setting-impossible", "weather-clash", "weather-invented",
         "event-reversed", "goods-misused", "fragment", "label", "cliche", "number", "garbled",
         "name-lost", "base-changed", "cause-invented", "weather-garbled", "agreement", "meta")

# --- word tables ------------------------------------------------------------------------------

def _alt(phrases) -> re.Pattern:
    """One pattern for a list of phrases, longest first, whole words only (a hyphenated word is
    not its parts: "storm-force" is not "storm")."""
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in sorted(set(phrases), key=lambda x: (-len(x), x)))
                      + r")(?![\w-])")


# Kinds of places and landforms a text may turn the subject into.
PLACE_NOUNS = frozenset("""village crossing market watchtower tower harbor harbour mill shrine quarry inn outpost
    farmstead farm mine library bridge fort fortress camp spring grove hall town city castle keep temple chapel
    church monastery abbey tavern manor house hamlet port dock docks lighthouse barn workshop forge smithy
    station post garrison citadel palace cottage hut lodge bazaar square""".split())
# Kinds of places a text may not add: PLACE_NOUNS without the words that are often something else
# ("keep warm", "in spring", "the square", "a trading post", "mine").
NAMED_KINDS = PLACE_NOUNS - frozenset("keep post station square spring house lodge dock docks forge mine camp".split())
LANDFORMS = frozenset("""river mountain mountains hill hills lake sea ocean forest valley cliff canyon desert
    island swamp marsh cave cavern volcano glacier stream creek pond meadow field plain ridge peak""".split())
# Building materials (a word of the base outside this list is not a material).
MATERIALS = frozenset("""stone stones brick bricks timber timbers wood wooden clay basalt plaster fieldstone iron
    marble granite sandstone limestone slate mortar concrete steel metal adobe mud thatch cob cobblestone
    cobblestones cobble cobbles log logs turf sod daub wattle plank planks board boards""".split())
# Material words that are as often something else ("stacked logs", "wooden carts" are not walls).
_LOOSE_MATERIALS = frozenset("log logs plank planks board boards".split())
# A material word and the more general words that may stand for it ("rusty metal" for iron).
MATERIAL_FAMILY = {
    "stone": {"stone", "stones", "rock", "rocks"},
    "fieldstone": {"stone", "stones", "fieldstone", "rock"},
    "basalt": {"stone", "stones", "basalt", "rock"},
    "granite": {"stone", "stones", "granite", "rock"},
    "marble": {"stone", "stones", "marble"},
    "sandstone": {"stone", "stones", "sandstone"},
    "limestone": {"stone", "stones", "limestone"},
    "slate": {"stone", "slate"},
    "timber": {"timber", "timbers", "wood", "wooden", "log", "logs", "plank", "planks", "board", "boards", "beam", "beams"},
    "wood": {"timber", "timbers", "wood", "wooden", "log", "logs", "plank", "planks", "board", "boards"},
    "brick": {"brick", "bricks", "brickwork"},
    "clay": {"clay", "mud", "earth", "adobe"},
    "plaster": {"plaster", "whitewash", "whitewashed"},
    "iron": {"iron", "metal", "steel", "scrap"},
    "steel": {"iron", "metal", "steel"},
    "cob": {"cob", "clay", "mud", "earth"},
    "adobe": {"adobe", "clay", "mud"},
    "mud": {"mud", "clay", "earth"},
}
# Resources (or their last word) a feast can be made of; anything else at a feast is not food.
FOODS = frozenset("""fish coconut coconuts date dates honey mushroom mushrooms grain wheat barley rye oats corn
    apple apples caribou game goat goats cattle rum bread salt eel eels shellfish frog frogs spice spices herb herbs
    wine ale beer mead cheese milk meat venison fruit fruits berry berries nut nuts olive olives egg eggs sheep
    pig pigs pork beef mutton lamb fowl chicken chickens duck ducks crab crabs oyster oysters mussels rice bean
    beans vegetable vegetables cabbage potato potatoes turnip turnips cider tea coffee sugar pepper saffron
    seaweed whale venison reindeer deer boar hare rabbit rabbits pearls-not""".split()) - {"pearls-not"}
_FOOD_ROLE = re.compile(
    r"\b(?:feast|feasts|feasting|banquet|meal|meals|dish|dishes|supper|dinner|breakfast|stew|soup|platter|"
    r"eat|eats|eating|ate|dine|dines|dining|served|serve|serves|tasting|taste of|flavou?red with)\b"
    r"(?:\s+(?:of|on|with|upon|from))?\s+((?:[a-z'’-]+\s*,?\s*(?:and\s+)?){1,6})", re.IGNORECASE)
_VISIT_ROLE = re.compile(r"\b(?:visit|visits|visiting|worship|worships|pray to|prays to|bless|blesses)\s+"
                         r"(?:the\s+)?((?:[a-z'’-]+\s*,?\s*(?:and\s+)?){1,6})", re.IGNORECASE)
_BECOME_ROLE = re.compile(r"\b(?:has become|have become|becomes|became|turned into|turns into|has turned into|"
                          r"is now a|are now a)\b", re.IGNORECASE)

# The review set's clichés: padding readers marked down.
CLICHES = (
    r"\ba testament (?:to|of)\b", r"\bstands? as a testament\b", r"\bstark contrast\b", r"\bunforgiving\b",
    r"\bmasterpiece\b", r"\bindelible mark\b", r"\bmark of time\b", r"\bfinal resting place\b",
    r"\bbeauty of nature\b", r"\bnature'?s (?:own )?beauty\b", r"\b(?:harsh|relentless) (?:and \w+ )?beauty\b",
    r"\bbeauty that is our world\b", r"\bresilience and beauty\b", r"\bto the point where\b",
    r"\bstark reminder\b", r"\bnatural wonder\b", r"\bbearing witness to\b", r"\bforgotten memories\b",
    r"\b(?:ancient|rugged|majestic|timeless|natural|harsh) (?:\w+ )?(?:beauty|grandeur|majesty|splendou?r)\b",
    r"\b(?:relentless )?(?:force|power|fury) of (?:nature|the weather)\b", r"\bpoignant\b", r"\bunforgettable\b",
    r"\bpace of life\b",
    # Padding of the model reviews: stock phrases that say nothing of the place.
    r"\bcreating an? (?:\w+ )?atmosphere\b", r"\batmosphere of (?:\w+ )?(?:foreboding|anticipation|mystery|calm|tension|dread)\b",
    r"\bcausing (?:\w+ )?(?:concern|fear|alarm|worry|panic)\b", r"\bhistorical milestone\b",
    r"\breveal(?:s|ed|ing)? (?:\w+ )?(?:secrets|treasures|mysteries)\b", r"\b(?:secrets|treasures) (?:buried|hidden)\b",
    r"\blives forever\b", r"\bfeast for the senses\b", r"\bcasting (?:long |dark |deep )?shadows\b",
    r"\bendless contrasts?\b", r"\bpainted with (?:the )?colou?rs\b", r"\ba maelstrom of\b",
    r"\bunmatched\b", r"\bgleaming with a mix\b", r"\bcreating an? (?:\w+ ){0,2}sound\b",
)
_CLICHES = re.compile("|".join(f"(?:{p})" for p in CLICHES), re.IGNORECASE)

_REVERSED = re.compile(
    r"\b(?:(?:has|have|had) (?:now |finally |at last |long )?(?:ended|finished|stopped|ceased|passed|subsided|"
    r"receded|dispersed|departed|left|gone|been (?:called off|cancelled|canceled|lifted|cured|repaired))|"
    r"(?:is|are|was|were) (?:now |finally |long |all )?(?:over|ended|finished|cancelled|canceled|called off|gone|done)|"
    r"(?:came|come|comes|coming) to an end|no longer|ended|ceased|called off|cancell?ed)\b", re.IGNORECASE)

_LABEL = re.compile(r"(?:^|(?<=[.!?…]\s))\s*([A-Z][\w'’-]*(?:\s+[A-Za-z][\w'’-]*){0,4})\s*:")
_SENTENCES = re.compile(r"[^.!?…]+(?:[.!?…]+[\"'’”)\]]*|$)")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_DIGIT = re.compile(r"\d+(?:[.,]\d+)?")
_SPELLED_NUMBER = re.compile(
    r"\b(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)"
    r"(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine|point|and))*)\s+"
    r"(?:degrees?|mph|miles? (?:an|per) hour|kilomet(?:re|er)s? (?:an|per) hour|knots?|per ?cent|percent)\b",
    re.IGNORECASE)
_REPEAT_OK = frozenset("there their these those which where while other".split())
_DOUBLED = re.compile(r"\b([a-z]{4,}?)(?:e?s)? of (?:(?:a|an|the|great|many|some|its|their)\s+){0,2}\1(?:e?s)?\b",
                      re.IGNORECASE)
# Two sentences joined by a comma: "..., the weather is clear", "..., their tools have been laid down".
_SPLICE = re.compile(r"\w,\s+(?:the|its|their)\s+(?:[a-z'’-]+\s+){0,2}?(?:is|are|was|were|has|have|had)\s+"
                     r"(?!(?:a|an|the)\b)", re.IGNORECASE)
_OPENERS = frozenset("""as while when whenever though although because since if after before with without under
    in at on beneath above below beside among amid amidst across through along despite during once today now
    tonight here there lately still yet""".split())
# Empty phrases that say nothing about the place.
_EMPTY = re.compile(r"\bthe only (?:one|exception)\b", re.IGNORECASE)
_UNDER_WATER = re.compile(r"\b(?:beneath|underneath|under|below)\s+(?:a|an|the)\s+(?:[a-z-]+\s+){0,2}"
                          r"(?:river|lake|sea|ocean|stream|creek|pond|water|waters)\b", re.IGNORECASE)
_BASE_OF = re.compile(r"\b(?:a|an|the|this|that)\s+((?:[a-z'’-]+\s+){0,3})([a-z]+)\s+of\s+((?:[a-z'’-]+\s+){0,2}[a-z'’-]+)",
                      re.IGNORECASE)
_THIS_KIND = re.compile(r"\bthis\s+(?:[a-z'’-]+\s+){0,3}?([a-z]+)\b", re.IGNORECASE)
_IS_A = r"\b(?:the|this)\s+{subj}\s+(?:is|was|becomes|became)\s+(?:now\s+)?(?:a|an|the)\s+(?:[a-z'’-]+\s+){{0,3}}?([a-z]+)\b"

# Weather: words that cannot hold together (each side a list of phrases).
_STILL = ("still air", "windless", "without a breath of wind", "no wind", "becalmed", "calm", "not a breath of wind",
          "air is still", "air hangs still", "motionless air")
_STORMY_WIND = ("gale", "gales", "tempest", "storm-force", "howling", "hurricane", "gale-force", "strong winds",
                "strong wind", "roaring wind", "hard gusts")
_SUNNY = ("sunny", "sunshine", "sunlight", "sunlit", "cloudless", "clear sky", "clear skies", "blue sky", "blue skies",
          "bright sun", "scorching sun", "blazing sun")
_STORMY_SKY = ("thunderstorm", "thunderstorms", "thunder", "lightning", "tempest", "storm", "storms", "rain", "downpour",
               "hail", "sleet", "snow", "blizzard", "fog", "mist", "drizzle", "monsoon", "overcast")
_HUMID_FAMILIES = {"humid", "rain", "fog", "snow"}
# Haze, smog, smoke and ash are the fog family to the fact checker, but they are dry air: "a dry
# day" under an ash haze is no clash.
_DRY_HAZE = re.compile(r"\b(?:haze|hazy|smog|smoggy|smoke|smoky|ash|dust|dusty)\b")
_DRY_AIR = re.compile(r"\b(?:dry|arid|parched)\s+(?:air|climate|wind|breeze|heat|weather|day)\b|"
                      r"\b(?:air|climate|wind|breeze|weather) (?:is|was|feels) (?:hot and )?(?:dry|arid)\b", re.IGNORECASE)
# Weather a text may not add when the place does not have it: word -> the families that allow it.
_PRECIP = {
    "rain": {"rain", "storm"}, "raining": {"rain", "storm"}, "rainy": {"rain", "storm"}, "rainfall": {"rain", "storm"},
    "drizzle": {"rain"}, "shower": {"rain", "storm"}, "showers": {"rain", "storm"}, "downpour": {"rain", "storm"},
    "snow": {"snow"}, "snowfall": {"snow"}, "snowflakes": {"snow"}, "sleet": {"rain", "snow"},
    "hail": {"hail", "storm"}, "thunder": {"storm"}, "thunderstorm": {"storm"}, "thunderstorms": {"storm"},
    "lightning": {"storm"}, "tempest": {"storm"}, "blizzard": {"snow"}, "fog": {"fog"}, "mist": {"fog", "rain"},
    "rainbow": {"rain"}, "dew": {"fog", "rain", "clear"},
}
_SKY_ALWAYS = ("moon", "moonlight", "moonlit", "stars", "starlight", "starry", "falling star", "shooting star",
               "sunrise", "sunset", "dawn", "dusk", "twilight", "midnight", "morning dew", "morning light",
               "evening light")
_SUNLIGHT = ("sunlight", "sunshine", "sunlit", "sunny", "sunbeams", "sun's rays", "gleaming in the sun",
             "blue sky", "blue skies", "cloudless", "clear sky", "clear skies", "scorching sun", "blazing sun",
             "beating sun", "bright sun", "glaring sun")

_STILL_RX, _STORMY_WIND_RX, _SUNNY_RX, _STORMY_SKY_RX = (_alt(x) for x in (_STILL, _STORMY_WIND, _SUNNY, _STORMY_SKY))
_PRECIP_RX = _alt(_PRECIP)
_SKY_ALWAYS_RX = _alt(_SKY_ALWAYS)
_SUNLIGHT_RX = _alt(_SUNLIGHT)
_TEMP_BAND = {p: b for b, ps in enumerate(TEMP_WORDS) for p in ps}
# Similes that name a band the fact checker's words do not ("cool as ice" is freezing, not cool).
_TEMP_BAND.update({"cool as ice": 1, "cold as ice": 1, "chilly as ice": 1})
_TEMP_RX = _alt(_TEMP_BAND)
_AMBIGUOUS_TEMP = frozenset("fresh crisp heat frost ice icy temperate chill polar glacial rime warmth frozen".split())
_WEATHER_NEXT = frozenset("""and air day days breeze wind winds morning evening night nights weather with under in at
    around as but though while on gale today here there""".split())
_NEXT_WORD = re.compile(r"[\s,]*([a-z'-]+)")

# Verbs (finite forms) for the fragment rule. A text's sentence needs one of these, or a word
# formed from a lemma below (+s, +es, +ed, +d), or an irregular form.
_AUX = frozenset("""is are was were be am 's has have had do does did can could will would shall should may might must
    isn't aren't wasn't weren't hasn't haven't hadn't don't doesn't didn't can't couldn't won't wouldn't
    it's there's here's that's what's""".split())
_LEMMAS = """abound abut add adjoin afflict age ail alarm anchor appear arrive ask assemble attack attract bake bang
    bargain bark barter batter beam bear beat become begin belong bend berth besiege billow bind bite blaze
    bleach bleat bloom blossom blow boast boil border bounce brew brim bring broil build burn burst bustle buy
    buzz call carry carve catch celebrate change chant char chase chatter cheer chill choke circle clamber
    clatter climb cling close collapse come command contain continue cook cough cover crack cram crawl creak
    creep crest cross crouch crow crowd crown crumble cry curl curve cut dance darken dart defend depart descend
    die dig disappear discover dock dominate dot drape draw drench drift drink drip drive droop drop drown drum
    dry dwell dwindle echo eddy edge empty encircle end endanger endure export expose extend fade fall feast
    feature feel ferry fetch fill find finish flake flap flash flicker flit float flock flood flourish flow
    flutter fly fold follow freeze frighten front gather get give glare glaze gleam glide glimmer glint glisten
    glitter glow gnaw go govern graze greet grind grip groan grow grumble gush gust gut haggle hang happen
    harden haul haunt heal hear heave hew hide hiss hold hop hope hover howl huddle hug hum hunch hunt hurry
    import improve include infect jam join journey jump jut keep kill kneel knit know labor labour lack lap lash
    last laugh lay lead lean leap leave let lie lift linger litter live load lock look loom loot lose make march
    mark marry meander meet melt menace mend migrate moan moor mourn move murmur mutter need nest nestle numb
    nurse obscure occupy offer ooze open overflow overhang overlook oversee pack paddle parade pass patrol
    patter peel pelt pepper perch persist picket pile pillage plague plan play plunder point pound pour pray
    press promise protect protest protrude provide pull push put quake quarantine radiate rage raid rattle reach
    rear rebuild recede recover reflect refuse remain repair rest return reveal ripen ripple rise roam roar
    roast roll roost rot row rule rumble run rush rust rustle sack sag sail say scale scare scatter scent scorch
    scramble scream scurry sear see seem seep sell send serve set settle sew shake shape share shelter shimmer
    shine shiver shout show shriek shrink shudder sicken sigh sing sink sit skip skirt slam slay sleep slip
    slope slump smell smother smoulder snake soak soar sound span sparkle speak spill spin splash split sprawl
    spread squat stack stand stare start stay steam stick sting stir stitch stop straddle stream stretch strike
    stroll suffer surround survive swamp swarm sway swear sweep swell swelter swirl take talk taste tear teem
    tell tend thaw thicken thin threaten thrive throng throw tilt toast topple tower travel trek tremble trickle
    trouble try tumble turn twinkle twist uncover unearth unload vanish vow wail wait walk wander want warm warn
    wash watch wave wear weave wed weep welcome whine whip whisper whistle wilt wither work worry worsen wrap
    yield""".split()
_IRREGULAR = """arose began bent bit blew bore bought broke brought built burnt came caught clung crept dealt did drew
    drove dug fell felt fled flew flung forgot found froze gave got grew hung heard held hid kept knew laid led
    left lay lit lost made meant met paid put ran rang rode rose said sang sank sat saw shone shook shot shut slept
    slid sold sought spoke spent spread sprang stood stole stuck struck stung swept swore swung swears swear
    taught tore thought threw told took understood went woke won wore wove wrote""".split()


def _forms(lemma: str) -> set[str]:
    out = {lemma}
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        out.add(lemma + "es")
    elif lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        out.add(lemma[:-1] + "ies")
        out.add(lemma[:-1] + "ied")
    else:
        out.add(lemma + "s")
    if lemma.endswith("e"):
        out.add(lemma + "d")
    elif not lemma.endswith("y") or lemma[-2:-1] in "aeiou":
        out.add(lemma + "ed")
        if len(lemma) <= 4 and lemma[-1] in "bdgmnprt" and lemma[-2:-1] in "aeiou" and lemma[-3:-2] not in "aeiou":
            out.add(lemma + lemma[-1] + "ed")
    return out


VERB_FORMS = frozenset(set().union(*(_forms(v) for v in _LEMMAS)) | set(_IRREGULAR) | _AUX)
# Bare lemmas that are far more often adjectives in a place's text ("warm and light breeze"):
# they never make a sentence a sentence on their own.
_ADJECTIVE_LEMMAS = frozenset("warm dry chill numb thin empty open close cool clear".split())
# Words that look like verb forms above but, after a determiner, are nouns ("the walls", "its
# marks"): a fragment needs none of the lexicon's forms, so these only matter after "a/the/its".
_DETERMINERS = frozenset("a an the its their this that these those his her our every each some no".split())
_SUBORDINATE = re.compile(r"(?:^|,\s*|\s)(?:as|while|whereas|because|though|although)\s+"
                          r"(?=(?:the|a|an|its|their|every|each)\b)([^,;:.!?]*)", re.IGNORECASE)
_REL_CUT = re.compile(r",?\s+\b(?:where|which|who|whose|whom|that|when|while|as|with|under|in|at|on|beside|"
                      r"above|below|among|along|amid|amidst)\b", re.IGNORECASE)


# --- the verdict ------------------------------------------------------------------------------

@dataclass
class Verdict:
    accepted: bool
    reasons: list[str] = field(default_factory=list)  # "<code>: <explanation>", in rule order

    @property
    def codes(self) -> list[str]:
        return [r.split(":", 1)[0] for r in self.reasons]

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, d) -> "Verdict | None":
        if not isinstance(d, dict):
            return None
        reasons = d.get("reasons") or []
        return cls(bool(d.get("accepted")), [str(r) for r in reasons] if isinstance(reasons, list) else [])


# --- what a place allows ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Facts:
    subject: str | None  # the base's head noun ("mill"), lower-case; None when not found
    materials: tuple[str, ...]  # the base's material words ("clay")
    allowed_materials: frozenset[str]  # material words the text may use
    words: frozenset[str]  # every word (and stem) of the place's data and its template
    families: frozenset[str]  # weather families of the conditions
    temp_band: int
    name_words: tuple[str, ...]  # lower-case words of the name
    name_rx: re.Pattern | None  # the name (and its words run together), to blank out
    resources: tuple[tuple[str, bool], ...]  # (resource name lower-case, is food)
    events: tuple[frozenset[str], ...]  # per event: its stemmed words (type words, synonyms, summary words)
    event_neg: tuple[re.Pattern | None, ...]  # per event: its type words negated ("no festival")
    is_a: re.Pattern | None  # "the <subject> is a ..."
    blocked: str  # the conditions and the resource names, lower-case (their words are facts, not weather talk)
    tpl_weather: dict  # what the template says of the weather (kind -> phrases)
    event_text: str  # the event summaries, lower-case
    template: str


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _first_sentence(text: str) -> str:
    m = _SENTENCES.search(text)
    return m.group(0) if m else text


def _subject(place: Place) -> str | None:
    first = _words(_first_sentence(place.base))
    name = _words(place.name)
    # The name's last word when the base names it ("Cindermoor Mill": "A mill of river clay ...").
    for w in reversed(name):
        if w in first and w in PLACE_NOUNS | LANDFORMS:
            return w
    for w in name[::-1]:
        if w in first and len(w) >= 3:
            return w
    for i, w in enumerate(first[:-1]):
        if w in ("this", "a", "an", "the") and first[i + 1] in PLACE_NOUNS:
            return first[i + 1]
    for w in first:
        if w in PLACE_NOUNS:
            return w
    return None


def _is_food(rtype: str) -> bool:
    ws = _words(rtype)
    return bool(ws) and (ws[-1] in FOODS or stem(ws[-1]) in FOODS or " ".join(ws) in FOODS)


@lru_cache(maxsize=8192)
def _facts(place: Place, template: str) -> _Facts:
    from .factcheck import _event_words

    subject = _subject(place)
    first = _words(_first_sentence(place.base))
    mats = tuple(dict.fromkeys(w for w in first if w in MATERIALS and w != subject))
    allowed: set[str] = set()
    for m in mats:
        allowed |= MATERIAL_FAMILY.get(stem(m), {m, stem(m)}) | {m, stem(m)}
    data = " ".join([place.name, place.base, place.conditions, *(r.type for r in place.resources),
                     *(f"{e.type.replace('_', ' ')} {e.summary}" for e in place.events), template])
    words: set[str] = set()
    for w in _words(data):
        words.add(w)
        words.add(stem(w))
        for piece in w.split("-"):
            words.add(piece)
            words.add(stem(piece))
    for w in words & MATERIALS:
        allowed.add(w)
        allowed.add(stem(w))
    fams = set()
    for w in _words(place.conditions):
        f = _CONDITION_KEYS.get(stem(w)) or _CONDITION_KEYS.get(w)
        if f:
            fams.add(f)
    name_words = tuple(_words(place.name))
    name_rx = None
    if name_words:
        parts = [re.escape(w) for w in re.findall(r"[^\W_]+(?:['’\-][^\W_]+)*", place.name)]
        name_rx = re.compile(r"\b(?:the\s+)?" + r"[\s-]*".join(parts) + r"(?:['’]s)?\b", re.IGNORECASE)
    events, negs = [], []
    for e in place.events:
        types, content = _event_words(e.type, e.summary)
        events.append(frozenset(types) | {stem(w) for w in _words(e.summary) if len(w) >= 5})
        negs.append(re.compile(r"\b(?:no|not|never|without|nor)\s+(?:a\s+|the\s+|any\s+|more\s+)?(?:"
                               + "|".join(re.escape(t) for t in types) + r")\w*\b", re.IGNORECASE) if types else None)
    is_a = re.compile(_IS_A.format(subj=re.escape(subject)), re.IGNORECASE) if subject else None
    blocked = " ".join([place.conditions.lower(), place.base.lower(), *(r.type.lower() for r in place.resources)])
    tpl = template.lower()
    tpl_weather = {"still": _found(_STILL_RX, tpl), "stormy": _found(_STORMY_WIND_RX, tpl),
                   "sunny": _found(_SUNNY_RX, tpl), "wet": _found(_STORMY_SKY_RX, tpl),
                   "temps": {p for _b, p in _temp_hits(tpl, "")}, "sun": set(_found(_SUNLIGHT_RX, tpl))}
    return _Facts(subject, mats, frozenset(allowed), frozenset(words), frozenset(fams),
                  _band_index(place.temperature, _TEMP_BANDS),
                  name_words, name_rx, tuple((" ".join(_words(r.type)), _is_food(r.type)) for r in place.resources),
                  tuple(events), tuple(negs), is_a, blocked, tpl_weather,
                  " ".join(e.summary.lower() for e in place.events), template)


# --- helpers ----------------------------------------------------------------------------------

def _found(rx: re.Pattern, low: str) -> list[str]:
    return list(dict.fromkeys(rx.findall(low)))


def _in_template(phrase: str, f: "_Facts") -> bool:
    """The template says this, word for word (case and spacing aside): not the text's doing."""
    return " ".join(phrase.lower().split()) in " ".join(f.template.lower().split())


def _quote(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return "'" + (s if len(s) <= n else s[: n - 1].rstrip() + "…") + "'"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.findall(text) if s.strip()]


def _has_verb(words: list[str], adjectives: bool = False) -> bool:
    """Whether a listed verb form is in ``words``; with ``adjectives``, "warm", "dry", "clear" and
    the like count only before a determiner ("winds clear the fog", not "warm and light breeze")."""
    for i, w in enumerate(words):
        if w in _AUX:
            return True
        if adjectives and w in _ADJECTIVE_LEMMAS:  # "warm and light", "clear skies"; but "winds clear the waters"
            if (words[i + 1] if i + 1 < len(words) else "") in _DETERMINERS and i and words[i - 1] not in _DETERMINERS:
                return True
            continue
        if w in VERB_FORMS:
            prev = words[i - 1] if i else ""
            if prev in _DETERMINERS or prev == "of":
                continue  # "the walls", "a mark", "of stores": a noun here
            return True
    return False


def _temp_hits(low: str, blocked: str) -> list[tuple[int, str]]:
    """(band, phrase) of every temperature word, longest phrase first ("deathly cold" is not
    "cold"), leaving out the words of the base, the conditions and the resource names ("hot
    springs", "temperate forest"), and words that name something else before a noun ("fresh
    bread", "the heat of the forge")."""
    out = []
    for m in _TEMP_RX.finditer(low):
        p = m.group(0)
        if p in blocked:
            continue
        if p in _AMBIGUOUS_TEMP:
            nxt = _NEXT_WORD.match(low, m.end()) if low[m.end():m.end() + 1] not in ",.;:!?" else None
            if nxt and nxt.group(1) not in _WEATHER_NEXT:
                continue
        out.append((_TEMP_BAND[p], p))
    return out


# --- the rules --------------------------------------------------------------------------------

def _subject_rules(place: Place, f: _Facts, text: str, low: str, bare: str, out: list[str]) -> None:
    subj = f.subject
    base_first = " ".join(_first_sentence(place.base).split()).lower()
    # the base's own opening, word for word: its subject is there as the world wrote it
    verbatim = bool(base_first) and base_first in " ".join(text.lower().split())
    if subj:
        words = _words(bare)
        if subj not in words and stem(subj) not in {stem(w) for w in words} and not verbatim:
            # The name stands for the subject only in a sentence that also carries the base
            # (its material or its setting).
            ok = False
            for s in _sentences(text):
                if f.name_rx is not None and f.name_rx.search(s):
                    if set(_words(f.name_rx.sub(" ", s))) & f.allowed_materials:
                        ok = True
            if not ok:
                said = _first_sentence(text)
                out.append(f"subject-lost: the base's subject '{subj}' is missing (only in the name); "
                           f"the text says {_quote(said)}")
                return
        for m in _BASE_OF.finditer(bare):
            noun, what = m.group(2).lower(), m.group(3).lower()
            if noun == subj or noun not in PLACE_NOUNS | LANDFORMS or _in_template(m.group(0), f):
                continue
            if set(_words(what)) & (f.allowed_materials | MATERIALS):
                out.append(f"subject-lost: the {subj} became {_quote(m.group(0))}")
                return
        for m in _THIS_KIND.finditer(bare):
            noun = m.group(1).lower()
            if noun != subj and noun in NAMED_KINDS and noun not in f.words and not _in_template(m.group(0), f):
                out.append(f"subject-lost: the {subj} is called {_quote(m.group(0))}")
                return
        m = f.is_a.search(bare) if f.is_a is not None else None
        if (m and m.group(1).lower() != subj and m.group(1).lower() in PLACE_NOUNS | LANDFORMS
                and not _in_template(m.group(0), f)):
            out.append(f"subject-lost: the {subj} is redefined as {_quote(m.group(0))}")
            return
    for w in dict.fromkeys(_words(bare)):
        if w in NAMED_KINDS and w != subj and w not in f.words and stem(w) not in f.words:
            out.append(f"subject-lost: names a {w} the place is not (the base: {_quote(_first_sentence(place.base))})")
            return


def _material_rules(place: Place, f: _Facts, bare: str, out: list[str]) -> None:
    words = _words(bare)
    if f.materials:
        others = [w for w in dict.fromkeys(words) if w in MATERIALS and w not in _LOOSE_MATERIALS and w not in f.allowed_materials
                  and stem(w) not in f.allowed_materials and w not in f.words]
        if others:
            out.append(f"material-changed: the base is built of {' and '.join(f.materials)}; the text says "
                       + ", ".join(f"'{w}'" for w in others))
            return
        if not set(words) & f.allowed_materials:
            out.append(f"material-changed: the base's material ({' and '.join(f.materials)}) is gone")
            return
    m = _UNDER_WATER.search(bare)
    if m and m.group(0).lower() not in f.template.lower():
        out.append(f"setting-impossible: the place is put {_quote(m.group(0))}")


def _weather_rules(place: Place, f: _Facts, low: str, out: list[str]) -> None:
    tpl = f.tpl_weather
    # Still air against a gale, sun against a storm, in the text itself (a pair the template
    # itself has is not held against the text).
    still, stormy = _found(_STILL_RX, low), _found(_STORMY_WIND_RX, low)
    if still and stormy and not (tpl["still"] and tpl["stormy"]):
        out.append(f"weather-clash: '{still[0]}' and '{stormy[0]}' in one text")
        return
    sunny = [p for p in _found(_SUNNY_RX, low) if p not in f.blocked]
    wet = [p for p in _found(_STORMY_SKY_RX, low) if p not in f.event_text]  # "last night's storm" is an event
    if sunny and wet and not (tpl["sunny"] and tpl["wet"]):
        out.append(f"weather-clash: '{sunny[0]}' and '{wet[0]}' in one text")
        return
    temps = _temp_hits(low, f.blocked)
    bands = sorted({b for b, _ in temps})
    if bands and bands[-1] - bands[0] >= 2:
        lo = next(p for b, p in temps if b == bands[0])
        hi = next(p for b, p in temps if b == bands[-1])
        if not (lo in tpl["temps"] and hi in tpl["temps"]):
            out.append(f"weather-clash: '{lo}' and '{hi}' in one text")
            return
    far = [(b, p) for b, p in temps if abs(b - f.temp_band) >= 2 and p not in tpl["temps"]]
    if far:
        out.append(f"weather-clash: '{far[0][1]}' at {place.temperature:g}°C")
        return
    humid = f.families & _HUMID_FAMILIES
    if humid == {"fog"} and _DRY_HAZE.search(place.conditions.lower()):
        humid = set()
    if humid:
        m = _DRY_AIR.search(low)
        if m:
            out.append(f"weather-clash: {_quote(m.group(0))} in {place.conditions} conditions")
            return
    # Invented weather: what the conditions do not have and the place's data never says.
    for w in _found(_PRECIP_RX, low):
        if not (_PRECIP[w] & f.families) and w not in f.words and stem(w) not in f.words:
            if w == "dew" and "morning dew" not in low:
                continue
            out.append(f"weather-invented: '{w}' but the conditions are {place.conditions}")
            return
    sky = [p for p in _found(_SKY_ALWAYS_RX, low) if not all(x in f.words for x in p.split())]
    if sky:
        out.append(f"weather-invented: '{sky[0]}' is not in the place's data")
        return
    if not f.families & {"clear", "heat"}:
        sun = [p for p in _found(_SUNLIGHT_RX, low) if p not in tpl["sun"]]
        if sun:
            out.append(f"weather-invented: '{sun[0]}' but the conditions are {place.conditions}")


def _event_rules(place: Place, f: _Facts, text: str, out: list[str]) -> None:
    tpl = f.template.lower()
    for s in _sentences(text):
        ls = s.lower()
        m = _REVERSED.search(ls)
        if not m or m.group(0) in tpl:
            continue
        sw = {stem(w) for w in _words(ls)}
        for e, words in zip(place.events, f.events):
            if sw & words:
                out.append(f"event-reversed: {_quote(m.group(0))} but the {e.type.replace('_', ' ')} is going on "
                           f"({_quote(e.summary, 50)})")
                return
    for e, rx in zip(place.events, f.event_neg):
        m = rx.search(text) if rx is not None else None
        if m and m.group(0).lower() not in tpl:
            out.append(f"event-reversed: {_quote(m.group(0))} but the {e.type.replace('_', ' ')} is going on")
            return


def _resource_words(f: _Facts, span: str) -> list[tuple[str, bool]]:
    ws = _words(span)
    sw = {stem(w) for w in ws}
    hits = []
    for name, food in f.resources:
        parts = name.split()
        if parts and all(stem(p) in sw for p in parts):
            hits.append((name, food))
    return hits


def _goods_rules(place: Place, f: _Facts, low: str, out: list[str]) -> None:
    if not f.resources:
        return
    for m in _FOOD_ROLE.finditer(low):
        if _in_template(m.group(0), f):
            continue
        bad = [n for n, food in _resource_words(f, m.group(1)) if not food]
        if bad:
            out.append(f"goods-misused: {', '.join(bad)} served as food ({_quote(m.group(0))})")
            return
    for m in _VISIT_ROLE.finditer(low):
        if _in_template(m.group(0), f):
            continue
        hits = _resource_words(f, m.group(1))
        if hits:
            out.append(f"goods-misused: {hits[0][0]} as a place to visit ({_quote(m.group(0))})")
            return
    for s in _sentences(low):
        m = _BECOME_ROLE.search(s)
        if m and _in_template(s[max(0, m.start() - 30): m.end() + 30].strip(), f):
            continue  # the world's own words ("the copra shed is now a marina")
        if m and _resource_words(f, s[: m.start()]):
            out.append(f"goods-misused: {_resource_words(f, s[: m.start()])[0][0]} turned into something else "
                       f"({_quote(s[max(0, m.start() - 30): m.end() + 30])})")
            return


def _form_rules(place: Place, f: _Facts, text: str, out: list[str]) -> None:
    for m in _LABEL.finditer(text):
        head = m.group(1)
        ws = head.split()
        lead = " ".join(ws).lower()
        if lead and lead + ":" in f.template.lower():
            continue
        if len(ws) <= 2 or all(w[:1].isupper() for w in ws):
            out.append(f"label: {_quote(head + ':')} in front of a sentence")
            break
    for said in _sentences(text):
        if _in_template(said, f):
            continue  # the template's own sentence, word for word
        s = f.name_rx.sub(" ", said) if f.name_rx is not None else said  # a name is no verb ("... Mill")
        ws = _words(s)
        if len(ws) >= 3 and not _has_verb(ws, adjectives=True):
            out.append(f"fragment: no verb in {_quote(said)}")
            break
        main = _REL_CUT.split(s, maxsplit=1)[0]
        mw = _words(main)
        if len(mw) >= 3 and mw[0] in _DETERMINERS and not _has_verb(mw) and "," in s[: len(main) + 2]:
            out.append(f"fragment: no verb in {_quote(main)}")
            break
        bad = None
        for cm in _SUBORDINATE.finditer(s):
            cw = _words(cm.group(1))
            if len(cw) >= 2 and not _has_verb(cw):
                bad = cm.group(0).strip(" ,")
                break
        if bad:
            out.append(f"fragment: no verb in {_quote(bad)}")
            break


def _style_rules(place: Place, f: _Facts, text: str, low: str, out: list[str]) -> None:
    tpl = f.template.lower()
    for m in _CLICHES.finditer(low):
        if m.group(0) not in tpl:
            out.append(f"cliche: {_quote(m.group(0))}")
            break
    data = " ".join([place.name, place.base, place.conditions, *(r.type for r in place.resources),
                     *(e.summary for e in place.events)])  # the world's own words may hold a number
    nums = [n for n in _DIGIT.findall(text) if n not in data]
    if nums:
        out.append(f"number: '{nums[0]}' read out")
    else:
        low_data = data.lower()
        m = next((m for m in _SPELLED_NUMBER.finditer(text) if m.group(0).lower() not in low_data), None)
        if m:
            out.append(f"number: {_quote(m.group(0))} read out")


def _garble_rules(place: Place, f: _Facts, text: str, low: str, bare: str, out: list[str]) -> None:
    # A name word run into another ("copperwatchtower" for Copperwatch Watchtower).
    for w in _words(bare):
        if w in f.words or len(w) < 6:
            continue
        for nw in f.name_words:
            if len(nw) >= 4 and w.startswith(nw) and w != nw and not w[len(nw):] in ("s", "'s", "es"):
                out.append(f"garbled: '{w}' (the name is '{place.name}')")
                return
    tpl = f.template.lower()
    m = _DOUBLED.search(bare)
    if m and m.group(0).lower() not in tpl:
        out.append(f"garbled: {_quote(m.group(0))}")
        return
    # One word twice in a row or nearly ("weathered and weathered", "sheltered by a sheltered
    # hollow", "a swampy swamp").
    for clause in re.split(r"[.;!?]", bare):  # within a clause: "pršut is plentiful; the pršut fair" is two
        ws = _words(clause)
        for i, w in enumerate(ws):
            if len(w) < 5 or w in _REPEAT_OK:
                continue
            for j in range(i + 1, min(len(ws), i + 4)):
                v = ws[j]
                if len(v) >= 5 and (v == w or v.startswith(w[:5]) and (v.startswith(w) or w.startswith(v))):
                    said = " ".join(ws[i:j + 1])
                    if said not in " ".join(_words(f.template.lower())):
                        out.append(f"garbled: '{said}'")
                        return
    # A name of two or more words written all in lower case ("highholme spring").
    if f.name_rx is not None and len(f.name_words) >= 2:
        for m in f.name_rx.finditer(text):
            if m.group(0).islower() and m.group(0) not in f.template:
                out.append(f"garbled: the name written {_quote(m.group(0))}")
                return
    m = next((m for m in _EMPTY.finditer(text) if not _in_template(text[max(0, m.start() - 20): m.end() + 20], f)), None)
    if m:  # the world's own "the only one in the Azores" is not the text's doing
        out.append(f"garbled: an empty phrase {_quote(text[m.start(): m.end() + 30])}")
        return
    for said in _sentences(text):
        for m in _SPLICE.finditer(said):
            # A splice only after a whole clause: not after an opening phrase ("Today, the day
            # is...", "As the gale howls, the air is...", "In the calm, its walls are...").
            lead = _words(said[: m.start() + 1])
            if (len(lead) >= 3 and lead[0] not in _OPENERS and _has_verb(lead)
                    and said[m.start():m.end()].lower() not in tpl):
                out.append(f"garbled: a comma splice ({_quote(said[m.start() + 1:].strip(' ,'))})")
                return


# --- what the model changed -------------------------------------------------------------------
# These rules read only what a text says and its template does not: a phrase the template has is
# never held against the text.

# Words a rewrite may not swap for one another in the base ("a wide canal" made "narrow").
_OPPOSITES = {frozenset(p.split("/")) for p in """wide/narrow deep/shallow high/low tall/short large/small big/small
    old/new old/young long/short heavy/light dark/bright wet/dry hot/cold warm/cool east/west north/south
    upper/lower above/below inside/outside busy/quiet empty/full rich/poor""".split()}
# A link between the news and the supplies, or a reason, that the place's data never gives.
_CAUSES = re.compile(
    r"\bleaving (?:behind )?(?:[a-z'-]+ ){0,3}?(?:scarce|little|few|short|low|nothing|empty|bare)\b|"
    r"\bdue to\b|\bbecause of\b|\bas a result\b|\bthanks to\b|\bwhich is why\b|"
    r"\benjoy(?:s|ing|ed)? (?:an? )?(?:abundance|plenty|wealth|bounty) of\b", re.IGNORECASE)
# Weather acting on the wrong thing: a wind that carries a gale, cloud or fog that blows.
_WIND_CARRIES = re.compile(r"\b(?:breeze|wind|winds)\b[^.;:]{0,30}?\bcarr(?:y|ies|ied|ying)\b"
                           r"[^.;:]{0,25}?\b(?:gale|gales|tempest|hurricane)\b", re.IGNORECASE)
_CLOUD_BLOWS = re.compile(r"\b(?:cloud|clouds|fog|mist|smog|haze)\b((?:\s+[a-z'-]+){0,5}?)\s+blow(?:s|ing)?\b", re.IGNORECASE)
_HARD_RAIN = re.compile(r"\b(?:drums?|drumming|drummed|pounds?|pounding|lash(?:es|ing)?|pelts?|pelting|"
                        r"hammers?|hammering|batters?|battering)\b", re.IGNORECASE)
_LIGHT_RAIN = re.compile(r"\b(?:light rain|drizzle|showers|rain at times|light showers)\b")
# Wind words by band (the fact checker's), and the gate's own: "quiet" is no word for a gale.
_WIND_BAND = {p: b for b, ps in enumerate(WIND_WORDS) for p in ps if p not in ("breeze",)}
_WIND_BAND.update({"quiet": 0, "gentle": 1, "gently": 1, "fierce gust": 4, "fierce gusts": 4, "is sheltered by": 0,
                   "are sheltered by": 0})
_WIND_RX = _alt(_WIND_BAND)
_ANY_WIND = re.compile(r"\b(?:wind|winds|gust|gusts|breeze|breezes|windy|breezy)\b")
_NEGATED = re.compile(r"\b(?:no|not|without|nor|never|lacks?|lacking|free of)\b(?:\s+[a-z'-]+){0,3}\s*$")
# A plural subject with a singular verb ("winds blows", "ferrymen is").
_PLURALS = frozenset("""winds skies clouds people children workers families herds waters walls houses roofs streets
    storms rains gales hills fields goods supplies stores traders miners pilgrims bandits riders gunmen men women
    villagers farmers fishermen ferrymen boatmen merchants travellers travelers stones bricks""".split())
_SINGULAR_VERBS = frozenset({"is", "was", "has", "isn't", "wasn't", "hasn't", "doesn't", "does"}
                            | {w for v in _LEMMAS for w in _forms(v) if w.endswith("s") and w != v})
_PAIR = re.compile(r"(?=\b([a-z'-]+) ([a-z'-]+)\b)")
_META = re.compile(r"\b(?:this is a continuation|the previous example|as an ai\b|here is (?:a|the|your) "
                   r"(?:rewritten|revised|new|improved)|in this (?:description|example|rewrite))", re.IGNORECASE)


# Leaves and trees where the place's data has none ("rustling leaves" at an iron camp).
_LEAVES = re.compile(r"\b(?:rustling|falling|fallen|autumn|green) leaves\b|\bleaves rustle\b", re.IGNORECASE)
_TREE_WORDS = frozenset("""leaf leaves tree trees forest forests grove groves wood woods woodland orchard orchards
    willow willows birch pine pines oak oaks palm palms reed reeds cane canebrakes thicket jungle vines""".split())
# A building of stone, brick, iron, clay or plaster does not sway.
_RIGID = frozenset("stone stones brick bricks iron steel basalt granite marble sandstone limestone fieldstone clay "
                   "plaster adobe cob concrete slate".split())
_SWAYS = r"\b(?:the {subj}|it)\s+(?:is\s+|was\s+|to\s+)?(?:sways|swaying|sway|swayed|shivers|shivering|shiver|totters|tottering)\b"


def _new(phrase: str, f: _Facts) -> bool:
    """The phrase is the text's own: neither the template nor the place's data says it."""
    p = " ".join(phrase.lower().split())
    return p not in " ".join(f.template.lower().split()) and p not in f.blocked


def _name_rules(place: Place, f: _Facts, text: str, out: list[str]) -> None:
    name = " ".join(place.name.split())
    if not name or name not in f.template or name in text:
        return
    last = re.escape(name.split()[-1])
    m = re.search(r"(?:\b[A-Z][\w'’-]*\s+){1,3}" + last + r"\b", text)
    if m and m.group(0) != name:
        out.append(f"name-lost: the place is called {_quote(m.group(0))}; its name is '{name}'")
    else:
        out.append(f"name-lost: the place's name '{name}' is not in the text")


def _base_rules(place: Place, f: _Facts, text: str, out: list[str]) -> None:
    """A word of the template swapped for its opposite before the same word ("a wide canal" made
    "a narrow canal"), or the head noun of the template's opening gone from the text's opening
    ("A small river landing of mud wharves" made "A small river with mud wharves")."""
    tw, xw = _words(f.template), _words(text)
    tset, xset = set(tw), set(xw)
    after = {}
    for i, a in enumerate(tw[:-1]):
        after.setdefault(a, set()).add(tw[i + 1])
    for j, b in enumerate(xw[:-1]):
        if b in tset:
            continue
        for pair in _OPPOSITES:
            if b in pair:
                (a,) = pair - {b}
                if a not in xset and xw[j + 1] in after.get(a, ()):
                    out.append(f"base-changed: '{a} {xw[j + 1]}' in the base became '{b} {xw[j + 1]}'")
                    return
    t1, x1 = _words(_first_sentence(f.template)), _words(_first_sentence(text))
    if len(t1) < 4 or len(x1) < 2 or t1[0] not in _DETERMINERS or t1[:2] != x1[:2]:
        return
    for k in range(1, min(5, len(t1) - 1)):
        nxt = t1[k + 1]
        if nxt in ("of", "with") or (nxt in VERB_FORMS and nxt not in _ADJECTIVE_LEMMAS):
            head = t1[k]
            if head not in x1 and stem(head) not in {stem(w) for w in x1} and head not in _words(place.name):
                out.append(f"subject-lost: the base's '{' '.join(t1[: k + 1])}' is gone from the opening "
                           f"({_quote(_first_sentence(text))})")
            return


def _changed_rules(place: Place, f: _Facts, text: str, low: str, bare: str, out: list[str]) -> None:
    m = _META.search(text)
    if m:
        out.append(f"meta: a note about the writing, not the place ({_quote(m.group(0))})")
    for m in _CAUSES.finditer(bare):
        if _new(m.group(0), f):
            s = bare[max(0, m.start() - 30): m.end() + 25]
            out.append(f"cause-invented: {_quote(m.group(0))} links what the data does not link ({_quote(s)})")
            break
    # Wind words against the place's wind (two bands apart), or any wind in still air.
    band = _band_index(place.wind_speed, _WIND_BANDS)
    tpl = " ".join(f.template.lower().split())
    for m in _WIND_RX.finditer(bare):
        p = m.group(0)
        if p in tpl or p in f.blocked or _NEGATED.search(bare[: m.start()]):
            continue
        if p in ("gentle", "gently") and not re.match(r"\s+(?:breeze|wind|winds|breezes|blow|blows|stir|stirs|sway)", bare[m.end():]):
            continue
        if abs(_WIND_BAND[p] - band) >= 2:
            out.append(f"weather-clash: '{p}' in a {place.wind_speed:g} mph wind")
            break
    else:
        if band == 0 and not any(not _NEGATED.search(tpl[: w.start()]) for w in _ANY_WIND.finditer(tpl)):
            for m in _ANY_WIND.finditer(bare):
                if not _NEGATED.search(bare[: m.start()]):
                    out.append(f"weather-clash: '{m.group(0)}' in still air ({place.wind_speed:g} mph)")
                    break
    for rx in (_WIND_CARRIES, _CLOUD_BLOWS):
        for m in rx.finditer(bare):
            if rx is _CLOUD_BLOWS and any(w in VERB_FORMS or w in ("as", "while", "when", "where") for w in _words(m.group(1))):
                continue
            if _new(m.group(0), f):
                out.append(f"weather-garbled: {_quote(m.group(0))}")
                break
        else:
            continue
        break
    if _LIGHT_RAIN.search(place.conditions.lower()):
        for m in _HARD_RAIN.finditer(bare):
            if _new(m.group(0), f):
                out.append(f"weather-clash: rain that {_quote(m.group(0))} in {place.conditions}")
                break
    m = _LEAVES.search(bare)
    if m and _new(m.group(0), f) and not (f.words & _TREE_WORDS):
        out.append(f"weather-invented: {_quote(m.group(0))} but the place has no trees")
    if f.subject and set(f.materials) & _RIGID:
        m = re.search(_SWAYS.format(subj=re.escape(f.subject)), bare, re.IGNORECASE)
        if m and _new(m.group(0), f):
            out.append(f"setting-impossible: the {f.subject} of {' and '.join(f.materials)} {_quote(m.group(0))}")
    for m in _PAIR.finditer(low):
        a, b = m.group(1), m.group(2)
        if (a in _PLURALS or (a.endswith("men") and len(a) > 5)) and b in _SINGULAR_VERBS:
            if " of " in low[max(0, m.start() - 14): m.start() + 1]:
                continue  # "the roar of the winds is": the verb agrees with "roar"
            if _new(f"{a} {b}", f):
                out.append(f"agreement: '{a} {b}'")
                break


def check_text(place: Place, text: str | None, template: str | None = None) -> Verdict:
    """Whether ``text`` may stand for ``place`` (``template``: the place's template text, rendered
    when not given); the reasons when not. Pure and deterministic."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = " ".join(text[:MAX_GATE_CHARS].split())
    if template is None:
        template = render_template(place)
    if not text:
        return Verdict(False, ["fragment: the text is empty"])
    f = _facts(place, " ".join(template.split()))
    low = text.lower().replace("’", "'")
    # The place's name is not evidence of anything (its words are not the subject, the material,
    # or a weather word: "Stoneford Spring", "Frostwick Inn").
    bare = f.name_rx.sub(" ", text) if f.name_rx is not None else text
    bare_low = bare.lower().replace("’", "'")
    out: list[str] = []
    _subject_rules(place, f, text, bare_low, bare_low, out)
    _material_rules(place, f, bare_low, out)
    _weather_rules(place, f, bare_low, out)
    _event_rules(place, f, text, out)
    _goods_rules(place, f, bare_low, out)
    _form_rules(place, f, text, out)
    _style_rules(place, f, text, low, out)
    _garble_rules(place, f, text, low, bare_low, out)
    _name_rules(place, f, text, out)
    _base_rules(place, f, text, out)
    _changed_rules(place, f, text, low, bare_low, out)
    return Verdict(not out, out)
