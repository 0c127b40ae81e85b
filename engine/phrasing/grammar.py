"""Small grammar helpers over ``inflect``: articles, number, and a guess at a word's form.

``inflect`` gives a/an ("an icy day", "a unicorn", "an hour") and singular/plural forms; the
form guess (adjective, plural noun, mass noun) is simple morphology for words no lexicon lists.
"""

from __future__ import annotations

import re
import sys
import types
from functools import lru_cache


def _import_inflect():
    """``inflect``, imported without ``typeguard``'s run-time instrumentation.

    inflect 7.2+ decorates its methods with ``typeguard.typechecked``, which re-parses the
    module's source for each of them on import: 1-4 s on this project's machines, paid by every
    process that renders a template (upstream: jaraco/inflect#212, agronholm/typeguard#468).
    The checks only validate argument types, and every call here passes plain strings, so a
    pass-through ``typechecked`` is put in place for that one import and the real module (if
    any) restored right after. With inflect already imported, that module is used as it is.
    """
    if "inflect" in sys.modules:
        return sys.modules["inflect"]
    saved = sys.modules.get("typeguard")
    stub = types.ModuleType("typeguard")
    stub.typechecked = lambda target=None, **_kw: target if target is not None else (lambda f: f)
    sys.modules["typeguard"] = stub
    try:
        import inflect
    finally:
        if saved is not None:
            sys.modules["typeguard"] = saved
        else:
            sys.modules.pop("typeguard", None)
    return inflect


_P = _import_inflect().engine()
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")

ADJ, MASS, PLURAL, COUNT = "adj", "mass", "plural", "count"

# Words ending like adjectives that are nouns (and the reverse is looked up by the lexicons).
_NOT_ADJ = frozenset("sky spray fury flurry jelly valley alley belly berry cherry ivy ferry jury army city country "
                     "body party ally lily pony poppy puppy daisy story".split())
_ADJ_SUFFIXES = ("ic", "ous", "ful", "ish", "less", "ive", "able", "ible", "ical")
# Plural-looking words that are not plurals (or are mass nouns).
_NOT_PLURAL = frozenset("gas news dross moss grass glass brass mess bus lens haze series species chaos "
                        "analysis crisis oasis iris mumps measles".split())


def article(phrase: str) -> str:
    """``phrase`` with "a" or "an" in front ("an icy cold day", "an inn")."""
    try:
        return _P.a(phrase)
    except Exception:  # inflect never should; a template must never raise
        return "a " + phrase


_ARTICLES = frozenset(("the", "a", "an"))


@lru_cache(maxsize=8192)
def place_name(name: str) -> str:
    """A place's name as running text says it: a common-noun phrase of the "X of Y" shape takes
    "the" ("the Gate of the Eastern Road", "the House of Wisdom Library", "the Ribat of
    Sary-Tash"), the editorial convention; a proper name does not ("Kess Viaduct", "Yangiqal
    Orchards"). inflect has no rule for this: it is the name's shape that decides."""
    words = name.split()
    if not words or words[0].lower() in _ARTICLES or not words[0][:1].isupper():
        return name
    if len(words) >= 2 and words[0].endswith(("s'", "s’")):
        return "the " + name  # "the Stonecutters' Hamlet": a plural possessive is never a proper name
    linked = next((w for w in words[1:-1] if w in _LINKS), None)
    if linked is None and words[-1].lower() in _GEOGRAPHIC:
        return name  # "Ragged Point", "Foul Bay", "Cherry Tree Hill": a feature's name takes no article
    if len(words) >= 2 and linked is None and (_common_phrase(words) or _common_plural(words)):
        return "the " + name  # "the Sunken Baths", "the Felt-Makers' Quarter", never "Kess Viaduct"
    if len(words) < 3 or linked is None:
        return name
    if words[0].lower() in _LINKS or words[-1] in _LINKS:
        return name
    if linked != "of" and not _known(words[0].split("-")[0].strip("'’")):
        return name  # "Stratford upon Avon", "Walton on the Naze": a town's own name
    return "the " + name  # "the Gate of the Eastern Road", "the Naval Hospital at Orrhea"


@lru_cache(maxsize=8192)
def plural_name(name: str) -> bool:
    """Whether a name is a plural noun phrase ("Vrakha Marble Quarries", "the Sunken Baths") that
    takes "are": its last word (before any "of"/"at" link) is a plural common noun."""
    words = name.split()
    for i, w in enumerate(words[1:], 1):
        if w in _LINKS:
            words = words[:i]
            break
    last = words[-1].strip("'’,.") if words else ""
    return len(words) >= 2 and last[:1].isupper() and is_plural(last) and bool(_known(last))


