"""Every SQL statement of the prompt workbench (:mod:`engine.workbench`), behind one class.

``WorkbenchStore(store)`` wraps a :class:`~engine.store.core.Store` (same connection, same thread
rule, the store's write transactions with their retries and messages). The schema is the
workbench's own migration set (:mod:`engine.store.workbench_migrations`), applied when the store
opens. Reads return plain dict rows, as the store's own reads do; JSON columns are decoded by
the caller except where a write takes Python values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from .core import Store
from .rows import now as _now
from .queries import chunks, marks


# The columns of one stored workbench output, in table order.
OUTPUT_COLUMNS = ("run_id", "run_no", "variant", "variant_index", "urn", "name", "tier", "eligible", "state_hash",
                  "base_hash", "seed", "prompt_name", "prompt_version", "temperature", "budget", "model_id",
                  "output_key", "text", "raw_text", "reason", "detail", "latency_ms", "tokens", "length",
                  "fact_coverage", "facts", "production_text", "production_source", "template_text", "created_at")


class WorkbenchStore:
    """The workbench's tables (``wb_*``, ``ratings``) and its reads of ``prompt_versions``,
    ``current``, ``results`` and ``batches``. Never writes ``results`` or ``current``."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def _tx(self, fn, what: str):
        return self.store._tx(fn, what)  # the store's own transaction (same package)

    def _q(self, sql: str, params: Iterable = ()) -> list[dict]:
        return list(self.db.query(sql, list(params)))

    # -- prompt versions and events
    def _event(self, name: str, version: str | None, action: str, path: Path | None, text: str | None) -> None:
        self.db.execute("INSERT INTO wb_prompt_events(name, version, action, path, text, at) VALUES (?,?,?,?,?,?)",
                        [name, version, action, str(path) if path else None, text, _now()])

    def add_prompt_event(self, name: str, version: str | None, action: str, path: Path | None = None,
                         text: str | None = None) -> None:
        self._tx(lambda: self._event(name, version, action, path, text), "prompt event")

    def record_prompt_event(self, name: str, version: str, text: str, action: str, path: Path | None = None) -> None:
        """Record a prompt text (``prompt_versions``) and a workbench event, in one transaction."""
        def write() -> None:
            self.store.record_prompt(name, version, text)  # nested: part of this transaction
            self._event(name, version, action, path, None)

        self._tx(write, "prompt version")

    def touch_prompt(self, name: str, version: str, text: str) -> None:
        self._tx(lambda: self.store.record_prompt(name, version, text), "prompt version")

    def last_event_version(self, name: str) -> str | None:
        """The version of the newest event of prompt ``name`` (None: no event, or one without a version)."""
        rows = self._q("SELECT version FROM wb_prompt_events WHERE name=? ORDER BY id DESC LIMIT 1", [name])
        return rows[0]["version"] if rows else None

    def history_rows(self, name: str) -> list[dict]:
        """Every recorded version of prompt ``name`` (with its restore count), most recently seen first."""
        return self._q(
            "SELECT v.*, (SELECT count(*) FROM wb_prompt_events e WHERE e.version=v.version AND e.name=? "
            "AND e.action='restored') AS restores FROM prompt_versions v WHERE v.name=? OR v.version IN "
            "(SELECT version FROM wb_prompt_events WHERE name=? AND version IS NOT NULL) "
            "ORDER BY v.last_seen DESC, v.first_seen DESC, v.version", [name, name, name])

    def versions_with_prefix(self, prefix: str) -> list[dict]:
        return self._q("SELECT * FROM prompt_versions WHERE version LIKE ? ORDER BY last_seen DESC", [prefix + "%"])

    def keep_prompt_texts(self, prompts: Iterable[tuple[str, str, str]]) -> None:
        """Keep ``(version, name, text)`` of every prompt a run used (``wb_prompt_texts``)."""
        t = _now()
        rows = [(v, n, text, t) for v, n, text in prompts]
        self._tx(lambda: self.db.conn.executemany(
            "INSERT OR IGNORE INTO wb_prompt_texts(version, name, text, first_used) VALUES (?,?,?,?)", rows),
            "prompt texts")

    def prompt_text(self, version: str) -> str | None:
        rows = self._q("SELECT text FROM prompt_versions WHERE version=? UNION ALL "
                       "SELECT text FROM wb_prompt_texts WHERE version=? LIMIT 1", [version, version])
        return rows[0]["text"] if rows else None

    def prompt_name(self, version: str) -> str | None:
        rows = self._q("SELECT name FROM prompt_versions WHERE version=? UNION ALL SELECT name FROM wb_prompt_texts "
                       "WHERE version=? LIMIT 1", [version, version])
        return rows[0]["name"] if rows else None

    # -- pinned sets
    def save_pinned(self, name: str, urns: list[str]) -> None:
        t = _now()
        self._tx(lambda: self.db.execute(
            "INSERT INTO wb_pinned_sets(name, urns, created_at, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET urns=excluded.urns, updated_at=excluded.updated_at",
            [name, json.dumps(urns, ensure_ascii=False), t, t]), "pinned set")

    def pinned_rows(self) -> list[dict]:
        return self._q("SELECT * FROM wb_pinned_sets ORDER BY name")

    def pinned_row(self, name: str) -> dict | None:
        rows = self._q("SELECT * FROM wb_pinned_sets WHERE name=?", [name])
        return rows[0] if rows else None

    def delete_pinned(self, name: str) -> bool:
        return bool(self._tx(lambda: self.db.execute("DELETE FROM wb_pinned_sets WHERE name=?", [name]).rowcount,
                             "pinned set"))

    # -- production, read only
    def current_of(self, urns: list[str]) -> list[dict]:
        """``urn, text, source, state_hash`` of the current description of each stored urn."""
        out: list[dict] = []
        for chunk in chunks(urns):
            out += self._q(f"SELECT urn, text, source, state_hash FROM current WHERE urn IN ({marks(len(chunk))})", chunk)
        return out

    def result_with_config(self, result_id: int) -> dict | None:
        """A production result with its batch's config (``batch_config``)."""
        rows = self._q("SELECT r.*, b.config AS batch_config FROM results r LEFT JOIN batches b ON b.id=r.batch_id "
                       "WHERE r.id=?", [result_id])
        return rows[0] if rows else None

    # -- runs and outputs
    def add_run(self, run: dict, outputs: list[dict]) -> tuple[int, list[int]]:
        """Store a run (a ``wb_runs`` row) and its outputs in one transaction; returns the run id
        and the output ids in order. ``run_id`` and missing columns of each output are filled in."""
        def write() -> tuple[int, list[int]]:
            conn = self.db.conn
            cols = list(run)
            rid = conn.execute(f"INSERT INTO wb_runs({', '.join(cols)}) VALUES ({marks(len(cols))})",
                               [run[c] for c in cols]).lastrowid
            sql = f"INSERT INTO wb_outputs({', '.join(OUTPUT_COLUMNS)}) VALUES ({marks(len(OUTPUT_COLUMNS))})"
            ids = [conn.execute(sql, [rid if k == "run_id" else o.get(k) for k in OUTPUT_COLUMNS]).lastrowid
                   for o in outputs]
            return rid, ids

        return self._tx(write, "workbench run")

    def runs(self, limit: int = 50, kind: str | None = None) -> list[dict]:
        where, params = ("WHERE kind=?", [kind]) if kind else ("", [])
        return self._q(f"SELECT * FROM wb_runs {where} ORDER BY id DESC LIMIT ?", params + [limit])

    def run(self, run_id: int) -> dict | None:
        rows = self._q("SELECT * FROM wb_runs WHERE id=?", [run_id])
        return rows[0] if rows else None

    def run_outputs(self, run_id: int) -> list[dict]:
        return self._q("SELECT * FROM wb_outputs WHERE run_id=? ORDER BY id", [run_id])

    def output(self, output_id: int) -> dict | None:
        rows = self._q("SELECT * FROM wb_outputs WHERE id=?", [output_id])
        return rows[0] if rows else None

    # -- ratings
    def add_rating(self, row: dict) -> int:
        cols = list(row)
        return self._tx(lambda: self.db.conn.execute(
            f"INSERT INTO ratings({', '.join(cols)}) VALUES ({marks(len(cols))})", [row[c] for c in cols]).lastrowid,
            "rating")

    def ratings_of(self, urns: list[str]) -> list[dict]:
        """``urn, state_hash, text, rating`` of every rating of these urns, oldest first."""
        out: list[dict] = []
        for chunk in chunks(urns):
            out += self._q(f"SELECT urn, state_hash, text, rating FROM ratings WHERE urn IN ({marks(len(chunk))}) "
                           "ORDER BY id", chunk)
        return out

    def ratings(self, limit: int | None = None, urn: str | None = None) -> list[dict]:
        """Every rating (newest first) with the prompt text joined in (``prompt_text``)."""
        where, params = ("WHERE r.urn=?", [urn]) if urn else ("", [])
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        return self._q(f"SELECT r.*, coalesce(v.text, w.text) AS prompt_text FROM ratings r "
                       f"LEFT JOIN prompt_versions v ON v.version = r.prompt_version "
                       f"LEFT JOIN wb_prompt_texts w ON w.version = r.prompt_version {where} ORDER BY r.id DESC{lim}",
                       params)
