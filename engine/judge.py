"""A model judge of two texts of one place, trusted only as far as blind reviews say.

A judge is a model asked, pairwise, which of two descriptions of a place should be shipped, with
the readers' rubric (docs/reviews/READER.md: faithful to the facts, reads well, no clash, natural
grammar). It never samples: the answer is read from the next-token log-probabilities of "A" and
"B" (:meth:`engine.llm.base.LLMService.choice_logprobs`, on the engine's one model thread, each
prompt prefilled alone). Every pair is asked in both orders; when the two orders disagree
(the model prefers a position, not a text) the verdict is a tie. The same pair therefore gets the
same verdict alone or in any batch.

Before a judge's verdicts are used it is measured against stored blind reviews
(:func:`reviewed_pairs`: the reviewed sets of a checkout or given files, and the reviews in the
store): agreement with the reader's "which to ship" (a judge tie counts as the reader's "same"),
with a 95 % Wilson interval, and position consistency (the share of pairs where both orders
agree). The pairs are split in two by a fixed hash of the pair id (:func:`half`: the urn, or
``<set>/<id>``): a tuning half to change the rubric on, and a held-out half whose figures are
the ones that count. A judge is trusted only with a held-out agreement of at least
:data:`MIN_AGREEMENT` on at least :data:`MIN_HELD_OUT` pairs; the measurement is stored per model
id (``<data folder>/judges.json``, next to :data:`MEASURED`, the built-in table of measured
shipped models, as :mod:`engine.enhance` keeps reviews) so a batch checks it without measuring
again. With ``FLUX_LLM_JUDGE=true`` a batch asks its own model, when trusted, whether the LLM
text beats its template (:func:`batch_gate`); otherwise nothing uses a judge.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import UsageError
from .review import wilson

CHOICES = ("A", "B")
MIN_AGREEMENT = 0.80
MIN_HELD_OUT = 20  # fewer held-out pairs than this trust nothing
CHUNK = 8  # prompts per call on the model thread (progress, and room for a batch's decode steps)

PROMPT = """You are a world designer choosing which of two descriptions of a place in a game world to publish.

The place's facts:
{facts}

Text A: {a}

Text B: {b}

The better text is faithful to the facts (nothing contradicts them; it carries the weather and the most \
significant event), reads well (two or three sentences, no stray labels, no padding or cliches, no numbers \
read out), has no clash (no word that does not fit the weather or the place) and has natural grammar.
Which text should be published? Answer with one letter: A or B."""

# The judge's version: a change of the rubric or of how the answer is read makes earlier
# measurements stale (a stored measurement of another version is not used).
VERSION = "j1-" + hashlib.sha256(PROMPT.encode("utf-8")).hexdigest()[:8]

# Measured judges of the shipped models (``texture eval --judge``; docs/quality.md): model key
# (contained in the model id) -> the held-out figures. A stored measurement of the same model id
# and version wins.
MEASURED: dict[str, dict] = {
    # every reviewed pair of the checkout (322; 154 held out), the position bias fitted on 168
    "smollm2-135m": {"version": VERSION, "bias": 1.828, "n": 154, "agreement": 0.0974, "interval": (0.0599, 0.1545),
                     "consistency": 0.1234, "trusted": False, "pairs_total": 322},
    # the 154 held-out pairs and 32 tuning pairs (--judge-tuning 32), the bias fitted on those 32
    "qwen2.5-coder-1.5b": {"version": VERSION, "bias": 0.110, "n": 154, "agreement": 0.1104,
                           "interval": (0.0701, 0.1697), "consistency": 0.513, "trusted": False, "pairs_total": 186},
}


class JudgeError(UsageError):
    """The judge cannot run as asked; the message says what to change."""


# --- pairs --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pair:
    """Two texts of one place and, when reviewed, the reader's choice between them."""

    pair_id: str  # the urn, or "<set>/<id>": what the split hashes
    set: str  # where it came from (a file's stem, a review folder's name, "store")
    facts: dict
    first: str
    second: str
    roles: tuple[str, str] = ("first", "second")  # what each text is: llm/template, new/old
    reader: str | None = None  # "first" | "second" | "same" (None: not reviewed)


