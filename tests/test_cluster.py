"""A batch's model work on a local Ray instance (engine.cluster): the protocol with scripted-model
actors, re-queue when an actor's process is killed (exactly once, every place stored once), refusal
of workers without the model, cancel, and the real default model on two actors giving the same
bytes as the local engine. One module-scoped Ray instance with 2 CPUs serves every test."""

from __future__ import annotations

import os
import signal
import threading

import pytest

ray = pytest.importorskip(
    "ray", reason="the cluster tests need Ray, the [cluster] extra: python3 -m pip install -e '.[test,cluster]'")

from conftest import event, real_model_path  # noqa: E402
from engine.cluster import ClusterError, ClusterLLM, WorkerSpec, _package_root  # noqa: E402
from engine.config import load_config  # noqa: E402
from engine.dispatch import BatchRunner  # noqa: E402
from engine.llm.events import BatchFinished, PlaceFinished, PlaceStarted  # noqa: E402
from engine.llm.scripted import ScriptedLLM, scripted_text  # noqa: E402
from engine.store import Store  # noqa: E402
from engine.world import parse_place  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    # address="local": always a fresh instance of our own, never somebody's running cluster.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": _package_root()}})
    yield ray
    ray.shutdown()


def scripted(n: int, delay: float = 0.0, concurrency: int = 2, **kw) -> ClusterLLM:
    spec = WorkerSpec("scripted", concurrency=concurrency, scripted={"token_delay_s": delay, **kw})
    # cpus_per_worker=0: scripted actors need no core of their own (3 of them fit on 2 CPUs).
    return ClusterLLM(spec, workers=n, cpus_per_worker=0).start()


def requests(n: int, prefix: str = "k") -> list[dict]:
    return [{"key": f"{prefix}{i}", "prompt": f"Describe place {i}.", "seed": 1000 + 7919 * i, "max_tokens": 40,
             "temperature": 0.7, "deadline_s": 60.0} for i in range(n)]


class Recorder:
    def __init__(self):
        self.events: list = []
        self.lock = threading.Lock()

    def __call__(self, ev):
        with self.lock:
            self.events.append(ev)

    def of(self, cls):
        with self.lock:
            return [e for e in self.events if isinstance(e, cls)]


def test_protocol_every_place_once_same_text_as_local(local_ray):
    llm = scripted(2, concurrency=2)
    try:
        assert llm.ready() and llm.model_id == "scripted"
        assert llm.size() == {"nodes": 1, "workers": 2, "streams": 4, "lost": 0}
        rec = Recorder()
        reqs = requests(12)
        job = llm.submit(reqs, rec)
        assert job.wait(120)
        fin = rec.of(PlaceFinished)
        assert sorted(e.key for e in fin) == sorted(r["key"] for r in reqs)  # one result per place
        local = {r["key"]: scripted_text(r["prompt"], r["seed"]) for r in reqs}
        assert {e.key: e.text for e in fin} == local
        assert all(e.reason is None and e.n_tokens > 0 and e.latency_s is not None for e in fin)
        workers = {e.worker for e in fin}
        assert workers == {w.label for w in llm.workers} and len(workers) == 2  # both did work
        started = rec.of(PlaceStarted)
        assert {e.worker for e in started} == workers
        assert all(0 <= e.stream < 4 for e in started + fin)  # lane = worker * streams + stream
        # a lane is never given two places at once
        busy: dict = {}
        for e in rec.events:
            if isinstance(e, PlaceStarted):
                assert e.stream not in busy, e
                busy[e.stream] = e.key
            elif isinstance(e, PlaceFinished):
                assert busy.pop(e.stream) == e.key
        (done,) = rec.of(BatchFinished)
        assert rec.events[-1] is done
        assert sum(done.metrics["per_worker"].values()) == 12 and done.metrics["requeued"] == 0
    finally:
        llm.shutdown()


def _world(n: int) -> list:
    out = []
    for i in range(n):
        d = {"urn": f"urn:flux:place:ray:p{i:02d}", "name": f"Place {i}",
             "description": {"base": f"A stone village number {i} sits beside a slow river. Dogs bark at strangers."},
             "weather": {"temperature": 3 + i, "conditions": ["fog", "light rain", "snow", "clear"][i % 4], "windSpeed": 5 + i},
             "resources": [{"type": "timber", "abundance": 0.8}, {"type": "fresh water", "abundance": 0.2}],
             "events": [event(0.85 + 0.01 * (i % 5), "long", "flood", f"The river burst its banks near house {i}.")]}
        out.append(parse_place(d))
    return out


