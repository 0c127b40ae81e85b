"""Untrusted text made into Rich ``Text`` (never markup), and the word-level diff.

Every place name, description and model output reaches the screen through :func:`safe`: control,
bidi and zero-width characters become visible stand-ins (``engine.textsafe.visible``) and the
result is a ``Text`` object, so ``[bold]`` or ``[link=...]`` stay literal brackets.
"""

from __future__ import annotations

import difflib

from rich.style import Style
from rich.text import Text

from engine.textsafe import visible


def safe(s: object, style: str | Style = "") -> Text:
    return Text(visible("" if s is None else str(s)), style=style, no_wrap=False)


def clip(s: str, n: int) -> str:
    s = visible(s or "")
    return s if len(s) <= n else s[: max(n - 1, 0)] + "…"


def resolve_color(app, name: str) -> str | None:
    """A theme variable as an opaque hex colour (translucent values blended over the surface)."""
    from textual.color import Color

    v = getattr(app, "theme_variables", {}) or {}
    raw = v.get(name)
    if raw is None:
        return None
    try:
        base = Color.parse(v.get("surface") or v.get("background") or "#000000")
    except Exception:
        base = Color(0, 0, 0)
    raw = str(raw).strip()
    try:
        if raw.startswith("auto") or raw.startswith("ansi_default"):
            # 'auto 60%': the contrasting text colour at that strength.
            pct = float(raw.split()[-1].rstrip("%")) / 100 if raw.endswith("%") else 1.0
            fg = Color.parse(v.get("foreground") or "#ffffff")
            return base.blend(fg, pct).hex
        parts = raw.split()
        color = Color.parse(parts[0])
        if len(parts) > 1 and parts[1].endswith("%"):
            color = color.with_alpha(float(parts[1].rstrip("%")) / 100)
        if color.a < 1:
            color = base.blend(color.with_alpha(1.0), color.a)
        return color.hex
    except Exception:
        return None


def theme_style(app, bg: str | None = None, fg: str | None = None, **kw) -> Style:
    """A Rich style from the app's theme variables."""
    return Style(bgcolor=resolve_color(app, bg) if bg else None, color=resolve_color(app, fg) if fg else None, **kw)


def word_diff(template: str, llm: str, removed: Style, added: Style) -> tuple[Text, Text]:
    """Both texts with word-level differences highlighted (difflib on words)."""
    a, b = (template or "").split(), (llm or "").split()
    left, right = Text(), Text()
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        for words, out, style, changed in ((a[i1:i2], left, removed, tag in ("replace", "delete")),
                                           (b[j1:j2], right, added, tag in ("replace", "insert"))):
            for w in words:
                if out.plain:
                    out.append(" ")
                out.append(visible(w), style=style if changed else "")
    return left, right