def half(pair_id: str) -> str:
    """"held_out" or "tuning", by a fixed hash of the pair id (sha256, odd = held out: for the
    shared built-in set the same split as the reading gate's, tests/review_set.py)."""
    return "held_out" if int(hashlib.sha256(pair_id.encode("utf-8", "surrogatepass")).hexdigest(), 16) % 2 else "tuning"


def _lines(path: Path) -> list[dict]:
    out = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise JudgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise JudgeError(f"{path}:{no}: not JSON") from None
        if not isinstance(obj, dict):
            raise JudgeError(f"{path}:{no}: not a JSON object")
        out.append(obj)
    return out


def _text(obj: dict, key: str, where: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not v.strip():
        raise JudgeError(f"{where}: '{key}' is missing or empty")
    return v


def load_reviewed_file(path: Path) -> list[Pair]:
    """A reviewed set in the shared shape (``urn, facts, template, llm, ship``: llm | template | same)."""
    pairs = []
    for i, o in enumerate(_lines(path), 1):
        where = f"{path}:{i}"
        ship = o.get("ship")
        if ship not in ("llm", "template", "same"):
            raise JudgeError(f"{where}: 'ship' must be llm, template or same")
        urn = o.get("urn") if isinstance(o.get("urn"), str) and o.get("urn") else f"{path.stem}/{i}"
        pairs.append(Pair(urn, path.stem, o.get("facts") if isinstance(o.get("facts"), dict) else {},
                          _text(o, "llm", where), _text(o, "template", where), ("llm", "template"),
                          {"llm": "first", "template": "second", "same": "same"}[ship]))
    return pairs


def load_review_folder(folder: Path) -> list[Pair]:
    """A review folder (docs/reviews/NAME/): ``pairs.jsonl`` (id, facts, A, B), ``verdicts.jsonl``
    (id, ship A | B | same) and, when there, ``key.jsonl`` (which side was the LLM's or the new
    one, and the urn)."""
    pairs_f, verdicts_f, key_f = folder / "pairs.jsonl", folder / "verdicts.jsonl", folder / "key.jsonl"
    if not pairs_f.is_file() or not verdicts_f.is_file():
        raise JudgeError(f"{folder}: a review folder needs pairs.jsonl and verdicts.jsonl")
    verdicts = {str(v.get("id")): v for v in _lines(verdicts_f)}
    keys = {str(k.get("id")): k for k in _lines(key_f)} if key_f.is_file() else {}
    out = []
    for i, o in enumerate(_lines(pairs_f), 1):
        where = f"{pairs_f}:{i}"
        pid = str(o.get("id") or i)
        v = verdicts.get(pid)
        if v is None or v.get("ship") not in ("A", "B", "same"):
            continue  # not reviewed (or a verdict of another shape): not a measure
        k = keys.get(pid, {})
        roles: tuple[str, str] = ("A", "B")
        for role, other in (("llm", "template"), ("new", "old")):
            if k.get(role) in ("A", "B"):
                roles = (role, other) if k[role] == "A" else (other, role)
        urn = k.get("urn") if isinstance(k.get("urn"), str) and k.get("urn") else f"{folder.name}/{pid}"
        out.append(Pair(urn, folder.name, o.get("facts") if isinstance(o.get("facts"), dict) else {},
                        _text(o, "A", where), _text(o, "B", where), roles,
                        {"A": "first", "B": "second", "same": "same"}[v["ship"]]))
    return out


def load_reviewed(path: Path) -> list[Pair]:
    """A reviewed set file, a review folder, or a folder of review folders (docs/reviews)."""
    path = Path(path)
    if path.is_file():
        return load_reviewed_file(path)
    if not path.is_dir():
        raise JudgeError(f"{path}: no such file or folder of reviews")
    if (path / "pairs.jsonl").is_file():
        return load_review_folder(path)
    out: list[Pair] = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and (p / "pairs.jsonl").is_file()):
        out += load_review_folder(sub)
    for f in sorted(path.glob("*.jsonl")):
        out += load_reviewed_file(f)
    return out


def default_sources() -> list[Path]:
    """The reviewed sets a checkout ships: docs/reviews/ and tests/data/review/ (none in a wheel)."""
    from . import locations

    root = locations.source_checkout()
    if root is None:
        return []
    return [p for p in (root / "tests" / "data" / "review", root / "docs" / "reviews") if p.is_dir()]


