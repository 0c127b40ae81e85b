"""Meeting on the other side: each place's model results (its candidates, and with a per-sentence
prompt its sentences) judged, the best valid text chosen, gated against the template (the quality
gate, then the reading gate of :mod:`engine.gate`), and stored (:func:`finish`, called by the meeting loop as each place is complete); the places that need no
model stored while it works (:func:`store_without_model`, step 3 of
:meth:`engine.batch.runner.BatchRunner.run`). Each is handed the runner (its config, model
service, result writer and observer) and the run's state (:class:`~engine.batch.plan.BatchRun`).

Best of N: candidate k of a place has key :func:`candidate_key` (urn, k) and seed
:func:`candidate_seed` (seed, k); candidate 0 is the place's own request (key urn, its seed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compose import compose_results
from ..enrich import judge_enrich
from ..gate import Verdict, check_text
from ..policy import Decision
from ..quality import QualityReport, gate, quality_json, score_text
from ..store import ResultRow
from ..validate import clean_output, validate_output
from ..world import Place, base_hash
from .events import ResultStored

@dataclass(frozen=True)
class _Candidate:
    k: int
    text: str | None
    reason: str | None
    detail: str | None
    latency_s: float | None
    tokens: int | None
    stream: int | None
    worker: str | None = None  # the cluster worker that ran it (engine.cluster)


CANDIDATE_SEP = "#cand"


def candidate_key(urn: str, k: int) -> str:
    """The request key of candidate ``k`` of a place: the urn itself for candidate 0."""
    return urn if k == 0 else f"{urn}{CANDIDATE_SEP}{k}"


def split_candidate_key(key: str | None) -> tuple[str | None, int]:
    if key is None or CANDIDATE_SEP not in key:
        return key, 0
    urn, _, k = key.rpartition(CANDIDATE_SEP)
    return (urn, int(k)) if k.isdigit() else (key, 0)


def candidate_seed(seed: int, k: int) -> int:
    """Candidate k's seed, from (seed, k) alone: the seed itself for k = 0 (so one candidate is
    exactly the batch of before), a splitmix64 mix of both otherwise."""
    if k == 0:
        return seed
    from ..llm.sampling import _mix64, normalize_seed

    return _mix64(normalize_seed(seed) ^ _mix64(k)) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class _Pending:
    place: Place
    decision: Decision
    prompt_text: str
    deadline_s: float
    prompt_version: str
    # A per-sentence prompt (engine.compose): (template sentence, its prompt text) per sentence.
    sentences: tuple[tuple[str, str], ...] | None = None
    head: str = ""  # the prompt's static head (engine.prompts.Prompt.head)
    mode: str = ""  # the prompt's generation mode (engine.prompts.MODES; "enrich": engine.enrich)

    def parts(self) -> int:
        return len(self.sentences) if self.sentences else 1


def _set_quality(row: ResultRow, template_q: QualityReport, llm_q: QualityReport | None,
                 raw_q: QualityReport | None = None, sentences: tuple[int, int] | None = None,
                 verdict: Verdict | None = None) -> None:
    """Fill the row's quality fields (engine.quality; store migration 7). A per-sentence place
    (engine.compose) also keeps the report of the model's own sentences (``raw_q``) and how many
    of its sentences the model wrote (``sentences``: (model, of)); the reading gate's verdict on
    the LLM text (engine.gate), when it was asked, is kept as ``"gate"``."""
    row.template_quality = template_q.total
    row.llm_quality = llm_q.total if llm_q is not None else None
    row.quality = llm_q.total if (row.source == "llm" and llm_q is not None) else template_q.total
    row.quality_json = quality_json(template_q, llm_q, row.source, raw_q, sentences,
                                    gate=verdict.as_dict() if verdict is not None else None)


def _read(p: Place, text: str, template: str) -> Verdict:
    """The reading gate (engine.gate) on an LLM text that passed the quality gate: refused, the
    place keeps its template with reason ``invalid:reading`` and the gate's reasons as detail."""
    return check_text(p, text, template)


READING_REASON = "invalid:reading"


def _judged(runner, p: Place, text: str, template: str) -> tuple[str, str] | None:
    """The judge's gate (engine.judge, ``FLUX_LLM_JUDGE=true``, only for a model whose judge is
    trusted): ``(reason, detail)`` when the template is kept, else None. A judge that cannot run
    keeps the template too (an extra gate fails closed)."""
    from ..judge import JUDGE_REASON, batch_gate

    g = batch_gate(runner)
    if g is None:
        return None
    try:
        return g(p, text, template)
    except Exception as exc:  # the model service failed under the judge: never the batch
        return JUDGE_REASON, f"the judge could not run: {type(exc).__name__}: {exc}"


