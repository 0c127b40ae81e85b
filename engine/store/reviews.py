"""Every SQL statement of blind pairwise review (:mod:`engine.review`), behind one class.

``ReviewStore(store)`` wraps a :class:`~engine.store.core.Store` like
:class:`~engine.store.workbench.WorkbenchStore` does (same connection, same thread rule, the
store's write transactions). The table is ``wb_reviews`` (workbench migration 2); each review
also has a row in ``ratings`` (the LLM text's verdict, ``origin`` 'review'), written in the same
transaction, so the workbench's ratings, golden set and ratings export see what reviewers said.
"""

from __future__ import annotations

from typing import Iterable

from .core import Store
from .queries import chunks, marks

REVIEW_COLUMNS = ("review_key", "urn", "state_hash", "result_id", "name", "facts", "text_a", "text_b", "llm_side",
                  "llm_accepted", "model_id", "prompt_version", "score_a", "score_b", "ship", "note", "reviewer",
                  "origin", "created_at", "updated_at")

_LLM_ROWS = ("SELECT r.id, r.batch_id, r.urn, r.state_hash, r.tier, r.source, r.text, r.template_text, r.llm_text, "
             "r.prompt_version, r.model_id, r.seed, r.budget, r.quality, r.llm_quality, r.template_quality, "
             "p.name AS place_name, p.data AS place_data, p.state_hash AS place_state_hash ")
_HAS_LLM = "(r.source = 'llm' OR (r.llm_text IS NOT NULL AND trim(r.llm_text) != ''))"


class ReviewStore:
    """The ``wb_reviews`` table, its ``ratings`` rows, and the reads a review queue needs."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def _q(self, sql: str, params: Iterable = ()) -> list[dict]:
        return list(self.db.query(sql, list(params)))

    # -- what a queue is built from (results with an LLM text, with the place's stored facts)
    def batch_llm_results(self, batch_id: int) -> list[dict]:
        return self._q(_LLM_ROWS + "FROM results r LEFT JOIN places p ON p.urn = r.urn "
                       f"WHERE r.batch_id = ? AND {_HAS_LLM} ORDER BY r.id", [batch_id])

    def current_llm_results(self, urns: list[str] | None = None) -> list[dict]:
        """The current result of every place (or of ``urns``) that has an LLM text."""
        base = _LLM_ROWS + "FROM current c JOIN results r ON r.id = c.result_id LEFT JOIN places p ON p.urn = r.urn "
        if urns is None:
            return self._q(base + f"WHERE {_HAS_LLM} ORDER BY r.urn")
        out: list[dict] = []
        for chunk in chunks(list(urns)):
            out += self._q(base + f"WHERE {_HAS_LLM} AND r.urn IN ({marks(len(chunk))}) ORDER BY r.urn", chunk)
        return out

    def batch_exists(self, batch_id: int) -> bool:
        return bool(self._q("SELECT 1 FROM batches WHERE id = ?", [batch_id]))

    # -- reviews
    def review_by_key(self, key: str) -> dict | None:
        rows = self._q("SELECT * FROM wb_reviews WHERE review_key = ?", [key])
        return rows[0] if rows else None

    def save_review(self, row: dict, rating: dict, replace: bool) -> tuple[int, bool]:
        """Store a review and its ``ratings`` row in one transaction; returns ``(id, new)``.

        An existing review with the same ``review_key`` is updated (scores, ship, note, time; its
        rating row too) when ``replace``, else left as it is (``new`` False either way)."""
        conn = self.db.conn

        def write() -> tuple[int, bool]:
            old = conn.execute("SELECT id, rating_id FROM wb_reviews WHERE review_key = ?", [row["review_key"]]).fetchone()
            if old is not None:
                rid, rating_id = old
                if replace:
                    conn.execute("UPDATE wb_reviews SET score_a=?, score_b=?, ship=?, note=?, origin=?, updated_at=? "
                                 "WHERE id=?", [row["score_a"], row["score_b"], row["ship"], row["note"], row["origin"],
                                                row["updated_at"], rid])
                    if rating_id is not None:
                        conn.execute("UPDATE ratings SET rating=?, note=? WHERE id=?",
                                     [rating["rating"], rating["note"], rating_id])
                return rid, False
            rcols = list(rating)
            rating_id = conn.execute(f"INSERT INTO ratings({', '.join(rcols)}) VALUES ({marks(len(rcols))})",
                                     [rating[c] for c in rcols]).lastrowid
            rid = conn.execute(f"INSERT INTO wb_reviews({', '.join(REVIEW_COLUMNS)}, rating_id) "
                               f"VALUES ({marks(len(REVIEW_COLUMNS) + 1)})",
                               [row.get(c) for c in REVIEW_COLUMNS] + [rating_id]).lastrowid
            return rid, True

        return self.store._tx(write, "review")  # the store's own transaction (same package)

    def reviews(self, limit: int | None = None) -> list[dict]:
        """Every review, oldest first (``limit``: the newest ``limit`` of them, still oldest first)."""
        if limit is None:
            return self._q("SELECT * FROM wb_reviews ORDER BY id")
        return list(reversed(self._q("SELECT * FROM wb_reviews ORDER BY id DESC LIMIT ?", [int(limit)])))

    def review_verdicts(self) -> list[dict]:
        """``llm_side, llm_accepted, model_id, score_a, score_b, ship`` of every review (what the figures need)."""
        if "wb_reviews" not in self.db.table_names():  # a read-only file from before the migration
            return []
        return self._q("SELECT llm_side, llm_accepted, model_id, score_a, score_b, ship FROM wb_reviews ORDER BY id")
