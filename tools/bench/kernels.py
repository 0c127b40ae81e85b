"""Kernel micro-benchmarks (moved out of engine/llm/cpu_kernels.py and skinny.py, issue #12):

    python -m tools.bench.kernels prefill   # prefill of 170 tokens: mlx-lm's kernels vs cpu_kernels
    python -m tools.bench.kernels decode    # a decode step's products: the skinny kernel vs MLX

Both use the real default model (``texture models pull``) and print figures measured side by side.
"""

from __future__ import annotations

import sys


def prefill_main() -> int:
    """Prefill time of the real model, mlx-lm's kernels vs engine/llm/cpu_kernels.py."""
    import statistics
    import time

    from mlx_lm.models.cache import make_prompt_cache

    import mlx.core as mx

    from engine.llm.cpu_kernels import NAME, install, remove
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
    """A decode step's matrix products, the skinny kernel (engine/llm/skinny.py) vs MLX."""
    import time

    import mlx.core as mx
    import mlx.nn as nn

    import numpy as np

    from engine.llm.models import load_model
    from engine.llm.skinny import load, matmul_np, status, weight_view

    lm = load_model()
    model = lm.model
    from engine.llm import cpu_kernels

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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    which = argv[0] if argv else ""
    if which not in ("prefill", "decode"):
        print("usage: python -m tools.bench.kernels prefill|decode", file=sys.stderr)
        return 2
    # OpenBLAS must be loaded before anything imports mlx.core (the CPU fast path).
    from engine.llm.fastpath import prepare_backend

    prepare_backend()
    return prefill_main() if which == "prefill" else decode_main()


if __name__ == "__main__":
    raise SystemExit(main())
