"""The console's view of the engine: an event buffer and the state the panels draw from.

Engine events arrive on the batch worker's thread (the runner re-emits the generation thread's
events there). They go into :class:`EventBuffer`, which coalesces consecutive token events of the
same place (toolong-style: a fast producer replaces its own unhandled older message instead of
adding one), and the UI drains it about 15 times a second. Nothing here touches a widget, so it is
plain, thread-agnostic Python that tests can drive directly.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.dispatch import BatchDone, BatchPlanned, ResultStored
from engine.llm.events import BatchFinished, PlaceFinished, PlaceStarted, Tokens

from .live import LiveMetrics

STATES = ("queued", "running", "done", "fell back", "cancelled")
# States of a place in the world view: its current description's, "changed" when the place's
# state moved on since it was written, "no text" when it has none yet.
WORLD_STATES = ("done", "fell back", "cancelled", "changed", "no text")
TIERS = ("premium", "full", "light", "template")
# Queue sort orders (the ``o`` key cycles them): (id, label).
SORTS = ((None, "as listed"), ("quality", "quality, worst first"), ("-quality", "quality, best first"),
         ("age", "oldest text first"), ("reason", "reason"))
# Quality filters: (id, label); "below:X" keeps scored rows under X, "unscored" rows without a score.
QUALITY_FILTERS = (("below:0.5", "quality below 0.50"), ("below:0.7", "quality below 0.70"),
                   ("below:0.9", "quality below 0.90"), ("atleast:0.7", "quality 0.70 or more"),
                   ("unscored", "no quality score"))
MAX_ROWS = 4000  # rows kept in the queue table (current batch first, then recent ones)


def final_state(source: str | None, reason: str | None) -> str:
    """Queue state of a stored result: policy templates are 'done', other templates fell back."""
    if reason == "cancelled":
        return "cancelled"
    if source == "llm" or not reason:
        return "done"
    if reason == "tier" or reason.startswith("rule:"):
        return "done"
    return "fell back"


class EventBuffer:
    """Thread-safe FIFO of engine events with token coalescing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque = deque()
        self.received = 0  # events put (before coalescing), for tests and the bench

    def put(self, ev: Any) -> None:
        with self._lock:
            self.received += 1
            if isinstance(ev, Tokens) and self._items:
                last = self._items[-1]
                if isinstance(last, Tokens) and last.key == ev.key and last.stream == ev.stream:
                    self._items[-1] = Tokens(ev.key, ev.stream, last.text_delta + ev.text_delta, ev.n_tokens)
                    return
            self._items.append(ev)

    def drain(self) -> list:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass
class QueueRow:
    batch_id: int
    urn: str
    name: str
    tier: str
    state: str = "queued"
    stream: int | None = None
    source: str | None = None
    reason: str | None = None
    detail: str | None = None
    latency_ms: float | None = None
    tokens: int | None = None
    result_id: int | None = None
    worker: str | None = None  # the cluster worker it ran on (None: this machine)
    quality: float | None = None  # the result's quality score, 0..1 (engine.quality)
    updated_at: float | None = None  # time.time() the result was stored
    world: bool = False  # a row of the world view (one per place) rather than of a batch

    @property
    def key(self) -> str:
        return f"w:{self.urn}" if self.world else f"{self.batch_id}:{self.urn}"


@dataclass
class Lane:
    index: int
    urn: str | None = None
    name: str = ""
    text: str = ""
    tokens: int = 0
    started: float = 0.0
    deadline_s: float | None = None
    last_name: str = ""
    worker: str | None = None  # the cluster worker this lane belongs to (None: this machine)

    @property
    def busy(self) -> bool:
        return self.urn is not None

    def elapsed(self, now: float | None = None) -> float:
        return ((now or time.monotonic()) - self.started) if self.busy else 0.0

    def tokens_per_s(self, now: float | None = None) -> float | None:
        el = self.elapsed(now)
        return self.tokens / el if self.busy and el > 0.05 else None


