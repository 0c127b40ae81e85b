"""A/B comparison of prompt variants on a set of places (runs, re-runs, summaries) and stored runs."""

from __future__ import annotations

import difflib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import Config
from ..factcheck import FactReport, check_facts
from ..policy import decide
from ..prompts import Prompt, PromptError, compile_prompt
from ..store import Store, now
from ..templates import render_template
from ..validate import clean_output, validate_output
from ..world import Place, base_hash
from .common import RATINGS, WorkbenchError, _mean, _norm, _wb
from ..compose import compose_results, sentence_key, sentence_requests, shared_head
from .generate import Variant, _Fin, _generate, budget_for, cell_key, output_key
from .versions import prompt_text


@dataclass
class Cell:
    """One output: a place under one variant (one run)."""

    urn: str
    variant: str
    run_no: int
    text: str | None  # cleaned model text (None if the model gave none)
    raw_text: str | None
    reason: str | None  # None = valid; else a model fault or invalid:<code>
    detail: str
    latency_ms: float | None
    tokens: int
    facts: FactReport | None  # of ``text`` (None without text)
    prompt_version: str
    temperature: float
    budget: int
    seed: int
    state_hash: str
    tier: str
    eligible: bool
    output_key: str
    model_id: str | None
    output_id: int | None = None
    rating: str | None = None  # latest rating of an identical text for this place and state
    golden_match: bool | None = None  # identical to a golden text (None: no golden text for the place)
    golden_similarity: float | None = None
    rerun_identical: bool | None = None  # with runs=2: the second run's text equals this one
    name: str = ""  # the place's name
    base_hash: str = ""  # hash of the place's base description (part of the output key)

    @property
    def length(self) -> int:
        return len(self.text or "")

    @property
    def valid(self) -> bool:
        return self.reason is None and self.text is not None

    @property
    def fact_coverage(self) -> float | None:
        return self.facts.coverage if self.facts is not None else None

    def as_dict(self, texts: bool = True, facts: bool = False) -> dict:
        d = {"urn": self.urn, "variant": self.variant, "output_id": self.output_id, "length": self.length,
             "latency_ms": self.latency_ms, "tokens": self.tokens, "reason": self.reason,
             "fact_coverage": None if self.fact_coverage is None else round(self.fact_coverage, 4),
             "contradicted": self.facts.count("contradicted") if self.facts else 0,
             "rating": self.rating, "golden_match": self.golden_match,
             "golden_similarity": None if self.golden_similarity is None else round(self.golden_similarity, 4),
             "rerun_identical": self.rerun_identical, "output_key": self.output_key, "budget": self.budget,
             "temperature": self.temperature, "eligible": self.eligible, "tier": self.tier}
        if texts:
            d["text"] = self.text
        if facts and self.facts is not None:
            d["facts"] = self.facts.as_dict()
        return d


@dataclass
class VariantSummary:
    label: str
    prompt_name: str
    prompt_version: str
    temperature: float
    budget_override: int | None
    places: int
    valid: int
    fallback_rate: float  # share of cells production would not use (model fault or invalid)
    mean_length: float | None  # over valid outputs
    mean_latency_ms: float | None
    mean_tokens: float | None
    fact_coverage: float | None  # mean over valid outputs
    contradicted: int  # contradicted facts over valid outputs
    reasons: dict
    rated: int
    rating_score: float | None
    golden_places: int
    golden_match: float | None
    golden_similarity: float | None
    rerun_identical: bool | None = None  # None unless runs=2
    rerun_differs: list = field(default_factory=list)  # urns whose re-run text differed

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("fallback_rate", "mean_length", "mean_latency_ms", "mean_tokens", "fact_coverage", "rating_score",
                  "golden_match", "golden_similarity"):
            if d[k] is not None:
                d[k] = round(d[k], 4)
        return d


