"""``texture serve``: the texture service headless (see :mod:`engine.service`).

One log line per cycle on stderr (``--json``: one JSON object per cycle on stdout), and one when a
cycle starts. SIGTERM or Ctrl-C: the model finishes the places it is decoding and starts no more;
the running cycle's other places get their template now (reason ``deferred``) and stay waiting for
the model, the cycle is stored and handed back, and the process exits 0 with a line saying how many
finished and how many wait for the restart (which picks them up). A second signal cancels the
places in flight at once (finished results are kept; the rest wait for the model as well).
``--report FILE`` writes the run's figures (latency p50/p95, backlog per cycle, LLM share,
fallback reasons, cycle budget).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path


def add_parser(sub, add_common, add_llm) -> None:
    p = sub.add_parser("serve", help="keep a live world's descriptions fresh (watch, batch, hand back)",
                       description="Watch the world file, reload it on every change and run batch cycles on the places "
                                   "whose state changed, on a cadence set by the activity (FLUX_CYCLE_MIN_S..FLUX_CYCLE_MAX_S), "
                                   "at most FLUX_CYCLE_MAX_LLM places to the model per cycle.")
    add_common(p)
    add_llm(p)
    p.add_argument("--outbox", type=Path, default=None, help="append each cycle's new descriptions here (JSON Lines, fsynced)")
    p.add_argument("--json", action="store_true", help="one JSON object per cycle on stdout")
    p.add_argument("--cycles", type=int, default=None, help="stop after N cycles")
    p.add_argument("--report", type=Path, default=None, help="write the run's report (JSON) here when it stops")
    p.add_argument("--min-s", default=None, help="shortest interval between cycle starts, s (FLUX_CYCLE_MIN_S, default 30)")
    p.add_argument("--max-s", default=None, help="longest wait for a cycle while changes wait, s (FLUX_CYCLE_MAX_S, default 300)")
    p.add_argument("--max-llm", default=None, help="places to the model per cycle (FLUX_CYCLE_MAX_LLM, default 50)")


def run_report(cycles: list[dict], seed_budget_s: float = 135.0) -> dict:
    """Figures over a run's cycles (also used by tools/service_report.py)."""
    from engine.service import _pct

    lat = [c["latency_p50_s"] for c in cycles if c.get("latency_p50_s") is not None]
    reasons: dict[str, int] = {}
    for c in cycles:
        for k, v in (c.get("reasons") or {}).items():
            reasons[k] = reasons.get(k, 0) + v
    described = sum(c["changed"] for c in cycles)
    llm = sum(c["llm"] for c in cycles)
    to_model = sum(c["to_model"] for c in cycles)
    elapsed = [c["elapsed_s"] for c in cycles]
    gaps = [round(b["started"] - a["started"], 1) for a, b in zip(cycles, cycles[1:])]
    return {
        "cycles": len(cycles),
        "places_described": described,
        "llm_descriptions": llm,
        "llm_share_pct": round(100.0 * llm / described, 1) if described else None,
        "to_model": to_model,
        "fallback_reasons": {k: v for k, v in reasons.items()
                             if k not in ("tier", "deferred", "disabled") and not k.startswith("rule:")},
        "deferred_by_cap": reasons.get("deferred", 0) - sum(c.get("drained") or 0 for c in cycles),
        "deferred_by_drain": sum(c.get("drained") or 0 for c in cycles),  # the stop's drain (SIGTERM)
        "policy_reasons": {k: v for k, v in reasons.items() if k == "tier" or k.startswith("rule:")},
        "llm_per_cycle": [c["llm"] for c in cycles],
        "seed_llm_per_cycle_min": 20,
        "latency_p50_s_per_cycle": lat,
        "latency_p50_s_median": _pct(lat, 0.5),
        "latency_p95_s_max": max((c["latency_p95_s"] for c in cycles if c.get("latency_p95_s") is not None), default=None),
        "llm_latency_p95_s_max": max((c["llm_latency_p95_s"] for c in cycles if c.get("llm_latency_p95_s") is not None), default=None),
        "backlog_per_cycle": [c["backlog"] for c in cycles],
        "changed_per_cycle": [c["changed"] for c in cycles],
        "elapsed_s_per_cycle": elapsed,
        "start_gaps_s": gaps,
        "max_cycle_s": max(elapsed, default=None),
        "seed_cycle_budget_s": seed_budget_s,
        "budget_holds": (max(elapsed) <= seed_budget_s) if elapsed else None,
        "memory_mb_max": max((c["memory_mb"] for c in cycles if c.get("memory_mb") is not None), default=None),
    }


