"""``texture bench --cluster [ADDRESS] [--workers 1,2]``: descriptions/s of the real default model on
a Ray cluster with 1, 2, ... workers (each a Ray actor with its own engine and streams), on the same
places, and whether every place's text is the same at every worker count.

The workers' model load and a warm-up request are not timed; the time runs from the first place
handed out to the last result back. On one machine the workers share its cores: the figure shows
the cluster's overhead and that the work spreads, not a speed-up (see the README).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time


def run_cluster_bench(args) -> int:
    from engine.cluster import ClusterError, ClusterLLM, WorkerSpec, import_ray
    from tools.bench.raw import bench_prompts

    counts_raw = getattr(args, "workers", None) or "1,2"
    try:
        counts = [int(x) for x in str(counts_raw).split(",") if x.strip()]
        if not counts or min(counts) < 1:
            raise ValueError
    except ValueError:
        raise ClusterError(f"--workers {counts_raw!r} is not valid: use worker counts such as 1,2,4") from None
    ray = import_ray()
    address = args.cluster
    concurrency = int(os.environ.get("FLUX_LLM_CONCURRENCY") or 4)
    max_tokens = int(os.environ.get("TEXTURE_BENCH_MAX_TOKENS") or 100)
    n_places = max(1, int(getattr(args, "sample", 24) or 24))
    prompts = bench_prompts(n_places)
    reqs = [{"key": f"bench:{i}", "prompt": p, "seed": 1000 + 7919 * i, "max_tokens": max_tokens,
             "temperature": 0.7, "deadline_s": None} for i, p in enumerate(prompts)]
    say = (lambda m: None) if args.json else (lambda m: print(m, flush=True))
    out: dict = {"command": "texture bench --cluster" + (f" {address}" if address != "auto" else "")
                 + f" --workers {','.join(map(str, counts))} --sample {n_places}",
                 "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
                 "places": n_places, "max_tokens": max_tokens, "streams_per_worker": concurrency, "runs": []}
    texts: dict[int, dict] = {}
    from engine.cluster import connect

    owns = connect(address)
    try:
        cpus = ray.cluster_resources().get("CPU", 1.0)
        out["cluster"] = {"cpus": cpus, "nodes": len([n for n in ray.nodes() if n.get("Alive")])}
        say(f"cluster: {out['cluster']['nodes']} node(s), {cpus:g} CPUs; {n_places} places, {max_tokens} tokens, "
            f"{concurrency} streams per worker")
        for n in counts:
            per = max(1, int(cpus // n)) if cpus >= n else 0
            llm = ClusterLLM(WorkerSpec("model", concurrency=concurrency), address, n, cpus_per_worker=per,
                             log=lambda m: print(m, file=sys.stderr, flush=True))
            t_load = time.perf_counter()
            llm.start()
            load_s = time.perf_counter() - t_load
            try:
                if llm.size()["workers"] != n:
                    raise ClusterError(f"only {llm.size()['workers']} of {n} workers could run: " + "; ".join(llm.refused))
                # warm-up: one short request per worker (first calls allocate)
                warm = [{"key": f"warm:{i}", "prompt": prompts[0], "seed": 1, "max_tokens": 8, "temperature": 0.7}
                        for i in range(n * concurrency)]
                llm.submit(warm).wait()
                job = llm.submit(reqs)
                job.wait()
                m = job.metrics
                texts[n] = {k: r.text for k, r in job.results.items()}
                row = {"workers": n, "cpus_per_worker": per, "descriptions_per_s": round(m["descriptions_per_s"], 4),
                       "tokens_per_s": round(m["tokens_per_s"], 2), "elapsed_s": round(m["elapsed_s"], 2),
                       "ok": m["ok"], "per_worker": m["per_worker"], "load_s": round(load_s, 1),
                       "model_id": llm.model_id}
                out["runs"].append(row)
                say(f"  workers={n} ({per:g} CPU each): {row['descriptions_per_s']:.3f} desc/s, {row['tokens_per_s']:.1f} tok/s, "
                    f"{m['ok']}/{n_places} in {row['elapsed_s']:.1f} s, per worker {m['per_worker']} (load {load_s:.1f} s)")
            finally:
                llm.shutdown()
    finally:
        if owns and ray.is_initialized():
            ray.shutdown()
    base = out["runs"][0]
    for row in out["runs"]:
        row["vs_first"] = round(row["descriptions_per_s"] / base["descriptions_per_s"], 3) if base["descriptions_per_s"] else None
    first = texts[counts[0]]
    same = {n: sum(t.get(k) == v for k, v in first.items()) for n, t in texts.items()}
    out["same_text_as_first"] = {str(n): f"{v} of {len(first)}" for n, v in same.items()}
    say("  same text as workers=%d: %s" % (counts[0], ", ".join(f"workers={n} {v} of {len(first)}" for n, v in same.items())))
    for row in out["runs"][1:]:
        say(f"  workers={row['workers']} vs workers={base['workers']}: {row['vs_first']}x")
    if getattr(args, "output", None):
        args.output.write_text(json.dumps(out, indent=1))
    if args.json:
        print(json.dumps(out))
    return 0
