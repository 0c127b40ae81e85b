"""The raw mlx-lm ``BatchGenerator`` reference and the engine's own micro-benchmark.

- :func:`raw_batch_generate_on`: ``engine.llm.cpu.probe.raw_batch_generate`` (plain mlx-lm batching over
  chat-templated prompts, the throughput reference ``texture bench`` compares the engine with) run
  on a :class:`~engine.llm.generator.GenerationEngine`'s thread (the one that owns MLX) through
  ``GenerationEngine.call_on_engine_thread``;
- :func:`bench_prompts`: ~100-token place prompts for benchmarks that need no world;
- ``python -m tools.bench.raw MODEL``: the engine (and the raw reference) at 1, 4, 8 streams.
"""

from __future__ import annotations

from engine.llm.generator import GenerationEngine, GenRequest
from engine.llm.cpu.probe import raw_batch_generate


def raw_batch_generate_on(engine: GenerationEngine, prompts: list[str], max_tokens: int, temperature: float = 0.7,
                          concurrency: int | None = None, timeout: float | None = None) -> dict:
    """Run the prompts through a plain mlx-lm ``BatchGenerator`` on ``engine``'s thread (it owns MLX).

    One shared sampler, ``completion_batch_size = concurrency``, all prompts inserted at once
    (mlx-lm refills itself). Returns ``{"texts", "token_ids", "metrics"}``; compare
    ``metrics["tokens_per_s"]`` with a job's ``BatchFinished`` metrics.
    """
    prompts, c = list(prompts), int(concurrency or engine.concurrency)

    def run(model, tokenizer, stream, prefill_step_size):
        return raw_batch_generate(model, tokenizer, prompts, int(max_tokens), float(temperature), c,
                                  stream=stream, prefill_step_size=prefill_step_size)

    return engine.call_on_engine_thread(run, timeout)


_BENCH_PLACES = [
    ("The Salt Harbour", "A crescent of grey stone quays where fishing boats crowd at dawn and gulls quarrel over nets.",
     "cold drizzle, 6 C, wind 30 km/h", "fish (abundant), salt (scarce)", "a storm wrecked two boats"),
    ("Millbrook Market", "A cobbled square ringed by timber houses, its fountain dry for a generation.",
     "clear and warm, 21 C, wind 5 km/h", "grain (plentiful), wool (moderate)", "a travelling circus arrived"),
    ("The Ashen Pass", "A narrow mountain road between black cliffs, marked by cairns of the fallen.",
     "heavy snow, -8 C, wind 55 km/h", "iron ore (rich), firewood (scarce)", "bandits sighted near the shrine"),
    ("Old Lantern Library", "A leaning tower of books whose upper windows have been broken for years.",
     "overcast, 12 C, wind 12 km/h", "paper (scarce), candles (moderate)", "a scholar vanished last week"),
]


def bench_prompts(n: int) -> list[str]:
    """~100-token place prompts in the product's texture-prompt shape."""
    out = []
    for i in range(n):
        name, base, weather, res, ev = _BENCH_PLACES[i % len(_BENCH_PLACES)]
        out.append(
            f"Enhance this location description with current conditions:\n\nBase: {name} (ward {i + 1}). {base}\n\n"
            f"Current conditions:\n- Weather: {weather}\n- Resources: {res}\n- Recent events: {ev}\n\n"
            "Generate 2-3 sentences that naturally integrate these conditions into the scene. Focus on "
            "atmospheric details and environmental storytelling. Maintain the existing tone and style.\n\n"
            "Enhanced description:"
        )
    return out


def _bench_main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import os
    import sys

    ap = argparse.ArgumentParser(prog="python -m tools.bench.raw",
                                 description="Measure the generation engine (and raw BatchGenerator) on a model.")
    ap.add_argument("model", help="mlx-lm model folder (or name known to engine.llm.models)")
    ap.add_argument("--streams", default="1,4,8", help="comma-separated concurrency values")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=150)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--no-raw", action="store_true", help="skip the raw BatchGenerator comparison")
    ap.add_argument("--check", action="store_true", help="also check token ids equal across stream counts")
    ap.add_argument("--json", action="store_true", help="print one JSON line per measurement")
    a = ap.parse_args(argv)

    from engine.llm.cpu.fastpath import prepare_backend  # before anything imports mlx.core

    backend = prepare_backend()
    from engine.llm.models import load_model

    def loader():
        return load_model(a.model)

    prompts = bench_prompts(a.prompts)
    reqs = [GenRequest(f"bench:{i}", p, 1000 + 7919 * i, a.max_tokens, a.temperature) for i, p in enumerate(prompts)]
    print(f"backend: {backend.blas} dtype={backend.dtype} threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}",
          file=sys.stderr)
    results = []
    ids_by_streams: dict[int, dict] = {}
    for c in [int(x) for x in a.streams.split(",")]:
        eng = GenerationEngine(loader, concurrency=c)
        eng.start()
        if not eng.wait_ready(600):
            print(f"model failed: {eng.unavailable_reason()}", file=sys.stderr)
            return 2
        # warm-up (first call compiles/allocates)
        eng.submit([GenRequest("warm", prompts[0], 1, 8, a.temperature)]).wait(600)
        job = eng.submit(reqs)
        job.wait()
        m = dict(job.metrics)
        ids_by_streams[c] = dict(job.token_ids)
        row = {"streams": c, "engine": {k: m[k] for k in ("places", "tokens", "elapsed_s", "tokens_per_s",
                                                         "descriptions_per_s", "avg_latency_s", "ttft_avg_s",
                                                         "peak_rss_mb", "fallbacks")}}
        if not a.no_raw:
            raw = raw_batch_generate_on(eng, prompts, a.max_tokens, a.temperature, concurrency=c)["metrics"]
            row["raw"] = {k: raw[k] for k in ("tokens", "elapsed_s", "tokens_per_s", "descriptions_per_s", "ttft_first_s")}
            row["engine_vs_raw_tokens_per_s"] = m["tokens_per_s"] / raw["tokens_per_s"]
        eng.shutdown()
        results.append(row)
        if a.json:
            print(json.dumps(row))
        else:
            e = row["engine"]
            line = (f"streams={c}: {e['descriptions_per_s']:.3f} desc/s, {e['tokens_per_s']:.1f} tok/s, "
                    f"{e['tokens']} tokens in {e['elapsed_s']:.1f} s, ttft avg {e['ttft_avg_s']:.3f} s, "
                    f"latency avg {e['avg_latency_s']:.2f} s, peak RSS {e['peak_rss_mb']:.0f} MB")
            if "raw" in row:
                line += (f" | raw {row['raw']['tokens_per_s']:.1f} tok/s -> engine/raw = "
                         f"{row['engine_vs_raw_tokens_per_s']:.3f}")
            print(line, flush=True)
    if a.check and len(ids_by_streams) > 1:
        base_c = min(ids_by_streams)
        base = ids_by_streams[base_c]
        for c, ids in ids_by_streams.items():
            same = sum(ids[k] == base[k] for k in base)
            print(f"determinism: streams={c} vs streams={base_c}: {same}/{len(base)} identical token sequences")
    return 0


if __name__ == "__main__":
    raise SystemExit(_bench_main())
