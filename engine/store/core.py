"""The SQLite store, through sqlite-utils, in WAL mode.

Tables (readable with the ``sqlite-utils`` and ``sqlite3`` command-line tools alone):

- ``places``          current state of every place (urn, name, region, state hash, seed, tier, JSON)
- ``batches``         one row per batch: selection, status, counts by tier/source/reason, timings
- ``results``         one row per place per batch, with everything needed to reproduce it
- ``current``         the current description of every place (the newest stored result)
- ``prompt_versions`` every prompt text that was ever used (version = content hash)
- ``batch_metrics``   the seed's LLMPerformanceMonitor figures per batch
- ``migrations``      numbered schema migrations applied to this file
- ``batch_items``     every planned place of every batch (queued | done | requeued | cancelled), written
                      with the batch in one transaction and marked done in the transaction that stores
                      its result: what makes a killed batch resumable exactly once

A connection belongs to the thread that opened it (SQLite's rule); open one per thread.

Reliability (see ``Store.batch_lock``, ``Store.recover_interrupted``):

- Every write is one ``BEGIN IMMEDIATE`` transaction (all or nothing), retried on SQLITE_BUSY
  after the busy timeout; a full disk, a read-only file or an I/O error becomes a
  :class:`StoreWriteError` (a :class:`StoreError`) with a message that says what to fix.
- One batch writer per database at a time: a batch holds an advisory ``flock`` on ``<db>.lock``
  (released by the OS when the process dies, even on SIGKILL). A second batch refuses with a
  clear :class:`BatchBusyError`; readers (export, the console's views, doctor) work alongside.
- Batches left 'running' by a dead process are marked 'interrupted' and their unfinished places
  re-queued, exactly once, as a new batch "resume of #N" (see ``recover_interrupted``).
- Results that could not be written (full disk, read-only file) are spilled by the dispatcher to
  ``<db>.spill-*.jsonl`` and imported here on the next recovery.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

try:  # advisory file locks (Linux, macOS); elsewhere batches are not serialised across processes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

import sqlite_utils

from ..errors import StoreError  # noqa: F401 (defined in the one exception tree; re-exported here)
from ..world import Place
from .queries import StoreQueries
from .rows import BatchBusyError, ResultRow, now
from .recovery import StoreRecovery
from .service_queries import ServiceQueries
from .migrations import MIGRATIONS
from .workbench_migrations import migrate_workbench


class StoreWriteError(StoreError, sqlite3.OperationalError):
    """A write failed after retries (full disk, read-only file or folder, I/O error, busy).

    Also an ``sqlite3.OperationalError`` so code that catches SQLite's own error keeps working.
    ``kind`` is one of: full, readonly, busy, io, corrupt, other.
    """

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


BUSY_TIMEOUT_MS = 10_000
# Extra attempts after SQLite's own busy handler gave up (SQLITE_BUSY / "database is locked").
BUSY_RETRY_DELAYS = (0.1, 0.5, 1.0)
# A full disk or an I/O error may be transient (space freed, NFS hiccup): retry a little.
FULL_RETRY_DELAYS = (0.1, 0.3)


# --- the store --------------------------------------------------------------------------------

_PRIMARY_KIND = {5: "busy", 6: "busy", 8: "readonly", 10: "io", 11: "corrupt", 13: "full", 14: "cantopen", 26: "corrupt"}


def error_kind(exc: BaseException) -> str:
    """full | readonly | busy | io | corrupt | cantopen | other, from an sqlite3 error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _PRIMARY_KIND:
        return _PRIMARY_KIND[code & 0xFF]
    msg = str(exc).lower()
    if "disk is full" in msg or "database or disk is full" in msg or "no space" in msg:
        return "full"
    if "readonly" in msg or "read-only" in msg:
        return "readonly"
    if "locked" in msg or "busy" in msg:
        return "busy"
    if "disk i/o" in msg:
        return "io"
    if "malformed" in msg or "not a database" in msg:
        return "corrupt"
    if "unable to open" in msg:
        return "cantopen"
    return "other"


def _holder_text(info: dict | None) -> str:
    if not info:
        return "another process"
    who = f"pid {info.get('pid', '?')}"
    if info.get("host") and info.get("host") != socket.gethostname():
        who += f" on {info['host']}"
    since = info.get("since")
    if since:
        who += " since " + time.strftime("%H:%M:%S", time.localtime(since))
    if info.get("what"):
        who += f" ({info['what']})"
    return who


