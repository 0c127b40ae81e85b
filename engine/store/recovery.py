"""Recovery after a crash and the spill files (a mixin of :class:`~engine.store.core.Store`).

``Store.recover_interrupted`` (run when a batch starts, and by ``texture doctor``): batches left
"running" by a process that died are marked interrupted, their unfinished places queued again
as a resume batch, and the spill files (``<db>.spill-*.jsonl``: results that could not be written
when they were produced, e.g. on a full disk) imported. Split from :mod:`engine.store.core` for
length; every statement still runs through the store's one connection and transaction helper.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

try:  # advisory file locks (Linux, macOS); elsewhere batches are not serialised across processes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


from .rows import SPILL_GLOB, BatchBusyError, Recovered, RecoveryReport, ResultRow, now


class StoreRecovery:
    """Interrupted batches, resume batches and spill files (see the module doc)."""

    def mark_interrupted_batches(self) -> int:
        """Batches left 'running' by a process that died: mark them interrupted and re-queue their
        unfinished places (see :meth:`recover_interrupted`). Does nothing while a live batch holds
        the lock (its 'running' batch is not interrupted). Returns how many were marked."""
        try:
            with self.batch_lock(wait_s=0.0, what="recovery"):
                return len(self.recover_interrupted().interrupted)
        except BatchBusyError:
            return 0

    def recover_interrupted(self) -> RecoveryReport:
        """Import spill files, then turn every batch left 'running' by a dead process into
        'interrupted' and re-queue its unfinished places exactly once as a new queued batch
        "resume of #N" (the old items become 'requeued', so a second recovery finds nothing).

        Must be called while holding :meth:`batch_lock` (it takes it, reentrantly, waiting up to
        2 s): only then is every 'running' batch certainly orphaned. Returns the report, whose
        ``pending`` lists every queued resume batch, new or left from an earlier recovery.
        """
        rep = RecoveryReport()
        with self.batch_lock(wait_s=2.0, what="recovery"):
            self._import_spills(rep)
            t = now()

            def write() -> list[int]:
                conn = self.db.conn
                marked = []
                for b in list(self.db.query("SELECT * FROM batches WHERE status='running' ORDER BY id")):
                    bid = b["id"]
                    queued = list(self.db.query(
                        "SELECT urn, state_hash, tier, planned, seen_at FROM batch_items WHERE batch_id=? AND status='queued' "
                        "ORDER BY rowid", [bid]))
                    note = "interrupted: the process stopped before the batch finished"
                    if queued:
                        cur = conn.execute(
                            "INSERT INTO batches(started_at, status, selection, places, model_id, prompt_version, config, notice) "
                            "VALUES (?,?,?,?,?,?,?,?)",
                            [t, "queued", f"resume of #{bid}", len(queued), b["model_id"], b["prompt_version"], b["config"],
                             f"re-queued {len(queued)} unfinished place(s) of interrupted batch #{bid}"])
                        new = cur.lastrowid
                        conn.executemany(
                            "INSERT INTO batch_items(batch_id, urn, state_hash, tier, planned, status, updated_at, seen_at) "
                            "VALUES (?,?,?,?,?,'queued',?,?)",
                            [(new, q["urn"], q["state_hash"], q["tier"], q["planned"], t, q["seen_at"]) for q in queued])
                        conn.execute("UPDATE batch_items SET status='requeued', requeued_to=?, updated_at=? "
                                     "WHERE batch_id=? AND status='queued'", [new, t, bid])
                        note += f"; {len(queued)} unfinished place(s) re-queued as batch #{new}"
                    conn.execute("UPDATE batches SET status='interrupted', finished_at=?, "
                                 "notice=trim(coalesce(notice, '') || ' ' || ?) WHERE id=?", [t, note, bid])
                    marked.append(bid)
                return marked

            rep.interrupted = self._tx(write, "recovery")
            rep.pending = self.pending_batches()
        return rep

    def pending_batches(self) -> list[Recovered]:
        out = []
        for b in self.db.query("SELECT id, selection FROM batches WHERE status='queued' ORDER BY id"):
            urns = [r["urn"] for r in self.db.query(
                "SELECT urn FROM batch_items WHERE batch_id=? AND status='queued' ORDER BY rowid", [b["id"]])]
            sel = b["selection"] or ""
            src = int(sel.rsplit("#", 1)[1]) if sel.startswith("resume of #") and sel.rsplit("#", 1)[1].isdigit() else None
            out.append(Recovered(b["id"], src, urns, sel))
        return out

    def planned_places(self, batch_id: int) -> list[tuple[str, dict | None]]:
        """(urn, planned place JSON or None) of the queued items of a batch."""
        out = []
        for r in self.db.query("SELECT urn, planned FROM batch_items WHERE batch_id=? AND status='queued' ORDER BY rowid",
                               [batch_id]):
            try:
                out.append((r["urn"], json.loads(r["planned"]) if r["planned"] else None))
            except ValueError:
                out.append((r["urn"], None))
        return out

    # -- spill files: results that could not be written when they were produced
    def spill_candidates(self) -> list[Path]:
        here = sorted(self.path.parent.glob(self.path.name + SPILL_GLOB))
        there = sorted(Path(tempfile.gettempdir()).glob(f"texture-{self._path_tag()}{SPILL_GLOB}"))
        return here + there

    def _path_tag(self) -> str:
        return hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:10]

    def write_spill(self, batch_id: int, rows: list[ResultRow]) -> Path:
        """Write rows that could not be stored to a JSONL spill file (next to the database, or in
        the temp folder if that fails). Atomic: a temp name, fsync, rename. Raises OSError."""
        stamp = f"{batch_id}-{os.getpid()}-{int(time.time() * 1000)}"
        last: OSError | None = None
        for folder, name in ((self.path.parent, f"{self.path.name}.spill-{stamp}.jsonl"),
                             (Path(tempfile.gettempdir()), f"texture-{self._path_tag()}.spill-{stamp}.jsonl")):
            dest = folder / name
            tmp = folder / (name + ".part")
            try:
                with open(tmp, "w", encoding="utf-8") as fh:
                    for r in rows:
                        fh.write(json.dumps({"db": str(self.path), **r.as_row()}, ensure_ascii=True) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, dest)
                return dest
            except OSError as exc:
                last = exc
                with contextlib.suppress(OSError):
                    tmp.unlink()
        assert last is not None
        raise last

    def _import_spills(self, rep: RecoveryReport) -> None:
        for path in self.spill_candidates():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
                rows = [json.loads(x) for x in lines if x.strip()]
            except (OSError, ValueError):
                continue  # unreadable now: left in place, doctor reports it

            def write() -> tuple[int, int]:
                done = skipped = 0
                for d in rows:
                    r = ResultRow.from_row(d)
                    item = list(self.db.query("SELECT status FROM batch_items WHERE batch_id=? AND urn=?", [r.batch_id, r.urn]))
                    have = list(self.db.query("SELECT 1 FROM results WHERE batch_id=? AND urn=? LIMIT 1", [r.batch_id, r.urn]))
                    if have or (item and item[0]["status"] != "queued"):
                        skipped += 1  # stored meanwhile, or re-run elsewhere: never a duplicate
                        continue
                    self._write_results([r])
                    done += 1
                return done, skipped

            n, k = self._tx(write, f"import {path.name}")
            rep.spill_imported += n
            rep.spill_skipped += k
            rep.spill_files.append(str(path))
            with contextlib.suppress(OSError):
                path.rename(path.with_name(path.name + ".imported"))