@dataclass
class CompareResult:
    run_id: int | None
    kind: str  # "compare" | "preview"
    variants: list[Variant]
    urns: list[str]
    cells: dict  # (variant label, urn) -> Cell (run 1)
    summaries: dict  # variant label -> VariantSummary
    runs: int = 1
    rerun: dict = field(default_factory=dict)  # (variant label, urn) -> Cell (run 2)
    model_id: str | None = None
    templates: dict = field(default_factory=dict)  # urn -> template text
    production: dict = field(default_factory=dict)  # urn -> (text, source, state_hash) | None
    status: str = "done"  # done | cancelled

    def cell(self, label: str, urn: str) -> Cell:
        return self.cells[(label, urn)]

    def row(self, urn: str) -> list[Cell]:
        return [self.cells[(v.label, urn)] for v in self.variants]

    def column(self, label: str) -> list[Cell]:
        return [self.cells[(label, u)] for u in self.urns]

    def as_dict(self, texts: bool = True, facts: bool = False) -> dict:
        """The JSON shape ``texture prompts compare --json`` prints."""
        return {
            "run_id": self.run_id, "kind": self.kind, "status": self.status, "model_id": self.model_id,
            "runs": self.runs, "places": list(self.urns),
            "variants": [v.as_dict() for v in self.variants],
            "summary": [self.summaries[v.label].as_dict() for v in self.variants],
            "matrix": [{"urn": u, "cells": {v.label: self.cells[(v.label, u)].as_dict(texts, facts) for v in self.variants}}
                       for u in self.urns],
        }


def _unique_labels(variants: list[Variant]) -> list[Variant]:
    seen: Counter = Counter()
    out = []
    for v in variants:
        label = v.label or v.prompt.version
        seen[label] += 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        out.append(v if label == v.label else Variant(label, v.prompt, v.temperature, v.budget_override))
    return out

def _rating_index(store: Store, urns: list[str]) -> tuple[dict, dict]:
    """(urn, state_hash, normalised text) -> latest rating; (urn, state_hash) -> golden texts."""
    latest: dict[tuple[str, str, str], str] = {}
    for r in _wb(store).ratings_of(urns):
        latest[(r["urn"], r["state_hash"] or "", _norm(r["text"]))] = r["rating"]
    golden: dict[tuple[str, str], list[str]] = {}
    for (urn, sh, text), rating in latest.items():
        if rating == "good":
            golden.setdefault((urn, sh), []).append(text)
    return latest, golden

def _production(store: Store, urns: list[str]) -> dict[str, tuple[str, str] | None]:
    out: dict[str, tuple[str, str] | None] = {u: None for u in urns}
    for r in _wb(store).current_of(urns):
        out[r["urn"]] = (r["text"], r["source"], r["state_hash"])
    return out