def store_without_model(runner, r) -> None:
    """Step 3: every planned place that needs no model now (its template, or its cached text gated
    again), in chunks of 500; counted and reported as it is stored."""
    cfg = runner.cfg
    rows: list[ResultRow] = []
    for p in r.places:
        if p.urn in r.pending:
            continue
        d = r.decisions[p.urn]
        hit = r.cached.get(p.urn)
        if hit is not None:
            # The accepted (cleaned, validated) text is the cached one, not the raw model text.
            row = ResultRow(r.batch_id, p.urn, p.state_hash, d.tier, "llm", hit["text"], r.templates[p.urn],
                            hit["llm_text"], None, f"cached from result {hit['id']}", hit["prompt_version"],
                            hit["model_id"], p.seed, d.budget, 0.0, hit["tokens"], None, base_hash(p), r.seen[p.urn])
            # The cached text passes today's gate too, or the place keeps its template.
            tq, lq = score_text(p, r.templates[p.urn]), score_text(p, hit["text"])
            g = gate(p, lq, cfg.min_quality) if cfg.quality_gate else None
            v = _read(p, hit["text"], r.templates[p.urn]) if g is not None and g.ok else None
            if g is not None and not g.ok:
                row.source, row.text, row.reason = "template", r.templates[p.urn], g.reason
                row.detail = f"{g.detail} (cached result {hit['id']})"
            elif v is not None and not v.accepted:
                row.source, row.text, row.reason = "template", r.templates[p.urn], READING_REASON
                row.detail = f"{'; '.join(v.reasons)} (cached result {hit['id']})"
            elif (jv := _judged(runner, p, hit["text"], r.templates[p.urn])) is not None:
                row.source, row.text, row.reason = "template", r.templates[p.urn], jv[0]
                row.detail = f"{jv[1]} (cached result {hit['id']})"
            _set_quality(row, tq, lq, verdict=v)
        else:
            reason = r.unavailable if (d.eligible and r.unavailable) else d.reason
            if d.eligible and not r.unavailable and r.llm_only is not None and p.urn not in r.llm_only:
                reason = "deferred"
            row = ResultRow(r.batch_id, p.urn, p.state_hash, d.tier, "template", r.templates[p.urn],
                            r.templates[p.urn], None, reason, None, r.prompt.version if r.prompt else None, None,
                            p.seed, 0, None, None, None, base_hash(p), r.seen[p.urn])
            _set_quality(row, score_text(p, r.templates[p.urn]), None)
        rows.append(row)
    for i in range(0, len(rows), 500):
        chunk = rows[i : i + 500]
        ids = runner.store_rows(chunk)
        for row, rid in zip(chunk, ids):
            r.counts[row.source] += 1
            if row.source == "template" and row.reason:
                r.reasons[row.reason] += 1
            runner.emit(ResultStored(r.batch_id, rid, row.urn, row.tier, row.source, row.reason, row.detail,
                                    row.latency_ms, row.tokens, row.stream))
        r.done += len(chunk)
        if r.progress:
            r.progress(r.done, r.total)


def _judge(cfg, pp: _Pending, c: "_Candidate", template: str) -> tuple:
    """(reason, detail, text to store if accepted, quality report or None, reading verdict or
    None) of one candidate: cleaned, validated, scored and gated (engine.quality: the template
    never loses to a worse text; then engine.gate: nothing a reader would refuse)."""
    p = pp.place
    reason, detail, llm_text, lq, v = c.reason, c.detail, c.text, None, None
    if reason is None and pp.mode == "enrich":
        # engine.enrich: the sentence's own check, the quality gate, then the reading gate
        reason, detail, llm_text, lq = judge_enrich(p, c.text, pp.prompt_text, cfg)
        if reason is None and cfg.quality_gate:
            v = _read(p, llm_text, template)
            if not v.accepted:
                reason, detail, llm_text = READING_REASON, "; ".join(v.reasons), None
        return reason, detail, llm_text, lq, v
    if reason is None:
        cleaned = clean_output(c.text or "")
        bad = validate_output(cleaned, pp.prompt_text)
        lq = score_text(p, cleaned)
        if bad is None:
            llm_text = cleaned
            g = gate(p, lq, cfg.min_quality) if cfg.quality_gate else None
            if g is not None and not g.ok:
                reason, detail = g.reason, g.detail
            elif g is not None:
                v = _read(p, cleaned, template)
                if not v.accepted:
                    reason, detail = READING_REASON, "; ".join(v.reasons)
        else:
            reason = f"invalid:{bad}"
    return reason, detail, llm_text, lq, v


