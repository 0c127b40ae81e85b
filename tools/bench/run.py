"""``texture bench``: the figures the README quotes, measured in one run.

Speed targets live here, not in unit tests (these machines are noisy): the bench prints
figures and ratios measured side by side in the same run.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from engine import locations


def bench_templates(seconds: float = 1.5) -> dict:
    """Template renders/s on one core (the hot path), plus hash+render from raw state."""
    from engine.builtin_world import builtin_world
    from engine.templates import render_template
    from engine.world import make_place

    places = builtin_world()
    # Warm up, then time whole passes over the 1,500 places.
    for p in places:
        render_template(p)
    gc.disable()
    try:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for p in places:
                render_template(p)
            n += len(places)
        render_rate = n / (time.perf_counter() - t0)
        # From raw state: canonical hash -> seed -> template (what a changed place costs).
        n2, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 2:
            for p in places:
                render_template(make_place(p.urn, p.name, p.base, p.temperature, p.conditions, p.wind_speed, p.resources, p.events))
            n2 += len(places)
        full_rate = n2 / (time.perf_counter() - t0)
    finally:
        gc.enable()
    return {
        "template_renders_per_s": round(render_rate),
        "hash_and_render_per_s": round(full_rate),
        "target_renders_per_s": 100_000,
        "places": len(places),
    }


def _print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def run_bench(args, console_bench=None) -> int:
    """``console_bench``: (measure_startup, measure_key_latency) from the console front end, if any."""
    t_start = time.perf_counter()
    out: dict = {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "command": "texture bench" + (" --quick" if args.quick else ""),
    }
    model = getattr(args, "model", None)
    if model:
        from engine.llm.models import resolve_model

        folder = resolve_model(model)
        if folder is None:
            print(f"texture bench: --model {model}: no such imported model (see `texture models list`; "
                  "import a GGUF file with `texture models import FILE`)", file=sys.stderr)
            return 2
        # every engine the bench starts loads this model (load_model(None) reads the variable)
        os.environ["FLUX_LLM_MODEL_PATH"] = str(folder)
        out["command"] += f" --model {model}"
        out["model"] = {"name": folder.name, "path": str(folder)}
    against = bool(getattr(args, "against_llamacpp", False))
    if against:
        out["command"] += " --against-llamacpp"

    def say(msg: str) -> None:
        # Progress goes to stderr, always: stdout carries only the results (and --json's JSON).
        print(f"[bench {time.perf_counter() - t_start:6.0f} s] {msg.strip()}", file=sys.stderr, flush=True)

    if against and not args.quick:
        from tools.bench.llamacpp import available

        ok, why = available()
        if not ok:
            say(f"notice: --against-llamacpp: {why}; the comparison is skipped, the rest of the bench runs")
    say("phase: templates (renders/s, about 3 s) ...")
    out["templates"] = bench_templates()
    if not args.quick:
        try:
            from tools.bench.llm import bench_llm

            say("phase: model (1, 4 and 8 streams, engine vs raw, production batch"
                + (", stock CPU" if not args.no_stock else "") + (", llama.cpp" if against else "")
                + "; several minutes on a CPU) ...")
            out["llm"] = bench_llm(sample=args.sample, log=say, production_places=args.production_places,
                                   stock=not args.no_stock, against_llamacpp=against)
        except Exception as exc:  # the bench reports what it could not measure
            out["llm"] = {"error": f"{type(exc).__name__}: {exc}"}
            say(f"model not measured: {out['llm']['error']}")
        if not getattr(args, "no_sizes", False):
            from tools.bench.quant import bigger_models

            say("phase: bigger model shapes, random weights (skip with --no-sizes) ...")
            try:
                out["model_sizes"] = bigger_models(log=say)
            except Exception as exc:
                out["model_sizes"] = {"error": f"{type(exc).__name__}: {exc}"}
        if console_bench is None:
            out["console"] = {"error": "console not available (run `texture bench`)"}
        else:
            measure_startup, measure_key_latency = console_bench
            try:
                say("phase: console first frame ...")
                startup = measure_startup()
                say("phase: console key latency during batches ...")
                out["console"] = {"startup": startup, "key_latency": measure_key_latency()}
            except Exception as exc:
                out["console"] = {"error": f"{type(exc).__name__}: {exc}"}
    out["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    say(f"done in {out['elapsed_s']} s")

    path = args.output or (locations.data_dir() / "bench.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(out))
        return 0
    t = out["templates"]
    rows = [
        ("template renders/s (1 core)", f"{t['template_renders_per_s']:,} (target {t['target_renders_per_s']:,})"),
        ("hash + render from raw state/s", f"{t['hash_and_render_per_s']:,}"),
    ]
    llm = out.get("llm") or {}
    if "error" in llm:
        rows.append(("model", f"not measured: {llm['error']}"))
    elif llm:
        rows.extend(llm.get("table", []))
    if out.get("model_sizes"):
        from tools.bench.quant import table_rows

        rows.extend(table_rows(out["model_sizes"]))
    con = out.get("console") or {}
    if "error" in con:
        rows.append(("console", f"not measured: {con['error']}"))
    elif con:
        st, kl = con["startup"], con["key_latency"]
        rows.append(("console first frame", f"{st.get('first_frame_ms')} ms (target < 1500 ms)"))
        rows.append(("key press, 4-stream scripted batch", f"p50 {kl.get('p50_ms')} ms, p95 {kl.get('p95_ms')} ms, max {kl.get('max_ms')} ms, {kl.get('within_100ms_pct')}% within 100 ms"))
        rk = kl.get("real_model") or {}
        if "error" in rk:
            rows.append(("key press, 4-stream real-model batch", f"not measured: {rk['error']}"))
        elif rk:
            rows.append(("key press, 4-stream real-model batch", f"p50 {rk.get('p50_ms')} ms, p95 {rk.get('p95_ms')} ms, max {rk.get('max_ms')} ms, {rk.get('within_100ms_pct')}% within 100 ms"))
    print("texture bench")
    _print_table(rows)
    print(f"results written to {path}")
    return 0
