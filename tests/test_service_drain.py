"""Stopping the texture service with a drain (the first SIGTERM / Ctrl-C, auto mode switched off):
the places the model is decoding finish and are stored, no new one starts, the cycle's other
places get their template now and wait for the model, and the next start runs them exactly once.

The scripted model and a fake clock; the moment of the drain comes from the model's own events
(the second place started), never from a sleep."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from engine.config import Config
from engine.dispatch import BatchRunner
from engine.llm.events import PlaceStarted
from engine.llm.scripted import ScriptedLLM
from engine.policy import decide
from engine.prompts import PromptLibrary
from engine.service import TextureService, read_world
from engine.store import Store
from conftest import _valid_place, event
from service_helpers import FakeClock, StderrLines, SteppedChanges, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def mk(i: int, sig: float | None) -> dict:
    d = _valid_place(i)
    d["weather"] = {"temperature": round(-10 + (i % 40), 1), "conditions": "fog", "windSpeed": i % 17}
    if sig is not None:
        d["events"] = [event(sig, "long")]
    return d


def a_world(n_model: int, n_template: int) -> list[dict]:
    return [mk(i, 0.9) for i in range(n_model)] + [mk(100 + i, None) for i in range(n_template)]


# These tests count model requests as places: the whole-text prompt (one request a place). The
# per-sentence default (engine.compose) is drained in the last scripted test below.
WHOLE = "rewrite"


def a_world_on_disk(tmp_path, n_model: int, n_template: int) -> tuple[list[dict], Path, Store]:
    """A world file of ``n_model`` model places and ``n_template`` template places, and a store."""
    items = a_world(n_model, n_template)
    path = tmp_path / "world.jsonl"
    write_jsonl(path, items)
    return items, path, Store(tmp_path / "t.db")


def service(store, llm, path, tmp_path, clock=None, observer=None, prompt_name=WHOLE, **cfg_over):
    cfg = replace(Config(), **{"cycle_min_s": 30.0, "cycle_max_s": 300.0, "cycle_max_llm": 50, **cfg_over})
    clock = clock or FakeClock()
    logs: list[str] = []
    svc = TextureService(store, cfg, PromptLibrary(tmp_path / "prompts"), llm, path, clock=clock,
                         changes=SteppedChanges(clock), log=logs.append, observer=observer, prompt_name=prompt_name)
    svc.logs = logs
    return svc


def drain_on_start(count: int, svc_box: dict, started: list[str]):
    """An observer that drains the service once ``count`` model places have started (every lane
    busy): it runs on the service's thread as the runner hands the engine's events on."""

    def observe(ev):
        if isinstance(ev, PlaceStarted):
            started.append(ev.key)
            if len(started) == count:
                svc_box["svc"].stop(drain=True)

    return observe


def llm_counts(store: Store) -> Counter:
    return Counter(r["urn"] for r in store.db.query("SELECT urn FROM results WHERE source='llm'"))


def test_a_drain_finishes_in_flight_starts_none_defers_the_rest_and_a_restart_runs_each_once(tmp_path):
    items, path, store = a_world_on_disk(tmp_path, 10, 3)
    # ~30 words a place at 0.05 s a word: a lane is busy ~1.5 s, far longer than the drain takes.
    llm = ScriptedLLM(concurrency=2, token_delay_s=0.05)
    started: list[str] = []
    box: dict = {}
    try:
        svc = box["svc"] = service(store, llm, path, tmp_path, observer=drain_on_start(2, box, started))
        eligible = {u for u, p in read_world(path).places.items() if decide(p, svc.cfg).eligible}
        assert len(eligible) == 10
        svc.start()
        svc.run_forever()  # returns once the drained cycle is stored: the stop was asked for
        assert len(svc.cycles) == 1
        rep = svc.cycles[0]
        assert started and len(started) == 2  # both lanes were decoding; nothing started after
        rows = {r["urn"]: r for r in store.batch_results(rep.batch_id)}
        assert set(rows) == {d["urn"] for d in items}  # every place of the cycle described
        assert {u for u, r in rows.items() if r["source"] == "llm"} == set(started)  # in flight: finished
        not_started = eligible - set(started)
        assert {u for u, r in rows.items() if r["reason"] == "deferred"} == not_started
        assert all(rows[u]["source"] == "template" and "drained" in rows[u]["detail"] for u in not_started)
        assert rep.status == "drained" and rep.drained == len(not_started) == 8 and rep.llm == 2
        assert svc.deferred == not_started and not svc.pending
        batch = store.batch(rep.batch_id)
        assert batch["status"] == "drained"
        assert not list(store.db.query("SELECT 1 FROM batch_items WHERE status='queued'"))
        # The run's report tells the drain's templates from the cap's.
        from cli.serve import run_report

        figures = run_report([rep.as_dict()])
        assert figures["deferred_by_drain"] == 8 and figures["deferred_by_cap"] == 0
        line = svc.stop_summary()
        assert "cycle 1 drained: 2 place(s) the model had started finished" in line
        assert "8 not started got their template" in line and "8 place(s) wait for the next start" in line
        svc.close()

        # The restart: a new service on the same database and world file picks the 8 up.
        started2: list[str] = []
        svc2 = service(store, llm, path, tmp_path,
                       observer=lambda ev: started2.append(ev.key) if isinstance(ev, PlaceStarted) else None)
        svc2.start()
        assert svc2.deferred == not_started and not svc2.pending
        rep2 = svc2.run_cycle()
        assert rep2.changed == 8 and rep2.llm == 8 and rep2.status == "done"
        assert Counter(started + started2) == Counter({u: 1 for u in eligible})  # the model ran each once
        assert llm_counts(store) == Counter({u: 1 for u in eligible})  # nothing described twice
        cur = {r["urn"]: r for r in store.db.query("SELECT * FROM current")}
        newest = {u: p.state_hash for u, p in read_world(path).places.items()}
        assert {u: r["state_hash"] for u, r in cur.items()} == newest  # one current description, newest state
        assert {u for u, r in cur.items() if r["source"] == "llm"} == eligible
        assert not svc2.work() and svc2.run_cycle() is None  # nothing left
        assert store.consistency()["integrity"] == "ok"
    finally:
        llm.shutdown()
        store.close()


class NoDrainLLM(ScriptedLLM):
    """A model service that cannot drain (as a third-party one might not)."""

    CAN_DRAIN = False


def test_a_service_that_cannot_drain_is_cancelled_instead_and_its_places_still_wait(tmp_path):
    items, path, store = a_world_on_disk(tmp_path, 6, 0)
    llm = NoDrainLLM(concurrency=2, token_delay_s=0.05)
    started: list[str] = []
    box: dict = {}
    try:
        svc = box["svc"] = service(store, llm, path, tmp_path, observer=drain_on_start(2, box, started))
        svc.start()
        svc.run_forever()
        rep = svc.cycles[0]
        assert rep.status == "cancelled" and rep.llm == 0
        rows = store.batch_results(rep.batch_id)
        assert {r["reason"] for r in rows} == {"cancelled"}
        assert svc.deferred == {d["urn"] for d in items}  # all wait for the model after a restart
        assert "cycle 1 cancelled" in svc.stop_summary()
    finally:
        llm.shutdown()
        store.close()


def test_a_place_whose_candidates_were_partly_drained_waits_whole_and_later_gets_its_own_text(tmp_path):
    """Best of 2: place A's two candidates ran, place B's first ran and its second was drained. B
    waits for the model as a whole (a best of 1 would not be the text B gets alone) and its later
    text is the one B gets in a batch of its own."""
    items, path, store = a_world_on_disk(tmp_path, 4, 0)
    llm = ScriptedLLM(concurrency=3, token_delay_s=0.05)
    started: list[str] = []
    box: dict = {}
    try:
        svc = box["svc"] = service(store, llm, path, tmp_path, observer=drain_on_start(3, box, started),
                                   candidates=2)
        svc.start()
        svc.run_forever()
        rep = svc.cycles[0]
        a, b = started[0], started[2]
        assert started[1] == a and b != a  # A's two candidates and B's first were decoding
        rows = {r["urn"]: r for r in store.batch_results(rep.batch_id)}
        assert rows[a]["source"] == "llm"
        assert rows[b]["source"] == "template" and rows[b]["reason"] == "deferred"
        assert rep.drained == 3 and b in svc.deferred
        svc2 = service(store, llm, path, tmp_path, candidates=2)
        svc2.start()
        svc2.run_cycle()
        got = {r["urn"]: r["text"] for r in store.db.query("SELECT urn, text FROM current")}
        # B alone, in a fresh database, with the same model and prompt: the same text.
        alone_store = Store(tmp_path / "alone.db")
        try:
            b_place = read_world(path).places[b]
            BatchRunner(alone_store, svc2.cfg, svc2.prompts, llm, prompt_name=WHOLE).run([b_place], "alone")
            alone = {r["urn"]: r for r in alone_store.db.query("SELECT urn, text, source FROM current")}
        finally:
            alone_store.close()
        assert alone[b]["source"] == "llm" and got[b] == alone[b]["text"]
    finally:
        llm.shutdown()
        store.close()


def test_a_place_whose_sentences_were_partly_drained_waits_whole_and_later_gets_its_own_text(tmp_path):
    """The per-sentence default: two of a place's three sentence requests were decoding, the third
    was drained: the place waits for the model as a whole, and its later text is its own."""
    items, path, store = a_world_on_disk(tmp_path, 3, 0)
    llm = ScriptedLLM(concurrency=2, token_delay_s=0.05)
    started: list[str] = []
    box: dict = {}
    try:
        svc = box["svc"] = service(store, llm, path, tmp_path, observer=drain_on_start(2, box, started),
                                   prompt_name="texture")
        assert svc.prompts.get("texture").per_sentence
        svc.start()
        svc.run_forever()
        rep = svc.cycles[0]
        a = started[0]
        assert started == [a, a]  # sentences 1 and 2 of one place were decoding
        rows = {r["urn"]: r for r in store.batch_results(rep.batch_id)}
        assert all(r["source"] == "template" and r["reason"] == "deferred" for r in rows.values())
        assert "drained" in rows[a]["detail"] and rep.drained == 3 and a in svc.deferred
        svc2 = service(store, llm, path, tmp_path, prompt_name="texture")
        svc2.start()
        svc2.run_cycle()
        got = {r["urn"]: r["text"] for r in store.db.query("SELECT urn, text FROM current")}
        alone_store = Store(tmp_path / "alone.db")
        try:
            BatchRunner(alone_store, svc2.cfg, svc2.prompts, llm).run([read_world(path).places[a]], "alone")
            alone = {r["urn"]: r for r in alone_store.db.query("SELECT urn, text, source FROM current")}
        finally:
            alone_store.close()
        assert alone[a]["source"] == "llm" and got[a] == alone[a]["text"]
    finally:
        llm.shutdown()
        store.close()


def test_stop_with_drain_before_a_cycle_starts_runs_no_cycle(tmp_path):
    items, path, store = a_world_on_disk(tmp_path, 3, 1)
    llm = ScriptedLLM(concurrency=2)
    try:
        svc = service(store, llm, path, tmp_path)
        svc.start()
        svc.stop(drain=True)
        svc.run_forever()
        assert svc.cycles == [] and store.db.execute("SELECT count(*) FROM results").fetchone()[0] == 0
        assert svc.stop_summary() == "no cycle was running; 4 place(s) wait for the next start"
    finally:
        llm.shutdown()
        store.close()


# --- the real command ---------------------------------------------------------------------------

def first_model_result(db: Path, stop: threading.Event, timeout: float = 120.0) -> bool:
    """Wait (bounded) until the service's database holds a model result: a place has finished, the
    others of the first lanes are decoding. Reads through its own read-only connection."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not stop.is_set():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                if con.execute("SELECT 1 FROM results WHERE source='llm' LIMIT 1").fetchone():
                    return True
            finally:
                con.close()
        except sqlite3.OperationalError:  # not created yet
            pass
        stop.wait(0.02)
    return False


