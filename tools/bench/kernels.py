"""Kernel micro-benchmarks (kept out of engine/llm/cpu/cpu_kernels.py and skinny.py, which the product imports):

    python -m tools.bench.kernels prefill   # prefill of 170 tokens: mlx-lm's kernels vs cpu_kernels
    python -m tools.bench.kernels decode    # a decode step's products: the skinny kernel vs MLX
    python -m tools.bench.kernels q8        # a decode step's products on int8 weights: q8 vs q8i
    python -m tools.bench.kernels streams [N]  # N places (default 8) at 1 and 4 streams, end to end:
                                            # the default decode weights (q8) vs q8i
    python -m tools.bench.kernels q4prompt [N] [ROUNDS]  # a prompt of N tokens (default 200) on a
                                            # 4-bit model: q4i vs q4 (and llama.cpp on its GGUF)
    python -m tools.bench.kernels q4step [STEPS] [ROUNDS]  # decode steps at 1 and 4 rows on a
                                            # 4-bit model: q4d (int8 activations) vs q4 (float32)

Both use the real default model (``texture models pull``) and print figures measured side by side.
"""

from __future__ import annotations

import sys


def prefill_main() -> int:
    """Prefill time of the real model, mlx-lm's kernels vs engine/llm/cpu/cpu_kernels.py."""
    import statistics
    import time

    from mlx_lm.models.cache import make_prompt_cache

    import mlx.core as mx

    from engine.llm.cpu.cpu_kernels import NAME, install, remove
    from engine.llm.models import load_model

    lm = load_model(None)
    remove(lm.model)
    x = mx.array([list(range(100, 270))])

    def prefill():
        # The model's own call (which turns the kernels on), up to the last hidden state: the
        # cache and the final norm, without the output projection over every position.
        cache = make_prompt_cache(lm.model)
        inner = lm.model.model
        captured = {}
        real_norm = inner.norm

        class Tap:
            def __call__(self, h):
                captured["h"] = real_norm(h)
                return captured["h"][:, -1:, :]

        inner.norm = Tap()
        try:
            lm.model(x, cache=cache)
        finally:
            inner.norm = real_norm
        mx.eval(captured["h"], [c.state for c in cache])
        return captured["h"]

    def timed(n=3):
        t = time.perf_counter()
        for _ in range(n):
            prefill()
        return (time.perf_counter() - t) / n * 1000

    ref = prefill()
    install(lm.model)
    new = prefill()
    stock, fast = [], []
    for _ in range(4):  # alternate, so drift on a busy machine hits both sides alike
        remove(lm.model)
        stock.append(timed())
        install(lm.model)
        fast.append(timed())
    s, f = statistics.median(stock), statistics.median(fast)
    print(f"prefill of 170 tokens (median of 4 alternating rounds of 3): mlx-lm kernels {s:.0f} ms, "
          f"{NAME} {f:.0f} ms ({s / f:.2f}x); max |diff| of hidden states {mx.abs(ref - new).max().item():.2e}")
    return 0


def decode_main() -> int:
    """A decode step's matrix products, the skinny kernel (engine/llm/cpu/skinny.py) vs MLX."""
    import time

    import mlx.core as mx
    import mlx.nn as nn

    import numpy as np

    from engine.llm.models import load_model
    from engine.llm.cpu.skinny import load, matmul_np, status, weight_view

    lm = load_model()
    model = lm.model
    from engine.llm.cpu import cpu_kernels

    cpu_kernels.remove(model)  # plain layers: MLX's products, and the same weights for the kernel
    layers = [m for _, m in model.named_modules() if type(m) is nn.Linear]
    head = getattr(model.model, "embed_tokens", None)
    weights = [m.weight for m in layers] + ([head.weight] if head is not None else [])
    views = [weight_view(w) for w in weights]
    if load() is None or any(v is None for v in views):
        print(f"skinny kernel unavailable: {status()}")
        return 1
    mb = sum(v.nbytes for v in views) / 2**20
    print(f"{lm.info['name']}: {len(weights)} weight matrices, {mb:.0f} MiB float32, every one "
          f"multiplied once per round (a decode step's products); median of 7 rounds")

    def rounds(fn) -> float:
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return sorted(ts)[3] * 1e3

    print(f"{'rows':>4}  {'MLX (BLAS) ms':>13}  {'skinny ms':>9}  {'speed-up':>8}")
    for m in (1, 2, 4, 8):
        xs = {k: mx.random.normal((m, k), key=mx.random.key(k)) for k in {int(w.shape[1]) for w in weights}}
        mx.eval(list(xs.values()))
        xn = {k: np.array(v, copy=False) for k, v in xs.items()}

        def with_mlx():
            for w in weights:
                mx.eval(xs[w.shape[1]] @ w.T)

        def with_skinny():
            for v in views:
                matmul_np(xn[v.shape[1]], v)

        a, b = rounds(with_mlx), rounds(with_skinny)
        print(f"{m:>4}  {a:>13.1f}  {b:>9.1f}  {a / b:>7.2f}x")
    return 0


