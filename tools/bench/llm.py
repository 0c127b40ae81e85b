"""Model benchmarks for ``texture bench``: all figures from one run on this machine.

- descriptions/s and tokens/s at 1, 4 and 8 streams (the same places, no deadline, so every
  place generates to its end: pure generation speed);
- the engine against a raw mlx-lm ``BatchGenerator`` on the same prompts at 4 streams;
- time to first token, peak memory;
- a production batch through the dispatcher (default config, auto deadlines) on a stated
  sample of the built-in world: fallback rate by reason, and the full 1,500-place run
  extrapolated from it;
- the CPU fast path against the stock CPU build (a subprocess with OpenBLAS and float32 off).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable


def _eligible_requests(n: int, budget_override: int | None = None):
    from engine.builtin_world import builtin_world
    from engine.config import load_config
    from engine.policy import decide
    from engine.compose import shared_head
    from engine.prompts import default_prompt

    cfg = load_config(env={})
    prompt = default_prompt()
    out = []
    for p in builtin_world():
        d = decide(p, cfg)
        if d.eligible:
            text = prompt.render(p, d.tier)
            out.append({"key": p.urn, "prompt": text, "seed": p.seed, "head": shared_head(prompt.head, text),
                        "max_tokens": budget_override or d.budget, "temperature": cfg.temperature, "deadline_s": None})
        if len(out) >= n:
            break
    return out


def _engine(concurrency: int):
    from engine.llm.generator import GenerationEngine
    from engine.llm.models import load_model

    eng = GenerationEngine(lambda: load_model(None), concurrency=concurrency)
    eng.start()
    if not eng.wait_ready(600):
        raise RuntimeError(f"model did not load: {eng.unavailable_reason()}")
    return eng


def _run_job(eng, reqs, tokens: dict | None = None, log: Callable[[str], None] | None = None,
             label: str = "") -> dict:
    job = eng.submit(reqs)
    t0 = time.perf_counter()
    # progress on the bench's log (stderr) every 15 s while the job runs
    while not job.wait(15.0 if log else None):
        log(f"    {label}: {len(job.results)}/{len(reqs)} places done, {time.perf_counter() - t0:.0f} s")
    if tokens is not None:
        tokens.update(job.token_ids)
    return dict(job.metrics)


def stock_probe(n: int = 4, max_tokens: int = 24, concurrency: int = 4) -> dict:
    """Same small job in this process; run under both backends to compare."""
    from engine.llm.cpu.fastpath import prepare_backend

    b = prepare_backend()
    reqs = _eligible_requests(n, budget_override=max_tokens)
    # A fixed token count per place, so both backends do the same work.
    eng = _engine(concurrency)
    try:
        m = _run_job(eng, reqs)
    finally:
        eng.shutdown()
    return {"blas": b.blas, "dtype": eng.info.get("dtype") or b.dtype, "tokens_per_s": round(m["tokens_per_s"], 2),
            "descriptions_per_s": round(m["descriptions_per_s"], 4), "elapsed_s": round(m["elapsed_s"], 2),
            "tokens": m["tokens"], "places": n}


def _probe_subprocess(stock: bool) -> dict:
    env = dict(os.environ)
    if stock:
        env["FLUX_OPENBLAS"] = "none"
        env["FLUX_LLM_DTYPE"] = "quantized"
    out = subprocess.run([sys.executable, "-m", "tools.bench.llm", "--probe"], env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "probe failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def production_batch(sample_places: int, log) -> dict:
    """A real batch through the dispatcher on the first N places of the built-in world."""
    from engine.builtin_world import builtin_world
    from engine.config import load_config
    from engine.dispatch import BatchRunner
    from engine.policy import decide
    from engine.prompts import PromptLibrary
    from engine.store import Store
    from engine.templates import render_template
    from engine.llm.service import start_service

    cfg = load_config(env={})
    world = builtin_world()
    places = world[:sample_places]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        svc = start_service(cfg)
        svc.wait_ready(600)
        try:
            summary = BatchRunner(store, cfg, PromptLibrary(Path(tmp) / "prompts"), svc).run(places, "bench sample")
        finally:
            svc.shutdown()
            store.close()
    eligible_all = sum(1 for p in world if decide(p, cfg).eligible)
    eligible_sample = summary.metrics.get("llm_places") or 0
    t0 = time.perf_counter()
    for p in world:
        render_template(p)
    template_s = time.perf_counter() - t0
    per_desc = summary.elapsed_s / eligible_sample if eligible_sample else None
    return {
        "sample_places": sample_places,
        "eligible_in_sample": eligible_sample,
        "elapsed_s": summary.elapsed_s,
        "by_source": summary.by_source,
        "reasons": summary.reasons,
        "fallback_pct": summary.metrics.get("fallback_pct"),
        "deadline": summary.deadline,
        "avg_latency_ms": summary.metrics.get("avg_latency_ms"),
        "eligible_in_full_world": eligible_all,
        "full_world_estimate_s": round(eligible_all * per_desc + template_s, 1) if per_desc else None,
        "extrapolation": f"{eligible_all} eligible places x {per_desc:.2f} s per eligible place (measured on "
                         f"{eligible_sample}) + {template_s * 1000:.0f} ms of templates" if per_desc else "no eligible place in sample",
    }


def bench_llm(sample: int = 24, log: Callable[[str], None] | None = None, stock: bool = True,
              production_places: int = 200, against_llamacpp: bool = False) -> dict:
    log = log or (lambda m: None)
    from engine.llm.cpu.fastpath import prepare_backend
    from tools.bench.raw import raw_batch_generate_on

    backend = prepare_backend()
    reqs = _eligible_requests(sample)
    res: dict = {"backend": {"blas": backend.blas, "dtype": backend.dtype, "device": backend.device},
                 "sample": len(reqs), "budgets": sorted({r["max_tokens"] for r in reqs})}
    streams = {}
    raw = None
    ids: dict[int, dict] = {}
    for c in (1, 4, 8):
        log(f"  {c} stream(s) on {len(reqs)} places ...")
        eng = _engine(c)
        try:
            ids[c] = {}
            m = _run_job(eng, reqs, ids[c], log, f"{c} stream(s)")
            streams[c] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items() if k != "fallbacks"}
            if c == 4:
                log("  raw BatchGenerator at 4 streams on the same prompts ...")
                budget = 100
                same = [dict(r, max_tokens=budget) for r in reqs]
                eng_m = _run_job(eng, same, None, log, "engine, 4 streams, 100 tokens")
                raw_m = raw_batch_generate_on(eng, [r["prompt"] for r in same], budget, 0.7, 4)["metrics"]
                raw = {"engine_tokens_per_s": round(eng_m["tokens_per_s"], 2),
                       "raw_tokens_per_s": round(raw_m["tokens_per_s"], 2),
                       "ratio": round(eng_m["tokens_per_s"] / raw_m["tokens_per_s"], 3),
                       "max_tokens": budget}
            res["dtype_in_use"] = eng.info.get("dtype")
            res["kernels"] = eng.info.get("kernels")
            res["model_id"] = eng.info.get("model_id")
            res["decode_weights"] = eng.info.get("decode_weights")
            res["thread_split"] = eng.info.get("thread_split")
            res["decode_kernel"] = eng.info.get("decode_kernel")
            res["decode_step"] = eng.info.get("decode_step")
            res["prompt_products"] = eng.info.get("prompt_products")
        finally:
            eng.shutdown()
            # Let this engine's weights go before the next one loads: the peak RSS is the
            # process's high-water mark, and two models at once would be counted.
            gc.collect()
    res["streams"] = streams
    res["engine_vs_raw"] = raw
    if res.get("decode_weights") in ("q8", "q8i"):  # the same 4-stream job on float32 decode weights
        from tools.bench.quant import f32_at_4_streams

        log("  4 streams with float32 decode weights (FLUX_DECODE_WEIGHTS=f32) ...")
        res["f32_4_streams"] = f32_at_4_streams(reqs, _engine, _run_job)
        res["quantized_vs_f32_4_streams"] = round(streams[4]["tokens_per_s"] / res["f32_4_streams"]["tokens_per_s"], 2)
    res["speedup_4_vs_1"] = round(streams[4]["descriptions_per_s"] / streams[1]["descriptions_per_s"], 2)
    res["speedup_8_vs_1"] = round(streams[8]["descriptions_per_s"] / streams[1]["descriptions_per_s"], 2)
    # Determinism at scale: the same places' tokens at 1, 4 and 8 streams.
    res["same_tokens_across_streams"] = {
        "places": len(ids[1]),
        "differ_4_vs_1": sum(1 for k, v in ids[1].items() if ids[4].get(k) != v),
        "differ_8_vs_1": sum(1 for k, v in ids[1].items() if ids[8].get(k) != v),
        "identical_at_all_three": sum(1 for k, v in ids[1].items() if ids[4].get(k) == v == ids[8].get(k)),
    }
    log(f"  production batch through the dispatcher ({production_places} places of the built-in world) ...")
    res["production"] = production_batch(production_places, log)
    if stock:
        log("  stock CPU path (reference BLAS, quantized) vs fast path, same 4-place job ...")
        try:
            fast = _probe_subprocess(stock=False)
            slow = _probe_subprocess(stock=True)
            res["fast_vs_stock"] = {"fast": fast, "stock": slow,
                                    "tokens_per_s_ratio": round(fast["tokens_per_s"] / slow["tokens_per_s"], 1),
                                    "descriptions_per_s_ratio": round(fast["descriptions_per_s"] / slow["descriptions_per_s"], 1)}
        except Exception as exc:
            res["fast_vs_stock"] = {"error": str(exc)}
    s1, s4, s8 = streams[1], streams[4], streams[8]
    table = [
        ("backend", f"{backend.device}, BLAS {backend.blas}, weights {res.get('dtype_in_use')}, "
                    f"kernels: {res.get('kernels') or 'mlx-lm'}"),
        ("1 stream", f"{s1['descriptions_per_s']:.3f} desc/s, {s1['tokens_per_s']:.1f} tok/s, TTFT {s1.get('ttft_avg_s') or 0:.2f} s"),
        ("4 streams", f"{s4['descriptions_per_s']:.3f} desc/s, {s4['tokens_per_s']:.1f} tok/s, TTFT {s4.get('ttft_avg_s') or 0:.2f} s ({res['speedup_4_vs_1']}x 1 stream)"),
        ("8 streams", f"{s8['descriptions_per_s']:.3f} desc/s, {s8['tokens_per_s']:.1f} tok/s ({res['speedup_8_vs_1']}x 1 stream)"),
    ]
    if res.get("f32_4_streams"):
        table.append(("4 streams, float32 decode weights", f"{res['f32_4_streams']['tokens_per_s']} tok/s: {res['decode_weights']} is "
                                                           f"{res['quantized_vs_f32_4_streams']}x"))
    if res.get("decode_step"):
        table.append(("decode step", res["decode_step"]))
    if res.get("decode_kernel"):
        table.append(("decode kernel variant", res["decode_kernel"]))
    if res.get("thread_split"):
        table.append(("decode thread split", res["thread_split"]))
    same = res["same_tokens_across_streams"]
    table.append(("same tokens at 1, 4 and 8 streams",
                  f"{same['identical_at_all_three']}/{same['places']} places identical"))
    if raw:
        table.append(("engine vs raw BatchGenerator", f"{raw['engine_tokens_per_s']} vs {raw['raw_tokens_per_s']} tok/s = {raw['ratio'] * 100:.1f}%"))
    table.append(("peak memory", f"{max(s['peak_rss_mb'] for s in streams.values()):.0f} MiB RSS"))
    pr = res["production"]
    table.append((f"production batch ({pr['sample_places']} places)", f"{pr['elapsed_s']:.1f} s, {pr['eligible_in_sample']} to the model, fallback {pr['fallback_pct']}% {pr['reasons']}"))
    table.append(("full 1,500-place world (estimate)", f"{pr['full_world_estimate_s']} s = {pr['extrapolation']}"))
    fs = res.get("fast_vs_stock") or {}
    if "error" in fs:
        table.append(("fast path vs stock", f"not measured: {fs['error']}"))
    elif fs:
        table.append(("fast path vs stock", f"{fs['fast']['tokens_per_s']} vs {fs['stock']['tokens_per_s']} tok/s = {fs['tokens_per_s_ratio']}x; "
                                            f"descriptions/s {fs['descriptions_per_s_ratio']}x"))
    if against_llamacpp:
        log("  llama.cpp on the same GGUF, prompts and budgets (--against-llamacpp) ...")
        from tools.bench.llamacpp import bench_llamacpp

        res["vs_llamacpp"] = bench_llamacpp(reqs, streams, log)
        table.extend(res["vs_llamacpp"].pop("table", []))
    res["table"] = table
    return res


if __name__ == "__main__":  # the probe run in a subprocess by bench_llm
    if "--probe" in sys.argv:
        from engine.llm.cpu.fastpath import prepare_backend

        prepare_backend()
        print(json.dumps(stock_probe()))
