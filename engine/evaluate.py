"""``texture eval``: the quality figures of the templates and of the model, in one command.

A stratified sample of *eligible* places (default: 48 of the built-in world; with ``--world``,
every eligible place of that world unless ``--sample`` says otherwise) runs through the real
batch path (:class:`engine.dispatch.BatchRunner`, the real model service) into a scratch
database, so production results are untouched. From the stored results and their quality
reports (:mod:`engine.quality`) it reports, side by side:

* ``template`` — every sampled place's template text;
* ``llm_raw`` — every LLM text the model returned (cleaned as a batch cleans it), before the gate;
* ``llm_accepted`` — the LLM texts the batch kept (after validation and the gate).

Each block: ``n``, ``mean_quality``, ``fact_coverage`` (mean), ``contradicted`` (count of
contradicted facts over the block), ``contradicted_per_text``, ``repeated_4gram_rate`` (share of
texts with a repeated word 4-gram), ``invented_names_rate``, ``sentences_2_3_rate``,
``mean_length`` (characters). Per run: ``acceptance_rate`` (LLM text kept / eligible places),
``fallback_reasons``, ``tokens_per_description`` (tokens generated per eligible place, every
candidate counted), ``descriptions_per_s`` (eligible places / wall time of the batch),
``model_sentence_share`` (of the accepted texts' sentences, the share the model wrote: a
per-sentence prompt keeps the template's sentence wherever the rewrite failed), ``config`` (what
differs from the defaults).

``--compare A B``: the same sample under two configurations, one after the other in one process
(one model load, one warm-up). A configuration is ``name:KEY=VALUE,KEY=VALUE`` (the name is
optional) with keys ``FLUX_LLM_*`` variables (or their short forms: ``candidates``,
``min_quality``, ``repetition_penalty``, ``stop_sentences``, ``quality_gate``, ``temperature``…)
and ``prompt=<prompt name>``; or a preset: ``before`` (the generation and merge before the
quality gate: the seed's prompt, no sentence stop, no repetition control, one candidate, no gate) and
``default`` (the current defaults). The JSON of a compare run has ``runs`` (one block per
configuration) and, at the top level, the last run's block.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .config import Config, ConfigError, _VARS, _apply
from .errors import TextureError
from .policy import decide
from .quality import QualityReport, parse_quality_json
from .world import Place

DEFAULT_SAMPLE = 48
SEED_PROMPT = "seed"

PRESETS: dict[str, dict[str, str]] = {
    "before": {"prompt": SEED_PROMPT, "FLUX_LLM_STOP_SENTENCES": "0", "FLUX_LLM_REPETITION_PENALTY": "1",
               "FLUX_LLM_CANDIDATES": "1", "FLUX_LLM_QUALITY_GATE": "false", "FLUX_LLM_TEMPERATURE": "0.7",
               "FLUX_LLM_BUDGET_LIGHT": "80", "FLUX_LLM_BUDGET_FULL": "120", "FLUX_LLM_BUDGET_PREMIUM": "150"},
    "default": {},
}


class EvalError(ConfigError):
    pass


def _tier_of(p: Place, cfg: Config) -> str:
    return decide(p, cfg).tier


def stratified_sample(places: list[Place], cfg: Config, n: int | None) -> list[Place]:
    """Eligible places, stratified by tier (each tier in proportion, at least one), spread evenly
    over each tier in a fixed pseudo-random order (sha256 of the urn). Deterministic."""
    eligible = [p for p in places if decide(p, cfg).eligible]
    if n is None or n >= len(eligible):
        return sorted(eligible, key=lambda p: p.urn)
    by_tier: dict[str, list[Place]] = {}
    for p in eligible:
        by_tier.setdefault(_tier_of(p, cfg), []).append(p)
    for t in by_tier:
        by_tier[t].sort(key=lambda p: hashlib.sha256(p.urn.encode()).hexdigest())
    total = len(eligible)
    quota = {t: max(1, round(n * len(v) / total)) for t, v in by_tier.items()}
    while sum(quota.values()) > n:  # rounding: take from the largest tier
        t = max(quota, key=lambda k: (quota[k], k))
        quota[t] -= 1
    while sum(quota.values()) < n:
        t = max(by_tier, key=lambda k: (len(by_tier[k]) - quota[k], k))
        quota[t] += 1
    out = []
    for t, v in sorted(by_tier.items()):
        k = quota[t]
        if k <= 0:
            continue
        step = len(v) / k
        out += [v[int(i * step)] for i in range(k)]
    return sorted(out, key=lambda p: p.urn)


_SHORT = {v.removeprefix("FLUX_LLM_").removeprefix("FLUX_").lower(): v for v in _VARS}


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``name:KEY=V,KEY=V`` or a preset name -> (name, {VAR or 'prompt': value})."""
    spec = spec.strip()
    if spec in PRESETS:
        return spec, dict(PRESETS[spec])
    name, _, body = spec.partition(":") if ":" in spec.split("=", 1)[0] else ("", "", spec)
    out: dict[str, str] = {}
    for part in [x for x in body.split(",") if x.strip()]:
        if "=" not in part:
            if part.strip() in PRESETS:
                out.update(PRESETS[part.strip()])
                continue
            raise EvalError(f"--compare {spec!r}: {part!r} is not KEY=VALUE (or a preset: {', '.join(PRESETS)})")
        k, v = (x.strip() for x in part.split("=", 1))
        if k.lower() == "prompt":
            out["prompt"] = v
            continue
        var = k.upper() if k.upper() in _VARS else _SHORT.get(k.lower())
        if var is None:
            raise EvalError(f"--compare {spec!r}: unknown setting {k!r}")
        out[var] = v
    return (name or body or "config"), out