def _stored(db_path) -> list[dict]:
    s = Store(db_path)
    return [dict(r) for r in s.db.query("SELECT urn, source, reason, text, llm_text, model_id, stream FROM results")]


def test_batch_on_the_cluster_stores_the_same_results_as_a_local_batch(local_ray, tmp_path):
    cfg = load_config(env={})
    places = _world(10)
    llm = scripted(2)
    try:
        from engine.prompts import PromptLibrary

        lib = PromptLibrary(tmp_path / "prompts")
        BatchRunner(Store(tmp_path / "local2.db"), cfg, lib, ScriptedLLM(concurrency=4)).run(places, "local")
        s = BatchRunner(Store(tmp_path / "cluster.db"), cfg, lib, llm).run(places, "cluster")
    finally:
        llm.shutdown()
    # (the scripted model's leads can repeat across a place's sentences: the gate refuses a loop)
    assert s.status == "done" and s.by_source.get("llm", 0) >= 8 and sum(s.by_source.values()) == 10
    here = {r["urn"]: (r["source"], r["text"]) for r in _stored(tmp_path / "local2.db")}
    there = _stored(tmp_path / "cluster.db")
    assert len(there) == 10 and {r["urn"]: (r["source"], r["text"]) for r in there} == here


def test_killed_actor_places_are_requeued_once_and_stored_once(local_ray, tmp_path):
    # ~20 words at 30 ms each: a place takes ~0.6 s, so the victim is mid-work when killed.
    llm = scripted(3, delay=0.03, concurrency=2)
    victim = llm.workers[1]
    seen_victim = threading.Event()
    rec = Recorder()

    def observer(ev):
        rec(ev)
        if isinstance(ev, PlaceStarted) and ev.worker == victim.label:
            seen_victim.set()

    cfg = load_config(env={})
    places = _world(18)
    from engine.prompts import PromptLibrary

    store_path = tmp_path / "kill.db"
    box = {}

    def run():  # a store's connection belongs to the thread that opened it
        runner = BatchRunner(Store(store_path), cfg, PromptLibrary(tmp_path / "prompts"), llm, observer=observer,
                             prompt_name="rewrite")  # one request a place: the test counts them
        box["s"] = runner.run(places, "kill")

    t = threading.Thread(target=run)
    try:
        t.start()
        assert seen_victim.wait(60)
        os.kill(victim.info["pid"], signal.SIGKILL)  # the actor's process, mid-work
        t.join(180)
        assert not t.is_alive()
        size_after = llm.size()
    finally:
        llm.shutdown()
    s = box["s"]
    assert s.status == "done" and s.places == 18 and s.by_source == {"llm": 18}, s
    rows = _stored(store_path)
    assert sorted(r["urn"] for r in rows) == sorted(p.urn for p in places)  # every place, once
    fin = rec.of(PlaceFinished)
    assert len(fin) == 18 and len({e.key for e in fin}) == 18
    (done,) = rec.of(BatchFinished)
    m = done.metrics
    assert m["requeued"] >= 1 and any(victim.label in x for x in m["lost_workers"]), m
    # the re-queued places were started on the victim, and finished on another worker
    on_victim = {e.key for e in rec.of(PlaceStarted) if e.worker == victim.label}
    by_key = {e.key: e for e in fin}
    requeued = [e.key for e in rec.of(PlaceStarted) if e.key in on_victim and e.worker != victim.label]
    assert len(requeued) == m["requeued"] and len(set(requeued)) == len(requeued)  # each exactly once
    assert all(by_key[k].worker != victim.label for k in requeued)
    # the same places through a local batch with the scripted model: same text wherever it ran
    from engine.prompts import PromptLibrary

    BatchRunner(Store(tmp_path / "local.db"), cfg, PromptLibrary(tmp_path / "prompts"),
                ScriptedLLM(concurrency=2), prompt_name="rewrite").run(places, "local")
    texts = {r["urn"]: r["llm_text"] for r in _stored(tmp_path / "local.db")}
    assert len(texts) == 18 and all(texts.values())
    assert {r["urn"]: r["llm_text"] for r in rows} == texts  # same text wherever it ran
    assert size_after == {"nodes": 1, "workers": 2, "streams": 4, "lost": 1}