@dataclass
class BatchInfo:
    batch_id: int | None = None
    selection: str = ""
    status: str = "idle"  # idle | waiting | running | cancelling | done | cancelled | failed
    total: int = 0
    finished: int = 0
    llm_places: int = 0
    deadline_label: str = ""
    deadlines: tuple = ()  # distinct per-tier deadlines (s) of the planned model work
    model_id: str | None = None
    prompt_version: str | None = None
    started: float = 0.0
    summary: dict = field(default_factory=dict)


@dataclass
class Changes:
    """What one drain changed, so the UI refreshes only what it must."""

    rebuild: bool = False  # the queue table needs a full rebuild
    planned: bool = False  # a new batch was planned
    rows: set = field(default_factory=set)  # row keys whose cells changed
    lanes: bool = False
    batch_done: dict | None = None
    stored_urns: set = field(default_factory=set)
    live: bool = False  # the running batch's figures moved (console.live)
    stored_ids: dict = field(default_factory=dict)  # result id -> row key of the results stored

    @property
    def any(self) -> bool:
        return self.rebuild or bool(self.rows) or self.lanes or self.batch_done is not None


class ConsoleState:
    """Rows of the queue table, the stream lanes, the current batch."""

    def __init__(self, lanes: int, names: dict[str, str]):
        self.names = names
        self.rows: dict[str, QueueRow] = {}  # key -> row, newest batch first (insertion order)
        self.lanes = [Lane(i) for i in range(lanes)]
        self.batch = BatchInfo()
        self._urn_key: dict[str, str] = {}  # urn -> row key in the current batch
        self.view = "batch"  # "batch": rows of the batches; "world": every place, its current text
        self.world: dict[str, QueueRow] = {}  # key -> row of the world view, in world order
        self.sort: str | None = None
        self.live = LiveMetrics()

    # -- history
    def load_history(self, results: list[dict], tiers: dict[str, str] | None = None) -> None:
        """Rows for stored results (newest batch first), e.g. the last batch at start-up."""
        rows = {}
        for r in results:
            row = QueueRow(r["batch_id"], r["urn"], self.names.get(r["urn"], r["urn"]), r["tier"],
                           final_state(r["source"], r["reason"]), r["stream"], r["source"], r["reason"],
                           r["detail"], r["latency_ms"], r["tokens"], r["id"], r.get("worker"), result_quality(r),
                           r.get("created_at"))
            rows[row.key] = row
        self.rows.update(rows)

    # -- events
    def apply(self, events: list) -> Changes:
        ch = Changes()
        now = time.monotonic()
        live = self.live
        for ev in events:
            if live.apply(ev):
                ch.live = True
            if isinstance(ev, Tokens):
                lane = self._lane(ev.stream)
                if lane is not None and lane.urn == ev.key:
                    lane.text += ev.text_delta
                    lane.tokens = ev.n_tokens
                    ch.lanes = True
                key = self._urn_key.get(ev.key)
                if key and key in self.rows:
                    # The lane shows live counts; the table row is redrawn on state changes only
                    # (a DataTable cell update re-renders the table: too costly 15 times a second).
                    self.rows[key].tokens = ev.n_tokens
            elif isinstance(ev, PlaceStarted):
                lane = self._lane(ev.stream)
                if lane is not None:
                    lane.urn, lane.name, lane.text, lane.tokens = ev.key, self.names.get(ev.key, ev.key), "", 0
                    lane.started, lane.deadline_s = now, ev.deadline_s
                    lane.worker = getattr(ev, "worker", None)
                    ch.lanes = True
                key = self._urn_key.get(ev.key)
                if key and key in self.rows:
                    row = self.rows[key]
                    row.state, row.stream, row.tokens = "running", ev.stream, 0
                    row.worker = getattr(ev, "worker", None)
                    ch.rows.add(key)
            elif isinstance(ev, PlaceFinished):
                lane = self._lane(ev.stream)
                if lane is not None and lane.urn == ev.key:
                    lane.last_name = lane.name
                    lane.urn = None
                    ch.lanes = True
            elif isinstance(ev, ResultStored):
                key = self._urn_key.get(ev.urn) or f"{ev.batch_id}:{ev.urn}"
                row = self.rows.get(key)
                if row is None:
                    row = QueueRow(ev.batch_id, ev.urn, self.names.get(ev.urn, ev.urn), ev.tier)
                    self.rows[key] = row
                    ch.rebuild = True
                row.state = final_state(ev.source, ev.reason)
                row.source, row.reason, row.detail = ev.source, ev.reason, ev.detail
                row.latency_ms, row.tokens, row.result_id = ev.latency_ms, ev.tokens, ev.result_id
                row.updated_at = time.time()
                q = getattr(ev, "quality", None)  # when the engine's event carries the score
                row.quality = q if isinstance(q, (int, float)) else row.quality
                if ev.stream is not None and ev.stream >= 0:
                    row.stream = ev.stream
                wrow = self.world.get(f"w:{ev.urn}")
                if wrow is not None:  # the world view follows what the batch stores
                    wrow.state, wrow.source, wrow.reason, wrow.detail = row.state, row.source, row.reason, row.detail
                    wrow.tier, wrow.result_id, wrow.updated_at, wrow.quality = row.tier, row.result_id, row.updated_at, row.quality
                    wrow.batch_id, wrow.tokens, wrow.latency_ms = row.batch_id, row.tokens, row.latency_ms
                    if self.view == "world":
                        ch.rows.add(wrow.key)
                self.batch.finished += 1
                ch.rows.add(key)
                ch.stored_urns.add(ev.urn)
                ch.stored_ids[ev.result_id] = key
            elif isinstance(ev, BatchPlanned):
                self._plan(ev)
                self.view = "batch"  # a new batch shows its own rows
                ch.rebuild = ch.planned = True
            elif isinstance(ev, BatchDone):
                self.batch.summary = dict(ev.summary)
                self.batch.status = ev.summary.get("status", "done")
                for lane in self.lanes:
                    if lane.busy:
                        lane.last_name, lane.urn = lane.name, None
                ch.lanes = True
                ch.batch_done = dict(ev.summary)
            elif isinstance(ev, BatchFinished):
                pass
        return ch

    def _lane(self, stream: int | None) -> Lane | None:
        if stream is None or stream < 0:
            return None
        if stream >= len(self.lanes) and stream < 64:  # a cluster has a lane per worker and stream
            self.lanes.extend(Lane(i) for i in range(len(self.lanes), stream + 1))
        return self.lanes[stream] if stream < len(self.lanes) else None

    def _plan(self, ev: BatchPlanned) -> None:
        b = self.batch
        b.batch_id, b.total, b.finished = ev.batch_id, len(ev.items), 0
        b.llm_places = sum(1 for it in ev.items if it.eligible)
        b.deadlines = tuple(sorted({it.deadline_s for it in ev.items if it.eligible and it.deadline_s}))
        b.deadline_label, b.model_id, b.prompt_version = ev.deadline_label, ev.model_id, ev.prompt_version
        b.status = "running"
        new = {}
        self._urn_key = {}
        for it in ev.items:
            row = QueueRow(ev.batch_id, it.urn, it.name, it.tier)
            new[row.key] = row
            self._urn_key[it.urn] = row.key
        # The new batch goes first; older rows follow, capped so the table stays light.
        keep = MAX_ROWS - len(new)
        old = [(k, r) for k, r in self.rows.items() if r.batch_id != ev.batch_id][: max(keep, 0)]
        self.rows = {**new, **dict(old)}

    def apply_quality(self, scores: dict[int, tuple], ch: Changes) -> None:
        """Quality of results just stored (result id -> console.qualityview.stored_scores),
        read from the store: onto their queue rows and into the running figures."""
        for rid, (q, cov, contradicted, llm_q, template_q) in scores.items():
            key = ch.stored_ids.get(rid)
            row = self.rows.get(key) if key else None
            if row is not None:
                row.quality = q
                wrow = self.world.get(f"w:{row.urn}")
                if wrow is not None and wrow.result_id == rid:
                    wrow.quality = q
            self.live.record_quality(rid, row.source if row is not None else None, q, cov, contradicted, llm_q, template_q)
            ch.live = True

    # -- the world view
    def load_world(self, places: list, current: dict[str, dict], tier_of) -> None:
        """One row per place: its current description's source, reason, quality and age.

        ``current``: urn -> the store's row for that place's current result (``Store.current_overview``).
        """
        rows = {}
        for p in places:
            c = current.get(p.urn)
            if c is None:
                row = QueueRow(0, p.urn, p.name, tier_of(p), "no text", world=True)
            else:
                state = "changed" if c.get("state_hash") != p.state_hash else final_state(c.get("source"), c.get("reason"))
                row = QueueRow(c.get("batch_id") or 0, p.urn, p.name, tier_of(p), state, c.get("stream"), c.get("source"),
                               c.get("reason"), c.get("detail"), c.get("latency_ms"), c.get("tokens"), c.get("result_id"),
                               quality=result_quality(c), updated_at=c.get("updated_at"), world=True)
            rows[row.key] = row
        self.world = rows

    def active(self) -> dict[str, QueueRow]:
        return self.world if self.view == "world" else self.rows

    def row(self, key: str | None) -> QueueRow | None:
        if not key:
            return None
        return self.world.get(key) if key.startswith("w:") else self.rows.get(key)

    # -- queries
    def visible(self, state: str | None = None, tier: str | None = None, reason: str | None = None,
                quality: str | None = None) -> list[QueueRow]:
        """The active view's rows, filtered, in the current sort order."""
        return sort_rows(self.filtered(state, tier, reason, quality, rows=self.active()), self.sort)

    def filtered(self, state: str | None = None, tier: str | None = None, reason: str | None = None,
                 quality: str | None = None, rows: dict | None = None) -> list[QueueRow]:
        out = []
        for r in (self.rows if rows is None else rows).values():
            if state and r.state != state:
                continue
            if tier and r.tier != tier:
                continue
            if reason and (r.reason or "") != reason and not (reason.endswith(":") and (r.reason or "").startswith(reason)):
                continue
            if quality and not quality_matches(r.quality, quality):
                continue
            out.append(r)
        return out

    def reasons(self) -> list[str]:
        return sorted({r.reason for r in self.active().values() if r.reason})

    def unfinished(self) -> list[QueueRow]:
        b = self.batch.batch_id
        return [r for r in self.rows.values() if r.batch_id == b and r.state in ("queued", "running")]


def result_quality(r: dict) -> float | None:
    """The quality score (0..1) of a stored result row, if the store has one for it."""
    v = r.get("quality")
    return float(v) if isinstance(v, (int, float)) else None


def quality_matches(q: float | None, spec: str) -> bool:
    if spec == "unscored":
        return q is None
    kind, _, x = spec.partition(":")
    try:
        limit = float(x)
    except ValueError:
        return True
    if q is None:
        return False
    return q < limit if kind == "below" else q >= limit


def sort_rows(rows: list[QueueRow], sort: str | None) -> list[QueueRow]:
    """Rows in a sort order (stable: ties keep the listed order). Rows without the figure go last
    (quality), or first (age: a place with no text is the oldest)."""
    if not sort:
        return rows
    if sort in ("quality", "-quality"):
        scored = [r for r in rows if r.quality is not None]
        scored.sort(key=lambda r: r.quality, reverse=sort == "-quality")
        return scored + [r for r in rows if r.quality is None]
    if sort == "age":
        return sorted(rows, key=lambda r: (r.updated_at is not None, r.updated_at or 0.0))
    if sort == "reason":
        return sorted(rows, key=lambda r: (r.reason is None, r.reason or ""))
    return rows
