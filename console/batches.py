"""The model service and the batches of the console: loading the service, choosing places, running a batch."""

from __future__ import annotations

import os
import time
from typing import Callable

from textual import work
from textual.worker import Worker, WorkerState

from engine.config import Config
from engine.dispatch import BatchRunner, changed_places
from engine.llm.events import EngineStatus

from engine.policy import decide
from engine.store import Store, StoreError
from engine.world import Place

from .textview import clip


class ServiceMissing(RuntimeError):
    """engine.llm.service is not installed/importable: the console runs template-only."""


def default_llm_factory(cfg: Config, log: Callable[[str], None] | None = None, on_status=None):
    """The real model service, or a ScriptedLLM when TEXTURE_SCRIPTED=1 (demos, screenshots)."""
    if os.environ.get("TEXTURE_SCRIPTED") == "1":
        from engine.llm.scripted import ScriptedLLM

        delay = float(os.environ.get("TEXTURE_SCRIPTED_DELAY", "0.06"))
        return ScriptedLLM(concurrency=cfg.concurrency, token_delay_s=delay, model_id="scripted")
    try:
        from engine.llm.service import start_service
    except ImportError as exc:
        raise ServiceMissing(f"engine.llm.service is not available ({exc})") from None
    return start_service(cfg, log=log or (lambda m: None), on_status=on_status)



