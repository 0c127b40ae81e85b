"""Two processes on one database: readers alongside a running batch, a second batch refuses with a
clear message (never corrupts, never deadlocks), SQLITE_BUSY waits and retries, a killed batch's
lock is gone at once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from engine.store import core as store_mod
from engine.config import Config
from engine.dispatch import BatchRunner
from engine.prompts import PromptLibrary
from fakes import child_env, make_world, texture_cmd, write_jsonl
from engine.store import BatchBusyError, ResultRow, Store, StoreWriteError
from engine.world import parse_place


def _slow_batch(tmp_path, db, delay="0.05"):
    world = write_jsonl(make_world(40), tmp_path / "w.jsonl")
    env = child_env(tmp_path / "home", TEXTURE_SCRIPTED="1", TEXTURE_SCRIPTED_DELAY=delay)
    return subprocess.Popen(texture_cmd("batch", "--world", str(world), "--db", str(db), "--json"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), world, env


def _wait_running(db, timeout=30):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        if db.exists():
            try:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                n = conn.execute("SELECT count(*) FROM results").fetchone()[0]
                conn.close()
                if n:
                    return
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    raise AssertionError("the first batch never started storing results")


def test_second_batch_refuses_while_readers_work_alongside(tmp_path):
    db = tmp_path / "t.db"
    # Slow enough that the first batch still runs after three more interpreters have started
    # (second batch, export, doctor): on a loaded 2-CPU machine 0.05 and 0.2 s/token finished first.
    first, world, env = _slow_batch(tmp_path, db, delay="1.0")
    try:
        _wait_running(db)
        # A second batch: refuses at once with a clear message, exit 2, no traceback.
        second = subprocess.run(texture_cmd("batch", "--world", str(world), "--db", str(db), "--no-llm"),
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "another batch is running" in second.stderr and "pid" in second.stderr
        assert "Traceback" not in second.stderr
        # A reader (export) works alongside the writer.
        export = subprocess.run(texture_cmd("export", "--db", str(db)), env=env, capture_output=True, text=True, timeout=60)
        assert export.returncode == 0 and export.stdout.strip()
        assert all(json.loads(line)["text"] for line in export.stdout.splitlines())
        # And so does doctor, which names the running batch.
        doc = subprocess.run(texture_cmd("doctor", "--db", str(db)), env={**env, "FLUX_MODELS_DIR": str(tmp_path / "none")},
                             capture_output=True, text=True, timeout=120)
        assert "batch running" in doc.stdout and "Traceback" not in doc.stderr
    finally:
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert json.loads(out)["status"] == "done"
    st = Store(db)
    assert st.integrity() == "ok" and st.consistency()["duplicate_results"] == 0
    assert st.db.execute("SELECT count(*) FROM batches WHERE status='running'").fetchone()[0] == 0
    st.close()
    # Once the first is done, the second runs.
    again = subprocess.run(texture_cmd("batch", "--world", str(world), "--db", str(db), "--no-llm", "--json"),
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "done"


def test_a_killed_batch_holds_no_lock(tmp_path):
    db = tmp_path / "t.db"
    first, world, env = _slow_batch(tmp_path, db, delay="0.05")
    _wait_running(db)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    nxt = subprocess.run(texture_cmd("batch", "--world", str(world), "--db", str(db), "--no-llm", "--json"),
                         env=env, capture_output=True, text=True, timeout=60)
    assert nxt.returncode == 0, nxt.stderr
    d = json.loads(nxt.stdout)
    assert len(d["resumed"]) == 1 and "was interrupted" in nxt.stderr


def test_two_batches_in_one_process_the_second_refuses(tmp_path):
    db = tmp_path / "t.db"
    ps = [parse_place(d) for d in make_world(20)]
    a, b = Store(db), Store(db)
    llm = __import__("engine.llm.scripted", fromlist=["ScriptedLLM"]).ScriptedLLM(token_delay_s=0.01)
    box = {}
    started = threading.Event()
    prompts = PromptLibrary(tmp_path / "prompts")

    def run_a():
        st = Store(db)
        try:
            box["a"] = BatchRunner(st, Config(), prompts, llm, observer=lambda ev: started.set()).run(ps)
        finally:
            st.close()

    t = threading.Thread(target=run_a)
    t.start()
    assert started.wait(10)
    runner = BatchRunner(b, Config(enabled=False), None)
    runner.lock_wait_s = 0.2
    with pytest.raises(BatchBusyError, match="another batch is running"):
        runner.run(ps)
    t.join(60)
    llm.shutdown()
    assert box["a"].status == "done" and box["a"].by_source.get("llm")
    assert BatchRunner(b, Config(enabled=False), None).run(ps).status == "done"
    a.close()
    b.close()


def test_sqlite_busy_waits_then_succeeds(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    st = Store(db)
    bid = st.start_batch("all", 1, None, None, {})
    holder = sqlite3.connect(db, timeout=1, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock...
    threading.Timer(0.6, lambda: holder.execute("COMMIT")).start()  # ...for 0.6 s
    t0 = time.monotonic()
    st.add_results([ResultRow(bid, "urn:flux:place:a:b", "h", "light", "template", "A text that waited.", "T.")])
    assert time.monotonic() - t0 >= 0.4
    assert st.batch_results(bid)[0]["text"] == "A text that waited."
    holder.close()
    st.close()


def test_sqlite_busy_beyond_the_timeout_is_retried_then_a_clear_error(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    st = Store(db)
    st.db.conn.execute("PRAGMA busy_timeout = 50")
    monkeypatch.setattr(store_mod, "BUSY_RETRY_DELAYS", (0.05, 0.05))
    holder = sqlite3.connect(db, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreWriteError) as ei:
            st.start_batch("all", 1, None, None, {})
        assert ei.value.kind == "busy" and "another process kept the database locked" in str(ei.value)
        assert time.monotonic() - t0 >= 0.1  # three attempts were made
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Once released, writes work again.
    assert st.start_batch("all", 1, None, None, {}) > 0
    st.close()
