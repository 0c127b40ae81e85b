"""``texture prompts``: the prompt workbench headless (for scripts and CI).

::

    texture prompts history [NAME] [--json]
    texture prompts diff A B [--name NAME]
    texture prompts restore VERSION [--name NAME]
    texture prompts compare A [B] (--pinned SET | --urn URN ... | --sample N) [--temperature T ...]
                            [--budget N ...] [--runs 2] [--json] [--no-texts]
    texture prompts pin SET (--urn URN ... | --sample N [--seed S])
    texture prompts pins [--json]
    texture prompts rate OUTPUT good|bad [--note TEXT]
    texture prompts ratings export --format jsonl|csv -o FILE

A prompt reference (A, B, VERSION) is ``current`` or ``previous`` (of ``--name``, default
``texture``), a version id or a unique prefix of one (``texture prompts history``), the name of
another prompt file, or a path to a prompt file. ``compare`` makes one variant per prompt x
``--temperature`` x ``--budget``; ``--json`` prints ``CompareResult.as_dict()`` (run id, variants,
per-variant summary, the places x variants matrix). With ``--runs 2`` everything runs twice and the
exit status is 1 if any re-run text differs (generation is seeded, so it should not).

Wiring (cli/main.py): ``workbench.add_parser(sub)`` in ``build_parser``; ``"prompts"`` in
``main``'s command set and ``cmd_prompts`` calls ``workbench.handle``; the shared options and
helpers come from cli/common.py. User errors are one line
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.errors import TextureError
from engine.prompts import DEFAULT_PROMPT

from . import common
from .common import add_common, add_llm



def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``prompts`` (and its actions) to the ``texture`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "prompts", help="prompt workbench: versions, compare, pinned sets, ratings",
        description="The prompt workbench headless: prompt version history, diff and restore; compare prompt "
                    "versions (or temperatures, budgets) on a pinned set of places; ratings export.")
    sub = p.add_subparsers(dest="prompts_cmd", metavar="ACTION")

    a = sub.add_parser("history", help="list the recorded versions of a prompt")
    a.add_argument("name", nargs="?", default=DEFAULT_PROMPT, help=f"prompt name (default {DEFAULT_PROMPT})")
    a.add_argument("--json", action="store_true", help="print JSON")
    add_common(a)

    a = sub.add_parser("diff", help="line diff of two prompt versions")
    a.add_argument("a", help="current | previous | version id (prefix) | prompt name | file")
    a.add_argument("b", help="the same kinds of reference")
    a.add_argument("--name", default=DEFAULT_PROMPT, help="the prompt current/previous refer to")
    add_common(a)

    a = sub.add_parser("restore", help="write a recorded version back to its prompt file (a new save)")
    a.add_argument("version", help="version id or prefix (see history)")
    a.add_argument("--name", default=DEFAULT_PROMPT, help=f"prompt name (default {DEFAULT_PROMPT})")
    add_common(a)

    a = sub.add_parser("compare", help="A/B two prompt versions (or temperatures, budgets) on places",
                       description="Run every place under every variant and print the matrix and a summary per "
                                   "variant: fallback rate, mean length, fact coverage, rating score.")
    a.add_argument("a", help="current | previous | version id (prefix) | prompt name | file")
    a.add_argument("b", nargs="?", default=None, help="a second prompt (optional with --temperature/--budget)")
    a.add_argument("--name", default=DEFAULT_PROMPT, help="the prompt current/previous refer to")
    a.add_argument("--pinned", default=None, metavar="SET", help="the places of this pinned set")
    a.add_argument("--urn", action="append", default=None, help="this place (repeatable)")
    a.add_argument("--sample", type=int, default=None, metavar="N", help="a stratified sample of N places")
    a.add_argument("--seed", type=int, default=0, help="sample seed (with --sample)")
    a.add_argument("--temperature", type=float, action="append", default=None, help="sampling temperature (repeatable)")
    a.add_argument("--budget", type=int, action="append", default=None, help="token budget for every place (repeatable)")
    a.add_argument("--runs", type=int, choices=(1, 2), default=1, help="2: run again and check the texts are identical")
    a.add_argument("--json", action="store_true", help="print the result as one JSON object")
    a.add_argument("--no-texts", action="store_true", help="leave output texts out of the JSON")
    a.add_argument("--label", default="", help="a label stored with the run")
    add_common(a)
    add_llm(a)

    a = sub.add_parser("pin", help="save a named regression set of places")
    a.add_argument("set", metavar="SET")
    a.add_argument("--urn", action="append", default=None, help="a place (repeatable)")
    a.add_argument("--sample", type=int, default=None, metavar="N", help="a stratified sample of N places")
    a.add_argument("--seed", type=int, default=0, help="sample seed")
    add_common(a)

    a = sub.add_parser("pins", help="list the pinned sets")
    a.add_argument("--json", action="store_true")
    add_common(a)

    a = sub.add_parser("rate", help="rate an output good or bad")
    a.add_argument("output", help="workbench output id (wb:ID) or result:ID")
    a.add_argument("rating", choices=("good", "bad"))
    a.add_argument("--note", default="")
    add_common(a)

    a = sub.add_parser("ratings", help="ratings: export")
    rsub = a.add_subparsers(dest="ratings_cmd", metavar="ACTION")
    e = rsub.add_parser("export", help="write every rating as JSON Lines or CSV")
    e.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    e.add_argument("-o", "--output", type=Path, required=True)
    add_common(e)
    return p


# --- helpers ----------------------------------------------------------------------------------

def _ctx(args, *, world: bool = False):
    cfg = common.config(args)
    store = common.store(args)
    library = common.prompts(cfg)
    places = None
    if world:
        places, errors = common.world(args)
        common.report_world_errors(errors)
    return common, cfg, store, library, places


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _places(args, places, cfg, store):
    from engine.workbench import WorkbenchError, get_pinned, places_for, stratified_sample

    given = [x for x in (args.pinned is not None, bool(args.urn), args.sample is not None) if x]
    if len(given) != 1:
        raise WorkbenchError("choose the places with exactly one of --pinned SET, --urn URN ... or --sample N")
    if args.pinned is not None:
        return places_for(get_pinned(store, args.pinned).urns, places), f"pinned {args.pinned}"
    if args.urn:
        return places_for(args.urn, places), f"urn x{len(args.urn)}"
    if args.sample <= 0:
        raise WorkbenchError("--sample must be 1 or more")
    return stratified_sample(places, cfg, args.sample, args.seed), f"sample {args.sample} seed {args.seed}"


def _fmt(x, spec: str = ".2f", none: str = "-") -> str:
    return none if x is None else format(x, spec)


# --- actions ----------------------------------------------------------------------------------

def _history(args) -> int:
    from engine.workbench import record_library, history

    _cli, _cfg, store, library, _ = _ctx(args)
    record_library(store, library)
    rows = history(store, args.name, library)
    if args.json:
        print(json.dumps([v.as_dict() for v in rows]))
        return 0
    if not rows:
        print(f"no recorded versions of {args.name!r}")
        return 0
    print(f"versions of {args.name!r} (newest first; * = on disk now):")
    for v in rows:
        mark = "*" if v.on_disk else " "
        restored = f"  restored {v.restores}x" if v.restores else ""
        print(f"{mark} {v.version}  first {_when(v.first_seen)}  last {_when(v.last_seen)}  {v.lines:3d} lines{restored}")
    return 0


def _diff(args) -> int:
    from engine.workbench import diff_versions, record_library, resolve_prompt

    _cli, _cfg, store, library, _ = _ctx(args)
    record_library(store, library)
    a = resolve_prompt(args.a, library, store, args.name)
    b = resolve_prompt(args.b, library, store, args.name)
    print(f"--- {args.a} ({a.version})")
    print(f"+++ {args.b} ({b.version})")
    for tag, line in diff_versions(a.text, b.text):
        print(f"{tag} {line}")
    return 0


def _restore(args) -> int:
    from engine.workbench import record_library, restore_version

    _cli, _cfg, store, library, _ = _ctx(args)
    record_library(store, library)
    path = restore_version(library, store, args.name, args.version)
    active = library.get(args.name)
    print(f"restored {args.name} version {active.version if active else args.version} to {path}")
    return 0


def _variants(args, library, store):
    from engine.workbench import Variant, resolve_prompt

    refs = [args.a] + ([args.b] if args.b is not None else [])
    prompts = [(ref, resolve_prompt(ref, library, store, args.name)) for ref in refs]
    temps = args.temperature or [None]
    budgets = args.budget or [None]
    for b in budgets:
        if b is not None and not 1 <= b <= 4096:
            from engine.workbench import WorkbenchError

            raise WorkbenchError(f"--budget {b} is out of range (1-4096)")
    for t in temps:
        if t is not None and not 0.0 <= t <= 2.0:
            from engine.workbench import WorkbenchError

            raise WorkbenchError(f"--temperature {t:g} is out of range (0-2)")
    out = []
    for (ref, prompt), t, b in itertools.product(prompts, temps, budgets):
        label = ref + (f"@t{t:g}" if t is not None else "") + (f"@b{b}" if b is not None else "")
        out.append(Variant(label, prompt, t, b))
    return out


def _compare(args) -> int:
    from engine.workbench import compare, record_library

    cli, cfg, store, library, places = _ctx(args, world=True)
    record_library(store, library)
    variants = _variants(args, library, store)
    chosen, selection = _places(args, places, cfg, store)
    llm = common.start_llm(cfg) if cfg.enabled else None
    try:
        res = compare(chosen, variants, llm, cfg, store, args.runs, label=args.label or selection)
    finally:
        if llm is not None:
            llm.shutdown()
    if args.json:
        d = res.as_dict(texts=not args.no_texts)
        d["selection"] = selection
        d["db"] = str(store.path)
        print(json.dumps(d, ensure_ascii=True, default=str))
    else:
        _print_compare(res, selection)
    differs = any(s.rerun_identical is False for s in res.summaries.values())
    return 1 if differs else 0


def _print_compare(res, selection: str) -> None:
    from engine.textsafe import visible

    print(f"workbench run {res.run_id}: {len(res.urns)} places x {len(res.variants)} variants [{selection}] "
          f"model {res.model_id or 'none'}{' (re-run x2)' if res.runs == 2 else ''}")
    print(f"{'variant':24} {'version':12} {'temp':>5} {'budget':>6} {'fallback':>8} {'length':>7} {'facts':>6} "
          f"{'rating':>6} {'golden':>6} {'rerun':>9}")
    for v in res.variants:
        s = res.summaries[v.label]
        rerun = "-" if s.rerun_identical is None else ("identical" if s.rerun_identical else "DIFFERS")
        print(f"{visible(v.label)[:24]:24} {s.prompt_version:12} {s.temperature:5.2f} "
              f"{(str(s.budget_override) if s.budget_override else 'tier'):>6} {s.fallback_rate * 100:7.0f}% "
              f"{_fmt(s.mean_length, '.0f'):>7} {_fmt(None if s.fact_coverage is None else s.fact_coverage * 100, '.0f'):>5}% "
              f"{_fmt(s.rating_score):>6} {_fmt(s.golden_match):>6} {rerun:>9}")
    print()
    for urn in res.urns:
        print(visible(urn))
        for c in res.row(urn):
            status = c.reason or "ok"
            cov = "-" if c.fact_coverage is None else f"{c.fact_coverage * 100:.0f}%"
            print(f"  [{visible(c.variant)[:16]}] #{c.output_id} {status}  {c.length} chars  facts {cov}  "
                  f"{_fmt(c.latency_ms, '.0f')} ms  {c.tokens} tok")
            if c.text:
                print(f"    {visible(c.text)}")


def _pin(args) -> int:
    from engine.workbench import WorkbenchError, pin_set, places_for, stratified_sample

    _cli, cfg, store, _library, places = _ctx(args, world=True)
    if bool(args.urn) == (args.sample is not None):
        raise WorkbenchError("give the places with either --urn URN ... or --sample N")
    if args.urn:
        chosen = places_for(args.urn, places)
    else:
        if args.sample <= 0:
            raise WorkbenchError("--sample must be 1 or more")
        chosen = stratified_sample(places, cfg, args.sample, args.seed)
    s = pin_set(store, args.set, [p.urn for p in chosen])
    print(f"pinned set {s.name!r}: {len(s.urns)} places")
    return 0


def _pins(args) -> int:
    from engine.workbench import pinned_sets

    _cli, _cfg, store, _library, _ = _ctx(args)
    sets = pinned_sets(store)
    if args.json:
        print(json.dumps([s.as_dict() for s in sets]))
    elif not sets:
        print("no pinned sets yet: `texture prompts pin NAME --sample 12`")
    else:
        for s in sets:
            print(f"{s.name}: {len(s.urns)} places (updated {_when(s.updated_at)})")
    return 0


def _rate(args) -> int:
    from engine.workbench import rate

    _cli, _cfg, store, _library, _ = _ctx(args)
    rid = rate(store, args.output, args.rating, args.note)
    print(f"rating {rid}: {args.output} {args.rating}")
    return 0


def _ratings(args) -> int:
    from engine.workbench import WorkbenchError, export_ratings

    if args.ratings_cmd != "export":
        raise WorkbenchError("usage: texture prompts ratings export --format jsonl|csv -o FILE")
    _cli, _cfg, store, _library, _ = _ctx(args)
    n = export_ratings(store, args.output, args.format)
    print(f"exported {n} rating(s) to {args.output}", file=sys.stderr)
    return 0


_ACTIONS = {"history": _history, "diff": _diff, "restore": _restore, "compare": _compare, "pin": _pin, "pins": _pins,
            "rate": _rate, "ratings": _ratings}


def handle(args) -> int:
    """Run ``texture prompts ACTION``; user errors are one line on stderr and exit status 2."""

    action = getattr(args, "prompts_cmd", None)
    if action not in _ACTIONS:
        print("texture prompts: error: choose an action: " + ", ".join(_ACTIONS), file=sys.stderr)
        return 2
    try:
        return _ACTIONS[action](args) or 0
    except TextureError as exc:  # workbench, config, store, world, prompts, usage, models (engine.errors)
        print(f"texture prompts {action}: error: {exc}", file=sys.stderr)
        return 2
