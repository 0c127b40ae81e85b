"""The prompt workbench for world designers: versions, previews, A/B on a pinned set, ratings.

Headless (no UI imports): the console's workbench screens, the ``texture prompts`` command and
scripts all use this API. Everything runs on the caller's thread with the caller's
:class:`~engine.store.Store` (SQLite connections stay on their thread); model work goes to the
``LLMService`` (the real :class:`~engine.llm.generator.GenerationEngine` or the test seam
:class:`~engine.llm.scripted.ScriptedLLM`) and comes back through its events. Nothing here writes
``results`` or ``current``: production is never touched by a preview or a comparison.

API (free functions; :class:`Workbench` bundles them for the console)
-------------------------------------------------------------------
Storage
    Every statement is a :class:`~engine.store.WorkbenchStore` method (``engine/store/workbench.py``);
    the ``wb_*`` tables and extra ``ratings`` columns are the workbench's own migration set
    (``engine/store/workbench_migrations.py``), applied when a :class:`~engine.store.Store` opens.
Versions
    ``record_library(store, library) -> list[PromptVersion]`` — record the active version of
    every prompt file (call when the workbench opens; :class:`Workbench` does).
    ``history(store, name, library=None) -> list[PromptVersion]`` — newest ``last_seen`` first.
    ``resolve_version(store, ref, name=None) -> PromptVersion`` — a version id or unique prefix.
    ``resolve_prompt(ref, library, store, name="texture") -> Prompt`` — ``current``,
    ``previous``, a version id/prefix, a prompt name in the library, or a prompt file path.
    ``diff_versions(a_text, b_text) -> list[(tag, line)]`` — tag ``" "`` same, ``"-"`` only in
    a, ``"+"`` only in b.
    ``restore_version(library, store, name, version) -> Path`` — write that text back to the
    file atomically; the old on-disk text is recorded first, the restore is recorded as a save.
Pinned sets
    ``pin_set(store, name, urns) -> PinnedSet``, ``pinned_sets(store)``, ``get_pinned(store,
    name)``, ``unpin_set(store, name)``; ``stratified_sample(places, cfg, n, seed=0)``.
Preview and compare
    ``preview(places, prompt, llm, cfg, store, ...) -> list[PreviewRow]`` — the prompt (a
    :class:`Prompt`, prompt text, or a file ``Path``) on a sample, next to production text.
    ``compare(places, variants, llm, cfg, store, runs=1, ...) -> CompareResult`` — the matrix
    places x :class:`Variant` and a :class:`VariantSummary` per variant; ``runs=2`` runs it all
    again and reports ``rerun_identical`` per variant (generation is seeded).
    ``runs_list(store)`` / ``load_run(store, run_id) -> CompareResult`` — stored runs;
    ``prompt_text(store, version)`` — the text of any version a run or a rating refers to (drafts
    compared in the workbench are kept in ``wb_prompt_texts``, not in the version history).
    Progress: pass ``on_event`` to receive the engine's own events (``PlaceStarted``, ``Tokens``,
    ``PlaceFinished``, ``BatchFinished``) from the generation thread; their ``key`` is
    :func:`cell_key` ``(run_no, variant_index, urn)`` (:func:`parse_cell_key` reverses it).
    Pass ``cancel`` (a ``threading.Event``) to stop: unfinished cells end with reason
    ``cancelled``. Both functions block: call them from a worker thread in a UI.
Ratings
    ``rate(store, output_ref, "good"|"bad", note="") -> int`` — ``output_ref`` is a workbench
    output id (``Cell.output_id``, ``PreviewRow.output_id``, ``"wb:12"``), or a production result
    (``"result:34"``). ``golden_set(store, urn=None) -> list[GoldenItem]``,
    ``ratings_list(store)``, ``export_ratings(store, path, fmt="jsonl"|"csv") -> int``.
Metrics
    ``batch_fact_coverage(store, batch_id, places=None) -> dict`` — fact coverage of a
    production batch (for the metrics screen).

Definitions
-----------
* A cell's ``reason`` is None for a valid output, else what production would have done instead
  of using it: a model fault (``timeout``, ``error``, ``cancelled``, ``model_unavailable``) or
  ``invalid:<code>`` from ``engine.validate`` (the text is cleaned exactly as a batch cleans it).
* Budget: the variant's ``budget_override``, else the place's tier budget; template-tier places
  (which production never sends to the model) use the ``light`` budget so they can be previewed.
  ``Cell.eligible`` says whether production would use the model for that place at all.
* Deadlines: none by default (the workbench judges the prompt, and a deadline would make a
  re-run depend on machine load); ``deadline_s="auto"`` uses production's deadline.
* Output key: a hash of everything that determines the text (urn, state hash, base-text hash,
  prompt version, model id, temperature, budget, seed). Same key -> same text.
* Fact coverage (``engine.factcheck``): ``Cell.facts`` per output; ``VariantSummary.fact_coverage``
  is the mean over the variant's valid outputs.
* Ratings: the latest rating of an identical text for the same place and state counts. A cell's
  ``rating`` is that rating ("good"/"bad"/None). ``VariantSummary.rating_score`` = mean over rated
  cells (good = 1, bad = 0; None if none is rated). The golden set is every text whose latest
  rating is good; ``golden_match`` = share of the places that have a golden text where the
  variant's text is identical to one (None if no place has one); ``golden_similarity`` = mean of
  the best ``difflib`` ratio against the place's golden texts (a softer signal after a change).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import hashlib
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Config
from .llm.events import PlaceFinished
from .factcheck import FactReport, check_facts
from .policy import TEMPLATE, decide
from .prompts import DEFAULT_PROMPT, SUFFIX, Prompt, PromptError, PromptLibrary, compile_prompt, read_prompt_file, version_of
from .store import Store, WorkbenchStore, now
from .templates import render_template
from .validate import clean_output, validate_output
from .world import Place, base_hash, parse_place
from .errors import TextureError

RATINGS = ("good", "bad")
EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_FIELDS = ("id", "created_at", "rating", "note", "urn", "state_hash", "seed", "text", "prompt_name",
                 "prompt_version", "prompt_text", "model_id", "temperature", "budget", "output_key", "output_id",
                 "result_id", "origin", "base_hash")
TIER_ORDER = ("premium", "full", "light", "template")


class WorkbenchError(TextureError):
    """A user error with a one-line message (unknown version, unknown pinned set, ...)."""


def _wb(store: Store) -> WorkbenchStore:
    return WorkbenchStore(store)


# --- versions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromptVersion:
    version: str
    name: str
    text: str
    first_seen: float
    last_seen: float
    restores: int = 0  # how many times this version was restored to the file
    on_disk: bool = False  # the active version of the file now (when a library was given)

    @property
    def lines(self) -> int:
        return len(self.text.splitlines())

    def as_dict(self) -> dict:
        return {"version": self.version, "name": self.name, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "restores": self.restores, "on_disk": self.on_disk, "lines": self.lines}


def _record(store: Store, name: str, prompt_text: str, action: str, path: Path | None = None) -> str:
    """Record a prompt text (prompt_versions) and a workbench event, in one transaction."""
    version = version_of(prompt_text)
    _wb(store).record_prompt_event(name, version, prompt_text, action, path)
    return version


def record_library(store: Store, library: PromptLibrary) -> list[PromptVersion]:
    """Record the active version of every prompt file; returns them. An event row is added only
    when a file's version differs from the last one seen for it (reopening adds nothing)."""
    out = []
    for st in library.status():
        p = st.active
        if p is None:
            continue
        if _wb(store).last_event_version(st.name) == p.version:
            _wb(store).touch_prompt(st.name, p.version, p.text)
        else:
            _record(store, st.name, p.text, "seen", st.path)
        out.append(p)
    return [v for p in out for v in history(store, p.name, library) if v.version == p.version]