def q8_main() -> int:
    """A decode step's products on the model's int8 weights, 1 and 4 rows: the q8 products
    (float32 FMAs) against q8i (int8 activations on AVX512-VNNI), alternating, medians."""
    import statistics
    import time

    import numpy as np

    from engine.llm.cpu import calibrate, skinny
    from engine.llm.models import load_model

    lm = load_model()
    layers = [(n, m.__dict__["_texture_q8"]) for n, m in lm.model.named_modules() if "_texture_q8" in m.__dict__]
    if not layers:
        print(f"no int8 decode weights on this model ({lm.info.get('decode_weights')}): {skinny.status()}")
        return 1
    ok, why = skinny.q8i_support()
    print(f"{lm.info['name']}: {len(layers)} int8 weight matrices "
          f"({sum(q.nbytes + s.nbytes for _, (_, (q, s), _) in layers) / 2**20:.0f} MiB with scales); "
          f"q8i here: {'yes' if ok else 'no'} ({why}); chosen for the model: {lm.info.get('decode_kernel')}")
    print(f"thread split: {calibrate.status()}")
    if not ok:
        return 1
    rng = np.random.default_rng(0)
    print(f"{'rows':>4}  {'q8 ms':>7}  {'q8i ms':>7}  {'q8i, head on q8 ms':>18}  {'q8 / q8i':>8}   "
          "(a step's products: every matrix once; median of 9 alternating rounds)")
    for m in (1, 4):
        xs = {k: rng.standard_normal((m, k), dtype=np.float32) for k in {q.shape[1] for _, (_, (q, _), _) in layers}}

        def step(variant):
            for _, (_, (q, s), int_dot) in layers:
                use = variant == "q8i" or (variant == "default" and int_dot)
                (skinny.matmul_q8i_np if use else skinny.matmul_q8_np)(xs[q.shape[1]], q, s)

        times: dict[str, list[float]] = {"q8": [], "q8i": [], "default": []}
        for _ in range(9):
            for v in times:
                t = time.perf_counter()
                step(v)
                times[v].append((time.perf_counter() - t) * 1e3)
        a, b, c = (statistics.median(times[v]) for v in ("q8", "q8i", "default"))
        print(f"{m:>4}  {a:>7.1f}  {b:>7.1f}  {c:>18.1f}  {a / c:>7.2f}x")
    return 0


