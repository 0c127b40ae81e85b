"""Read queries of the console, the dispatcher and ``texture doctor`` (a mixin of :class:`Store`).

Kept apart from :mod:`engine.store.core` so the statements that used to sit in ``console/app.py``,
``engine/dispatch.py`` and ``engine/doctor.py`` live in the store without growing its core file.
Every method runs on the thread that opened the store, like the rest of it.
"""

from __future__ import annotations

from typing import Iterable

import sqlite_utils


def chunks(items: list, size: int = 500) -> Iterable[list]:
    """``items`` in slices of ``size`` (SQLite limits the number of ``?`` in one statement)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def marks(n: int) -> str:
    return ",".join("?" * n)


QUALITY_COLUMNS = frozenset({"quality", "llm_quality", "template_quality", "quality_json"})  # migration 7


class StoreQueries:
    db: sqlite_utils.Database

    def _results_columns(self) -> set[str]:
        """The ``results`` table's columns, read once per store once they hold the quality columns
        (columns are only ever added; before migration 7, e.g. an old file opened read-only, they
        are read again each time, so a migration by another process is seen)."""
        cols = getattr(self, "_results_cols", None)
        if cols is None:
            cols = {r[1] for r in self.db.execute("PRAGMA table_info(results)").fetchall()}
            if QUALITY_COLUMNS <= cols:
                self._results_cols = cols
        return cols

    def latest_rating(self, result_id: int) -> tuple | None:
        """``(rating, note)`` of the newest rating of production result ``result_id``, or None."""
        return self.db.execute("SELECT rating, note FROM ratings WHERE result_id=? ORDER BY id DESC LIMIT 1",
                               [result_id]).fetchone()

    def superseded_items(self, batch_id: int) -> dict[str, int]:
        """urn -> newer batch id, for the queued items of ``batch_id`` whose place a newer batch
        has described since (a resume must not bring their older planned state back)."""
        return {r["urn"]: r["batch_id"] for r in self.db.query(
            "SELECT c.urn, r.batch_id FROM current c JOIN results r ON r.id = c.result_id "
            "JOIN batch_items i ON i.urn = c.urn AND i.batch_id = ? AND i.status = 'queued' WHERE r.batch_id > ?",
            [batch_id, batch_id])}

    def unfinished_counts(self) -> tuple[int, int] | None:
        """(batches left 'running', queued places of running or queued batches); None on a
        database without the ``batch_items`` table (opened read-only before migration 3)."""
        if "batch_items" not in set(self.db.table_names()):
            return None
        running = self.db.execute("SELECT count(*) FROM batches WHERE status='running'").fetchone()[0]
        queued = self.db.execute("SELECT count(*) FROM batch_items i JOIN batches b ON b.id=i.batch_id "
                                 "WHERE i.status='queued' AND b.status IN ('running', 'queued')").fetchone()[0]
        return running, queued

    def places_data(self, urns: Iterable[str]) -> dict[str, str]:
        """urn -> the stored place JSON (``places.data``) for the given urns that are stored."""
        out: dict[str, str] = {}
        for chunk in chunks(list(urns)):
            for r in self.db.query(f"SELECT urn, data FROM places WHERE urn IN ({marks(len(chunk))})", chunk):
                out[r["urn"]] = r["data"]
        return out

    def batch_quality_means(self, batch_id: int) -> dict:
        """Means of a batch's stored quality scores (engine.quality.batch_quality): ``q`` the
        stored texts, ``lq`` the raw LLM texts, ``tq`` the templates, ``aq`` the accepted LLM texts."""
        return next(iter(self.db.query(
            "SELECT AVG(quality) AS q, AVG(llm_quality) AS lq, AVG(template_quality) AS tq, "
            "AVG(CASE WHEN source='llm' THEN quality END) AS aq FROM results WHERE batch_id=?", [batch_id])), {})

    def quality_scores(self, ids: list[int]) -> list[dict]:
        """``id, quality, llm_quality, template_quality, quality_json`` of results ``ids`` (one
        read per 500 ids); [] on a database without the quality columns (before migration 7)."""
        if not QUALITY_COLUMNS <= self._results_columns():  # no PRAGMA per console flush
            return []
        out: list[dict] = []
        for chunk in chunks(list(ids)):
            out += list(self.db.query("SELECT id, quality, llm_quality, template_quality, quality_json FROM results "
                                      f"WHERE id IN ({marks(len(chunk))})", chunk))
        return out
