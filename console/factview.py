"""Fact-check marks (``engine.factcheck``) as Rich text, for the diff panel and the workbench.

✓ kept, ✗ dropped, ! contradicted, one mark per world fact, and the coverage %. Untrusted text
(model output, fact labels taken from the world file) goes through :func:`console.textview.safe`.
"""

from __future__ import annotations

from rich.text import Text

from .textview import safe

MARKS = {"kept": "✓", "dropped": "✗", "contradicted": "!"}


def pct(x: float | None, nd: int = 0) -> str:
    return "–" if x is None else f"{x * 100:.{nd}f}%"


def _mark_style(styles, status: str):
    return {"kept": styles.done, "dropped": styles.fell_back, "contradicted": styles.error}.get(status, styles.dim)


def fact_line(report, styles, label: str = "facts", wrap: bool = True) -> Text:
    """``facts 67%  ✓ light rain  ✗ timber  ! 12°C (cold)`` (``report``: a FactReport or None)."""
    t = Text()
    t.append(f"{label} ", style=styles.label)
    if report is None:
        t.append("– (no text)", style=styles.dim)
        return t
    t.append(pct(report.coverage), style=styles.label)
    counts = [(s, report.count(s)) for s in ("kept", "dropped", "contradicted")]
    t.append("  (" + " ".join(f"{MARKS[s]}{n}" for s, n in counts) + ")", style=styles.dim)
    for item in report.items:
        t.append("\n  " if wrap else "  ")
        st = _mark_style(styles, item.status)
        t.append(MARKS.get(item.status, "?") + " ", style=st)
        t.append(f"{item.kind} ", style=styles.dim)
        t.append_text(safe(item.fact, st))
        if item.status == "contradicted" and item.evidence:
            t.append(" — ", style=styles.dim)
            t.append_text(safe(item.evidence, styles.dim))
    for fact in getattr(report, "unchecked", ()) or ():
        t.append("\n  " if wrap else "  ")
        t.append("· ", style=styles.dim)
        t.append_text(safe(f"{fact} (not checkable)", styles.dim))
    return t


def marked_text(text: str | None, report, styles) -> Text:
    """``text`` with the words that kept a fact (success) or contradicted one (error) highlighted.

    Spans index the raw text; each segment goes through ``safe`` on its own, so a control
    character made visible (which changes lengths) cannot shift a highlight.
    """
    if not text:
        return Text("(no text)", style=styles.dim)
    if report is None:
        return safe(text)
    out = Text()
    pos = 0
    for start, end, status, _fact in report.marks():
        if start < pos or end <= start or end > len(text):
            continue  # overlapping or out of range: the first mark wins
        out.append_text(safe(text[pos:start]))
        out.append_text(safe(text[start:end], styles.added if status == "kept" else
                             styles.removed if status == "contradicted" else ""))
        pos = end
    out.append_text(safe(text[pos:]))
    return out