def history(store: Store, name: str = DEFAULT_PROMPT, library: PromptLibrary | None = None) -> list[PromptVersion]:
    """Every recorded version of prompt ``name``, most recently seen first."""
    rows = _wb(store).history_rows(name)
    active = library.get(name) if library is not None else None
    return [PromptVersion(r["version"], name, r["text"], r["first_seen"], r["last_seen"], r["restores"],
                          active is not None and active.version == r["version"]) for r in rows]


def resolve_version(store: Store, ref: str, name: str | None = None) -> PromptVersion:
    """The recorded version whose id is ``ref`` or starts with it (4+ characters)."""
    ref = (ref or "").strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
        raise WorkbenchError(f"unknown prompt version {ref!r} (give 4 or more hex digits of a version id)")
    rows = _wb(store).versions_with_prefix(ref)
    if name is not None and len(rows) > 1:
        mine = [r for r in rows if r["name"] == name]
        rows = mine or rows
    if not rows:
        hint = f" (see `texture prompts history {name}`)" if name else " (see `texture prompts history`)"
        raise WorkbenchError(f"unknown prompt version {ref!r}{hint}")
    if len(rows) > 1:
        raise WorkbenchError(f"prompt version {ref!r} is ambiguous: {', '.join(r['version'] for r in rows[:5])}")
    r = rows[0]
    return PromptVersion(r["version"], name or r["name"], r["text"], r["first_seen"], r["last_seen"])


def resolve_prompt(ref: str, library: PromptLibrary, store: Store, name: str = DEFAULT_PROMPT) -> Prompt:
    """A prompt from a reference: ``current`` (the file's active version), ``previous`` (the most
    recently seen other version of ``name``), a version id or prefix, the name of another prompt
    file in the library, or a path to a prompt file. Raises :class:`WorkbenchError`."""
    ref = str(ref).strip()
    if ref in ("current", "previous"):
        cur = library.get(name)
        if ref == "current":
            if cur is None:
                raise WorkbenchError(f"prompt {name!r} has no usable version in {library.folder}")
            return cur
        for v in history(store, name):
            if cur is None or v.version != cur.version:
                return _compile(v.text, name, v.version)
        raise WorkbenchError(f"prompt {name!r} has no previous version yet (see `texture prompts history {name}`)")
    path = Path(ref).expanduser()
    if ref.endswith(SUFFIX) or os.sep in ref or path.is_file():
        if not path.is_file():
            raise WorkbenchError(f"prompt file not found: {ref}")
        try:
            return read_prompt_file(path)
        except PromptError as exc:
            raise WorkbenchError(str(exc)) from None
    if library.get(ref) is not None and not all(c in "0123456789abcdef" for c in ref.lower()):
        return library.get(ref)  # type: ignore[return-value]
    v = resolve_version(store, ref, name)
    return _compile(v.text, v.name, v.version)


def _compile(text: str, name: str, version: str) -> Prompt:
    try:
        return compile_prompt(text, f"{name} (version {version})", name)
    except PromptError as exc:
        raise WorkbenchError(f"recorded version {version} of {name!r} does not compile: {exc}") from None


def diff_versions(a_text: str, b_text: str) -> list[tuple[str, str]]:
    """A line diff: ``(" ", line)`` in both, ``("-", line)`` only in a, ``("+", line)`` only in b."""
    a, b = a_text.splitlines(), b_text.splitlines()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(" ", line) for line in a[i1:i2]]
        else:
            out += [("-", line) for line in a[i1:i2]]
            out += [("+", line) for line in b[j1:j2]]
    return out


def _atomic_write(path: Path, text: str) -> None:
    # The temp name does not end in .prompt, so a folder watcher never loads a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None


def restore_version(library: PromptLibrary, store: Store, name: str, version: str) -> Path:
    """Write recorded ``version`` of prompt ``name`` back to its file (atomically) and reload it.

    Nothing is lost: the text on disk is recorded first (as a version if it compiles, else as a
    ``before_restore_unparsable`` event holding the raw text), and the restore itself is recorded
    as a save (the version's ``last_seen`` moves to now; an event ``restored``)."""
    target = resolve_version(store, version, name)
    path = Path(library.folder) / f"{name}{SUFFIX}"
    if path.exists():
        try:
            old = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            old = None
        if old is not None and old != target.text:
            try:
                compile_prompt(old, str(path), name)
            except PromptError:
                _wb(store).add_prompt_event(name, version_of(old), "before_restore_unparsable", path, old)
            else:
                _record(store, name, old, "before_restore", path)
                # The restore must be seen strictly later than the text it replaces (history and
                # Store.last_prompt order by last_seen, which has millisecond resolution).
                t0 = now()
                while now() <= t0:
                    time.sleep(0.001)
    _atomic_write(path, target.text)
    library.reload(path)
    _record(store, name, target.text, "restored", path)
    return path