def compare(places: list[Place], variants: list[Variant], llm: Any, cfg: Config, store: Store, runs: int = 1, *,
            kind: str = "compare", label: str = "", deadline_s: float | str | None = None,
            on_event: Callable[[Any], None] | None = None, cancel: threading.Event | None = None,
            timeout_s: float | None = None, record: bool = True) -> CompareResult:
    """Run every place under every variant (``runs`` times, 1 or 2) and summarise per variant.

    All cells of one run go to the model as one job (they share its streams). Results are stored in
    ``wb_runs``/``wb_outputs`` (``record=False``: kept in memory only); production tables are never
    written. Blocks until done or ``cancel`` is set."""
    if runs not in (1, 2):
        raise WorkbenchError("runs must be 1 or 2")
    if not variants:
        raise WorkbenchError("nothing to compare: give at least one variant")
    seen: set[str] = set()
    places = [p for p in places if not (p.urn in seen or seen.add(p.urn))]
    if not places:
        raise WorkbenchError("nothing to compare: no places")
    variants = _unique_labels(list(variants))
    model_id = llm.model_id if (llm is not None and llm.ready()) else None
    urns = [p.urn for p in places]
    decisions = {p.urn: decide(p, cfg) for p in places}
    templates = {p.urn: render_template(p) for p in places}
    production = _production(store, urns)
    if record:
        # Every prompt text a run used is kept (ratings and stored runs point at it by version),
        # but in wb_prompt_texts: prompt_versions is "ever active", and a draft compared here
        # must neither appear in the history nor become the batches' "last good version".
        _wb(store).keep_prompt_texts([(v.prompt.version, v.prompt.name, v.prompt.text) for v in variants])

    plans = []  # (vi, variant, place, prompt_text, temperature, budget)
    parts: dict = {}  # (vi, urn) -> a per-sentence prompt's (sentence, prompt text) pairs
    for vi, v in enumerate(variants):
        temp = float(cfg.temperature if v.temperature is None else v.temperature)
        for p in places:
            d = decisions[p.urn]
            plans.append((vi, v, p, v.prompt.render(p, d.tier), temp, budget_for(p, cfg, v.budget_override)))
            if v.prompt.per_sentence:
                parts[(vi, p.urn)] = tuple(v.prompt.render_sentences(p, d.tier))

    def deadline(budget: int) -> float | None:
        if deadline_s == "auto":
            if cfg.timeout_ms:
                return cfg.timeout_ms / 1000.0
            return llm.deadline_for(budget) if llm is not None and llm.ready() else None
        return None if deadline_s is None else float(deadline_s)

    all_cells: dict[int, dict] = {}
    status = "done"
    for run_no in range(1, runs + 1):
        reqs = []
        for vi, v, p, text, temp, budget in plans:
            key = cell_key(run_no, vi, p.urn)
            if v.prompt.per_sentence:  # the batch's own requests (engine.compose): same texts as a batch
                reqs += sentence_requests(p, parts[(vi, p.urn)], key, p.seed, budget, temperature=temp,
                                          deadline_s=deadline(budget), repetition_penalty=cfg.repetition_penalty,
                                          keep_bias=cfg.keep_bias, head=v.prompt.head)
            else:
                reqs.append({"key": key, "prompt": text, "seed": p.seed, "max_tokens": budget,
                             "temperature": temp, "deadline_s": deadline(budget),
                             "head": shared_head(v.prompt.head, text)})
        fins = _generate(llm, reqs, on_event, cancel, timeout_s)
        cells = {}
        for vi, v, p, text, temp, budget in plans:
            if v.prompt.per_sentence:
                f = _composed(p, parts[(vi, p.urn)], cell_key(run_no, vi, p.urn), fins, cfg)
                reason, detail, cleaned = f.reason, f.detail, (f.text if f.reason is None else None)
            else:
                f = fins[cell_key(run_no, vi, p.urn)]
                reason, detail, cleaned = f.reason, f.detail, None
            if f.text is not None and not v.prompt.per_sentence:
                cleaned = clean_output(f.text)
                if reason is None:
                    bad = validate_output(cleaned, text)
                    if bad is not None:
                        reason = f"invalid:{bad}"
            d = decisions[p.urn]
            cells[(v.label, p.urn)] = Cell(
                p.urn, v.label, run_no, cleaned, f.text, reason, detail,
                round(f.latency_s * 1000, 1) if f.latency_s is not None else None, int(f.n_tokens or 0),
                check_facts(p, cleaned) if cleaned is not None else None, v.prompt.version, temp, budget, p.seed,
                p.state_hash, d.tier, d.eligible,
                output_key(p.urn, p.state_hash, base_hash(p), v.prompt.version, model_id, temp, budget, p.seed), model_id,
                name=p.name, base_hash=base_hash(p))
        all_cells[run_no] = cells
        if cancel is not None and cancel.is_set():
            status = "cancelled"
            break

    first = all_cells[1]
    second = all_cells.get(2, {})
    latest, golden = _rating_index(store, urns)
    by_urn = {p.urn: p for p in places}
    for (lab, urn), c in first.items():
        key = (urn, by_urn[urn].state_hash)
        if c.text is not None:
            c.rating = latest.get((urn, key[1], _norm(c.text)))
            gold = golden.get(key)
            if gold:
                c.golden_match = _norm(c.text) in gold
                c.golden_similarity = max(difflib.SequenceMatcher(None, _norm(c.text), g, autojunk=False).ratio()
                                          for g in gold)
        elif golden.get(key):
            c.golden_match, c.golden_similarity = False, 0.0
        if second:
            c.rerun_identical = second[(lab, urn)].text == c.text and second[(lab, urn)].reason == c.reason

    summaries = {v.label: _summarise(v, [first[(v.label, u)] for u in urns], cfg, golden, by_urn, bool(second))
                 for v in variants}
    result = CompareResult(None, kind, variants, urns, first, summaries, runs, second, model_id, templates, production,
                           status)
    if record:
        result.run_id = _store_run(store, result, cfg, label)
    return result


