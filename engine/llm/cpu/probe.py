"""The model's plain speed: one run of a stock mlx-lm ``BatchGenerator`` over chat-templated prompts.

The engine times :data:`CALIBRATION_PROMPT` with it at load (``GenerationEngine._calibrate``:
prefill and decode-step time, so the first batch's automatic deadlines fit), and ``texture bench``
uses it as the throughput reference the engine is compared with (``tools/bench/raw.py``).
It must run on the thread that owns the MLX stream: the engine thread.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

# One ~100-token place prompt in the texture-prompt shape (the first of tools/bench/raw.py's
# bench_prompts): what the load-time calibration times.
CALIBRATION_PROMPT = (
    "Enhance this location description with current conditions:\n\nBase: The Salt Harbour (ward 1). A crescent of "
    "grey stone quays where fishing boats crowd at dawn and gulls quarrel over nets.\n\nCurrent conditions:\n"
    "- Weather: cold drizzle, 6 C, wind 30 km/h\n- Resources: fish (abundant), salt (scarce)\n"
    "- Recent events: a storm wrecked two boats\n\nGenerate 2-3 sentences that naturally integrate these "
    "conditions into the scene. Focus on atmospheric details and environmental storytelling. Maintain the "
    "existing tone and style.\n\nEnhanced description:"
)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def raw_batch_generate(model: Any, tokenizer: Any, prompts: list[str], max_tokens: int,
                       temperature: float = 0.7, concurrency: int = 4, *, stream: Any = None,
                       prefill_step_size: int = 2048) -> dict:
    """Plain mlx-lm ``BatchGenerator`` over chat-templated prompts: the throughput reference.

    Must run on the thread that owns ``stream`` (when an engine owns the model:
    ``GenerationEngine.call_on_engine_thread``, as ``tools.bench.raw.raw_batch_generate_on`` does).
    """
    from mlx_lm.generate import BatchGenerator
    from mlx_lm.sample_utils import make_sampler

    toks = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True)
            for p in prompts]
    eos = sorted(getattr(tokenizer, "eos_token_ids", None) or [tokenizer.eos_token_id])
    kw = {"stream": stream} if stream is not None else {}
    t0 = time.perf_counter()
    bg = BatchGenerator(model, max_tokens=max_tokens, stop_tokens=[[t] for t in eos],
                        sampler=make_sampler(temp=temperature), completion_batch_size=concurrency,
                        prefill_batch_size=concurrency, prefill_step_size=prefill_step_size, **kw)
    uids = bg.insert(toks, max_tokens=[max_tokens] * len(toks))
    out: dict[int, list[int]] = {u: [] for u in uids}
    first: dict[int, float] = {}
    while responses := bg.next_generated():
        now = time.perf_counter()
        for r in responses:
            first.setdefault(r.uid, now - t0)
            if r.finish_reason != "stop":
                out[r.uid].append(r.token)
    elapsed = time.perf_counter() - t0
    bg.close()
    ids = [out[u] for u in uids]
    tokens = sum(len(x) for x in ids)
    return {
        "texts": [tokenizer.decode(x) for x in ids],
        "token_ids": ids,
        "metrics": {
            "places": len(prompts),
            "tokens": tokens,
            "elapsed_s": elapsed,
            "tokens_per_s": tokens / elapsed,
            "descriptions_per_s": len(prompts) / elapsed,
            "ttft_first_s": min(first.values()) if first else None,
            "peak_rss_mb": peak_rss_mb(),
            "concurrency": concurrency,
        },
    }
