"""The store's numbered migrations (the ``migrations`` table): each a function of the database, applied
in order by ``Store.migrate`` (the workbench's own set is :mod:`engine.store.workbench_migrations`).
Every one is idempotent, so a half-applied one is finished on the next open.
"""

from __future__ import annotations

from typing import Callable

import sqlite_utils

from .workbench_migrations import migrate_workbench


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


def ensure_batch_items(db: sqlite_utils.Database) -> None:
    """Migration 3: the ``batch_items`` table (idempotent).

    One row per place planned in a batch, so a batch killed mid-way can be resumed exactly once.
    ``planned`` is the place as planned (world-file JSON), cleared once the item is done.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS batch_items ("
        " batch_id INTEGER NOT NULL REFERENCES batches(id), urn TEXT NOT NULL, state_hash TEXT, tier TEXT,"
        " planned TEXT, status TEXT NOT NULL DEFAULT 'queued', result_id INTEGER, requeued_to INTEGER,"
        " updated_at FLOAT, PRIMARY KEY (batch_id, urn))"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_batch_items_status ON batch_items(status, batch_id)")


MIGRATIONS.append((3, "batch_items", ensure_batch_items))


def _m4_workbench(db: sqlite_utils.Database) -> None:
    """Migration 4: the prompt workbench's own migration set (pinned sets, runs, outputs, prompt
    events; rating columns), see :mod:`engine.store.workbench_migrations`."""
    migrate_workbench(db)


MIGRATIONS.append((4, "workbench", _m4_workbench))


def _m_cluster_worker(db: sqlite_utils.Database) -> None:
    """Migration 5 (cluster): ``results.worker``, the Ray worker a place ran on (NULL: this process)."""
    if "worker" not in db["results"].columns_dict:
        db.execute("ALTER TABLE results ADD COLUMN worker TEXT")


MIGRATIONS.append((5, "cluster_worker", _m_cluster_worker))


def ensure_service_schema(db: sqlite_utils.Database) -> None:
    """Migration 6: the texture service (engine.service). Idempotent.

    ``seen_at`` on results, current and batch items: when the described state was first observed
    (wall time). A result replaces the current description only if its state is not older than
    the current one's, so a result for a stale state is kept as history but never wins.
    ``service_cycles`` holds one row per service cycle; ``service_state`` small key/values (the
    outbox high-water marks).
    """
    for table in ("results", "current", "batch_items"):
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if "seen_at" not in cols:
            db.execute(f"ALTER TABLE {table} ADD COLUMN seen_at FLOAT")
    db.execute("CREATE INDEX IF NOT EXISTS idx_current_result ON current(result_id)")
    db.execute("CREATE TABLE IF NOT EXISTS service_state (key TEXT PRIMARY KEY, value TEXT, updated_at FLOAT)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS service_cycles (id INTEGER PRIMARY KEY, batch_id INTEGER, started_at FLOAT,"
        " finished_at FLOAT, status TEXT, changed INTEGER, llm INTEGER, deferred INTEGER, backlog INTEGER,"
        " metrics TEXT)")


MIGRATIONS.append((6, "service", ensure_service_schema))


def _m7_quality(db: sqlite_utils.Database) -> None:
    """Migration 7: quality scores on results (see ``engine.quality``).

    ``quality`` REAL (the stored text's total), ``template_quality`` REAL, ``llm_quality`` REAL
    (NULL without an LLM text), ``quality_json`` TEXT (both reports' components). Older rows keep
    NULL. Idempotent."""
    have = {c.name for c in db["results"].columns}
    for col, typ in (("quality", float), ("template_quality", float), ("llm_quality", float), ("quality_json", str)):
        if col not in have:
            db["results"].add_column(col, typ)


MIGRATIONS.append((7, "quality", _m7_quality))
