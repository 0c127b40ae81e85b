"""One batch through the dispatcher with the scripted model: LLM results stored with everything
needed to reproduce them, every fallback reason, the cache, and the export."""

from __future__ import annotations

import json

import pytest

from cli import main as cli
from engine.config import Config, load_config
from engine.dispatch import BatchDone, BatchPlanned, BatchRunner, ResultStored, base_hash
from engine.llm.scripted import scripted_text
from engine.policy import decide
from engine.prompts import PromptLibrary
from engine.store import Store
from engine.validate import clean_output

U = "urn:flux:place:testland:"
ELIGIBLE = [U + "light-medium", U + "full-long", U + "premium-permanent"]


@pytest.fixture
def prompts(tmp_path):
    return PromptLibrary(tmp_path / "prompts")


class CountingLLM:
    """Wraps a service and counts submitted requests (to prove the model was skipped)."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.submitted: list[str] = []

    def ready(self):
        return self.inner.ready()

    def unavailable_reason(self):
        return self.inner.unavailable_reason()

    def deadline_for(self, budget):
        return self.inner.deadline_for(budget)

    def submit(self, requests, on_event):
        self.submitted += [r["key"] for r in requests]
        return self.inner.submit(requests, on_event)


# These tests script whole texts per place, so they run the whole-text rewrite prompt (a shipped
# alternative); the per-sentence default (engine.compose) is tested in tests/test_compose.py.
WHOLE = "rewrite"


def run(store, cfg, prompts, llm, places, events=None):
    runner = BatchRunner(store, cfg, prompts, llm, observer=(events.append if events is not None else None),
                         prompt_name=WHOLE)
    summary = runner.run(places)
    rows = {r["urn"]: r for r in store.batch_results(summary.batch_id)}
    return summary, rows


# --- the happy path ---------------------------------------------------------------------------

def test_llm_results_are_stored_with_everything_to_reproduce_them(store, prompts, llms, small_places):
    cfg = Config()
    events: list = []
    summary, rows = run(store, cfg, prompts, llms(), small_places, events)
    assert summary.status == "done" and summary.places == 6
    assert summary.by_source == {"llm": 3, "template": 3}
    assert summary.reasons == {"tier": 1, "rule:immediate": 1, "rule:short": 1}
    assert summary.by_tier == {"template": 1, "light": 2, "full": 1, "premium": 2}
    assert summary.notice == ""

    prompt = prompts.get(WHOLE)
    by_urn = {p.urn: p for p in small_places}
    for urn in ELIGIBLE:
        r, p = rows[urn], by_urn[urn]
        d = decide(p, cfg)
        assert r["source"] == "llm" and r["reason"] is None
        assert r["prompt_version"] == prompt.version and r["model_id"] == "scripted"
        assert r["seed"] == p.seed and r["state_hash"] == p.state_hash and r["budget"] == d.budget == cfg.budgets[d.tier]
        assert r["base_hash"] == base_hash(p) and r["tier"] == d.tier
        assert r["text"] == clean_output(scripted_text(prompt.render(p, d.tier), p.seed))
        assert r["template_text"] and r["template_text"] != r["text"]
        assert r["tokens"] > 0 and r["latency_ms"] is not None and r["stream"] in range(4)
    for urn, reason in ((U + "quiet", "tier"), (U + "premium-immediate", "rule:immediate"), (U + "light-short", "rule:short")):
        assert rows[urn]["source"] == "template" and rows[urn]["reason"] == reason and rows[urn]["text"] == rows[urn]["template_text"]

    # The prompt version is recorded, the batch is finished, current points at the results.
    assert store.db["prompt_versions"].get(prompt.version)["text"] == prompt.text
    b = store.batches()[0]
    assert b["status"] == "done" and b["prompt_version"] == prompt.version and b["model_id"] == "scripted"
    assert {r["urn"]: r["text"] for r in store.export_rows()} == {u: r["text"] for u, r in rows.items()}

    # Observers see a plan, every stored result, and the end.
    planned = [e for e in events if isinstance(e, BatchPlanned)]
    assert len(planned) == 1 and {i.urn for i in planned[0].items if i.eligible} == set(ELIGIBLE)
    assert len([e for e in events if isinstance(e, ResultStored)]) == 6
    assert isinstance(events[-1], BatchDone)


def test_same_place_same_text_alone_or_in_a_batch(tmp_path, prompts, llms, small_places):
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    _, alone = run(a, Config(), prompts, llms(concurrency=1), [small_places[2]])
    _, batch = run(b, Config(), prompts, llms(concurrency=4), small_places[::-1])
    assert alone[U + "full-long"]["text"] == batch[U + "full-long"]["text"]
    a.close(), b.close()


# --- fallbacks --------------------------------------------------------------------------------

def test_scripted_error_falls_back_to_template_with_reason_error(store, prompts, llms, small_places):
    llm = llms(script={U + "full-long": {"error": "the model fell over"}})
    summary, rows = run(store, Config(), prompts, llm, small_places)
    r = rows[U + "full-long"]
    assert r["source"] == "template" and r["reason"] == "error" and r["detail"] == "the model fell over"
    assert r["text"] == r["template_text"] and r["model_id"] == "scripted" and r["budget"] == 120
    assert rows[U + "light-medium"]["source"] == "llm"
    assert summary.reasons["error"] == 1


def test_timeout_falls_back_with_reason_timeout(store, prompts, llms, small_places):
    slow = U + "premium-permanent"
    # 300 ms per token for the slow place, a 500 ms deadline for every place (FLUX_LLM_TIMEOUT):
    # the slow one times out after two tokens; the fast one needs microseconds.
    llm = llms(concurrency=1, script={slow: {"delay": 0.3}})
    cfg = load_config(env={"FLUX_LLM_TIMEOUT": "500"})
    places = [p for p in small_places if p.urn in (U + "light-medium", slow)]
    summary, rows = run(store, cfg, prompts, llm, places)
    assert rows[slow]["source"] == "template" and rows[slow]["reason"] == "timeout"
    assert "timeout" in rows[slow]["detail"]
    assert rows[U + "light-medium"]["source"] == "llm"
    assert summary.reasons == {"timeout": 1}
    assert "500 ms" in summary.deadline


def test_invalid_output_falls_back_with_invalid_reason(store, prompts, llms, small_places):
    bad = "The mill stands [bold]proudly[/bold] beside the slow river while the rain falls."
    llm = llms(script={U + "light-medium": {"text": bad}, U + "full-long": {"text": "Too short."}})
    summary, rows = run(store, Config(), prompts, llm, small_places)
    r = rows[U + "light-medium"]
    assert r["source"] == "template" and r["reason"] == "invalid:markup"
    assert r["llm_text"] == bad and r["text"] == r["template_text"]  # the rejected text is kept for review
    assert rows[U + "full-long"]["reason"] == "invalid:too_short"
    assert rows[U + "premium-permanent"]["source"] == "llm"
    assert summary.reasons["invalid:markup"] == 1 and summary.reasons["invalid:too_short"] == 1


def test_llm_disabled_gives_template_only_with_a_notice(store, prompts, llms, small_places):
    llm = CountingLLM(llms())
    cfg = load_config(env={"FLUX_LLM_ENABLED": "false"})
    summary, rows = run(store, cfg, prompts, llm, small_places)
    assert llm.submitted == []
    assert summary.by_source == {"template": 6}
    assert "disabled" in summary.notice.lower() and "FLUX_LLM_ENABLED" in summary.notice
    assert {rows[u]["reason"] for u in ELIGIBLE} == {"disabled"}
    assert rows[U + "quiet"]["reason"] == "tier"
    assert store.batches()[0]["notice"] == summary.notice


class Unavailable:
    model_id = None

    def ready(self):
        return False

    def unavailable_reason(self):
        return "no model imported"

    def deadline_for(self, budget):  # pragma: no cover - never asked
        raise AssertionError

    def submit(self, requests, on_event):  # pragma: no cover - never asked
        raise AssertionError("must not submit to an unavailable model")


@pytest.mark.parametrize("llm", [None, Unavailable()], ids=["no-service", "not-ready"])
def test_no_llm_service_gives_model_unavailable(store, prompts, small_places, llm):
    summary, rows = run(store, Config(), prompts, llm, small_places)
    assert summary.by_source == {"template": 6}
    assert {rows[u]["reason"] for u in ELIGIBLE} == {"model_unavailable"}
    assert "unavailable" in summary.notice.lower()
    if llm is not None:
        assert "no model imported" in summary.notice


def test_no_usable_prompt_gives_prompt_error(store, tmp_path, llms, small_places):
    empty = PromptLibrary(tmp_path / "empty", install_defaults=False)
    llm = CountingLLM(llms())
    summary, rows = run(store, Config(), empty, llm, small_places)
    assert llm.submitted == []
    assert {rows[u]["reason"] for u in ELIGIBLE} == {"prompt_error"}
    assert "prompt" in summary.notice.lower()


def test_a_broken_observer_never_loses_a_batch(store, prompts, llms, small_places):
    def observer(ev):
        raise RuntimeError("observer bug")

    summary = BatchRunner(store, Config(), prompts, llms(), observer=observer, prompt_name=WHOLE).run(small_places)
    assert summary.status == "done" and summary.by_source == {"llm": 3, "template": 3}


def test_cancel_keeps_finished_results_and_marks_the_rest(store, prompts, llms, small_places):
    llm = llms()
    llm.pause()  # nothing is generated until the cancel is seen
    runner = BatchRunner(store, Config(), prompts, llm, prompt_name=WHOLE)
    runner.observer = lambda ev: runner.cancel() if isinstance(ev, BatchPlanned) else None
    summary = runner.run(small_places)
    rows = {r["urn"]: r for r in store.batch_results(summary.batch_id)}
    assert summary.status == "cancelled" and len(rows) == 6
    assert {rows[u]["reason"] for u in ELIGIBLE} == {"cancelled"}
    assert store.batches()[0]["status"] == "cancelled"


# --- the cache --------------------------------------------------------------------------------

def test_second_identical_batch_skips_the_model(store, prompts, llms, small_places):
    llm = CountingLLM(llms())
    _, first = run(store, Config(), prompts, llm, small_places)
    assert sorted(llm.submitted) == sorted(ELIGIBLE)
    llm.submitted.clear()
    events: list = []
    summary, second = run(store, Config(), prompts, llm, small_places, events)
    assert llm.submitted == []
    planned = {i.urn: i for i in next(e for e in events if isinstance(e, BatchPlanned)).items}
    for u in ELIGIBLE:
        assert planned[u].reason == "cached" and not planned[u].eligible
        r = second[u]
        assert r["source"] == "llm" and r["reason"] is None and r["detail"].startswith("cached from result")
        assert r["text"] == first[u]["text"]
        assert (r["prompt_version"], r["model_id"], r["seed"], r["budget"]) == (
            first[u]["prompt_version"], first[u]["model_id"], first[u]["seed"], first[u]["budget"])
    assert summary.by_source == {"llm": 3, "template": 3}


def test_cache_misses_when_the_key_changes(store, prompts, llms, small_places, tmp_path):
    llm = CountingLLM(llms())
    run(store, Config(), prompts, llm, small_places)
    llm.submitted.clear()
    # Another budget for the full tier: only that place goes back to the model.
    run(store, Config(budgets={"light": 80, "full": 100, "premium": 150}), prompts, llm, small_places)
    assert llm.submitted == [U + "full-long"]
    llm.submitted.clear()
    # Another prompt version: everything eligible goes back to the model.
    (prompts.folder / f"{WHOLE}.prompt").write_text("Describe ${name}: ${base} ${weather}.", encoding="utf-8")
    prompts.reload_all()
    run(store, Config(), prompts, llm, small_places)
    assert sorted(llm.submitted) == sorted(ELIGIBLE)


def test_failed_outputs_are_not_cached(store, prompts, llms, small_places):
    llm = CountingLLM(llms(script={U + "full-long": {"error": "boom"}}))
    run(store, Config(), prompts, llm, small_places)
    llm.submitted.clear()
    run(store, Config(), prompts, llm, small_places)
    assert llm.submitted == [U + "full-long"]


def test_cached_text_is_the_accepted_text(store, prompts, llms, small_places):
    four = "The mist gathers over the old stones. Bells mark the hour. Travellers speak of smoke. Gulls cry by the river."
    llm = llms(script={U + "full-long": {"text": four}})
    cfg = Config(quality_gate=False)  # a text the quality gate (engine.quality) would refuse: only the cache is tested
    _, first = run(store, cfg, prompts, llm, small_places)
    assert first[U + "full-long"]["text"] == "The mist gathers over the old stones. Bells mark the hour. Travellers speak of smoke."
    _, second = run(store, cfg, prompts, llm, small_places)
    assert second[U + "full-long"]["text"] == first[U + "full-long"]["text"]


# --- export after a batch ---------------------------------------------------------------------

def test_export_after_a_batch_lists_every_place(store, prompts, llms, small_places, tmp_path, capsys):
    _, rows = run(store, Config(), prompts, llms(), small_places)
    store.close()
    rc = cli.main(["export", "--db", str(tmp_path / "t.db")])
    out, err = capsys.readouterr()
    assert rc == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 6
    for line in lines:
        assert set(line) == {"urn", "text", "source", "state_hash", "updated_at", "quality"}
        r = rows[line["urn"]]
        assert (line["text"], line["source"], line["state_hash"]) == (r["text"], r["source"], r["state_hash"])
        assert isinstance(line["updated_at"], float)
    assert {line["source"] for line in lines} == {"llm", "template"}
