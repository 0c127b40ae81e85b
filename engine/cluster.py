"""A batch's model work on a Ray cluster (the optional ``cluster`` extra: ``pip install -e '.[cluster]'``).

:class:`ClusterLLM` implements the dispatcher's ``LLMService`` protocol (``submit(requests,
on_event)`` -> a job whose events are ``PlaceStarted``/``Tokens``/``PlaceFinished``/
``BatchFinished``), so :class:`engine.dispatch.BatchRunner` plans the batch, renders every
template and stores every result exactly as for a local batch; only the generation moves.

Shape:

* The driver (this process) connects to Ray (``address="auto"`` or empty: ``ray.init()``, which
  joins a running local ``ray start --head`` or starts a local instance; otherwise the given
  address) and starts ``workers`` :class:`_Worker` actors, spread over the nodes. Each actor
  loads the model once and owns one :class:`~engine.llm.generator.GenerationEngine` with its
  ``concurrency`` streams (MLX stays on that engine's one thread inside the actor's process).
* Before any batch, every actor reports its model id and a fingerprint of the model folder. An
  actor whose model failed to load (not pulled) or differs from the driver's (another model id or
  other weights) is refused with a message naming the worker and what to do, and killed; no good
  worker at all is a :class:`ClusterError`.
* Scheduling is our own over the actors, not ``ray.util.ActorPool``: ActorPool keeps one task in
  flight per actor, so an actor's 4 streams would only be used by chunking places into tasks that
  return when the whole chunk ends; and it has no answer to an actor dying. Here the driver keeps
  up to ``concurrency`` single-place calls in flight per actor (a threaded actor: the calls wait
  on the engine's job queue, so they fill its lanes with continuous refill), takes results with
  ``ray.wait`` as they finish, and gives a freed slot the next place. Faster workers take more.
* An actor that dies (its process killed, its node lost) fails its in-flight calls with
  ``RayActorError``: each such place is re-queued to the live workers once; lost a second time it
  finishes ``error`` (the template stays). With no worker left, the rest finish ``error``. Every
  place gets exactly one ``PlaceFinished`` (the job drops a late duplicate), and the driver stays
  the only writer of the SQLite store, so nothing is stored twice.
* Drain (``job.drain()``): the driver sends no new place to any actor; the calls in flight finish
  as usual and the places not sent finish ``drained`` at once. A place re-queued after its actor
  died is not sent again once the job is drained: it finishes ``drained`` too.
* Determinism: a request carries everything that decides its text (prompt, seed, budget,
  temperature), and the engine's text for a request does not depend on what else it decodes, so a
  place's text from the cluster is byte-identical to the same place run locally with the same model.

Ray is imported only here and only when a cluster is asked for: a single-machine batch never
imports it. This module never imports textual, rich or console.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .llm.base import LLMService
from .llm.events import DRAINED_DETAIL, BatchFinished, EngineStatus, PlaceFinished, PlaceStarted, Tokens
from .llm.jobs import JobBase
from .errors import TextureError

log = logging.getLogger(__name__)

INSTALL_HINT = "python3 -m pip install -e '.[cluster]'"
LOCAL_ADDRESSES = ("", "auto", "local")


class ClusterError(TextureError):
    """The cluster cannot run this batch (Ray missing, no reachable cluster, no usable worker)."""


def ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def import_ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(
            "running on a cluster needs Ray, which is not installed: install the cluster extra with "
            f"`{INSTALL_HINT}` (or `python3 -m pip install 'ray>=2.9'`); without --cluster the batch runs on this machine"
        ) from None
    return ray


def _package_root() -> str:
    import engine

    return str(Path(engine.__file__).resolve().parent.parent)


def connect(address: str | None = "auto", *, num_cpus: int | None = None) -> bool:
    """Connect this process to Ray. Returns True if this call initialised Ray (the caller then
    shuts it down). Already connected: nothing happens."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    addr = (address or "").strip()
    kw: dict = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                    configure_logging=True)
    if addr.lower() not in LOCAL_ADDRESSES:
        _probe(addr)
    try:
        if addr.lower() in LOCAL_ADDRESSES:
            # A local instance runs this checkout's code in the actors, whatever is installed.
            ray.init(num_cpus=num_cpus, runtime_env={"env_vars": {"PYTHONPATH": _package_root()}}, **kw)
        else:
            ray.init(address=addr, **kw)
    except Exception as exc:
        where = "start a local Ray instance" if addr.lower() in LOCAL_ADDRESSES else f"join the Ray cluster at {addr}"
        raise ClusterError(f"could not {where}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                           + ("" if addr.lower() in LOCAL_ADDRESSES else " (is `ray start --head` running there?)")) from None
    return True


def _probe(addr: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing listens at a cluster address (Ray itself retries for minutes)."""
    import socket

    hostport = addr.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterError(f"cluster address {addr!r} is not valid: use HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:10001 or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ClusterError(f"no Ray cluster answers at {addr} ({exc.strerror or exc}): start one there with "
                           "`ray start --head --port=6379`, or use --cluster auto for a local instance") from None


def model_fingerprint(folder: str | os.PathLike | None) -> str | None:
    """A cheap content fingerprint of a model folder: config, tokenizer and the weights' names and
    sizes (a different model, or another import of it, gives another one). None if absent."""
    if folder is None:
        return None
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        return None
    h = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        f = folder / name
        if f.is_file():
            h.update(name.encode())
            h.update(f.read_bytes())
    for f in sorted(folder.glob("model*.safetensors")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class WorkerSpec:
    """What one actor runs: the real model (``kind="model"``; ``model`` a name under models/ or a
    folder, resolved on the worker's machine) or the scripted model (``kind="scripted"``, the test
    seam; ``scripted`` = ScriptedLLM keyword arguments)."""

    kind: str = "model"
    model: str = ""
    concurrency: int = 4
    scripted: dict = field(default_factory=dict)


class _Worker:
    """The Ray actor (wrapped with ``ray.remote`` in :func:`_actor_class`). Threaded: up to
    ``concurrency`` ``generate`` calls wait on the engine at once, plus control calls."""

    def __init__(self, spec: dict, index: int) -> None:
        import socket

        self.index = index
        self.spec = WorkerSpec(**spec)
        self.host = socket.gethostname()
        self.label = f"w{index}@{self.host}"
        self._jobs: dict[int, Any] = {}  # id(job) -> job (the scripted model's jobs are unhashable)
        self._lock = threading.Lock()
        self._pause_seq = 0  # the driver's last pause state applied (see set_paused)
        self.model_folder = None
        if self.spec.kind == "scripted":
            from .llm.scripted import ScriptedLLM

            kw = dict(self.spec.scripted)
            kw.setdefault("concurrency", self.spec.concurrency)
            self.engine = ScriptedLLM(**kw)
        else:
            from .llm.cpu.fastpath import prepare_backend

            prepare_backend()  # before anything imports mlx (the CPU fast path)
            from .config import Config
            from .llm import models
            from .llm.service import start_service

            self.model_folder = models.resolve_model(self.spec.model or None)
            self.engine = start_service(Config(model_path=self.spec.model, concurrency=self.spec.concurrency))

    def info(self, timeout: float = 600.0) -> dict:
        import ray

        ready = self.engine.wait_ready(timeout)
        ctx = ray.get_runtime_context()
        fp = model_fingerprint(self.model_folder) if self.spec.kind == "model" else f"scripted:{self.engine.model_id}"
        return {
            "index": self.index, "label": self.label, "host": self.host, "pid": os.getpid(),
            "node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
            "ready": bool(ready), "reason": None if ready else self.engine.unavailable_reason(),
            "model_id": self.engine.model_id if ready else None, "fingerprint": fp,
            "model_folder": str(self.model_folder) if self.model_folder else None,
            "concurrency": self.spec.concurrency,
            "calibration": dict(getattr(self.engine, "calibration", {}) or {}),
        }

    def deadline_for(self, budget: int) -> float:
        return float(self.engine.deadline_for(int(budget)))

    def generate(self, req: dict) -> dict:
        """One place: submit it to this worker's engine and wait for its result."""
        box: dict = {}
        done = threading.Event()

        def on_event(ev: Any) -> None:
            if isinstance(ev, PlaceFinished) and ev.key == req["key"]:
                box["ev"] = ev
                done.set()

        job = self.engine.submit([req], on_event)
        with self._lock:
            self._jobs[id(job)] = job
        try:
            done.wait()
        finally:
            with self._lock:
                self._jobs.pop(id(job), None)
        ev = box["ev"]
        return {"key": ev.key, "stream": ev.stream, "text": ev.text, "reason": ev.reason, "n_tokens": ev.n_tokens,
                "latency_s": ev.latency_s, "ttft_s": ev.ttft_s, "detail": ev.detail,
                "worker": self.label, "pid": os.getpid()}

    def cancel_all(self) -> int:
        with self._lock:
            jobs = list(self._jobs.values())
        for j in jobs:
            j.cancel()
        return len(jobs)

    def set_paused(self, paused: bool, seq: int) -> bool:
        """Pause or resume this worker's engine, as the driver's ``seq``-th pause state.

        The actor is threaded, and Ray keeps no order between calls of a threaded actor: a resume
        sent just after a pause can run first. So each state carries the driver's sequence number
        and a state older than the one applied is ignored: the last one the driver set wins."""
        with self._lock:
            if seq <= self._pause_seq:
                return False
            self._pause_seq = seq
            (self.engine.pause if paused else self.engine.resume)()
            return True

    def shutdown(self) -> None:
        self.engine.shutdown()


_ACTOR = None


def _actor_class():
    global _ACTOR
    if _ACTOR is None:
        ray = import_ray()
        _ACTOR = ray.remote(_Worker)
    return _ACTOR


@dataclass
class WorkerState:
    index: int
    actor: Any
    info: dict
    alive: bool = True
    free: list = field(default_factory=list)  # free slots (0..concurrency-1)
    done: int = 0

    @property
    def label(self) -> str:
        return self.info.get("label", f"w{self.index}")


class ClusterJob(JobBase):
    """A submitted list of requests on the cluster (an ``engine.llm.jobs.JobBase``, as the engine's
    ``Job`` is): also the keys handed to another worker after one was lost."""

    def __init__(self, job_id: int, requests: list[dict], on_event: Callable | None) -> None:
        super().__init__(job_id, requests, on_event)
        self.requeued: list[str] = []

    def _emit(self, ev: Any) -> None:
        if isinstance(ev, PlaceFinished):
            if ev.key in self.results:  # exactly one result per place, whatever happened
                return
            self.results[ev.key] = ev
        self._deliver(ev)  # an observer's bug never stops the batch


class ClusterLLM(LLMService):
    """The ``LLMService`` the dispatcher uses, over a pool of Ray actors. See the module doc.

    ``specs``: one :class:`WorkerSpec` for every worker, or a list (one per worker).
    ``workers``: how many actors (0/None: one per two CPUs of the cluster, at least one).
    ``cpus_per_worker``: Ray CPUs each actor reserves (None: the cluster's CPUs shared out, 1-2).
    ``expected_fingerprint``: the model folder fingerprint every worker must have (None: the
    driver's own copy of the model if it has one, else the first ready worker's).
    """

    CAN_PAUSE = True
    CAN_CANCEL = True
    CAN_DRAIN = True

    def __init__(self, specs: WorkerSpec | list[WorkerSpec], address: str | None = "auto", workers: int | None = None,
                 *, cpus_per_worker: float | None = None, ready_timeout_s: float = 600.0,
                 expected_fingerprint: str | None = None, log: Callable[[str], None] = lambda m: None,
                 num_cpus: int | None = None) -> None:
        self.address = address or "auto"
        self._specs = specs
        self._want = workers
        self._cpus_per_worker = cpus_per_worker
        self._ready_timeout_s = ready_timeout_s
        self._expected_fp = expected_fingerprint
        self._log = log
        self._num_cpus = num_cpus
        self._owns_ray = False
        self.workers: list[WorkerState] = []
        self.refused: list[str] = []  # one message per refused worker
        self.model_id: str | None = None
        self.concurrency = 1
        self._ids = itertools.count(1)
        self._paused = threading.Event()
        self._pause_lock = threading.Lock()
        self._pause_seq = 0  # numbers the pause states sent to the workers (see _Worker.set_paused)
        self._deadlines: dict[int, float] = {}
        self._started = False
        self._lost: list[str] = []

    # ------------------------------------------------------------------ start
    def start(self) -> "ClusterLLM":
        """Connect, start the actors, wait for their models, refuse the unusable ones. Raises
        ClusterError when no worker can run the batch."""
        ray = import_ray()
        self._owns_ray = connect(self.address, num_cpus=self._num_cpus)
        try:
            self._start_workers(ray)
        except BaseException:
            self.shutdown()
            raise
        self._started = True
        return self

    def _start_workers(self, ray) -> None:
        resources = ray.cluster_resources()
        cpus = float(resources.get("CPU", 1.0))
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        n = int(self._want or 0) or max(1, int(cpus // 2))
        specs = self._specs if isinstance(self._specs, list) else [self._specs] * n
        n = len(specs)
        per = self._cpus_per_worker
        if per is None:
            per = max(1, min(2, int(cpus // n))) if cpus >= n else 0
        actor_cls = _actor_class()
        actors = []
        for i, spec in enumerate(specs):
            opts: dict = dict(num_cpus=per, max_concurrency=spec.concurrency + 4, max_restarts=0, max_task_retries=0)
            if len(nodes) > 1:
                opts["scheduling_strategy"] = "SPREAD"
            actors.append(actor_cls.options(**opts).remote(asdict(spec), i))
        refs = [a.info.remote(self._ready_timeout_s) for a in actors]
        ready, pending = ray.wait(refs, num_returns=len(refs), timeout=self._ready_timeout_s + 30)
        infos: list[dict | None] = []
        for i, ref in enumerate(refs):
            if ref in pending:
                infos.append(None)
                self.refused.append(f"cluster worker w{i} did not start within {self._ready_timeout_s + 30:.0f} s "
                                    f"(the cluster has {cpus:g} CPUs for {n} workers of {per:g} CPU each)")
                continue
            try:
                infos.append(ray.get(ref))
            except Exception as exc:
                infos.append(None)
                self.refused.append(f"cluster worker w{i} failed to start: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}")
        expected_fp = self._expected_fp
        if expected_fp is None and not isinstance(self._specs, list) and self._specs.kind == "model":
            from .llm import models

            expected_fp = model_fingerprint(models.resolve_model(self._specs.model or None))
        good: list[tuple[int, dict]] = []
        for i, inf in enumerate(infos):
            if inf is None:
                continue
            where = f"cluster worker {inf['label']} (node {inf['node_ip']}, pid {inf['pid']})"
            if not inf["ready"]:
                self.refused.append(f"{where} is refused: its model is not available ({inf['reason']}); "
                                    "run `texture models pull` (or import the same model) on that machine")
                continue
            ref_id = self.model_id or (good[0][1]["model_id"] if good else None)
            ref_fp = expected_fp or (good[0][1]["fingerprint"] if good else None)
            if ref_id is not None and inf["model_id"] != ref_id:
                self.refused.append(f"{where} is refused: it has model {inf['model_id']} but this batch uses {ref_id}; "
                                    "install the same model (and the same version of this package) on that machine")
                continue
            if ref_fp is not None and inf["fingerprint"] != ref_fp:
                self.refused.append(f"{where} is refused: its model folder {inf['model_folder']} differs from the "
                                    f"driver's (fingerprint {inf['fingerprint']} vs {ref_fp}); import the same model there")
                continue
            good.append((i, inf))
            self.model_id = inf["model_id"]
        for i, a in enumerate(actors):
            if i not in {g for g, _ in good}:
                try:
                    ray.kill(a)
                except Exception:
                    pass
        for msg in self.refused:
            self._log(msg)
        if not good:
            raise ClusterError("no cluster worker can run this batch: " + "; ".join(self.refused))
        self.concurrency = max(inf["concurrency"] for _, inf in good)
        for slot, (i, inf) in enumerate(good):
            self.workers.append(WorkerState(slot, actors[i], inf, True, list(range(inf["concurrency"]))))
        self._log(f"cluster: {len(good)} worker(s) on {len({inf['node_id'] for _, inf in good})} node(s), "
                  f"model {self.model_id}")

    # ------------------------------------------------------------------ LLMService
    def ready(self) -> bool:
        return self._started and any(w.alive for w in self.workers)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self.ready()

    def unavailable_reason(self) -> str | None:
        if self.ready():
            return None
        if not self._started:
            return "cluster not started"
        return "every cluster worker was lost" + (f" ({'; '.join(self._lost)})" if self._lost else "")

    @property
    def status(self) -> EngineStatus:
        if self.ready():
            return EngineStatus("ready", f"{self.model_id} on {self.size_label()}", 1.0)
        return EngineStatus("failed", self.unavailable_reason() or "")

    def size(self) -> dict:
        live = [w for w in self.workers if w.alive]
        return {"nodes": len({w.info["node_id"] for w in live}), "workers": len(live),
                "streams": sum(w.info["concurrency"] for w in live), "lost": len(self.workers) - len(live)}

    def size_label(self) -> str:
        s = self.size()
        return (f"cluster {s['nodes']} node{'s' if s['nodes'] != 1 else ''}, {s['workers']} worker{'s' if s['workers'] != 1 else ''}"
                f" × {self.concurrency} streams" + (f" ({s['lost']} lost)" if s["lost"] else ""))

    def lane_labels(self) -> dict[int, str]:
        """Lane number -> "worker·stream" for every lane a job may report."""
        return {w.index * self.concurrency + s: f"{w.label}·{s}" for w in self.workers for s in range(w.info["concurrency"])}

    def deadline_for(self, budget: int) -> float:
        """The slowest live worker's automatic deadline for ``budget`` tokens (cached per budget)."""
        if budget not in self._deadlines:
            ray = import_ray()
            live = [w for w in self.workers if w.alive]
            vals = []
            for w in live:
                try:
                    vals.append(ray.get(w.actor.deadline_for.remote(budget), timeout=30))
                except Exception:
                    continue
            self._deadlines[budget] = max(vals) if vals else 60.0
        return self._deadlines[budget]

    def submit(self, requests: list[dict], on_event: Callable[[Any], None] | None = None) -> ClusterJob:
        reqs = [dict(r) if isinstance(r, dict) else asdict(r) for r in requests]
        job = ClusterJob(next(self._ids), reqs, on_event)
        threading.Thread(target=self._schedule, args=(job,), name=f"cluster-job-{job.id}", daemon=True).start()
        return job

    def pause(self) -> None:
        self._set_paused(True)

    def resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        with self._pause_lock:
            (self._paused.set if paused else self._paused.clear)()
            self._pause_seq += 1
            seq = self._pause_seq
        self._broadcast("set_paused", paused, seq)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        try:
            ray = import_ray()
        except ClusterError:
            return
        for w in self.workers:
            if w.alive:
                try:
                    ray.kill(w.actor)
                except Exception:
                    pass
                w.alive = False
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False

    def _broadcast(self, method: str, *args: Any) -> None:
        for w in self.workers:
            if w.alive:
                try:
                    getattr(w.actor, method).remote(*args)
                except Exception:
                    pass

    # ------------------------------------------------------------------ scheduling
    def _lost_worker(self, w: WorkerState, exc: BaseException) -> None:
        if not w.alive:
            return
        w.alive = False
        msg = f"{w.label} lost ({type(exc).__name__})"
        self._lost.append(msg)
        self._log(f"cluster: {msg}; its unfinished places go to the other workers")
        try:
            import_ray().kill(w.actor)  # never let a half-alive actor run a place a second time
        except Exception:
            pass

    def _schedule(self, job: ClusterJob) -> None:
        ray = import_ray()
        from ray.exceptions import RayActorError

        c = self.concurrency
        waiting: deque = deque(job.requests)
        inflight: dict = {}  # ref -> (req, worker, slot)
        attempts: Counter = Counter()
        per_worker: Counter = Counter()
        t0 = time.perf_counter()
        cancel_sent = False
        try:
            while waiting or inflight:
                if job.cancelled:
                    if not cancel_sent:
                        cancel_sent = True
                        self._broadcast("cancel_all")
                    while waiting:
                        r = waiting.popleft()
                        job._emit(PlaceFinished(r["key"], -1, None, "cancelled", 0, None, None, "cancelled before it started"))
                elif job.drained:
                    while waiting:
                        r = waiting.popleft()
                        job._emit(PlaceFinished(r["key"], -1, None, "drained", 0, None, None, DRAINED_DETAIL))
                live = [w for w in self.workers if w.alive]
                if not live:
                    for r in list(waiting) + [v[0] for v in inflight.values()]:
                        job._emit(PlaceFinished(r["key"], -1, None, "error", 0, None, None,
                                                "no cluster worker left (" + "; ".join(self._lost) + ")"))
                    waiting.clear()
                    inflight.clear()
                    break
                while waiting and not self._paused.is_set() and not job.cancelled and not job.drained:
                    w = max(live, key=lambda x: len(x.free))
                    if not w.free:
                        break
                    slot = w.free.pop(0)
                    req = waiting.popleft()
                    lane = w.index * c + slot
                    try:
                        ref = w.actor.generate.remote(req)
                    except Exception as exc:  # the handle itself is unusable
                        waiting.appendleft(req)
                        self._lost_worker(w, exc)
                        live = [x for x in self.workers if x.alive]
                        if not live:
                            break
                        continue
                    inflight[ref] = (req, w, slot)
                    job._emit(PlaceStarted(req["key"], lane, req.get("deadline_s"), w.label))
                if not inflight:
                    if waiting and (self._paused.is_set() or not [w for w in self.workers if w.alive]):
                        time.sleep(0.05)  # paused (or about to finish everything "error" above)
                    continue
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.1)
                for ref in ready:
                    req, w, slot = inflight.pop(ref)
                    key = req["key"]
                    try:
                        res = ray.get(ref)
                    except RayActorError as exc:
                        self._lost_worker(w, exc)
                        if job.cancelled:
                            job._emit(PlaceFinished(key, -1, None, "cancelled", 0, None, None, f"{w.label} lost while cancelling"))
                        elif attempts[key] == 0:
                            attempts[key] += 1
                            job.requeued.append(key)
                            waiting.appendleft(req)
                        else:
                            job._emit(PlaceFinished(key, -1, None, "error", 0, None, None,
                                                    f"lost with two cluster workers ({w.label} the second)"))
                        continue
                    except Exception as exc:  # the call itself raised on the worker
                        w.free.append(slot)
                        job._emit(PlaceFinished(key, w.index * c + slot, None, "error", 0, None, None,
                                                f"{w.label}: {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200]}"))
                        continue
                    w.free.append(slot)
                    w.free.sort()
                    w.done += 1
                    per_worker[w.label] += 1
                    lane = w.index * c + slot
                    if res["text"]:
                        job._emit(Tokens(key, lane, res["text"], res["n_tokens"]))
                    job._emit(PlaceFinished(key, lane, res["text"], res["reason"], res["n_tokens"], res["latency_s"],
                                            res["ttft_s"], res["detail"] or "", res["worker"]))
        except BaseException as exc:  # never hang the batch: whatever is left finishes "error"
            log.exception("cluster scheduler failed")
            for r in job.requests:
                job._emit(PlaceFinished(r["key"], -1, None, "error", 0, None, None, f"cluster scheduler: {type(exc).__name__}: {exc}"))
        elapsed = max(time.perf_counter() - t0, 1e-9)
        res = list(job.results.values())
        ok = [r for r in res if r.reason is None]
        tokens = sum(r.n_tokens for r in res)
        job.metrics = {
            "places": len(res), "ok": len(ok), "tokens": tokens, "elapsed_s": elapsed,
            "tokens_per_s": tokens / elapsed, "descriptions_per_s": len(ok) / elapsed,
            "fallbacks": dict(Counter(r.reason for r in res if r.reason is not None)),
            "concurrency": c, "cluster": self.size(), "per_worker": dict(per_worker),
            "requeued": len(job.requeued), "lost_workers": list(self._lost),
        }
        job._emit(BatchFinished(job.id, job.metrics))
        job._finished.set()


# ---------------------------------------------------------------------------------- factory
def start_cluster_llm(cfg, log: Callable[[str], None] = lambda m: None, *, scripted: dict | None = None,
                      workers: int | None = None) -> ClusterLLM:
    """The ClusterLLM for ``cfg`` (``cfg.cluster`` = "auto" or an address; ``cfg.cluster_workers``),
    started. ``scripted``: ScriptedLLM keyword arguments to run the scripted model instead."""
    if scripted is not None:
        spec = WorkerSpec("scripted", concurrency=cfg.concurrency, scripted=scripted)
    else:
        spec = WorkerSpec("model", model=cfg.model_path, concurrency=cfg.concurrency)
    llm = ClusterLLM(spec, getattr(cfg, "cluster", "") or "auto", workers or getattr(cfg, "cluster_workers", 0) or None,
                     log=log)
    return llm.start()