def _composed(p: Place, parts, key: str, fins: dict, cfg: Config) -> "_Fin":
    """One cell of a per-sentence prompt: its sentence results judged and composed as a batch
    composes them (engine.compose); the text is the composition when the model wrote any of it."""
    got = {j: fins[sentence_key(key, j)] for j in range(len(parts))}
    comp = compose_results(p, parts, {(j, 0): (f.text, f.reason, f.detail) for j, f in got.items()},
                           gate=cfg.quality_gate)
    lats = [f.latency_s for f in got.values() if f.latency_s is not None]
    # text: the composition when the model wrote any of it (the cell's text; None otherwise, with
    # the reason); the raw text the cell keeps: that composition, or the model's own sentences.
    text = comp.text if comp.model_sentences else (comp.raw or None)
    return _Fin(text, comp.reason, sum(int(f.n_tokens or 0) for f in got.values()),
                max(lats) if lats else None, comp.detail)


def _summarise(v: Variant, cells: list[Cell], cfg: Config, golden: dict, by_urn: dict, reran: bool) -> VariantSummary:
    ok = [c for c in cells if c.valid]
    rated = [c for c in cells if c.rating in RATINGS]
    gold_cells = [c for c in cells if golden.get((c.urn, by_urn[c.urn].state_hash))]
    return VariantSummary(
        v.label, v.prompt.name, v.prompt.version, float(cfg.temperature if v.temperature is None else v.temperature),
        v.budget_override, len(cells), len(ok), 1.0 - len(ok) / len(cells) if cells else 0.0,
        _mean([c.length for c in ok]), _mean([c.latency_ms for c in cells if c.latency_ms is not None]),
        _mean([c.tokens for c in cells if c.text is not None]), _mean([c.fact_coverage for c in ok]),
        sum(c.facts.count("contradicted") for c in ok if c.facts), dict(Counter(c.reason for c in cells if c.reason)),
        len(rated), _mean([1.0 if c.rating == "good" else 0.0 for c in rated]), len(gold_cells),
        _mean([1.0 if c.golden_match else 0.0 for c in gold_cells]),
        _mean([c.golden_similarity or 0.0 for c in gold_cells]),
        (all(c.rerun_identical for c in cells) if reran else None),
        [c.urn for c in cells if reran and not c.rerun_identical])


