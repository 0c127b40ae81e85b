"""The console side of the ``texture`` command, imported only by the commands that need it
(``texture console`` and ``texture bench``), so the headless commands never load Textual.
"""

from __future__ import annotations


def run_console(cfg, places, errors, *, db_path, pull, world_path=None):
    from console.app import run_console as run

    return run(cfg, places, errors, db_path=db_path, pull=pull, world_path=world_path)


def _measure_startup():
    from tools.bench.tui import measure_startup

    return measure_startup()


def _measure_key_latency():
    from tools.bench.tui import measure_key_latency_both

    return measure_key_latency_both()


def console_bench():
    """The console measurements ``texture bench`` runs: (first frame, key latency)."""
    return (_measure_startup, _measure_key_latency)
