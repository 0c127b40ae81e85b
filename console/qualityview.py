"""Quality scores (``engine.quality``, stored with every result) as Rich text for the diff panel.

A stored result carries ``quality`` (the stored text's total), ``template_quality``,
``llm_quality`` and ``quality_json``: ``{"version", "chosen", "template": report, "llm": report |
null}``, each report with its components (facts, repetition, names, sentences, length,
scaffolding, each 0..1) and what they found (repeated 4-grams, invented names, scaffolding,
sentence count, characters). Everything found in a text is untrusted (it is model output) and
goes through :func:`console.textview.safe`.
"""

from __future__ import annotations

import json

from rich.text import Text

from .textview import clip, safe

COMPONENTS = ("facts", "repetition", "names", "sentences", "length", "scaffolding")


def parse_quality(result: dict | None) -> dict | None:
    """The stored ``quality_json`` of a result row as a dict, or None (older rows, other stores)."""
    raw = (result or {}).get("quality_json")
    if not raw:
        return None
    try:
        q = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return q if isinstance(q, dict) else None


def chosen_report(result: dict | None) -> dict | None:
    """The report of the text the result stored (its ``chosen`` side)."""
    q = parse_quality(result)
    if q is None:
        return None
    rep = q.get(q.get("chosen") or "") or q.get("template")
    return rep if isinstance(rep, dict) else None


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _score_style(v: float | None, styles):
    if v is None:
        return styles.dim
    return styles.error if v < 0.5 else styles.fell_back if v < 0.9 else styles.done


def quality_text(result: dict | None, styles) -> Text:
    """``quality 0.94 (template stored)``, then per text (the stored one first) its total, each
    component and what they found (repeated 4-grams, invented names, dropped facts...)."""
    t = Text()
    t.append("quality ", style=styles.label)
    if result is None:
        t.append("– (no result)", style=styles.dim)
        return t
    total = _num(result.get("quality"))
    q = parse_quality(result)
    if total is None and q is None:
        t.append("– (not scored: a result from before quality scores)", style=styles.dim)
        return t
    t.append("–" if total is None else f"{total:.2f}", style=_score_style(total, styles))
    chosen = (q or {}).get("chosen") or result.get("source") or "template"
    t.append(f" ({chosen} stored)", style=styles.dim)
    sides = [chosen] + [s for s in ("template", "llm") if s != chosen]
    for side in sides:
        rep = (q or {}).get(side)
        v = _num(result.get(f"{side}_quality"))
        if not isinstance(rep, dict) and v is None:
            continue
        t.append(f"\n  {side:<8} ", style=styles.dim)
        if v is None and isinstance(rep, dict):
            v = _num(rep.get("total"))
        t.append("–" if v is None else f"{v:.2f}", style=_score_style(v, styles))
        if isinstance(rep, dict):
            t.append("  ")
            _report_line(t, rep, styles)
    _gate_line(t, (q or {}).get("gate"), styles)
    return t


def _gate_line(t: Text, verdict, styles) -> None:
    """The reading gate's reasons when it refused the LLM text (engine.gate): what a reviewer
    checks against the text. An accepted text adds nothing."""
    if not isinstance(verdict, dict) or verdict.get("accepted"):
        return
    reasons = [str(r) for r in verdict.get("reasons") or [] if r] if isinstance(verdict.get("reasons"), list) else []
    t.append("\n  reading gate: ", style=styles.dim)
    t.append("refused", style=styles.error)
    for r in reasons[:4]:
        t.append("\n    ")
        t.append_text(safe(clip(r, 120), styles.fell_back))
    if len(reasons) > 4:
        t.append(f"\n    +{len(reasons) - 4} more", style=styles.dim)


def _report_line(t: Text, rep: dict, styles) -> None:
    for i, comp in enumerate(COMPONENTS):
        v = _num(rep.get(comp))
        if i:
            t.append(" · ", style=styles.dim)
        t.append(f"{comp} ", style=styles.dim)
        t.append("–" if v is None else f"{v:.2f}", style=_score_style(v, styles))
    found = []
    if rep.get("sentence_count") is not None:
        found.append(("sentences", str(rep.get("sentence_count")), styles.dim))
    if rep.get("chars") is not None:
        found.append(("chars", str(rep.get("chars")), styles.dim))
    for key, label in (("repeated_4grams", "repeated"), ("invented_names", "invented"),
                       ("scaffolding_found", "scaffolding"), ("dropped_facts", "dropped"),
                       ("contradicted_facts", "contradicted")):
        items = rep.get(key) or []
        if isinstance(items, list) and items:
            shown = ", ".join(f"'{clip(str(x), 40)}'" for x in items[:4]) + (f" +{len(items) - 4}" if len(items) > 4 else "")
            found.append((label, shown, styles.error if key in ("contradicted_facts", "invented_names") else styles.fell_back))
    if rep.get("loop"):
        found.append(("loop", "a phrase loops", styles.error))
    if found:
        t.append("\n           ")
        for i, (label, value, style) in enumerate(found):
            if i:
                t.append("  ")
            t.append(f"{label} ", style=styles.dim)
            t.append_text(safe(value, style))


def stored_scores(row: dict) -> tuple:
    """(quality, fact coverage, contradicted facts, raw model text's quality, template's quality)
    of a stored result row, for the live metrics."""
    rep = chosen_report(row) or {}
    cov = _num(rep.get("coverage"))
    contradicted = rep.get("contradicted")
    return (_num(row.get("quality")), cov, int(contradicted) if isinstance(contradicted, int) else 0,
            _num(row.get("llm_quality")), _num(row.get("template_quality")))
