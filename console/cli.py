"""The ``texture`` entry point: the engine's command line with the console registered on it.

The engine never imports the console (``engine/`` stays UI-free); this module, on the console
side, plugs the Textual app and its benchmarks into ``engine.cli``.
"""

from __future__ import annotations

import sys


def _run_console(cfg, places, errors, *, db_path, pull, world_path=None):
    from .app import run_console

    return run_console(cfg, places, errors, db_path=db_path, pull=pull, world_path=world_path)


def _measure_startup():
    from .bench import measure_startup

    return measure_startup()


def _measure_key_latency():
    from .bench import measure_key_latency_both

    return measure_key_latency_both()


def main(argv: list[str] | None = None) -> int:
    from engine import cli

    cli.FRONTEND.update(console=_run_console, console_bench=(_measure_startup, _measure_key_latency))
    return cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