class BatchesMixin:
    """Part of :class:`console.app.TextureApp` (split from it for length): the service loader and
    the batch worker (both thread workers; they reach the UI through messages and ``call_from_thread``).
    """

    # ------------------------------------------------------------------ service
    @work(thread=True, group="service", name="service-loader")
    def _load_service(self) -> None:
        cfg = self.cfg
        if not cfg.enabled:
            self.engine_state = ("disabled", "FLUX_LLM_ENABLED=false: template-only", None)
            return
        if self.llm_factory is None:
            self.engine_state = ("unavailable", "no model service configured", None)
            return

        def log(msg: str) -> None:
            state, _, progress = self.engine_state
            self.engine_state = (state, str(msg), progress)

        if self.pull and self.llm_factory is default_llm_factory and os.environ.get("TEXTURE_SCRIPTED") != "1":
            self._maybe_pull(log)
        def on_status(st: EngineStatus) -> None:  # from the service's thread: a plain attribute write
            self.engine_state = (st.state, st.detail or "", st.progress)

        try:
            svc = self.llm_factory(cfg)
        except ServiceMissing as exc:
            self.engine_state = ("unavailable", str(exc), None)
            return
        except Exception as exc:  # a broken model folder must not take the console down
            self.engine_state = ("failed", f"{type(exc).__name__}: {exc}", None)
            return
        self.llm = svc
        svc.add_status_listener(on_status)  # the current status now, then every change

    def _maybe_pull(self, log) -> None:
        """First run: fetch the default model (only when no model path is configured)."""
        if self.cfg.model_path:
            return
        try:
            from engine.llm import models
        except ImportError:
            return
        try:
            if models.resolve_model(None) is None:
                self.engine_state = ("loading", "fetching the default model (first run)", None)
                models.pull_default(progress=lambda msg, *a: setattr(self, "engine_state", ("loading", str(msg), None)))
        except Exception as exc:  # the service then reports the missing model itself
            log(f"model pull failed: {exc}")

    # ------------------------------------------------------------------ batches
    def select_places(self, kind: str, arg: str = "") -> tuple[list[Place], str]:
        """The places a batch of ``kind`` runs on, and its selection label."""
        places = self.places
        if kind == "changed":
            return changed_places(self.store, places), "changed"
        if kind == "selected":
            urns = set(self.marked) or ({self.selected_urn} if self.selected_urn else set())
            return [p for p in places if p.urn in urns], f"selected x{len(urns)}"
        if kind.startswith("tier:"):
            tier = kind.split(":", 1)[1]
            return [p for p in places if decide(p, self.cfg).tier == tier], f"tier={tier}"
        if kind == "random":
            try:
                n = max(int(str(arg).strip() or "20"), 0)
            except ValueError:
                n = 20
            return self._rng.sample(places, min(n, len(places))), f"random {n}"
        if kind == "match":
            text = str(arg).strip().lower()
            if not text:
                return [], "match"
            return [p for p in places if text in p.name.lower() or text in p.urn.lower()], f"match {clip(arg, 30)}"
        if kind == "rerun":
            return [p for p in places if p.urn == arg], "rerun"
        if kind == "all":
            return list(places), "all"
        raise ValueError(f"unknown batch kind {kind!r}")

    def start_batch(self, kind: str, arg: str = "", where: str | None = None) -> bool:
        """``where``: "local" (this machine) or "cluster" (engine.cluster); None = FLUX_CLUSTER's choice."""
        if self.batch_running:
            self.notify("A batch is already running (c cancels it).", severity="warning")
            return False
        places, selection = self.select_places(kind, arg)
        if not places:
            self.notify(f"Nothing to do: no place matches ({selection}).", markup=False)
            return False
        self.batch_running = True
        self._batch_cancel.clear()
        b = self.state.batch
        b.batch_id, b.selection, b.status, b.total, b.finished = None, selection, "starting", len(places), 0
        b.started = time.monotonic()
        where = where or ("cluster" if self.cfg.cluster else "local")
        self.batch_worker = self._run_batch(places, selection, where)
        self.refresh_bindings()
        self._update_status()
        return True

    @work(thread=True, exclusive=True, group="batch", name="batch")
    def _run_batch(self, places: list[Place], selection: str, where: str = "local") -> dict | None:
        needs_llm = self.cfg.enabled and any(decide(p, self.cfg).eligible for p in places)
        llm = self.llm
        if needs_llm and where == "cluster":
            llm = self._cluster_service()
            if llm is None:
                self.state.batch.status = "failed"
                return None
        elif needs_llm:
            # The model may still be loading: wait for it (cancellable) rather than fall back.
            self.wait_for_model(self._batch_cancel, lambda: setattr(self.state.batch, "status", "waiting"))
            if self._batch_cancel.is_set() or self._stop.is_set():
                self.state.batch.status = "cancelled"
                return None
        store = Store(self.db_path)  # this thread's own connection
        try:
            runner = BatchRunner(store, self.cfg, self.prompts, llm, observer=self.events.put)
            self._runner = runner
            if self._batch_cancel.is_set():
                runner.cancel()
            # Work a killed process left unfinished is resumed first, exactly once.
            resumed = runner.run_pending()
            if resumed:
                n = sum(s.places for s in resumed)
                self.call_from_thread(self.notify, f"Resumed {n} unfinished place(s) from an interrupted batch.",
                                      markup=False)
            return runner.run(places, selection).as_dict()
        finally:
            self._runner = None
            store.close()

    def _cluster_service(self):
        """The cluster's model service (started on first use, on the batch thread); None with a
        notification when it cannot start (Ray missing, no cluster, no worker with the model)."""
        if self.cluster_llm is not None and self.cluster_llm.ready():
            return self.cluster_llm
        self.state.batch.status = "starting cluster"
        try:
            from dataclasses import replace

            from engine.cluster import start_cluster_llm

            cfg = self.cfg if self.cfg.cluster else replace(self.cfg, cluster="auto")
            scripted = ({"token_delay_s": float(os.environ.get("TEXTURE_SCRIPTED_DELAY", "0.06"))}
                        if os.environ.get("TEXTURE_SCRIPTED") == "1" else None)
            refused: list[str] = []
            self.cluster_llm = start_cluster_llm(cfg, log=refused.append, scripted=scripted)
            for msg in refused:
                if "refused" in msg or "did not start" in msg:
                    self.call_from_thread(self.notify, msg, title="Cluster", severity="warning", markup=False, timeout=10)
            return self.cluster_llm
        except Exception as exc:  # ClusterError and anything Ray raises: an operator message
            self.call_from_thread(self.notify, f"Batch not run on the cluster: {exc}", title="Cluster",
                                  severity="error", markup=False, timeout=12)
            return None

    def on_worker_state_changed(self, ev: Worker.StateChanged) -> None:
        if ev.worker.group != "batch":
            return
        if ev.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.batch_running = False
            if ev.state == WorkerState.ERROR:
                self.state.batch.status = "failed"
                err = ev.worker.error
                # Store errors (another batch running, disk full, read-only) are operator messages.
                what = str(err) if isinstance(err, StoreError) else f"{type(err).__name__}: {err}"
                self.notify(f"Batch not run: {what}", severity="error", markup=False, timeout=10)
            self.refresh_bindings()
            self._update_status()
