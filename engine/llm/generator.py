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
* A load failure (or no loader) makes the engine "failed"/"disabled": every request of every
  submit then finishes at once with reason "model_unavailable".

This module never imports textual, rich or console.
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
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from .base import LLMService
from .events import BatchFinished, EngineStatus, PlaceFinished, PlaceStarted, Tokens
from .probe import CALIBRATION_PROMPT, peak_rss_mb, raw_batch_generate

log = logging.getLogger(__name__)

Event = PlaceStarted | Tokens | PlaceFinished | BatchFinished | EngineStatus
ModelLoader = Callable[[], Any]  # -> (model, tokenizer, info) or an object with .model/.tokenizer/.info
SamplerFactory = Callable[["GenRequest"], Callable]

MAX_CONCURRENCY = 8
# Generation recipe: bump when a change alters the tokens a (model, prompt, seed) produces, so
# cached results from an older recipe are not taken for this one's (it is part of model_id).
RECIPE = "g4"  # g4: issue #13 defaults (temperature 0.5, repetition penalty 1.1, sentence stop 3)
PREFIX_CACHE_ENTRIES = 8  # distinct prompt heads kept (a few MB each for a 7B model)
MIN_PREFIX_TOKENS = 8

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


@dataclass(frozen=True)
class GenRequest:
    key: str  # the place urn
    prompt: str  # rendered user prompt; the engine applies the chat template
    seed: int
    max_tokens: int
    temperature: float = 0.7
    deadline_s: float | None = None  # from the moment this request starts decoding
    # Issue #13: end once this many sentences are complete (0 = at EOS or the budget only), and
    # a repetition penalty over this request's own generated tokens (1.0 = off). Both per request.
    stop_sentences: int = 0
    repetition_penalty: float = 1.0

    @classmethod
    def coerce(cls, obj: "GenRequest | Mapping[str, Any]") -> "GenRequest":
        if isinstance(obj, GenRequest):
            return obj
        return cls(
            key=str(obj["key"]),
            prompt=str(obj["prompt"]),
            seed=int(obj["seed"]),
            max_tokens=int(obj["max_tokens"]),
            temperature=float(obj.get("temperature", 0.7) if obj.get("temperature") is not None else 0.7),
            deadline_s=None if obj.get("deadline_s") is None else float(obj["deadline_s"]),
            stop_sentences=int(obj.get("stop_sentences") or 0),
            repetition_penalty=float(obj.get("repetition_penalty") or 1.0),
        )


class Job:
    """A submitted list of requests. Thread-safe to read ``results`` after :meth:`wait`."""

    def __init__(self, job_id: int, requests: list[GenRequest], on_event: Callable[[Any], None] | None,
                 engine: "GenerationEngine | None") -> None:
        self.id = job_id
        self.requests = requests
        self.on_event = on_event
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, PlaceFinished] = {}
        self.token_ids: dict[str, list[int]] = {}
        self.metrics: dict = {}
        self._engine = engine
        self._cancelled = threading.Event()
        self._finished = threading.Event()
        # engine-thread bookkeeping
        self._remaining = len(requests)
        self._t_submit = time.perf_counter()
        self._t_first_start: float | None = None
        self._callback_errors = 0
        self._prefix_tokens = 0  # prompt tokens taken from the shared-head KV cache

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def cancel(self) -> None:
        """Stop this job: running requests stop within a step, unfinished ones finish "cancelled"."""
        self._cancelled.set()
        if self._engine is not None:
            self._engine._wake()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def iter_events(self, timeout: float | None = None) -> Iterable[Any]:
        """Yield events until (and including) ``BatchFinished``."""
        while True:
            ev = self.events.get(timeout=timeout)
            yield ev
            if isinstance(ev, BatchFinished):
                return


@dataclass
class _Active:
    job: Job
    req: GenRequest
    lane: int
    t0: float  # start of decoding (insert into the batch); shifted forward by paused time
    uid: int = -1
    n: int = 0
    ids: list = field(default_factory=list)
    detok: Any = None
    ttft: float | None = None
    emitted: int = 0  # characters of text already sent in Tokens events
    pending_delta: str = ""
    last_flush: float = 0.0
    solo: bool = False  # re-running alone after a batched failure
    checked: int = 0  # characters of text the sentence stop has looked at


