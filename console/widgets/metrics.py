"""4. The metrics: the running batch's figures and charts, the stored batches'."""

from __future__ import annotations

import datetime as _dt
import json
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot
from .base import DASH, FocusScroll, Panel, Styles, _fmt, set_text




# --- 4. metrics -----------------------------------------------------------------------------

class Chart(PlotextPlot):
    """A plotext chart that is built once per change of its data, size or theme.

    ``PlotextPlot`` rebuilds the whole chart on every render; a focus change, a scroll or a
    repaint of anything overlapping it then costs a plotext build (a few ms each, four charts).
    Callers change the data through ``plt`` and then call :meth:`changed`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._version = 0
        self._cached: tuple | None = None

    def changed(self) -> None:
        self._version += 1
        self.refresh()

    def render(self):
        key = (self._version, self.size.width, self.size.height, self.app.theme)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, super().render())
        return self._cached[1]


class MetricsPanel(Panel):
    PANEL_TITLE = "4 Metrics"
    FOCUS_TARGET = "#metrics-scroll"

    def compose(self) -> ComposeResult:
        with FocusScroll(id="metrics-scroll"):
            yield Static(Text("No batch yet."), id="glance", markup=False)
            with Grid(id="charts"):
                yield Chart(id="chart-fallback", classes="chart")
                yield Chart(id="chart-latency", classes="chart")
                yield Chart(id="chart-tps", classes="chart")
                yield Chart(id="chart-dpm", classes="chart")
                yield Chart(id="chart-quality", classes="chart")
                yield Chart(id="chart-facts", classes="chart")

    _stored: tuple | None = None  # the last stored figures shown: (metrics, batches, latencies, deadlines)
    reviewed: dict | None = None  # what reviewers said (engine.review.review_stats); None: no review yet

    def show(self, metrics: list[dict], batches: list[dict], latencies: list[float], deadlines: list[float],
             styles: Styles, deterministic: bool, live: dict | None = None) -> None:
        """The stored batches' figures; ``live`` (console.live's snapshot) adds the running batch."""
        self._stored = (metrics, batches, latencies, deadlines)
        if live is not None:
            self.show_live(live, styles, deterministic, charts=True)
            return
        glance = Text()
        m = metrics[0] if metrics else None
        if m is None:
            glance.append("No batch with model work yet.", style=styles.dim)
        else:
            facts = _batch_facts(m)
            quality = _batch_figure(m, "average_quality")
            figures = [("latency", _fmt(m.get("avg_latency_ms"), 0, "ms")),
                       ("fallback", _fmt(m.get("fallback_pct"), 1, "%")),
                       ("quality", _fmt(quality, 2)),
                       ("facts", _fmt(None if facts is None else facts * 100, 0, "%")),
                       ("throughput", _fmt(m.get("throughput_per_min"), 1, "/min")),
                       ("tokens/s", _fmt(m.get("tokens_per_s"), 1)),
                       ("ttft", _fmt(m.get("ttft_ms"), 0, "ms")),
                       ("memory", _fmt(m.get("memory_mb"), 0, "MB"))]
            if deterministic:
                figures = [(k, v if k in ("fallback", "facts", "quality") else DASH) for k, v in figures]
            glance.append(f"batch {m['batch_id']}  ", style=styles.label)
            glance.append_text(self._pack(figures, styles, first=glance.cell_len))
        self._append_reviewed(glance, styles)
        self.query_one("#glance", Static).update(glance)
        self._charts(metrics, batches, latencies, deadlines, deterministic)

    def _append_reviewed(self, glance: Text, styles: Styles) -> None:
        """The reviewers' line under the figures (only once something was reviewed)."""
        r = self.reviewed
        if not r or not r.get("n"):
            return
        glance.append("\n")
        head = Text(f"reviewed: {r['n']}  ", style=styles.label)
        glance.append_text(head)
        low = r.get("llm_scored_2_or_less")
        ci = (r.get("intervals") or {}).get("llm_scored_2_or_less")
        figures = [("shipped LLM", str(r["llm_shipped"])), ("same", str(r["same"])),
                   ("template", str(r["template_shipped"])),
                   ("LLM ≤2", "—" if low is None else f"{low * 100:.0f}%" + (
                       f" ({ci[0] * 100:.0f}–{ci[1] * 100:.0f}%)" if ci else "")),
                   ("mean LLM/template", f"{r['llm_mean']:.2f}/{r['template_mean']:.2f}")]
        glance.append_text(self._pack(figures, styles, first=head.cell_len))

    def _pack(self, figures: list, styles: Styles, first: int = 0) -> Text:
        """``name value`` pairs, two spaces apart, on lines of the glance's width: a line never
        breaks inside a pair (Rich would break at the space between name and value)."""
        width = max((self.query_one("#glance", Static).size.width or self.size.width - 2 or 44) - 2, 20)
        out, used = Text(), first
        for i, (k, v) in enumerate(figures):
            item = Text.assemble((f"{k} ", styles.dim), v)
            if i and used + 2 + item.cell_len > width:
                out.append("\n")
                used = 0
            elif i:
                out.append("  ")
                used += 2
            out.append_text(item)
            used += item.cell_len
        return out

    def show_live(self, live: dict, styles: Styles, deterministic: bool, charts: bool = True) -> None:
        """The running batch: its running figures in the glance line and as the last point of the charts."""
        glance = Text()
        glance.append(f"batch {live.get('batch_id') or '…'} running  ", style=styles.label)
        glance.append(f"{live.get('finished', 0):,}/{live.get('total', 0):,} stored", style=styles.dim)
        if live.get("llm_places"):
            glance.append(f" · model {live.get('llm_finished', 0):,}/{live['llm_places']:,}", style=styles.dim)
        glance.append("\n")
        facts = live.get("fact_coverage")
        figures = [("fallback", _fmt(live.get("fallback_pct"), 1, "%")),
                   ("quality", _fmt(live.get("average_quality"), 2)),
                   ("llm quality", _fmt(live.get("llm_average_quality"), 2)),
                   ("facts", _fmt(None if facts is None else facts * 100, 0, "%")),
                   ("tokens/s", _fmt(live.get("tokens_per_s"), 1)),
                   ("latency", _fmt(live.get("avg_latency_ms"), 0, "ms")),
                   ("throughput", _fmt(live.get("throughput_per_min"), 1, "/min"))]
        if deterministic:
            figures = [(k, v if k in ("fallback", "facts", "quality", "llm quality") else DASH) for k, v in figures]
        glance.append_text(self._pack(figures, styles))
        self._append_reviewed(glance, styles)
        set_text(self.query_one("#glance", Static), glance)
        if charts and self._stored is not None:
            metrics, batches, latencies, deadlines = self._stored
            bid = live.get("batch_id")
            row = {"batch_id": bid, "started_at": time.time(), "tokens_per_s": live.get("tokens_per_s"),
                   "throughput_per_min": live.get("throughput_per_min"), "running": True,
                   "metrics": json.dumps({k: live.get(k) for k in (
                       "average_quality", "llm_average_quality", "template_average_quality", "fact_coverage",
                       "template_fact_coverage",
                       "llm_fact_coverage")})}
            mets = [row] + [m for m in metrics if m.get("batch_id") != bid]
            # The running batch's bar: its non-policy reasons over the places finished that could
            # have used the model (the stored bars divide by every non-policy place the same way).
            reasons = {k: v for k, v in (live.get("reasons") or {}).items() if k != "tier" and not k.startswith("rule:")}
            brow = {"id": bid, "places": live.get("fallback_base") or 0, "reasons": reasons}
            bats = [brow] + [b for b in batches if b.get("id") != bid]
            self._charts(mets, bats, latencies, deadlines, deterministic, live=True)

    def _charts(self, metrics, batches, latencies, deadlines, deterministic, live: bool = False) -> None:
        chrono = list(reversed(batches))  # oldest first
        self._fallback_chart(chrono)
        if not live:  # the running batch adds nothing to the stored latencies
            self._latency_chart(latencies, deadlines, deterministic)
        mets = list(reversed(metrics))
        self._series_chart("#chart-tps", "tokens/s per batch", mets, "tokens_per_s", deterministic)
        self._series_chart("#chart-dpm", "descriptions/min per batch", mets, "throughput_per_min", deterministic)
        self._share_chart("#chart-quality", "quality per batch (0-1)", mets,
                          (("stored", "average_quality"), ("llm", "llm_average_quality"), ("template", "template_average_quality")))
        self._share_chart("#chart-facts", "fact coverage per batch (0-1)", mets,
                          (("all", "fact_coverage"), ("llm", "llm_fact_coverage"), ("template", "template_fact_coverage")))

    @staticmethod
    def _unchanged(w: "Chart", sig) -> bool:
        """True when the chart already shows exactly this data (no plotext rebuild); else remembers it."""
        if getattr(w, "_data_sig", None) == sig:
            return True
        w._data_sig = sig
        return False

    def _share_chart(self, sel: str, title: str, metrics: list[dict], series: tuple) -> None:
        """Figures in 0..1 from the batch metrics JSON, one line per series, batches on the x axis.

        Deterministic figures (quality and fact scores are pure functions of the texts), so they are
        drawn in snapshot tests too."""
        w = self.query_one(sel, Chart)
        mets = metrics[-12:]
        sig = tuple((m["batch_id"], *(_batch_figure(m, key) for _, key in series)) for m in mets)
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        xs = [str(m["batch_id"]) for m in mets]
        drawn = False
        for label, key in series:
            pts = [(i, _batch_figure(m, key)) for i, m in enumerate(mets)]
            pts = [(i, v) for i, v in pts if v is not None]
            if pts:
                plt.plot([i for i, _ in pts], [v for _, v in pts], label=label, marker="dot" if len(pts) < 2 else None)
                drawn = True
        if drawn:
            plt.ylim(0, 1)
            step = max(len(xs) // 6, 1)
            plt.xticks(list(range(len(xs)))[::step], xs[::step])
            plt.xlabel("batch")
        w.changed()

    def _fallback_chart(self, batches: list[dict]) -> None:
        w = self.query_one("#chart-fallback", Chart)
        sig = tuple((b.get("id"), b.get("places"), json.dumps(b.get("reasons"), sort_keys=True, default=str))
                    for b in batches[-12:])
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("fallback % per batch, by reason")
        xs, per_reason = [], {}
        for b in batches[-12:]:
            reasons = json.loads(b.get("reasons") or "{}") if isinstance(b.get("reasons"), str) else (b.get("reasons") or {})
            policy = sum(v for k, v in reasons.items() if k == "tier" or k.startswith("rule:"))
            eligible = max((b.get("places") or 0) - policy, 0)
            xs.append(str(b["id"]))
            for k, v in reasons.items():
                if k == "tier" or k.startswith("rule:"):
                    continue
                per_reason.setdefault(k, {})[b["id"]] = 100.0 * v / eligible if eligible else 0.0
        if xs and per_reason:
            names = sorted(per_reason)
            ys = [[per_reason[n].get(int(x), 0.0) for x in xs] for n in names]
            plt.stacked_bar(xs, ys, labels=names)
            plt.ylim(0, 100)
        elif xs:
            plt.bar(xs, [0.0] * len(xs))
            plt.ylim(0, 100)
        plt.xlabel("batch")
        w.changed()

    def _latency_chart(self, latencies: list[float], deadlines: list[float], deterministic: bool) -> None:
        w = self.query_one("#chart-latency", Chart)
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("latency (s) vs deadline" + ("s" if len(deadlines) > 1 else ""))
        if latencies and not deterministic:
            plt.hist([x / 1000.0 for x in latencies], bins=20)
            for d in deadlines:
                plt.vline(d, "red")
            hi = max([*deadlines, max(latencies) / 1000.0]) * 1.08
            plt.xlim(0, hi)
        w.changed()

    def _series_chart(self, sel: str, title: str, metrics: list[dict], key: str, deterministic: bool) -> None:
        w = self.query_one(sel, Chart)
        # Labels are minutes: a running batch's point redraws only when its figure moves.
        sig = (deterministic, tuple((m["batch_id"], m.get(key), int((m.get("started_at") or 0) // 60)) for m in metrics))
        if self._unchanged(w, sig):
            return
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        pts = [(m["batch_id"], m[key], m.get("started_at")) for m in metrics if m.get(key) is not None]
        if pts and not deterministic:
            xs = list(range(len(pts)))
            plt.plot(xs, [p[1] for p in pts])
            labels = [_dt.datetime.fromtimestamp(p[2]).strftime("%H:%M") if p[2] else str(p[0]) for p in pts]
            step = max(len(xs) // 4, 1)
            plt.xticks(xs[::step], labels[::step])
        w.changed()


def _batch_figure(m: dict, key: str) -> float | None:
    """A figure from the batch metrics JSON (``engine.dispatch`` records them per batch)."""
    try:
        v = json.loads(m.get("metrics") or "{}").get(key)
    except (TypeError, ValueError, AttributeError):
        return None
    return float(v) if isinstance(v, (int, float)) else None


def _batch_facts(m: dict) -> float | None:
    """The batch's fact coverage (0..1), recorded by the batch runner in the metrics JSON."""
    try:
        v = json.loads(m.get("metrics") or "{}").get("fact_coverage")
    except (TypeError, ValueError, AttributeError):
        return None
    return float(v) if isinstance(v, (int, float)) else None
