"""Per-sentence rewriting: the model rewrites the template one sentence at a time.

Small models copy well and invent badly, and they lose facts in proportion to how much they are
asked to carry. So a prompt that uses ``${sentence}`` (the default ``texture.prompt``) is sent
once per sentence of the place's template (:func:`engine.templates.template_sentences`: the
base's opening, the weather, resources and the deciding event), each request asking for one
sentence. Each rewritten sentence is judged against the template sentence it replaces
(:func:`judge_sentence`); the text is the template with every sentence the model rewrote well
put in its place (the seed's ``combineWithTemplate``), and that whole text then passes the same
merge gate as any LLM text (:func:`engine.quality.gate`). A place whose every sentence failed
keeps its template, with the reason of its sentences.

A sentence rewrite is kept only if it

* is one complete sentence, valid as any model output (:func:`engine.validate.validate_output`:
  no echo of the prompt, no control characters or markup, no injection);
* carries no phrase (word 3-gram) of the prompt's own example that the sentence does not have
  (:func:`example_echo`);
* is not the template sentence itself (a copy is ``unchanged``: no better, so not "LLM");
* keeps every fact the template sentence carries and contradicts no fact of the place
  (:func:`engine.factcheck.check_facts` on the sentence alone);
* keeps at least half of the template sentence's content words (:data:`MIN_CONTENT_KEPT`: the
  base's material and setting are facts too, and a sentence that wandered off is not a rewrite);
* names nothing that is not in the place's data, repeats no 4-gram, carries no chat leftovers,
  and is not much longer than the sentence it replaces (:data:`MAX_GROWTH`).

Determinism: sentence ``j`` of candidate ``k`` of a place is its own request, with the key
``<candidate key>#s<j>`` and the seed :func:`sentence_seed` (candidate seed, j), so every
request's text depends on the place's state alone; the judging and the assembly are pure
functions of those texts. Same state -> same text, alone or in any batch. With best of N, each
sentence takes its first valid candidate (lowest k).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .factcheck import STOP_WORDS, check_facts, stem
from .quality import invented_names, repeated_ngrams, scaffolding_found
from .validate import clean_output, validate_output
from .world import Place

SENTENCE_SEP = "#s"
MIN_CONTENT_KEPT = 0.5
MAX_GROWTH = 2.0  # a rewrite may be at most this many times (+40 chars) as long as its sentence
MIN_SENTENCE_TOKENS = 32

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_ENDS = re.compile(r"[.!?…][\"'’”)\]]*$")
# When a place keeps its template, the most serious reason among its sentences, in this order.
_REASON_ORDER = ("invalid:injection", "invalid:control_chars", "invalid:markup", "invalid:blocked_content",
                 "invalid:facts", "invalid:invented_names", "invalid:repetition", "invalid:scaffolding",
                 "invalid:prompt_echo", "invalid:quality", "invalid:too_long", "invalid:too_short",
                 "invalid:empty", "invalid:unchanged", "timeout", "cancelled", "error")


def sentence_key(key: str, j: int) -> str:
    return f"{key}{SENTENCE_SEP}{j}"


def split_sentence_key(key: str | None) -> tuple[str | None, int | None]:
    """(the place/candidate key, sentence index) of a request key; (key, None) for a whole-text one."""
    if key is None or SENTENCE_SEP not in key:
        return key, None
    head, _, j = key.rpartition(SENTENCE_SEP)
    return (head, int(j)) if j.isdigit() else (key, None)


def sentence_seed(seed: int, j: int) -> int:
    """Sentence j's seed, from (seed, j) alone (splitmix64, salted apart from candidate seeds)."""
    from .llm.sampling import _mix64, normalize_seed

    return _mix64(normalize_seed(seed) ^ _mix64(0x5E47_0000 + j)) & 0x7FFF_FFFF_FFFF_FFFF


