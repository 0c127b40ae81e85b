"""A scripted model: the test seam for everything above the model (like llm's MockModel).

It behaves like the real service (one worker thread, ``concurrency`` lanes with continuous refill,
per-request deadlines counted from the start of decoding, pause/resume/cancel/drain) but writes
deterministic text from the request's seed instead of running a network. Tests script special
behaviour per key: a fixed text, a failure, a slow place. It is never used in place of the real
model by the product; the console uses it only when started with ``--scripted``.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .base import LLMService
from .events import DRAINED_DETAIL, BatchFinished, EngineStatus, PlaceFinished, PlaceStarted, Tokens


_WORDS = ("mist", "lantern", "cobbles", "smoke", "river", "shadows", "wind", "bells", "moss", "gulls", "embers", "frost")


# Words that never carry a weather or temperature fact (so a fact-keeping script never contradicts one).
_NEUTRAL = ("lantern", "cobbles", "river", "shadows", "bells", "moss", "gulls", "embers")
_WEATHER_LINE = re.compile(r"Weather: (?P<t>-?[\d.]+)°C, (?P<c>[^\n]+?), (?P<w>[\d.]+)mph winds")
_RES_LINE = re.compile(r"^- Resources: abundant: (?P<a>.*), scarce: (?P<s>.*?)\s*$", re.MULTILINE)
_EVENTS_LINE = re.compile(r"(?:Recent events|Events): (?P<e>[^\n]+?)\.?\s*$", re.MULTILINE)
_DESC_LINE = re.compile(r"^(?:Description|Sentence|Facts to keep|Original): (?P<d>.+?)\s*$", re.MULTILINE)
_LEADS = ("Even now, ", "Today, ", "At this hour, ", "For now, ")


def scripted_text(prompt: str, seed: int) -> str:
    """Deterministic text from (prompt, seed). Like a small model that copies well: with the seed
    prompt's fact lines it writes the weather, resources and the first event into its text; with
    a rewrite prompt ("Description: ..." or "Sentence: ...") it retells that text; otherwise filler words."""
    w = [_WORDS[(seed >> (3 * i)) % len(_WORDS)] for i in range(6)]
    m = _WEATHER_LINE.search(prompt)
    if m is not None:
        n = [_NEUTRAL[(seed >> (3 * i)) % len(_NEUTRAL)] for i in range(4)]
        out = [f"The {n[0]} gathers over the old stones in the {m['c'].strip()} at {m['t']}°C, with {m['w']}mph winds."]
        r = _RES_LINE.search(prompt)
        ab = [x.strip() for x in r["a"].split(",")] if r else []
        sc = [x.strip() for x in r["s"].split(",")] if r else []
        ab, sc = [x for x in ab if x and x != "none"], [x for x in sc if x and x != "none"]
        if ab or sc:
            parts = ([f"there is plenty of {' and '.join(ab)}"] if ab else []) + ([f"{' and '.join(sc)} is scarce"] if sc else [])
            res = ", but ".join(parts)
            out.append(res[0].upper() + res[1:] + ".")
        else:
            out.append(f"Travellers speak of {n[1]} on the road and {n[2]} by the {n[3]}.")
        e = _EVENTS_LINE.search(prompt)
        if e is not None and e["e"].strip().lower() != "none":
            first = e["e"].split(";")[0]
            first = first[: first.rfind(" (")] if " (" in first else first
            if first.strip():
                out.append(f"Everyone says so: {first.strip()[0].lower()}{first.strip()[1:].rstrip('.')}.")
        return " ".join(out)
    descs = list(_DESC_LINE.finditer(prompt))
    d = descs[-1] if descs else None  # the last one: a worked example's description comes first
    if d is not None and d["d"].strip():
        body = d["d"].strip()
        return _LEADS[seed % len(_LEADS)] + body[0].lower() + body[1:]
    return (f"The {w[0]} gathers over the old stones while {w[1]} and {w[2]} mark the hour. "
            f"Travellers speak of {w[3]} on the road and {w[4]} by the {w[5]}.")


def scripted_scores(prompt: str, choices: list[str]) -> dict[str, float]:
    """Deterministic next-token log-probabilities of ``choices`` after ``prompt`` (a function of
    the prompt's text alone, like a model that prefills each prompt on its own)."""
    import hashlib
    import math

    raw = {c: int(hashlib.sha256(f"{c}\x00{prompt}".encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) / 16 ** 8
           for c in choices}
    total = sum(raw.values()) or 1.0
    return {c: math.log(max(v / total, 1e-9)) for c, v in raw.items()}


_SENT_KEY = re.compile(r"^(?P<head>.+)#s(?P<j>\d+)$")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+")


def _script_entry(script: dict, key: str) -> dict:
    """The script of a request: its own key's, else (a per-sentence request, ``<key>#s<j>``, see
    engine.compose) the place's: its error and delay, and sentence j of its text."""
    if key in script:
        return script[key]
    m = _SENT_KEY.match(key)
    if m is None or m["head"] not in script:
        return {}
    entry = dict(script[m["head"]])
    if "text" in entry:
        parts = [x for x in _SENT_SPLIT.split(entry["text"]) if x]
        j = int(m["j"])
        entry["text"] = parts[j] if j < len(parts) else None
        entry["silent"] = j >= len(parts)  # the scripted text has no sentence j: the model says nothing
    return entry


@dataclass
class _Job:
    id: int
    requests: list
    on_event: Callable
    cancelled: threading.Event = field(default_factory=threading.Event)
    drained: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()

    def drain(self) -> None:
        """Start no more requests; the running ones finish, the queued ones finish "drained"."""
        self.drained.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


class ScriptedLLM(LLMService):
    """An :class:`~engine.llm.base.LLMService` without a model."""

    CAN_PAUSE = True
    CAN_CANCEL = True
    CAN_DRAIN = True
    CAN_SCORE = True

    def __init__(self, concurrency: int = 4, token_delay_s: float = 0.0, script: dict | None = None,
                 model_id: str = "scripted", deadline_s: float = 5.0,
                 scorer: Callable[[str, list[str]], dict[str, float]] | None = None):
        self.model_id = model_id
        # choice_logprobs: scorer(prompt, choices) -> {choice: log-probability}; default scripted_scores
        self.scorer = scorer
        self.scored: list[str] = []  # every prompt scored, in order (a test looks)
        self.concurrency = concurrency
        self.token_delay_s = token_delay_s
        # key -> {"text": str} | {"error": str} | {"delay": seconds per token}
        self.script = dict(script or {})
        self._deadline = deadline_s
        self._jobs: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._paused = threading.Event()
        self._stop = False
        self._status = EngineStatus("ready", model_id)
        self._thread = threading.Thread(target=self._run, name="scripted-llm", daemon=True)
        self._thread.start()

    # -- LLMService
    @property
    def status(self) -> EngineStatus:
        return self._status

    def set_status(self, state: str, detail: str = "", progress: float | None = None) -> None:
        """Test seam: act as loading / failed / ready (listeners hear it, like the real engine's)."""
        self._status = EngineStatus(state, detail, progress)
        self._notify_status(self._status)

    def ready(self) -> bool:
        return self._status.state == "ready"

    def unavailable_reason(self) -> str | None:
        st = self._status
        if st.state == "ready":
            return None
        return f"{st.state}: {st.detail}" if st.detail else st.state

    def deadline_for(self, budget: int) -> float:
        return self._deadline

    def submit(self, requests: list[dict], on_event: Callable) -> _Job:
        job = _Job(next(self._ids), list(requests), on_event)
        self._jobs.put(job)
        return job

    def choice_logprobs(self, prompts: list[str], choices: list[str],
                        timeout: float | None = None) -> list[dict[str, float]]:
        if not self.ready():
            from ..errors import ModelError

            raise ModelError(f"the model is not ready ({self.unavailable_reason()})")
        out = []
        for p in prompts:
            self.scored.append(p)
            out.append(dict((self.scorer or scripted_scores)(p, list(choices))))
        return out

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def shutdown(self) -> None:
        self._stop = True
        self._jobs.put(None)

    # -- worker
    def _emit(self, job, ev) -> None:
        try:
            job.on_event(ev)
        except Exception:
            pass

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._run_job(job)

    def _run_job(self, job: _Job) -> None:
        waiting = list(job.requests)
        lanes: dict[int, dict] = {}
        t_job = time.perf_counter()
        tokens_total = 0
        while waiting or lanes:
            if job.cancelled.is_set():
                for lane, st in list(lanes.items()):
                    self._emit(job, PlaceFinished(st["req"]["key"], lane, None, "cancelled", st["n"], time.perf_counter() - st["t0"], None, "cancelled by operator"))
                for req in waiting:
                    self._emit(job, PlaceFinished(req["key"], -1, None, "cancelled", 0, None, None, "cancelled before it started"))
                break
            if job.drained.is_set() and waiting:
                # As the real engine: nothing new starts; the lanes decoding go on to their end.
                for req in waiting:
                    self._emit(job, PlaceFinished(req["key"], -1, None, "drained", 0, None, None, DRAINED_DETAIL))
                waiting = []
            if self._paused.is_set():
                t_pause = time.perf_counter()
                time.sleep(0.01)
                # Paused time does not count against a place's deadline (as in the real engine).
                for st in lanes.values():
                    st["t0"] += time.perf_counter() - t_pause
                continue
            while waiting and len(lanes) < self.concurrency:
                req = waiting.pop(0)
                lane = min(set(range(self.concurrency)) - set(lanes))
                sc = _script_entry(self.script, req["key"])
                words = sc.get("text") or ("" if sc.get("silent") else scripted_text(req["prompt"], req["seed"]))
                lanes[lane] = {"req": req, "words": words.split(" "), "n": 0, "t0": time.perf_counter(), "text": ""}
                self._emit(job, PlaceStarted(req["key"], lane, req.get("deadline_s")))
            for lane, st in list(lanes.items()):
                req, key = st["req"], st["req"]["key"]
                sc = _script_entry(self.script, key)
                elapsed = time.perf_counter() - st["t0"]
                if "error" in sc:
                    self._emit(job, PlaceFinished(key, lane, None, "error", st["n"], elapsed, None, sc["error"]))
                    del lanes[lane]
                    continue
                if req.get("deadline_s") is not None and elapsed > req["deadline_s"]:
                    self._emit(job, PlaceFinished(key, lane, None, "timeout", st["n"], elapsed, None,
                                                  f"timeout after {elapsed:.2f} s at {st['n']}/{req['max_tokens']} tokens"))
                    del lanes[lane]
                    continue
                if st["n"] < len(st["words"]) and st["n"] < req["max_tokens"]:
                    delta = ("" if st["n"] == 0 else " ") + st["words"][st["n"]]
                    st["n"] += 1
                    st["text"] += delta
                    tokens_total += 1
                    if st["n"] == 1:
                        st["ttft"] = elapsed
                    self._emit(job, Tokens(key, lane, delta, st["n"]))
                else:
                    self._emit(job, PlaceFinished(key, lane, st["text"], None, st["n"], elapsed, st.get("ttft"), ""))
                    del lanes[lane]
            delay = max([_script_entry(self.script, st["req"]["key"]).get("delay", self.token_delay_s)
                         for st in lanes.values()] or [0])
            if delay:
                time.sleep(delay)
        elapsed = time.perf_counter() - t_job
        self._emit(job, BatchFinished(job.id, {"elapsed_s": elapsed, "tokens": tokens_total,
                                               "tokens_per_s": tokens_total / elapsed if elapsed else 0.0}))
        job.finished.set()