def cmd_serve(args, config, start_llm, prompts_for, report_world_errors) -> int:
    from engine.service import CycleStarted, FileChanges, TextureService
    from engine.store import Store
    from engine import locations

    overrides = {"FLUX_CYCLE_MIN_S": args.min_s, "FLUX_CYCLE_MAX_S": args.max_s, "FLUX_CYCLE_MAX_LLM": args.max_llm}
    cfg = config(args, {k: v for k, v in overrides.items() if v is not None})
    if args.world is None:
        from engine.errors import UsageError

        raise UsageError("texture serve watches a world file: give --world FILE "
                         "(`python -m tools.worldsim --world FILE --init` writes the built-in world to one)")
    if args.cycles is not None and args.cycles < 1:
        from engine.errors import UsageError

        raise UsageError("--cycles must be 1 or more")
    store = Store(args.db or locations.default_db())
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    llm = start_llm(cfg) if cfg.enabled else None
    changes = FileChanges(args.world)

    def on_event(ev) -> None:
        if isinstance(ev, CycleStarted):
            log(ev.line())

    svc = TextureService(store, cfg, prompts_for(cfg), llm, args.world, changes=changes, log=log, outbox=args.outbox,
                         observer=on_event)
    signals = {"n": 0}

    def on_signal(signum, frame):
        signals["n"] += 1
        if signals["n"] == 1:
            log(f"{signal.Signals(signum).name}: finishing the places in flight, starting no more, then stopping "
                "(again to cancel them now)")
            svc.stop(drain=True)
        else:
            log("cancelling the places in flight: finished results are kept")
            svc.stop(cancel=True)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    t0 = time.monotonic()

    def on_cycle(rep) -> None:
        log(rep.line())
        if args.json:
            print(json.dumps(rep.as_dict(), default=str), flush=True)

    try:
        svc.start()
        log(f"serving {args.world}: {len(svc.world)} places, {len(svc.work())} waiting; cycles every "
            f"{cfg.cycle_min_s:g}-{cfg.cycle_max_s:g} s, at most {cfg.cycle_max_llm} to the model; db={store.path}"
            + (f"; outbox {args.outbox}" if args.outbox else ""))
        svc.run_forever(max_cycles=args.cycles, on_cycle=on_cycle)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        svc.close()
        if llm is not None:
            llm.shutdown()
    cycles = [c.as_dict() for c in svc.cycles]
    if args.report:
        rep = run_report(cycles)
        rep["wall_s"] = round(time.monotonic() - t0, 1)
        rep["model_id"] = getattr(llm, "model_id", None)
        rep["config"] = {"cycle_min_s": cfg.cycle_min_s, "cycle_max_s": cfg.cycle_max_s, "cycle_max_llm": cfg.cycle_max_llm,
                         "concurrency": cfg.concurrency}
        rep["cycle_reports"] = cycles
        args.report.write_text(json.dumps(rep, indent=2, default=str) + "\n", encoding="utf-8")
        log(f"report written to {args.report}")
    if signals["n"]:
        log(f"stopped by signal: {svc.stop_summary()}")
    log(f"stopped after {len(cycles)} cycle(s)")
    return 0