def sentence_budget(budget: int, n_sentences: int) -> int:
    """Tokens one sentence request may generate: its share of the place's budget (at least
    :data:`MIN_SENTENCE_TOKENS`, never above the budget): the budget stays the ceiling."""
    n = max(1, n_sentences)
    return max(1, min(budget, max(MIN_SENTENCE_TOKENS, -(-budget // n))))


def keep_words(place: Place, sentence: str) -> tuple[str, ...]:
    """The words of ``sentence`` that carry the place's facts (the evidence spans of the facts it
    keeps): what the keep bias (``FLUX_LLM_KEEP_BIAS``) nudges the model toward."""
    out = []
    for it in check_facts(place, sentence).items:
        if it.status == "kept" and it.span is not None:
            w = sentence[it.span[0]:it.span[1]].strip()
            if w and w.lower() not in out:
                out.append(w.lower())
    return tuple(out)


def shared_head(head: str, text: str) -> int:
    """How many leading characters of the prompt ``text`` are its prompt file's static ``head``."""
    return len(head) if head and text.startswith(head) and text[len(head):].strip() else 0


def sentence_requests(place: Place, parts: "tuple[tuple[str, str], ...] | list[tuple[str, str]]", key: str, seed: int,
                      budget: int, *, temperature: float, deadline_s: float | None, repetition_penalty: float,
                      keep_bias: float, head: str = "") -> list[dict]:
    """The requests of one place (or one of its candidates) under a per-sentence prompt: one per
    (template sentence, prompt text) of ``parts`` (:meth:`engine.prompts.Prompt.render_sentences`),
    with the key :func:`sentence_key`, the seed :func:`sentence_seed`, the budget
    :func:`sentence_budget`, a stop at the first sentence and the keep words. The batch and the
    workbench build them here, so a comparison reproduces a batch's texts. ``head``: the prompt's
    static head (:attr:`engine.prompts.Prompt.head`), which the engine prefills once for all."""
    per = sentence_budget(budget, len(parts))
    out = []
    for j, (sentence, text) in enumerate(parts):
        keep = keep_words(place, sentence) if keep_bias else ()
        out.append({"key": sentence_key(key, j), "prompt": text, "seed": sentence_seed(seed, j), "max_tokens": per,
                    "stop_sentences": 1, "keep": keep, "keep_bias": keep_bias if keep else 0.0,
                    "temperature": temperature, "deadline_s": deadline_s, "repetition_penalty": repetition_penalty,
                    "head": shared_head(head, text)})
    return out


def compose_results(place: Place, parts, results: "dict[tuple[int, int], tuple]", gate: bool = True) -> Composition:
    """Judge and compose ``results`` ``{(j, k): (text, reason, detail)}`` of a place's sentence
    requests (candidate k of sentence j) against its ``parts``."""
    sentences = tuple(s for s, _ in parts)
    judged = {(j, k): judge_sentence(place, sentences[j], text, reason, parts[j][1], detail, gate=gate)
              for (j, k), (text, reason, detail) in results.items()}
    return compose(place, sentences, judged)


def content_words(text: str) -> set[str]:
    return {stem(w.lower()) for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in STOP_WORDS}


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _grams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    w = _WORD.findall(text.lower())
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1) if any(x not in STOP_WORDS for x in w[i:i + n])}


def example_echo(out: str, sentence: str, prompt_text: str) -> list[str]:
    """Word 3-grams (with a content word) of ``out`` that come from the prompt's own text (its
    instructions and worked example) and not from the sentence being rewritten: a small model
    copying its example ("...light rain against the mill" at a shrine)."""
    if not prompt_text:
        return []
    rest = _grams(prompt_text.replace(sentence, " "))
    return [" ".join(g) for g in sorted(_grams(out) & rest - _grams(sentence))]


@dataclass(frozen=True)
class SentenceJudgement:
    reason: str | None  # None = the rewrite is kept
    detail: str | None
    text: str | None  # the cleaned rewrite (None when the model gave nothing)


def judge_sentence(place: Place, sentence: str, raw: str | None, engine_reason: str | None,
                   prompt_text: str = "", engine_detail: str | None = None, gate: bool = True) -> SentenceJudgement:
    """Whether the model's rewrite ``raw`` of the template sentence ``sentence`` is kept (see the
    module doc for the rules); pure and deterministic. ``gate=False`` (``FLUX_LLM_QUALITY_GATE``
    off) keeps any valid, finished, changed sentence: validation only, as for whole texts."""
    if engine_reason is not None:
        return SentenceJudgement(engine_reason, engine_detail, None)
    out = clean_output(raw or "", max_sentences=1)
    if not out:
        return SentenceJudgement("invalid:empty", None, out)
    if _norm(out) == _norm(sentence):
        return SentenceJudgement("invalid:unchanged", "the template sentence, copied", out)
    bad = validate_output(out, prompt_text)
    if bad is not None:
        return SentenceJudgement(f"invalid:{bad}", None, out)
    echo = example_echo(out, sentence, prompt_text)
    if echo:
        return SentenceJudgement("invalid:prompt_echo", "from the prompt's example: " + "; ".join(f"'{g}'" for g in echo[:3]), out)
    if not _ENDS.search(out):
        return SentenceJudgement("invalid:quality", "an unfinished sentence", out)
    if not gate:
        return SentenceJudgement(None, None, out)
    mine = check_facts(place, out)
    need = [i for i in check_facts(place, sentence).items if i.status == "kept"]
    kept = {(i.kind, i.fact) for i in mine.items if i.status == "kept"}
    dropped = [i for i in need if (i.kind, i.fact) not in kept]
    problems = []
    if dropped:
        problems.append("dropped " + ", ".join(f"{i.kind} '{i.fact}'" for i in dropped))
    if mine.contradicted:
        problems.append("contradicted " + ", ".join(f"{i.kind} '{i.fact}'" for i in mine.contradicted))
    if problems:
        return SentenceJudgement("invalid:facts", "; ".join(problems), out)
    names = invented_names(place, out)
    if names:
        return SentenceJudgement("invalid:invented_names",
                                 "not in the place's data: " + ", ".join(f"'{n}'" for n in names[:5]), out)
    grams, loop = repeated_ngrams(out)
    if grams or loop:
        what = "repeated: " + "; ".join(f"'{g}'" for g in grams[:3]) if grams else "a phrase repeats three times or more"
        return SentenceJudgement("invalid:repetition", what, out)
    scaff = scaffolding_found(out)
    if scaff:
        return SentenceJudgement("invalid:scaffolding", "leftover: " + "; ".join(f"'{s}'" for s in scaff[:3]), out)
    words = content_words(sentence)
    if words:
        share = len(words & content_words(out)) / len(words)
        if share < MIN_CONTENT_KEPT:
            return SentenceJudgement("invalid:quality", f"kept {share:.0%} of the sentence's content words "
                                                        f"(at least {MIN_CONTENT_KEPT:.0%})", out)
    if len(out) > MAX_GROWTH * len(sentence) + 40:
        return SentenceJudgement("invalid:quality", f"{len(out)} characters for a sentence of {len(sentence)}", out)
    return SentenceJudgement(None, None, out)


@dataclass(frozen=True)
class Composition:
    text: str  # the template with every kept rewrite in its place
    raw: str  # the model's own sentences (cleaned, first candidate of each), joined
    model_sentences: tuple[int, ...]  # indices of the sentences the model wrote (0-based)
    n_sentences: int
    reason: str | None  # when no sentence was kept: why (the most serious reason among its sentences)
    detail: str  # per-sentence account, for the diff and the queue
    chosen_k: tuple[int | None, ...]  # per sentence: the candidate kept (None = the template's)


def compose(place: Place, sentences: tuple[str, ...],
            judged: dict[tuple[int, int], SentenceJudgement]) -> Composition:
    """Assemble one place's text from its judged sentence rewrites ``{(j, k): judgement}``."""
    final, raw, model, chosen, notes = [], [], [], [], []
    reasons: Counter = Counter()
    ks = sorted({k for _, k in judged})
    for j, s in enumerate(sentences):
        cands = [(k, judged[(j, k)]) for k in ks if (j, k) in judged]
        ok = [(k, jd) for k, jd in cands if jd.reason is None]
        first = cands[0][1] if cands else None
        if first is not None and first.text:
            raw.append(first.text)
        if ok:
            k, jd = ok[0]
            final.append(jd.text)
            model.append(j)
            chosen.append(k)
        else:
            final.append(s)
            chosen.append(None)
            why = first.reason if first is not None else "error"
            reasons[why] += 1
            notes.append(f"sentence {j + 1} kept from the template ({why.removeprefix('invalid:')}"
                         + (f": {first.detail}" if first is not None and first.detail else "") + ")")
    n = len(sentences)
    reason = None
    if not model:
        reason = min(reasons, key=lambda r: (_REASON_ORDER.index(r) if r in _REASON_ORDER else 99, -reasons[r], r))
    firsts = [judged.get((j, ks[0])) for j in range(n)] if ks else []
    if not model and firsts and all(f is not None for f in firsts) and len({(f.reason, f.detail) for f in firsts}) == 1:
        # Every sentence failed the same way (the engine's error, a timeout): say it once.
        detail = firsts[0].detail or f"every sentence: {firsts[0].reason}"
    else:
        wrote = ", ".join(str(j + 1) for j in model) or "none"
        detail = f"model wrote sentence(s) {wrote} of {n}" + ("; " + "; ".join(notes) if notes else "")
    return Composition(" ".join(final), " ".join(raw), tuple(model), n, reason, detail, tuple(chosen))