def store_pairs(store) -> list[Pair]:
    """The blind reviews stored in the database (engine.review), as pairs."""
    from .store import ReviewStore

    out = []
    for r in ReviewStore(store).reviews() if "wb_reviews" in store.db.table_names() else []:
        if r.get("ship") not in ("A", "B", "same") or not r.get("text_a") or not r.get("text_b"):
            continue
        try:
            facts = json.loads(r["facts"]) if r.get("facts") else {}
        except ValueError:
            facts = {}
        roles = ("llm", "template") if r.get("llm_side") == "A" else ("template", "llm")
        out.append(Pair(str(r.get("urn") or f"store/{r.get('id')}"), "store", facts if isinstance(facts, dict) else {},
                        r["text_a"], r["text_b"], roles, {"A": "first", "B": "second", "same": "same"}[r["ship"]]))
    return out


def limit_tuning(pairs: list[Pair], n: int | None) -> list[Pair]:
    """Every held-out pair and at most ``n`` tuning pairs (None: all), the tuning ones taken in a
    fixed order (sha256 of the pair id): a cheaper measure whose held-out figures are the same."""
    if n is None:
        return list(pairs)
    tuning = sorted((p for p in pairs if half(p.pair_id) == "tuning"),
                    key=lambda p: hashlib.sha256(p.pair_id.encode("utf-8", "surrogatepass")).hexdigest())
    keep = {id(p) for p in tuning[:max(0, int(n))]}
    return [p for p in pairs if half(p.pair_id) == "held_out" or id(p) in keep]


def reviewed_pairs(sources: Iterable[Path], store=None) -> list[Pair]:
    """Every reviewed pair of ``sources`` and the store, each pair of texts once (the first seen)."""
    seen: set = set()
    out: list[Pair] = []
    pairs: list[Pair] = []
    for s in sources:
        pairs += load_reviewed(Path(s))
    if store is not None:
        pairs += store_pairs(store)
    for p in pairs:
        key = (p.facts.get("name"), frozenset((p.first, p.second)))
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


# --- asking the model ---------------------------------------------------------------------------

def _num(v: Any) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


def render_facts(facts: dict) -> str:
    """The facts as the reader sees them, in plain lines."""
    w = facts.get("weather") if isinstance(facts.get("weather"), dict) else {}
    lines = [f"Name: {facts.get('name') or ''}", f"Base: {facts.get('base') or ''}",
             f"Weather: {_num(w.get('temperature'))} degrees C, {w.get('conditions') or ''}, "
             f"wind {_num(w.get('windSpeed'))} mph"]
    res = []
    for r in facts.get("resources") or []:
        if isinstance(r, dict):
            try:
                a = float(r.get("abundance"))
            except (TypeError, ValueError):
                a = 0.5
            res.append(f"{r.get('type')} ({'plentiful' if a > 0.7 else 'scarce' if a < 0.3 else 'some'})")
    lines.append("Resources: " + (", ".join(res) if res else "none"))
    evs = [e for e in facts.get("events") or [] if isinstance(e, dict)]
    evs.sort(key=lambda e: -float(e.get("significance") or 0))
    lines.append("Events (most significant first): " + ("; ".join(str(e.get("summary") or e.get("type")).rstrip(". ") for e in evs)
                                                          if evs else "none"))
    return "\n".join(lines)


def prompt_for(facts: dict, a: str, b: str) -> str:
    return PROMPT.format(facts=render_facts(facts), a=" ".join(a.split()), b=" ".join(b.split()))


@dataclass(frozen=True)
class Verdict:
    """A judge's verdict on a pair: "first", "second" or "tie" (the two orders disagreed), and
    the margins log P(A) - log P(B) in each order (first text as A, then second text as A)."""

    pick: str
    margins: tuple[float, float]

    @property
    def consistent(self) -> bool:
        return self.pick != "tie"


def verdict_of(margins: tuple[float, float], bias: float = 0.0) -> Verdict:
    """The verdict from the margins log P(A) - log P(B) of order 1 (the first text shown as A)
    and order 2 (the second text as A), less the model's position bias (its margin for "A"
    whatever the texts; fitted on the tuning half, :func:`fit_bias`): the first text when order
    1 says A and order 2 says B, the second text the other way round, a tie otherwise."""
    d1, d2 = margins[0] - bias, margins[1] - bias
    o1 = "first" if d1 > 0 else "second" if d1 < 0 else None
    o2 = "second" if d2 > 0 else "first" if d2 < 0 else None
    return Verdict(o1 if (o1 is not None and o1 == o2) else "tie", (round(margins[0], 6), round(margins[1], 6)))