# --- pinned sets and samples ---------------------------------------------------------------

@dataclass(frozen=True)
class PinnedSet:
    name: str
    urns: tuple[str, ...]
    created_at: float
    updated_at: float

    def as_dict(self) -> dict:
        return {"name": self.name, "urns": list(self.urns), "created_at": self.created_at, "updated_at": self.updated_at}


def pin_set(store: Store, name: str, urns: Iterable[str]) -> PinnedSet:
    """Save (or replace) the regression set ``name``: the urns, in order, without duplicates."""
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise WorkbenchError("a pinned set needs a name (1-100 printable characters)")
    urns = list(dict.fromkeys(str(u) for u in urns))
    if not urns:
        raise WorkbenchError(f"pinned set {name!r} would be empty: give at least one place")
    _wb(store).save_pinned(name, urns)
    return get_pinned(store, name)


def pinned_sets(store: Store) -> list[PinnedSet]:
    return [PinnedSet(r["name"], tuple(json.loads(r["urns"])), r["created_at"], r["updated_at"])
            for r in _wb(store).pinned_rows()]


def get_pinned(store: Store, name: str) -> PinnedSet:
    r = _wb(store).pinned_row(name)
    if r is None:
        known = ", ".join(s.name for s in pinned_sets(store)) or "none yet"
        raise WorkbenchError(f"unknown pinned set {name!r} (known: {known})")
    return PinnedSet(r["name"], tuple(json.loads(r["urns"])), r["created_at"], r["updated_at"])


def unpin_set(store: Store, name: str) -> bool:
    return _wb(store).delete_pinned(name)


def places_for(urns: Iterable[str], places: Iterable[Place]) -> list[Place]:
    """The places of ``urns`` in that order; raises :class:`WorkbenchError` naming unknown urns."""
    by = {p.urn: p for p in places}
    urns = list(urns)
    missing = [u for u in urns if u not in by]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise WorkbenchError(f"unknown urn: {', '.join(missing[:3])}{more} (not in this world)")
    return [by[u] for u in dict.fromkeys(urns)]


def _h(seed: int, s: str) -> str:
    return hashlib.sha256(f"{seed}\x00{s}".encode("utf-8", "surrogatepass")).hexdigest()


def stratified_sample(places: Iterable[Place], cfg: Config, n: int, seed: int = 0) -> list[Place]:
    """``n`` places spread over tiers and regions, deterministically (same input, same sample).

    Places production sends to the model (eligible) come first; only when they run out are the
    others used. Within each group the tiers take turns (premium, full, light, template); each
    turn takes a place from the tier's region picked least so far (over all tiers; ties in an
    order shuffled by ``seed``); inside a (tier, region) stratum places are in ``seed``-shuffled
    order."""
    if n <= 0:
        return []
    groups: dict[bool, dict[str, dict[str, list[Place]]]] = {True: {}, False: {}}
    for p in places:
        d = decide(p, cfg)
        groups[d.eligible].setdefault(d.tier, {}).setdefault(p.region, []).append(p)
    out: list[Place] = []
    used: Counter = Counter()  # picks per region so far (over all tiers)
    for eligible in (True, False):
        tiers = groups[eligible]
        tier_list = [t for t in TIER_ORDER if t in tiers] + sorted(set(tiers) - set(TIER_ORDER))
        queues = {t: {r: sorted(ps, key=lambda p: _h(seed, p.urn)) for r, ps in tiers[t].items()} for t in tier_list}
        while len(out) < n and any(any(q.values()) for q in queues.values()):
            for tier in tier_list:
                live = [r for r, q in queues[tier].items() if q]
                if not live:
                    continue
                # The region picked least so far, ties in seed-shuffled order.
                region = min(live, key=lambda r: (used[r], _h(seed, r)))
                out.append(queues[tier][region].pop(0))
                used[region] += 1
                if len(out) >= n:
                    break
    return out[:n]


# --- generation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One column of a comparison: a prompt, optionally at another temperature or budget."""

    label: str
    prompt: Prompt
    temperature: float | None = None  # None: the config's temperature
    budget_override: int | None = None  # None: the place's tier budget

    def as_dict(self) -> dict:
        return {"label": self.label, "prompt_name": self.prompt.name, "prompt_version": self.prompt.version,
                "temperature": self.temperature, "budget_override": self.budget_override}


def cell_key(run_no: int, variant_index: int, urn: str) -> str:
    """The request key of one cell in engine events: ``"r1|v0|<urn>"``."""
    return f"r{run_no}|v{variant_index}|{urn}"


def parse_cell_key(key: str) -> tuple[int, int, str]:
    """``(run_no, variant_index, urn)`` from :func:`cell_key`; raises ValueError otherwise."""
    r, v, urn = key.split("|", 2)
    if not (r.startswith("r") and v.startswith("v")):
        raise ValueError(f"not a workbench cell key: {key!r}")
    return int(r[1:]), int(v[1:]), urn


def budget_for(place: Place, cfg: Config, override: int | None = None) -> int:
    """The token budget a variant gives ``place`` (template-tier places get the light budget)."""
    if override is not None:
        return max(1, int(override))
    tier = decide(place, cfg).tier
    return int(cfg.budgets.get(tier if tier != TEMPLATE else "light", 80))


