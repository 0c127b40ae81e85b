"""The SQLite store, through sqlite-utils, in WAL mode.

Tables (readable with the ``sqlite-utils`` and ``sqlite3`` command-line tools alone):

- ``places``          current state of every place (urn, name, region, state hash, seed, tier, JSON)
- ``batches``         one row per batch: selection, status, counts by tier/source/reason, timings
- ``results``         one row per place per batch, with everything needed to reproduce it
- ``current``         the current description of every place (the newest stored result)
- ``prompt_versions`` every prompt text that was ever used (version = content hash)
- ``batch_metrics``   the seed's LLMPerformanceMonitor figures per batch
- ``migrations``      numbered schema migrations applied to this file

A connection belongs to the thread that opened it (SQLite's rule); open one per thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlite_utils

from .world import Place


class StoreError(Exception):
    """The database cannot be used (unreadable, read-only, full disk, not a database)."""


def now() -> float:
    return round(time.time(), 3)


# --- migrations -----------------------------------------------------------------------------

def _m1_initial(db: sqlite_utils.Database) -> None:
    db["places"].create(
        {"urn": str, "name": str, "region": str, "state_hash": str, "seed": int, "tier": str, "data": str, "updated_at": float},
        pk="urn", if_not_exists=True,
    )
    db["batches"].create(
        {"id": int, "started_at": float, "finished_at": float, "status": str, "selection": str, "places": int,
         "by_tier": str, "by_source": str, "reasons": str, "elapsed_s": float, "model_id": str, "prompt_version": str,
         "config": str, "notice": str},
        pk="id", if_not_exists=True,
    )
    db["results"].create(
        {"id": int, "batch_id": int, "urn": str, "state_hash": str, "tier": str, "source": str, "text": str,
         "template_text": str, "llm_text": str, "reason": str, "detail": str, "prompt_version": str, "model_id": str,
         "seed": int, "budget": int, "latency_ms": float, "tokens": int, "stream": int, "base_hash": str,
         "created_at": float},
        pk="id", foreign_keys=[("batch_id", "batches", "id")], if_not_exists=True,
    )
    db["results"].create_index(["urn", "id"], if_not_exists=True)
    db["results"].create_index(["batch_id"], if_not_exists=True)
    db["results"].create_index(["state_hash", "base_hash", "prompt_version", "model_id", "budget"], if_not_exists=True)
    db["current"].create(
        {"urn": str, "result_id": int, "text": str, "source": str, "state_hash": str, "updated_at": float},
        pk="urn", if_not_exists=True,
    )
    db["prompt_versions"].create(
        {"version": str, "name": str, "text": str, "first_seen": float, "last_seen": float},
        pk="version", if_not_exists=True,
    )
    db["batch_metrics"].create(
        {"batch_id": int, "avg_latency_ms": float, "fallback_pct": float, "throughput_per_min": float,
         "tokens_per_s": float, "memory_mb": float, "llm_places": int, "ttft_ms": float, "metrics": str},
        pk="batch_id", if_not_exists=True,
    )


def _m2_ratings(db: sqlite_utils.Database) -> None:
    db["ratings"].create(
        {"id": int, "result_id": int, "urn": str, "rating": str, "note": str, "text": str, "state_hash": str,
         "prompt_version": str, "model_id": str, "seed": int, "budget": int, "created_at": float},
        pk="id", if_not_exists=True,
    )


MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial", _m1_initial),
    (2, "ratings", _m2_ratings),
]


# --- the store --------------------------------------------------------------------------------

@dataclass
class ResultRow:
    batch_id: int
    urn: str
    state_hash: str
    tier: str
    source: str  # "llm" | "template"
    text: str
    template_text: str
    llm_text: str | None = None
    reason: str | None = None
    detail: str | None = None
    prompt_version: str | None = None
    model_id: str | None = None
    seed: int = 0
    budget: int = 0
    latency_ms: float | None = None
    tokens: int | None = None
    stream: int | None = None
    base_hash: str | None = None

    def as_row(self) -> dict:
        d = dict(self.__dict__)
        d["created_at"] = now()
        return d


class Store:
    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
            conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 30000")
            self.db = sqlite_utils.Database(conn)
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from None

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
        return applied

    def applied_migrations(self) -> list[int]:
        return [r["id"] for r in self.db["migrations"].rows_where(order_by="id")]

    def close(self) -> None:
        self.db.conn.close()

    # -- places
    def sync_places(self, places: Iterable[Place], tier_of: Callable[[Place], str]) -> None:
        t = now()
        rows = (
            {"urn": p.urn, "name": p.name, "region": p.region, "state_hash": p.state_hash, "seed": p.seed,
             "tier": tier_of(p), "data": json.dumps(p.to_json(), ensure_ascii=False), "updated_at": t}
            for p in places
        )
        with self.db.conn:
            self.db["places"].upsert_all(rows, pk="urn", batch_size=500)

    # -- prompt versions
    def record_prompt(self, name: str, version: str, text: str) -> None:
        t = now()
        with self.db.conn:
            self.db.execute(
                "INSERT INTO prompt_versions(version, name, text, first_seen, last_seen) VALUES (?,?,?,?,?) "
                "ON CONFLICT(version) DO UPDATE SET last_seen=excluded.last_seen",
                [version, name, text, t, t],
            )

    # -- batches
    def start_batch(self, selection: str, places: int, model_id: str | None, prompt_version: str | None, config: dict) -> int:
        with self.db.conn:
            return self.db["batches"].insert(
                {"started_at": now(), "status": "running", "selection": selection, "places": places,
                 "model_id": model_id, "prompt_version": prompt_version, "config": json.dumps(config)}
            ).last_pk

    def finish_batch(self, batch_id: int, status: str, summary: dict, notice: str = "") -> None:
        with self.db.conn:
            self.db["batches"].update(
                batch_id,
                {"finished_at": now(), "status": status, "by_tier": json.dumps(summary.get("by_tier", {})),
                 "by_source": json.dumps(summary.get("by_source", {})), "reasons": json.dumps(summary.get("reasons", {})),
                 "elapsed_s": summary.get("elapsed_s"), "notice": notice},
            )

    def mark_interrupted_batches(self) -> int:
        """Batches left 'running' by a process that died: mark them interrupted."""
        with self.db.conn:
            cur = self.db.execute("UPDATE batches SET status='interrupted' WHERE status='running'")
            return cur.rowcount

    def record_metrics(self, batch_id: int, m: dict) -> None:
        with self.db.conn:
            self.db["batch_metrics"].upsert(
                {"batch_id": batch_id, "avg_latency_ms": m.get("avg_latency_ms"), "fallback_pct": m.get("fallback_pct"),
                 "throughput_per_min": m.get("throughput_per_min"), "tokens_per_s": m.get("tokens_per_s"),
                 "memory_mb": m.get("memory_mb"), "llm_places": m.get("llm_places"), "ttft_ms": m.get("ttft_ms"),
                 "metrics": json.dumps(m)},
                pk="batch_id",
            )

    # -- results
    def add_results(self, results: list[ResultRow]) -> list[int]:
        """Store results and make them current, in one transaction (all or nothing)."""
        ids = []
        with self.db.conn:
            for r in results:
                row = r.as_row()
                rid = self.db["results"].insert(row).last_pk
                ids.append(rid)
                self.db.execute(
                    "INSERT INTO current(urn, result_id, text, source, state_hash, updated_at) VALUES (?,?,?,?,?,?) "
                    "ON CONFLICT(urn) DO UPDATE SET result_id=excluded.result_id, text=excluded.text, "
                    "source=excluded.source, state_hash=excluded.state_hash, updated_at=excluded.updated_at",
                    [r.urn, rid, r.text, r.source, r.state_hash, row["created_at"]],
                )
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
            "SELECT urn, text, source, state_hash, updated_at FROM current ORDER BY urn"
        )

    def integrity(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    # -- ratings
    def add_rating(self, result: dict, rating: str, note: str = "") -> int:
        with self.db.conn:
            return self.db["ratings"].insert(
                {"result_id": result["id"], "urn": result["urn"], "rating": rating, "note": note, "text": result["text"],
                 "state_hash": result["state_hash"], "prompt_version": result["prompt_version"],
                 "model_id": result["model_id"], "seed": result["seed"], "budget": result["budget"], "created_at": now()}
            ).last_pk
