"""The console's auto mode: the texture service (engine.service) in a worker thread.

``g`` (or the palette's "Auto mode") switches it on and off. On, a thread worker runs a
:class:`~engine.service.TextureService` on the console's world file with its own Store, the
console's model and the console's event buffer, so each cycle shows in the queue and the streams
like a batch started by hand. The header shows "auto: next cycle in 42 s, 17 changes waiting".
Off (also mid-cycle) drains the running cycle, as ``texture serve``'s first SIGTERM does: the
places the model is decoding finish and are stored, no new one starts, the cycle's other places
get their template and wait for the model (the next time auto mode is on, they go first in line
with the rest). ``g`` again while it is stopping cancels the places in flight at once (finished
results are kept either way).

:class:`CyclesChart` is the metrics panel's small chart of the service's cycles over time (from
the ``service_cycles`` table, so a ``texture serve`` on the same database shows there too).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from rich.text import Text
from textual.widgets import Static

from engine.service import CycleDone, FileChanges, TextureService
from engine.store import Store, StoreError
from engine.world import WorldError

BARS = "▁▂▃▄▅▆▇█"


class AutoMode:
    def __init__(self, app, changes_factory: Callable[[Any], Any] | None = None):
        self.app = app
        self.changes_factory = changes_factory or (lambda path: FileChanges(path))
        self.on = False
        self.svc: TextureService | None = None
        self.worker = None
        self.cycles_done = 0
        self.dirty = False
        self._timer = None
        self._wake = threading.Event()

    def toggle(self) -> None:
        if self.on:
            self.stop()
        elif self.stopping:
            self.cancel_now()
        else:
            self.start()

    @property
    def stopping(self) -> bool:
        """Off, but the worker still finishes the places in flight (the drain)."""
        return not self.on and self.worker is not None and not self.worker.is_finished

    def start(self) -> None:
        app = self.app
        if app.world_path is None:
            app.notify("Auto mode watches a world file: start the console with --world FILE.", severity="warning",
                       markup=False, timeout=6)
            return
        if self.worker is not None and not self.worker.is_finished:
            app.notify("Auto mode is still stopping: try again in a moment.", markup=False, timeout=3)
            return
        self.on = True
        self._wake.clear()
        self.worker = app.run_worker(self._run, thread=True, exclusive=True, group="auto", name="auto",
                                     exit_on_error=False)
        if self._timer is None:
            self._timer = app.set_interval(1.0, self._tick, name="auto-tick")
        refresh_cycles_chart(app)
        app.notify(f"Auto mode on: watching {app.world_path}", markup=False, timeout=3)
        app._update_status()

    def stop(self) -> None:
        if not self.on:
            return
        self.on = False
        self._wake.set()
        svc = self.svc
        running = svc is not None and svc.status().running_cycle
        if svc is not None:
            svc.stop(drain=True)
        self.app.notify("Auto mode off: the places in flight finish, the cycle's others keep their template and wait "
                        "for the model (g again: cancel them now)." if running else "Auto mode off.",
                        markup=False, timeout=4)
        self.app._update_status()

    def cancel_now(self) -> None:
        svc = self.svc
        if svc is not None:
            svc.stop(cancel=True)
        self.app.notify("Auto mode: cancelling the places in flight; finished results are kept.", markup=False,
                        timeout=4)
        self.app._update_status()

    def label(self) -> str | None:
        if self.stopping and self.svc is not None:
            return "auto: stopping, finishing the places in flight"
        if not self.on:
            return None
        svc = self.svc
        if svc is None:
            return "auto: starting"
        return svc.status().label()

    # -- the worker thread
    def _run(self) -> None:
        app = self.app
        while app.engine_state[0] == "loading" and self.on and not app._stop.is_set():
            app.wait_for_model(self._wake)  # the model is still loading: the service waits for it
        if not self.on or app._stop.is_set():
            return
        store = Store(app.db_path)  # this thread's own connection
        svc = TextureService(store, app.cfg, app.prompts, app.llm, app.world_path,
                             changes=self.changes_factory(app.world_path), log=self._log, observer=self._observe)
        try:
            try:
                svc.start()
            except (StoreError, WorldError) as exc:  # another batch holds the database, a bad file
                self.on = False
                self._log(f"Auto mode not started: {exc}")
                return
            self.svc = svc
            if self.on and not app._stop.is_set():
                svc.run_forever()
        finally:
            self.svc = None
            svc.close()
            store.close()

    def _observe(self, ev: Any) -> None:
        self.app.events.put(ev)
        if isinstance(ev, CycleDone):
            self.cycles_done += 1
            self.dirty = True

    def _log(self, msg: str) -> None:
        try:
            self.app.call_from_thread(self.app.notify, msg, title="Auto", markup=False, timeout=5)
        except Exception:  # the app is closing
            pass

    def _tick(self) -> None:
        if self.on or self.dirty:
            self.app._update_status()
        if self.dirty:
            self.dirty = False
            refresh_cycles_chart(self.app)

    def shutdown(self) -> None:
        self.on = False
        self._wake.set()
        if self.svc is not None:
            self.svc.stop(cancel=True)


class CyclesChart(Static):
    """Service cycles over time: per cycle the places run, the model's share and the backlog."""

    DEFAULT_CSS = "CyclesChart { height: auto; margin: 1 0 0 0; }"

    def show(self, cycles: list[dict], styles) -> None:
        t = Text()
        t.append("service cycles", style=styles.label)
        if not cycles:
            t.append("  none yet (o starts auto mode; texture serve runs it headless)", style=styles.dim)
            self.update(t)
            return
        cycles = cycles[-24:]
        top = max(max(c.get("changed") or 0 for c in cycles), 1)
        back = max(max(c.get("backlog") or 0 for c in cycles), 1)
        t.append(f"  last {len(cycles)}\n", style=styles.dim)
        t.append("places  ", style=styles.dim)
        t.append("".join(BARS[min(7, int(7 * (c.get("changed") or 0) / top))] for c in cycles))
        t.append(f"  max {top}\n", style=styles.dim)
        t.append("model   ", style=styles.dim)
        t.append("".join(BARS[min(7, int(7 * (c.get("llm") or 0) / top))] for c in cycles), style=styles.done)
        t.append("\nbacklog ", style=styles.dim)
        t.append("".join(BARS[min(7, int(7 * (c.get("backlog") or 0) / back))] for c in cycles), style=styles.fell_back)
        t.append(f"  max {back}\n", style=styles.dim)
        last = cycles[-1]
        p50 = last.get("latency_p50_s")
        t.append(f"last: {last.get('changed')} places, {last.get('llm')} by the model, backlog {last.get('backlog')}, "
                 f"latency p50 {'n/a' if p50 is None else f'{p50:.1f} s'}", style=styles.dim)
        self.update(t)


def refresh_cycles_chart(app) -> None:
    import json

    try:
        rows = app.store.service_cycles(24)[::-1]
    except Exception:  # a database from before migration 5, or closing
        rows = []
    try:
        chart = app.ui.metrics.query_one(CyclesChart)
    except Exception:
        if not rows and not app.auto.on:
            return  # shown once there is a cycle (or auto mode is on): the panel stays as it was
        try:
            chart = CyclesChart(id="cycles-chart", markup=False)
            app.ui.metrics.query_one("#metrics-scroll").mount(chart)
        except Exception:
            return
    cycles = []
    for r in reversed(rows):
        try:
            cycles.append(json.loads(r["metrics"]))
        except (ValueError, TypeError):
            pass
    chart.show(cycles, app._styles)