def output_key(urn: str, state_hash: str, base_hash: str, prompt_version: str, model_id: str | None,
               temperature: float, budget: int, seed: int) -> str:
    """The reproduction key of one output: same key -> same text (generation is seeded)."""
    blob = json.dumps([urn, state_hash, base_hash, prompt_version, model_id, float(temperature), int(budget), int(seed)],
                      ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class _Fin:
    text: str | None
    reason: str | None
    n_tokens: int = 0
    latency_s: float | None = None
    detail: str = ""


def _generate(llm: Any, reqs: list[dict], on_event: Callable[[Any], None] | None, cancel: threading.Event | None,
              timeout_s: float | None) -> dict[str, _Fin]:
    """Submit ``reqs`` as one job and collect one finish per key (never hangs past ``timeout_s``)."""
    if not reqs:
        return {}
    if llm is None or not llm.ready():
        why = llm.unavailable_reason() if llm is not None else "no model loaded"
        return {r["key"]: _Fin(None, "model_unavailable", detail=str(why or "")) for r in reqs}
    keys = {r["key"] for r in reqs}
    got: dict[str, _Fin] = {}
    lock = threading.Lock()
    done = threading.Event()

    def cb(ev: Any) -> None:
        if isinstance(ev, PlaceFinished) and ev.key in keys:
            with lock:
                got.setdefault(ev.key, _Fin(ev.text, ev.reason, ev.n_tokens or 0, ev.latency_s, ev.detail or ""))
                if len(got) >= len(keys):
                    done.set()
        if on_event is not None:
            try:
                on_event(ev)
            except Exception:  # an observer's bug never loses a comparison
                pass

    job = llm.submit(reqs, cb)
    t_end = None if timeout_s is None else time.monotonic() + timeout_s
    cancelled_at = None
    while not done.wait(0.05):
        stop = (cancel is not None and cancel.is_set()) or (t_end is not None and time.monotonic() > t_end)
        if stop and cancelled_at is None:
            job.cancel()
            cancelled_at = time.monotonic()
        if cancelled_at is not None and time.monotonic() - cancelled_at > 10.0:
            break  # the engine did not answer the cancel: give up on the rest
    with lock:
        out = dict(got)
    why = "cancelled" if cancel is not None and cancel.is_set() else "timeout"
    for k in keys - set(out):
        out[k] = _Fin(None, why, detail="no result from the model")
    return out


@dataclass
class Cell:
    """One output: a place under one variant (one run)."""

    urn: str
    variant: str
    run_no: int
    text: str | None  # cleaned model text (None if the model gave none)
    raw_text: str | None
    reason: str | None  # None = valid; else a model fault or invalid:<code>
    detail: str
    latency_ms: float | None
    tokens: int
    facts: FactReport | None  # of ``text`` (None without text)
    prompt_version: str
    temperature: float
    budget: int
    seed: int
    state_hash: str
    tier: str
    eligible: bool
    output_key: str
    model_id: str | None
    output_id: int | None = None
    rating: str | None = None  # latest rating of an identical text for this place and state
    golden_match: bool | None = None  # identical to a golden text (None: no golden text for the place)
    golden_similarity: float | None = None
    rerun_identical: bool | None = None  # with runs=2: the second run's text equals this one
    name: str = ""  # the place's name
    base_hash: str = ""  # hash of the place's base description (part of the output key)

    @property
    def length(self) -> int:
        return len(self.text or "")

    @property
    def valid(self) -> bool:
        return self.reason is None and self.text is not None

    @property
    def fact_coverage(self) -> float | None:
        return self.facts.coverage if self.facts is not None else None

    def as_dict(self, texts: bool = True, facts: bool = False) -> dict:
        d = {"urn": self.urn, "variant": self.variant, "output_id": self.output_id, "length": self.length,
             "latency_ms": self.latency_ms, "tokens": self.tokens, "reason": self.reason,
             "fact_coverage": None if self.fact_coverage is None else round(self.fact_coverage, 4),
             "contradicted": self.facts.count("contradicted") if self.facts else 0,
             "rating": self.rating, "golden_match": self.golden_match,
             "golden_similarity": None if self.golden_similarity is None else round(self.golden_similarity, 4),
             "rerun_identical": self.rerun_identical, "output_key": self.output_key, "budget": self.budget,
             "temperature": self.temperature, "eligible": self.eligible, "tier": self.tier}
        if texts:
            d["text"] = self.text
        if facts and self.facts is not None:
            d["facts"] = self.facts.as_dict()
        return d


@dataclass
class VariantSummary:
    label: str
    prompt_name: str
    prompt_version: str
    temperature: float
    budget_override: int | None
    places: int
    valid: int
    fallback_rate: float  # share of cells production would not use (model fault or invalid)
    mean_length: float | None  # over valid outputs
    mean_latency_ms: float | None
    mean_tokens: float | None
    fact_coverage: float | None  # mean over valid outputs
    contradicted: int  # contradicted facts over valid outputs
    reasons: dict
    rated: int
    rating_score: float | None
    golden_places: int
    golden_match: float | None
    golden_similarity: float | None
    rerun_identical: bool | None = None  # None unless runs=2
    rerun_differs: list = field(default_factory=list)  # urns whose re-run text differed

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("fallback_rate", "mean_length", "mean_latency_ms", "mean_tokens", "fact_coverage", "rating_score",
                  "golden_match", "golden_similarity"):
            if d[k] is not None:
                d[k] = round(d[k], 4)
        return d


@dataclass
class CompareResult:
    run_id: int | None
    kind: str  # "compare" | "preview"
    variants: list[Variant]
    urns: list[str]
    cells: dict  # (variant label, urn) -> Cell (run 1)
    summaries: dict  # variant label -> VariantSummary
    runs: int = 1
    rerun: dict = field(default_factory=dict)  # (variant label, urn) -> Cell (run 2)
    model_id: str | None = None
    templates: dict = field(default_factory=dict)  # urn -> template text
    production: dict = field(default_factory=dict)  # urn -> (text, source, state_hash) | None
    status: str = "done"  # done | cancelled

    def cell(self, label: str, urn: str) -> Cell:
        return self.cells[(label, urn)]

    def row(self, urn: str) -> list[Cell]:
        return [self.cells[(v.label, urn)] for v in self.variants]

    def column(self, label: str) -> list[Cell]:
        return [self.cells[(label, u)] for u in self.urns]

    def as_dict(self, texts: bool = True, facts: bool = False) -> dict:
        """The JSON shape ``texture prompts compare --json`` prints."""
        return {
            "run_id": self.run_id, "kind": self.kind, "status": self.status, "model_id": self.model_id,
            "runs": self.runs, "places": list(self.urns),
            "variants": [v.as_dict() for v in self.variants],
            "summary": [self.summaries[v.label].as_dict() for v in self.variants],
            "matrix": [{"urn": u, "cells": {v.label: self.cells[(v.label, u)].as_dict(texts, facts) for v in self.variants}}
                       for u in self.urns],
        }


def _unique_labels(variants: list[Variant]) -> list[Variant]:
    seen: Counter = Counter()
    out = []
    for v in variants:
        label = v.label or v.prompt.version
        seen[label] += 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        out.append(v if label == v.label else Variant(label, v.prompt, v.temperature, v.budget_override))
    return out


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _rating_index(store: Store, urns: list[str]) -> tuple[dict, dict]:
    """(urn, state_hash, normalised text) -> latest rating; (urn, state_hash) -> golden texts."""
    latest: dict[tuple[str, str, str], str] = {}
    for r in _wb(store).ratings_of(urns):
        latest[(r["urn"], r["state_hash"] or "", _norm(r["text"]))] = r["rating"]
    golden: dict[tuple[str, str], list[str]] = {}
    for (urn, sh, text), rating in latest.items():
        if rating == "good":
            golden.setdefault((urn, sh), []).append(text)
    return latest, golden


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _production(store: Store, urns: list[str]) -> dict[str, tuple[str, str] | None]:
    out: dict[str, tuple[str, str] | None] = {u: None for u in urns}
    for r in _wb(store).current_of(urns):
        out[r["urn"]] = (r["text"], r["source"], r["state_hash"])
    return out


def compare(places: list[Place], variants: list[Variant], llm: Any, cfg: Config, store: Store, runs: int = 1, *,
            kind: str = "compare", label: str = "", deadline_s: float | str | None = None,
            on_event: Callable[[Any], None] | None = None, cancel: threading.Event | None = None,
            timeout_s: float | None = None, record: bool = True) -> CompareResult:
    """Run every place under every variant (``runs`` times, 1 or 2) and summarise per variant.

    All cells of one run go to the model as one job (they share its streams). Results are stored in
    ``wb_runs``/``wb_outputs`` (``record=False``: kept in memory only); production tables are never
    written. Blocks until done or ``cancel`` is set."""
    if runs not in (1, 2):
        raise WorkbenchError("runs must be 1 or 2")
    if not variants:
        raise WorkbenchError("nothing to compare: give at least one variant")
    seen: set[str] = set()
    places = [p for p in places if not (p.urn in seen or seen.add(p.urn))]
    if not places:
        raise WorkbenchError("nothing to compare: no places")
    variants = _unique_labels(list(variants))
    model_id = llm.model_id if (llm is not None and llm.ready()) else None
    urns = [p.urn for p in places]
    decisions = {p.urn: decide(p, cfg) for p in places}
    templates = {p.urn: render_template(p) for p in places}
    production = _production(store, urns)
    if record:
        # Every prompt text a run used is kept (ratings and stored runs point at it by version),
        # but in wb_prompt_texts: prompt_versions is "ever active", and a draft compared here
        # must neither appear in the history nor become the batches' "last good version".
        _wb(store).keep_prompt_texts([(v.prompt.version, v.prompt.name, v.prompt.text) for v in variants])

    plans = []  # (vi, variant, place, prompt_text, temperature, budget)
    for vi, v in enumerate(variants):
        temp = float(cfg.temperature if v.temperature is None else v.temperature)
        for p in places:
            d = decisions[p.urn]
            plans.append((vi, v, p, v.prompt.render(p, d.tier), temp, budget_for(p, cfg, v.budget_override)))

    def deadline(budget: int) -> float | None:
        if deadline_s == "auto":
            if cfg.timeout_ms:
                return cfg.timeout_ms / 1000.0
            return llm.deadline_for(budget) if llm is not None and llm.ready() else None
        return None if deadline_s is None else float(deadline_s)

    all_cells: dict[int, dict] = {}
    status = "done"
    for run_no in range(1, runs + 1):
        reqs = [{"key": cell_key(run_no, vi, p.urn), "prompt": text, "seed": p.seed, "max_tokens": budget,
                 "temperature": temp, "deadline_s": deadline(budget)}
                for vi, v, p, text, temp, budget in plans]
        fins = _generate(llm, reqs, on_event, cancel, timeout_s)
        cells = {}
        for vi, v, p, text, temp, budget in plans:
            f = fins[cell_key(run_no, vi, p.urn)]
            reason, detail, cleaned = f.reason, f.detail, None
            if f.text is not None:
                cleaned = clean_output(f.text)
                if reason is None:
                    bad = validate_output(cleaned, text)
                    if bad is not None:
                        reason = f"invalid:{bad}"
            d = decisions[p.urn]
            cells[(v.label, p.urn)] = Cell(
                p.urn, v.label, run_no, cleaned, f.text, reason, detail,
                round(f.latency_s * 1000, 1) if f.latency_s is not None else None, int(f.n_tokens or 0),
                check_facts(p, cleaned) if cleaned is not None else None, v.prompt.version, temp, budget, p.seed,
                p.state_hash, d.tier, d.eligible,
                output_key(p.urn, p.state_hash, base_hash(p), v.prompt.version, model_id, temp, budget, p.seed), model_id,
                name=p.name, base_hash=base_hash(p))
        all_cells[run_no] = cells
        if cancel is not None and cancel.is_set():
            status = "cancelled"
            break

    first = all_cells[1]
    second = all_cells.get(2, {})
    latest, golden = _rating_index(store, urns)
    by_urn = {p.urn: p for p in places}
    for (lab, urn), c in first.items():
        key = (urn, by_urn[urn].state_hash)
        if c.text is not None:
            c.rating = latest.get((urn, key[1], _norm(c.text)))
            gold = golden.get(key)
            if gold:
                c.golden_match = _norm(c.text) in gold
                c.golden_similarity = max(difflib.SequenceMatcher(None, _norm(c.text), g, autojunk=False).ratio()
                                          for g in gold)
        elif golden.get(key):
            c.golden_match, c.golden_similarity = False, 0.0
        if second:
            c.rerun_identical = second[(lab, urn)].text == c.text and second[(lab, urn)].reason == c.reason

    summaries = {v.label: _summarise(v, [first[(v.label, u)] for u in urns], cfg, golden, by_urn, bool(second))
                 for v in variants}
    result = CompareResult(None, kind, variants, urns, first, summaries, runs, second, model_id, templates, production,
                           status)
    if record:
        result.run_id = _store_run(store, result, cfg, label)
    return result


def _summarise(v: Variant, cells: list[Cell], cfg: Config, golden: dict, by_urn: dict, reran: bool) -> VariantSummary:
    ok = [c for c in cells if c.valid]
    rated = [c for c in cells if c.rating in RATINGS]
    gold_cells = [c for c in cells if golden.get((c.urn, by_urn[c.urn].state_hash))]
    return VariantSummary(
        v.label, v.prompt.name, v.prompt.version, float(cfg.temperature if v.temperature is None else v.temperature),
        v.budget_override, len(cells), len(ok), 1.0 - len(ok) / len(cells) if cells else 0.0,
        _mean([c.length for c in ok]), _mean([c.latency_ms for c in cells if c.latency_ms is not None]),
        _mean([c.tokens for c in cells if c.text is not None]), _mean([c.fact_coverage for c in ok]),
        sum(c.facts.count("contradicted") for c in ok if c.facts), dict(Counter(c.reason for c in cells if c.reason)),
        len(rated), _mean([1.0 if c.rating == "good" else 0.0 for c in rated]), len(gold_cells),
        _mean([1.0 if c.golden_match else 0.0 for c in gold_cells]),
        _mean([c.golden_similarity or 0.0 for c in gold_cells]),
        (all(c.rerun_identical for c in cells) if reran else None),
        [c.urn for c in cells if reran and not c.rerun_identical])


def _store_run(store: Store, res: CompareResult, cfg: Config, label: str) -> int:
    t = now()
    vindex = {v.label: i for i, v in enumerate(res.variants)}
    vprompt = {v.label: v.prompt.name for v in res.variants}
    run = {"kind": res.kind, "label": label, "variants": json.dumps([v.as_dict() for v in res.variants]),
           "urns": json.dumps(res.urns), "runs": res.runs, "model_id": res.model_id,
           "config": json.dumps(cfg.as_dict(), default=str),
           "summary": json.dumps([res.summaries[v.label].as_dict() for v in res.variants]), "status": res.status,
           "started_at": t, "finished_at": t}
    cells, outputs = [], []
    for by_key in (res.cells, res.rerun):
        for (lab, urn), c in by_key.items():
            prod = res.production.get(urn)
            cells.append(c)
            outputs.append({
                "run_no": c.run_no, "variant": lab, "variant_index": vindex[lab], "urn": urn,
                "name": c.name, "tier": c.tier, "eligible": int(c.eligible), "state_hash": c.state_hash,
                "base_hash": c.base_hash, "seed": c.seed, "prompt_name": vprompt[lab], "prompt_version": c.prompt_version,
                "temperature": c.temperature, "budget": c.budget, "model_id": c.model_id,
                "output_key": c.output_key, "text": c.text, "raw_text": c.raw_text, "reason": c.reason,
                "detail": c.detail, "latency_ms": c.latency_ms, "tokens": c.tokens, "length": c.length,
                "fact_coverage": c.fact_coverage,
                "facts": json.dumps(c.facts.as_dict(), ensure_ascii=False) if c.facts else None,
                "production_text": prod[0] if prod else None, "production_source": prod[1] if prod else None,
                "template_text": res.templates.get(urn), "created_at": t})
    rid, ids = _wb(store).add_run(run, outputs)
    for c, oid in zip(cells, ids):
        c.output_id = oid
    return rid


# --- preview ----------------------------------------------------------------------------------

@dataclass
class PreviewRow:
    """One place of a preview: the prompt as on disk next to production."""

    urn: str
    name: str
    tier: str
    eligible: bool  # production sends this place to the model
    production_text: str | None  # the current stored description (None: never run)
    production_source: str | None  # llm | template
    production_stale: bool  # the production text was made for an older state of the place
    text: str | None  # the new output (cleaned)
    raw_text: str | None
    template: str
    reason: str | None
    facts: FactReport | None
    production_facts: FactReport | None
    latency_ms: float | None
    tokens: int
    prompt_version: str
    budget: int
    temperature: float
    seed: int
    output_id: int | None

    def as_dict(self, facts: bool = False) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("facts", "production_facts")}
        d["fact_coverage"] = None if self.facts is None else round(self.facts.coverage, 4)
        d["production_fact_coverage"] = None if self.production_facts is None else round(self.production_facts.coverage, 4)
        if facts:
            d["facts"] = self.facts.as_dict() if self.facts else None
            d["production_facts"] = self.production_facts.as_dict() if self.production_facts else None
        return d