def ask(llm, items: list[tuple[dict, str, str]], log: Callable[[str], None] = lambda m: None,
        timeout: float | None = 600.0) -> list[tuple[float, float]]:
    """The margins of ``(facts, first, second)`` items: each asked in both orders on the model
    service ``llm`` (its one model thread, each prompt prefilled alone), CHUNK prompts per call."""
    if llm is None or not getattr(llm, "CAN_SCORE", False):
        raise JudgeError(f"the model service {type(llm).__name__} cannot score answers (it has no logits)")
    prompts: list[str] = []
    for facts, a, b in items:
        prompts += [prompt_for(facts, a, b), prompt_for(facts, b, a)]
    lps: list[dict] = []
    for i in range(0, len(prompts), CHUNK):
        lps += llm.choice_logprobs(prompts[i:i + CHUNK], list(CHOICES), timeout=timeout)
        if len(prompts) > CHUNK and (i // CHUNK) % 20 == 19:
            log(f"judge: {len(lps) // 2} of {len(items)} pairs")
    return [(lps[2 * i]["A"] - lps[2 * i]["B"], lps[2 * i + 1]["A"] - lps[2 * i + 1]["B"]) for i in range(len(items))]


def judge_pairs(llm, items: list[tuple[dict, str, str]], bias: float = 0.0,
                log: Callable[[str], None] = lambda m: None) -> list[Verdict]:
    """Verdicts on ``(facts, first, second)`` items (see :func:`ask`, :func:`verdict_of`)."""
    return [verdict_of(m, bias) for m in ask(llm, items, log)]


def fit_bias(margins: list[tuple[float, float]]) -> float:
    """The position bias: the median over pairs of the mean margin of the two orders (a text's
    own merit cancels between the orders; what is left is the model's lean towards "A")."""
    xs = sorted((a + b) / 2 for a, b in margins)
    if not xs:
        return 0.0
    k = len(xs) // 2
    return round(xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2, 4)


# --- agreement with the readers -----------------------------------------------------------------

def figures(pairs: list[Pair], verdicts: list[Verdict]) -> dict:
    """Agreement on "which to ship" (a judge tie counts as the reader's "same"), its interval,
    position consistency, and what each side picked (by the texts' roles)."""
    n = len(pairs)
    agree = sum(1 for p, v in zip(pairs, verdicts) if (v.pick == "tie" and p.reader == "same") or v.pick == p.reader)
    consistent = sum(1 for v in verdicts if v.consistent)
    judge: dict[str, int] = {}
    reader: dict[str, int] = {}
    for p, v in zip(pairs, verdicts):
        jr = "tie" if v.pick == "tie" else p.roles[0 if v.pick == "first" else 1]
        rr = "same" if p.reader == "same" else p.roles[0 if p.reader == "first" else 1]
        judge[jr] = judge.get(jr, 0) + 1
        reader[rr] = reader.get(rr, 0) + 1
    decided = sum(1 for p, v in zip(pairs, verdicts) if v.consistent and v.pick == p.reader)
    return {"n": n, "agree": agree, "agreement": round(agree / n, 4) if n else None,
            "interval": wilson(agree, n), "consistent": consistent,
            "consistency": round(consistent / n, 4) if n else None,
            # of the pairs where both orders agree, how often the judge picked the reader's text
            "agree_when_decided": round(decided / consistent, 4) if consistent else None,
            "judge_picked": dict(sorted(judge.items())), "reader_shipped": dict(sorted(reader.items()))}


def measure(llm, pairs: list[Pair], model_id: str | None = None,
            log: Callable[[str], None] = lambda m: None) -> dict:
    """The judge block: the model's margins on every reviewed pair; its position bias fitted on
    the tuning half only; the figures of each half and each set with that bias (and, for the
    held-out half, without it: ``held_out_uncorrected``); trusted or not (held-out agreement >=
    MIN_AGREEMENT on >= MIN_HELD_OUT pairs)."""
    pairs = [p for p in pairs if p.reader in ("first", "second", "same")]
    margins = ask(llm, [(p.facts, p.first, p.second) for p in pairs], log) if pairs else []
    tuning = [m for p, m in zip(pairs, margins) if half(p.pair_id) == "tuning"]
    bias = fit_bias(tuning)
    verdicts = [verdict_of(m, bias) for m in margins]

    def sel(h: str | None = None, s: str | None = None, vs: list[Verdict] = verdicts) -> dict:
        chosen = [(p, v) for p, v in zip(pairs, vs) if (h is None or half(p.pair_id) == h) and (s is None or p.set == s)]
        return figures([p for p, _ in chosen], [v for _, v in chosen])

    ho = sel("held_out")
    trusted, why = decide_trust(ho)
    return {"model": model_id, "version": VERSION, "bias": bias, "n": ho["n"], "agreement": ho["agreement"],
            "interval": ho["interval"], "consistency": ho["consistency"], "trusted": trusted, "why": why,
            "held_out": ho, "tuning": sel("tuning"), "all": sel(),
            "held_out_uncorrected": sel("held_out", vs=[verdict_of(m) for m in margins]),
            "by_set": {s: {"all": sel(None, s), "held_out": sel("held_out", s)} for s in sorted({p.set for p in pairs})},
            "verdicts": ho["judge_picked"], "pairs_total": len(pairs),
            "pairs": [{"pair_id": p.pair_id, "set": p.set, "half": half(p.pair_id), "reader": p.reader,
                       "judge": v.pick, "margins": list(v.margins)} for p, v in zip(pairs, verdicts)],
            "rule": f"held-out agreement >= {MIN_AGREEMENT:.0%} on >= {MIN_HELD_OUT} pairs"}


def decide_trust(held_out: dict) -> tuple[bool, str]:
    n, a = held_out.get("n") or 0, held_out.get("agreement")
    if n < MIN_HELD_OUT:
        return False, (f"only {n} held-out reviewed pairs; at least {MIN_HELD_OUT} are needed to trust a judge")
    if a is None or a < MIN_AGREEMENT:
        return False, (f"it agrees with the blind readers on {held_out['agree']} of {n} held-out pairs "
                       f"({a:.0%}), below the {MIN_AGREEMENT:.0%} a judge needs")
    return True, f"it agrees with the blind readers on {held_out['agree']} of {n} held-out pairs ({a:.0%})"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f} %"


