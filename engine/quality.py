"""Quality score: how good a description is *for its place*, 0..1, deterministic and explainable.

``score_text(place, text) -> QualityReport``. Pure string work (built on
:func:`engine.factcheck.check_facts`), never raises for any valid Place and any ``str``; the same
(place, text) always gives the same report. Template and LLM texts are scored the same way.

Components (each 0..1, each visible in :meth:`QualityReport.as_dict`):

===============  ====================================================================  ======
component        what it measures                                                      weight
===============  ====================================================================  ======
``facts``        kept / checkable facts, minus contradicted / checkable (floor 0)      0.45
``repetition``   1 without a repeated word 4-gram; -0.25 per distinct repeated 4-gram;  0.15
                 0 when a phrase loops (a 4-gram or 3-gram 3+ times, a word 3x in a row)
``names``        1 without invented names; -0.34 per capitalised name that appears       0.15
                 nowhere in the place's own data (name, urn/region, base, conditions,
                 resources, events: type and summary)
``sentences``    1 for 2-3 sentences (the brief); 0.5 for 1 or 4; 0 otherwise            0.10
``length``       1 for 60..450 characters; linear to 0 below, to 0 at 600 above          0.05
``scaffolding``  1 unless the text carries prompt / chat leftovers ("Here's a revised    0.10
                 version", "This description aims to", "Enhanced description:")
===============  ====================================================================  ======

``total`` = the weighted sum, rounded to 4 places.

Stored with every result (see ``engine.store`` migration 7 ``quality``):

* ``results.quality`` REAL — the total of the stored (chosen) text;
* ``results.template_quality`` REAL — the template's total; ``results.llm_quality`` REAL — the raw
  (cleaned) LLM text's total, NULL when there was no LLM text;
* ``results.quality_json`` TEXT — :func:`quality_json` of both reports::

      {"version": 1, "chosen": "llm" | "template",
       "template": <QualityReport.as_dict()>, "llm": <QualityReport.as_dict()> | null}

  where ``QualityReport.as_dict()`` is::

      {"total": 0.93, "facts": 0.8, "repetition": 1.0, "names": 1.0, "sentences": 1.0,
       "length": 1.0, "scaffolding": 1.0,
       "coverage": 0.8, "kept": 4, "dropped": 1, "contradicted": 0,
       "dropped_facts": ["conditions: blizzard"], "contradicted_facts": [],
       "repeated_4grams": ["the air is thick"], "loop": false,
       "invented_names": ["Ashwood Tower"], "sentence_count": 3, "chars": 212,
       "scaffolding_found": []}

  A per-sentence place (:mod:`engine.compose`) adds ``"raw"`` (the report of the model's own
  sentences joined: ``llm`` is then the composed text's) and ``"sentences": {"model": m, "of": n}``;
  an LLM text the reading gate (:mod:`engine.gate`) read adds ``"gate": {"accepted", "reasons"}``.
  ``QualityReport.from_dict`` reads it back. The batch metrics carry ``average_quality`` (mean
  ``quality`` of the batch's stored results: the seed's ``averageQuality``) plus
  ``llm_average_quality`` and ``template_average_quality``.

The merge gate (:func:`gate`) uses the same report: an LLM text is accepted only if it
contradicts no fact, keeps the weather conditions and the deciding (most significant) event, has
no repeated 4-gram, no invented name, no scaffolding, and ``total >= min_quality``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .factcheck import FactReport, check_facts, stem
from .world import Place

VERSION = 1
WEIGHTS = {"facts": 0.45, "repetition": 0.15, "names": 0.15, "sentences": 0.10, "length": 0.05, "scaffolding": 0.10}
COMPONENTS = tuple(WEIGHTS)
MAX_SCORE_CHARS = 20_000
DEFAULT_MIN_QUALITY = 0.8

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SENT_END = re.compile(r"[.!?…](?:[\"'’”)\]]*)(?=\s|$)")
# A capitalised word (a possible name); "Ashwood", "O'Neil", "Saint-Malo".
_CAP = re.compile(r"[A-Z][a-zA-Z]*(?:['’\-][A-Za-z]+)*")
# Capitalised words that are not names of places or people (never "invented").
_NOT_NAMES = frozenset("""i celsius fahrenheit c f mph km north south east west northern southern eastern western
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december god gods spring summer autumn winter""".split())
# Words that often start a sentence or follow a colon: lower-case English, never names.
_NAME_JOINERS = frozenset({"of", "the", "de", "la", "le", "von", "van", "al"})

# Chat / prompt leftovers. Lower-case substrings or patterns of the text.
SCAFFOLDING = (
    r"\bhere(?:'s| is| are)\b[^.]{0,40}\b(?:version|description|rewrite|revision|text|sentences?|attempt)\b",
    r"\b(?:revised|rewritten|enhanced|improved|updated) (?:version|description|text)\b",
    r"\bthis (?:description|text|passage|version|rewrite)\b",
    r"\baims? to\b[^.]{0,40}\b(?:capture|convey|evoke|describe|create|highlight)",
    r"\b(?:i hope|let me know|feel free|as requested|as an ai|i have (?:revised|rewritten|added|included))\b",
    r"\b(?:enhanced description|original description|base description|current conditions)\s*:",
    r"^\s*(?:sure|certainly|of course)\b[,!.]",
    r"\b(?:sentence \d|word count|\(\d+ words?\))",
    r"\b(?:note|explanation)\s*:",
)
_SCAFF = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in SCAFFOLDING]


@dataclass(frozen=True)
class QualityReport:
    """One text's score and every component (see the module doc for the JSON shape)."""

    total: float
    facts: float
    repetition: float
    names: float
    sentences: float
    length: float
    scaffolding: float
    coverage: float = 1.0
    kept: int = 0
    dropped: int = 0
    contradicted: int = 0
    dropped_facts: tuple[str, ...] = ()
    contradicted_facts: tuple[str, ...] = ()
    repeated_4grams: tuple[str, ...] = ()
    loop: bool = False
    invented_names: tuple[str, ...] = ()
    sentence_count: int = 0
    chars: int = 0
    scaffolding_found: tuple[str, ...] = ()
    fact_report: FactReport | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict:
        return {
            "total": self.total, "facts": self.facts, "repetition": self.repetition, "names": self.names,
            "sentences": self.sentences, "length": self.length, "scaffolding": self.scaffolding,
            "coverage": self.coverage, "kept": self.kept, "dropped": self.dropped, "contradicted": self.contradicted,
            "dropped_facts": list(self.dropped_facts), "contradicted_facts": list(self.contradicted_facts),
            "repeated_4grams": list(self.repeated_4grams), "loop": self.loop,
            "invented_names": list(self.invented_names), "sentence_count": self.sentence_count, "chars": self.chars,
            "scaffolding_found": list(self.scaffolding_found),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "QualityReport":
        def tup(k):
            return tuple(str(x) for x in (d.get(k) or ()))

        return cls(
            float(d.get("total", 0.0)), *(float(d.get(k, 0.0)) for k in COMPONENTS),
            coverage=float(d.get("coverage", 1.0)), kept=int(d.get("kept", 0)), dropped=int(d.get("dropped", 0)),
            contradicted=int(d.get("contradicted", 0)), dropped_facts=tup("dropped_facts"),
            contradicted_facts=tup("contradicted_facts"), repeated_4grams=tup("repeated_4grams"),
            loop=bool(d.get("loop", False)), invented_names=tup("invented_names"),
            sentence_count=int(d.get("sentence_count", 0)), chars=int(d.get("chars", 0)),
            scaffolding_found=tup("scaffolding_found"),
        )

    def components(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in COMPONENTS}


# --- components -------------------------------------------------------------------------------

def _facts_component(rep: FactReport) -> float:
    n = len(rep.items)
    if not n:
        return 1.0
    return max(0.0, (rep.count("kept") - rep.count("contradicted")) / n)


def repeated_ngrams(text: str, n: int = 4) -> tuple[list[str], bool]:
    """(distinct word n-grams that occur more than once, in order of first repeat; whether a phrase
    loops: an n-gram or a word 3-gram 3+ times, or one word three times in a row)."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    counts: dict[tuple[str, ...], int] = {}
    out: list[str] = []
    loop = False
    for i in range(len(words) - n + 1):
        g = tuple(words[i:i + n])
        c = counts.get(g, 0) + 1
        counts[g] = c
        if c == 2:
            out.append(" ".join(g))
        if c >= 3:
            loop = True
    tri: dict[tuple[str, ...], int] = {}
    for i in range(len(words) - 2):
        if words[i] == words[i + 1] == words[i + 2]:
            loop = True
        g3 = tuple(words[i:i + 3])
        tri[g3] = tri.get(g3, 0) + 1
        if tri[g3] >= 3:
            loop = True
    return out, loop


def place_vocabulary(place: Place) -> frozenset[str]:
    """Every word of the place's own data (stemmed, lower-case): what a text may name."""
    parts = [place.name, place.urn.replace(":", " ").replace("_", " ").replace("-", " "), place.base,
             place.conditions]
    parts += [r.type for r in place.resources]
    parts += [f"{e.type.replace('_', ' ')} {e.summary}" for e in place.events]
    vocab: set[str] = set()
    for p in parts:
        for w in _WORD.findall(p):
            lw = w.lower().replace("’", "'")
            vocab.add(stem(lw))
            vocab.add(lw)
            for piece in re.split(r"['\-]", lw):
                if piece:
                    vocab.add(stem(piece))
    return frozenset(vocab)


def invented_names(place: Place, text: str) -> list[str]:
    """Capitalised names in ``text`` that appear nowhere in the place's own data.

    A name is a run of capitalised words (with "of"/"the" inside it: "Tower of Ash"). The first
    word of a sentence is a name only when another capitalised word follows it or the same word
    is capitalised elsewhere mid-sentence; a name is invented when one of its words (2+ letters,
    not in a small list of calendar / unit words) is not a word of the place's data."""
    vocab = place_vocabulary(place)
    toks = []  # (word, start, is_sentence_start)
    prev_end = 0
    for m in _WORD.finditer(text):
        gap = text[prev_end:m.start()]
        starts = (not toks) or bool(re.search(r"[.!?…:;\"“”]", gap)) or "\n" in gap
        toks.append((m.group(0), starts))
        prev_end = m.end()
    mid_caps = {w for w, s in toks if not s and _CAP.fullmatch(w)}
    names: list[str] = []
    i = 0
    while i < len(toks):
        w, s = toks[i]
        if not _CAP.fullmatch(w):
            i += 1
            continue
        run = [w]
        j = i + 1
        while j < len(toks) and not toks[j][1]:
            nw = toks[j][0]
            if _CAP.fullmatch(nw):
                run.append(nw)
                j += 1
            elif nw.lower() in _NAME_JOINERS and j + 1 < len(toks) and not toks[j + 1][1] and _CAP.fullmatch(toks[j + 1][0]):
                run += [nw, toks[j + 1][0]]
                j += 2
            else:
                break
        if s and len(run) == 1 and w not in mid_caps:
            i = j
            continue  # an ordinary sentence-initial word
        words = [x for x in run if x.lower() not in _NAME_JOINERS]
        if s and len(run) > 1 and words and words[0].lower() in ("the", "a", "an", "in", "at", "on", "as"):
            words = words[1:]
        bad = False
        for x in words:
            lx = x.lower().replace("’", "'")
            if len(lx) < 2 or lx in _NOT_NAMES:
                continue
            pieces = [p for p in re.split(r"['\-]", lx) if p]
            if lx in vocab or stem(lx) in vocab or (pieces and all(stem(p) in vocab or p in vocab for p in pieces)):
                continue
            bad = True
        name = " ".join(run)
        if bad and name not in names:
            names.append(name)
        i = j
    return names


def sentence_count(text: str) -> int:
    """Complete sentences, plus one for a trailing fragment of 3+ words."""
    t = " ".join(text.split())
    ends = [m.end() for m in _SENT_END.finditer(t)]
    n = len(ends)
    tail = t[ends[-1]:] if ends else t
    if len(_WORD.findall(tail)) >= 3:
        n += 1
    return n


def scaffolding_found(text: str) -> list[str]:
    out = []
    for rx in _SCAFF:
        m = rx.search(text)
        if m:
            out.append(" ".join(m.group(0).split())[:60])
    return out


def _sentences_component(n: int) -> float:
    return 1.0 if 2 <= n <= 3 else 0.5 if n in (1, 4) else 0.0


def _length_component(chars: int) -> float:
    if chars < 60:
        return round(chars / 60, 4)
    if chars <= 450:
        return 1.0
    return round(max(0.0, 1.0 - (chars - 450) / 150), 4)


def score_text(place: Place, text: str | None) -> QualityReport:
    """The quality report of ``text`` as a description of ``place`` (see the module doc)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_SCORE_CHARS]
    rep = check_facts(place, text)
    grams, loop = repeated_ngrams(text)
    names = invented_names(place, text)
    nsent = sentence_count(text) if text.strip() else 0
    chars = len(" ".join(text.split()))
    scaff = scaffolding_found(text)
    comp = {
        "facts": round(_facts_component(rep), 4),
        "repetition": 0.0 if loop else round(max(0.0, 1.0 - 0.25 * len(grams)), 4),
        "names": round(max(0.0, 1.0 - 0.34 * len(names)), 4),
        "sentences": _sentences_component(nsent),
        "length": _length_component(chars),
        "scaffolding": 0.0 if scaff else 1.0,
    }
    if not text.strip():
        comp = {k: 0.0 for k in comp}
    total = round(sum(WEIGHTS[k] * v for k, v in comp.items()), 4)
    return QualityReport(
        total, **comp, coverage=round(rep.coverage, 4), kept=rep.count("kept"), dropped=rep.count("dropped"),
        contradicted=rep.count("contradicted"),
        dropped_facts=tuple(f"{i.kind}: {i.fact}" for i in rep.dropped),
        contradicted_facts=tuple(f"{i.kind}: {i.fact}" for i in rep.contradicted),
        repeated_4grams=tuple(grams), loop=loop, invented_names=tuple(names), sentence_count=nsent, chars=chars,
        scaffolding_found=tuple(scaff), fact_report=rep,
    )


# --- the merge gate ---------------------------------------------------------------------------

def deciding_event(place: Place):
    """The most significant event (the first on a tie): the one the template tells."""
    if not place.events:
        return None
    top = place.events[0]
    for e in place.events:
        if e.significance > top.significance:
            top = e
    return top


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reason: str | None = None  # invalid:facts | invalid:repetition | invalid:invented_names | invalid:scaffolding | invalid:quality
    detail: str | None = None


GATE_REASONS = ("invalid:facts", "invalid:repetition", "invalid:invented_names", "invalid:scaffolding",
                "invalid:quality")


def gate(place: Place, report: QualityReport, min_quality: float) -> GateResult:
    """Whether an LLM text (scored as ``report``) may replace the template (see the module doc)."""
    rep = report.fact_report
    problems = []
    if rep is not None:
        must = []
        for it in rep.items:
            if it.kind == "conditions":
                must.append(it)
        top = deciding_event(place)
        if top is not None:
            summary = " ".join(top.summary.split())
            label = f"{top.type}: " + (summary if len(summary) <= 60 else summary[:59].rstrip() + "…")  # as factcheck
            must += [it for it in rep.items if it.kind == "event" and it.fact == label][:1]
        dropped = [it for it in must if it.status == "dropped"]
        if dropped:
            problems.append("dropped " + ", ".join(f"{it.kind} '{it.fact}'" for it in dropped))
        if rep.contradicted:
            problems.append("contradicted " + ", ".join(f"{it.kind} '{it.fact}'" for it in rep.contradicted))
    elif report.contradicted:
        problems.append("contradicted " + ", ".join(report.contradicted_facts))
    if problems:
        return GateResult(False, "invalid:facts", "; ".join(problems))
    if report.loop or report.repeated_4grams:
        what = ("repeated: " + "; ".join(f"'{g}'" for g in report.repeated_4grams[:3]) if report.repeated_4grams
                else "a phrase repeats three times or more")
        return GateResult(False, "invalid:repetition", what)
    if report.invented_names:
        return GateResult(False, "invalid:invented_names",
                          "not in the place's data: " + ", ".join(f"'{n}'" for n in report.invented_names[:5]))
    if report.scaffolding_found:
        return GateResult(False, "invalid:scaffolding", "leftover: " + "; ".join(f"'{s}'" for s in report.scaffolding_found[:3]))
    if report.total < min_quality:
        worst = sorted(COMPONENTS, key=lambda k: getattr(report, k))[:2]
        return GateResult(False, "invalid:quality",
                          f"quality {report.total:.2f} < {min_quality:.2f} (lowest: "
                          + ", ".join(f"{k} {getattr(report, k):.2f}" for k in worst) + ")")
    return GateResult(True)


# --- storage helpers --------------------------------------------------------------------------

def quality_json(template: QualityReport, llm: QualityReport | None, chosen: str,
                 raw: QualityReport | None = None, sentences: tuple[int, int] | None = None,
                 gate: dict | None = None) -> str:
    """The ``results.quality_json`` text (see the module doc). A per-sentence place
    (engine.compose) adds ``"raw"`` (the report of the model's own sentences, joined) and
    ``"sentences": {"model": m, "of": n}`` (how many of the text's sentences the model wrote)."""
    d = {"version": VERSION, "chosen": chosen, "template": template.as_dict(),
         "llm": llm.as_dict() if llm is not None else None}
    if raw is not None:
        d["raw"] = raw.as_dict()
    if sentences is not None:
        d["sentences"] = {"model": int(sentences[0]), "of": int(sentences[1])}
    if gate is not None:
        d["gate"] = gate  # the reading gate's verdict on the LLM text (engine.gate.Verdict.as_dict)
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def parse_quality_json(raw: str | None) -> dict | None:
    """``{"chosen", "template": QualityReport, "llm": QualityReport | None}`` or None (never raises)."""
    if not raw:
        return None
    try:
        d = json.loads(raw)
        sent = d.get("sentences")
        return {"chosen": d.get("chosen"), "template": QualityReport.from_dict(d["template"]),
                "llm": QualityReport.from_dict(d["llm"]) if d.get("llm") else None,
                "raw": QualityReport.from_dict(d["raw"]) if d.get("raw") else None,
                "sentences": (int(sent["model"]), int(sent["of"])) if isinstance(sent, dict) else None,
                "gate": d.get("gate") if isinstance(d.get("gate"), dict) else None}
    except Exception:
        return None


def batch_quality(store, batch_id: int) -> dict:
    """Mean quality of a batch's stored results: ``average_quality`` (the chosen texts: the seed's
    averageQuality), ``llm_average_quality`` (raw LLM texts), ``template_average_quality``."""
    row = store.batch_quality_means(batch_id)

    def r(v):
        return round(v, 4) if v is not None else None

    return {"average_quality": r(row.get("q")), "llm_average_quality": r(row.get("lq")),
            "template_average_quality": r(row.get("tq")), "accepted_llm_average_quality": r(row.get("aq"))}
