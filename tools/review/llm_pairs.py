"""Blind pairs for a reader: accepted LLM texts against their templates, in a seeded random order.

Runs one real batch (the product's BatchRunner, a scratch database) over a sample of a world's
eligible places under one configuration (model, generation mode, prompt, temperature, best of N),
then writes, for the places whose LLM text was accepted:

* ``pairs-<config>.jsonl``: ``{"id", "facts": {name, base, weather, resources, events}, "A", "B"}``
  (A and B: the LLM text and the template, in an order drawn from ``--order-seed`` and the id);
* ``key-<config>.jsonl``: ``{"id", "llm": "A" | "B"}`` (keep it away from the reader);
* ``stats-<config>.json`` and one line in ``stats.jsonl``: eligible places, accepted share,
  desc/s, tokens/s, the CPU, the refusal reasons.

A refused place ships its template, so it is not a pair. ``--dump FILE`` also writes every
sampled place's outcome (template, the model's raw text, reason) for developing prompts: read it
only for a dev sample, never for the sample the pairs come from (``--split``).

    python3 -m tools.review.llm_pairs --out OUT --config smollm2-enrich --enhance enrich --split final
    python3 -m tools.review.llm_pairs --out OUT --config q15-sentence --model qwen2.5-coder-1.5b-q4km \\
        --enhance sentence --world docs/reviews/model-modes/world-pampas-medium-terms.jsonl --sample 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def facts_of(p) -> dict:
    from engine.judge import facts_of_place  # the facts a reader (or a judge) is shown, in one place

    return facts_of_place(p)


def sample_places(places, cfg, tier: str | None, n: int, split: str, sample_seed: str, dev_size: int = 12):
    """Eligible places (of ``tier``), ranked by a hash of (sample seed, urn): ``dev`` is the first
    ``n`` (at most ``dev_size``), ``final`` the ``n`` after the first ``dev_size`` (so a final
    sample never shares a place with a dev sample)."""
    from engine.policy import decide

    ok = [p for p in places if decide(p, cfg).eligible and (tier is None or decide(p, cfg).tier == tier)]
    ok.sort(key=lambda p: hashlib.sha256(f"{sample_seed}:{p.urn}".encode()).hexdigest())
    if split == "dev":
        return ok, ok[:min(n, dev_size)]
    return ok, ok[dev_size:dev_size + n]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="a name for this configuration (file names)")
    ap.add_argument("--world", default=None, help="world file (default: the built-in world)")
    ap.add_argument("--tier", default=None, help="only places of this tier (e.g. premium)")
    ap.add_argument("--sample", type=int, default=30)
    ap.add_argument("--split", choices=("dev", "final"), default="final")
    ap.add_argument("--sample-seed", default="pairs-v1")
    ap.add_argument("--dev-size", type=int, default=12, help="places reserved for dev samples (never in a final one)")
    ap.add_argument("--order-seed", default="ab-v1")
    ap.add_argument("--model", default=None, help="model folder or name (FLUX_LLM_MODEL_PATH)")
    ap.add_argument("--enhance", default=None, help="FLUX_LLM_ENHANCE: sentence, rewrite, enrich (auto: the product's)")
    ap.add_argument("--prompt", default=None, help="a prompt name in --prompts (default: the mode's)")
    ap.add_argument("--prompts", default=None, help="prompts folder (default: a scratch copy of the shipped ones)")
    ap.add_argument("--temperature", default=None)
    ap.add_argument("--candidates", default=None)
    ap.add_argument("--concurrency", default="2")
    ap.add_argument("--out", required=True, help="folder for pairs-, key- and stats- files")
    ap.add_argument("--dump", default=None, help="also write every sampled place's outcome here (dev only)")
    a = ap.parse_args(argv)
    if not os.environ.get("TEXTURE_NO_FASTPATH"):
        from engine.llm.fastpath import prepare_backend  # OpenBLAS before mlx, as the `texture` command does

        prepare_backend()

    from engine.builtin_world import builtin_world
    from engine.config import load_config
    from engine.dispatch import BatchRunner
    from engine.prompts import DEFAULT_PROMPT, PromptLibrary
    from engine.store import Store
    from engine.world import load_world

    env = {k: v for k, v in os.environ.items() if k.startswith("FLUX_")}
    over = {"FLUX_LLM_CONCURRENCY": a.concurrency}
    if a.model:
        over["FLUX_LLM_MODEL_PATH"] = a.model
    if a.enhance:
        over["FLUX_LLM_ENHANCE"] = a.enhance
    if a.temperature:
        over["FLUX_LLM_TEMPERATURE"] = a.temperature
    if a.candidates:
        over["FLUX_LLM_CANDIDATES"] = a.candidates
    cfg = load_config(env=env, overrides=over)
    if a.world:
        res = load_world(a.world)
        places = res.places
        if res.errors:
            print(f"{len(res.errors)} bad line(s) skipped in {a.world}", file=sys.stderr)
    else:
        places = builtin_world()
    eligible, sample = sample_places(places, cfg, a.tier, a.sample, a.split, a.sample_seed, a.dev_size)
    if not sample:
        print("no eligible places in the sample", file=sys.stderr)
        return 1

    from engine.llm.service import start_service

    work = Path(tempfile.mkdtemp(prefix=f"pairs-{a.config}-"))
    prompts_dir = Path(a.prompts) if a.prompts else work / "prompts"
    lib = PromptLibrary(prompts_dir)
    store = Store(work / "pairs.db")
    t0 = time.perf_counter()
    llm = start_service(cfg, log=lambda m: print(m, file=sys.stderr))
    llm.wait_ready()
    load_s = time.perf_counter() - t0
    cpu0 = os.times()
    try:
        runner = BatchRunner(store, cfg, lib, llm, prompt_name=a.prompt or DEFAULT_PROMPT)
        t1 = time.perf_counter()
        summary = runner.run(sample, f"pairs {a.config}")
        wall = time.perf_counter() - t1
    finally:
        llm.shutdown()
    cpu1 = os.times()
    rows = store.batch_results(summary.batch_id)
    store.close()
    by_urn = {p.urn: p for p in sample}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs, keys, dump, reasons = [], [], [], {}
    for r in sorted(rows, key=lambda r: r["urn"]):
        p = by_urn.get(r["urn"])
        if p is None:
            continue
        pid = hashlib.sha256(f"{a.config}:{p.urn}".encode()).hexdigest()[:10]
        dump.append({"id": pid, "urn": p.urn, "source": r["source"], "reason": r.get("reason"), "detail": r.get("detail"),
                     "template": r.get("template_text"), "llm_raw": r.get("llm_text"), "text": r.get("text")})
        if r["source"] != "llm":
            reasons[r.get("reason") or "?"] = reasons.get(r.get("reason") or "?", 0) + 1
            continue
        llm_first = random.Random(f"{a.order_seed}:{pid}").random() < 0.5
        A, B = (r["text"], r["template_text"]) if llm_first else (r["template_text"], r["text"])
        pairs.append({"id": pid, "facts": facts_of(p), "A": A, "B": B})
        keys.append({"id": pid, "llm": "A" if llm_first else "B"})
    m = summary.metrics or {}
    llm_places = sum(1 for d in dump if d["reason"] not in ("cached",))
    tokens = sum(int(r.get("tokens") or 0) for r in rows)
    stats = {"config": a.config, "world": a.world or "builtin", "tier": a.tier, "split": a.split,
             "model": cfg.model_path or "default", "model_id": summary.metrics.get("model_id") if m else None,
             "enhance": cfg.enhance, "prompt": a.prompt, "temperature": cfg.temperature, "candidates": cfg.candidates,
             "world_eligible": len(eligible), "sampled": len(sample), "accepted": len(pairs),
             "accepted_share": round(len(pairs) / len(sample), 3), "refusals": reasons,
             "batch_wall_s": round(wall, 1), "model_load_s": round(load_s, 1),
             "desc_per_s": round(len(sample) / wall, 3) if wall else None,
             "tokens": tokens, "tokens_per_s": round(tokens / wall, 2) if wall else None,
             "cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
             "cpu": cpu_name(), "vcpus": os.cpu_count(), "notice": summary.notice, "status": summary.status,
             "by_source": summary.by_source, "places_with_model": llm_places,
             "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    (out / f"pairs-{a.config}.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in pairs),
                                                 encoding="utf-8")
    (out / f"key-{a.config}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in keys), encoding="utf-8")
    (out / f"stats-{a.config}.json").write_text(json.dumps(stats, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "stats.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(stats, ensure_ascii=False) + "\n")
    if a.dump:
        Path(a.dump).write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in dump), encoding="utf-8")
    print(json.dumps({k: stats[k] for k in ("config", "sampled", "accepted", "accepted_share", "desc_per_s",
                                            "tokens_per_s", "refusals", "notice")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
