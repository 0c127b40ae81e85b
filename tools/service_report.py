"""Print the report `texture serve --report FILE` wrote: per cycle and for the whole run.

    python -m tools.service_report REPORT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(v, nd=1, unit=""):
    return "n/a" if v is None else f"{v:.{nd}f}{unit}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tools.service_report REPORT.json", file=sys.stderr)
        return 2
    rep = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    cyc = rep.get("cycle_reports", [])
    print(f"{rep['cycles']} cycles, model {rep.get('model_id')}, config {rep.get('config')}, wall {rep.get('wall_s')} s")
    print(f"{'cycle':>5} {'start s':>8} {'places':>6} {'waiting':>7} {'model':>5} {'llm':>4} {'deferred':>8} "
          f"{'backlog':>7} {'p50 s':>7} {'p95 s':>7} {'llm p95 s':>9} {'fallback':>8} {'elapsed s':>9} {'MiB':>5}")
    t0 = cyc[0]["started"] if cyc else 0
    for c in cyc:
        print(f"{c['cycle']:>5} {c['started'] - t0:>8.1f} {c['changed']:>6} {c['waiting_before']:>7} {c['to_model']:>5} "
              f"{c['llm']:>4} {c['deferred']:>8} {c['backlog']:>7} {fmt(c['latency_p50_s']):>7} {fmt(c['latency_p95_s']):>7} "
              f"{fmt(c['llm_latency_p95_s']):>9} {fmt(c['fallback_pct'], 1, '%'):>8} {c['elapsed_s']:>9.1f} "
              f"{fmt(c['memory_mb'], 0):>5}")
    print(f"described {rep['places_described']} places, {rep['llm_descriptions']} by the model "
          f"(LLM share {fmt(rep['llm_share_pct'], 1, '%')}); {rep['to_model']} sent to the model; "
          f"{rep.get('deferred_by_cap', 0)} templates deferred by the cap"
          + (f", {rep['deferred_by_drain']} by the stop's drain" if rep.get("deferred_by_drain") else ""))
    print(f"fallback reasons: {rep['fallback_reasons'] or 'none'}; policy: {rep['policy_reasons']}")
    print(f"latency change->description: p50 of cycle p50s {fmt(rep['latency_p50_s_median'])} s, "
          f"max cycle p95 {fmt(rep['latency_p95_s_max'])} s, max model p95 {fmt(rep['llm_latency_p95_s_max'])} s")
    print(f"backlog per cycle: {rep['backlog_per_cycle']}")
    print(f"start gaps: {rep['start_gaps_s']} s; longest cycle {fmt(rep['max_cycle_s'])} s "
          f"vs the seed's {rep['seed_cycle_budget_s']:.0f} s for a 150-place batch: "
          f"{'holds' if rep['budget_holds'] else 'does not hold'}; model descriptions per cycle "
          f"{rep.get('llm_per_cycle')} vs the seed's 20-100")
    return 0


if __name__ == "__main__":
    sys.exit(main())
