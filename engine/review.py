"""Blind pairwise review: a reader judges a place's LLM text against its template without knowing
which is which (the method of Chatbot Arena's blind vote, and of the team's review README).

* :func:`build_queue` — a review queue from stored results: the places of a batch, of a tier, the
  worst N by stored quality score, a pinned set (:mod:`engine.workbench.pinned`), or every place
  whose current result has an LLM text. Each :class:`ReviewItem` holds the place's facts and
  two texts, A and B: the stored LLM text (accepted, or the raw text the gate rejected) and the
  template, in an order decided by a seeded hash of the item (:func:`llm_side`), so the same
  selection gives the same order every time, alone or in any queue. The key (which side is the
  LLM's) is kept on the item but never shown.
* :func:`record_review` — a verdict (score A and B 1-5, ship A | B | same, a note, the reviewer)
  stored with the key in ``wb_reviews`` and, in the same transaction, as a workbench rating of
  the LLM text (``ratings``, origin 'review': good when the reader shipped it or called the two
  the same and scored it 3 or more, else bad).
* :func:`export_reviews` / :func:`import_reviews` — JSON Lines in the shape of the shared
  reviewed sets (``urn, facts, template, llm, score_template, score_llm, ship, flaw_of_the_other``;
  ``llm_accepted, model_id, prompt_version, reviewer, state_hash, reviewed_at`` follow when
  known), so a team reviews on one machine and shares. A bad line is reported (file, line,
  field), skipped and counted; a re-import changes nothing.
* :func:`review_stats` / :func:`stats_line` — what people said: LLM shipped / same / template
  shipped, mean scores, the share of LLM texts scored 2 or less, n, with 95 % intervals (Wilson
  score intervals for shares; mean ± 1.96 standard errors for means).

No UI here: the console (console/review.py) and ``texture review`` (cli/review.py) sit on top.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import UsageError
from .store import ReviewStore, Store, now

SHIPS = ("A", "B", "same")
FILE_SHIPS = ("template", "llm", "same")
SCORES = (1, 2, 3, 4, 5)
TIERS = ("premium", "full", "light", "template")
MAX_TEXT = 20_000  # characters of one text on import; a longer one is not a place description
EXPORT_KEYS = ("urn", "facts", "template", "llm", "score_template", "score_llm", "ship", "flaw_of_the_other")
Z95 = 1.959963984540054


class ReviewError(UsageError):
    """A review or a queue could not be made; the message says what to change."""


# --- the queue ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewItem:
    """One place to review: its facts and texts A and B. ``llm_side`` is the key: never show it."""

    urn: str
    state_hash: str
    name: str
    facts: dict
    text_a: str
    text_b: str
    result_id: int | None = None
    tier: str | None = None
    llm_side: str = field(default="A", repr=False)
    llm_accepted: bool | None = None  # the gate kept the LLM text (False: the raw text it rejected)
    meta: dict = field(default_factory=dict, repr=False, compare=False)  # prompt, model, seed, budget

    @property
    def llm_text(self) -> str:
        return self.text_a if self.llm_side == "A" else self.text_b

    @property
    def template_text(self) -> str:
        return self.text_b if self.llm_side == "A" else self.text_a


def llm_side(urn: str, template: str, llm: str, seed: int = 0) -> str:
    """The side ("A" or "B") the LLM text is shown on: a seeded hash of the place and both texts,
    so it depends on nothing else (not the queue, not its order, not the clock)."""
    h = hashlib.sha256(f"{int(seed)}\x00{urn}\x00{_norm(template)}\x00{_norm(llm)}".encode("utf-8", "surrogatepass"))
    return "A" if h.digest()[0] & 1 else "B"


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _order_key(seed: int, urn: str) -> str:
    return hashlib.sha256(f"{int(seed)}\x00order\x00{urn}".encode("utf-8", "surrogatepass")).hexdigest()


def facts_of(place_json: dict | None, name: str = "") -> dict:
    """The reviewer's facts (name, base, weather, resources, events) from a place's world-file form."""
    d = place_json if isinstance(place_json, dict) else {}
    desc = d.get("description")
    base = desc.get("base") if isinstance(desc, dict) else d.get("base")
    return {"name": d.get("name") or name, "base": base or "", "weather": d.get("weather") or {},
            "resources": list(d.get("resources") or []), "events": list(d.get("events") or [])}


def _item(row: dict, seed: int, places: dict | None) -> ReviewItem | None:
    llm = row["text"] if row["source"] == "llm" else row["llm_text"]
    template = row["template_text"] or ""
    if not (llm or "").strip() or not template.strip():
        return None
    place = (places or {}).get(row["urn"])
    stale = False
    if place is not None and place.state_hash == row["state_hash"]:
        facts = facts_of(place.to_json())
    else:
        # The store keeps the place's last synced state: newer than this text when the world
        # moved on since (the reader is told).
        stale = bool(row.get("place_state_hash")) and row.get("place_state_hash") != row["state_hash"]
        try:
            data = json.loads(row["place_data"]) if row.get("place_data") else None
        except ValueError:
            data = None
        facts = facts_of(data, row.get("place_name") or "")
    side = llm_side(row["urn"], template, llm, seed)
    a, b = (llm, template) if side == "A" else (template, llm)
    meta = {k: row.get(k) for k in ("prompt_version", "model_id", "seed", "budget", "batch_id", "source")}
    meta["quality"] = row.get("llm_quality") if row.get("llm_quality") is not None else row.get("quality")
    meta["facts_newer"] = stale
    return ReviewItem(row["urn"], row["state_hash"] or "", facts.get("name") or row["urn"], facts, a, b,
                      row["id"], row.get("tier"), side, row["source"] == "llm", meta)


def build_queue(store: Store, *, batch: int | None = None, tier: str | None = None, worst: int | None = None,
                pinned: str | None = None, limit: int | None = None, seed: int = 0,
                places: Iterable[Any] | None = None, accepted_only: bool = False) -> list[ReviewItem]:
    """The review queue of one selection (at most one of ``batch``, ``tier``, ``worst``,
    ``pinned``; none: every place whose current result has an LLM text).

    A batch, a tier and "every place" are sampled in a ``seed``-shuffled order (``limit`` of them);
    ``worst`` is the N current LLM texts with the lowest stored quality score (lowest first);
    ``pinned`` keeps the set's order. ``places`` (the world) gives the facts where a place's
    state is the stored one's; otherwise the store's last synced copy of the place is used.
    ``accepted_only``: only LLM texts the gate kept (else a rejected raw text is reviewed too)."""
    chosen = [k for k, v in (("batch", batch), ("tier", tier), ("worst", worst), ("pinned", pinned)) if v is not None]
    if len(chosen) > 1:
        raise ReviewError(f"choose one selection, not {' and '.join(chosen)}")
    if limit is not None and limit < 1:
        raise ReviewError(f"--limit {limit}: use a whole number of at least 1")
    rs = ReviewStore(store)
    by_urn = {p.urn: p for p in places} if places is not None else None
    if batch is not None:
        if not rs.batch_exists(batch):
            raise ReviewError(f"no batch {batch} in {store.path} (see the console's batches view or `texture batch`)")
        rows = sorted(rs.batch_llm_results(batch), key=lambda r: _order_key(seed, r["urn"]))
    elif pinned is not None:
        from .workbench.pinned import get_pinned

        urns = list(get_pinned(store, pinned).urns)
        got = {r["urn"]: r for r in rs.current_llm_results(urns)}
        rows = [got[u] for u in urns if u in got]
    elif worst is not None:
        if worst < 1:
            raise ReviewError(f"--worst {worst}: use a whole number of at least 1")
        rows = rs.current_llm_results()

        def score(r: dict) -> float:
            q = r["llm_quality"] if r.get("llm_quality") is not None else r.get("quality")
            return math.inf if q is None else float(q)

        rows = sorted(rows, key=lambda r: (score(r), r["urn"]))[:worst]
    else:
        if tier is not None and tier not in TIERS:
            raise ReviewError(f"unknown tier {tier!r} (use {', '.join(TIERS)})")
        rows = [r for r in rs.current_llm_results() if tier is None or r["tier"] == tier]
        rows.sort(key=lambda r: _order_key(seed, r["urn"]))
    if accepted_only:
        rows = [r for r in rows if r["source"] == "llm"]
    items = [it for it in (_item(r, seed, by_urn) for r in rows) if it is not None]
    return items[:limit] if limit is not None else items


# --- verdicts -----------------------------------------------------------------------------------

def review_key(urn: str, template: str, llm: str, reviewer: str) -> str:
    """One review per place, pair of texts and reviewer (what makes a re-import a no-op)."""
    s = "\x00".join((urn, _norm(template), _norm(llm), reviewer or ""))
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _score(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or int(v) not in SCORES:
        raise ReviewError(f"{what} is a whole number from 1 to 5, not {v!r}")
    return int(v)


def normalize_ship(ship: Any) -> str:
    s = str(ship or "").strip()
    m = {"a": "A", "b": "B", "s": "same", "same": "same", "=": "same"}.get(s.lower())
    if m is None:
        raise ReviewError(f"ship is A, B or same, not {ship!r}")
    return m


def default_reviewer() -> str:
    name = os.environ.get("TEXTURE_REVIEWER", "").strip()
    if name:
        return name
    with contextlib.suppress(Exception):
        import getpass

        return getpass.getuser()
    return ""


def _rating(item_llm: str, urn: str, state_hash: str, score_llm: int, ship_source: str, note: str,
            result_id: int | None, meta: dict, t: float) -> dict:
    good = ship_source in ("llm", "same") and score_llm >= 3
    return {"result_id": result_id, "urn": urn, "rating": "good" if good else "bad", "note": note, "text": item_llm,
            "state_hash": state_hash, "prompt_version": meta.get("prompt_version"), "model_id": meta.get("model_id"),
            "seed": meta.get("seed"), "budget": meta.get("budget"), "origin": "review", "created_at": t}


def record_review(store: Store, item: ReviewItem, score_a: Any, score_b: Any, ship: Any, note: str = "",
                  reviewer: str | None = None, origin: str = "review") -> int:
    """Store a reader's verdict on ``item`` (with the hidden key); returns the review id.
    The same reader reviewing the same pair again replaces their earlier verdict."""
    sa, sb = _score(score_a, "score A"), _score(score_b, "score B")
    side = normalize_ship(ship)
    reviewer = default_reviewer() if reviewer is None else str(reviewer).strip()
    note = str(note or "").strip()
    t = now()
    row = {"review_key": review_key(item.urn, item.template_text, item.llm_text, reviewer), "urn": item.urn,
           "state_hash": item.state_hash, "result_id": item.result_id, "name": item.name,
           "facts": json.dumps(item.facts, ensure_ascii=False), "text_a": item.text_a, "text_b": item.text_b,
           "llm_side": item.llm_side, "llm_accepted": item.llm_accepted, "model_id": item.meta.get("model_id"),
           "prompt_version": item.meta.get("prompt_version"), "score_a": sa, "score_b": sb, "ship": side,
           "note": note, "reviewer": reviewer, "origin": origin, "created_at": t, "updated_at": t}
    score_llm = sa if item.llm_side == "A" else sb
    rating = _rating(item.llm_text, item.urn, item.state_hash, score_llm, _ship_source(side, item.llm_side), note,
                     item.result_id, item.meta, t)
    rid, _new = ReviewStore(store).save_review(row, rating, replace=True)
    return rid


def _ship_source(ship: str, side: str) -> str:
    if ship == "same":
        return "same"
    return "llm" if ship == side else "template"


def stored_verdict(store: Store, item: ReviewItem, reviewer: str | None = None) -> dict | None:
    """This reader's stored verdict on ``item`` (``score_a, score_b, ship, note``), if any."""
    reviewer = default_reviewer() if reviewer is None else reviewer
    r = ReviewStore(store).review_by_key(review_key(item.urn, item.template_text, item.llm_text, reviewer))
    if r is None:
        return None
    same_order = r["llm_side"] == item.llm_side
    sa, sb = (r["score_a"], r["score_b"]) if same_order else (r["score_b"], r["score_a"])
    ship = r["ship"] if same_order or r["ship"] == "same" else ("B" if r["ship"] == "A" else "A")
    return {"score_a": sa, "score_b": sb, "ship": ship, "note": r["note"] or ""}


