"""Crash safety: SIGKILL at random moments of real `texture batch` processes, and the recovery
machinery underneath it (batch items, exactly-once re-queue, resume, spill import)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli import main as cli
from engine.config import Config
from engine.dispatch import BatchRunner
from engine.llm.scripted import ScriptedLLM
from fakes import child_env, kill_loop, make_world, texture_cmd, write_jsonl
from engine.store import ResultRow, Store
from engine.world import parse_place


def places(n=10, variant=0):
    return [parse_place(d) for d in make_world(n, variant)]


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    """20 real `texture batch` subprocesses (template-only and scripted-model) SIGKILLed at random
    moments, then one run to completion: integrity ok after every kill, no result duplicated per
    (batch, place), no empty text, every place has a description, every unfinished place of an
    interrupted batch re-queued exactly once, nothing left queued or running."""
    rep = kill_loop(20, tmp_path, seed=1234, places=120)
    assert rep["violations"] == []
    assert rep["integrity"] == "ok"
    assert rep["lost"] == 0 and rep["duplicated"] == 0 and rep["unhandled"] == 0
    assert rep["places_with_description"] == rep["world_places"] == 120
    assert not rep["batches"].get("running") and not rep["batches"].get("queued")
    # The kills really interrupted batches (random, but with 20 tries some must land mid-batch).
    assert rep["killed_mid_batch"] >= 3, rep["cases"]
    assert rep["interrupted_batches"] >= 1 and rep["resume_batches"] >= 1 and rep["requeued_places"] >= 1


def _dead_batch(store: Store, ps, done: int) -> int:
    """A batch as a killed process leaves it: planned, ``done`` results stored, still 'running'."""
    items = [(p.urn, p.state_hash, "light", json.dumps(p.to_json())) for p in ps]
    bid = store.start_batch("all", len(ps), None, None, {}, items=items)
    store.add_results([ResultRow(bid, p.urn, p.state_hash, "light", "template", f"Text {p.urn}.", "T.")
                       for p in ps[:done]])
    return bid


def test_recovery_requeues_unfinished_places_exactly_once(tmp_path):
    store = Store(tmp_path / "t.db")
    ps = places(10)
    bid = _dead_batch(store, ps, done=4)
    rep = store.recover_interrupted()
    assert rep.interrupted == [bid]
    assert len(rep.pending) == 1
    rec = rep.pending[0]
    assert rec.from_batch == bid and rec.urns == [p.urn for p in ps[4:]]
    assert store.batch(bid)["status"] == "interrupted"
    assert f"re-queued as batch #{rec.batch_id}" in store.batch(bid)["notice"]
    assert store.batch(rec.batch_id)["selection"] == f"resume of #{bid}"
    # A second recovery (another start) re-queues nothing again; the queued batch is still pending.
    rep2 = store.recover_interrupted()
    assert rep2.interrupted == [] and [r.batch_id for r in rep2.pending] == [rec.batch_id]
    assert store.db.execute("SELECT count(*) FROM batches WHERE selection LIKE 'resume of%'").fetchone()[0] == 1
    # Running it finishes exactly the unfinished places, with their planned state.
    summary = BatchRunner(store, Config(enabled=False), None).resume(rec.batch_id)
    assert summary.status == "done" and summary.places == 6
    assert sorted(r["urn"] for r in store.batch_results(rec.batch_id)) == sorted(rec.urns)
    assert store.recover_interrupted().pending == []
    c = store.consistency()
    assert {k: v for k, v in c.items() if v and k != "integrity"} == {} and c["integrity"] == "ok"
    assert len(list(store.export_rows())) == 10
    store.close()


def test_a_resume_batch_killed_in_turn_is_requeued_once_more(tmp_path):
    store = Store(tmp_path / "t.db")
    ps = places(8)
    b1 = _dead_batch(store, ps, done=2)
    (rec,) = store.recover_interrupted().pending
    # The resume batch starts, stores 3 of its 6 places, and the process dies again.
    store.begin_queued_batch(rec.batch_id, None, None, {})
    store.add_results([ResultRow(rec.batch_id, u, "h", "light", "template", "Resumed text.", "T.") for u in rec.urns[:3]])
    rep = store.recover_interrupted()
    assert rep.interrupted == [rec.batch_id]
    (rec2,) = rep.pending
    assert rec2.from_batch == rec.batch_id and rec2.urns == rec.urns[3:]
    BatchRunner(store, Config(enabled=False), None).run_pending()
    c = store.consistency()
    assert c["duplicate_results"] == c["requeued_twice"] == c["requeued_missing"] == c["queued_in_finished_batches"] == 0
    n = store.db.execute("SELECT count(DISTINCT urn) FROM results WHERE batch_id IN (?,?,?)", [b1, rec.batch_id, rec2.batch_id]).fetchone()[0]
    assert n == 8  # every place of the first batch has exactly one result across the chain
    store.close()


def test_recovery_never_touches_a_batch_a_live_process_is_running(tmp_path):
    db = tmp_path / "t.db"
    live = Store(db)
    other = Store(db)
    with live.batch_lock():
        bid = live.start_batch("all", 1, None, None, {}, items=[("urn:flux:place:a:b", "h", "light", None)])
        assert other.mark_interrupted_batches() == 0  # the console's start-up call: a live batch is left alone
        assert other.batch(bid)["status"] == "running"
    assert other.mark_interrupted_batches() == 1  # now its owner is gone
    live.close()
    other.close()


def test_texture_batch_resumes_before_its_own_selection(tmp_path, capsys):
    db = tmp_path / "t.db"
    world = write_jsonl(make_world(10), tmp_path / "w.jsonl")
    store = Store(db)
    bid = _dead_batch(store, places(10), done=7)
    store.close()
    assert cli.main(["batch", "--no-llm", "--db", str(db), "--world", str(world), "--json"]) == 0
    out, err = capsys.readouterr()
    d = json.loads(out)
    assert f"batch {bid} was interrupted" in err and "resuming batch" in err
    assert d["resumed"] == [{"batch_id": bid + 1, "from_batch": bid, "places": 3, "status": "done"}]
    assert d["batch_id"] == bid + 2 and d["places"] == 10
    # Run again: nothing is resumed a second time.
    assert cli.main(["batch", "--no-llm", "--db", str(db), "--world", str(world), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed"] == []


def test_spilled_results_are_imported_once_and_never_duplicated(tmp_path):
    store = Store(tmp_path / "t.db")
    ps = places(6)
    bid = _dead_batch(store, ps, done=2)
    rows = [ResultRow(bid, p.urn, p.state_hash, "light", "template", f"Spilled {p.urn}.", "T.") for p in ps[2:5]]
    rows.append(ResultRow(bid, ps[0].urn, ps[0].state_hash, "light", "template", "Already stored.", "T."))
    spill = store.write_spill(bid, rows)
    assert spill.exists() and spill.parent == tmp_path
    rep = store.recover_interrupted()
    assert rep.spill_imported == 3 and rep.spill_skipped == 1
    assert not spill.exists() and spill.with_name(spill.name + ".imported").exists()
    (rec,) = rep.pending
    assert rec.urns == [ps[5].urn]  # only the place that was neither stored nor spilled
    assert store.recover_interrupted().spill_imported == 0
    assert store.consistency()["duplicate_results"] == 0
    store.close()


def test_scripted_switch_runs_the_llm_path_headless(tmp_path):
    world = write_jsonl(make_world(10), tmp_path / "w.jsonl")
    proc = subprocess.run(texture_cmd("batch", "--world", str(world), "--db", str(tmp_path / "t.db"), "--json"),
                          env=child_env(tmp_path / "home", TEXTURE_SCRIPTED="1"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["by_source"].get("llm", 0) >= 4 and "Traceback" not in proc.stderr


def test_a_queued_resume_never_overwrites_a_newer_description(tmp_path):
    """Recovered at console start-up, then the operator re-ran a place before the resume ran: the
    resume skips that place (cancelled as superseded) instead of restoring its older state."""
    store = Store(tmp_path / "t.db")
    old = places(4, variant=0)
    bid = _dead_batch(store, old, done=1)
    assert store.mark_interrupted_batches() == 1
    (rec,) = store.pending_batches()
    newer = places(4, variant=5)[2]
    BatchRunner(store, Config(enabled=False), None).run([newer], "by hand")
    text_now = store.db.execute("SELECT text FROM current WHERE urn=?", [newer.urn]).fetchone()[0]
    s = BatchRunner(store, Config(enabled=False), None).resume(rec.batch_id)
    assert s.places == 2  # the two places nobody re-ran
    assert store.db.execute("SELECT text FROM current WHERE urn=?", [newer.urn]).fetchone()[0] == text_now
    items = {i["urn"]: i["status"] for i in store.batch_items(rec.batch_id)}
    assert items[newer.urn] == "cancelled" and list(items.values()).count("done") == 2
    c = store.consistency()
    assert c["queued_in_finished_batches"] == 0 and c["duplicate_results"] == 0
    store.close()