def _as_prompt(prompt: Prompt | str | Path, name: str = DEFAULT_PROMPT) -> Prompt:
    if isinstance(prompt, Prompt):
        return prompt
    try:
        if isinstance(prompt, Path):
            return read_prompt_file(prompt)
        return compile_prompt(str(prompt), f"<{name}>", name)
    except PromptError as exc:
        raise WorkbenchError(str(exc)) from None


def preview(places: list[Place], prompt: Prompt | str | Path, llm: Any, cfg: Config, store: Store, *,
            temperature: float | None = None, budget_override: int | None = None,
            deadline_s: float | str | None = None, on_event: Callable[[Any], None] | None = None,
            cancel: threading.Event | None = None, timeout_s: float | None = None,
            record: bool = True) -> list[PreviewRow]:
    """Run ``prompt`` (a Prompt, its text, or a prompt file Path) on ``places`` and return each
    next to its production text. Production results are never written; the outputs are stored as
    a workbench run of kind "preview" (so they can be rated) unless ``record=False``."""
    p = _as_prompt(prompt)
    res = compare(places, [Variant("preview", p, temperature, budget_override)], llm, cfg, store, 1, kind="preview",
                  deadline_s=deadline_s, on_event=on_event, cancel=cancel, timeout_s=timeout_s, record=record)
    by = {pl.urn: pl for pl in places}
    rows = []
    for urn in res.urns:
        c = res.cell("preview", urn)
        prod = res.production.get(urn)
        pl = by[urn]
        rows.append(PreviewRow(urn, pl.name, c.tier, c.eligible, prod[0] if prod else None, prod[1] if prod else None,
                               bool(prod) and prod[2] != pl.state_hash, c.text, c.raw_text, res.templates[urn], c.reason, c.facts,
                               check_facts(pl, prod[0]) if prod else None, c.latency_ms, c.tokens, c.prompt_version,
                               c.budget, c.temperature, c.seed, c.output_id))
    return rows


