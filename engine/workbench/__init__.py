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

Modules (this package re-exports every public name, so ``from engine.workbench import X`` and
``engine.workbench.X`` work as before the split)
----------------------------------------------------------------------------------------------
``common`` (constants, :class:`WorkbenchError`), ``versions``, ``pinned`` (pinned sets, the sample),
``generate`` (variants, keys, one job on the model service), ``comparison`` (compare, and
stored runs), ``previews``, ``ratings`` (and the golden set, the export), ``coverage`` (a batch's
fact coverage); :class:`Workbench` below bundles them for the console. (Not ``compare.py`` or
``preview.py``: the re-exported functions ``compare`` and ``preview`` would hide such modules.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..config import Config
from ..prompts import DEFAULT_PROMPT, Prompt, PromptLibrary
from ..store import Store
from ..world import Place
from .common import EXPORT_FIELDS, EXPORT_FORMATS, RATINGS, TIER_ORDER, WorkbenchError
from .versions import diff_versions, history, prompt_text, PromptVersion, record_library, resolve_prompt, resolve_version, restore_version
from .pinned import get_pinned, pin_set, pinned_sets, PinnedSet, places_for, stratified_sample, unpin_set
from .generate import budget_for, cell_key, output_key, parse_cell_key, Variant
from .comparison import Cell, compare, CompareResult, load_run, runs_list, VariantSummary
from .previews import preview, PreviewRow
from .ratings import export_ratings, golden_set, GoldenItem, rate, ratings_list
from .coverage import batch_fact_coverage

__all__ = [
    "batch_fact_coverage",
    "budget_for",
    "Cell",
    "cell_key",
    "compare",
    "CompareResult",
    "diff_versions",
    "EXPORT_FIELDS",
    "EXPORT_FORMATS",
    "export_ratings",
    "get_pinned",
    "golden_set",
    "GoldenItem",
    "history",
    "load_run",
    "output_key",
    "parse_cell_key",
    "pin_set",
    "pinned_sets",
    "PinnedSet",
    "places_for",
    "preview",
    "PreviewRow",
    "prompt_text",
    "PromptVersion",
    "rate",
    "RATINGS",
    "ratings_list",
    "record_library",
    "resolve_prompt",
    "resolve_version",
    "restore_version",
    "runs_list",
    "stratified_sample",
    "TIER_ORDER",
    "unpin_set",
    "Variant",
    "VariantSummary",
    "Workbench",
    "WorkbenchError",
]


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