def _block(reports: list[QualityReport]) -> dict:
    n = len(reports)
    if not n:
        return {"n": 0, "mean_quality": None, "fact_coverage": None, "contradicted": 0, "contradicted_per_text": None,
                "repeated_4gram_rate": None, "invented_names_rate": None, "sentences_2_3_rate": None,
                "mean_length": None}

    def mean(xs):
        return round(sum(xs) / n, 4)

    contradicted = sum(r.contradicted for r in reports)
    return {
        "n": n,
        "mean_quality": mean([r.total for r in reports]),
        "fact_coverage": mean([r.coverage for r in reports]),
        "contradicted": contradicted,
        "contradicted_per_text": round(contradicted / n, 4),
        "repeated_4gram_rate": mean([1.0 if r.repeated_4grams else 0.0 for r in reports]),
        "invented_names_rate": mean([1.0 if r.invented_names else 0.0 for r in reports]),
        "sentences_2_3_rate": mean([1.0 if 2 <= r.sentence_count <= 3 else 0.0 for r in reports]),
        "mean_length": round(sum(r.chars for r in reports) / n, 1),
    }


def summarize(rows: list[dict], eligible: int, wall_s: float) -> dict:
    """The figures of one run from its stored result rows."""
    template, raw, accepted = [], [], []
    reasons: Counter = Counter()
    tokens = 0
    model_sent = all_sent = 0
    for r in rows:
        q = parse_quality_json(r.get("quality_json"))
        if q is None:
            continue
        template.append(q["template"])
        if (q.get("raw") or q["llm"]) is not None:
            raw.append(q.get("raw") or q["llm"])
        if r["source"] == "llm" and q["llm"] is not None:
            accepted.append(q["llm"])
            m, n = q.get("sentences") or (1, 1)
            model_sent, all_sent = model_sent + m, all_sent + n
        elif r.get("reason"):
            reasons[r["reason"]] += 1
        tokens += r.get("tokens") or 0
    return {
        "places": len(rows),
        "eligible": eligible,
        "template": _block(template),
        "llm_raw": _block(raw),
        "llm_accepted": _block(accepted),
        "acceptance_rate": round(len(accepted) / eligible, 4) if eligible else None,
        # Of the accepted texts' sentences, the share the model wrote (a per-sentence prompt keeps
        # the template's sentence wherever the model's rewrite failed; a whole-text prompt: 1.0).
        "model_sentence_share": round(model_sent / all_sent, 4) if all_sent else None,
        "fallback_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "tokens_per_description": round(tokens / eligible, 1) if eligible else None,
        "descriptions_per_s": round(eligible / wall_s, 3) if wall_s > 0 else None,
        "wall_s": round(wall_s, 2),
    }


