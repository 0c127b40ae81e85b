"""Enrich: the template exactly as it is, plus one short sentence the model adds.

Small models lose and twist facts when they rewrite them (blind readers preferred the template
almost every time). In *enrich* mode the facts stay in the template's own words: the model is
asked for ONE short sentence of what one would see, hear or smell at the place now, grounded in
its base description and its weather, and that sentence is inserted into the template where it
reads well (after the weather sentence). Nothing of the template is changed.

The added sentence must pass a strict check of its own (:func:`check_sentence`), pure and
deterministic, so the gate can call it on any line:

* one complete sentence of 6-25 words, ending in a full stop, with a verb (a word the
  ``lemminflect`` lexicon knows as a verb form: a well-kept lexicon shipped in its wheel, no
  downloads, better than a hand-written suffix rule);
* no numbers (digits or number words), no label ("Note:"), no first or second person, no
  question or exclamation, no quotes;
* no name that is not in the place's data (:func:`engine.quality.invented_names`);
* no weather word that contradicts the facts: a condition family the place does not have
  (rain at a foggy place, sun in a storm), a temperature word of another band (balmy at 0 °C),
  a wind word two bands away (calm in a gale), or anything :func:`engine.factcheck.check_facts`
  finds contradicted;
* no repeat of the template's content: no word 3-gram of the template, no resource and no event
  word that is not already in the base description (the facts are the template's job);
* no cliché from :data:`CLICHES`; no phrase copied from the prompt's own examples.

Determinism: the sentence is one request with the place's (candidate's) seed; the check and the
insertion are pure functions of (place, text). Same state -> same text, alone or in any batch.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from .factcheck import (CONDITION_FAMILIES, OPPOSING, STOP_WORDS, TEMP_WORDS, WIND_WORDS, EVENT_SYNONYMS,
                        check_facts, stem)
from .phrasing.weather import TEMP_BOUNDS as _TEMP_BOUNDS, WIND_BOUNDS as _WIND_BOUNDS
from .templates import render_template, template_sentences
from .world import Place

MIN_WORDS = 6
MAX_WORDS = 25
MAX_TOKENS = 48  # one short sentence: the request's token budget (never above the tier's)

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_ENDS = re.compile(r"[.][\"'’”)\]]*$")
_SENT_BREAK = re.compile(r"[.!?…](?:[\"'’”)\]]*)\s+\S")
_DIGIT = re.compile(r"\d")
NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    hundreds thousand thousands million dozen dozens half degrees degree mph percent""".split())
PERSONS = frozenset("i me my mine we us our ours you your yours i'm i've we're you're let's".split())
# Phrases blind readers call padding or cliché in place descriptions (and small models love).
CLICHES = (
    "testament to", "tapestry", "symphony", "hustle and bustle", "bustling", "nestled", "palpable",
    "a sense of", "sense of", "air is thick with", "air is filled with", "fills the air", "filled the air",
    "in the air", "vibrant", "serene", "serenity", "breathtaking", "whispers of", "whisper of", "echoes of",
    "dance", "dancing", "weaves", "woven", "tranquil", "picturesque", "idyllic", "enchanting", "magical",
    "mystical", "timeless", "as if", "it is as though", "a reminder", "reminder of", "stark contrast",
    "amidst", "amid the chaos", "alive with", "comes alive", "paints", "painting the", "kaleidoscope",
    "melody", "harmony", "heart of", "soul of", "embrace", "embraces", "beckons", "awaits", "journey",
    "adventure", "unforgettable", "lively", "charming", "cozy", "cosy", "quaint", "hint of", "hints of",
    "air of", "aura", "atmosphere", "ambience", "ambiance", "scene", "vivid", "sensory", "sights",
    "smells and sounds", "sights and sounds", "creating a", "creating an", "adding to", "adds to",
)
# Words that need the sun (wrong under cloud, rain, fog or snow) and words of air at rest (wrong in
# strong winds: fog does not "blanket" a place in a gale).
NEEDS_SUN = ("shadow", "shadows", "sunbeam", "sunbeams", "sunlight", "sunshine", "sunlit", "sun-baked")
AT_REST = ("blanket", "blankets", "blanketing", "hangs", "hang", "hanging", "settles", "settled", "lingers",
           "lingering", "hovers", "still", "stillness", "motionless", "calm")
_CLICHE_RE = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in sorted(CLICHES, key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)
_LABEL = re.compile(r"^\s*[A-Za-z][A-Za-z ]{0,24}:")
_AUX = frozenset("is are was were be been being has have had does do did can could will would may might shall "
                 "should must".split())

try:  # the verb lexicon (see the module doc); without it a smaller rule stands in
    import lemminflect as _lemminflect