def _line(label: str, f: dict) -> str:
    iv = f.get("interval")
    ivs = f"95 % Wilson {_pct(iv[0])}-{_pct(iv[1])}" if iv else "no interval"
    return (f"  {label:<46} {f['agree']:>3} of {f['n']:<3} agree ({_pct(f['agreement'])}, {ivs}); "
            f"both orders agree on {_pct(f['consistency'])} (and then pick the reader's text "
            f"{_pct(f.get('agree_when_decided'))})")


def format_block(j: dict) -> str:
    """The judge block in plain lines (figures, names of sets made safe for a terminal)."""
    from .textsafe import visible

    if j.get("error"):
        return f"judge: {visible(str(j['error']))}"
    lines = [f"judge {visible(str(j.get('model')))} ({j.get('version')}): agreement with blind readers on which text "
             "to ship (a judge tie counts as the reader's 'same'; pairs split by a fixed hash of the pair id)",
             _line("held-out half (the figure that counts)", j["held_out"]),
             _line("tuning half", j["tuning"]),
             _line("held-out, no position correction", j["held_out_uncorrected"]),
             f"  position bias (fitted on the tuning half): {j['bias']:+.3f} nats towards 'A'"]
    for s, f in j.get("by_set", {}).items():
        lines.append(_line(f"{visible(s)[:30]} (all / held out)", f["all"])
                     + f" / {f['held_out']['agree']} of {f['held_out']['n']}")
    lines.append("  held-out picks: judge " + ", ".join(f"{visible(k)} {v}" for k, v in j["held_out"]["judge_picked"].items())
                 + "; readers " + ", ".join(f"{visible(k)} {v}" for k, v in j["held_out"]["reader_shipped"].items()))
    if j.get("trusted"):
        lines.append(f"  judge trusted: {j['why']}.")
    else:
        lines.append(f"  judge NOT trusted: {j['why']}; nothing uses its verdicts.")
    if j.get("sample"):
        s = j["sample"]
        lines.append("  on this run's accepted model texts against their templates: "
                     + ", ".join(f"{k} {v}" for k, v in s.items()))
    return "\n".join(lines)