def run_config(places: list[Place], cfg: Config, prompts, llm, prompt_name: str, scratch: Path) -> dict:
    """One run of ``places`` through the batch path into a fresh database under ``scratch``."""
    from .dispatch import BatchRunner
    from .store import Store

    scratch.mkdir(parents=True, exist_ok=True)
    store = Store(scratch / "eval.db")
    try:
        runner = BatchRunner(store, cfg, prompts, llm, prompt_name=prompt_name)
        t0 = time.perf_counter()
        summary = runner.run(places, selection="eval")
        wall = time.perf_counter() - t0
        rows = store.batch_results(summary.batch_id)
        out = summarize(rows, sum(1 for p in places if decide(p, cfg).eligible), wall)
        out["notice"] = summary.notice
        out["metrics"] = {k: summary.metrics.get(k) for k in ("average_quality", "llm_fact_coverage",
                                                              "template_fact_coverage", "tokens_per_s")}
        out["samples"] = [{"urn": r["urn"], "source": r["source"], "reason": r["reason"], "detail": r["detail"], "text": r["text"],
                           "llm_text": r["llm_text"], "quality": r["quality"], "llm_quality": r["llm_quality"]}
                          for r in rows]
        return out
    finally:
        store.close()


def config_for(base: Config, overrides: dict[str, str]) -> tuple[Config, str | None]:
    ov = dict(overrides)
    prompt = ov.pop("prompt", None)
    return (_apply(base, ov, "flag") if ov else base), prompt


def evaluate(places: list[Place], base_cfg: Config, prompts, llm, specs: list[str] | None, sample: int | None,
             prompt_name: str, log: Callable[[str], None] = lambda m: None) -> dict:
    """Run the sample under each configuration (``specs``; None = the base config) -> the report."""
    chosen = stratified_sample(places, base_cfg, sample)
    configs = [parse_spec(s) for s in specs] if specs else [("default", {})]
    resolved = [(name, *config_for(base_cfg, ov), ov) for name, ov in configs]
    runs = []
    with tempfile.TemporaryDirectory(prefix="texture-eval-") as tmp:
        if llm is not None and chosen:
            # Warm-up (model load, first-call costs) so the first configuration is not penalised.
            cfg0, p0 = resolved[0][1], resolved[0][2] or prompt_name
            run_config(chosen[:2], replace(cfg0, candidates=1), prompts, llm, p0, Path(tmp) / "warmup")
        for i, (name, cfg, pname, ov) in enumerate(resolved):
            log(f"eval: {name}: {len(chosen)} places ...")
            res = run_config(chosen, cfg, prompts, llm, pname or prompt_name, Path(tmp) / f"run{i}")
            res = {"name": name, "config": ov, "prompt": pname or prompt_name, **res}
            runs.append(res)
    out: dict[str, Any] = dict(runs[-1]) if runs else {}
    out["sample"] = len(chosen)
    out["model_id"] = getattr(llm, "model_id", None)
    out["concurrency"] = base_cfg.concurrency
    if len(runs) > 1:
        out["runs"] = runs
    return out


_ROWS = (("mean quality", "mean_quality", "{:.3f}"), ("fact coverage", "fact_coverage", "{:.3f}"),
         ("contradicted (count)", "contradicted", "{}"), ("repeated 4-gram rate", "repeated_4gram_rate", "{:.1%}"),
         ("invented names rate", "invented_names_rate", "{:.1%}"), ("2-3 sentences rate", "sentences_2_3_rate", "{:.1%}"),
         ("mean length (chars)", "mean_length", "{:.0f}"), ("texts", "n", "{}"))


def _fmt(fmt: str, v) -> str:
    return "—" if v is None else fmt.format(v)