except Exception:  # pragma: no cover - lemminflect is a dependency
    _lemminflect = None


@dataclass(frozen=True)
class EnrichCheck:
    ok: bool
    reason: str | None = None  # an "invalid:..." code (engine.quality.GATE_REASONS' style)
    detail: str = ""


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def is_verb(word: str) -> bool:
    """Whether ``word`` is a verb form (an auxiliary, or a form the lemminflect lexicon knows)."""
    w = word.lower()
    if w in _AUX:
        return True
    if _lemminflect is not None:
        return bool(_lemminflect.getAllLemmas(w, upos="VERB"))
    return w.endswith(("s", "ed", "ing")) and len(w) > 4  # pragma: no cover


_DETS = frozenset("a an the this that these those its their his her our every each some no any another one".split())
_PREPS = frozenset("of in on at by for with from into onto over under beside behind between among along across "
                   "through above below near past toward towards against around beneath upon within without and or "
                   "like than".split())


def _is_noun(word: str) -> bool:
    return bool(_lemminflect is not None and (_lemminflect.getAllLemmas(word, upos="NOUN")
                                              or _lemminflect.getAllLemmas(word, upos="ADJ")))


def has_verb(text: str) -> bool:
    """Whether the sentence has a finite verb: an auxiliary or modal, or a verb form (not an
    -ing form) that heads a predicate — a word that is also a noun ("walls", "race") counts only
    when the words before it are a subject (back to a determiner or the start, with no preposition
    in between: "the slow river slaps" has one, "beside grey stone walls" does not)."""
    words = _words(text)
    for i, w in enumerate(words):
        if w in _AUX or w.endswith(("'s", "'re")) and i > 0:
            return True
        if i == 0 or w.endswith("ing") or not is_verb(w):
            continue
        prev = words[i - 1]
        if prev in _DETS or prev in _PREPS:
            continue
        if not _is_noun(w) and not w.endswith("ed"):
            return True
        if not (w.endswith(("s", "ed")) or prev.endswith("s")):
            continue  # a bare form that is also a noun ("grey sky") heads a predicate only after a plural
        j = i - 1
        while j >= 0 and words[j] not in _DETS and (words[j] not in _PREPS or words[j] == "of"):
            j -= 1  # "a village of tarred timber huddles": an of-phrase belongs to its subject
        if j < 0 or words[j] in _DETS:
            return True
    return False


def _families_of(conditions: str) -> set[str]:
    from .factcheck import _CONDITION_KEYS

    fams = set()
    for w in _words(conditions):
        fam = _CONDITION_KEYS.get(w) or _CONDITION_KEYS.get(stem(w))
        if fam:
            fams.add(fam)
    return fams


def _has_phrase(words: list[str], phrase: str) -> bool:
    p = phrase.lower().split()
    n = len(p)
    stems = [stem(w) for w in words]
    ps = [stem(x) for x in p]
    return any(stems[i:i + n] == ps for i in range(len(words) - n + 1))


# Condition families that go with a place's own: rain falls from a grey sky, a storm brings rain.
COMPATIBLE = {"storm": {"rain", "overcast", "hail"}, "rain": {"overcast"}, "snow": {"overcast"},
              "hail": {"overcast", "storm", "rain"}, "fog": {"overcast"}}


def weather_problems(place: Place, text: str) -> list[str]:
    """Weather words in ``text`` that the place's facts do not support (see the module doc)."""
    words = _words(text)
    out: list[str] = []
    fams = _families_of(place.conditions)
    allowed = set(fams).union(*(COMPATIBLE.get(f, set()) for f in fams)) if fams else set()
    for fam, (strong, _weak) in CONDITION_FAMILIES.items():
        if fam in allowed or fam in ("wind", "heat", "humid", "dust"):
            continue  # wind and heat are judged by their bands below; dust/humid are rarely wrong
        for w in strong:
            if _has_phrase(words, w):
                out.append(f"'{w}' ({fam}) but the weather is {place.conditions}")
                break
    for fam in fams:
        for opp in OPPOSING.get(fam, ()):
            for w in CONDITION_FAMILIES[opp][1]:  # the weak words of an opposing family too ("sun" in rain)
                if w in ("dry", "white", "fair", "clear") or not _has_phrase(words, w):
                    continue
                out.append(f"'{w}' ({opp}) but the weather is {place.conditions}")
    ti = min(bisect_right(_TEMP_BOUNDS, place.temperature), len(TEMP_WORDS) - 1)
    mid = len(TEMP_WORDS) // 2  # "cool": the cold side below it, the warm side above

    def side(i: int) -> int:
        return (i > mid) - (i < mid)

    for i, band in enumerate(TEMP_WORDS):
        # A word from the other side of mild ("balmy" at freezing, "chilly" when hot), or an
        # extreme at a mild place, contradicts; "cold" at -21 °C does not.
        if abs(i - ti) <= 1 or (side(i) == side(ti) != 0) or (side(ti) == 0 and abs(i - ti) < 3):
            continue
        for w in band:
            if w in ("fresh", "heat", "frost", "rime") and abs(i - ti) < 3:
                continue
            if _has_phrase(words, w):
                out.append(f"'{w}' at {place.temperature:g}°C")
                break
    wi = min(bisect_right(_WIND_BOUNDS, place.wind_speed), len(WIND_WORDS) - 1)
    for i, band in enumerate(WIND_WORDS):
        if abs(i - wi) <= 1:
            continue
        for w in band:
            if _has_phrase(words, w):
                out.append(f"'{w}' in {place.wind_speed:g} mph winds")
                break
    rest = sorted({w for w in words if w in AT_REST or w == "windless"})
    if wi >= 3 and rest:
        out.append(f"air at rest ({', '.join(rest)}) in {place.wind_speed:g} mph winds")
    if fams and "clear" not in fams:
        sun = sorted({w for w in words if w in NEEDS_SUN})
        if sun:
            out.append(f"{', '.join(sun)} but the weather is {place.conditions}")
    for it in check_facts(place, text).contradicted:
        out.append(f"contradicts {it.kind} '{it.fact}'")
    return out


