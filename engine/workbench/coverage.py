"""Fact coverage of a production batch."""

from __future__ import annotations

import contextlib
import json
from typing import Iterable

from ..factcheck import check_facts
from ..store import Store
from ..world import Place, parse_place
from .common import _mean


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
