"""Ratings of outputs (good/bad with a note), the golden set and the export."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store import Store, now
from .common import EXPORT_FIELDS, EXPORT_FORMATS, RATINGS, WorkbenchError, _norm, _wb
from .generate import output_key


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