def format_report(rep: dict) -> str:
    runs = rep.get("runs") or [rep]
    lines = [f"texture eval: {rep.get('sample')} eligible places, model {rep.get('model_id')}, "
             f"{rep.get('concurrency')} streams"]
    if rep.get("enhance"):
        lines.append(f"enhancement: {rep['enhance']['sentence']}")
    for run in runs:
        lines.append("")
        lines.append(f"[{run.get('name', 'default')}] prompt {run.get('prompt')}  config {json.dumps(run.get('config') or {})}")
        lines.append(f"  {'':22}{'template':>12}{'llm_raw':>12}{'llm_accepted':>14}")
        for label, key, fmt in _ROWS:
            lines.append(f"  {label:22}" + "".join(f"{_fmt(fmt, run[b][key]):>{w}}" for b, w in
                                                   (("template", 12), ("llm_raw", 12), ("llm_accepted", 14))))
        lines.append(f"  acceptance rate: {_fmt('{:.1%}', run.get('acceptance_rate'))} "
                     f"(model wrote {_fmt('{:.0%}', run.get('model_sentence_share'))} of their sentences)   "
                     f"tokens/description: {run.get('tokens_per_description')}   "
                     f"descriptions/s: {run.get('descriptions_per_s')}   wall {run.get('wall_s')} s")
        if run.get("fallback_reasons"):
            lines.append("  fallback reasons: " + ", ".join(f"{k} {v}" for k, v in run["fallback_reasons"].items()))
        if run.get("notice"):
            lines.append(f"  notice: {run['notice']}")
    if rep.get("judge") is not None and rep["judge"].get("sample") is not None:
        s = rep["judge"]["sample"]
        lines.append("")
        lines.append(f"judge (trusted) on this run's accepted model texts: preferred the model's {s['llm']}, "
                     f"the template's {s['template']}, tie {s['tie']}")
    if rep.get("reviews") is not None:
        from .review import format_stats

        lines.append("")
        lines.append(format_stats(rep["reviews"]) if "error" not in rep["reviews"]
                     else f"reviews: {rep['reviews']['error']}")
    return "\n".join(lines)


# --- the subcommand ---------------------------------------------------------------------------

def add_parser(sub, add_common, add_llm) -> None:
    p = sub.add_parser("eval", help="quality figures of templates and model texts on a sample",
                       description="Run a stratified sample of eligible places through the real batch path into a "
                       "scratch database and print quality figures for templates, raw LLM texts and accepted LLM texts.")
    add_common(p)
    add_llm(p)
    p.add_argument("--sample", type=int, default=None,
                   help=f"places to sample (default {DEFAULT_SAMPLE} of the built-in world; all eligible places of --world)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--output", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--compare", nargs=2, metavar="CONFIG", default=None,
                   help="run the sample under two configurations: 'name:KEY=V,KEY=V' or a preset (before, default)")
    p.add_argument("--prompt", default=None, help="prompt name (default: the batch default)")
    p.add_argument("--samples", action="store_true", help="keep every text in the JSON (samples)")
    p.add_argument("--judge", default=None, metavar="MODEL",
                   help="measure a model judge (a model name, folder, .gguf file or hub repo, as --model) against the "
                   "stored blind reviews first; its verdicts are used only if it is trusted (docs/quality.md)")
    p.add_argument("--reviewed", type=Path, action="append", default=None, metavar="PATH",
                   help="reviewed pairs to measure the judge on: a reviewed .jsonl file, a review folder or a folder "
                   "of them (repeatable; default: the checkout's tests/data/review and docs/reviews), with the "
                   "reviews stored in --db")
    p.add_argument("--judge-tuning", type=int, default=None, metavar="N",
                   help="measure the judge on every held-out pair but at most N tuning pairs (its position bias "
                   "is fitted on those; 0: none, no correction); default: every pair")


def cmd_eval(args, config_fn, world_fn, start_llm) -> int:
    import sys

    from .prompts import DEFAULT_PROMPT, PromptLibrary
    from . import locations

    cfg = config_fn(args)
    places, errors = world_fn(args)
    if args.sample is not None and args.sample < 1:
        raise EvalError(f"--sample {args.sample}: use a whole number of at least 1")
    sample = args.sample if args.sample is not None else (DEFAULT_SAMPLE if args.world is None else None)
    specs = list(args.compare) if args.compare else None
    if specs:
        for s in specs:
            name, ov = parse_spec(s)
            config_for(cfg, ov)  # reports a bad value before the model loads
    prompts = PromptLibrary(Path(cfg.prompts_dir) if cfg.prompts_dir else locations.default_prompts_dir())
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    judged = None
    if args.judge is not None:  # measured before anything uses it, and printed first
        from .judge import format_block

        judged = _measure_judge(args, cfg, start_llm, say)
        if args.json:
            say(f"judge: held-out agreement {judged['block']['agreement']} on {judged['block']['n']} pairs, "
                f"trusted: {judged['block']['trusted']}")
        else:
            print(format_block(judged["block"]) + "\n", flush=True)
    llm = start_llm(cfg) if cfg.enabled else None
    try:
        rep = evaluate(places, cfg, prompts, llm, specs, sample, args.prompt or DEFAULT_PROMPT, log=say)
        if judged is not None:
            rep["judge"] = judged["block"]
            if judged["block"]["trusted"]:
                rep["judge"]["sample"] = _judge_sample(judged, rep, places)
    finally:
        if llm is not None and hasattr(llm, "shutdown"):
            llm.shutdown()
        if judged is not None and judged.get("llm") is not None:
            judged["llm"].shutdown()
    if not args.samples:
        for run in [rep] + list(rep.get("runs") or []):
            run.pop("samples", None)
    if errors:
        rep["skipped_lines"] = len(errors)
    # What people said (engine.review): the reviews stored in the database, not this scratch run.
    from .review import stats_for_db

    try:
        rep["reviews"] = stats_for_db(args.db or locations.default_db())
    except TextureError as exc:  # an unreadable database must not cost the run's figures
        rep["reviews"] = {"error": f"cannot read the reviews: {exc}"}
    from .enhance import for_config  # what blind review says of this model (engine.enhance)

    enh = for_config(cfg, rep.get("model_id") or cfg.model_path or None)
    rep["enhance"] = {"mode": enh.mode, "source": enh.source, "sentence": enh.sentence,
                      "review": enh.review.as_dict() if enh.review is not None else None}
    text = json.dumps(rep, ensure_ascii=True, default=str)
    if args.output:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise EvalError(f"cannot write {args.output}: {exc}") from None
    print(text if args.json else format_report(rep))
    return 0


