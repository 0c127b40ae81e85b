"""Resources phrased by what they are: goods, food, animals, people, water; countable or not.

"horses are plentiful", "there is little salt", "smiths are few", never "stores of cattle
run high". :data:`LEXICON` lists common resources with their category and number: goods, food,
livestock, wild animals (seen about, never stocked: "walrus abound"), people (never goods:
"there are plenty of keepers on hand"), natural things (ice, lichen, peat: "there is little lichen
about") and water. Any other resource is guessed by form: "-s" plurals are countable, the rest
mass nouns; a plural that names people by what they do is people (a trade ending such as
"-smiths", "-keepers", "-folk", "-men", or an agent noun whose verb lemminflect knows: "bathers"),
and collective "-folk" and "clergy" take "are". Every phrasing names the resource as written and puts an
abundance or scarcity word next to it, so the fact checker finds it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .grammar import WORD, is_plural, join_and

GOODS, FOOD, ANIMALS, PEOPLE, WATER = "goods", "food", "animals", "people", "water"
WILD, NATURAL = "wild", "natural"  # wild animals (not stock), natural things (ice, lichen: not goods)
LIVING = (PEOPLE, ANIMALS, WILD)
MASS_N, PLURAL_N = "m", "p"

# category: words (a trailing "+" marks a plural noun that does not end in -s: "cattle+")
_ENTRIES = {
    ANIMALS: """horses goats sheep+ cattle+ reindeer+ oxen+ mules donkeys ponies camels
        llamas yaks pigs hogs swine+ hens chickens geese+ ducks pigeons dogs hounds falcons hawks bees
        cows bulls rabbits mounts pack-animals livestock poultry mules ponies buffaloes water-buffalo+ sled-dogs
        huskies alpacas""",
    WILD: """caribou+ deer+ elk+ chamois+ ibex+ bison+ moose+ seals walrus+ walruses whales marmots beavers otters
        foxes wolves bears boar+ wildebeest+ zebra+ antelope+ impala+ buffalo+ hippos elephants lions crocodiles
        giraffes frogs game seabirds gulls puffins penguins hares wildfowl+ herons cranes storks flamingos
        narwhals+ porpoises dolphins sea-lions hyenas jackals leopards gazelles+ eagles vultures ptarmigan+
        lemmings muskox+ musk-oxen+ orcas turtles birds migrants songbirds seabirds waders fulmars gannets
        kittiwakes guillemots razorbills shags cormorants terns skuas bonxies rooks crows ravens jackdaws magpies
        owls swans eiders eider+ curlews lapwings oystercatchers plovers snipe+ grouse+ capercaillie+ geese+
        otters badgers squirrels stoats weasels hedgehogs bats ibises""",
    NATURAL: """ice snow lichen moss peat driftwood seaweed kelp reeds rushes sand stone clay gravel mud turf
        bracken heather sea-ice pack-ice meltwater rainwater dew firewood deadwood brushwood trees sycamores
        spruces pines larches firs birches oaks beeches rowans willows alders stone-pine spruce larch pine
        grass grazing wildflowers flowers glacier-ice lake-ice névé""",
    PEOPLE: """labour labor workers hands sailors soldiers guards recruits masons smiths scribes priests monks nuns
        healers porters miners guides craftsmen+ craftspeople+ apprentices mercenaries volunteers settlers clerks
        crew labourers laborers carpenters weavers herders shepherds fishermen+ farmhands hunters boatmen+
        oarsmen+ teachers physicians midwives builders diggers pilgrims novices notaries keepers fishwives+ divers
        friars children+ scholars pupils orphans widows troopers cavalrymen+ prisoners convicts
        herdsmen+ nomads riders drovers cooks nurses doctors surgeons people+ folk+ clergy+ almsfolk+ townsfolk+
        fisherfolk+ womenfolk+ menfolk+ bathers constables bakers brewers tanners dyers potters coopers
        wheelwrights cartwrights shipwrights blacksmiths goldsmiths silversmiths locksmiths ferrymen+ bargemen+
        watchmen+ ropemakers beekeepers innkeepers lightkeepers gatekeepers shopkeepers wardens rangers trappers
        whalers sealers loggers woodcutters charcoal-burners porters stevedores dockers pickers reapers gleaners
        harvesters midwives cantors acolytes deacons almoners beggars paupers vagrants refugees pilots passengers
        guests islanders villagers locals crews staff+ tourists visitors""",
    FOOD: """grain wheat barley rye oats rice maize corn bread flour honey fish meat mutton venison pork beef cheese
        milk butter eggs apples pears plums figs dates olives coconuts berries mushrooms beans lentils potatoes
        turnips cabbages onions spices herbs sugar salt wine ale beer rum mead tea coffee cider eels shellfish
        oysters mussels crabs nuts almonds dried-fruit smoked-fish salted-fish dried-fish bananas mangoes
        citrus lemons oranges vegetables fruit provisions rations food""",
    WATER: """water fresh-water drinking-water well-water clean-water spring-water rainwater meltwater""",
}
LEXICON: dict[str, tuple[str, str]] = {}
for _cat, _words in _ENTRIES.items():
    for _w in _words.split():
        plural_only = _w.endswith("+")
        _w = _w.rstrip("+").replace("-", " ")
        number = PLURAL_N if plural_only or is_plural(_w.rsplit(" ", 1)[-1]) else MASS_N
        LEXICON[_w] = (_cat, number)
# Mass nouns that look plural or plural-only nouns inflect does not know.
LEXICON.update({"livestock": (ANIMALS, MASS_N), "game": (WILD, MASS_N), "poultry": (ANIMALS, MASS_N),
                "fish": (FOOD, MASS_N), "crew": (PEOPLE, MASS_N), "shellfish": (FOOD, MASS_N),
                "hot springs": (WATER, PLURAL_N), "labour": (PEOPLE, MASS_N), "labor": (PEOPLE, MASS_N),
                "ptarmigan": (WILD, PLURAL_N), "wildfowl": (WILD, PLURAL_N),
                "meltwater": (WATER, MASS_N), "rainwater": (WATER, MASS_N)})
# Heads that name people ("almsfolk", "lock-keepers", "tinsmiths", "charcoal-burners"): a trade
# or a kind of person, plural by sense even where it does not end in -s ("folk", "clergy").
_PEOPLE_ENDS = ("folk", "smiths", "wrights", "keepers", "herds", "makers", "mongers", "wives", "women", "men",
                "people", "hands", "guards", "masters", "mates", "boys", "girls", "ers", "ors", "ists", "ians",
                "ants", "ents", "eers", "iers")
_NOT_PEOPLE = ("flowers", "waters", "minerals", "peppers", "timbers", "furs", "papers", "letters", "leathers",
               "oysters", "lobsters", "otters", "copper", "silver", "amber", "feathers", "fibers", "fibres", "ores",
               "spices", "parts", "pelts", "ants", "plants", "currants", "ornaments", "garments", "instruments",
               "clovers", "cucumbers", "fritters", "bitters", "silkworms", "beavers", "panthers", "vipers", "adders",
               "plovers", "tigers", "jaguars", "conifers", "sea-otters", "antlers", "boars", "deer", "quivers",
               "tamers", "peppercorns", "fodders", "liqueurs", "ciders", "lagers", "porters-ale", "weirs")


_LIVING_ENDS = tuple(sorted((w for w, (c, _) in LEXICON.items() if c in (ANIMALS, WILD) and " " not in w and len(w) >= 4),
                            key=len, reverse=True))


@lru_cache(maxsize=8192)
def understand(resource: str) -> tuple[str, str]:
    """(category, number) of a resource name: the lexicon by its full name or its head noun,
    else a guess by form."""
    key = " ".join(resource.split()).lower()
    if key in LEXICON:
        return LEXICON[key]
    words = WORD.findall(key)
    head = words[-1] if words else ""
    number = PLURAL_N if head and is_plural(head) else MASS_N
    if head in LEXICON:
        return LEXICON[head]  # "red deer" is as plural as "deer", "fresh water" as mass as "water"
    last = head.rsplit("-", 1)[-1]
    if last != head and last in LEXICON:
        return LEXICON[last]  # "lock-keepers", "sea-ice"
    for end in _LIVING_ENDS:
        if head.endswith(end) and len(head) > len(end) + 2:
            return LEXICON[end]  # "racehorses", "packhorses", "sheepdogs", "seagulls": a kind of animal
    if head.endswith(("folk", "clergy")):
        return PEOPLE, PLURAL_N  # "almsfolk are scarce", never "almsfolk is scarce"
    if (number == PLURAL_N or head.endswith("men")) and head.endswith(_PEOPLE_ENDS) \
            and not head.endswith(_NOT_PEOPLE) and _agentive(head):
        return PEOPLE, PLURAL_N
    return GOODS, number


def _agentive(head: str) -> bool:
    """Whether a plural noun names people by what they do: lemminflect's lemma is a noun made
    from a verb ("bathers" <- bathe, "tanners" <- tan) or a trade ending ("-smith", "-keeper")."""
    if head.endswith(("folk", "smiths", "wrights", "keepers", "herds", "makers", "mongers", "wives", "women", "men",
                      "people", "hands", "guards", "masters", "mates", "eers", "ists", "ians")):
        return True
    from lemminflect import getAllLemmas

    try:
        lemmas = getAllLemmas(head)
    except Exception:
        lemmas = {}
    if not lemmas:
        return True  # a compound no dictionary lists ("boatbuilders", "saltpanners"): by its -ers ending
    sing = (lemmas.get("NOUN") or (head[:-1],))[0]
    for suf in ("er", "or", "ant", "ent"):
        if sing.endswith(suf):
            stem = sing[: -len(suf)]
            for verb in (stem, stem + "e", stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem):
                try:
                    if getAllLemmas(verb).get("VERB"):
                        return True
                except Exception:
                    pass
    return False


# (category, number) -> phrasings; {R} the resource at sentence start, {r} elsewhere. Plain words
# only: nothing "piled high" or "in the larders" (a reader cannot tell where a world keeps it).
_ABUNDANT = {
    (GOODS, MASS_N): ("there is plenty of {r}", "{R} is plentiful", "there is no shortage of {r}"),
    (GOODS, PLURAL_N): ("{R} are plentiful", "there is no shortage of {r}", "there are {r} in plenty"),
    (FOOD, MASS_N): ("there is plenty of {r}", "{R} is plentiful", "there is no shortage of {r}"),
    (FOOD, PLURAL_N): ("{R} are plentiful", "there are {r} in plenty", "there is no shortage of {r}"),
    (ANIMALS, MASS_N): ("{R} is plentiful", "there is plenty of {r}", "there is no shortage of {r}"),
    # wild animals are seen, not stocked: never "stores of walrus", "walrus in plenty"
    (WILD, MASS_N): ("{R} is plentiful hereabouts", "there is plenty of {r} about"),
    (WILD, PLURAL_N): ("{R} are plentiful hereabouts", "there are plenty of {r} about", "{R} abound"),
    (NATURAL, MASS_N): ("there is plenty of {r} about", "{R} is plentiful", "there is {r} in abundance"),
    (NATURAL, PLURAL_N): ("{R} are plentiful", "there are {r} in abundance"),
    (ANIMALS, PLURAL_N): ("{R} are plentiful", "{R} abound", "there is no shortage of {r}",
                          "there are {r} in plenty"),
    (PEOPLE, MASS_N): ("{R} is plentiful", "there is no shortage of {r}", "{R} is cheap and plentiful"),
    # plenty of people is not unemployment: never "plenty of scribes are looking for work"
    (PEOPLE, PLURAL_N): ("{R} are easy to find", "there are plenty of {r} on hand", "there are many {r}"),
    (WATER, MASS_N): ("{R} is plentiful", "there is plenty of {r}", "there is no shortage of {r}"),
    (WATER, PLURAL_N): ("{R} run full", "{R} are plentiful", "there is no shortage of {r}"),
}
_SCARCE = {
    (GOODS, MASS_N): ("there is little {r}", "{R} is scarce", "{R} is running low", "{R} is in short supply"),
    (GOODS, PLURAL_N): ("there are few {r}", "{R} are scarce", "{R} are running low", "{R} are in short supply"),
    (FOOD, MASS_N): ("there is little {r}", "{R} is scarce", "{R} is running low", "{R} is in short supply"),
    (FOOD, PLURAL_N): ("{R} are scarce", "there are few {r}", "{R} are running short"),
    (ANIMALS, MASS_N): ("there is little {r}", "{R} is scarce"),
    (WILD, MASS_N): ("there is little {r} about", "{R} is scarce"),
    (WILD, PLURAL_N): ("{R} are few", "there are few {r} about", "{R} are scarce"),
    (NATURAL, MASS_N): ("there is little {r} about", "{R} is scarce"),
    (NATURAL, PLURAL_N): ("{R} are scarce", "there are few {r} about"),
    (ANIMALS, PLURAL_N): ("{R} are few", "there are few {r}", "{R} are scarce", "few {r} are left"),
    (PEOPLE, MASS_N): ("{R} is scarce", "there is little {r} to be had"),
    (PEOPLE, PLURAL_N): ("there are few {r}", "{R} are scarce", "{R} are few"),
    (WATER, MASS_N): ("{R} is running low", "there is little {r}", "{R} is scarce"),
    (WATER, PLURAL_N): ("{R} are running low", "{R} are nearly dry"),
}
# Nothing left at all (abundance ~0): "the salt is all gone", not "there is little salt".
_NONE = {MASS_N: ("the {r} is all gone",), PLURAL_N: ("the {r} are all gone",)}
_NONE_LIVING = ("there are no {r} left",)  # "the chamois is all gone" is said of stock, not of animals
_ABUNDANT_MANY = ("{R} are plentiful", "there is no shortage of {r}", "there {be} plenty of {r}")
_SCARCE_MANY = ("{R} are scarce", "{R} are in short supply", "{R} are running low")
_LIVING_SCARCE_MANY = ("{R} are scarce", "{R} are few", "there are few {r} about")
_PEOPLE_SCARCE_MANY = ("{R} are scarce", "{R} are few")
NONE_BELOW = 0.02


def _fill(pattern: str, r: str) -> str:
    return pattern.replace("{R}", r).replace("{r}", r)


def _clean(names) -> list[str]:
    return [" ".join(n.split()) for n in names if n.strip()]


def clauses(names: list[str], abundant: bool, gone: bool = False) -> tuple[str, ...]:
    """Every phrasing of "these resources are plentiful / scarce" (lower-case start unless the
    resource itself starts it), for one resource by what it is, for several as a list (people
    are never listed with goods: see :func:`groups`)."""
    names = _clean(names)
    if not names:
        return ()
    if len(names) == 1:
        cat, number = understand(names[0])
        if gone and not abundant:
            patterns = _NONE_LIVING if cat in LIVING else _NONE[number]
        else:
            patterns = (_ABUNDANT if abundant else _SCARCE)[(cat, number)]
    elif abundant:
        patterns = _ABUNDANT_MANY
    else:
        cats = [understand(n) for n in names]
        if all(c == PEOPLE for c, _ in cats):
            patterns = _PEOPLE_SCARCE_MANY
        elif all(c in (ANIMALS, WILD) for c, _ in cats):
            patterns = _LIVING_SCARCE_MANY  # animals and birds are not stock: never "racehorses are running low"
        elif all(c in LIVING for c, _ in cats):
            patterns = _PEOPLE_SCARCE_MANY  # "otters and oil workers are few", never "... are running low"
        else:
            patterns = _SCARCE_MANY
    r = join_and(names)
    be = "are" if understand(names[0])[1] == PLURAL_N else "is"  # "there are plenty of mules and dye"
    return tuple(_fill(p, r).replace("{be}", be) for p in patterns)


def groups(names: list[str]) -> list[list[str]]:
    """Resources split so people are not listed with things ("few farmhands can be found, and
    reeds are scarce", never "farmhands and reeds are running low")."""
    names = _clean(names)
    people = [n for n in names if understand(n)[0] == PEOPLE]
    things = [n for n in names if understand(n)[0] not in LIVING]
    animals = [n for n in names if understand(n)[0] in (ANIMALS, WILD)]
    if things and animals:  # "water is short, and there are few lions", never "lions and water are short"
        return [g for g in (things, animals + people) if g] if not (animals and people) else [things, animals + people]
    return [g for g in (things + animals, people) if g]


def _side(names: list[str], abundant: bool, gone: frozenset[str]) -> tuple[str, ...]:
    """One side (plenty or shortage) as clauses; two groups are joined with "and"."""
    parts = []
    for g in groups(names):
        parts.append(clauses(g, abundant, gone=len(g) == 1 and g[0] in gone))
    if not parts:
        return ()
    if len(parts) == 1:
        return parts[0]
    a, b = parts
    return _pairs(a, b, ", and ", names)


def _pairs(a: tuple[str, ...], b: tuple[str, ...], joint: str, names: list[str]) -> tuple[str, ...]:
    """Each of ``a`` joined to each of ``b`` where the two halves share no word but the names
    (never "few reeds and few farmhands", "reeds are scarce, and farmhands are scarce")."""
    named = {w for n in names for w in n.lower().split()}
    out = []
    for x in a:
        for y in b:
            if not (set(x.lower().split()) - named) & (set(y.lower().split()) - named - {"are", "is"}):
                out.append(x + joint + y)
    return tuple(out) or (a[0] + joint + b[-1],)


JOINS = (", but ", ", though ", ", while ")


def sentences(abundant: list[str], scarce: list[str], gone: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Every phrasing of the resources clause (as written: no capital added, no final stop).
    Plenty against shortage is a real contrast ("but", "though", "while"); nothing else is."""
    a = _side(abundant, True, gone)
    s = _side(scarce, False, gone)
    if a and s:
        out = []
        for i, x in enumerate(a):
            for j, y in enumerate(s):
                if ", and " in x and ", and " in y:
                    continue
                join = JOINS[(i + j) % len(JOINS)]
                out.append(x + join + y if (i + j) % 3 else y + join + x)
        # never "there are few pit ponies but there is no shortage of coal": one "there" a sentence
        plain = [o for o in out if o.count("there ") <= 1]
        return tuple(plain or out) or (a[0] + JOINS[0] + s[0],)
    return a or s


# Absolute phrases for "<news>, with <resources>": the stock as a circumstance of the news.
_ABS_ABUNDANT = {
    PEOPLE: ("no shortage of {r}", "{r} aplenty"),
    None: ("plenty of {r}", "no shortage of {r}", "{r} plentiful"),
}
_ABS_SCARCE = {
    (PEOPLE, PLURAL_N): ("few {r} to be found", "{r} scarce"),
    (PEOPLE, MASS_N): ("little {r} to be had", "{r} scarce"),
    (None, PLURAL_N): ("few {r} left", "{r} scarce", "{r} in short supply"),
    (None, MASS_N): ("little {r} left", "{r} scarce", "{r} running low", "{r} in short supply"),
}


def _abs_side(names: list[str], abundant: bool, gone: frozenset[str]) -> tuple[str, ...]:
    parts = []
    for g in groups(names):
        cat, number = understand(g[0])
        number = PLURAL_N if len(g) > 1 else number
        r = join_and(g)
        if not abundant and len(g) == 1 and g[0] in gone:
            pats: tuple[str, ...] = ("the {r} all gone",)
        elif abundant:
            pats = _ABS_ABUNDANT[PEOPLE if cat == PEOPLE and number == PLURAL_N else None]
        else:
            pats = _ABS_SCARCE[(PEOPLE if cat == PEOPLE else None, number)]
        if len(g) > 1:
            pats = tuple(p for p in pats if not p.startswith(("little", "few"))) or pats
        parts.append(tuple(_fill(p, r) for p in pats))
    if not parts:
        return ()
    if len(parts) == 1:
        return parts[0]
    a, b = parts  # things, then people: said with different words ("... scarce and few ... to be found")
    if abundant:
        b = (join_and(groups(names)[1]) + " aplenty",)
    return _pairs(a, b, " and ", names)


def absolutes(abundant: list[str], scarce: list[str], gone: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Every phrasing of the resources as what follows "with" ("plenty of peat but little ale",
    "few farmhands to be found")."""
    a = _abs_side(abundant, True, gone)
    s = _abs_side(scarce, False, gone)
    if a and s:
        return tuple(x + " but " + y for x in a for y in s if not (" and " in x and " and " in y)) or (a[0] + " but " + s[0],)
    return a or s


def said_words(summary: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[^\W\d_]+", summary))


def said_in(resource: str, said: frozenset[str]) -> bool:
    """Whether a resource's head noun (or its singular) is a word of the news."""
    head = resource.split()[-1].lower() if resource.split() else ""
    if not head or len(head) < 3:
        return False
    forms = {head, head[:-1] if head.endswith("s") else head, head[:-2] + "an" if head.endswith("men") else head}
    return bool(forms & said)