def test_sigterm_drains_the_running_cycle_exits_0_and_the_restart_runs_the_rest_once(tmp_path):
    """`python -m cli serve` with the scripted model: SIGTERM while the model decodes; the
    process stores the cycle (finished places by the model, the others with their template) and
    exits 0 saying how many of each; a restart describes the rest, each place by the model once."""
    items = a_world(24, 8)
    path = tmp_path / "world.jsonl"
    write_jsonl(path, items)
    db, box = tmp_path / "t.db", tmp_path / "out.jsonl"
    env = dict(os.environ, TEXTURE_SCRIPTED="1", TEXTURE_SCRIPTED_DELAY="0.05", TEXTURE_NO_FASTPATH="1",
               FLUX_LLM_CONCURRENCY="4")
    cmd = [sys.executable, "-m", "cli", "serve", "--db", str(db), "--world", str(path), "--outbox", str(box),
           "--min-s", "0", "--max-s", "0", "--max-llm", "100"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines = StderrLines(proc)
    try:
        lines.until(lambda x: x.startswith("starting cycle 1: 32 place(s), 24 to the model"))
        assert first_model_result(db, threading.Event()), "no model result within the bound"
        proc.terminate()
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    log = lines.rest()
    assert "SIGTERM: finishing the places in flight, starting no more" in log
    summary = [x for x in log.splitlines() if x.startswith("stopped by signal: cycle 1 drained: ")]
    assert len(summary) == 1, log
    m = re.search(r"drained: (\d+) place\(s\) the model had started finished \((\d+) stored as model text\), "
                  r"(\d+) not started got their template and wait for the model; (\d+) place\(s\) wait", summary[0])
    ran, llm_n, left, waiting = map(int, m.groups())
    assert ran + left == 24 and left >= 1 and ran >= 1 and waiting == left

    s = Store(db)
    try:
        b = s.db.execute("SELECT id, status FROM batches").fetchall()
        assert len(b) == 1 and b[0][1] == "drained"
        rows = s.batch_results(b[0][0])
        assert len(rows) == 32  # every place of the cycle got a description
        assert sum(r["source"] == "llm" for r in rows) == llm_n
        assert sum(r["reason"] == "deferred" for r in rows) == left
    finally:
        s.close()
    first_box = box.read_text(encoding="ascii").splitlines()
    assert len(first_box) == 32  # the drained cycle was handed back

    # The restart: one cycle, the places left, each by the model.
    out = subprocess.run(cmd + ["--cycles", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"starting cycle 1: {left} place(s), {left} to the model" in out.stderr
    s = Store(db)
    try:
        eligible = {d["urn"] for d in items[:24]}
        counts = Counter(r["urn"] for r in s.db.query("SELECT urn FROM results WHERE source='llm'"))
        assert counts == Counter({u: 1 for u in eligible})  # each by the model, none twice
        cur = {r["urn"]: r for r in s.db.query("SELECT * FROM current")}
        newest = {u: p.state_hash for u, p in read_world(path).places.items()}
        assert {u: r["state_hash"] for u, r in cur.items()} == newest
        assert {u for u, r in cur.items() if r["source"] == "llm"} == eligible  # nothing left waiting
        assert s.integrity() == "ok"
    finally:
        s.close()
    recs = [json.loads(x) for x in box.read_text(encoding="ascii").splitlines()]
    cursors = [r["cursor"] for r in recs]
    assert len(cursors) == len(set(cursors)) == 32 + left