def _fact_words(place: Place) -> set[str]:
    """Stems of the resource and event words the template carries, minus the base's own words."""
    base = {stem(w) for w in _words(place.base)}
    out: set[str] = set()
    for r in place.resources:  # a one-word supply by its word; "fresh water" only as the phrase
        ws = _words(r.type)
        if len(ws) == 1:
            out.add(stem(ws[0]))
    for e in place.events:
        out |= {stem(w) for w in _words(e.type.replace("_", " "))}
        out |= {stem(w) for w in _words(e.summary) if w not in STOP_WORDS and len(w) > 2}
        for syn in EVENT_SYNONYMS.get(e.type.lower(), ()):
            out |= {stem(w) for w in _words(syn)}
    return {w for w in out if w not in base and w not in {stem(s) for s in STOP_WORDS}}


def _grams(words: list[str], n: int = 3) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)
            if any(x not in STOP_WORDS for x in words[i:i + n])}


def check_sentence(place: Place, sentence: str, template: str | None = None, prompt_text: str = "") -> EnrichCheck:
    """Whether ``sentence`` may be added to the place's template (the rules in the module doc).
    ``template``: the place's template (rendered when not given); ``prompt_text``: the prompt
    the sentence answered (its examples must not be copied)."""
    from .quality import invented_names, repeated_ngrams

    s = " ".join((sentence or "").split())
    if not s:
        return EnrichCheck(False, "invalid:empty", "no sentence")
    if _LABEL.match(s):
        return EnrichCheck(False, "invalid:scaffolding", f"a label: '{s.split(':', 1)[0]}:'")
    if _SENT_BREAK.search(s):
        return EnrichCheck(False, "invalid:sentences", "more than one sentence")
    if not _ENDS.search(s):
        return EnrichCheck(False, "invalid:sentences", "not one complete sentence ending in a full stop")
    if any(c in s for c in "?!;:\"“”()[]{}<>*#_|/\\"):
        return EnrichCheck(False, "invalid:quality", "a question, exclamation, quote, list or markup sign")
    words = _words(s)
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return EnrichCheck(False, "invalid:length", f"{len(words)} words (one sentence of {MIN_WORDS}-{MAX_WORDS})")
    if not has_verb(s):
        return EnrichCheck(False, "invalid:fragment", "no verb: not a sentence")
    nums = [w for w in words if w in NUMBER_WORDS]
    if _DIGIT.search(s) or nums:
        return EnrichCheck(False, "invalid:numbers", "numbers: " + ", ".join(nums or _DIGIT.findall(s)[:3]))
    person = [w for w in words if w in PERSONS]
    if person:
        return EnrichCheck(False, "invalid:person", "first or second person: " + ", ".join(sorted(set(person))))
    names = invented_names(place, s)
    if names:
        return EnrichCheck(False, "invalid:invented_names", "not in the place's data: "
                           + ", ".join(f"'{n}'" for n in names[:3]))
    weather = weather_problems(place, s)
    if weather:
        return EnrichCheck(False, "invalid:weather", "; ".join(weather[:3]))
    cl = sorted({m.group(0).lower() for m in _CLICHE_RE.finditer(s)})
    if cl:
        return EnrichCheck(False, "invalid:cliche", "cliché: " + ", ".join(f"'{c}'" for c in cl[:3]))
    grams, loop = repeated_ngrams(s)
    if grams or loop or len(set(words)) < 0.7 * len(words):
        return EnrichCheck(False, "invalid:repetition", "repeats itself")
    template = render_template(place) if template is None else template
    same = _grams(words) & _grams(_words(template))
    if same:
        return EnrichCheck(False, "invalid:repeats_template", "repeats the template: "
                           + "; ".join(f"'{' '.join(g)}'" for g in sorted(same)[:3]))
    facts = sorted({w for w in words if len(w) > 2 and stem(w) in _fact_words(place)}
                   | {r.type.lower() for r in place.resources if len(_words(r.type)) > 1 and _has_phrase(words, r.type)})
    if facts:
        return EnrichCheck(False, "invalid:repeats_template", "restates the supplies or news: " + ", ".join(facts[:4]))
    if prompt_text:
        echo = sorted(" ".join(g) for g in _grams(words) & _grams(_words(_examples_only(prompt_text, place))))
        if echo:
            return EnrichCheck(False, "invalid:prompt_echo", "from the prompt's example: "
                               + "; ".join(f"'{g}'" for g in echo[:3]))
    return EnrichCheck(True)


