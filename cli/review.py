"""``texture review``: blind pairwise review from a plain terminal (engine/review.py underneath).

::

    texture review start [--batch ID | --tier T | --worst N | --pinned SET] [--limit N] [--seed S]
                         [--accepted-only] [--reviewer NAME] [--again]
    texture review export FILE
    texture review import FILE
    texture review stats [--json]

``start`` shows each place's facts and two texts, A and B (the LLM text and the template, in a
seeded order it never reveals), and asks for a score 1-5 for each, which to ship (a, b or s for
"same") and an optional note; each verdict is stored at once. Pairs the reviewer already reviewed
are left out unless ``--again``. ``q`` (or end of input, or Ctrl-C)
stops, ``k`` skips a place. Text from the world and the model is printed with every control
character made visible (engine.textsafe), never as escape sequences.

Wiring (cli/main.py): ``review.add_parser(sub)`` in ``build_parser``, ``"review"`` in ``main``'s
command set, and ``cmd_review`` calls :func:`handle`.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any, Callable

from engine.errors import TextureError
from engine.textsafe import visible

from . import common
from .common import add_common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "review", help="blind pairwise review: LLM text vs template, scored by a reader",
        description="Read a place's facts and two texts (its LLM text and its template) in a random order you are "
                    "not told, score each 1-5 and say which to ship. Reviews are stored in the database, exported "
                    "and imported as JSON Lines, and summarised by `texture review stats` and `texture eval`.")
    sub = p.add_subparsers(dest="review_cmd", metavar="ACTION")

    a = sub.add_parser("start", help="review places one by one in this terminal")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--batch", type=int, default=None, metavar="ID", help="the places of this batch")
    g.add_argument("--tier", choices=["premium", "full", "light", "template"], default=None,
                   help="the places of this tier (their current texts)")
    g.add_argument("--worst", type=int, default=None, metavar="N",
                   help="the N current LLM texts with the lowest stored quality score")
    g.add_argument("--pinned", default=None, metavar="SET", help="the places of this pinned set (texture prompts pin)")
    a.add_argument("--limit", type=int, default=None, metavar="N", help="at most N places")
    a.add_argument("--accepted-only", action="store_true",
                   help="only LLM texts the gate accepted (default: a rejected raw LLM text is reviewed too)")
    a.add_argument("--seed", type=int, default=0, help="the seed of the sample and of the A/B order (default 0)")
    a.add_argument("--reviewer", default=None, help="your name (default: $TEXTURE_REVIEWER or the login name)")
    a.add_argument("--again", action="store_true",
                   help="also the pairs you reviewed before (shown with your verdict; a new answer replaces it)")
    add_common(a)

    a = sub.add_parser("export", help="write every review as JSON Lines (the shared reviewed-set shape)")
    a.add_argument("file", help="output file")
    add_common(a)

    a = sub.add_parser("import", help="read reviews from a JSON Lines file (bad lines are reported and skipped)")
    a.add_argument("file", help="input file")
    add_common(a)

    a = sub.add_parser("stats", help="what reviewers said: shipped counts, mean scores, share scored <= 2")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(a)
    return p


def _wrap(label: str, text: str, width: int = 96) -> str:
    body = textwrap.fill(visible(text), width=width, initial_indent=f"  {label}  ",
                         subsequent_indent=" " * (len(label) + 4)) if text.strip() else f"  {label}  (empty)"
    return body


def _ask(prompt: str, ok: Callable[[str], bool], input_fn: Callable[[str], str], out) -> str:
    """Ask until the answer passes ``ok`` (or is q / k); EOF raises EOFError."""
    while True:
        ans = input_fn(prompt).strip()
        if ans.lower() in ("q", "k") or ok(ans):
            return ans
        print("  ? " + prompt.strip().rstrip(":"), file=out)


def run_loop(store, items, reviewer: str, input_fn: Callable[[str], str] | None = None, out=None) -> dict:
    """The interactive loop over ``items``; returns ``{"reviewed", "skipped", "stopped"}``."""
    from engine import review as rv

    out = out or sys.stdout
    input_fn = input_fn or (lambda prompt: input(prompt))
    done = skipped = 0
    stopped = False
    print(f"{len(items)} place(s) to review as {reviewer or '(unnamed)'}: score each text 1-5 "
          f"(5 publishable, 3 acceptable with flaws, 1 broken or wrong), then ship a, b or s (same). "
          f"q stops, k skips.", file=out)
    for i, item in enumerate(items, 1):
        print("", file=out)
        print(f"[{i}/{len(items)}] {visible(item.name)}  ({visible(item.urn)})", file=out)
        if item.meta.get("facts_newer"):
            print("  (these facts are the place's newer state: the texts were written for an earlier one)", file=out)
        for line in rv.format_facts(item.facts)[1:]:
            print(textwrap.fill(visible(line), width=100, initial_indent="  ", subsequent_indent="      "), file=out)
        print("", file=out)
        print(_wrap("A", item.text_a), file=out)
        print("", file=out)
        print(_wrap("B", item.text_b), file=out)
        prior = rv.stored_verdict(store, item, reviewer)
        if prior:
            print(f"  (you reviewed this pair before: A {prior['score_a']}, B {prior['score_b']}, ship {prior['ship']}; "
                  f"answering again replaces it)", file=out)
        try:
            score = lambda s: s in ("1", "2", "3", "4", "5")  # noqa: E731
            sa = _ask("score A 1-5: ", score, input_fn, out)
            if sa.lower() in ("q", "k"):
                stopped = sa.lower() == "q"
                skipped += sa.lower() == "k"
                if stopped:
                    break
                continue
            sb = _ask("score B 1-5: ", score, input_fn, out)
            if sb.lower() in ("q", "k"):
                stopped = sb.lower() == "q"
                skipped += sb.lower() == "k"
                if stopped:
                    break
                continue
            ship = _ask("ship a, b or s (same): ", lambda s: s.lower() in ("a", "b", "s", "same"), input_fn, out)
            if ship.lower() in ("q", "k"):
                stopped = ship.lower() == "q"
                skipped += ship.lower() == "k"
                if stopped:
                    break
                continue
            note = input_fn("note (optional, enter to skip): ").strip()
        except (EOFError, KeyboardInterrupt):
            stopped = True
            print("", file=out)
            break
        rv.record_review(store, item, int(sa), int(sb), ship, note, reviewer, origin="review:cli")
        done += 1
        print("  stored.", file=out)
    print(f"\n{done} review(s) stored, {skipped} skipped" + (" (stopped)" if stopped else ""), file=out)
    return {"reviewed": done, "skipped": skipped, "stopped": stopped}


def _start(args) -> int:
    from engine import review as rv

    store = common.store(args)
    places = None
    if args.world is not None:
        places, errors = common.world(args)
        common.report_world_errors(errors)
    items = rv.build_queue(store, batch=args.batch, tier=args.tier, worst=args.worst, pinned=args.pinned,
                           limit=args.limit, seed=args.seed, places=places,
                           accepted_only=args.accepted_only)
    if not items:
        print("nothing to review: no stored result with an LLM text matches (run `texture batch` with the model first)",
              file=sys.stderr)
        return 0
    reviewer = rv.default_reviewer() if args.reviewer is None else args.reviewer.strip()
    if not args.again:
        todo = [it for it in items if rv.stored_verdict(store, it, reviewer) is None]
        if len(todo) < len(items):
            print(f"{len(items) - len(todo)} place(s) you reviewed before left out (--again shows them)",
                  file=sys.stderr)
        items = todo
        if not items:
            print("nothing left to review in this selection", file=sys.stderr)
            return 0
    run_loop(store, items, reviewer)
    return 0


def _export(args) -> int:
    from engine import review as rv

    n = rv.export_reviews(common.store(args), args.file)
    print(f"exported {n} review(s) to {args.file}", file=sys.stderr)
    return 0


def _import(args) -> int:
    from engine import review as rv

    rep = rv.import_reviews(common.store(args), args.file)
    for e in rep.errors:
        print(f"skipped {e}", file=sys.stderr)
    print(rep.summary(), file=sys.stderr)
    return 0 if not rep.skipped else 1


def _stats(args) -> int:
    from engine import review as rv

    s = rv.review_stats(common.store(args))
    print(json.dumps(s, ensure_ascii=True) if args.json else rv.format_stats(s))
    return 0


_ACTIONS = {"start": _start, "export": _export, "import": _import, "stats": _stats}


def handle(args) -> int:
    """Run ``texture review ACTION``; user errors are one line on stderr and exit status 2."""
    action = getattr(args, "review_cmd", None)
    if action not in _ACTIONS:
        print("texture review: error: choose an action: " + ", ".join(_ACTIONS), file=sys.stderr)
        return 2
    try:
        return _ACTIONS[action](args) or 0
    except TextureError as exc:
        print(f"texture review {action}: error: {exc}", file=sys.stderr)
        return 2