# --- stored measurements ------------------------------------------------------------------------

def _file() -> Path:
    from . import locations

    return locations.data_dir() / "judges.json"


def _read_stored() -> dict:
    try:
        d = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def save_measurement(model_id: str, block: dict) -> Path:
    """Keep a measurement under its model id (written whole, atomically)."""
    d = _read_stored()
    d[str(model_id)] = {k: block.get(k) for k in ("version", "bias", "n", "agreement", "interval", "consistency",
                                                   "trusted", "why", "pairs_total")}
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(d, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def measurement_for(model_id: str | None) -> dict | None:
    """The measurement of this model id and judge version: stored, else the built-in table's."""
    if not model_id:
        return None
    rec = _read_stored().get(str(model_id))
    if isinstance(rec, dict) and rec.get("version") == VERSION:
        return rec
    name = str(model_id).lower()
    for key, rec in MEASURED.items():
        if key in name and rec.get("version") == VERSION:
            return rec
    return None


def trusted(model_id: str | None) -> tuple[bool, str]:
    """(trusted, why) for a judge on ``model_id``, from its stored measurement, never measuring."""
    rec = measurement_for(model_id)
    if rec is None:
        return False, f"the judge on {model_id or 'no model'} has not been measured (texture eval --judge)"
    ok, why = decide_trust({"n": rec.get("n") or 0, "agreement": rec.get("agreement"),
                            "agree": round((rec.get("agreement") or 0) * (rec.get("n") or 0))})
    return ok, why


# --- the batch's side ---------------------------------------------------------------------------

JUDGE_REASON = "invalid:judge"


def facts_of_place(p) -> dict:
    return {"name": p.name, "base": p.base,
            "weather": {"temperature": p.temperature, "conditions": p.conditions, "windSpeed": p.wind_speed},
            "resources": [{"type": r.type, "abundance": r.abundance} for r in p.resources],
            "events": [{"type": e.type, "significance": e.significance, "term": e.term, "summary": e.summary}
                       for e in p.events]}


def batch_gate(runner) -> Callable[[Any, str, str], tuple[str, str] | None] | None:
    """The extra acceptance gate of a batch (``FLUX_LLM_JUDGE=true``): a function
    ``(place, llm_text, template) -> (reason, detail) or None`` asking the batch's own model
    whether the LLM text beats its template, or None when the setting is off, the service cannot
    score, or the model's judge is not trusted (checked once per runner and model, not measured)."""
    cfg, llm = runner.cfg, runner.llm
    if not getattr(cfg, "judge", False) or llm is None or not getattr(llm, "CAN_SCORE", False):
        return None
    model_id = getattr(llm, "model_id", None)
    try:
        stamp = _file().stat().st_mtime_ns
    except OSError:
        stamp = None
    cache = runner.__dict__.setdefault("_judge_trust", {})
    key = (model_id, stamp)  # a new measurement is seen by the next batch
    if key not in cache:
        cache.clear()
        ok, _ = trusted(model_id)
        cache[key] = (ok, float((measurement_for(model_id) or {}).get("bias") or 0.0))
    ok, bias = cache[key]
    if not ok:
        return None

    def gate(place, text: str, template: str) -> tuple[str, str] | None:
        v = judge_pairs(llm, [(facts_of_place(place), text, template)], bias)[0]
        if v.pick == "first":
            return None
        return JUDGE_REASON, ("the judge prefers the template" if v.pick == "second" else
                              "the judge's two orders disagree (a tie): the template is kept")

    return gate


def unused_reason(runner) -> str | None:
    """Why a batch with ``FLUX_LLM_JUDGE=true`` asked no judge (None: it did, or could)."""
    llm = runner.llm
    if llm is None or not llm.ready():
        return None  # no model at all: the batch's own notice says so
    if not getattr(llm, "CAN_SCORE", False):
        return f"the model service {type(llm).__name__} cannot score answers"
    ok, why = trusted(getattr(llm, "model_id", None))
    return None if ok else f"the judge is not trusted ({why})"