def prompt_text(store: Store, version: str | None) -> str | None:
    """The text of a prompt version: recorded as active (prompt_versions) or used by a run."""
    if not version:
        return None
    return _wb(store).prompt_text(version)


# --- stored runs ------------------------------------------------------------------------------

def runs_list(store: Store, limit: int = 50, kind: str | None = None) -> list[dict]:
    """Recent workbench runs (newest first): id, kind, label, variants, places, status, times."""
    out = []
    for r in _wb(store).runs(limit, kind):
        out.append({"id": r["id"], "kind": r["kind"], "label": r["label"], "status": r["status"],
                    "variants": [v["label"] for v in json.loads(r["variants"] or "[]")],
                    "places": len(json.loads(r["urns"] or "[]")), "runs": r["runs"], "model_id": r["model_id"],
                    "started_at": r["started_at"]})
    return out


def load_run(store: Store, run_id: int) -> CompareResult:
    """A stored run as a :class:`CompareResult` (ratings and golden matches as stored)."""
    r = _wb(store).run(run_id)
    if r is None:
        raise WorkbenchError(f"unknown workbench run {run_id}")
    variants = []
    for vd in json.loads(r["variants"] or "[]"):
        text = prompt_text(store, vd["prompt_version"]) or "(prompt text not recorded)"
        try:
            prompt = compile_prompt(text, vd["prompt_name"], vd["prompt_name"])
        except PromptError:
            prompt = Prompt(vd["prompt_name"], text, vd["prompt_version"], (text,), frozenset())
        variants.append(Variant(vd["label"], prompt, vd.get("temperature"), vd.get("budget_override")))
    cells: dict = {}
    rerun: dict = {}
    templates: dict = {}
    production: dict = {}
    for o in _wb(store).run_outputs(run_id):
        c = Cell(o["urn"], o["variant"], o["run_no"], o["text"], o["raw_text"], o["reason"], o["detail"] or "",
                 o["latency_ms"], o["tokens"] or 0, FactReport.from_dict(json.loads(o["facts"])) if o["facts"] else None,
                 o["prompt_version"], o["temperature"], o["budget"], o["seed"], o["state_hash"], o["tier"],
                 bool(o["eligible"]), o["output_key"], o["model_id"], o["id"], name=o["name"] or "",
                 base_hash=o["base_hash"] or "")
        (cells if o["run_no"] == 1 else rerun)[(o["variant"], o["urn"])] = c
        templates[o["urn"]] = o["template_text"]
        production[o["urn"]] = ((o["production_text"], o["production_source"], None) if o["production_text"] is not None
                                else None)
    for key, c in cells.items():
        if key in rerun:
            c.rerun_identical = rerun[key].text == c.text and rerun[key].reason == c.reason
    summaries = {}
    for sd in json.loads(r["summary"] or "[]"):
        summaries[sd["label"]] = VariantSummary(**sd)
    return CompareResult(r["id"], r["kind"], variants, json.loads(r["urns"] or "[]"), cells, summaries, r["runs"] or 1,
                         rerun, r["model_id"], templates, production, r["status"] or "done")