def _store_run(store: Store, res: CompareResult, cfg: Config, label: str) -> int:
    t = now()
    vindex = {v.label: i for i, v in enumerate(res.variants)}
    vprompt = {v.label: v.prompt.name for v in res.variants}
    run = {"kind": res.kind, "label": label, "variants": json.dumps([v.as_dict() for v in res.variants]),
           "urns": json.dumps(res.urns), "runs": res.runs, "model_id": res.model_id,
           "config": json.dumps(cfg.as_dict(), default=str),
           "summary": json.dumps([res.summaries[v.label].as_dict() for v in res.variants]), "status": res.status,
           "started_at": t, "finished_at": t}
    cells, outputs = [], []
    for by_key in (res.cells, res.rerun):
        for (lab, urn), c in by_key.items():
            prod = res.production.get(urn)
            cells.append(c)
            outputs.append({
                "run_no": c.run_no, "variant": lab, "variant_index": vindex[lab], "urn": urn,
                "name": c.name, "tier": c.tier, "eligible": int(c.eligible), "state_hash": c.state_hash,
                "base_hash": c.base_hash, "seed": c.seed, "prompt_name": vprompt[lab], "prompt_version": c.prompt_version,
                "temperature": c.temperature, "budget": c.budget, "model_id": c.model_id,
                "output_key": c.output_key, "text": c.text, "raw_text": c.raw_text, "reason": c.reason,
                "detail": c.detail, "latency_ms": c.latency_ms, "tokens": c.tokens, "length": c.length,
                "fact_coverage": c.fact_coverage,
                "facts": json.dumps(c.facts.as_dict(), ensure_ascii=False) if c.facts else None,
                "production_text": prod[0] if prod else None, "production_source": prod[1] if prod else None,
                "template_text": res.templates.get(urn), "created_at": t})
    rid, ids = _wb(store).add_run(run, outputs)
    for c, oid in zip(cells, ids):
        c.output_id = oid
    return rid


# --- stored runs ------------------------------------------------------------------------------

def runs_list(store: Store, limit: int = 50, kind: str | None = None) -> list[dict]:
    """Recent workbench runs (newest first): id, kind, label, variants, places, status, times."""
    out = []
    for r in _wb(store).runs(limit, kind):
        out.append({"id": r["id"], "kind": r["kind"], "label": r["label"], "status": r["status"],
                    "variants": [v["label"] for v in json.loads(r["variants"] or "[]")],
                    "places": len(json.loads(r["urns"] or "[]")), "runs": r["runs"], "model_id": r["model_id"],
                    "started_at": r["started_at"]})
    return out


def load_run(store: Store, run_id: int) -> CompareResult:
    """A stored run as a :class:`CompareResult` (ratings and golden matches as stored)."""
    r = _wb(store).run(run_id)
    if r is None:
        raise WorkbenchError(f"unknown workbench run {run_id}")
    variants = []
    for vd in json.loads(r["variants"] or "[]"):
        text = prompt_text(store, vd["prompt_version"]) or "(prompt text not recorded)"
        try:
            prompt = compile_prompt(text, vd["prompt_name"], vd["prompt_name"])
        except PromptError:
            prompt = Prompt(vd["prompt_name"], text, vd["prompt_version"], (text,), frozenset())
        variants.append(Variant(vd["label"], prompt, vd.get("temperature"), vd.get("budget_override")))
    cells: dict = {}
    rerun: dict = {}
    templates: dict = {}
    production: dict = {}
    for o in _wb(store).run_outputs(run_id):
        c = Cell(o["urn"], o["variant"], o["run_no"], o["text"], o["raw_text"], o["reason"], o["detail"] or "",
                 o["latency_ms"], o["tokens"] or 0, FactReport.from_dict(json.loads(o["facts"])) if o["facts"] else None,
                 o["prompt_version"], o["temperature"], o["budget"], o["seed"], o["state_hash"], o["tier"],
                 bool(o["eligible"]), o["output_key"], o["model_id"], o["id"], name=o["name"] or "",
                 base_hash=o["base_hash"] or "")
        (cells if o["run_no"] == 1 else rerun)[(o["variant"], o["urn"])] = c
        templates[o["urn"]] = o["template_text"]
        production[o["urn"]] = ((o["production_text"], o["production_source"], None) if o["production_text"] is not None
                                else None)
    for key, c in cells.items():
        if key in rerun:
            c.rerun_identical = rerun[key].text == c.text and rerun[key].reason == c.reason
    summaries = {}
    for sd in json.loads(r["summary"] or "[]"):
        summaries[sd["label"]] = VariantSummary(**sd)
    return CompareResult(r["id"], r["kind"], variants, json.loads(r["urns"] or "[]"), cells, summaries, r["runs"] or 1,
                         rerun, r["model_id"], templates, production, r["status"] or "done")