def streams_main(n: int = 8) -> int:
    """The bench's streams measurement in small (N places of the built-in world, their budgets):
    1 and 4 streams on the default decode weights (or ``FLUX_DECODE_WEIGHTS`` as set), then on
    the other int8 variant (q8i after q8, q8 after anything else), and whether each place got
    the same tokens at 1 and 4 streams."""
    import gc
    import os

    from tools.bench.llm import _engine, _eligible_requests, _run_job

    reqs = _eligible_requests(n)
    old = os.environ.get("FLUX_DECODE_WEIGHTS")
    try:
        # the default (or FLUX_DECODE_WEIGHTS as set), then the other int8 variant
        for weights in (old or "", "q8i" if (old or "q8") == "q8" else "q8"):
            if weights:
                os.environ["FLUX_DECODE_WEIGHTS"] = weights
            else:
                os.environ.pop("FLUX_DECODE_WEIGHTS", None)
            ids: dict[int, dict] = {}
            tps = {}
            for c in (1, 4):
                eng = _engine(c)
                try:
                    ids[c] = {}
                    tps[c] = _run_job(eng, reqs, ids[c])["tokens_per_s"]
                    info = eng.info
                finally:
                    eng.shutdown()
                    gc.collect()
            same = sum(1 for k, v in ids[1].items() if ids[4].get(k) == v)
            print(f"FLUX_DECODE_WEIGHTS={weights or '(default)'}: {info.get('model_id')}, {len(reqs)} places: "
                  f"1 stream {tps[1]:.1f} tok/s, 4 streams {tps[4]:.1f} tok/s ({tps[4] / tps[1]:.2f}x); "
                  f"same tokens at 1 and 4 streams {same}/{len(ids[1])}; kernel: {info.get('decode_kernel')}",
                  flush=True)
    finally:
        if old is None:
            os.environ.pop("FLUX_DECODE_WEIGHTS", None)
        else:
            os.environ["FLUX_DECODE_WEIGHTS"] = old
    return 0


def q4prompt_main(n: int = 200, rounds: int = 5) -> int:
    """A prompt of ``n`` tokens prefilled on a 4-bit model (the default model, or
    ``FLUX_LLM_MODEL_PATH``): its products on int8 activations (q4i) against float32 FMAs (q4),
    and llama.cpp on the GGUF the model was imported from when llama-cpp-python is installed (the
    same token ids, 2 threads; ``FLUX_BENCH_LLAMACPP_EXTRA_BUFTS=0`` as in versus), alternating,
    ``rounds`` rounds, medians of tokens/s. Each side timed on the wall clock: on a shared machine
    read the rounds side by side."""
    import os
    import statistics
    import time

    from engine.llm import native
    from engine.llm.models import load_model, resolve_model

    lm = load_model()
    dec = native.decoder_for(lm.model)
    if dec is None or dec.weights != "q4":
        print(f"{lm.info.get('model_id')}: no 4-bit decoder ({native.status()})")
        return 1
    text = " ".join(f"Line {i}: the quay, the mill and the tower stand in the rain near the river." for i in range(200))
    ids = lm.tokenizer.encode(text)[:n]
    print(f"{lm.info.get('model_id')}: a prompt of {len(ids)} tokens; prompts here: {dec.prompt_products} "
          f"(q4i path: {native.q4i_path()[1]})")
    sides = {"q4i": None, "q4": None}
    try:
        from tools.bench import llamacpp

        llamacpp.no_extra_buffers_if_asked()
        from llama_cpp import Llama

        gguf = llamacpp.model_gguf(resolve_model(None))
        threads = int(os.environ.get("FLUX_BENCH_LLAMACPP_THREADS") or 0) or os.cpu_count() or 1
        llm = Llama(model_path=str(gguf), n_ctx=max(512, len(ids) + 16), n_batch=512, n_threads=threads,
                    n_threads_batch=threads, verbose=False)
        llm.eval(ids[:8])
        sides["llama.cpp"] = llm
    except Exception as e:  # noqa: BLE001 -- llama.cpp is optional here
        print(f"llama.cpp left out: {type(e).__name__}: {e}")
    keep = dec.md.prefill_q4i

    def one(side):
        if side == "llama.cpp":
            sides[side].reset()
            t = time.perf_counter()
            sides[side].eval(ids)
            return len(ids) / (time.perf_counter() - t)
        dec.md.prefill_q4i = int(side == "q4i")
        row = dec.row_from(None, len(ids) + 1)
        t = time.perf_counter()
        dec.prefill(row, ids)
        return len(ids) / (time.perf_counter() - t)

    try:
        for side in ("q4i", "q4"):
            one(side)
        got: dict[str, list[float]] = {side: [] for side in sides}
        for r in range(rounds):
            for side in sides:
                got[side].append(one(side))
            print(f"round {r + 1}: " + ", ".join(f"{side} {v[-1]:.1f}" for side, v in got.items()) + " tok/s", flush=True)
    finally:
        dec.md.prefill_q4i = keep
    print("median tok/s: " + ", ".join(f"{side} {statistics.median(v):.1f}" for side, v in got.items()))
    return 0


