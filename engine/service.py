"""The texture service: keep a live world's descriptions fresh on its own.

``texture serve --world FILE`` and the console's auto mode both run a :class:`TextureService`:

- **Watch** the world file (``watchfiles``, on its folder, so a rewrite in place, an atomic
  rename and appended lines are all seen), **reload** it tolerantly (:func:`read_world`) and keep
  the set of places whose newest state has no description yet (*pending*) and the places that
  got their template but still wait for the model because of the per-cycle cap (*deferred*).
- **Cycles** (one :class:`~engine.dispatch.BatchRunner` batch each) never overlap; changes that
  arrive while a cycle runs are picked up after it. The cadence comes from the waiting work
  (:meth:`TextureService.interval`): with ``pressure = significant + others / 10`` waiting places
  (significant = tier above template) and ``cap = FLUX_CYCLE_MAX_LLM``::

      interval = FLUX_CYCLE_MAX_S - (FLUX_CYCLE_MAX_S - FLUX_CYCLE_MIN_S) * min(1, pressure / cap)

  counted from the previous cycle's start, or from the oldest waiting change if none waited
  then; never sooner than ``FLUX_CYCLE_MIN_S`` after the previous start. So no change waits
  longer than ``FLUX_CYCLE_MAX_S`` for a cycle (beyond a running cycle's overrun) and a cap's
  worth of significant changes starts a cycle ``FLUX_CYCLE_MIN_S`` after the last one.
- **Cap and priority**: at most ``FLUX_CYCLE_MAX_LLM`` places go to the model per cycle, chosen
  by ``tier rank (light 1, full 2, premium 3) + max significance + waited seconds /
  FLUX_CYCLE_MAX_S``: the most significant first, and a place that waits gains a point every
  ``FLUX_CYCLE_MAX_S``, so nothing waits forever. Every pending place still gets its template in
  the same cycle (reason ``deferred`` when the model comes later).
- **Newest state wins**: a cycle plans each place's newest known state; the store replaces a
  current description only by a result whose state was observed no earlier (``seen_at``), so a
  result for a stale state is history, never current.
- **Stopping** (:meth:`TextureService.stop`): ``drain=True`` (the first SIGTERM / Ctrl-C, auto
  mode switched off) lets the model finish the places it is decoding and start no more
  (:meth:`~engine.dispatch.BatchRunner.drain`); the cycle's places it had not started are stored
  with their template and reason ``deferred``, so they stay waiting for the model and the next
  start picks them up (nothing lost, nothing run twice). ``cancel=True`` (the second signal)
  stops the model work at once. :meth:`TextureService.stop_summary` says what was left.
- **Hand-back**: :func:`export_since` (``texture export --since CURSOR``) and an outbox file
  (JSON Lines, appended and fsynced after each cycle). Exactly once across crashes: every line
  carries its ``cursor`` (the result id); the high-water mark is stored in SQLite after the
  fsync, and on start the outbox's own last complete line wins if it is ahead (the process died
  between the fsync and the commit); a torn last line is cut off and written again.

Time comes from an injectable ``clock`` and file changes from an injectable source (anything
with ``wait(timeout) -> bool`` and ``close()``), so tests need no sleeps. The engine never imports
the UI; the console drives the same class from a worker thread.
"""

# Length (~650 lines, a little over the ~600 the redesign aims at), on purpose: tolerant world
# reading, file-change detection, the outbox and the cycle report exist only for TextureService
# and are read in the order it runs them (read, diff, batch, hand back). (docs/architecture.md)

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Config
from .dispatch import BatchRunner, ResultStored, base_hash
from .policy import decide
from .prompts import DEFAULT_PROMPT, PromptLibrary
from .store import BatchBusyError, Store, StoreError
from .world import LineError, Place, WorldError, _Bad, _kind, _lines, parse_place

TIER_RANK = {"template": 0, "light": 1, "full": 2, "premium": 3}


# --- reading a world file that may be changing under us ----------------------------------------