def test_cancel_finishes_every_place(local_ray):
    llm = scripted(2, delay=0.05, concurrency=2)
    try:
        rec = Recorder()
        reqs = requests(10)
        first = threading.Event()

        def on(ev):
            rec(ev)
            if isinstance(ev, PlaceStarted):
                first.set()

        job = llm.submit(reqs, on)
        assert first.wait(60)
        job.cancel()
        assert job.wait(60)
        fin = rec.of(PlaceFinished)
        assert sorted(e.key for e in fin) == sorted(r["key"] for r in reqs)
        assert sum(e.reason == "cancelled" for e in fin) >= 6  # at most the 4 running could finish
        assert isinstance(rec.events[-1], BatchFinished)
    finally:
        llm.shutdown()


def test_drain_sends_no_new_place_and_the_places_in_flight_finish(local_ray):
    llm = scripted(2, delay=0.02, concurrency=2)
    try:
        rec = Recorder()
        reqs = requests(10)
        holder: dict = {}
        assert llm.CAN_DRAIN

        def on(ev):
            rec(ev)
            # On the scheduler's thread as it sends the 4th place (every slot busy): drain.
            if isinstance(ev, PlaceStarted) and len(rec.of(PlaceStarted)) == 4:
                llm.drain(holder["job"])

        llm.pause()  # so the job cannot start before ``holder`` knows it
        job = holder["job"] = llm.submit(reqs, on)
        llm.resume()
        assert job.wait(60)
        started = [e.key for e in rec.of(PlaceStarted)]
        fin = {e.key: e for e in rec.of(PlaceFinished)}
        assert len(started) == 4 and sorted(fin) == sorted(r["key"] for r in reqs)
        assert all(fin[k].reason is None and fin[k].text for k in started)  # in flight: finished
        assert {fin[k].reason for k in fin if k not in started} == {"drained"}
        assert isinstance(rec.events[-1], BatchFinished)
    finally:
        llm.shutdown()


def test_a_resume_that_overtakes_its_pause_leaves_the_worker_running():
    """Ray keeps no order between calls of a threaded actor: the driver's resume can reach a worker
    before the pause sent just before it. The worker applies the newer state and ignores the older."""
    from dataclasses import asdict

    from engine.cluster import _Worker

    w = _Worker(asdict(WorkerSpec("scripted", concurrency=2, scripted={"model_id": "scripted"})), 0)
    try:
        assert w.set_paused(False, 2) is True   # the resume, arrived first
        assert w.set_paused(True, 1) is False   # the pause it overtook: stale, ignored
        assert not w.engine._paused.is_set()
        res = w.generate(requests(1)[0])        # would wait for ever on a paused engine
        assert res["reason"] is None and res["text"]
        assert w.set_paused(True, 3) is True and w.engine._paused.is_set()
        assert w.set_paused(False, 4) is True and not w.engine._paused.is_set()
    finally:
        w.shutdown()


def test_worker_without_the_model_or_with_another_model_is_refused_before_the_batch(local_ray, tmp_path):
    ok = WorkerSpec("scripted", concurrency=2, scripted={"model_id": "scripted"})
    other = WorkerSpec("scripted", concurrency=2, scripted={"model_id": "another-model"})
    missing = WorkerSpec("model", model="no-such-model", concurrency=2)
    llm = ClusterLLM([ok, other, missing], cpus_per_worker=0).start()
    try:
        assert [w.label.split("@")[0] for w in llm.workers] == ["w0"]
        assert len(llm.refused) == 2
        assert "w1" in llm.refused[0] and "another-model" in llm.refused[0] and "uses scripted" in llm.refused[0]
        assert "w2" in llm.refused[1] and "not available" in llm.refused[1] and "texture models pull" in llm.refused[1]
        assert "no-such-model" in llm.refused[1]
        job = llm.submit(requests(3), None)
        assert job.wait(60) and all(r.worker.startswith("w0@") for r in job.results.values())
    finally:
        llm.shutdown()
    with pytest.raises(ClusterError, match="no cluster worker can run this batch.*not available"):
        ClusterLLM([missing], cpus_per_worker=0).start()


