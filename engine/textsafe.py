"""Untrusted text (world files, model output) made safe to show or check.

Nothing here removes meaning silently: :func:`visible` turns every control, bidi-override and
zero-width character into a visible stand-in, so an operator sees *that* something odd is in
the text and what it was, while the terminal never receives an escape sequence.
"""

from __future__ import annotations

import re

# C0 controls except tab/newline (CR included: it can overwrite a line), DEL, C1 controls.
_CONTROL = "".join(chr(c) for c in list(range(0x00, 0x09)) + [0x0B, 0x0C, 0x0D] + list(range(0x0E, 0x20)) + [0x7F] + list(range(0x80, 0xA0)))
# Bidi embeddings/overrides/isolates and zero-width characters: they reorder or hide text.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u2060"

CONTROL_RE = re.compile(f"[{re.escape(_CONTROL)}]")
INVISIBLE_RE = re.compile(f"[{re.escape(_INVISIBLE)}]")
UNSAFE_RE = re.compile(f"[{re.escape(_CONTROL + _INVISIBLE)}]")

# Rich / Textual console markup: [bold], [/], [red on blue], [link=...], [@click=...], [$var].
MARKUP_RE = re.compile(r"\[/?(?:[a-zA-Z@$#][\w .,:=#@$'\"()/-]*)?\]")

_NAMES = {"\x1b": "␛", "\x07": "␇", "\x08": "␈", "\x00": "␀", "\x7f": "␡", "\r": "␍"}


def _stand_in(m: re.Match) -> str:
    ch = m.group(0)
    if ch in _NAMES:
        return _NAMES[ch]
    return f"<U+{ord(ch):04X}>"


def visible(text: str) -> str:
    """The text with every control/bidi/zero-width character replaced by a visible stand-in."""
    if not UNSAFE_RE.search(text):
        return text
    return UNSAFE_RE.sub(_stand_in, text)


def has_control(text: str) -> bool:
    return bool(UNSAFE_RE.search(text))


def has_markup(text: str) -> bool:
    return bool(MARKUP_RE.search(text))
