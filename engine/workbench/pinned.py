"""Pinned sets (named lists of places a designer compares on) and the stratified sample."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from ..config import Config
from ..policy import decide
from ..store import Store
from ..world import Place
from .common import TIER_ORDER, WorkbenchError, _wb


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