def unblind(row: dict) -> dict:
    """A stored review in the shared file's shape (the key applied)."""
    llm_a = row["llm_side"] == "A"
    try:
        facts = json.loads(row["facts"]) if row.get("facts") else {}
    except ValueError:
        facts = {}
    out = {"urn": row["urn"], "facts": facts,
           "template": row["text_b"] if llm_a else row["text_a"],
           "llm": row["text_a"] if llm_a else row["text_b"],
           "score_template": row["score_b"] if llm_a else row["score_a"],
           "score_llm": row["score_a"] if llm_a else row["score_b"],
           "ship": _ship_source(row["ship"], row["llm_side"]),
           "flaw_of_the_other": row.get("note") or ""}
    if row.get("llm_accepted") is not None:
        out["llm_accepted"] = bool(row["llm_accepted"])
    for k in ("model_id", "prompt_version", "reviewer"):
        if row.get(k):
            out[k] = row[k]
    if row.get("state_hash"):
        out["state_hash"] = row["state_hash"]
    if row.get("created_at") is not None:
        out["reviewed_at"] = row["updated_at"] if row.get("updated_at") is not None else row["created_at"]
    return out


def reviews_list(store: Store, limit: int | None = None) -> list[dict]:
    """Every stored review, unblinded, oldest first."""
    return [unblind(r) for r in ReviewStore(store).reviews(limit)]