# --- ratings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class GoldenItem:
    rating_id: int
    urn: str
    state_hash: str
    text: str
    note: str
    output_key: str | None
    prompt_name: str | None
    prompt_version: str | None
    model_id: str | None
    temperature: float | None
    budget: int | None
    seed: int | None
    created_at: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _output_row(store: Store, output_ref: Any) -> tuple[str, dict]:
    """("wb"|"result", row) for an output reference."""
    ref = getattr(output_ref, "output_id", output_ref)
    origin = "wb"
    if isinstance(ref, str):
        s = ref.strip()
        if s.startswith("result:"):
            origin, s = "result", s[len("result:"):]
        elif s.startswith("wb:"):
            s = s[3:]
        if not s.isdigit():
            raise WorkbenchError(f"unknown output {output_ref!r} (use an output id, wb:ID or result:ID)")
        ref = int(s)
    if isinstance(ref, bool) or not isinstance(ref, int):
        raise WorkbenchError(f"unknown output {output_ref!r} (use an output id, wb:ID or result:ID)")
    row = _wb(store).output(ref) if origin == "wb" else _wb(store).result_with_config(ref)
    if row is None:
        raise WorkbenchError(f"unknown output {'result:' if origin == 'result' else ''}{ref}")
    return origin, row


def rate(store: Store, output_ref: Any, rating: str, note: str = "") -> int:
    """Rate an output good or bad (with an optional note); returns the rating id.

    The rating row holds everything needed to reproduce the output: text, urn, state hash, seed,
    prompt name + version (its text: :func:`prompt_text`), model id, temperature, budget and the
    output key."""
    rating = str(rating).strip().lower()
    if rating not in RATINGS:
        raise WorkbenchError(f"a rating is 'good' or 'bad', not {rating!r}")
    origin, o = _output_row(store, output_ref)
    if origin == "wb":
        if o["text"] is None:
            raise WorkbenchError(f"output {o['id']} has no text to rate (the model gave none: {o['reason']})")
        row = {"result_id": None, "output_id": o["id"], "urn": o["urn"], "rating": rating, "note": note or "",
               "text": o["text"], "state_hash": o["state_hash"], "prompt_version": o["prompt_version"],
               "prompt_name": o["prompt_name"], "model_id": o["model_id"], "seed": o["seed"], "budget": o["budget"],
               "temperature": o["temperature"], "output_key": o["output_key"], "base_hash": o["base_hash"],
               "origin": "workbench", "variant": o["variant"], "created_at": now()}
    else:
        try:
            temp = json.loads(o.get("batch_config") or "{}").get("temperature")
        except ValueError:
            temp = None
        pname = _wb(store).prompt_name(o["prompt_version"]) if o["prompt_version"] else None
        key = (output_key(o["urn"], o["state_hash"], o["base_hash"] or "", o["prompt_version"] or "", o["model_id"],
                          float(temp), o["budget"] or 0, o["seed"] or 0) if (o["source"] == "llm" and temp is not None)
               else None)
        row = {"result_id": o["id"], "output_id": None, "urn": o["urn"], "rating": rating, "note": note or "",
               "text": o["text"], "state_hash": o["state_hash"], "prompt_version": o["prompt_version"],
               "prompt_name": pname, "model_id": o["model_id"], "seed": o["seed"],
               "budget": o["budget"], "temperature": temp, "output_key": key, "base_hash": o["base_hash"],
               "origin": f"result:{o['source']}", "variant": None, "created_at": now()}
    return _wb(store).add_rating(row)