def _compose(cfg, pp: _Pending, cands: dict) -> tuple:
    """A per-sentence place: (reason, detail, text, raw text, quality report, the candidate
    that stands for it) from its judged sentences (engine.compose) and the merge gate."""
    p = pp.place
    comp = compose_results(p, pp.sentences, {(j, k): (c.text, c.reason, c.detail) for (k, j), c in cands.items()},
                           gate=cfg.quality_gate)
    lq = score_text(p, comp.text) if comp.model_sentences else score_text(p, comp.raw)
    reason, detail, text, v = comp.reason, comp.detail, comp.text, None
    if reason is None and cfg.quality_gate:
        g = gate(p, lq, cfg.min_quality)
        if not g.ok:
            reason, detail = g.reason, f"{g.detail}; {comp.detail}"
        else:
            v = _read(p, comp.text, " ".join(s for s, _ in pp.sentences))
            if not v.accepted:
                reason, detail = READING_REASON, f"{'; '.join(v.reasons)}; {comp.detail}"
    first = cands[min(cands)]
    return reason, detail, (text if reason is None else None), comp, lq, first, v


def finish(runner, r, pp: _Pending, cands: "dict[int, _Candidate]") -> None:
    """One model place's results (``cands``: its candidates, or its (candidate, sentence) parts)
    judged and its row stored, counted and reported."""
    batch_id, template, counts, reasons = r.batch_id, r.templates[pp.place.urn], r.counts, r.reasons
    p, d = pp.place, pp.decision
    if pp.sentences is not None:
        return _finish_sentences(runner, r, pp, cands)
    judged = [(k, cands[k], *_judge(runner.cfg, pp, cands[k], template)) for k in sorted(cands)]
    # The best-scoring valid candidate, ties by k; if none is valid, the best-scoring one says
    # why (ties by k again): same candidates -> same choice, alone or in any batch.
    valid = [j for j in judged if j[2] is None]
    pool = valid or [j for j in judged if j[5] is not None] or judged[:1]
    k, c, reason, detail, llm_text, lq, verdict = max(pool, key=lambda j: ((j[5].total if j[5] is not None else -1.0), -j[0]))
    text, stream = c.text, c.stream
    ntok = sum(j[1].tokens or 0 for j in judged) if any(j[1].tokens is not None for j in judged) else None
    lats = [j[1].latency_s for j in judged if j[1].latency_s is not None]
    lat = max(lats) if lats else None
    if len(judged) > 1:
        note = f"candidate {k} of {len(judged)}"
        detail = f"{detail}; {note}" if detail else note
    if reason is None and (jv := _judged(runner, p, llm_text, template)) is not None:
        reason, detail = jv[0], (f"{jv[1]}; {detail}" if detail else jv[1])
    source = "llm" if reason is None else "template"
    final = llm_text if source == "llm" else template
    # The prompt version recorded is the one this place was rendered with, even if the file
    # was reloaded while it was generating.
    row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, source, final, template, text, reason, detail,
                    pp.prompt_version, runner.llm.model_id if runner.llm else None, p.seed, d.budget,
                    round(lat * 1000, 1) if lat is not None else None, ntok, stream, base_hash(p),
                    worker=c.worker, seen_at=r.seen.get(p.urn))
    _set_quality(row, score_text(p, template), lq, verdict=verdict)
    _store_finished(runner, batch_id, row, counts, reasons)


def _store_finished(runner, batch_id, row: ResultRow, counts, reasons) -> None:
    rid = runner.store_rows([row])[0]
    counts[row.source] += 1
    if row.reason:
        reasons[row.reason] += 1
    runner.emit(ResultStored(batch_id, rid, row.urn, row.tier, row.source, row.reason, row.detail, row.latency_ms,
                            row.tokens, row.stream))


def _finish_sentences(runner, r, pp: _Pending, cands: dict) -> None:
    batch_id, template, counts, reasons = r.batch_id, r.templates[pp.place.urn], r.counts, r.reasons
    p, d = pp.place, pp.decision
    reason, detail, final, comp, lq, first, verdict = _compose(runner.cfg, pp, cands)
    if reason is None and (jv := _judged(runner, p, final, template)) is not None:
        reason, detail = jv[0], f"{jv[1]}; {comp.detail}"
    toks = [c.tokens for c in cands.values() if c.tokens is not None]
    lats = [c.latency_s for c in cands.values() if c.latency_s is not None]
    source = "llm" if reason is None else "template"
    # The model's text as the diff shows it: the composition when the model wrote any of it
    # (the rejected sentences' own words are in the detail and in quality_json "raw").
    shown = comp.text if comp.model_sentences else (comp.raw or None)
    row = ResultRow(batch_id, p.urn, p.state_hash, d.tier, source, final if source == "llm" else template, template,
                    shown, reason, detail, pp.prompt_version, runner.llm.model_id if runner.llm else None,
                    p.seed, d.budget, round(max(lats) * 1000, 1) if lats else None, sum(toks) if toks else None,
                    first.stream, base_hash(p), worker=first.worker, seen_at=r.seen.get(p.urn))
    raw_q = score_text(p, comp.raw) if comp.raw else None
    _set_quality(row, score_text(p, template), lq, raw_q, (len(comp.model_sentences), comp.n_sentences), verdict)
    _store_finished(runner, batch_id, row, counts, reasons)