# the last word of a natural feature's name, which English says without "the" ("Ragged Point",
# "Foul Bay", "Black Mountain"; "the Old Mill", "the Sunken Baths" keep it)
_GEOGRAPHIC = frozenset("""point bay hill hills head cove beach island lake mount mountain peak creek ridge pond sound
    rock bluff springs spring cape""".split())
_LINKS = frozenset(("of", "at", "on", "off", "near", "by", "under", "above", "below", "beyond", "upon"))


def _known(word: str) -> dict:
    from lemminflect import getAllLemmas  # a dictionary of English words; loaded on first use

    try:
        return getAllLemmas(word.lower()) or {}
    except Exception:
        return {}


def _common_plural(words: list[str]) -> bool:
    """A name of common words ending in a plural ("Sponge Bleaching Yards", "Mudlark Flats")."""
    if any(w.endswith(("'s", "’s")) for w in words) or not is_plural(words[-1].lower()):
        return False
    return all(_known(x.strip("'’")) for w in words for x in w.split("-") if x)


def _common_phrase(words: list[str]) -> bool:
    """Whether a name is made of common English words and opens on an adjective or a plural
    possessive ("Sunken Baths", "Old Mill", "Felt-Makers' Quarter"): a description used as a name,
    which running text says with "the". A word no dictionary knows ("Kess", "Khanh") or a
    singular possessive ("Ackroyd's Brewery") makes it a proper name."""
    parts = []
    for w in words:
        if w.endswith(("'s", "’s")):
            return False
        parts.extend(x for x in w.strip("'’").split("-") if x)
    if not parts or not all(_known(p.strip("'’")) for p in parts):
        return False
    first = words[0]
    return "ADJ" in _known(first.split("-")[0]) or any(w.endswith(("s'", "s’")) for w in words)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=4096)
def is_plural(word: str) -> bool:
    """Whether a noun is plural ("horses", "showers", "machine parts"; not "moss", "salt")."""
    w = word.lower()
    if len(w) < 3 or w in _NOT_PLURAL or w.endswith(("ss", "us")):
        return False
    if w.endswith("is"):  # "taxis", "kiwis", "skis" are plurals; "oasis", "ibis", "tennis" are not
        return _is_plural_is(w)
    try:
        sing = _P.singular_noun(w)
        # "ferrymen", "children", "geese": irregular plurals inflect knows
        return bool(sing) and (w.endswith("s") or (w.endswith("men") and sing.endswith("man")) or w in _IRREGULAR)
    except Exception:
        return False


@lru_cache(maxsize=4096)
def _is_plural_is(w: str) -> bool:
    """A noun ending in -is is plural where lemminflect's first noun lemma is another word
    ("taxis" <- taxi); unknown to it ("yetis"), it is taken as singular, as before."""
    from lemminflect import getAllLemmas

    try:
        lemmas = getAllLemmas(w).get("NOUN") or ()
    except Exception:
        return False
    return bool(lemmas) and lemmas[0] != w


_IRREGULAR = frozenset("children people geese mice oxen feet teeth women men lice dice".split())


@lru_cache(maxsize=4096)
def guess_form(phrase: str) -> str:
    """ADJ, PLURAL or MASS for a phrase no lexicon lists, by its last word: "misty" is an
    adjective, "showers" a plural noun, anything else a mass noun."""
    words = WORD.findall(phrase.lower())
    if not words:
        return MASS
    head = words[-1]
    if head.endswith(("ity", "ory")):
        return MASS  # "visibility", "humidity", "advisory": nouns
    if head not in _NOT_ADJ and (
        (head.endswith("y") and not head.endswith(("ay", "ey", "oy", "uy")) and len(head) > 3)
        or head.endswith(_ADJ_SUFFIXES)
    ):
        return ADJ
    if is_plural(head):
        return PLURAL
    return MASS


def join_and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words of ``text`` minus a plural -s, for "never say the same word twice"."""
    out = set()
    for w in WORD.findall(text.lower().replace("-", " ")):
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        if len(w) > 4 and w.endswith(("y", "e")):  # "gusty" ~ "gust", "breezy" ~ "breeze"
            w = w[:-1]
        if w not in _FUNCTION:
            out.add(w)
    return frozenset(out)


_FUNCTION = frozenset("a an the and of in on at to with as under over by is are it its no not".split())