# --- export and import -------------------------------------------------------------------------

def export_reviews(store: Store, path: str | Path) -> int:
    """Every review as JSON Lines (the shared file's shape), written atomically; returns the count."""
    rows = reviews_list(store)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReviewError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(rows)


@dataclass
class ImportReport:
    path: str
    imported: int = 0
    already: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (f"{self.path}: {self.imported} review(s) imported, {self.already} already stored, "
                f"{self.skipped} bad line(s) skipped")


def _line_review(obj: Any) -> dict:
    """A file line's review, checked; raises ReviewError naming the field."""
    if not isinstance(obj, dict):
        raise ReviewError(f"a review line is a JSON object, not {type(obj).__name__}")

    def text(key: str, required: bool = True) -> str:
        v = obj.get(key)
        if v is None and not required:
            return ""
        if not isinstance(v, str) or (required and not v.strip()):
            raise ReviewError(f"field '{key}' must be a non-empty string" if required else f"field '{key}' must be a string")
        if len(v) > MAX_TEXT:
            raise ReviewError(f"field '{key}' is {len(v):,} characters (at most {MAX_TEXT:,})")
        return v

    urn, template, llm = text("urn"), text("template"), text("llm")
    facts = obj.get("facts")
    if not isinstance(facts, dict):
        raise ReviewError("field 'facts' must be an object (name, base, weather, resources, events)")
    st = _score(obj.get("score_template"), "field 'score_template'")
    sl = _score(obj.get("score_llm"), "field 'score_llm'")
    ship = obj.get("ship")
    if ship not in FILE_SHIPS:
        raise ReviewError(f"field 'ship' must be one of {', '.join(FILE_SHIPS)}, not {ship!r}")
    note = text("flaw_of_the_other", required=False) if "flaw_of_the_other" in obj else text("note", required=False)
    reviewer = text("reviewer", required=False).strip()
    model_id = text("model_id", required=False)
    prompt_version = text("prompt_version", required=False)
    state_hash = text("state_hash", required=False)
    accepted = obj.get("llm_accepted")
    if accepted is not None and not isinstance(accepted, bool):
        raise ReviewError("field 'llm_accepted' must be true or false")
    when = obj.get("reviewed_at")
    if when is not None and (isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when)):
        raise ReviewError("field 'reviewed_at' must be a number (seconds since the epoch)")
    return {"urn": urn, "template": template, "llm": llm, "facts": facts, "score_template": st, "score_llm": sl,
            "ship": ship, "note": note, "reviewer": reviewer, "state_hash": state_hash, "when": when,
            "accepted": accepted, "model_id": model_id, "prompt_version": prompt_version}


