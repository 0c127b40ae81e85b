"""Output validation with reason codes.

The seed's ``validateOutput`` (20 < length < 500, no inappropriate content from a word list) plus:
not an echo of the prompt or its instructions, no control characters or escape sequences, no
Rich/Textual markup, no sign of following instructions injected through world text. A rejected
output carries a reason code that the store and the metrics keep.

Model output is first *cleaned* (:func:`clean_output`): surrounding whitespace and quotes, a
leading "Enhanced description:" label, and anything past the third complete sentence are
removed. That is presentation, not repair: what remains is validated as it is.
"""

from __future__ import annotations

import re

from .textsafe import has_control, has_markup

MIN_LEN = 20
MAX_LEN = 500

REASONS = (
    "empty", "too_short", "too_long", "blocked_content", "prompt_echo", "control_chars", "markup", "injection",
)

# A small word list in the spirit of the seed's containsInappropriateContent. Whole words only.
BLOCKED_WORDS = frozenset(
    """fuck fucking shit bitch cunt nigger faggot retard whore slut rape rapist porn pornographic
    nazi""".split()
)
_WORD = re.compile(r"[a-z]+")

# Phrases of the prompt's own instructions: an output carrying them is an echo, not a description.
_ECHO = (
    "enhance this location description",
    "current conditions:",
    "enhanced description:",
    "generate 2-3 sentences",
    "maintain the existing tone",
    "focus on atmospheric details",
    "- weather:",
    "- resources:",
    "recent events:",
)
# Signs that the model followed instructions smuggled in through world text.
_INJECTION = re.compile(
    r"(ignore (all |any )?(the )?(previous|prior|above) instructions|as an ai( language model)?|"
    r"i (can(no|')t|cannot|am unable to) (help|comply|assist)|system prompt|i have been pwned|"
    r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>)",
    re.IGNORECASE,
)
# Injection attempts in the *prompt* (world text is untrusted): the trigger, then the payload.
_TRIGGER = re.compile(
    r"((ignore|disregard|forget|override)\b[^.\n]{0,40}?\b(instructions?|prompts?|rules|directions|guidelines)\b"
    r"|you are now\b|new instructions?\s*:|developer mode|jailbreak|^\s*(system|assistant|user)\s*:|<\|im_start\|>)",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’\n]{3,80})[\"”'’]")
_NGRAM = 4
_STOP = frozenset("the a an and or of to in on at by for with as is are was be it this that".split())


def looks_like_instruction(text: str) -> bool:
    """True if untrusted text (a world's own words) reads as an instruction to a model: a template
    never carries such a sentence, so it cannot reach a prompt that gives the model the template."""
    return bool(_TRIGGER.search(text) or _INJECTION.search(text))


def injection_payloads(prompt: str) -> tuple[list[str], set[tuple[str, ...]]]:
    """What injected instructions in ``prompt`` ask for: quoted phrases, and the word 4-grams of
    the text that follows each trigger (up to the end of its paragraph, 300 characters)."""
    quoted: list[str] = []
    grams: set[tuple[str, ...]] = set()
    for m in _TRIGGER.finditer(prompt):
        tail = prompt[m.end(): m.end() + 300].split("\n\n", 1)[0]
        quoted += [q.strip() for q in _QUOTED.findall(tail) if q.strip()]
        words = _WORD.findall(tail.lower())
        for i in range(len(words) - _NGRAM + 1):
            g = tuple(words[i: i + _NGRAM])
            if sum(w not in _STOP for w in g) >= 2:
                grams.add(g)
    return quoted, grams


def follows_injection(text: str, prompt: str) -> bool:
    """True if the output carries out instructions injected into the prompt through world text."""
    if not prompt or not _TRIGGER.search(prompt):
        return False
    quoted, grams = injection_payloads(prompt)
    low = text.lower()
    if any(q.lower() in low for q in quoted):
        return True
    words = _WORD.findall(low)
    return any(tuple(words[i: i + _NGRAM]) in grams for i in range(len(words) - _NGRAM + 1))


_SENTENCE_END = re.compile(r"[.!?…](?:[\"'’”)\]]*)(?=\s|$)")
_LABEL = re.compile(r"^\s*(enhanced description|description|output|rewrite)\s*:\s*", re.IGNORECASE)


def complete_sentences(text: str) -> int:
    """Sentences of ``text`` that are complete *and followed by something* (whitespace): the
    engine's sentence stop ends a request once this reaches the brief's count, so a "3." that
    turns out to be "3.5" is never cut (clean_output keeps exactly those sentences)."""
    return sum(1 for m in _SENTENCE_END.finditer(text) if m.end() < len(text))


def clean_output(text: str, max_sentences: int = 3) -> str:
    text = text.replace("\r\n", "\n").strip()
    text = _LABEL.sub("", text)
    text = text.strip().strip('"“”').strip()
    # Keep at most ``max_sentences`` complete sentences; drop a trailing fragment if there is
    # at least one complete sentence before it (a budget-truncated tail reads badly).
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if ends:
        keep = min(len(ends), max_sentences)
        # The brief is 2-3 sentences under MAX_LEN characters: a third sentence that runs past
        # the limit is dropped (two complete sentences beat a template fallback).
        while keep > 2 and ends[keep - 1] >= MAX_LEN:
            keep -= 1
        text = text[: ends[keep - 1]]
    return " ".join(text.split()) if not has_control(text) else text


def validate_output(text: str, prompt: str = "") -> str | None:
    """None if the output is acceptable, else the reason code."""
    if not text or not text.strip():
        return "empty"
    if has_control(text):
        return "control_chars"
    if has_markup(text):
        return "markup"
    n = len(text)
    if n <= MIN_LEN:
        return "too_short"
    if n >= MAX_LEN:
        return "too_long"
    low = text.lower()
    if _INJECTION.search(text) or follows_injection(text, prompt):
        return "injection"
    if any(p in low for p in _ECHO):
        return "prompt_echo"
    if prompt and len(text) > 40 and text.strip() in prompt:
        return "prompt_echo"
    if any(w in BLOCKED_WORDS for w in _WORD.findall(low)):
        return "blocked_content"
    return None
