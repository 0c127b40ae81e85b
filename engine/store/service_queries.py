"""The texture service's statements (a mixin of :class:`~engine.store.Store`): the hand-back
cursor, the outbox high-water marks, the cycle log, and the places still waiting for the model.

Migration 6 (``ensure_service_schema`` in :mod:`engine.store.migrations`) makes the tables. Every method
runs on the thread that opened the store, like the rest of it.
"""

from __future__ import annotations

import time
from typing import Iterable

import sqlite_utils

from .queries import chunks, marks


class ServiceQueries:
    db: sqlite_utils.Database

    def export_since(self, cursor: int = 0) -> tuple[list[dict], int]:
        """Current descriptions whose result id is above ``cursor``, and the next cursor.

        Result ids grow in commit order (one writer at a time) and a place's current row points at
        its newest result, so polling with the returned cursor never repeats nor misses one.
        """
        db = self.db
        with db.conn:  # one read snapshot for the rows and the cursor
            rows = list(db.query(
                "SELECT result_id AS cursor, urn, text, source, state_hash, updated_at FROM current "
                "WHERE result_id > ? ORDER BY result_id", [int(cursor)]))
            top = db.execute("SELECT max(result_id) FROM current").fetchone()[0] or 0
        return rows, max(int(cursor), int(top))

    def service_value(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM service_state WHERE key=?", [key]))
        return rows[0]["value"] if rows else None

    def set_service_value(self, key: str, value: str) -> None:
        self._tx(lambda: self.db.execute(  # type: ignore[attr-defined]
            "INSERT INTO service_state(key, value, updated_at) VALUES (?,?,?) ON CONFLICT(key) DO UPDATE SET "
            "value=excluded.value, updated_at=excluded.updated_at", [key, value, time.time()]), "service state")

    def record_cycle(self, batch_id: int | None, started_at: float, finished_at: float, status: str, changed: int,
                     llm: int, deferred: int, backlog: int, metrics_json: str) -> None:
        self._tx(lambda: self.db.execute(  # type: ignore[attr-defined]
            "INSERT INTO service_cycles(batch_id, started_at, finished_at, status, changed, llm, deferred, backlog, metrics) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [batch_id, started_at, finished_at, status, changed, llm, deferred, backlog, metrics_json]), "service cycle")

    def service_cycles(self, limit: int = 200) -> list[dict]:
        """The newest ``limit`` service cycles, oldest first."""
        rows = list(self.db.query("SELECT * FROM service_cycles ORDER BY id DESC LIMIT ?", [limit]))
        return rows[::-1]

    def waiting_templates(self) -> list[dict]:
        """Current template descriptions that are templates only because the model's turn had not
        come (``deferred``: the per-cycle cap) or the cycle was cancelled."""
        return list(self.db.query(
            "SELECT c.urn, c.state_hash, r.base_hash, r.reason FROM current c JOIN results r ON r.id = c.result_id "
            "WHERE c.source = 'template' AND r.reason IN ('deferred', 'cancelled')"))

    def current_keys_for(self, urns: Iterable[str]) -> dict[str, tuple[str, str]]:
        """urn -> (state hash, base hash) of the current description, for ``urns``."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in chunks(list(urns)):
            for r in self.db.query(
                    "SELECT c.urn, c.state_hash, r.base_hash FROM current c JOIN results r ON r.id = c.result_id "
                    f"WHERE c.urn IN ({marks(len(chunk))})", chunk):
                out[r["urn"]] = (r["state_hash"], r["base_hash"])
        return out

    def queued_seen_at(self, batch_id: int) -> dict[str, float]:
        """urn -> when the planned state was first seen, for the queued items of ``batch_id``."""
        return {r["urn"]: r["seen_at"] for r in self.db.query(
            "SELECT urn, seen_at FROM batch_items WHERE batch_id=? AND status='queued' AND seen_at IS NOT NULL",
            [batch_id])}
