"""What every ``texture`` subcommand shares: the common options, the config, world, store and
prompts from the parsed arguments, the world-error report, and starting the model service.

A small public API of the cli package (cli/main.py, cli/workbench.py, cli/serve.py and
engine/evaluate.py's ``texture eval`` use it), so no command borrows another's private helpers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine import locations
from engine.config import ConfigError, Config, load_config


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help=f"SQLite database (default: {locations.default_db()}; TEXTURE_HOME moves it)")
    p.add_argument("--world", type=Path, default=None, help="world file, JSON Lines or a JSON array (default: the built-in 1,500-place world)")
    p.add_argument("--config", type=Path, default=None, help=f"config file (default: {locations.config_file()} if it exists)")
    p.add_argument("--prompts", type=Path, default=None, help=f"prompts folder (default: {locations.default_prompts_dir()})")


def add_llm(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-llm", action="store_true", help="template-only (same as FLUX_LLM_ENABLED=false)")
    p.add_argument("--model", default=None, help="model folder or name under models/ (FLUX_LLM_MODEL_PATH)")
    p.add_argument("--concurrency", default=None, help="concurrent streams, 1-8 (FLUX_LLM_CONCURRENCY, default 4)")
    p.add_argument("--timeout", default=None, help="per-description deadline in ms, or 'auto' (FLUX_LLM_TIMEOUT)")
    p.add_argument("--cluster", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="run the model work on a Ray cluster (the [cluster] extra): no ADDRESS or 'auto' starts a local "
                   "Ray instance, an address joins a running cluster; 'off' runs here (FLUX_CLUSTER)")
    p.add_argument("--workers", default=None, help="Ray workers for --cluster (FLUX_CLUSTER_WORKERS; default one per two CPUs)")
    p.add_argument("--min-quality", default=None, help="quality an LLM text needs to replace the template, 0-1 (FLUX_LLM_MIN_QUALITY)")
    p.add_argument("--candidates", default=None, help="seeded candidates per place, best kept, 1-8 (FLUX_LLM_CANDIDATES)")


def config(args, extra: dict | None = None) -> Config:
    overrides = dict(extra or {})
    if getattr(args, "no_llm", False):
        overrides["FLUX_LLM_ENABLED"] = "false"
    for flag, var in (("model", "FLUX_LLM_MODEL_PATH"), ("concurrency", "FLUX_LLM_CONCURRENCY"), ("timeout", "FLUX_LLM_TIMEOUT"),
                      ("cluster", "FLUX_CLUSTER"), ("workers", "FLUX_CLUSTER_WORKERS"),
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


def world(args):
    from engine.builtin_world import builtin_world
    from engine.world import load_world

    if args.world is None:
        return builtin_world(), []
    res = load_world(args.world)
    return res.places, res.errors


def store(args):
    from engine.store import Store

    return Store(args.db or locations.default_db())


def prompts(cfg: Config):
    from engine.prompts import PromptLibrary

    return PromptLibrary(Path(cfg.prompts_dir) if cfg.prompts_dir else locations.default_prompts_dir())


def report_world_errors(errors, out=None, limit=20) -> None:
    out = out or sys.stderr
    for e in errors[:limit]:
        print(f"skipped {e}", file=out)
    if len(errors) > limit:
        print(f"... and {len(errors) - limit} more bad lines", file=out)
    if errors:
        print(f"{len(errors)} bad line(s) skipped", file=out)


def start_llm(cfg: Config):
    """The model service for a headless batch. ``TEXTURE_SCRIPTED=1`` swaps in the scripted model
    (a test seam: crash and robustness tests use it; ``TEXTURE_SCRIPTED_DELAY`` = seconds/token).
    With ``cfg.cluster`` the model work runs on Ray actors (engine.cluster; Ray imported only then)."""
    scripted = os.environ.get("TEXTURE_SCRIPTED", "").strip().lower() in ("1", "true", "yes")
    if cfg.cluster:
        from engine.cluster import start_cluster_llm

        kw = {"token_delay_s": float(os.environ.get("TEXTURE_SCRIPTED_DELAY") or 0)} if scripted else None
        return start_cluster_llm(cfg, log=lambda m: print(m, file=sys.stderr, flush=True), scripted=kw)
    if scripted:
        from engine.llm.scripted import ScriptedLLM

        return ScriptedLLM(concurrency=cfg.concurrency, token_delay_s=float(os.environ.get("TEXTURE_SCRIPTED_DELAY") or 0))
    from engine.llm.service import start_service

    llm = start_service(cfg, log=lambda m: print(m, file=sys.stderr))
    llm.wait_ready()
    return llm