@pytest.mark.model
def test_real_model_on_two_actors_is_byte_identical_to_the_local_engine(local_ray, tmp_path):
    if real_model_path() is None:
        pytest.skip("default model not imported (texture models pull failed or TEXTURE_TEST_NO_PULL set)")
    # 8 premium places; a 40-token budget keeps the test's time modest on 2 shared cores (the
    # texts' identity does not depend on the budget), no deadline so load cannot make a difference.
    cfg = load_config(env={"FLUX_LLM_BUDGET_PREMIUM": "40", "FLUX_LLM_TIMEOUT": "600000", "FLUX_LLM_ENHANCE": "sentence"})
    places = _world(8)
    from engine.llm.service import start_service
    from engine.policy import decide
    from engine.prompts import PromptLibrary

    assert all(decide(p, cfg).tier == "premium" and decide(p, cfg).eligible for p in places)
    lib = PromptLibrary(tmp_path / "prompts")
    local = start_service(cfg)
    assert local.wait_ready(600), local.unavailable_reason()
    try:
        s1 = BatchRunner(Store(tmp_path / "local.db"), cfg, lib, local).run(places, "local")
    finally:
        local.shutdown()
    llm = ClusterLLM(WorkerSpec("model", concurrency=4), workers=2, cpus_per_worker=1).start()
    try:
        assert llm.size()["workers"] == 2 and not llm.refused
        rec = Recorder()
        s2 = BatchRunner(Store(tmp_path / "cluster.db"), cfg, lib, llm, observer=rec).run(places, "cluster")
    finally:
        llm.shutdown()
    assert s1.metrics["llm_places"] == s2.metrics["llm_places"] == 8
    a = {r["urn"]: r for r in _stored(tmp_path / "local.db")}
    b = {r["urn"]: r for r in _stored(tmp_path / "cluster.db")}
    assert set(a) == set(b) == {p.urn for p in places}
    for urn in a:
        assert a[urn]["llm_text"] is not None, a[urn]
        assert b[urn]["llm_text"] == a[urn]["llm_text"], urn  # byte-identical raw model output
        assert (b[urn]["source"], b[urn]["text"], b[urn]["model_id"]) == (a[urn]["source"], a[urn]["text"], a[urn]["model_id"])
    assert len({e.worker for e in rec.of(PlaceFinished)}) == 2  # both actors described places


@pytest.mark.anyio
async def test_console_batch_on_the_cluster_shows_workers_and_stores_them(local_ray, tmp_path, monkeypatch):
    from fakes import finish_batch, isolate, make_app, ready, rendered_text, wait_until
    from engine.config import Config

    home = isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")  # the cluster's actors run the scripted model
    monkeypatch.setenv("TEXTURE_SCRIPTED_DELAY", "0.01")
    app = make_app(home, cfg=Config(cluster="auto", cluster_workers=2, concurrency=2))
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await ready(pilot, app)
            assert app.start_batch("all")  # FLUX_CLUSTER=auto: the cluster by default
            await finish_batch(pilot, app, timeout=120)
            assert app.cluster_llm is not None and app.cluster_llm.size()["workers"] == 2
            assert "cluster 1 node, 2 workers × 2 streams" in rendered_text(app.query_one("#status"))
            rows = [r for r in app.state.rows.values() if r.source == "llm"]
            assert rows and {r.worker.split("@")[0] for r in rows} <= {"w0", "w1"}
            assert any(lane.worker for lane in app.state.lanes)
    finally:
        if app.cluster_llm is not None:
            app.cluster_llm.shutdown()
    s = Store(home / "texture.db")
    llm_rows = [dict(r) for r in s.db.query("SELECT worker FROM results WHERE source = 'llm'")]
    assert llm_rows and all(r["worker"] and r["worker"].startswith(("w0@", "w1@")) for r in llm_rows)
    assert not [r for r in s.db.query("SELECT worker FROM results WHERE reason = 'tier' AND worker IS NOT NULL")]