def _done_sentences(st: "_Active") -> bool:
    """Whether the request has completed ``stop_sentences`` sentences (see
    ``engine.validate.complete_sentences``). Looked at only when new text brought whitespace: a
    sentence counts as complete once something follows its end."""
    from ..validate import complete_sentences

    text = st.detok.text
    new = text[st.checked:]
    st.checked = len(text)
    if not any(c.isspace() for c in new):
        return False
    done = complete_sentences(text)
    # A description is one paragraph: a line break after a complete sentence ends it too (what
    # follows is a small model's next "Rewrite:"/"Note:" block, never the description).
    return done >= st.req.stop_sentences or (done >= 1 and "\n" in new and "\n" in text.lstrip())


class GenerationEngine(LLMService):
    """One thread, one model, ``concurrency`` decode lanes. See the module doc."""

    CAN_PAUSE = True
    CAN_CANCEL = True

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
        job.events.put(ev)
        cb = job.on_event
        if cb is None:
            return
        try:
            cb(ev)
        except Exception:  # the user's callback never kills the engine
            job._callback_errors += 1
            if job._callback_errors == 1:
                log.exception("on_event callback raised (job %s); further errors not logged", job.id)

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

    def _tokenize(self, req: GenRequest) -> list[int]:
        tok = self.tokenizer
        msgs = [{"role": "user", "content": req.prompt}]
        if getattr(tok, "has_chat_template", False) or getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(msgs, add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
        else:
            ids = tok.encode(req.prompt)
        ids = [int(t) for t in ids]
        if not ids:
            raise ValueError("empty prompt after tokenization")
        return ids

    def _tokenize_text(self, text: str) -> list[int]:
        return self._tokenize(GenRequest("", text, 0, 1))

    def _split_point(self, req: GenRequest, ids: list[int]) -> int:
        """How many leading prompt tokens are prefilled on their own (and shared between requests).

        The head is the chat scaffolding plus the user prompt's first line: with the seed's
        prompt, "<system prompt> ... Enhance this location description with current
        conditions:" is the same for every place, so its KV cache is computed once and reused
        (:meth:`_prefix_caches`). The split is a function of the prompt text alone, never of
        what happens to be cached, so a prompt is always computed the same way: alone or in a
        batch, first or hundredth, in this process or another.
        """
        if not self._prefix_ok:
            return 0
        nl = req.prompt.find("\n")
        if nl < 0 or not req.prompt[nl + 1:].strip():
            return 0
        head = self._tokenize_text(req.prompt[:nl + 1])
        n = 0
        for a, b in zip(head, ids):
            if a != b:
                break
            n += 1
        n = min(n, len(ids) - 2)  # the rest keeps at least two tokens (the last one starts decoding)
        return n if n >= MIN_PREFIX_TOKENS else 0

    def _prefix_caches(self, prefix: tuple[int, ...]) -> tuple[list, bool]:
        """Fresh per-request KV caches holding ``prefix`` (computed once, then copied from an LRU),
        and whether it came from the LRU."""
        import mlx.core as mx
        from mlx_lm.models.cache import KVCache, make_prompt_cache

        states = self._prefixes.get(prefix)
        hit = states is not None
        if states is None:
            cache = make_prompt_cache(self.model)
            with mx.stream(self._stream):
                self.model(mx.array([list(prefix)]), cache=cache)
                states = [(c.keys[..., :c.offset, :], c.values[..., :c.offset, :]) for c in cache]
                mx.eval(states)
            self._prefixes[prefix] = states
            self._prefix_stats["computed"] += 1
            while len(self._prefixes) > PREFIX_CACHE_ENTRIES:
                self._prefixes.popitem(last=False)
        else:
            self._prefixes.move_to_end(prefix)
            self._prefix_stats["reused"] += 1
        out = []
        for k, v in states:
            c = KVCache()
            # Exactly full: the first write reallocates, so the shared arrays are never written.
            c.keys, c.values, c.offset = k, v, k.shape[2]
            out.append(c)
        return out, hit

    def _insert(self, st: _Active) -> bool:
        """Insert one request into the batch generator; on failure finish it "error"."""
        from .sampling import make_request_sampler

        req = st.req
        try:
            if req.max_tokens < 1:
                raise ValueError(f"max_tokens must be >= 1 (got {req.max_tokens})")
            ids = self._tokenize(req)
            sampler = (self._sampler_factory(req) if self._sampler_factory is not None
                       else make_request_sampler(req.seed, req.temperature, req.repetition_penalty))
            head = self._split_point(req, ids)
            caches, hit = self._prefix_caches(tuple(ids[:head])) if head else (None, False)
            if self._bg is None:
                self._bg = self._new_bg()
            # Each prompt is prefilled alone (its shared head from a cache computed the same
            # way), ending in its first sampled token: the same shapes as when it runs alone.
            uid = self._bg.add(ids[head:], max_tokens=req.max_tokens, sampler=sampler, cache=caches,
                               prefix=ids[:head])
            if hit:
                st.job._prefix_tokens += head
        except Exception as e:
            self._finish_place(st, st.job, req, st.lane, None, "error", f"{type(e).__name__}: {e}", 0)
            return False
        st.uid = uid
        st.n = 0
        st.ids = []
        st.detok = self.tokenizer.detokenizer
        st.pending_delta = ""
        st.checked = 0
        self._active[uid] = st
        return True

    def _admit(self) -> None:
        if self._solo:
            # isolation mode after a batched failure: one request at a time, nothing new
            while not self._active and self._solo:
                self._insert(self._solo.popleft())
            return
        while self._waiting and len(self._active) < self.concurrency:
            job, req = self._waiting.popleft()
            lane = min(set(range(self.concurrency)) - {s.lane for s in self._active.values()})
            now = time.perf_counter()
            st = _Active(job, req, lane, now, last_flush=now)
            if job._t_first_start is None:
                job._t_first_start = now
            self._emit(job, PlaceStarted(req.key, lane, req.deadline_s))
            self._insert(st)

    def _check_deadlines(self) -> None:
        now = time.perf_counter()
        late = [uid for uid, st in self._active.items()
                if st.req.deadline_s is not None and now - st.t0 > st.req.deadline_s]
        if not late:
            return
        self._bg.remove(late)
        for uid in late:
            st = self._active.pop(uid)
            el = now - st.t0
            self._finish_place(st, st.job, st.req, st.lane, None, "timeout",
                               f"timeout after {el:.2f} s at {st.n}/{st.req.max_tokens} tokens "
                               f"(deadline {st.req.deadline_s:.2f} s)", st.n, now)

    def _step(self) -> None:
        bg = self._bg
        tic = time.perf_counter()
        try:
            _, responses = bg.next()
        except Exception as e:
            self._on_step_error(e)
            return
        now = time.perf_counter()
        if responses:
            dt = (now - tic)
            self._step_s_ema = dt if self._step_s_ema is None else 0.9 * self._step_s_ema + 0.1 * dt
        active = self._active
        flush_after = self._token_interval_s
        done_early: list[int] = []
        for r in responses:
            st = active.get(r.uid)
            if st is None:
                continue
            fr = r.finish_reason
            if fr != "stop":  # "stop" = the EOS token itself, not part of the text
                st.ids.append(r.token)
                st.n += 1
                st.detok.add_token(r.token)
                if st.ttft is None:
                    st.ttft = now - st.t0
                # The sentence stop: the description is done once its last sentence is complete
                # (a function of this request's own tokens only: batch-invariant).
                if fr is None and st.req.stop_sentences > 0 and _done_sentences(st):
                    fr = "sentences"
                    done_early.append(r.uid)
            if fr is not None:
                del active[r.uid]
                st.detok.finalize()
                text = st.detok.text
                if not st.solo:
                    st.pending_delta += st.detok.last_segment
                self._finish_place(st, st.job, st.req, st.lane, text, None, "", st.n, now)
                continue
            if st.solo:
                continue  # re-run after a failure: its text was streamed already; finish sends the rest
            seg = st.detok.last_segment
            if seg:
                st.pending_delta += seg
                if now - st.last_flush >= flush_after:
                    self._emit(st.job, Tokens(st.req.key, st.lane, st.pending_delta, st.n))
                    st.emitted += len(st.pending_delta)
                    st.pending_delta = ""
                    st.last_flush = now
        if done_early:
            try:
                bg.remove(done_early)
            except Exception as e:  # the batch's state is unknown: rebuild it as after a failed step
                self._on_step_error(e)

    def _on_step_error(self, e: Exception) -> None:
        detail = f"{type(e).__name__}: {e}"
        log.warning("generation step failed: %s", detail)
        self._bg = None  # its state is unknown after an exception: rebuild
        victims = sorted(self._active.values(), key=lambda s: s.lane)
        self._active.clear()
        if len(victims) == 1:
            st = victims[0]
            self._finish_place(st, st.job, st.req, st.lane, None, "error", detail, st.n)
            return
        for st in victims:
            # re-run alone (deterministic: the same tokens come again; already-sent text is skipped)
            st.solo = True
            st.pending_delta = ""
            self._solo.append(st)

    # ------------------------------------------------------------------ calls on this thread
    def _run_call(self, fn: Callable[[Any, Any, Any, int], Any], box: dict, done: threading.Event) -> None:
        try:
            box["result"] = fn(self.model, self.tokenizer, self._stream, self._prefill_step_size)
        except Exception as e:
            box["error"] = e
        finally:
            done.set()