@dataclass
class WorldRead:
    places: dict[str, Place] = field(default_factory=dict)  # urn -> newest valid state in the file
    errors: list[LineError] = field(default_factory=list)
    missing: bool = False  # the file is not there (vanished, or between unlink and rename)


def read_world(path: str | Path) -> WorldRead:
    """Read a world file as loading does (each bad line a ``file:line: field: reason`` error),
    except that a later line for an urn *updates* it (a world server may append lines) and an
    empty or unreadable file is not an error here: the caller keeps its last good world."""
    path = Path(path)
    out = WorldRead()
    try:
        items = list(_lines(path))
    except FileNotFoundError:
        out.missing = True
        return out
    except (OSError, IsADirectoryError) as exc:
        out.errors.append(LineError(str(path), 0, "", f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
        return out
    name = str(path)
    for no, value in items:
        if isinstance(value, Exception):
            msg = str(value).split(": line")[0]
            out.errors.append(LineError(name, no, "", f"not valid JSON ({msg})"))
            continue
        try:
            place = parse_place(value)
        except _Bad as bad:
            top = bad.field == "(line)"
            out.errors.append(LineError(name, no, "" if top else bad.field,
                                        f"not an object (got {_kind(value)})" if top else bad.reason))
            continue
        except RecursionError:
            out.errors.append(LineError(name, no, "", "too deeply nested"))
            continue
        out.places[place.urn] = place  # the last line for an urn is its newest state
    return out


def _key(p: Place) -> tuple[str, str]:
    return (p.state_hash, base_hash(p))


# --- file changes ------------------------------------------------------------------------------

class FileChanges:
    """``watchfiles`` on the world file's folder (a rename into place is an event on the folder),
    in a daemon thread; :meth:`wait` returns True once something happened to the file."""

    def __init__(self, path: str | Path, debounce_ms: int = 200):
        self.path = Path(path).resolve()
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(debounce_ms,), name="world-watcher", daemon=True)
        self._thread.start()

    def _run(self, debounce_ms: int) -> None:
        try:
            from watchfiles import watch
        except ImportError:  # pragma: no cover - watchfiles is a dependency; poll instead
            while not self._stop.wait(1.0):
                self._event.set()
            return
        name = self.path.name
        folder = self.path.parent
        while not self._stop.is_set():
            try:
                for _changes in watch(folder, watch_filter=lambda _c, p: Path(p).name == name, debounce=debounce_ms,
                                      step=50, stop_event=self._stop, rust_timeout=1000, yield_on_timeout=False,
                                      recursive=False):
                    self._event.set()
            except Exception:  # the folder vanished, too many watches...: fall back to polling
                self._event.set()
                self._stop.wait(1.0)

    def wait(self, timeout: float) -> bool:
        hit = self._event.wait(max(0.0, timeout))
        self._event.clear()
        return hit

    def close(self) -> None:
        self._stop.set()


# --- hand-back ---------------------------------------------------------------------------------

def export_since(store: Store, cursor: int = 0) -> tuple[list[dict], int]:
    """Current descriptions that changed after ``cursor`` (a result id) and the next cursor.

    Result ids grow in commit order (one writer at a time), and a place's current row points at
    its newest result, so polling with the returned cursor never repeats nor misses one.
    """
    return store.export_since(cursor)


class Outbox:
    """JSON Lines a world server can tail, appended and fsynced after each cycle, exactly once."""

    def __init__(self, store: Store, path: str | Path):
        self.store = store
        self.path = Path(path)
        self.key = "outbox:" + str(self.path.resolve())
        self.notice = ""
        self.hwm = self._reconcile()

    def _db_hwm(self) -> int:
        value = self.store.service_value(self.key)
        return int(value) if value is not None else 0

    def _reconcile(self) -> int:
        db_hwm = self._db_hwm()
        file_hwm = 0
        try:
            with open(self.path, "rb+") as fh:
                size = fh.seek(0, os.SEEK_END)
                tail_at = max(0, size - 65536)
                fh.seek(tail_at)
                tail = fh.read()
                if tail and not tail.endswith(b"\n"):
                    # A crash mid-append: the torn line is cut off; its result is written again.
                    cut = tail.rfind(b"\n")
                    new_size = tail_at + cut + 1 if cut >= 0 else tail_at
                    fh.truncate(new_size)
                    fh.flush()
                    os.fsync(fh.fileno())
                    self.notice = f"outbox {self.path}: removed a torn last line ({size - new_size} bytes) left by a crash"
                    tail = tail[: cut + 1] if cut >= 0 else b""
                for line in reversed(tail.split(b"\n")):
                    if line.strip():
                        try:
                            file_hwm = int(json.loads(line)["cursor"])
                        except (ValueError, KeyError, TypeError):
                            pass
                        break
        except FileNotFoundError:
            pass
        # The file is ahead when the process died after the fsync but before the commit below.
        hwm = max(db_hwm, file_hwm)
        if hwm != db_hwm:
            self._record(hwm)
        return hwm

    def _record(self, hwm: int) -> None:
        self.store.set_service_value(self.key, str(hwm))

    def flush(self, cycle: int | None = None) -> int:
        """Append every current description newer than the high-water mark; fsync; record. -> lines."""
        rows, top = export_since(self.store, self.hwm)
        if not rows:
            return 0
        data = "".join(json.dumps({**r, "cycle": cycle}, ensure_ascii=True) + "\n" for r in rows).encode("ascii")
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:  # the file's name must survive a crash too
            try:
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            except OSError:
                pass
        self.hwm = max(self.hwm, rows[-1]["cursor"])
        self._record(self.hwm)
        return len(rows)


# --- the service -------------------------------------------------------------------------------

def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    i = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[i]


@dataclass
class CycleReport:
    cycle: int
    batch_id: int | None
    started: float  # service clock
    finished: float
    status: str
    changed: int  # places run in the cycle
    waiting_before: int
    to_model: int  # places sent to the model (the cap's share)
    llm: int  # described by the model
    deferred: int  # got their template, wait for the model
    backlog: int  # places still waiting after the cycle (pending + deferred)
    reasons: dict
    latency_p50_s: float | None  # change observed -> description stored (every place of the cycle)
    latency_p95_s: float | None
    llm_latency_p50_s: float | None  # change observed -> model description stored
    llm_latency_p95_s: float | None
    fallback_pct: float | None
    throughput_per_min: float | None  # descriptions stored per minute of the cycle
    llm_per_min: float | None
    memory_mb: float | None
    quality: float | None  # the batch's average_quality (engine.quality: the seed's averageQuality)
    fact_coverage: float | None
    outbox_lines: int
    elapsed_s: float
    next_in_s: float | None = None
    notice: str = ""
    drained: int = 0  # of ``deferred``: not started by the model because the cycle was drained (stopping)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def line(self) -> str:
        f = lambda v, fmt: "n/a" if v is None else format(v, fmt)  # noqa: E731
        fb = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1])
                       if k not in ("tier", "deferred") and not k.startswith("rule:")) or "none"
        return (f"cycle {self.cycle} [batch {self.batch_id}] {self.status}: {self.changed} places "
                f"({self.waiting_before} waiting), {self.to_model} to the model -> {self.llm} llm, {self.deferred} deferred"
                + (f" ({self.drained} by the drain)" if self.drained else "") + "; "
                f"backlog {self.backlog}; latency p50 {f(self.latency_p50_s, '.1f')} s p95 {f(self.latency_p95_s, '.1f')} s; "
                f"fallback {f(self.fallback_pct, '.1f')}% ({fb}); {f(self.throughput_per_min, '.1f')} desc/min; "
                f"memory {f(self.memory_mb, '.0f')} MiB; quality {f(self.quality, '.2f')}; "
                f"outbox +{self.outbox_lines}; {self.elapsed_s:.1f} s"
                + (f"; next in {self.next_in_s:.0f} s" if self.next_in_s is not None else ""))


