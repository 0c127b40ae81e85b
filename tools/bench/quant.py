"""Bench pieces for the decode weights (``texture bench``): q8 against float32, and what a
bigger model costs.

* :func:`f32_at_4_streams` runs the bench's 4-stream job once more with float32 decode weights
  (``FLUX_DECODE_WEIGHTS=f32``), so ``llm.quantized_vs_f32_4_streams`` is a ratio from one run.
* :func:`bigger_models` times decode steps at 1 and 4 rows on randomly initialised models with
  the shapes of Qwen2.5-0.5B and Qwen2.5-1.5B (speed does not depend on the values): float32
  and q8 decode weights on the same model, alternating, medians. ``texture bench --no-sizes``
  skips it.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from typing import Any, Callable

# Shapes from the models' config.json (Qwen/Qwen2.5-0.5B-Instruct, Qwen/Qwen2.5-1.5B-Instruct).
SHAPES = {
    "Qwen2.5-0.5B": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "Qwen2.5-1.5B": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
}


def f32_at_4_streams(reqs: list[dict], engine: Callable[[int], Any], run_job: Callable) -> dict:
    """The same 4-stream job with float32 decode weights: its metrics and model id."""
    old = os.environ.get("FLUX_DECODE_WEIGHTS")
    os.environ["FLUX_DECODE_WEIGHTS"] = "f32"
    try:
        eng = engine(4)
    finally:
        if old is None:
            os.environ.pop("FLUX_DECODE_WEIGHTS", None)
        else:
            os.environ["FLUX_DECODE_WEIGHTS"] = old
    try:
        m = run_job(eng, reqs)
        return {"model_id": eng.info.get("model_id"), "tokens_per_s": round(m["tokens_per_s"], 2),
                "descriptions_per_s": round(m["descriptions_per_s"], 4)}
    finally:
        eng.shutdown()
        gc.collect()


def _random_model(shape: dict) -> Any:
    import mlx.core as mx
    from mlx_lm.models import qwen2

    args = qwen2.ModelArgs(model_type="qwen2", rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=32768,
                           **shape)
    mx.random.seed(0)
    model = qwen2.Model(args)
    mx.eval(model.parameters())
    return model


def _steps_ms(model: Any, rows: int, steps: int = 4) -> float:
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache = make_prompt_cache(model)
    mx.eval(model(mx.array([[100 + r] * 8 for r in range(rows)]), cache=cache))
    step = mx.array([[7 + r] for r in range(rows)])
    return _median_ms(lambda: mx.eval(model(step, cache=cache)), steps)


def _native_steps_ms(dec: Any, rows: int, steps: int = 4) -> float:
    """The same measurement on the whole decode step in C (engine.llm.cpu.native), rows prefilled there."""
    import numpy as np

    kv = []
    for r in range(rows):
        row = dec.row_from(None, 8 + steps + 2)
        dec.prefill(row, [100 + r] * 8, logits=False)
        kv.append(row)
    ids = np.arange(7, 7 + rows)
    return _median_ms(lambda: dec.step_np(ids, kv), steps)


def _median_ms(step: Callable[[], Any], steps: int) -> float:
    """One untimed ``step()``, then the median of ``steps`` timed ones, in ms."""
    step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def bigger_models(log: Callable[[str], None] | None = None, names: tuple[str, ...] = tuple(SHAPES),
                  rounds: int = 3) -> dict:
    """Decode tok/s at 1 and 4 rows, float32 vs q8 decode weights, per model shape."""
    log = log or (lambda m: None)
    from engine.llm.cpu.fastpath import prepare_backend

    backend = prepare_backend()
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels, native, skinny

    if backend.device != "cpu" or skinny.load() is None:
        return {"error": f"not the CPU path with the skinny kernel ({backend.device}, {skinny.status()})"}
    in_c = native.enable_prefill()
    how = ("the whole step in C (engine.llm.cpu.native); q8_tiles: the same with the q8 weights dequantized "
           "into bfloat16 AMX tiles, the default path on a CPU with AMX") if in_c else "MLX with the C products"
    out: dict = {"method": f"decode steps of a randomly initialised model (float32 weights, q8 copies for decode), "
                           f"{how}, median of {rounds} alternating rounds of 4 steps; tok/s = rows / step time"}
    for name in names:
        log(f"  {name} shape, random weights: float32 vs q8 decode at 1 and 4 rows ...")
        model = _random_model(SHAPES[name])
        old = os.environ.get("FLUX_DECODE_WEIGHTS")
        os.environ["FLUX_DECODE_WEIGHTS"] = "q8"
        try:
            cpu_kernels.install(model)
        finally:
            if old is None:
                os.environ.pop("FLUX_DECODE_WEIGHTS", None)
            else:
                os.environ["FLUX_DECODE_WEIGHTS"] = old
        q8 = {id(m): m.__dict__["_texture_q8"] for _, m in model.named_modules() if "_texture_q8" in m.__dict__}
        mods = [m for _, m in model.named_modules() if id(m) in q8]
        params = sum(v.size for _, v in __import__("mlx.utils", fromlist=["tree_flatten"]).tree_flatten(model.parameters()))
        times: dict[str, list[float]] = {}
        try:
            for _ in range(rounds):
                for weights in ("f32", "q8"):
                    for m in mods:
                        if weights == "q8":
                            object.__setattr__(m, "_texture_q8", q8[id(m)])
                        else:
                            m.__dict__.pop("_texture_q8", None)
                    try:
                        dec = native.build(model) if in_c else None
                    except native.Unsupported:
                        dec = None
                    for rows in (1, 4):
                        ms = _steps_ms(model, rows) if dec is None else _native_steps_ms(dec, rows)
                        times.setdefault(f"{weights}:{rows}", []).append(ms)
                    if weights == "q8" and dec is not None:
                        # and as the default path runs them on a CPU with AMX: the q8 weights
                        # dequantized into bfloat16 tiles (engine.llm.cpu.native.pack_amx)
                        native.pack_amx(dec)
                        if dec.step_products == "amx-bf16":
                            for rows in (1, 4):
                                times.setdefault(f"q8t:{rows}", []).append(_native_steps_ms(dec, rows))
                    del dec
        finally:
            cpu_kernels.remove(model)
        med = {k: statistics.median(v) for k, v in times.items()}
        tps = {k: round(int(k.split(":")[1]) * 1000 / v, 1) for k, v in med.items()}
        out[name] = {
            "params": params,
            "f32_mib": round(params * 4 / 2**20),
            "q8_mib": round(sum(q.nbytes + s.nbytes for q, s in (v[1] for v in q8.values())) / 2**20),
            "tokens_per_s": {"f32": {"1": tps["f32:1"], "4": tps["f32:4"]}, "q8": {"1": tps["q8:1"], "4": tps["q8:4"]},
                             **({"q8_tiles": {"1": tps["q8t:1"], "4": tps["q8t:4"]}} if "q8t:1" in tps else {})},
            "step_ms": {k: round(v, 1) for k, v in med.items()},
            "q8_vs_f32_4_streams": round(tps["q8:4"] / tps["f32:4"], 2),
        }
        del model, q8, mods
        gc.collect()
        mx.clear_cache()
    return out


def table_rows(sizes: dict) -> list[tuple[str, str]]:
    if "error" in sizes:
        return [("bigger models", f"not measured: {sizes['error']}")]
    rows = []
    for name in SHAPES:
        r = sizes.get(name)
        if not r:
            continue
        t = r["tokens_per_s"]
        rows.append((f"{name} shape (random weights)",
                     f"decode tok/s f32 {t['f32']['1']} (1 row) / {t['f32']['4']} (4 rows); q8 {t['q8']['1']} / "
                     f"{t['q8']['4']}; q8 vs f32 at 4 rows {r['q8_vs_f32_4_streams']}x; "
                     f"{r['f32_mib']:,} MiB f32 + {r['q8_mib']:,} MiB q8"
                     + (f"; q8 on AMX tiles {t['q8_tiles']['1']} / {t['q8_tiles']['4']}" if "q8_tiles" in t else "")))
    return rows


if __name__ == "__main__":  # python -m tools.bench.quant [0.5B|1.5B]: the bigger-model section alone
    import json
    import sys

    pick = tuple(n for n in SHAPES if any(a in n for a in sys.argv[1:])) or tuple(SHAPES)
    res = bigger_models(log=lambda m: print(m, file=sys.stderr, flush=True), names=pick)
    for row in table_rows(res):
        print(f"{row[0]}: {row[1]}")
    print(json.dumps(res))
