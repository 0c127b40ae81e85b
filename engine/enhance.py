"""Whether, and how, the model in use enhances descriptions: decided by blind review.

The product's promise: no "enhanced" text worse than its template. Blind readers (the facts and
the two texts in random order, see the review method in the README) decide whether a model's
texts in a generation mode are worth shipping. This module turns their stored verdicts into the
mode a batch uses:

* the ``FLUX_LLM_ENHANCE`` setting (``enhance`` in texture.toml): ``auto`` (the default), ``off``,
  or a mode (``sentence``, ``rewrite``, ``enrich``: :data:`engine.prompts.MODES`) to force it;
* ``auto`` takes :data:`DEFAULT_MODE` — unless blind reviews of this model in that mode exist and
  fail the bar (:func:`passes`: LLM shipped or tied in fewer than :data:`MIN_SHIPPED_OR_TIED` of
  the reviewed places, or more than :data:`MAX_SCORED_2_OR_LESS` of its texts scored <= 2); then
  the first other mode whose reviews pass is used, and with none the model is off: every place
  keeps its template and ``texture doctor``, ``texture eval`` and the console say so in a plain
  sentence (:attr:`Enhance.sentence`).

Reviews come from :data:`REVIEWED` (summaries of blind reviews run for the shipped defaults) and
from review records stored in the data folder (``reviews/*.jsonl``, lines with ``model``,
``mode``, ``ship`` (llm | template | same) and ``score_llm``), which override the built-in ones for
the same model and mode. A model is matched by a key contained in its id or folder name.
Pure and deterministic: the same settings and reviews give the same mode.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

MODES = ("sentence", "rewrite", "enrich")
SETTINGS = ("auto", "off") + MODES
# The mode ``auto`` starts from. Set from the blind-review results of the shipped models.
DEFAULT_MODE = "sentence"
# The prompt file each mode uses when the batch was not given another prompt.
PROMPT_FOR_MODE = {"sentence": "texture", "rewrite": "rewrite", "enrich": "enrich"}
MIN_SHIPPED_OR_TIED = 0.80
MAX_SCORED_2_OR_LESS = 0.05
MIN_REVIEWS = 10  # fewer reviews than this decide nothing

# Blind reviews of the shipped models: model key -> mode -> counts. ``n`` reviewed places with
# an accepted LLM text; ``llm``/``same``/``template``: what the reader shipped; ``low``: LLM
# texts scored <= 2.
REVIEWED: dict[str, dict[str, dict[str, int]]] = {
    # sentence: the built-in world's premium tier (67 + 8 places) and a world of other words (12;
    # docs/reviews/model-modes, model-modes-gate2). enrich: the built-in premium tier and a world of other words,
    # 1 and 4 candidates (docs/reviews/model-enrich: every accepted text, against its template).
    "smollm2-135m": {"sentence": {"n": 87, "llm": 0, "same": 6, "template": 81, "low": 55},
                     "enrich": {"n": 18, "llm": 0, "same": 0, "template": 18, "low": 11}},
    # Every accepted text of 30 sampled premium places of the built-in world and 28 of a world of
    # other words, per mode (docs/reviews/model-modes; enrich adds docs/reviews/model-enrich), and
    # of 30 other premium places after the stricter gate (docs/reviews/model-modes-gate2).
    "qwen2.5-coder-1.5b": {"sentence": {"n": 57, "llm": 0, "same": 0, "template": 57, "low": 19},
                           "rewrite": {"n": 42, "llm": 0, "same": 10, "template": 32, "low": 15},
                           "enrich": {"n": 13, "llm": 0, "same": 0, "template": 13, "low": 7}},
}


@dataclass(frozen=True)
class ReviewSummary:
    n: int
    llm: int
    same: int
    template: int
    low: int

    @property
    def shipped_or_tied(self) -> float:
        return (self.llm + self.same) / self.n if self.n else 0.0

    @property
    def low_share(self) -> float:
        return self.low / self.n if self.n else 0.0

    def interval(self) -> tuple[float, float]:
        """95 % Wilson interval of the shipped-or-tied share."""
        if not self.n:
            return 0.0, 1.0
        z, n, p = 1.96, self.n, self.shipped_or_tied
        d = 1 + z * z / n
        c = (p + z * z / (2 * n)) / d
        h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
        return max(0.0, c - h), min(1.0, c + h)

    def as_dict(self) -> dict:
        return {"n": self.n, "llm_shipped": self.llm, "same": self.same, "template_shipped": self.template,
                "llm_scored_2_or_less": self.low, "shipped_or_tied": round(self.shipped_or_tied, 3),
                "scored_2_or_less_share": round(self.low_share, 3)}


def passes(r: ReviewSummary) -> bool | None:
    """True/False by the bar; None when there are too few reviews to decide."""
    if r.n < MIN_REVIEWS:
        return None
    return r.shipped_or_tied >= MIN_SHIPPED_OR_TIED and r.low_share <= MAX_SCORED_2_OR_LESS


def summarize(records: Iterable[dict]) -> dict[tuple[str, str], ReviewSummary]:
    """(model, mode) -> summary of unblinded review records (``ship``: llm | template | same,
    ``score_llm``). Records without a model or mode, or with an unknown verdict, are skipped."""
    acc: dict[tuple[str, str], list[int]] = {}
    for r in records:
        if not isinstance(r, dict):
            continue
        model, mode, ship = str(r.get("model") or "").lower(), str(r.get("mode") or ""), r.get("ship")
        if not model or mode not in MODES or ship not in ("llm", "template", "same"):
            continue
        a = acc.setdefault((model, mode), [0, 0, 0, 0, 0])
        a[0] += 1
        a[1 + ("llm", "same", "template").index(ship)] += 1
        try:
            a[4] += 1 if float(r.get("score_llm")) <= 2 else 0
        except (TypeError, ValueError):
            pass
    return {k: ReviewSummary(*v) for k, v in acc.items()}


def stored_reviews(folder: Path | None = None) -> dict[tuple[str, str], ReviewSummary]:
    """Review records in ``<data folder>/reviews/*.jsonl``; unreadable lines are skipped."""
    from . import locations

    folder = Path(folder) if folder is not None else locations.data_dir() / "reviews"
    records: list[dict] = []
    try:
        files = sorted(folder.glob("*.jsonl"))
    except OSError:
        return {}
    for f in files:
        try:
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        except OSError:
            continue
    return summarize(records)


def reviews_for(model: str | None, stored: dict | None = None) -> dict[str, ReviewSummary]:
    """mode -> summary for ``model`` (its id or folder name): built-in, then stored (which wins)."""
    out: dict[str, ReviewSummary] = {}
    name = (model or "").lower()
    if not name:
        return out
    for key, modes in REVIEWED.items():
        if key in name:
            for mode, c in modes.items():
                out[mode] = ReviewSummary(c["n"], c["llm"], c["same"], c["template"], c["low"])
    for (key, mode), s in (stored or {}).items():
        if key and key in name:
            out[mode] = s
    return out


@dataclass(frozen=True)
class Enhance:
    mode: str  # "off" or one of MODES
    source: str  # "setting" (FLUX_LLM_ENHANCE), "default" (DEFAULT_MODE), "reviews" (chosen by them)
    sentence: str  # one plain sentence for doctor, eval and the console
    review: ReviewSummary | None = None

    @property
    def off(self) -> bool:
        return self.mode == "off"

    @property
    def prompt_name(self) -> str | None:
        return PROMPT_FOR_MODE.get(self.mode)


def _figures(r: ReviewSummary) -> str:
    return (f"LLM text shipped or tied in {r.llm + r.same} of {r.n} blind-reviewed places "
            f"({r.shipped_or_tied:.0%}), scored 2 or less in {r.low_share:.0%}")


def decide(setting: str, model: str | None, stored: dict | None = None) -> Enhance:
    """The mode a batch with ``model`` uses under ``setting`` (see the module doc)."""
    setting = (setting or "auto").lower()
    label = model or "the model"
    revs = reviews_for(model, stored)
    if setting == "off":
        return Enhance("off", "setting", "Enhancement is off (FLUX_LLM_ENHANCE=off): every place keeps its template.")
    if setting in MODES:
        r = revs.get(setting)
        ok = passes(r) if r is not None else None
        warn = "" if ok is not False else (f" Blind review says its texts lose to the templates ({_figures(r)}); "
                                           "FLUX_LLM_ENHANCE=auto keeps the templates.")
        return Enhance(setting, "setting", f"Mode {setting} (FLUX_LLM_ENHANCE).{warn}", r)
    order = [DEFAULT_MODE] + [m for m in ("enrich", "sentence", "rewrite") if m != DEFAULT_MODE]
    r0 = revs.get(DEFAULT_MODE)
    verdict = passes(r0) if r0 is not None else None
    if verdict is not False:
        how = (f"blind review: {_figures(r0)}" if verdict else
               "not blind-reviewed yet for this model" if r0 is None else f"only {r0.n} blind reviews so far")
        return Enhance(DEFAULT_MODE, "default", f"Mode {DEFAULT_MODE} ({how}).", r0)
    for m in order[1:]:
        r = revs.get(m)
        if r is not None and passes(r):
            return Enhance(m, "reviews", f"Mode {m}: {label}'s {DEFAULT_MODE} texts lose to the templates in blind "
                                         f"review, its {m} texts do not ({_figures(r)}).", r)
    return Enhance("off", "reviews",
                   f"{label}'s texts lose to the templates in blind review ({DEFAULT_MODE}: {_figures(r0)}), "
                   "so the templates are kept. Set FLUX_LLM_ENHANCE to a mode to use the model anyway.", r0)


def for_config(cfg, model: str | None) -> Enhance:
    """:func:`decide` with the config's ``enhance`` setting and the data folder's stored reviews."""
    return decide(getattr(cfg, "enhance", "auto"), model, stored_reviews())


# --- the batch's side ---------------------------------------------------------------------------

def batch_prompt(runner, cfg, model_id: str | None) -> tuple[Enhance, str | None]:
    """(the decision, the prompt name) for one batch of ``runner`` (an
    :class:`engine.batch.runner.BatchRunner`): a runner given a prompt other than the default
    keeps it (its file's ``#mode:`` decides how it is used); otherwise the mode's prompt file,
    when the prompts folder has it."""
    from .prompts import DEFAULT_PROMPT

    enh = for_config(cfg, model_id)
    if enh.off:
        return enh, None
    name = getattr(runner, "prompt_name", DEFAULT_PROMPT)
    lib = getattr(runner, "prompts", None)
    want = enh.prompt_name
    if name == DEFAULT_PROMPT and want and lib is not None and lib.status_of(want) is not None:
        name = want
    return enh, name


def prompt_config(runner, prompt):
    """The runner's config for a batch with ``prompt``: its file's ``#temperature:`` and
    ``#candidates:`` lines applied (the runner's own config is kept for the next batch)."""
    from dataclasses import replace

    base = runner.__dict__.setdefault("_cfg_base", runner.cfg)
    changes = {}
    if prompt is not None and getattr(prompt, "temperature", None) is not None:
        changes["temperature"] = prompt.temperature
    if prompt is not None and getattr(prompt, "candidates", None) is not None:
        changes["candidates"] = prompt.candidates
    return replace(base, **changes) if changes else base


_LABELS: dict = {}


def status_label(cfg, model_id: str | None) -> str:
    """A short label for the console's model status: the mode in use, or that the templates are
    kept because blind review says the model's texts lose to them (cached per setting, model and
    the stored reviews' state)."""
    from . import locations

    folder = locations.data_dir() / "reviews"
    try:
        stamp = tuple(sorted((f.name, f.stat().st_mtime_ns) for f in folder.glob("*.jsonl")))
    except OSError:
        stamp = ()
    key = (getattr(cfg, "enhance", "auto"), model_id, stamp)
    if key not in _LABELS:
        d = for_config(cfg, model_id)
        _LABELS.clear()
        _LABELS[key] = ("templates kept: loses in blind review" if d.off and d.source == "reviews"
                        else "enhance off" if d.off else f"mode {d.mode}")
    return _LABELS[key]