def _examples_only(prompt_text: str, place: Place) -> str:
    """The prompt's own text without the place's data (what copying means)."""
    out = prompt_text
    for part in (place.base, place.name, place.conditions, render_template(place)):
        if part:
            out = out.replace(part, " ")
    return out


def insertion_index(place: Place) -> int:
    """Where the sentence goes: after the template's weather sentence (the base's opening, then
    the weather, then what one senses there, then supplies and news)."""
    return min(2, len(template_sentences(place)))


def insert_sentence(place: Place, sentence: str) -> str:
    """The place's template with ``sentence`` inserted (:func:`insertion_index`); the template's
    sentences are unchanged."""
    parts = list(template_sentences(place))
    s = " ".join(sentence.split())
    parts.insert(insertion_index(place), s[0].upper() + s[1:] if s else s)
    return " ".join(parts)


def first_sentence(raw: str) -> str:
    """The model's first sentence, cleaned (labels, quotes and whitespace removed)."""
    from .validate import clean_output

    return clean_output(raw or "", max_sentences=1)


@dataclass(frozen=True)
class EnrichResult:
    text: str | None  # the enriched template (None when the sentence was refused)
    sentence: str  # the model's sentence, cleaned
    check: EnrichCheck


def enrich(place: Place, raw: str | None, prompt_text: str = "") -> EnrichResult:
    """Check the model's ``raw`` output as an added sentence and insert it (see the module doc)."""
    s = first_sentence(raw or "")
    chk = check_sentence(place, s, None, prompt_text)
    return EnrichResult(insert_sentence(place, s) if chk.ok else None, s, chk)


def request_limits(budget: int) -> tuple[int, int]:
    """(max tokens, stop after sentences) of an enrich request under a tier's ``budget``."""
    return max(1, min(int(budget), MAX_TOKENS)), 1


# --- prompt fields ----------------------------------------------------------------------------

def weather_words(place: Place) -> str:
    """The weather as plain words (no numbers): 'thunderstorms, warm, a gale'."""
    from .factcheck import TEMP_BAND_NAMES, WIND_BAND_NAMES

    ti = min(bisect_right(_TEMP_BOUNDS, place.temperature), len(TEMP_BAND_NAMES) - 1)
    wi = min(bisect_right(_WIND_BOUNDS, place.wind_speed), len(WIND_BAND_NAMES) - 1)
    wind = WIND_BAND_NAMES[wi]
    wind = wind if wi == 0 else f"a {wind}"
    return f"{' '.join(place.conditions.split())}, {TEMP_BAND_NAMES[ti]}, {wind}"


def setting_words(place: Place) -> str:
    """The base description's opening sentence (what the place is and is made of)."""
    return template_sentences(place)[0]


def judge_enrich(place: Place, raw: str | None, prompt_text: str, cfg=None) -> tuple:
    """(reason, detail, text to store if accepted, quality report) of one enrich candidate, as the
    batch's merge judges any candidate: the sentence's own check, then the merge gate on the
    enriched text (engine.quality.gate, when the config has it on)."""
    from .quality import gate, score_text

    res = enrich(place, raw, prompt_text)
    if not res.check.ok:
        lq = score_text(place, res.sentence) if res.sentence else None
        return res.check.reason, f"{res.check.detail} (the sentence: '{res.sentence[:160]}')", None, lq
    lq = score_text(place, res.text)
    if cfg is None or getattr(cfg, "quality_gate", True):
        g = gate(place, lq, getattr(cfg, "min_quality", 0.8) if cfg is not None else 0.8)
        if not g.ok:
            return g.reason, g.detail, None, lq
    return None, f"added: '{res.sentence}'", res.text, lq
