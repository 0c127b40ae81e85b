"""3. The diff: the selected place's base text against its description, word by word."""

from __future__ import annotations

import datetime as _dt

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from engine.policy import decide
from engine.world import Place

from ..factview import fact_line
from ..qualityview import quality_text
from ..textview import clip, safe, word_diff
from .base import Column, DASH, FocusScroll, Panel, Row, Styles, TextBlock, set_text


# --- 3. diff --------------------------------------------------------------------------------

class DiffPanel(Panel):
    PANEL_TITLE = "3 Diff"
    FOCUS_TARGET = "#diff-scroll"

    def compose(self) -> ComposeResult:
        with FocusScroll(id="diff-scroll"):
            yield TextBlock(Text("Select a place in the batch queue to inspect it."), id="diff-head", markup=False)
            yield TextBlock("", id="diff-state", markup=False)
            with Row(id="diff-sides"):
                with Column(classes="diff-side"):
                    yield Static(Text("Template"), classes="diff-title", markup=False)
                    yield TextBlock("", id="diff-template", markup=False)
                with Column(classes="diff-side"):
                    yield Static(Text("LLM"), classes="diff-title", markup=False)
                    yield TextBlock("", id="diff-llm", markup=False)
            yield TextBlock("", id="diff-facts", markup=False)
            yield TextBlock("", id="diff-history", markup=False)

    shown_urn: str | None = None

    def show(self, place: Place | None, urn: str, results: list[dict], template_now: str, live: str | None,
             cfg, styles: Styles, deterministic: bool, facts=None, rating=None) -> None:
        self.shown_urn = urn
        head = Text()
        latest = results[0] if results else None
        name = place.name if place else urn
        head.append_text(safe(name, styles.label))
        head.append("  ")
        head.append_text(safe(urn, styles.dim))
        tier = decide(place, cfg).tier if place else (latest or {}).get("tier", DASH)
        seed = place.seed if place else (latest or {}).get("seed")
        fields = [("tier", tier), ("seed", seed)]
        if latest:
            fields += [("prompt", latest.get("prompt_version") or DASH), ("model", latest.get("model_id") or DASH),
                       ("source", latest.get("source"))]
            if latest.get("worker"):  # ran on a cluster worker: which one (and so which node)
                fields.append(("node", latest["worker"]))
        head.append("\n")
        head.append_text(Text("  ").join(Text.assemble((f"{k} ", styles.dim), safe(v)) for k, v in fields))
        if latest and latest.get("reason"):
            head.append("\n")
            fell = final_reason(latest["reason"])
            style = styles.fell_back if fell else styles.dim
            head.append("fell back: " if fell else "template by policy: ", style=style)
            head.append_text(safe(latest["reason"], style))
            if latest.get("detail"):
                head.append(" — ", style=styles.dim)
                head.append_text(safe(latest["detail"]))
        set_text(self.query_one("#diff-head", Static), head)

        st = Text()
        if place:
            st.append("weather   ", style=styles.dim)
            st.append_text(safe(f"{place.temperature + 0.0:g}°C, {place.conditions}, {place.wind_speed + 0.0:g} mph"))
            st.append("\nresources ", style=styles.dim)
            st.append_text(safe(", ".join(f"{r.type} {r.abundance:.2f}" for r in place.resources) or "none"))
            st.append("\nevents    ", style=styles.dim)
            if place.events:
                for e in sorted(place.events, key=lambda e: -e.significance):
                    st.append("\n  ")
                    st.append(f"{e.significance:.2f} {e.term:<9} ", style=styles.dim)
                    st.append_text(safe(f"{e.type}: {e.summary}"))
            else:
                st.append("none")
        set_text(self.query_one("#diff-state", Static), st)

        template = (latest or {}).get("template_text") or template_now
        llm = live if live is not None else (latest or {}).get("llm_text")
        if llm:
            left, right = word_diff(template, llm, styles.removed, styles.added)
        else:
            left = safe(template)
            right = Text("(generating…)" if live is not None else "(no model text for this place)", style=styles.dim)
        set_text(self.query_one("#diff-template", Static), left)
        set_text(self.query_one("#diff-llm", Static), right)
        set_text(self.query_one("#diff-facts", Static), self._facts(latest, facts, rating, styles))

        hist = Text.assemble(("Earlier results", styles.label))
        if not results:
            hist.append("\n  none yet", style=styles.dim)
        for r in results[:10]:
            hist.append("\n")
            when = DASH if deterministic else _dt.datetime.fromtimestamp(r["created_at"]).strftime("%m-%d %H:%M:%S")
            hist.append(f"#{r['id']} b{r['batch_id']} {when} ", style=styles.dim)
            hist.append(f"{r['source']:<9}", style=styles.done if r["source"] == "llm" else styles.fell_back if r.get("reason") and final_reason(r["reason"]) else styles.dim)
            hist.append_text(safe(f" {r.get('reason') or ''} ", styles.dim))
            hist.append_text(safe(clip(r["text"] or "", 200)))
        set_text(self.query_one("#diff-history", Static), hist)
        self.border_subtitle = clip(name, 40)


    @staticmethod
    def _facts(latest: dict | None, facts, rating, styles: Styles) -> Text:
        """Fact marks of the current text (✓ kept, ✗ dropped, ! contradicted), its rating, the rating keys."""
        if latest is None:
            return Text("")
        t = fact_line(facts, styles, label=f"facts ({latest.get('source') or 'text'})", wrap=False) if facts is not None \
            else Text("facts: – (the place changed since this text)", style=styles.dim)
        t.append("\n")
        t.append_text(quality_text(latest, styles))
        t.append("\n")
        if rating is not None:
            t.append("rated ", style=styles.dim)
            t.append(rating[0], style=styles.done if rating[0] == "good" else styles.error)
            if rating[1]:
                t.append_text(safe(f" — {rating[1]}", styles.dim))
            t.append("  ")
        t.append("+ good  - bad  n note", style=styles.dim)
        return t


def final_reason(reason: str) -> bool:
    return not (reason == "tier" or reason.startswith("rule:"))
