"""The SQLite store: WAL mode, migrations (fresh, re-open, upgrade from an old file), results and
current, the cached_llm lookup key, export rows, errors."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from engine.store import migrations as store_migrations
from engine.store import MIGRATIONS, ResultRow, Store, StoreError


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "texture.db"


@pytest.fixture
def st(db_path):
    s = Store(db_path)
    yield s
    s.close()


def row(batch_id=1, urn="urn:flux:place:a:b", source="llm", text="An LLM text about the place.", **kw) -> ResultRow:
    args = dict(batch_id=batch_id, urn=urn, state_hash="h" * 64, tier="full", source=source, text=text,
                template_text="A template text.", llm_text=text if source == "llm" else None,
                prompt_version="v1", model_id="m1", seed=7, budget=120, base_hash="b1")
    args.update(kw)
    return ResultRow(**args)


def _batch(st) -> int:
    return st.start_batch("all", 1, "m1", "v1", {"x": 1})


# --- connection and migrations ----------------------------------------------------------------

def test_wal_mode_and_parent_folder_created(st, db_path):
    assert db_path.exists()
    assert st.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Another connection sees WAL too (it is a property of the file).
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_fresh_db_records_every_migration(st):
    rows = list(st.db["migrations"].rows_where(order_by="id"))
    assert [(r["id"], r["name"]) for r in rows] == [(mid, name) for mid, name, _ in MIGRATIONS]
    assert st.applied_migrations() == [m[0] for m in MIGRATIONS]
    assert all(r["applied_at"] > 0 for r in rows)
    assert {"places", "batches", "results", "current", "prompt_versions", "batch_metrics", "ratings", "migrations"} <= set(st.db.table_names())


def test_reopening_applies_nothing(db_path):
    s = Store(db_path)
    before = list(s.db["migrations"].rows)
    s.close()
    s2 = Store(db_path)
    assert list(s2.db["migrations"].rows) == before
    assert s2.migrate() == []
    s2.close()


def test_old_db_at_migration_1_gets_only_2_without_losing_data(db_path):
    # Build a version-1 file the way version 1 of the program did: migration 1 only.
    db_path.parent.mkdir(parents=True)
    old = sqlite_utils.Database(db_path)
    old["migrations"].create({"id": int, "name": str, "applied_at": float}, pk="id")
    store_migrations._m1_initial(old)
    old["migrations"].insert({"id": 1, "name": "initial", "applied_at": 1000.0})
    old["batches"].insert({"id": 1, "started_at": 1.0, "status": "done", "selection": "all", "places": 1})
    old["results"].insert({"id": 1, "batch_id": 1, "urn": "urn:flux:place:a:b", "state_hash": "h", "tier": "full",
                           "source": "llm", "text": "Old text kept.", "template_text": "T", "llm_text": "Old text kept.",
                           "prompt_version": "v0", "model_id": "m0", "seed": 1, "budget": 120, "base_hash": "b"})
    old["current"].insert({"urn": "urn:flux:place:a:b", "result_id": 1, "text": "Old text kept.", "source": "llm",
                           "state_hash": "h", "updated_at": 2.0})
    old.conn.close()

    s = Store(db_path)
    mig = {r["id"]: r for r in s.db["migrations"].rows}
    assert sorted(mig) == [m[0] for m in MIGRATIONS]
    assert mig[1]["applied_at"] == 1000.0  # migration 1 was not re-applied
    assert mig[2]["name"] == "ratings" and mig[2]["applied_at"] > 1000.0
    assert "ratings" in s.db.table_names()
    assert [r["text"] for r in s.db["results"].rows] == ["Old text kept."]
    assert list(s.export_rows()) == [{"urn": "urn:flux:place:a:b", "text": "Old text kept.", "source": "llm",
                                      "state_hash": "h", "updated_at": 2.0, "quality": None}]
    # And the old data is usable by the new code.
    hit = s.cached_llm("h", "b", "v0", "m0", 120)
    assert hit is not None and hit["text"] == "Old text kept."
    s.add_rating(hit, "good", "fine")
    assert s.db["ratings"].count == 1
    s.close()


def test_not_a_database_is_a_store_error(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot use database"):
        Store(p)


def test_unopenable_path_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        Store(blocker / "sub" / "texture.db")  # parent "folder" is a file


# --- results and current ----------------------------------------------------------------------

def test_results_and_current(st):
    b = _batch(st)
    ids = st.add_results([row(b, text="First text for the place.", urn="urn:flux:place:a:one"),
                          row(b, source="template", text="Template text.", urn="urn:flux:place:a:two", reason="tier")])
    assert len(ids) == 2 and st.db["results"].count == 2
    cur = {r["urn"]: r for r in st.db["current"].rows}
    assert cur["urn:flux:place:a:one"]["text"] == "First text for the place." and cur["urn:flux:place:a:one"]["source"] == "llm"
    assert cur["urn:flux:place:a:two"]["result_id"] == ids[1]

    # A newer result replaces the current one; history stays.
    (nid,) = st.add_results([row(b, text="Newer text.", urn="urn:flux:place:a:one", state_hash="x" * 64)])
    assert st.db["current"].count == 2
    c = st.db["current"].get("urn:flux:place:a:one")
    assert (c["result_id"], c["text"], c["state_hash"]) == (nid, "Newer text.", "x" * 64)
    assert [r["text"] for r in st.results_for("urn:flux:place:a:one")] == ["Newer text.", "First text for the place."]
    assert st.current_hashes() == {"urn:flux:place:a:one": "x" * 64, "urn:flux:place:a:two": "h" * 64}
    assert len(st.batch_results(b)) == 3


def test_every_reproduction_field_is_stored(st):
    b = _batch(st)
    (rid,) = st.add_results([row(b, reason=None, latency_ms=12.5, tokens=40, stream=3)])
    r = st.db["results"].get(rid)
    for k, v in dict(state_hash="h" * 64, tier="full", source="llm", prompt_version="v1", model_id="m1", seed=7,
                     budget=120, base_hash="b1", latency_ms=12.5, tokens=40, stream=3, template_text="A template text.").items():
        assert r[k] == v, k
    assert r["created_at"] > 0


def test_cached_llm_lookup_key(st):
    b = _batch(st)
    key = dict(state_hash="s" * 64, base_hash="base", prompt_version="pv", model_id="mod", budget=80)
    st.add_results([row(b, text="Older accepted text.", **key)])
    st.add_results([row(b, text="Newest accepted text.", **key)])
    st.add_results([row(b, source="template", text="Template only.", reason="timeout", **key)])
    hit = st.cached_llm("s" * 64, "base", "pv", "mod", 80)
    assert hit is not None and hit["text"] == "Newest accepted text." and hit["source"] == "llm"
    # Any part of the key different -> miss.
    assert st.cached_llm("t" * 64, "base", "pv", "mod", 80) is None
    assert st.cached_llm("s" * 64, "other", "pv", "mod", 80) is None
    assert st.cached_llm("s" * 64, "base", "pv2", "mod", 80) is None
    assert st.cached_llm("s" * 64, "base", "pv", "mod2", 80) is None
    assert st.cached_llm("s" * 64, "base", "pv", "mod", 120) is None


def test_template_results_are_never_a_cache_hit(st):
    b = _batch(st)
    st.add_results([row(b, source="template", text="T.", reason="error", state_hash="q", base_hash="b", prompt_version="p", model_id="m", budget=1)])
    assert st.cached_llm("q", "b", "p", "m", 1) is None


def test_export_rows(st):
    b = _batch(st)
    st.add_results([row(b, urn="urn:flux:place:z:last"), row(b, urn="urn:flux:place:a:first", source="template", text="T.")])
    rows = list(st.export_rows())
    assert [r["urn"] for r in rows] == ["urn:flux:place:a:first", "urn:flux:place:z:last"]
    assert set(rows[0]) == {"urn", "text", "source", "state_hash", "updated_at", "quality"}


# --- batches, prompts, metrics ----------------------------------------------------------------

def test_batches_lifecycle_and_interrupted(st):
    b1 = _batch(st)
    b2 = _batch(st)
    st.finish_batch(b1, "done", {"by_tier": {"full": 1}, "by_source": {"llm": 1}, "reasons": {}, "elapsed_s": 0.5}, "ok")
    assert st.mark_interrupted_batches() == 1
    statuses = {b["id"]: b["status"] for b in st.batches()}
    assert statuses == {b1: "done", b2: "interrupted"}
    st.record_metrics(b1, {"avg_latency_ms": 10.0, "fallback_pct": 0.0, "llm_places": 1})
    st.record_metrics(b1, {"avg_latency_ms": 20.0, "fallback_pct": 0.0, "llm_places": 1})  # upsert
    m = st.metrics()
    assert len(m) == 1 and m[0]["avg_latency_ms"] == 20.0


def test_record_prompt_keeps_one_row_per_version(st):
    st.record_prompt("texture", "v1", "text one")
    st.record_prompt("texture", "v1", "text one")
    st.record_prompt("texture", "v2", "text two")
    rows = {r["version"]: r for r in st.db["prompt_versions"].rows}
    assert set(rows) == {"v1", "v2"} and rows["v1"]["text"] == "text one"
    assert rows["v1"]["last_seen"] >= rows["v1"]["first_seen"]


def test_integrity(st):
    assert st.integrity() == "ok"


def test_readonly_open_does_not_migrate_or_write(db_path):
    Store(db_path).close()
    ro = Store(db_path, readonly=True)
    assert ro.applied_migrations() == [m[0] for m in MIGRATIONS]
    with pytest.raises(sqlite3.OperationalError):
        ro.record_prompt("x", "v", "t")
    ro.close()


def test_quality_scores_read_the_results_columns_once_per_store(st):
    # The console asks for the scores on every flush of engine events: no PRAGMA each time.
    b = _batch(st)
    st.add_results([row(b), row(b, urn="urn:flux:place:a:c")])
    ids = [r["id"] for r in st.batch_results(b)]
    seen: list[str] = []
    st.db.conn.set_trace_callback(seen.append)
    try:
        for _ in range(5):
            assert [r["id"] for r in st.quality_scores(ids)] == ids
        st.current_overview()
    finally:
        st.db.conn.set_trace_callback(None)
    assert sum("PRAGMA table_info(results)" in s for s in seen) <= 1, seen
    assert sum(s.startswith("SELECT id, quality") for s in seen) == 5
