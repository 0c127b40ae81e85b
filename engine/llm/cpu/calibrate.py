"""Choose the skinny kernel's thread split by measuring it on the machine at hand.

Why: the split that is best depends on the machine, and it was measured to. On an AVX-512
Zen 4 the caller plus one helper thread gave 3.05x the descriptions/s of 1 stream at 4; on a
2-vCPU Sapphire Rapids KVM guest shared with other work the same split gave 1.99x, because:

* the helper took a quarter of the chunks or less while other processes held the second vCPU
  (``skinny_helper_chunks``): 1 and 2 threads cost the same there;
* while it waited for work the helper polled with ``sched_yield`` for a fixed number of polls;
  under load each yield can last a time slice of another process, so that bound meant anything
  from microseconds to seconds of a runnable helper. It is now a time (a calibrated setting).

So when a model gets the kernel (:func:`apply`, called from ``cpu_kernels.install``), a few
real decode steps of that model are timed with each candidate -- one thread; two threads with
the helper sleeping as soon as it is idle; two threads with it polling for 0.5 ms or 3 ms --
alternating, medians of rounds, at 1 row and at 4 rows, and the fastest per row count is
used. The result is cached per CPU model, kernel build, weight format and model shape in
``kernels/calibration-*.json`` (next to the built kernel), so it runs once per machine;
``FLUX_SKINNY_CALIBRATE=0`` skips it (defaults: 2 threads, 2 ms of polling),
``FLUX_SKINNY_CALIBRATE=force`` measures again. Determinism is unaffected: a row's result is
the same bit for bit whatever the split (``tests/test_skinny*.py``).

A measurement taken while other processes held the CPUs (the 1-minute load average at or above
the CPU count) can choose one thread where two are faster on the machine at rest (seen: 1.65x
from 1 to 4 streams instead of 2.71x). Such a result is stored as measured *busy*, used, and
measured again at the next load that finds the machine quieter; a quiet measurement is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from ... import settings
from . import skinny

# (label, threads, helper's polling in microseconds)
CANDIDATES = (
    ("1 thread", 1, 0),
    ("2 threads, helper sleeps when idle", 2, 0),
    ("2 threads, helper polls 0.5 ms", 2, 500),
    ("2 threads, helper polls 3 ms", 2, 3000),
)
DEFAULT = {"1": CANDIDATES[3], "4": CANDIDATES[3]}
ROUNDS = 3
STEPS = 2

_last: dict[str, Any] = {"status": "not calibrated (defaults: 2 threads, helper polls 2 ms)"}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    """The 1-minute load average, or None where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _busy(load: float | None) -> bool:
    return load is not None and load >= (os.cpu_count() or 1)


def _key(model: Any, weights: str) -> str:
    args = getattr(model, "args", None)
    shape = [getattr(args, a, None) for a in ("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size")]
    raw = json.dumps([cpu_model(), os.cpu_count(), skinny.build_id(), weights, shape])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _use(choice: dict) -> None:
    lib = skinny.load()
    one, four = choice["1"], choice["4"]
    skinny.threads_for[1] = one[1]
    skinny.threads_for[2] = four[1]
    spin = four[2] if four[1] == 2 else one[2]
    if lib is not None:
        lib.skinny_set_spin(int(spin))


def _measure(model: Any) -> dict:
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    import numpy as np

    from . import native

    lib = skinny.load()
    dec = native.decoder_for(model)  # the whole step in C, when the model has it: time that
    times: dict[str, dict[str, list[float]]] = {"1": {}, "4": {}}
    helper_share: dict[str, float] = {}
    for rows in (1, 4):
        cache = make_prompt_cache(model)
        tok = mx.array([[11 + r] * 4 for r in range(rows if dec is None else 1)])
        mx.eval(model(tok, cache=cache))  # a short prefill, so steps attend to something
        if dec is None:
            step_in = mx.array([[7 + r] for r in range(rows)])

            def one_step():
                mx.eval(model(step_in, cache=cache))
        else:
            kv = [dec.new_row(cache, 4 + ROUNDS * len(CANDIDATES) * (STEPS + 1) + 1) for _ in range(rows)]
            ids = np.arange(7, 7 + rows)

            def one_step():
                dec.step_np(ids, kv)
        for _ in range(ROUNDS):
            for label, threads, spin in CANDIDATES:
                skinny.threads_for[1] = skinny.threads_for[2] = threads
                lib.skinny_set_spin(spin)
                lib.skinny_helper_chunks(1)
                lib.skinny_caller_chunks(1)
                one_step()  # one untimed step with this setting
                t = time.perf_counter()
                for _ in range(STEPS):
                    one_step()
                times[str(rows)].setdefault(label, []).append((time.perf_counter() - t) / STEPS * 1e3)
                h, c = lib.skinny_helper_chunks(1), lib.skinny_caller_chunks(1)
                if threads == 2 and h + c:
                    helper_share.setdefault(f"{rows}:{label}", 0.0)
                    helper_share[f"{rows}:{label}"] += h / (h + c) / ROUNDS
    med = {r: {k: round(statistics.median(v), 2) for k, v in d.items()} for r, d in times.items()}
    choice = {r: min(CANDIDATES, key=lambda c: med[r][c[0]]) for r in med}
    return {"step_ms": med, "chosen": {r: list(c) for r, c in choice.items()},
            "helper_share": {k: round(v, 2) for k, v in helper_share.items()}}


def summary(result: dict) -> str:
    ch, ms = result["chosen"], result["step_ms"]
    parts = []
    for r in ("1", "4"):
        label = ch[r][0]
        others = ", ".join(f"{k} {v:.1f}" for k, v in ms[r].items())
        parts.append(f"{r} row{'s' if r != '1' else ''}: {label} ({others} ms a step)")
    return "; ".join(parts)


def apply(model: Any, weights: str) -> str:
    """Set the kernel's thread split for ``model`` from a cached or new measurement; a sentence
    saying what was chosen and why (also in :func:`status`)."""
    global _last
    mode = settings.skinny_calibrate()
    if skinny.load() is None:
        return skinny.status()
    if mode in ("0", "off", "no", "false"):
        _use({r: list(c) for r, c in DEFAULT.items()})
        _last = {"status": "not calibrated (FLUX_SKINNY_CALIBRATE=0): 2 threads, helper polls 3 ms"}
        return _last["status"]
    path = skinny.cache_dir() / f"calibration-{_key(model, weights)}.json"
    result = None
    load = load_average()
    if mode != "force" and path.is_file():
        try:
            result = json.loads(path.read_text())
            how = f"cached {path.name}"
        except (OSError, ValueError):
            result = None
        if result is not None and result.get("busy") and not _busy(load):
            result = None  # measured while the machine was busy, and it is quieter now: again
    if result is None:
        t = time.perf_counter()
        result = _measure(model)
        result["cpu"] = cpu_model()
        result["seconds"] = round(time.perf_counter() - t, 2)
        result["load"] = None if load is None else round(load, 2)
        result["busy"] = _busy(load)
        how = f"measured now in {result['seconds']} s"
        if result["busy"]:
            how += f", while busy (load {load:.1f}): measured again when the machine is quieter"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(result, indent=1))
            os.replace(tmp, path)
        except OSError:
            pass
    _use(result["chosen"])
    _last = dict(result, status=f"{summary(result)} [{how} on {result.get('cpu', '?')}]")
    return _last["status"]


def status() -> str:
    """What the last :func:`apply` chose and why, for ``texture doctor`` and the bench."""
    return _last["status"]


def last() -> dict:
    return dict(_last)
