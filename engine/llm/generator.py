"""The generation engine: one long-lived thread that owns the model and every MLX call.

MLX streams are per thread (mlx-lm#1181), so the model is loaded, prompts are tokenized and every
decode step runs on the engine thread. Other threads talk to it through a command queue:

* :meth:`GenerationEngine.submit` queues a job (a list of :class:`GenRequest`) and returns a
  :class:`Job` at once. Its events (``PlaceStarted``, ``Tokens``, ``PlaceFinished``,
  ``BatchFinished`` from :mod:`engine.llm.events`) go to the job's ``on_event`` callback and to
  ``job.events`` (a ``queue.Queue``).
* ``concurrency`` lanes (1..8) decode together in one mlx-lm ``BatchGenerator`` with continuous
  refill: when a request finishes, the next queued request is prefilled and takes the freed lane
  (:mod:`engine.llm.batching`: the prefill ends in the request's first sampled token, and the
  batch samples all its rows in one call).
* Each request samples with its own random numbers, from its seed and the step number
  (:mod:`engine.llm.sampling`), and is prefilled alone (the prompt's shared head from a cache
  computed the same way), so its tokens are the same whether it runs alone, in any batch, in
  any order, or in another process.
* A deadline counts from the moment the request is inserted into the batch (time spent paused is
  not counted); a late request is removed (``BatchGenerator.remove``) and finishes "timeout".
* An exception during a batched step never loses the job: the batch generator is rebuilt and the
  requests that were in it are re-run one at a time; the one(s) that fail alone finish "error",
  the rest finish normally (their streamed text is not repeated: generation is deterministic, so
  the re-run's prefix is skipped).
* :meth:`Job.drain` stops *starting* a job's requests: the ones decoding finish as usual (the
  same tokens as without the drain), the ones still queued finish at once "drained". The
  texture service's first SIGTERM drains its cycle; :meth:`Job.cancel` (a second one) stops all.
* A load failure (or no loader) makes the engine "failed"/"disabled": every request of every
  submit then finishes at once with reason "model_unavailable".

The engine is in four modules: this one (the public API, emission of events and metrics, the
thread's command loop, loading and the load-time speed probe), :mod:`engine.llm.jobs` (requests
and jobs), :mod:`engine.llm.lanes` (the decode lanes: tokenize, prefill, admit, step) and
:mod:`engine.llm.probe` (a stock mlx-lm run, timed). None imports textual, rich or console.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import Counter, OrderedDict, deque
from typing import Any, Callable, Iterable, Mapping

from .base import LLMService
from .events import DRAINED_DETAIL, BatchFinished, EngineStatus, PlaceFinished, PlaceStarted, Tokens
from .jobs import GenRequest, Job, _Active
from .lanes import DecodeLanes
from .cpu.probe import CALIBRATION_PROMPT, peak_rss_mb, raw_batch_generate

log = logging.getLogger(__name__)

Event = PlaceStarted | Tokens | PlaceFinished | BatchFinished | EngineStatus
ModelLoader = Callable[[], Any]  # -> (model, tokenizer, info) or an object with .model/.tokenizer/.info
SamplerFactory = Callable[["GenRequest"], Callable]

MAX_CONCURRENCY = 8
# Generation recipe: bump when a change alters the tokens a (model, prompt, seed) produces, so
# cached results from an older recipe are not taken for this one's (it is part of model_id).
# g4: the fact-keeping generation defaults (temperature 0.5, repetition penalty 1.1, sentence stop 3); g5: a
# prompt's shared head is its file's static head (GenRequest.head), not only its first line.
RECIPE = "g5"

__all__ = [
    "BatchFinished",
    "EngineStatus",
    "Event",
    "GenRequest",
    "GenerationEngine",
    "Job",
    "PlaceFinished",
    "PlaceStarted",
    "Tokens",
    "peak_rss_mb",
]


_LIVE: "weakref.WeakSet[GenerationEngine]" = weakref.WeakSet()


@atexit.register
def _shutdown_live_engines() -> None:
    # Stop engine threads cleanly before interpreter teardown (see _release_streams).
    for eng in list(_LIVE):
        try:
            eng.shutdown(timeout=5.0)
        except Exception:  # pragma: no cover
            pass


class GenerationEngine(DecodeLanes, LLMService):
    """One thread, one model, ``concurrency`` decode lanes. See the module doc."""

    CAN_PAUSE = True
    CAN_CANCEL = True
    CAN_DRAIN = True
    CAN_SCORE = True

    def __init__(
        self,
        model_loader: ModelLoader | None,
        concurrency: int = 4,
        *,
        on_status: Callable[[EngineStatus], None] | None = None,
        sampler_factory: SamplerFactory | None = None,
        token_interval_s: float = 0.05,
        prefill_step_size: int = 2048,
        name: str = "generation-engine",
        prefix_reuse: bool = True,
    ) -> None:
        if not 1 <= int(concurrency) <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be in 1..{MAX_CONCURRENCY}, got {concurrency}")
        self.concurrency = int(concurrency)
        self._loader = model_loader
        self._on_status = on_status
        self._sampler_factory = sampler_factory
        self._token_interval_s = float(token_interval_s)
        self._prefill_step_size = int(prefill_step_size)
        self._name = name

        self._cmds: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._status = EngineStatus("disabled" if model_loader is None else "loading",
                                    "no model configured" if model_loader is None else "not started")
        self._ready_evt = threading.Event()  # set once loading ended (ready or failed)
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False

        self.model: Any = None
        self.tokenizer: Any = None
        self._info: dict = {}
        self._step_s_ema: float | None = None
        self._calib: dict = {}

        # engine-thread state
        self._waiting: deque[tuple[Job, GenRequest]] = deque()
        self._solo: deque[_Active] = deque()
        self._active: dict[int, _Active] = {}
        self._jobs: dict[int, Job] = {}
        self._bg: Any = None
        self._stream: Any = None
        self._eos: list[int] = []
        self._prefix_reuse = bool(prefix_reuse)
        self._prefix_ok = False  # set at load: reuse on, and the model uses plain KV caches
        self._prefixes: "OrderedDict[tuple[int, ...], list]" = OrderedDict()
        self._prefix_stats = Counter()

        if model_loader is None:
            self._ready_evt.set()

    # ------------------------------------------------------------------ public API
    @property
    def status(self) -> EngineStatus:
        return self._status

    def ready(self) -> bool:
        return self._status.state == "ready"

    @property
    def info(self) -> dict:
        return dict(self._info)

    @property
    def model_id(self) -> str | None:
        if self._status.state != "ready":
            return None
        return str(self._info.get("model_id") or self._info.get("name") or self._info.get("path") or "mlx-model")

    def unavailable_reason(self) -> str | None:
        st = self._status
        if st.state == "ready":
            return None
        return f"{st.state}: {st.detail}" if st.detail else st.state

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until loading ended; True if the model is ready."""
        self._ready_evt.wait(timeout)
        return self._status.state == "ready"

    def deadline_for(self, budget: int) -> float:
        """The automatic per-request deadline for ``budget`` tokens (FLUX_LLM_TIMEOUT=auto).

        The seed's 2,000 ms cannot fit its own 150-token descriptions (about 3 s at 60 tok/s),
        so the deadline is derived from this machine's measured speed with a 3x margin: the
        prefill of one prompt plus ``budget`` decode steps of the running batch. Before any batch
        has run, the load-time calibration (one prompt alone) stands in, scaled as if every lane
        cost a full single-stream step (pessimistic: batched steps are cheaper than that).
        """
        c = self.concurrency
        prefill = self._calib.get("prefill_s", 1.0)
        if self._step_s_ema is not None:
            step = self._step_s_ema
        else:
            step = self._calib.get("step_s", 0.05) * c
        return round(max(2.0, 3.0 * (prefill * c + budget * step) + 1.0), 1)

    @property
    def calibration(self) -> dict:
        """Load-time speed probe: prefill_s (one ~100-token prompt) and step_s (decode, 1 stream)."""
        return dict(self._calib)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def submit(self, requests: Iterable[GenRequest | Mapping[str, Any]],
               on_event: Callable[[Any], None] | None = None) -> Job:
        reqs = [GenRequest.coerce(r) for r in requests]
        job = Job(next(self._ids), reqs, on_event, self)
        with self._lock:  # pairs with the final drain in _run: no job can slip past it
            dead = self._stopping or (self._thread is not None and not self._thread.is_alive())
            if not (self._status.state in ("failed", "disabled") or dead):
                self._cmds.put(("job", job))
                return job
        reason = self.unavailable_reason() if self._status.state != "ready" else None
        self._finish_unavailable(job, reason or "engine not running")
        return job

    def cancel(self, job: Job) -> None:
        job.cancel()

    def pause(self) -> None:
        """Stop inserting requests and running decode steps until :meth:`resume`."""
        self._paused.set()
        self._wake()

    def resume(self) -> None:
        self._paused.clear()
        self._cmds.put(("resume", None))

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel everything queued or running and stop the thread."""
        self._stopping = True
        self._cmds.put(("stop", None))
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def call_on_engine_thread(self, fn: Callable[[Any, Any, Any, int], Any], timeout: float | None = None) -> Any:
        """Run ``fn(model, tokenizer, stream, prefill_step_size)`` on the engine thread, between decode
        steps, and return its result (or raise its exception).

        The engine thread owns every MLX call, so code that drives the model directly (the raw
        ``BatchGenerator`` reference in ``tools/bench/raw.py``) runs through here.
        """
        box: dict = {}
        done = threading.Event()
        self._cmds.put(("call", (fn, box, done)))
        if not done.wait(timeout):
            raise TimeoutError("the call on the engine thread did not finish")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def choice_logprobs(self, prompts: list[str], choices: list[str],
                        timeout: float | None = None) -> list[dict[str, float]]:
        """See :meth:`LLMService.choice_logprobs`. Runs on the engine thread between decode steps
        (:meth:`call_on_engine_thread`); each prompt is tokenized as a request is and prefilled
        alone into a fresh cache (:func:`engine.llm.batching.prompt_logits`). A choice's figure is
        the log-probability of its first token, with and without a leading space (summed)."""
        from ..errors import ModelError

        if not self.ready():
            raise ModelError(f"the model is not ready ({self.unavailable_reason()})")
        prompts = [str(p) for p in prompts]
        choices = [str(c) for c in choices]

        def run(model, tokenizer, stream, step):
            import math

            import mlx.core as mx
            import numpy as np

            from .batching import prompt_logits

            firsts: dict[str, list[int]] = {}
            for c in choices:
                ids = {int(t[0]) for t in (tokenizer.encode(v, add_special_tokens=False) for v in (c, " " + c)) if t}
                if not ids:
                    raise ValueError(f"the answer {c!r} has no token")
                firsts[c] = sorted(ids)
            out = []
            with mx.stream(stream):
                for p in prompts:
                    z = prompt_logits(model, self._tokenize(GenRequest("", p, 0, 1)), step)
                    m = float(np.max(z))
                    lse = m + math.log(float(np.sum(np.exp(z - m))))
                    out.append({c: float(np.logaddexp.reduce(z[ids])) - lse for c, ids in firsts.items()})
            return out

        return self.call_on_engine_thread(run, timeout)

    # ------------------------------------------------------------------ emission
    def _wake(self) -> None:
        self._cmds.put(("wake", None))

    def _set_status(self, state: str, detail: str, progress: float | None = None) -> None:
        self._status = EngineStatus(state, detail, progress)
        cb = self._on_status
        if cb is not None:
            try:
                cb(self._status)
            except Exception:  # a status observer's bug never kills the engine
                log.exception("on_status callback failed")
        self._notify_status(self._status)

    def report_loading(self, detail: str) -> None:
        """A loading step's message (importing, fetching) shown as the status detail while loading."""
        if self._status.state == "loading":
            self._set_status("loading", str(detail), self._status.progress)

    @staticmethod
    def _emit(job: Job, ev: Any) -> None:
        job._deliver(ev)  # the user's callback never kills the engine

    def _finish_unavailable(self, job: Job, reason: str) -> None:
        for r in job.requests:
            ev = PlaceFinished(r.key, -1, None, "model_unavailable", 0, 0.0, None, reason)
            job.results[r.key] = ev
            self._emit(job, ev)
        job._remaining = 0
        self._finish_job(job)

    def _finish_place(self, st: _Active | None, job: Job, req: GenRequest, lane: int, text: str | None,
                      reason: str | None, detail: str = "", n: int = 0, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        latency = (now - st.t0) if st is not None else 0.0
        if st is not None and text is not None:
            rest = text[st.emitted:] if st.solo else st.pending_delta
            if rest:
                self._emit(job, Tokens(req.key, lane, rest, n))
        ev = PlaceFinished(req.key, lane, text, reason, n, latency, st.ttft if st is not None else None, detail)
        job.results[req.key] = ev
        if st is not None:
            job.token_ids[req.key] = list(st.ids)
        self._emit(job, ev)
        job._remaining -= 1
        if job._remaining <= 0:
            self._finish_job(job)

    def _finish_job(self, job: Job) -> None:
        if job.done:
            return
        now = time.perf_counter()
        t_start = job._t_first_start if job._t_first_start is not None else job._t_submit
        elapsed = max(now - t_start, 1e-9)
        res = list(job.results.values())
        ok = [r for r in res if r.reason is None]
        tokens = sum(r.n_tokens for r in res)
        lat = [r.latency_s for r in ok if r.latency_s is not None]
        ttft = [r.ttft_s for r in res if r.ttft_s is not None]
        fallbacks = Counter(r.reason for r in res if r.reason is not None)
        job.metrics = {
            "places": len(res),
            "ok": len(ok),
            "tokens": tokens,
            "elapsed_s": elapsed,
            "wall_s": now - job._t_submit,
            "tokens_per_s": tokens / elapsed,
            "descriptions_per_s": len(ok) / elapsed,
            "avg_latency_s": sum(lat) / len(lat) if lat else None,
            "ttft_avg_s": sum(ttft) / len(ttft) if ttft else None,
            "peak_rss_mb": peak_rss_mb(),
            "fallbacks": dict(fallbacks),
            "concurrency": self.concurrency,
            "prefix_tokens_reused": job._prefix_tokens,
        }
        self._jobs.pop(job.id, None)
        self._emit(job, BatchFinished(job.id, job.metrics))
        job._finished.set()

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        try:
            if self._load():
                self._loop()
        except BaseException as e:  # pragma: no cover - last resort, never hang callers
            log.exception("generation engine crashed")
            self._set_status("failed", f"engine crashed: {type(e).__name__}: {e}")
            self._ready_evt.set()
        finally:
            with self._lock:
                self._stopping = True
                self._drain_unavailable()
            self._bg = None
            self.model = None  # let the weights go once the thread is gone
            self._release_streams()

    @staticmethod
    def _release_streams() -> None:
        # MLX needs the streams a thread created destroyed before that thread ends, or the process
        # may abort at exit ("terminate called without an active exception", mlx#3126).
        try:
            import mlx.core as mx

            mx.synchronize()
            if hasattr(mx, "clear_streams"):
                mx.clear_streams()
        except Exception:  # pragma: no cover
            log.debug("clearing MLX streams failed", exc_info=True)

    def _drain_unavailable(self) -> None:
        """Once the loop is gone, finish everything still queued/running (never hang a caller)."""
        why = self.unavailable_reason() or "engine stopped"
        reason_all = "cancelled" if self._status.state == "ready" else "model_unavailable"
        for st in list(self._active.values()) + list(self._solo):
            self._finish_place(st, st.job, st.req, st.lane, None, reason_all, "engine stopped", st.n)
        self._active.clear()
        self._solo.clear()
        while self._waiting:
            job, req = self._waiting.popleft()
            self._finish_place(None, job, req, -1, None, reason_all, why)
        while True:
            try:
                kind, arg = self._cmds.get_nowait()
            except queue.Empty:
                break
            if kind == "job":
                self._finish_unavailable(arg, why)
            elif kind == "raw":
                arg[4]["error"] = RuntimeError(f"engine not running ({why})")
                arg[5].set()
        for job in list(self._jobs.values()):
            self._finish_job(job)

    def _load(self) -> bool:
        if self._loader is None:
            self._set_status("disabled", "no model configured")
            self._ready_evt.set()
            return False
        self._set_status("loading", "loading model", 0.0)
        try:
            import mlx.core as mx

            loaded = self._loader()
            if isinstance(loaded, tuple):
                model, tokenizer, info = (tuple(loaded) + ({},))[:3]
            else:
                model, tokenizer, info = loaded.model, loaded.tokenizer, getattr(loaded, "info", {})
            if model is None or tokenizer is None:
                raise RuntimeError("model loader returned no model/tokenizer")
            self.model, self.tokenizer, self._info = model, tokenizer, dict(info or {})
            self._stream = mx.new_stream(mx.default_device())
            eos = getattr(tokenizer, "eos_token_ids", None)
            if not eos and getattr(tokenizer, "eos_token_id", None) is not None:
                eos = [tokenizer.eos_token_id]
            self._eos = sorted(int(t) for t in (eos or []))
        except Exception as e:
            # The status carries the message to the operator; the traceback only at debug level.
            log.debug("model load failed", exc_info=True)
            self._set_status("failed", f"model load failed: {type(e).__name__}: {e}")
            self._ready_evt.set()
            return False
        if self._prefix_reuse:
            try:
                from mlx_lm.models.cache import KVCache, make_prompt_cache

                self._prefix_ok = all(type(c) is KVCache for c in make_prompt_cache(self.model))
            except Exception:  # an unusual model: no reuse, nothing else changes
                log.debug("prefix reuse unavailable", exc_info=True)
        self._info["prefix_reuse"] = self._prefix_ok
        self._calibrate()
        self._set_status("ready", str(self._info.get("model_id") or self._info.get("name") or "model loaded"), 1.0)
        self._ready_evt.set()
        return True

    def _calibrate(self) -> None:
        """Time one prompt alone (prefill + 8 decode steps) so the first batch's deadlines fit."""
        self._set_status("loading", "measuring decode speed", 0.95)
        try:
            m = raw_batch_generate(self.model, self.tokenizer, [CALIBRATION_PROMPT], 9, 0.0, 1,
                                   stream=self._stream, prefill_step_size=self._prefill_step_size)["metrics"]
            prefill = float(m.get("ttft_first_s") or 0.0)
            steps = max(1, int(m["tokens"]) - 1)
            step = max(1e-4, (m["elapsed_s"] - prefill) / steps)
            self._calib = {"prefill_s": round(prefill, 4), "step_s": round(step, 5)}
            self._info["calibration"] = dict(self._calib)
        except Exception:  # a calibration failure must not fail the load: keep the defaults
            log.warning("decode speed calibration failed", exc_info=True)

    def _new_bg(self):
        from .batching import SeededBatchGenerator

        return SeededBatchGenerator(
            self.model,
            max_tokens=1,
            stop_tokens=[[t] for t in self._eos],
            completion_batch_size=self.concurrency,
            prefill_batch_size=1,
            prefill_step_size=self._prefill_step_size,
            stream=self._stream,
        )

    def _handle_cmd(self, kind: str, arg: Any) -> bool:
        """Returns False when the loop must stop."""
        if kind == "stop":
            return False
        if kind == "job":
            job: Job = arg
            self._jobs[job.id] = job
            if not job.requests:
                self._finish_job(job)
            for r in job.requests:
                self._waiting.append((job, r))
        elif kind == "call":
            self._run_call(*arg)
        return True

    def _handle_drains(self) -> None:
        """Queued requests of drained jobs finish "drained" now (also while paused: they will not
        start); the requests of those jobs already in the batch go on decoding."""
        if not self._waiting or not any(j.drained for j in self._jobs.values()):
            return
        now = time.perf_counter()
        keep: deque = deque()
        for job, req in self._waiting:
            if job.drained and not job.cancelled:
                self._finish_place(None, job, req, -1, None, "drained", DRAINED_DETAIL, 0, now)
            else:
                keep.append((job, req))
        self._waiting = keep

    def _loop(self) -> None:
        pause_started: float | None = None
        while True:
            # 1. commands: block when there is nothing to decode (or while paused)
            busy = bool(self._active or self._solo or self._waiting)
            block = (not busy) or self._paused.is_set()
            try:
                kind, arg = self._cmds.get(block=block)
                if not self._handle_cmd(kind, arg):
                    return self._stop_all()
                while True:
                    kind, arg = self._cmds.get_nowait()
                    if not self._handle_cmd(kind, arg):
                        return self._stop_all()
            except queue.Empty:
                pass
            self._handle_cancels()
            self._handle_drains()
            if self._paused.is_set():
                if pause_started is None:
                    pause_started = time.perf_counter()
                continue
            if pause_started is not None:  # paused time does not count against deadlines
                shift = time.perf_counter() - pause_started
                for st in self._active.values():
                    st.t0 += shift
                for st in self._solo:
                    st.t0 += shift
                pause_started = None
            self._admit()
            if not self._active:
                continue
            self._check_deadlines()
            if not self._active:
                continue
            self._step()

    def _stop_all(self) -> None:
        for st in list(self._active.values()) + list(self._solo):
            self._finish_place(st, st.job, st.req, st.lane, None, "cancelled",
                               f"engine shut down at {st.n}/{st.req.max_tokens} tokens", st.n)
        self._active.clear()
        self._solo.clear()
        while self._waiting:
            job, req = self._waiting.popleft()
            self._finish_place(None, job, req, -1, None, "cancelled", "engine shut down before it started")
        self._bg = None

    def _handle_cancels(self) -> None:
        if not self._jobs or not any(j.cancelled for j in self._jobs.values()):
            return
        now = time.perf_counter()
        gone = [uid for uid, st in self._active.items() if st.job.cancelled]
        if gone and self._bg is not None:
            self._bg.remove(gone)
        for uid in gone:
            st = self._active.pop(uid)
            self._finish_place(st, st.job, st.req, st.lane, None, "cancelled",
                               f"cancelled after {now - st.t0:.2f} s at {st.n}/{st.req.max_tokens} tokens", st.n, now)
        for st in [s for s in self._solo if s.job.cancelled]:
            self._solo.remove(st)
            self._finish_place(st, st.job, st.req, st.lane, None, "cancelled",
                               f"cancelled at {st.n}/{st.req.max_tokens} tokens", st.n, now)
        keep: deque = deque()
        for job, req in self._waiting:
            if job.cancelled:
                self._finish_place(None, job, req, -1, None, "cancelled", "cancelled before it started", 0, now)
            else:
                keep.append((job, req))
        self._waiting = keep

    # ------------------------------------------------------------------ calls on this thread
    def _run_call(self, fn: Callable[[Any, Any, Any, int], Any], box: dict, done: threading.Event) -> None:
        try:
            box["result"] = fn(self.model, self.tokenizer, self._stream, self._prefill_step_size)
        except Exception as e:
            box["error"] = e
        finally:
            done.set()