def _measure_judge(args, cfg: Config, start_llm, say) -> dict:
    """Load the judge's model (its own engine: one model thread), measure it on every reviewed
    pair (engine.judge), store the measurement under its model id. The model stays loaded only
    when it is trusted (to judge this run's texts)."""
    from . import judge, locations
    from .store import Store

    value = str(args.judge).strip()
    if not value or any(ord(ch) < 32 for ch in value):
        raise judge.JudgeError(f"--judge {args.judge!r}: give a model name, folder, .gguf file or hub repo "
                               "(as --model; `texture models list` shows the names)")
    sources = list(args.reviewed) if args.reviewed else judge.default_sources()
    db = Path(args.db or locations.default_db())
    store = None
    if db.exists():
        try:
            store = Store(db, readonly=True)
        except TextureError as exc:
            say(f"judge: the reviews stored in {db} are left out: {exc}")
    try:
        pairs = judge.reviewed_pairs(sources, store)
    finally:
        if store is not None:
            store.close()
    if args.judge_tuning is not None:
        if args.judge_tuning < 0:
            raise judge.JudgeError(f"--judge-tuning {args.judge_tuning}: use a whole number of at least 0")
        pairs = judge.limit_tuning(pairs, args.judge_tuning)
    if not pairs:
        raise judge.JudgeError("no reviewed pairs to measure the judge on: give --reviewed FILE (a reviewed .jsonl "
                               "or a review folder) or store reviews with `texture review`")
    say(f"judge: loading {value} ...")
    jcfg = replace(cfg, model_path=value, enabled=True, cluster="", concurrency=1)
    jllm = start_llm(jcfg)
    if not jllm.ready():
        reason = jllm.unavailable_reason()
        jllm.shutdown()
        raise judge.JudgeError(f"--judge {value!r}: the model cannot be used ({reason})")
    say(f"judge: {len(pairs)} reviewed pairs, each asked in both orders ...")
    try:
        block = judge.measure(jllm, pairs, jllm.model_id, log=say)
        block["stored_in"] = str(judge.save_measurement(jllm.model_id, block))
    except BaseException:
        jllm.shutdown()
        raise
    if not block["trusted"]:
        jllm.shutdown()
        jllm = None
    return {"block": block, "llm": jllm}


def _judge_sample(judged: dict, rep: dict, places: list[Place]) -> dict:
    """The trusted judge on this run's accepted model texts against their templates."""
    from . import judge
    from .templates import render_template as render

    by_urn = {p.urn: p for p in places}
    rows = [r for r in rep.get("samples") or [] if r.get("source") == "llm" and r["urn"] in by_urn]
    items = [(judge.facts_of_place(by_urn[r["urn"]]), r["text"], render(by_urn[r["urn"]])) for r in rows]
    out = {"llm": 0, "template": 0, "tie": 0}
    for v in judge.judge_pairs(judged["llm"], items, judged["block"].get("bias") or 0.0) if items else []:
        out[{"first": "llm", "second": "template", "tie": "tie"}[v.pick]] += 1
    return out
