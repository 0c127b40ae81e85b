"""The prompt workbench's own migration set (the ``wb_*`` tables and the extra ``ratings`` columns).

The workbench subsystem owns these migrations, as llm's ``embeddings_migrations`` owns the
embeddings tables: they are numbered in their own sequence and recorded in their own table,
``wb_migrations``, so a new workbench migration never takes a number from the core list in
:mod:`engine.store.migrations`. The store applies them (``Store.migrate``): first as core migration 4
(so a core migration after it may rely on the workbench tables), then after every core migration
on each open, so a database that already had migration 4 still gets any newer workbench one.
Every body is idempotent (``IF NOT EXISTS``, columns added only when missing).

This module only knows SQL; the workbench's logic (:mod:`engine.workbench`) never runs DDL.
"""

from __future__ import annotations

import time
from typing import Callable

import sqlite_utils

TABLE = "wb_migrations"

_WB_TABLES = (
    "CREATE TABLE IF NOT EXISTS wb_pinned_sets (name TEXT PRIMARY KEY, urns TEXT NOT NULL, "
    "created_at FLOAT, updated_at FLOAT)",
    "CREATE TABLE IF NOT EXISTS wb_prompt_events (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT, "
    "action TEXT NOT NULL, path TEXT, text TEXT, at FLOAT)",
    "CREATE INDEX IF NOT EXISTS idx_wb_prompt_events_name ON wb_prompt_events(name, id)",
    "CREATE TABLE IF NOT EXISTS wb_prompt_texts (version TEXT PRIMARY KEY, name TEXT, text TEXT NOT NULL, "
    "first_used FLOAT)",
    "CREATE TABLE IF NOT EXISTS wb_runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, label TEXT, "
    "variants TEXT, urns TEXT, runs INTEGER, model_id TEXT, config TEXT, summary TEXT, status TEXT, "
    "started_at FLOAT, finished_at FLOAT)",
    "CREATE TABLE IF NOT EXISTS wb_outputs (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES wb_runs(id), "
    "run_no INTEGER, variant TEXT, variant_index INTEGER, urn TEXT, name TEXT, tier TEXT, eligible INTEGER, "
    "state_hash TEXT, base_hash TEXT, seed INTEGER, prompt_name TEXT, prompt_version TEXT, temperature FLOAT, "
    "budget INTEGER, model_id TEXT, output_key TEXT, text TEXT, raw_text TEXT, reason TEXT, detail TEXT, "
    "latency_ms FLOAT, tokens INTEGER, length INTEGER, fact_coverage FLOAT, facts TEXT, production_text TEXT, "
    "production_source TEXT, template_text TEXT, created_at FLOAT)",
    "CREATE INDEX IF NOT EXISTS idx_wb_outputs_run ON wb_outputs(run_id, run_no, variant_index)",
    "CREATE INDEX IF NOT EXISTS idx_wb_outputs_key ON wb_outputs(output_key)",
)
# Extra columns on the ``ratings`` table of core migration 2 (nullable; old rows keep NULL).
_RATING_COLUMNS = (("output_id", "INTEGER"), ("output_key", "TEXT"), ("prompt_name", "TEXT"),
                   ("temperature", "FLOAT"), ("base_hash", "TEXT"), ("origin", "TEXT"), ("variant", "TEXT"))


def _m1_workbench(db: sqlite_utils.Database) -> None:
    """Pinned sets, prompt events and texts, runs, outputs; the rating columns (idempotent)."""
    for sql in _WB_TABLES:
        db.execute(sql)
    have = {r[1] for r in db.execute("PRAGMA table_info(ratings)").fetchall()}
    if not have:  # a database from before core migration 2 (cannot happen through Store)
        db.execute("CREATE TABLE IF NOT EXISTS ratings (id INTEGER PRIMARY KEY, result_id INTEGER, urn TEXT, "
                   "rating TEXT, note TEXT, text TEXT, state_hash TEXT, prompt_version TEXT, model_id TEXT, "
                   "seed INTEGER, budget INTEGER, created_at FLOAT)")
        have = {r[1] for r in db.execute("PRAGMA table_info(ratings)").fetchall()}
    for col, typ in _RATING_COLUMNS:
        if col not in have:
            db.execute(f"ALTER TABLE ratings ADD COLUMN {col} {typ}")
    db.execute("CREATE INDEX IF NOT EXISTS idx_ratings_urn ON ratings(urn, state_hash)")


def _m2_reviews(db: sqlite_utils.Database) -> None:
    """Blind pairwise reviews (:mod:`engine.review`): a place's facts, its template and LLM text
    shown as A and B in a seeded order, which side was the LLM text (the key, never shown to the
    reviewer), whether the gate had accepted that text and the model and prompt that wrote it
    (NULL: not known), both scores 1-5, the side shipped, a note, the reviewer. ``review_key`` (place,
    both texts, reviewer) makes a re-import a no-op; ``rating_id`` is the ``ratings`` row that
    carries the LLM text's verdict for the workbench (idempotent)."""
    db.execute("CREATE TABLE IF NOT EXISTS wb_reviews (id INTEGER PRIMARY KEY, review_key TEXT NOT NULL UNIQUE, "
               "urn TEXT NOT NULL, state_hash TEXT, result_id INTEGER, name TEXT, facts TEXT, text_a TEXT NOT NULL, "
               "text_b TEXT NOT NULL, llm_side TEXT NOT NULL, llm_accepted INTEGER, model_id TEXT, "
               "prompt_version TEXT, score_a INTEGER NOT NULL, score_b INTEGER NOT NULL, ship TEXT NOT NULL, "
               "note TEXT, reviewer TEXT, origin TEXT, rating_id INTEGER, created_at FLOAT, updated_at FLOAT)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_wb_reviews_urn ON wb_reviews(urn, state_hash)")


WORKBENCH_MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "workbench tables", _m1_workbench),
    (2, "reviews", _m2_reviews),
]


def migrate_workbench(db: sqlite_utils.Database) -> list[int]:
    """Apply the workbench migrations this database has not had yet; returns their ids.

    Runs in the caller's transaction (``Store.migrate`` holds one around it)."""
    db[TABLE].create({"id": int, "name": str, "applied_at": float}, pk="id", if_not_exists=True)
    done = {r["id"] for r in db[TABLE].rows}
    applied = []
    for mid, name, fn in WORKBENCH_MIGRATIONS:
        if mid in done:
            continue
        fn(db)
        db[TABLE].insert({"id": mid, "name": name, "applied_at": round(time.time(), 3)})
        applied.append(mid)
    return applied


def applied_workbench_migrations(db: sqlite_utils.Database) -> list[int]:
    if TABLE not in db.table_names():
        return []
    return [r["id"] for r in db[TABLE].rows_where(order_by="id")]
