"""The main screen's panels, filled and refreshed: queue, streams, diff, metrics, prompts, status bar."""

from __future__ import annotations

import time

from rich.text import Text

from .auto import refresh_cycles_chart
from engine.factcheck import check_facts
from engine.policy import decide
from engine.prompts import DEFAULT_PROMPT
from engine.templates import render_template

from .model import SORTS
from .textview import clip, safe
from .themes import save_settings
from .widgets import Styles

# The running batch's figures in the metrics panel (console.live): glance line and charts, at most
# this often: each redraw is work on the UI thread while keys are pressed. Alternating runs of
# console.bench's key presses during a 4-stream batch, on a shared 2-core machine (load ~15), did
# not tell the console with live figures from the one without (p50 61-111 ms both ways).
LIVE_GLANCE_S = 0.5
LIVE_CHARTS_S = 2.0


def reviewed_stats(store) -> dict | None:
    """What reviewers said (engine.review), for the metrics panel; None before the first review."""
    from engine import review as rv

    try:
        stats = rv.review_stats(store)  # one small read of the reviews table
    except Exception:  # an old or damaged database must not take the panel down
        return None
    return stats if stats["n"] else None


class PanelsMixin:
    """Part of :class:`console.app.TextureApp` (split from it for length): what redraws the panels.

    Runs on the UI thread; uses the app's state (``self.ui``, ``self.state``, ``self.store``, ...).
    """

    # ------------------------------------------------------------------ panels
    def _rebuild_queue(self, top: bool = False) -> None:
        st = self.state
        rows = st.visible(**self.filters)
        queue = self.ui.queue
        queue.rebuild(rows, self.marked, self._styles, self.deterministic, top=top, view=st.view)
        f = ", ".join(f"{k}={v}" for k, v in self.filters.items() if v)
        sort = dict(SORTS).get(st.sort) if st.sort else None
        queue.border_subtitle = (f"{len(rows):,} {'places' if st.view == 'world' else 'rows'}" + (f" · filter {f}" if f else "")
                                 + (f" · sort {sort}" if sort else ""))

    def _load_world(self) -> None:
        """The world view's rows: every place with its current description (one store query)."""
        try:
            current = self.store.current_overview()
        except Exception as exc:  # an old or damaged database must not take the queue down
            current = {}
            self.notify(f"Could not read the current descriptions: {exc}", severity="warning", markup=False)
        self.state.load_world(self.places, current, lambda p: decide(p, self.cfg).tier)

    def _refresh_metrics(self) -> None:
        metrics = self.store.metrics(30)
        batches = self.store.batches(12)
        latencies: list[float] = []
        for b in batches[:3]:
            latencies += [r["latency_ms"] for r in self.store.batch_results(b["id"])
                          if r["latency_ms"] is not None and r["source"] in ("llm", "template") and r["tokens"] is not None]
        deadlines = list(self.state.batch.deadlines)
        if not deadlines and self.llm is not None:
            try:
                deadlines = [self.cfg.timeout_ms / 1000.0] if self.cfg.timeout_ms else [self.llm.deadline_for(self.cfg.budgets["full"])]
            except Exception:
                deadlines = []
        live = self.state.live.snapshot() if self.state.live.running else None
        self.ui.metrics.reviewed = reviewed_stats(self.store)
        self._live_shown = (self.state.live.batch_id, self.state.live.version)
        self.ui.metrics.show(metrics, batches, latencies, deadlines, self._styles, self.deterministic, live=live)
        refresh_cycles_chart(self)

    def _refresh_live_metrics(self, now: float) -> None:
        """The running batch's figures (console.live), coalesced: the glance line at most twice a
        second, the charts every 2 s (each rebuilt only if its data moved), whatever the event rate."""
        live = self.state.live
        metrics = self.ui.metrics
        main = self._main_screen
        if not metrics.display or (main is not None and main.maximized is not None and main.maximized is not metrics):
            return
        moved = self._live_shown != (live.batch_id, live.version)
        if not live.running and not moved:
            return
        if now - self._live_at < LIVE_GLANCE_S:
            return
        self._live_at = now
        self._live_shown = (live.batch_id, live.version)
        snap = live.snapshot()
        charts = now - self._live_charts_at >= LIVE_CHARTS_S
        if charts:
            self._live_charts_at = now
        metrics.show_live(snap, self._styles, self.deterministic, charts=charts)

    def _refresh_prompts(self) -> None:
        panel = self.ui.prompts
        panel.show(self.prompts.status(), self._styles, self.deterministic)
        self._refresh_preview()
        if self._workbench is not None:
            self._workbench.prompts_changed()

    def _refresh_preview(self) -> None:
        panel = self.ui.prompts
        name = panel.selected_name() or DEFAULT_PROMPT
        prompt = self.prompts.get(name)
        place = self.by_urn.get(self.selected_urn or "")
        title = Text.assemble(("Preview ", self._styles.label))
        if prompt is None:
            panel.show_preview(title, Text(f"prompt {name!r} has no good version", style=self._styles.error))
            return
        if place is None:
            panel.show_preview(title, Text("select a place to render this prompt for it", style=self._styles.dim))
            return
        title.append_text(safe(f"{name} v{prompt.version} for {place.name}", self._styles.dim))
        tier = decide(place, self.cfg).tier
        if prompt.per_sentence:  # one request per template sentence (engine.compose): show each
            parts = prompt.render_sentences(place, tier)
            body = Text()
            for j, (_, text) in enumerate(parts):
                body.append(f"── request {j + 1} of {len(parts)} (sentence {j + 1}) ──\n", style=self._styles.dim)
                body.append_text(safe(text))
                body.append("\n\n")
            panel.show_preview(title, body)
            return
        panel.show_preview(title, safe(prompt.render(place, tier)))

    def _refresh_diff(self) -> None:
        urn = self.selected_urn
        if not urn:
            return
        place = self.by_urn.get(urn)
        results = self.store.results_for(urn, 10)
        live = next((l.text for l in self.state.lanes if l.urn == urn), None)
        template_now = render_template(place) if place else ""
        latest = results[0] if results else None
        facts = rating = None
        if latest is not None and live is None:
            if place is not None and place.state_hash == latest["state_hash"]:
                facts = check_facts(place, latest["text"] or "")  # pure string work, about a millisecond
            rating = self.store.latest_rating(latest["id"])
        self.ui.diff.show(place, urn, results, template_now, live, self.cfg, self._styles,
                          self.deterministic, facts=facts, rating=rating)

    def _select(self, urn: str | None, now: bool = False) -> None:
        if urn == self.selected_urn:
            return
        self.selected_urn = urn
        # Debounced: holding an arrow key moves the cursor at full speed and the diff (a layout
        # pass of the whole screen) redraws once the cursor rests for a moment.
        if self._select_timer is not None:
            self._select_timer.stop()
            self._select_timer = None
        if now:
            self._show_selected()
        else:
            self._select_timer = self.set_timer(0.04, self._show_selected, name="select-debounce")

    def _show_selected(self) -> None:
        self._select_timer = None
        self._refresh_diff()
        self._refresh_preview()

    def _update_status(self) -> None:
        st = self._styles
        t = Text()
        t.append(" World Texture ", style=st.label)
        state, detail, progress = self.engine_state
        t.append("model ", style=st.dim)
        mstyle = {"ready": st.done, "loading": st.running, "failed": st.cancelled}.get(state, st.fell_back)
        label = state + (f" {progress * 100:.0f}%" if progress is not None and state == "loading" else "")
        t.append(label, style=mstyle)
        model_id = getattr(self.llm, "model_id", None)
        if model_id and state == "ready":
            t.append_text(safe(f" {clip(model_id, 24)}", st.dim))
            from engine.enhance import status_label  # the mode, or templates kept by blind review

            t.append_text(safe(f" {status_label(self.cfg, model_id)}", st.dim))
        elif detail and state != "ready":
            narrow = (self.size.width or 120) < 100
            t.append_text(safe(f" {clip(detail, 18 if narrow else 40)}", st.dim))
        b = self.state.batch
        if b.batch_id is not None or self.batch_running:
            t.append(" │ ", style=st.dim)
            status = b.status if not self.batch_running or b.status not in ("done", "cancelled") else "running"
            if self.batch_running and b.status == "waiting":
                status = "waiting for model"
            t.append(f"batch {b.batch_id or '…'} {status} ")
            t.append(f"{b.finished:,}/{b.total:,}", style=st.label)
            if self.batch_running and not self.deterministic and b.started:
                t.append(f" {time.monotonic() - b.started:4.0f}s", style=st.dim)
        if self.cluster_llm is not None and self.cluster_llm.ready():
            t.append_text(safe(f" │ {self.cluster_llm.size_label()}", st.dim))
        auto = self.auto.label()
        if auto:
            t.append(" │ ", style=st.dim)
            t.append_text(safe(auto, st.running))
        if self.paused:
            t.append(" │ ", style=st.dim)
            t.append("PAUSED", style=st.fell_back)
        if any(self.filters.values()):
            t.append(" │ filtered", style=st.dim)
        if self.marked:
            t.append(f" │ {len(self.marked)} marked", style=st.dim)
        if t != self._status_shown:  # redraw (without a layout pass) only when it changed
            self._status_shown = t
            self.ui.status.update(t, layout=False)

    def _engine_changed(self) -> None:
        self._shown_engine = self.engine_state
        state, detail, _ = self.engine_state
        if state in ("unavailable", "failed") and not self._service_notified:
            self._service_notified = True
            self.notify(f"Model {state}: {detail}. Template-only until it is fixed.", severity="warning",
                        markup=False, timeout=8)
        self.refresh_bindings()
        self._refresh_metrics() if state == "ready" and self.store is not None else None

    def _on_theme_changed(self, theme) -> None:
        save_settings(theme=theme.name)
        self._styles = Styles(self)
        panel = self._panel_of(self._main_screen.focused if self._main_screen else None)
        if panel is not None:
            panel.show_focus(self._focus_look())
        if self.store is None:
            return
        self._rebuild_queue()
        self._refresh_diff()
        self._refresh_prompts()
        self._refresh_metrics()
        self.ui.streams.sync(self.state.lanes, self._styles, self.deterministic)
        self._update_status()
        self._update_keybar()