def q4step_main(steps: int = 16, rounds: int = 5) -> int:
    """Decode steps on a 4-bit model (the default model, or ``FLUX_LLM_MODEL_PATH``) at 1 and at 4
    rows: the products on int8 activations (q4d, ``decode_q4i``) against float32 FMAs (q4),
    alternating, ``rounds`` rounds of ``steps`` steps each, medians of steps/s and rows' tokens/s.
    Each side timed on the wall clock: on a shared machine read the rounds side by side."""
    import statistics
    import time

    import numpy as np

    from engine.llm import native
    from engine.llm.cpu import native as cnative
    from engine.llm.models import load_model

    lm = load_model()
    dec = native.decoder_for(lm.model)
    if dec is None or dec.weights != "q4":
        print(f"{lm.info.get('model_id')}: no 4-bit decoder ({native.status()})")
        return 1
    if not cnative.decode_q4_wanted() == "q4i":
        print(f"{lm.info.get('model_id')}: no q4d in this build ({cnative.step_q4_said(dec)})")
        return 1
    ids = lm.tokenizer.encode("The quay, the mill and the tower stand in the rain near the river.")
    base = dec.row_from(None, len(ids) + rounds * steps * 2 + 8)
    dec.prefill(base, ids)
    print(f"{lm.info.get('model_id')}: decode steps after a prompt of {len(ids)} tokens, {steps} steps a round")
    keep = dec.md.decode_q4i

    def one(side, m):
        dec.md.decode_q4i = int(side == "q4d")
        rows = [type(base)(base.kv.copy(), base.length) for _ in range(m)]
        toks = np.array([ids[-1]] * m)
        t = time.perf_counter()
        for _ in range(steps):
            dec.step_np(toks, rows)
        return steps / (time.perf_counter() - t)

    sides = [(side, m) for m in (1, 4) for side in ("q4d", "q4")]
    got: dict[tuple[str, int], list[float]] = {k: [] for k in sides}
    try:
        for k in sides:
            one(*k)
        for r in range(rounds):
            for k in sides:
                got[k].append(one(*k))
            print(f"round {r + 1}: " + ", ".join(f"{s} x{m} {v[-1]:.2f}" for (s, m), v in got.items()) + " steps/s",
                  flush=True)
    finally:
        dec.md.decode_q4i = keep
    print("median steps/s (rows' tokens/s): " + ", ".join(
        f"{s} x{m} {statistics.median(v):.2f} ({m * statistics.median(v):.2f})" for (s, m), v in got.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    which = argv[0] if argv else ""
    if which not in ("prefill", "decode", "q8", "streams", "q4prompt", "q4step"):
        print("usage: python -m tools.bench.kernels prefill|decode|q8|streams [N]|q4prompt [N] [ROUNDS]|"
              "q4step [STEPS] [ROUNDS]", file=sys.stderr)
        return 2
    # OpenBLAS must be loaded before anything imports mlx.core (the CPU fast path).
    from engine.llm.cpu.fastpath import prepare_backend

    prepare_backend()
    if which == "streams":
        return streams_main(int(argv[1]) if len(argv) > 1 else 8)
    if which == "q4prompt":
        return q4prompt_main(int(argv[1]) if len(argv) > 1 else 200, int(argv[2]) if len(argv) > 2 else 5)
    if which == "q4step":
        return q4step_main(int(argv[1]) if len(argv) > 1 else 16, int(argv[2]) if len(argv) > 2 else 5)
    return {"prefill": prefill_main, "decode": decode_main, "q8": q8_main}[which]()


if __name__ == "__main__":
    raise SystemExit(main())