def import_reviews(store: Store, path: str | Path, max_errors: int = 50) -> ImportReport:
    """Import a JSON Lines file of reviews (the shared file's shape). Every good line is stored
    (one transaction each), a line already stored is counted and left as it is, a bad line is
    reported as ``FILE:LINE: what`` and skipped. A missing or unreadable file raises ReviewError."""
    path = Path(path)
    rep = ImportReport(str(path))
    try:
        fh = open(path, "rb")
    except IsADirectoryError:
        raise ReviewError(f"{path} is a folder, not a JSON Lines file of reviews") from None
    except FileNotFoundError:
        raise ReviewError(f"no such file: {path}") from None
    except OSError as exc:
        raise ReviewError(f"cannot read {path}: {exc.strerror or exc}") from None
    rs = ReviewStore(store)
    with fh:
        for no, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                _bad(rep, path, no, f"not UTF-8 text (byte {exc.start + 1})", max_errors)
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                _bad(rep, path, no, f"not JSON ({exc.msg} at column {getattr(exc, 'colno', '?')})", max_errors)
                continue
            try:
                r = _line_review(obj)
            except ReviewError as exc:
                _bad(rep, path, no, str(exc), max_errors)
                continue
            side = llm_side(r["urn"], r["template"], r["llm"])
            a, b = (r["llm"], r["template"]) if side == "A" else (r["template"], r["llm"])
            sa, sb = (r["score_llm"], r["score_template"]) if side == "A" else (r["score_template"], r["score_llm"])
            ship = "same" if r["ship"] == "same" else (side if r["ship"] == "llm" else ("B" if side == "A" else "A"))
            t = float(r["when"]) if r["when"] is not None else now()
            row = {"review_key": review_key(r["urn"], r["template"], r["llm"], r["reviewer"]), "urn": r["urn"],
                   "state_hash": r["state_hash"] or None, "result_id": None,
                   "name": str(r["facts"].get("name") or "") or None,
                   "facts": json.dumps(r["facts"], ensure_ascii=False), "text_a": a, "text_b": b, "llm_side": side,
                   "llm_accepted": r["accepted"], "model_id": r["model_id"] or None,
                   "prompt_version": r["prompt_version"] or None, "score_a": sa, "score_b": sb, "ship": ship,
                   "note": r["note"], "reviewer": r["reviewer"], "origin": f"import:{path.name}", "created_at": t,
                   "updated_at": t}
            rating = _rating(r["llm"], r["urn"], r["state_hash"] or None, r["score_llm"], r["ship"], r["note"], None,
                             {"model_id": r["model_id"] or None, "prompt_version": r["prompt_version"] or None}, t)
            _rid, new = rs.save_review(row, rating, replace=False)
            if new:
                rep.imported += 1
            else:
                rep.already += 1
    return rep


