"""Ours against llama.cpp on one model, interleaved: the short form of ``texture bench --model NAME
--against-llamacpp`` for a shared machine.

On a CPU shared with other busy processes the speed of each run depends on what the others do at
that moment, so a comparison made of runs minutes apart says little. Here the runs alternate --
llama.cpp one sequence, ours 1 stream, ours 4 streams, llama.cpp again -- on the same places,
prompts (as token ids, the model's own chat template) and budgets, and each side's peak RSS is
its own process's (llama.cpp in a child; ours in another child, one per stream count, so no
high-water mark of one run counts in another). Prompt tokens/s are measured on each side too
(llama.cpp's prompt-eval time from its timings; ours: a prompt prefilled alone).

    python -m tools.bench.versus --model NAME [--places 4] [--max-tokens 48] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _ours_child(spec: dict) -> dict:
    """One engine run in this (child) process: descriptions/s, tokens/s, load time, peak RSS."""
    import resource

    from tools.bench.llm import _engine, _run_job

    t0 = time.perf_counter()
    eng = _engine(int(spec["streams"]))
    load_s = time.perf_counter() - t0
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    log(f"  ours: {eng.info.get('model_id')} loaded in {load_s:.1f} s; {eng.info.get('weights_kept')}")
    try:
        m = _run_job(eng, spec["reqs"], None, log, f"ours, {spec['streams']} stream(s)")
        prefill = None
        if spec.get("prefill_ids"):
            from engine.llm import native

            def one(model, tokenizer, stream, step):
                dec = native.decoder_for(model)
                if dec is None or not dec.can_prefill:
                    return None
                ids = spec["prefill_ids"]
                row = dec.row_from(None, len(ids) + 1)
                t = time.perf_counter()
                dec.prefill(row, ids)
                return len(ids) / (time.perf_counter() - t)

            prefill = eng.call_on_engine_thread(one)
        info = dict(eng.info)
    finally:
        eng.shutdown()
    return {"descriptions_per_s": round(m["descriptions_per_s"], 4), "tokens_per_s": round(m["tokens_per_s"], 2),
            "tokens": m["tokens"], "load_s": round(load_s, 2), "model_id": info.get("model_id"),
            "weights_kept": info.get("weights_kept"),
            "prefill_tokens_per_s": None if prefill is None else round(prefill, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _run_ours(streams: int, reqs: list[dict], prefill_ids: list[int] | None) -> dict:
    import tempfile

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="texture-versus-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"streams": streams, "reqs": reqs, "prefill_ids": prefill_ids}))
        env = {**os.environ, "PYTHONPATH": str(root)}
        p = subprocess.run([sys.executable, "-m", "tools.bench.versus", "--child", str(spec)], cwd=root, env=env,
                           stdout=subprocess.PIPE, text=True, timeout=7200)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"our run failed (exit {p.returncode})")
    return json.loads(lines[-1])


def _llamacpp_prefill(gguf: Path, ids: list[int], threads: int) -> float | None:
    """llama.cpp's prompt tokens/s on one prompt (its own timings), in a child process."""
    code = ("import json,sys,time\nfrom tools.bench.llamacpp import no_extra_buffers_if_asked\n"
            "no_extra_buffers_if_asked()\nfrom llama_cpp import Llama\n"
            f"llm=Llama(model_path={str(gguf)!r},n_ctx=2048,n_batch=512,n_threads={threads},n_threads_batch={threads},verbose=False)\n"
            f"ids={ids!r}\nllm.eval(ids[:8]);llm.reset()\nt=time.perf_counter();llm.eval(ids);dt=time.perf_counter()-t\n"
            "print(json.dumps(len(ids)/dt))\n")
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, timeout=3600, cwd=root,
                       env={**os.environ, "PYTHONPATH": str(root)})
    try:
        return round(float(p.stdout.strip().splitlines()[-1]), 1)
    except (ValueError, IndexError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.versus", description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--places", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_ours_child(json.loads(Path(a.child).read_text()))))
        return 0
    from engine.llm.models import resolve_model
    from tools.bench import llamacpp
    from tools.bench.llm import _eligible_requests

    folder = resolve_model(a.model)
    if folder is None:
        print(f"--model {a.model}: no such imported model", file=sys.stderr)
        return 2
    os.environ["FLUX_LLM_MODEL_PATH"] = str(folder)
    reqs = _eligible_requests(a.places, budget_override=a.max_tokens)
    gguf = llamacpp.model_gguf(folder)
    prompts = llamacpp._prompt_tokens(reqs, folder)
    threads = int(os.environ.get("FLUX_BENCH_LLAMACPP_THREADS") or 0) or os.cpu_count() or 1
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    out: dict = {"model": folder.name, "gguf": gguf.name, "gguf_bytes": gguf.stat().st_size, "places": len(reqs),
                 "max_tokens": a.max_tokens, "threads": threads, "rounds": []}
    for r in range(a.rounds):
        rnd: dict = {}
        log(f"round {r + 1}: llama.cpp, 1 sequence ...")
        rnd["llamacpp_1"] = llamacpp._child("one", gguf, reqs, prompts, threads, log)
        log(f"round {r + 1}: ours, 1 stream ...")
        rnd["ours_1"] = _run_ours(1, reqs, prompts[0])
        log(f"round {r + 1}: ours, 4 streams ...")
        rnd["ours_4"] = _run_ours(4, reqs, None)
        log(f"round {r + 1}: llama.cpp, prompt tokens/s ...")
        rnd["llamacpp_prefill_tokens_per_s"] = _llamacpp_prefill(gguf, prompts[0], threads)
        l1 = rnd["llamacpp_1"]
        rnd["ratio_4_streams_vs_llamacpp_1"] = round(rnd["ours_4"]["descriptions_per_s"] / l1["descriptions_per_s"], 3)
        rnd["ratio_1_stream_vs_llamacpp_1"] = round(rnd["ours_1"]["descriptions_per_s"] / l1["descriptions_per_s"], 3)
        out["rounds"].append(rnd)
        log(json.dumps(rnd))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
