"""Resources phrased by what they are: goods, food, animals, people, water; countable or not.

"horses are plentiful", "there is little salt", "few masons are left", never "stores of cattle
run high". :data:`LEXICON` lists common resources with their category and number; any other
resource is guessed by form (``inflect``: "-s" plurals are countable, the rest mass nouns; "-ers"
and "-men" plurals are people). Every phrasing names the resource as written and puts an
abundance or scarcity word next to it, so the fact checker finds it.
"""

from __future__ import annotations

from functools import lru_cache

from .grammar import WORD, is_plural, join_and

GOODS, FOOD, ANIMALS, PEOPLE, WATER = "goods", "food", "animals", "people", "water"
MASS_N, PLURAL_N = "m", "p"

# category: words (a trailing "+" marks a plural noun that does not end in -s: "cattle+")
_ENTRIES = {
    ANIMALS: """horses goats sheep+ cattle+ caribou+ deer+ reindeer+ elk+ oxen+ mules donkeys ponies camels
        llamas yaks pigs hogs swine+ hens chickens geese+ ducks pigeons dogs hounds falcons hawks bees frogs
        cows bulls rabbits mounts pack-animals livestock game poultry""",
    PEOPLE: """labour labor workers hands sailors soldiers guards recruits masons smiths scribes priests monks nuns
        healers porters miners guides craftsmen+ craftspeople+ apprentices mercenaries volunteers settlers clerks
        crew labourers laborers carpenters weavers herders shepherds fishermen+ farmhands hunters boatmen+
        oarsmen+ teachers physicians midwives builders diggers""",
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
LEXICON.update({"livestock": (ANIMALS, MASS_N), "game": (ANIMALS, MASS_N), "poultry": (ANIMALS, MASS_N),
                "fish": (FOOD, MASS_N), "crew": (PEOPLE, MASS_N), "shellfish": (FOOD, MASS_N),
                "hot springs": (WATER, PLURAL_N)})


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
        cat = LEXICON[head][0]
        return cat, number if len(words) > 1 else LEXICON[head][1]
    if number == PLURAL_N and (head.endswith(("ers", "ors", "ists", "ians", "men", "ants", "ents"))
                               and not head.endswith(("flowers", "waters", "minerals"))):
        return PEOPLE, number
    return GOODS, number


# (category, number) -> phrasings; {R} the resource at sentence start, {r} elsewhere.
_ABUNDANT = {
    (GOODS, MASS_N): ("there is plenty of {r}", "{R} is plentiful", "there is no shortage of {r}",
                      "{R} is piled high"),
    (GOODS, PLURAL_N): ("{R} are plentiful", "there is no shortage of {r}", "{R} are piled high",
                        "there are {r} in plenty"),
    (FOOD, MASS_N): ("there is plenty of {r}", "{R} is plentiful", "there is no shortage of {r}",
                     "the larders are full of {r}"),
    (FOOD, PLURAL_N): ("{R} are plentiful", "there are {r} in plenty", "there is no shortage of {r}",
                       "baskets are heaped with {r}"),
    (ANIMALS, MASS_N): ("{R} is plentiful", "there is plenty of {r}", "there is no shortage of {r}"),
    (ANIMALS, PLURAL_N): ("{R} are plentiful", "{R} abound", "there is no shortage of {r}",
                          "there are {r} in plenty"),
    (PEOPLE, MASS_N): ("{R} is plentiful", "there is no shortage of {r}", "{R} is cheap and plentiful"),
    (PEOPLE, PLURAL_N): ("{R} are plentiful", "there is no shortage of {r}", "there are {r} aplenty",
                         "plenty of {r} are looking for work"),
    (WATER, MASS_N): ("{R} is plentiful", "there is plenty of {r}", "there is no shortage of {r}"),
    (WATER, PLURAL_N): ("{R} run full", "{R} are plentiful", "there is no shortage of {r}"),
}
_SCARCE = {
    (GOODS, MASS_N): ("there is little {r}", "{R} is scarce", "{R} is running low", "{R} is in short supply"),
    (GOODS, PLURAL_N): ("there are few {r}", "{R} are scarce", "{R} are running low", "{R} are in short supply"),
    (FOOD, MASS_N): ("there is little {r}", "{R} is scarce", "{R} is running low", "{R} is in short supply"),
    (FOOD, PLURAL_N): ("{R} are scarce", "there are few {r}", "{R} are running short"),
    (ANIMALS, MASS_N): ("there is little {r}", "{R} is scarce"),
    (ANIMALS, PLURAL_N): ("{R} are few", "there are few {r}", "{R} are scarce", "few {r} are left"),
    (PEOPLE, MASS_N): ("{R} is scarce", "there is little {r} to be had", "{R} is in short supply"),
    (PEOPLE, PLURAL_N): ("there are few {r}", "{R} are scarce", "few {r} can be found"),
    (WATER, MASS_N): ("{R} is running low", "there is little {r}", "{R} is scarce"),
    (WATER, PLURAL_N): ("{R} are running low", "{R} are nearly dry"),
}
_ABUNDANT_MANY = ("{R} are plentiful", "there is no shortage of {r}", "there {be} plenty of {r}")
_SCARCE_MANY = ("{R} are scarce", "{R} are running low", "{R} are in short supply")


def _fill(pattern: str, r: str) -> str:
    return pattern.replace("{R}", r).replace("{r}", r)


def clauses(names: list[str], abundant: bool) -> tuple[str, ...]:
    """Every phrasing of "these resources are plentiful / scarce" (lower-case start unless the
    resource itself starts it), for one resource by what it is, for several as a list."""
    names = [" ".join(n.split()) for n in names if n.strip()]
    if not names:
        return ()
    if len(names) == 1:
        table = _ABUNDANT if abundant else _SCARCE
        patterns = table[understand(names[0])]
    else:
        patterns = _ABUNDANT_MANY if abundant else _SCARCE_MANY
    r = join_and(names)
    be = "are" if understand(names[0])[1] == PLURAL_N else "is"  # "there are plenty of mules and dye"
    return tuple(_fill(p, r).replace("{be}", be) for p in patterns)


JOINS = (", but ", ", though ", ", while ", "; ")


def sentences(abundant: list[str], scarce: list[str]) -> tuple[str, ...]:
    """Every phrasing of the resources clause (as written: no capital added, no final stop)."""
    a = clauses(abundant, True)
    s = clauses(scarce, False)
    if a and s:
        out = []
        for i, x in enumerate(a):
            for j, y in enumerate(s):
                join = JOINS[(i + j) % len(JOINS)]
                out.append(x + join + y if (i + j) % 3 else y + join + x)
        return tuple(out)
    return a or s