def _bad(rep: ImportReport, path: Path, no: int, what: str, max_errors: int) -> None:
    rep.skipped += 1
    if len(rep.errors) < max_errors:
        rep.errors.append(f"{path}:{no}: {what}")
    elif len(rep.errors) == max_errors:
        rep.errors.append(f"{path}: more bad lines not listed")


# --- figures -----------------------------------------------------------------------------------

def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion k/n (None without data). Written out (five
    lines) rather than taking scipy, which the product does not otherwise need."""
    if n <= 0:
        return None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(max(0.0, c - h), 4), round(min(1.0, c + h), 4))


def mean_interval(xs: list[int], z: float = Z95) -> tuple[float, float] | None:
    """mean ± z standard errors (normal approximation; None below two values)."""
    n = len(xs)
    if n < 2:
        return None
    m = sum(xs) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    h = z * sd / math.sqrt(n)
    return (round(max(min(SCORES), m - h), 3), round(min(max(SCORES), m + h), 3))


def stats_of(verdicts: Iterable[dict], breakdown: bool = True) -> dict:
    """The figures of ``llm_side, score_a, score_b, ship`` rows; with ``breakdown``, also
    ``accepted`` (the same figures over the LLM texts the gate had accepted, where known)."""
    verdicts = list(verdicts)
    llm_scores: list[int] = []
    tpl_scores: list[int] = []
    shipped = {"llm": 0, "template": 0, "same": 0}
    for v in verdicts:
        a_is_llm = v["llm_side"] == "A"
        llm_scores.append(v["score_a"] if a_is_llm else v["score_b"])
        tpl_scores.append(v["score_b"] if a_is_llm else v["score_a"])
        shipped[_ship_source(v["ship"], v["llm_side"])] += 1
    n = len(llm_scores)
    low = sum(1 for s in llm_scores if s <= 2)

    def mean(xs: list[int]) -> float | None:
        return round(sum(xs) / len(xs), 3) if xs else None

    def share(k: int) -> float | None:
        return round(k / n, 4) if n else None

    out = {
        "n": n,
        "llm_shipped": shipped["llm"],
        "template_shipped": shipped["template"],
        "same": shipped["same"],
        "llm_mean": mean(llm_scores),
        "template_mean": mean(tpl_scores),
        "llm_scored_2_or_less": share(low),
        "llm_scored_2_or_less_count": low,
        "llm_shipped_share": share(shipped["llm"]),
        "llm_shipped_or_same_share": share(shipped["llm"] + shipped["same"]),
        "intervals": {
            "method": "95 %: Wilson score interval for shares; mean ± 1.96 standard errors for means",
            "llm_shipped_share": wilson(shipped["llm"], n),
            "template_shipped_share": wilson(shipped["template"], n),
            "same_share": wilson(shipped["same"], n),
            "llm_shipped_or_same_share": wilson(shipped["llm"] + shipped["same"], n),
            "llm_scored_2_or_less": wilson(low, n),
            "llm_mean": mean_interval(llm_scores),
            "template_mean": mean_interval(tpl_scores),
        },
    }
    if breakdown:
        acc = [v for v in verdicts if v.get("llm_accepted")]
        out["accepted"] = stats_of(acc, breakdown=False) if acc else None
        models = sorted({v["model_id"] for v in verdicts if v.get("model_id")})
        out["by_model"] = {m: stats_of([v for v in verdicts if v.get("model_id") == m], breakdown=False)
                           for m in models}
    return out


def review_stats(store: Store) -> dict:
    """The figures of every stored review."""
    return stats_of(ReviewStore(store).review_verdicts())


def stats_for_db(path: str | Path) -> dict:
    """The figures of the reviews in the database at ``path``, opened read-only (no file: none)."""
    path = Path(path)
    if not path.exists():
        return stats_of([])
    store = Store(path, readonly=True)
    try:
        return review_stats(store)
    finally:
        store.close()


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def stats_line(s: dict) -> str:
    """One line: ``reviewed: n · LLM shipped k, same k, template k · means LLM x / template y · LLM ≤2 p (CI)``."""
    if not s.get("n"):
        return "reviewed: none yet (texture review start, or R in the console)"
    ci = s["intervals"]["llm_scored_2_or_less"]
    return (f"reviewed: {s['n']} · shipped LLM {s['llm_shipped']}, same {s['same']}, template {s['template_shipped']}"
            f" · mean LLM {s['llm_mean']:.2f} / template {s['template_mean']:.2f}"
            f" · LLM ≤2 {_pct(s['llm_scored_2_or_less'])} (95% {_pct(ci[0])}–{_pct(ci[1])}, Wilson)")


def format_stats(s: dict) -> str:
    """The figures as a few lines for a terminal."""
    if not s.get("n"):
        return "reviews: none stored yet (texture review start, or import a file: texture review import FILE)"
    iv = s["intervals"]

    def rng(k: str, pct: bool = True) -> str:
        v = iv.get(k)
        if v is None:
            return ""
        return f" (95% {_pct(v[0])}–{_pct(v[1])})" if pct else f" (95% {v[0]:.2f}–{v[1]:.2f})"

    n = s["n"]
    return "\n".join([
        f"reviews: {n} places, read blind (facts, then the LLM text and the template as A/B in a seeded order)",
        f"  LLM shipped       {s['llm_shipped']:>4}  {_pct(s['llm_shipped'] / n):>4}{rng('llm_shipped_share')}",
        f"  same              {s['same']:>4}  {_pct(s['same'] / n):>4}{rng('same_share')}",
        f"  template shipped  {s['template_shipped']:>4}  {_pct(s['template_shipped'] / n):>4}{rng('template_shipped_share')}",
        f"  LLM shipped or same     {_pct(s['llm_shipped_or_same_share']):>4}{rng('llm_shipped_or_same_share')}",
        f"  mean score        LLM {s['llm_mean']:.2f}{rng('llm_mean', False)}   "
        f"template {s['template_mean']:.2f}{rng('template_mean', False)}",
        f"  LLM texts scored ≤ 2    {_pct(s['llm_scored_2_or_less'])} "
        f"({s['llm_scored_2_or_less_count']} of {n}){rng('llm_scored_2_or_less')}",
        f"  intervals: {iv['method']}",
    ] + ([f"  of them, LLM texts the gate had accepted: {a['n']} · shipped LLM {a['llm_shipped']}, same {a['same']}, "
          f"template {a['template_shipped']} · mean LLM {a['llm_mean']:.2f} / template {a['template_mean']:.2f} · "
          f"LLM ≤ 2 {_pct(a['llm_scored_2_or_less'])}"] if (a := s.get("accepted")) else [])
        + [f"  model {m}: {b['n']} · shipped LLM {b['llm_shipped']}, same {b['same']}, template "
           f"{b['template_shipped']} · mean LLM {b['llm_mean']:.2f} / template {b['template_mean']:.2f} · "
           f"LLM ≤ 2 {_pct(b['llm_scored_2_or_less'])}" for m, b in (s.get("by_model") or {}).items()])


def format_facts(facts: dict) -> list[str]:
    """The facts as lines a reader scans: name, base, weather, resources, events."""
    lines = [f"{facts.get('name') or '?'}", f"base: {facts.get('base') or ''}"]
    w = facts.get("weather") or {}
    if isinstance(w, dict) and w:
        parts = []
        if w.get("conditions") is not None:
            parts.append(str(w["conditions"]))
        if isinstance(w.get("temperature"), (int, float)):
            parts.append(f"{w['temperature']:.1f} °C")
        if isinstance(w.get("windSpeed"), (int, float)):
            parts.append(f"wind {w['windSpeed']:.0f} mph")
        lines.append("weather: " + ", ".join(parts))
    res = [r for r in facts.get("resources") or [] if isinstance(r, dict)]
    if res:
        lines.append("resources: " + ", ".join(
            f"{r.get('type')} {r['abundance']:.2f}" if isinstance(r.get("abundance"), (int, float)) else str(r.get("type"))
            for r in res))
    evs = [e for e in facts.get("events") or [] if isinstance(e, dict)]
    for e in evs:
        sig = e.get("significance")
        sig = f"{sig:.2f}" if isinstance(sig, (int, float)) else "?"
        lines.append(f"event: {e.get('type')} ({sig}, {e.get('term')}): {e.get('summary') or ''}")
    if not evs:
        lines.append("events: none")
    return lines