class _FileLock:
    """An exclusive advisory flock on a lock file; reentrant within one Store."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None
        self.depth = 0

    def holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None

    def try_acquire(self, what: str) -> bool:
        if self.depth:
            self.depth += 1
            return True
        if fcntl is None:  # pragma: no cover
            self.depth = 1
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreWriteError(
                f"cannot create the batch lock file {self.path}: {exc.strerror or exc} "
                f"(is the database folder read-only? check its permissions)", "readonly") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd, self.depth = fd, 1
        try:
            info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now(), "what": what})
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode("utf-8"), 0)
        except OSError:
            pass  # the lock itself is what matters; the note is for the message
        return True

    def is_held_elsewhere(self) -> bool:
        if self.depth or fcntl is None or not self.path.exists():
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing releases a lock we may have taken
        return False

    def release(self) -> None:
        if self.depth == 0:
            return
        self.depth -= 1
        if self.depth == 0 and self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)


class Store(StoreRecovery, StoreQueries, ServiceQueries):
    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=True)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db = sqlite_utils.Database(conn)
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}{self._hint(error_kind(exc))}") from None
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from None
        self._lock = _FileLock(self.path.with_name(self.path.name + ".lock"))

    def _hint(self, kind: str) -> str:
        return {
            "full": f" — the disk holding {self.path.parent} is full: free some space and run again",
            "readonly": f" — the database file or its folder is read-only: check the permissions of {self.path} "
                        f"and {self.path.parent} (SQLite also needs to create {self.path.name}-wal and -shm there)",
            "busy": f" — another process kept the database locked for more than {BUSY_TIMEOUT_MS // 1000} s "
                    "(a batch in another console or terminal?)",
            "io": " — the disk reported an I/O error: check the disk and free space",
            "corrupt": " — the file is damaged: run `texture doctor`, restore a backup or recover with sqlite3 .recover",
            "cantopen": f" — cannot open it: check that {self.path.parent} exists and is writable",
        }.get(kind, "")

    # -- schema
    def migrate(self) -> list[int]:
        db = self.db
        db["migrations"].create({"id": int, "name": str, "applied_at": float}, pk="id", if_not_exists=True)
        done = {r["id"] for r in db["migrations"].rows}
        applied = []
        for mid, name, fn in MIGRATIONS:
            if mid in done:
                continue
            with db.conn:
                fn(db)
                db["migrations"].insert({"id": mid, "name": name, "applied_at": now()})
            applied.append(mid)
        with db.conn:  # workbench migrations newer than the database's migration 4
            migrate_workbench(db)
        return applied

    def applied_migrations(self) -> list[int]:
        return [r["id"] for r in self.db["migrations"].rows_where(order_by="id")]

    def close(self) -> None:
        if self._lock.depth:
            self._lock.depth = 1
            self._lock.release()
        self.db.conn.close()

    # -- transactions
    def _tx(self, fn: Callable[[], Any], what: str) -> Any:
        """Run ``fn`` in one BEGIN IMMEDIATE transaction; retry busy/full/I-O; explain failures."""
        conn = self.db.conn
        if conn.in_transaction:  # nested: part of the caller's transaction
            return fn()
        busy = list(BUSY_RETRY_DELAYS)
        full = list(FULL_RETRY_DELAYS)
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn()
                    conn.execute("COMMIT")
                    return out
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
            except sqlite3.DatabaseError as exc:
                kind = error_kind(exc)
                delays = busy if kind == "busy" else full if kind in ("full", "io") else []
                if delays:
                    time.sleep(delays.pop(0))
                    continue
                raise StoreWriteError(f"cannot write to database {self.path} ({what}): {exc}{self._hint(kind)}", kind) from exc

    # -- the batch writer lock
    @contextlib.contextmanager
    def batch_lock(self, wait_s: float = 2.0, what: str = "batch") -> Iterator[None]:
        """Hold this database's batch-writer lock (reentrant). Raises :class:`BatchBusyError`."""
        deadline = time.monotonic() + max(0.0, wait_s)
        while not self._lock.try_acquire(what):
            if time.monotonic() >= deadline:
                raise BatchBusyError(
                    f"another batch is running on {self.path} ({_holder_text(self._lock.holder())}): "
                    "wait for it to finish or cancel it there, then run again. "
                    "Reading (export, browsing in the console) works alongside it.")
            time.sleep(0.05)
        try:
            yield
        finally:
            self._lock.release()

    def batch_running_elsewhere(self) -> dict | None:
        """Who holds the batch lock, if a live process other than this Store does (else None)."""
        if self._lock.is_held_elsewhere():
            return self._lock.holder() or {}
        return None

    # -- places
    def sync_places(self, places: Iterable[Place], tier_of: Callable[[Place], str]) -> None:
        t = now()
        rows = [
            (p.urn, p.name, p.region, p.state_hash, p.seed, tier_of(p), json.dumps(p.to_json(), ensure_ascii=False), t)
            for p in places
        ]

        def write():
            self.db.conn.executemany(
                "INSERT INTO places(urn, name, region, state_hash, seed, tier, data, updated_at) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT(urn) DO UPDATE SET name=excluded.name, region=excluded.region, state_hash=excluded.state_hash, "
                "seed=excluded.seed, tier=excluded.tier, data=excluded.data, updated_at=excluded.updated_at", rows)

        self._tx(write, "places")

    # -- prompt versions
    def record_prompt(self, name: str, version: str, text: str) -> None:
        t = now()
        self._tx(lambda: self.db.execute(
            "INSERT INTO prompt_versions(version, name, text, first_seen, last_seen) VALUES (?,?,?,?,?) "
            "ON CONFLICT(version) DO UPDATE SET last_seen=excluded.last_seen",
            [version, name, text, t, t],
        ), "prompt version")

    def last_prompt(self, name: str) -> dict | None:
        """The most recently used recorded version of prompt ``name`` (the last good one)."""
        rows = list(self.db.query(
            "SELECT * FROM prompt_versions WHERE name=? ORDER BY last_seen DESC, first_seen DESC LIMIT 1", [name]))
        return rows[0] if rows else None

    # -- batches
    def start_batch(self, selection: str, places: int, model_id: str | None, prompt_version: str | None, config: dict,
                    items: Iterable[tuple[str, str, str, str | None]] | None = None) -> int:
        """A new 'running' batch and, in the same transaction, its planned items
        (``(urn, state_hash, tier, planned place JSON)``), each 'queued'."""
        t = now()
        items = list(items or [])

        def write():
            cur = self.db.conn.execute(
                "INSERT INTO batches(started_at, status, selection, places, model_id, prompt_version, config) "
                "VALUES (?,?,?,?,?,?,?)",
                [t, "running", selection, places, model_id, prompt_version, json.dumps(config)])
            bid = cur.lastrowid
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO batch_items(batch_id, urn, state_hash, tier, planned, status, updated_at, seen_at) "
                "VALUES (?,?,?,?,?,'queued',?,?)",
                [(bid, it[0], it[1], it[2], it[3], t, it[4] if len(it) > 4 else None) for it in items])
            return bid

        return self._tx(write, "new batch")

    def begin_queued_batch(self, batch_id: int, model_id: str | None, prompt_version: str | None, config: dict) -> None:
        """A queued (resume) batch starts running in this process."""
        self._tx(lambda: self.db.execute(
            "UPDATE batches SET status='running', started_at=?, model_id=?, prompt_version=?, config=? WHERE id=?",
            [now(), model_id, prompt_version, json.dumps(config), batch_id]), "start batch")

    def finish_batch(self, batch_id: int, status: str, summary: dict, notice: str = "") -> None:
        self._tx(lambda: self.db.execute(
            "UPDATE batches SET finished_at=?, status=?, by_tier=?, by_source=?, reasons=?, elapsed_s=?, notice=? WHERE id=?",
            [now(), status, json.dumps(summary.get("by_tier", {})), json.dumps(summary.get("by_source", {})),
             json.dumps(summary.get("reasons", {})), summary.get("elapsed_s"), notice, batch_id]), "finish batch")

    def batch(self, batch_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM batches WHERE id=?", [batch_id]))
        return rows[0] if rows else None

    def batch_items(self, batch_id: int, status: str | None = None) -> list[dict]:
        if status is None:
            return list(self.db.query("SELECT * FROM batch_items WHERE batch_id=? ORDER BY rowid", [batch_id]))
        return list(self.db.query("SELECT * FROM batch_items WHERE batch_id=? AND status=? ORDER BY rowid",
                                  [batch_id, status]))

    def cancel_items(self, batch_id: int, urns: Iterable[str], why: str = "") -> None:
        t = now()
        self._tx(lambda: self.db.conn.executemany(
            "UPDATE batch_items SET status='cancelled', updated_at=? WHERE batch_id=? AND urn=? AND status='queued'",
            [(t, batch_id, u) for u in urns]), "cancel items")

    def record_metrics(self, batch_id: int, m: dict) -> None:
        self._tx(lambda: self.db.execute(
            "INSERT INTO batch_metrics(batch_id, avg_latency_ms, fallback_pct, throughput_per_min, tokens_per_s, "
            "memory_mb, llm_places, ttft_ms, metrics) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(batch_id) DO UPDATE SET "
            "avg_latency_ms=excluded.avg_latency_ms, fallback_pct=excluded.fallback_pct, "
            "throughput_per_min=excluded.throughput_per_min, tokens_per_s=excluded.tokens_per_s, "
            "memory_mb=excluded.memory_mb, llm_places=excluded.llm_places, ttft_ms=excluded.ttft_ms, metrics=excluded.metrics",
            [batch_id, m.get("avg_latency_ms"), m.get("fallback_pct"), m.get("throughput_per_min"), m.get("tokens_per_s"),
             m.get("memory_mb"), m.get("llm_places"), m.get("ttft_ms"), json.dumps(m, default=str)]), "metrics")

    # -- results
    _RESULT_COLS = ("batch_id", "urn", "state_hash", "tier", "source", "text", "template_text", "llm_text", "reason",
                    "detail", "prompt_version", "model_id", "seed", "budget", "latency_ms", "tokens", "stream",
                    "base_hash", "created_at", "worker", "seen_at", "quality", "template_quality", "llm_quality",
                    "quality_json")

    def add_results(self, results: list[ResultRow]) -> list[int]:
        """Store results, make them current and mark their batch items done: one transaction."""
        return self._tx(lambda: self._write_results(results), "results")

    def _write_results(self, results: list[ResultRow]) -> list[int]:
        conn = self.db.conn
        ids = []
        sql = (f"INSERT INTO results({', '.join(self._RESULT_COLS)}) "
               f"VALUES ({', '.join('?' * len(self._RESULT_COLS))})")
        for r in results:
            row = r.as_row()
            rid = conn.execute(sql, [row[c] for c in self._RESULT_COLS]).lastrowid
            ids.append(rid)
            # The current description is the newest *state's* result: a result whose state was
            # observed before the current one's (a stale state) stays history only.
            conn.execute(
                "INSERT INTO current(urn, result_id, text, source, state_hash, updated_at, seen_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(urn) DO UPDATE SET result_id=excluded.result_id, text=excluded.text, "
                "source=excluded.source, state_hash=excluded.state_hash, updated_at=excluded.updated_at, "
                "seen_at=excluded.seen_at "
                "WHERE current.seen_at IS NULL OR excluded.seen_at IS NULL OR excluded.seen_at >= current.seen_at",
                [r.urn, rid, r.text, r.source, r.state_hash, row["created_at"], r.seen_at],
            )
            conn.execute(
                "UPDATE batch_items SET status='done', result_id=?, planned=NULL, updated_at=? "
                "WHERE batch_id=? AND urn=? AND status='queued'", [rid, row["created_at"], r.batch_id, r.urn])
        return ids

    def cached_llm(self, state_hash: str, base_hash: str, prompt_version: str, model_id: str, budget: int) -> dict | None:
        """An accepted LLM result for exactly this (state, base text, prompt, model, budget)."""
        rows = list(self.db.query(
            "SELECT * FROM results WHERE state_hash=? AND base_hash=? AND prompt_version=? AND model_id=? AND budget=? "
            "AND source='llm' ORDER BY id DESC LIMIT 1",
            [state_hash, base_hash, prompt_version, model_id, budget],
        ))
        return rows[0] if rows else None

    def current_hashes(self) -> dict[str, str]:
        return {r["urn"]: r["state_hash"] for r in self.db.query("SELECT urn, state_hash FROM current")}

    def current_keys(self) -> dict[str, tuple[str, str]]:
        """urn -> (state hash, base-text hash) of its current description."""
        return {r["urn"]: (r["state_hash"], r["base_hash"]) for r in self.db.query(
            "SELECT c.urn, c.state_hash, r.base_hash FROM current c JOIN results r ON r.id = c.result_id")}

    def current_overview(self) -> dict[str, dict]:
        """urn -> its current description's result: source, reason, detail, tier, batch, state hash,
        when it was stored (``updated_at``) and its quality columns when the store has them. For the
        console's world view: one indexed join, no texts."""
        extra = [c for c in ("quality",) if c in self._results_columns()]
        sql = ("SELECT c.urn, c.result_id, c.source, c.state_hash, c.updated_at, r.reason, r.detail, r.tier, "
               "r.batch_id, r.stream, r.tokens, r.latency_ms" + "".join(f", r.{c}" for c in extra) +
               " FROM current c JOIN results r ON r.id = c.result_id")
        return {r["urn"]: r for r in self.db.query(sql)}

    def results_for(self, urn: str, limit: int = 20) -> list[dict]:
        return list(self.db.query("SELECT * FROM results WHERE urn=? ORDER BY id DESC LIMIT ?", [urn, limit]))

    def batch_results(self, batch_id: int) -> list[dict]:
        return list(self.db.query("SELECT * FROM results WHERE batch_id=? ORDER BY id", [batch_id]))

    def batches(self, limit: int = 50) -> list[dict]:
        return list(self.db.query("SELECT * FROM batches ORDER BY id DESC LIMIT ?", [limit]))

    def metrics(self, limit: int = 50) -> list[dict]:
        return list(self.db.query(
            "SELECT m.*, b.started_at, b.reasons FROM batch_metrics m JOIN batches b ON b.id=m.batch_id "
            "ORDER BY m.batch_id DESC LIMIT ?", [limit]))

    def export_rows(self) -> Iterator[dict]:
        yield from self.db.query(
            "SELECT c.urn, c.text, c.source, c.state_hash, c.updated_at, r.quality FROM current c "
            "LEFT JOIN results r ON r.id = c.result_id ORDER BY c.urn"
        )

    def integrity(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def consistency(self) -> dict:
        """Invariants the crash tests check: duplicates per (batch, urn), empty texts, items."""
        q = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        has_items = "batch_items" in self.db.table_names()
        return {
            "integrity": self.integrity(),
            "duplicate_results": q("SELECT count(*) FROM (SELECT batch_id, urn FROM results GROUP BY batch_id, urn HAVING count(*) > 1)"),
            "empty_texts": q("SELECT count(*) FROM results WHERE text IS NULL OR trim(text) = ''"),
            "done_without_result": q("SELECT count(*) FROM batch_items i LEFT JOIN results r ON r.id = i.result_id "
                                     "WHERE i.status='done' AND r.id IS NULL") if has_items else 0,
            "result_without_item_done": q("SELECT count(*) FROM results r JOIN batch_items i ON i.batch_id=r.batch_id "
                                          "AND i.urn=r.urn WHERE i.status != 'done'") if has_items else 0,
            "requeued_twice": q("SELECT count(*) FROM (SELECT i.batch_id, i.urn FROM batch_items i JOIN batch_items j "
                                "ON j.batch_id = i.requeued_to AND j.urn = i.urn WHERE i.status='requeued' "
                                "GROUP BY i.batch_id, i.urn HAVING count(*) != 1)") if has_items else 0,
            "requeued_missing": q("SELECT count(*) FROM batch_items i WHERE i.status='requeued' AND NOT EXISTS "
                                  "(SELECT 1 FROM batch_items j WHERE j.batch_id=i.requeued_to AND j.urn=i.urn)") if has_items else 0,
            "queued_in_finished_batches": q("SELECT count(*) FROM batch_items i JOIN batches b ON b.id=i.batch_id "
                                            "WHERE i.status='queued' AND b.status NOT IN ('running', 'queued')") if has_items else 0,
        }

    # -- ratings
    def add_rating(self, result: dict, rating: str, note: str = "") -> int:
        return self._tx(lambda: self.db["ratings"].insert(
            {"result_id": result["id"], "urn": result["urn"], "rating": rating, "note": note, "text": result["text"],
             "state_hash": result["state_hash"], "prompt_version": result["prompt_version"],
             "model_id": result["model_id"], "seed": result["seed"], "budget": result["budget"], "created_at": now()}
        ).last_pk, "rating")