def ratings_list(store: Store, limit: int | None = None, urn: str | None = None) -> list[dict]:
    """Every rating (newest first) with the prompt text joined in."""
    return _wb(store).ratings(limit, urn)


def golden_set(store: Store, urn: str | None = None) -> list[GoldenItem]:
    """Outputs whose latest rating (per place, state and identical text) is good."""
    latest: dict[tuple, dict] = {}
    for r in reversed(ratings_list(store, urn=urn)):  # oldest first: later ratings overwrite
        latest[(r["urn"], r["state_hash"] or "", _norm(r["text"]))] = r
    return [GoldenItem(r["id"], r["urn"], r["state_hash"] or "", r["text"], r["note"] or "", r.get("output_key"),
                       r.get("prompt_name"), r["prompt_version"], r["model_id"], r.get("temperature"), r["budget"],
                       r["seed"], r["created_at"])
            for r in sorted(latest.values(), key=lambda r: r["id"]) if r["rating"] == "good"]


def export_ratings(store: Store, path: str | Path, fmt: str = "jsonl") -> int:
    """Write every rating (oldest first) as JSON Lines or CSV (columns :data:`EXPORT_FIELDS`),
    atomically. Returns the number of rows."""
    if fmt not in EXPORT_FORMATS:
        raise WorkbenchError(f"unknown export format {fmt!r} (use {' or '.join(EXPORT_FORMATS)})")
    rows = [{k: r.get(k) for k in EXPORT_FIELDS} for r in reversed(ratings_list(store))]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            if fmt == "jsonl":
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=True) + "\n")
            else:
                w = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
                w.writeheader()
                for r in rows:
                    w.writerow({k: "" if v is None else v for k, v in r.items()})
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(rows)


# --- metrics ----------------------------------------------------------------------------------

def batch_fact_coverage(store: Store, batch_id: int, places: Iterable[Place] | dict | None = None) -> dict:
    """Fact coverage of a production batch: mean coverage of its LLM texts, its template texts and
    all of them, and the contradicted facts. Places come from ``places`` or else from the store's
    ``places`` table; a result whose state no longer matches is skipped (counted in ``skipped``)."""
    if isinstance(places, dict):
        by = dict(places)
    elif places is not None:
        by = {p.urn: p for p in places}
    else:
        by = {}
    rows = store.batch_results(batch_id)
    missing = [r["urn"] for r in rows if r["urn"] not in by]
    for urn, data in store.places_data(missing).items():
        with contextlib.suppress(Exception):
            by[urn] = parse_place(json.loads(data))
    cov: dict[str, list[float]] = {"llm": [], "template": []}
    contradicted = skipped = 0
    for r in rows:
        p = by.get(r["urn"])
        if p is None or p.state_hash != r["state_hash"]:
            skipped += 1
            continue
        rep = check_facts(p, r["text"] or "")
        cov.setdefault(r["source"], []).append(rep.coverage)
        contradicted += rep.count("contradicted")
    every = [x for v in cov.values() for x in v]
    return {"batch_id": batch_id, "checked": len(every), "skipped": skipped, "contradicted": contradicted,
            "coverage": _mean(every), "llm_coverage": _mean(cov.get("llm", [])),
            "template_coverage": _mean(cov.get("template", []))}


# --- a facade for the console ----------------------------------------------------------------

class Workbench:
    """The workbench on one store, prompt library, model service and config.

    Opening it records the on-disk version of every prompt file (the schema is a migration). Methods
    are the free functions above with these bound; all block (run them in a worker thread) and
    must be called on the thread that opened ``store``.
    """

    def __init__(self, store: Store, library: PromptLibrary, llm: Any = None, cfg: Config | None = None,
                 prompt_name: str = DEFAULT_PROMPT):
        self.store, self.library, self.llm = store, library, llm
        self.cfg = cfg or Config()
        self.prompt_name = prompt_name
        self.opened_versions = record_library(store, library)

    def history(self, name: str | None = None) -> list[PromptVersion]:
        return history(self.store, name or self.prompt_name, self.library)

    def resolve(self, ref: str, name: str | None = None) -> Prompt:
        return resolve_prompt(ref, self.library, self.store, name or self.prompt_name)

    diff = staticmethod(diff_versions)

    def restore(self, version: str, name: str | None = None) -> Path:
        return restore_version(self.library, self.store, name or self.prompt_name, version)

    def pin(self, name: str, urns: Iterable[str]) -> PinnedSet:
        return pin_set(self.store, name, urns)

    def pinned(self) -> list[PinnedSet]:
        return pinned_sets(self.store)

    def get_pinned(self, name: str) -> PinnedSet:
        return get_pinned(self.store, name)

    def sample(self, places: Iterable[Place], n: int, seed: int = 0) -> list[Place]:
        return stratified_sample(places, self.cfg, n, seed)

    def preview(self, places: list[Place], prompt: Prompt | str | Path | None = None, **kw) -> list[PreviewRow]:
        if prompt is None:
            prompt = self.resolve("current")
        return preview(places, prompt, self.llm, self.cfg, self.store, **kw)

    def compare(self, places: list[Place], variants: list[Variant], runs: int = 1, **kw) -> CompareResult:
        return compare(places, variants, self.llm, self.cfg, self.store, runs, **kw)

    def runs(self, limit: int = 50) -> list[dict]:
        return runs_list(self.store, limit)

    def load_run(self, run_id: int) -> CompareResult:
        return load_run(self.store, run_id)

    def rate(self, output_ref: Any, rating: str, note: str = "") -> int:
        return rate(self.store, output_ref, rating, note)

    def golden(self, urn: str | None = None) -> list[GoldenItem]:
        return golden_set(self.store, urn)

    def export_ratings(self, path: str | Path, fmt: str = "jsonl") -> int:
        return export_ratings(self.store, path, fmt)

    def batch_coverage(self, batch_id: int, places: Iterable[Place] | None = None) -> dict:
        return batch_fact_coverage(self.store, batch_id, places)