@dataclass(frozen=True)
class ServiceStatus:
    """A snapshot for the console's header (plain values, safe to read from any thread)."""

    running_cycle: bool
    next_in_s: float | None
    waiting: int
    pending: int
    deferred: int
    cycles: int
    notice: str = ""

    def label(self) -> str:
        if self.running_cycle:
            return f"auto: cycle {self.cycles + 1} running, {self.waiting} changes waiting"
        if self.next_in_s is None:
            return f"auto: idle, {self.waiting} changes waiting"
        return f"auto: next cycle in {max(0, round(self.next_in_s))} s, {self.waiting} changes waiting"


@dataclass(frozen=True)
class CycleStarted:
    """Observer event when a cycle starts (``texture serve`` logs it: a cycle on the real model
    can take minutes)."""

    cycle: int
    places: int
    to_model: int

    def line(self) -> str:
        return f"starting cycle {self.cycle}: {self.places} place(s), {self.to_model} to the model"


@dataclass(frozen=True)
class CycleDone:
    """Observer event after each cycle (the console charts these)."""

    report: dict


class TextureService:
    def __init__(self, store: Store, cfg: Config, prompts: PromptLibrary | None, llm: Any, world_path: str | Path, *,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 changes: Any = None, log: Callable[[str], None] = lambda m: None,
                 observer: Callable[[Any], None] | None = None, outbox: str | Path | None = None,
                 prompt_name: str = DEFAULT_PROMPT):
        self.store, self.cfg, self.prompts, self.llm = store, cfg, prompts, llm
        self.world_path = Path(world_path)
        self.clock, self.wall = clock, wall
        self.changes = changes
        self.log = log
        self.observer = observer or (lambda ev: None)
        self.outbox = Outbox(store, outbox) if outbox else None
        self.prompt_name = prompt_name
        self.world: dict[str, Place] = {}
        self.seen_wall: dict[str, float] = {}  # urn -> when its newest state was first observed (wall)
        self.seen_clock: dict[str, float] = {}  # the same on the service clock (latency, ageing)
        self.described: dict[str, tuple[str, str]] = {}  # urn -> key of its current description
        self.pending: set[str] = set()
        self.deferred: set[str] = set()
        self.last_start: float | None = None
        self.last_end: float | None = None
        self.cycles: list[CycleReport] = []
        self.cycle_no = 0
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._drain = threading.Event()
        self._stopped_cycle: CycleReport | None = None  # the cycle a drain or cancel stopped, once stored
        self._runner: BatchRunner | None = None
        self._running = False
        self._vanished = False
        self._last_errors: tuple[str, ...] = ()
        self._overdue = False
        self._lock = threading.Lock()
        self.notice = ""

    # -- control (any thread)
    def stop(self, cancel: bool = False, drain: bool = False) -> None:
        """Stop after the running cycle. ``drain``: the model finishes the places it is decoding
        and starts no more; the cycle's other places keep their template and wait for the model
        (reason ``deferred``; the next start runs them). ``cancel``: stop its model work now
        (finished results are kept; cancelled places got their template and wait for the model)."""
        self._stop.set()
        # The flag first, then the runner: run_cycle sets the runner, then reads the flags, so
        # one of the two sides always sees the other.
        if drain:
            self._drain.set()
        if cancel:
            self._cancel.set()
        r = self._runner
        if r is not None:
            if drain:
                r.drain()
            if cancel:
                r.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def status(self) -> ServiceStatus:
        with self._lock:
            due = self.due_at()
            nxt = None if due is None else max(0.0, due - self.clock())
            return ServiceStatus(self._running, nxt, len(self.pending | self.deferred), len(self.pending),
                                 len(self.deferred), len(self.cycles), self.notice)

    # -- start
    def start(self) -> None:
        """Load the world (it must be usable, as for ``texture batch``), recover what a killed
        process left, and find the work: places whose state has no description yet, and places
        still waiting for the model."""
        if self.outbox is not None and self.outbox.notice:
            self.log(self.outbox.notice)
        read = read_world(self.world_path)
        if read.missing:
            raise WorldError(f"world file not found: {self.world_path}")
        self._report_errors(read.errors)
        if not read.places:
            raise WorldError(f"no valid place in {self.world_path}")
        self._recover()
        t, w = self.clock(), self.wall()
        self.world = dict(read.places)
        for u in self.world:
            self.seen_clock[u], self.seen_wall[u] = t, w
        self._refresh_described()
        for u, p in self.world.items():
            if self.described.get(u) != _key(p):
                self.pending.add(u)
        # Places whose current description is a template only because the model's turn had not
        # come (the cap) or the cycle was cancelled: still waiting for the model.
        for r in self.store.waiting_templates():
            p = self.world.get(r["urn"])
            if p is not None and _key(p) == (r["state_hash"], r["base_hash"]) and decide(p, self.cfg).eligible:
                self.deferred.add(r["urn"])
        self._overdue = bool(self.pending or self.deferred)  # work from before the start is due now
        if self.outbox is not None:
            n = self.outbox.flush(None)  # results a killed run stored but never handed back
            if n:
                self.log(f"outbox: {n} description(s) stored before this start (and not yet handed back) appended to {self.outbox.path}")

    def _recover(self) -> None:
        """A killed cycle's unfinished places: the service describes each place's *newest* state,
        so the re-queued items of the old state are cancelled (its finished results are kept)."""
        with self.store.batch_lock(wait_s=2.0, what="texture serve: recovery"):
            rep = self.store.recover_interrupted()
            for b in rep.interrupted:
                self.log(f"batch {b} was interrupted (the process stopped); its finished results are kept")
            for rec in rep.pending:
                self.store.cancel_items(rec.batch_id, rec.urns, "superseded: the service describes the newest state")
                self.store.finish_batch(rec.batch_id, "superseded", {}, f"{len(rec.urns)} place(s) left to the service's next cycle")

    def _resync(self) -> None:
        """Another writer (a batch started by hand, another process) may have changed current
        descriptions: a place whose current description is not its newest state waits again."""
        self._refresh_described()
        with self._lock:
            for u, p in self.world.items():
                if self.described.get(u) != _key(p):
                    if u not in self.deferred:
                        self.pending.add(u)
                else:
                    self.pending.discard(u)

    def _refresh_described(self, urns: Iterable[str] | None = None) -> None:
        if urns is None:
            self.described = dict(self.store.current_keys())
            return
        self.described.update(self.store.current_keys_for(urns))

    def _report_errors(self, errors: list[LineError]) -> None:
        msgs = tuple(str(e) for e in errors)
        if msgs and msgs != self._last_errors:
            for m in msgs[:20]:
                self.log(f"skipped {m}")
            if len(msgs) > 20:
                self.log(f"... and {len(msgs) - 20} more bad lines")
            self.log(f"{len(msgs)} bad line(s) skipped; those places keep their last good state")
        self._last_errors = msgs

    # -- reload
    def reload(self) -> int:
        """Read the world file again; returns how many places changed state."""
        read = read_world(self.world_path)
        if read.missing:
            if not self._vanished:
                self.notice = f"world file {self.world_path} vanished: keeping the last good world ({len(self.world)} places)"
                self.log(self.notice)
            self._vanished = True
            return 0
        if self._vanished:
            self._vanished = False
            self.notice = ""
            self.log(f"world file {self.world_path} is back")
        self._report_errors(read.errors)
        t, w = self.clock(), self.wall()
        changed = 0
        with self._lock:
            for u, p in read.places.items():
                old = self.world.get(u)
                if old is not None and _key(old) == _key(p):
                    continue
                self.world[u] = p
                self.seen_clock[u], self.seen_wall[u] = t, w
                changed += 1
                if self.described.get(u) == _key(p):  # back to the state already described
                    self.pending.discard(u)
                else:
                    self.pending.add(u)
                self.deferred.discard(u)
        return changed

    # -- cadence
    def work(self) -> set[str]:
        # Deferred places wait for the model; with no model work per cycle they wait for nothing.
        return self.pending | self.deferred if self.cfg.cycle_max_llm > 0 else set(self.pending)

    def interval(self) -> float:
        work = self.work()
        sig = sum(1 for u in work if decide(self.world[u], self.cfg).tier != "template")
        pressure = sig + (len(work) - sig) / 10.0
        cap = max(1, self.cfg.cycle_max_llm)
        frac = min(1.0, pressure / cap)
        return self.cfg.cycle_max_s - (self.cfg.cycle_max_s - self.cfg.cycle_min_s) * frac

    def due_at(self) -> float | None:
        work = self.work()
        if not work:
            return None
        if self._overdue and self.last_start is None:
            return self.clock()
        oldest = min(self.seen_clock.get(u, self.clock()) for u in work)
        anchor = oldest if self.last_start is None else max(self.last_start, oldest)
        due = anchor + self.interval()
        if self.last_start is not None:
            due = max(due, self.last_start + self.cfg.cycle_min_s)
        if self.last_end is not None:
            due = max(due, self.last_end)
        return due

    def priority(self, urn: str, now: float) -> float:
        p = self.world[urn]
        sig = max(0.0, p.max_significance) if p.events else 0.0
        waited = max(0.0, now - self.seen_clock.get(urn, now))
        return TIER_RANK.get(decide(p, self.cfg).tier, 0) + sig + waited / max(1.0, self.cfg.cycle_max_s)

    def choose(self) -> tuple[list[Place], set[str]]:
        """The places of the next cycle and those of them that go to the model."""
        now = self.clock()
        eligible = [u for u in self.work() if decide(self.world[u], self.cfg).eligible]
        eligible.sort(key=lambda u: (-self.priority(u, now), u))
        to_model = set(eligible[: max(0, self.cfg.cycle_max_llm)])
        run = sorted(self.pending | (self.deferred & to_model))
        return [self.world[u] for u in run], to_model

    # -- one cycle
    def run_cycle(self) -> CycleReport | None:
        self.reload()  # the newest file, even if a watch event was missed
        self._resync()
        with self._lock:
            places, to_model = self.choose()
            if not places:
                return None
            waiting_before = len(self.work())
            self._running = True
            started = self.clock()
            self.last_start = started
            self._overdue = False
        self.cycle_no += 1
        n = self.cycle_no
        result_at: dict[str, float] = {}

        def observe(ev: Any) -> None:
            if isinstance(ev, ResultStored):
                result_at[ev.urn] = self.clock()
            self.observer(ev)

        runner = BatchRunner(self.store, self.cfg, self.prompts, self.llm, observer=observe, prompt_name=self.prompt_name)
        self._runner = runner
        if self._drain.is_set():
            runner.drain()
        if self._cancel.is_set():
            runner.cancel()
        seen = {p.urn: self.seen_wall[p.urn] for p in places}
        planned = {p.urn: _key(p) for p in places}
        self.observer(CycleStarted(n, len(places), len(to_model & set(planned))))
        try:
            summary = runner.run(places, f"service cycle {n}", llm_only={u for u in to_model if u in planned},
                                 seen_at=seen)
        except BatchBusyError as exc:
            # A manual batch on the same database: try again a little later, nothing is lost.
            self.cycle_no -= 1
            with self._lock:
                self._running = False
                self.last_end = self.clock() + max(1.0, self.cfg.cycle_min_s / 10)
            self.notice = str(exc)
            self.log(f"cycle postponed: {exc}")
            return None
        finally:
            self._runner = None
        finished = self.clock()
        rows = self.store.batch_results(summary.batch_id)
        lat, llm_lat = [], []
        with self._lock:
            for r in rows:
                u = r["urn"]
                key = (r["state_hash"], r["base_hash"])
                if key != planned.get(u):
                    continue
                at = result_at.get(u, finished)
                lat.append(at - self.seen_clock.get(u, started))
                if r["source"] == "llm":
                    llm_lat.append(at - self.seen_clock.get(u, started))
                if self.world.get(u) is not None and _key(self.world[u]) == key:
                    self.pending.discard(u)
                    if r["source"] == "template" and r["reason"] in ("deferred", "cancelled"):
                        self.deferred.add(u)
                    else:
                        self.deferred.discard(u)
            self._refresh_described(planned)
            self.last_end = finished
            self._running = False
        out_n = 0
        if self.outbox is not None:
            out_n = self.outbox.flush(n)
        m = summary.metrics or {}
        elapsed = max(finished - started, 1e-9)
        rep = CycleReport(
            cycle=n, batch_id=summary.batch_id, started=started, finished=finished, status=summary.status,
            changed=len(places), waiting_before=waiting_before, to_model=m.get("llm_places") or 0,
            llm=summary.by_source.get("llm", 0), deferred=summary.reasons.get("deferred", 0),
            backlog=len(self.work()), reasons=dict(summary.reasons),
            latency_p50_s=_r(_pct(lat, 0.5)), latency_p95_s=_r(_pct(lat, 0.95)),
            llm_latency_p50_s=_r(_pct(llm_lat, 0.5)), llm_latency_p95_s=_r(_pct(llm_lat, 0.95)),
            fallback_pct=m.get("fallback_pct"), throughput_per_min=round(60.0 * len(rows) / elapsed, 1),
            llm_per_min=m.get("throughput_per_min"), memory_mb=m.get("memory_mb"),
            quality=m.get("average_quality"), fact_coverage=m.get("fact_coverage"), outbox_lines=out_n,
            elapsed_s=round(summary.elapsed_s, 3), notice=summary.notice, drained=m.get("drained") or 0,
        )
        if self._drain.is_set() or self._cancel.is_set():
            self._stopped_cycle = rep
        due = self.due_at()
        rep.next_in_s = None if due is None else round(max(0.0, due - self.clock()), 1)
        self.cycles.append(rep)
        try:
            self.store.record_cycle(rep.batch_id, self.wall() - (finished - started), self.wall(), rep.status,
                                    rep.changed, rep.llm, rep.deferred, rep.backlog,
                                    json.dumps(rep.as_dict(), default=str))
        except StoreError as exc:
            self.log(f"could not record cycle {n}: {exc}")
        self.observer(CycleDone(rep.as_dict()))
        return rep

    # -- the loop
    def run_forever(self, max_cycles: int | None = None, on_cycle: Callable[[CycleReport], None] | None = None,
                    until: Callable[[], bool] | None = None) -> None:
        """Watch, reload and run cycles until :meth:`stop` (or ``max_cycles``, or ``until()``)."""
        done = 0
        while not self._stop.is_set():
            if until is not None and until():
                break
            due = self.due_at()
            now = self.clock()
            if due is not None and now >= due:
                rep = self.run_cycle()
                if rep is not None:
                    done += 1
                    if on_cycle is not None:
                        on_cycle(rep)
                    if max_cycles is not None and done >= max_cycles:
                        break
                continue
            timeout = 1.0 if due is None else min(1.0, due - now)
            if self.changes is None:
                time.sleep(max(0.0, timeout))  # no watcher given: poll the file once a second
                self.reload()
            elif self.changes.wait(timeout):
                self.reload()

    def stop_summary(self) -> str:
        """One line after a stop: what the stopped cycle finished and what waits for the next start."""
        left = len(self.work())
        rep = self._stopped_cycle
        if rep is None:
            return f"no cycle was running; {left} place(s) wait for the next start"
        if rep.status == "cancelled":
            return (f"cycle {rep.cycle} cancelled: {rep.llm} place(s) the model had finished kept, "
                    f"{rep.reasons.get('cancelled', 0)} cancelled got their template and wait for the model; "
                    f"{left} place(s) wait for the next start")
        return (f"cycle {rep.cycle} drained: {rep.to_model} place(s) the model had started finished "
                f"({rep.llm} stored as model text), {rep.drained} not started got their template and wait for the "
                f"model; {left} place(s) wait for the next start")

    def close(self) -> None:
        if self.changes is not None:
            try:
                self.changes.close()
            except Exception:
                pass


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
