"""``texture doctor``: check the installation and say what to fix."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

from . import locations

OK, WARN, FAIL = "ok", "warn", "FAIL"


def _check(results: list, status: str, what: str, detail: str, fix: str = "") -> None:
    results.append((status, what, detail, fix))


def run_doctor(args) -> int:
    results: list = []
    v = sys.version_info
    _check(results, OK if v >= (3, 11) else FAIL, "python", sys.version.split()[0], "" if v >= (3, 11) else "install Python 3.11 or newer")
    for mod in ("textual", "textual_plotext", "sqlite_utils", "watchfiles", "mlx_lm", "gguf", "tokenizers"):
        try:
            m = importlib.import_module(mod)
            _check(results, OK, f"package {mod}", getattr(m, "__version__", "installed"))
        except Exception as exc:
            _check(results, FAIL, f"package {mod}", f"cannot import: {exc}", "python3 -m pip install -e .")

    # BLAS / dtype: before anything imports mlx.
    try:
        from .llm.fastpath import prepare_backend

        b = prepare_backend()
        fix = ""
        status = OK
        if b.device == "cpu" and not b.fast:
            status = WARN
            fix = "install OpenBLAS for the CPU fast path: apt-get install libopenblas0-pthread (or set FLUX_OPENBLAS=/path/libopenblas.so)"
        _check(results, status, "compute backend", f"{b.device}, BLAS {b.blas}, weights as {b.dtype}", fix)
    except Exception as exc:
        _check(results, FAIL, "compute backend", f"{type(exc).__name__}: {exc}", "python3 -m pip install -e .")

    # Model present and loadable.
    try:
        from .config import load_config
        from .llm import models

        cfg = load_config()
        folder = models.resolve_model(cfg.model_path or None)
        if folder is None:
            _check(results, FAIL if cfg.enabled else WARN, "model", f"{cfg.model_path or models.DEFAULT_MODEL} is not imported",
                   "texture models pull")
        else:
            loaded = models.load_model(folder)
            info = loaded.info
            _check(results, OK, "model", f"{folder.name}: {info.get('architecture')}, {info.get('dtype')}, loads in {info.get('load_seconds')} s")
    except Exception as exc:
        _check(results, FAIL, "model", f"{type(exc).__name__}: {exc}", "texture models pull (or re-import the model)")

    # Database.
    db = getattr(args, "db", None) or locations.default_db()
    if Path(db).exists():
        try:
            from .store import Store

            st = Store(db, readonly=True)
            res = st.integrity()
            mig = st.applied_migrations()
            st.close()
            _check(results, OK if res == "ok" else FAIL, "database", f"{db}: integrity {res}, migrations {mig}",
                   "" if res == "ok" else "restore from a backup or export what is readable with sqlite3 .recover")
        except Exception as exc:
            _check(results, FAIL, "database", f"{db}: {exc}", "check the path and permissions, or move the file aside")
    else:
        _check(results, OK, "database", f"{db} (not created yet; the first batch creates it)")

    # Prompt files.
    try:
        from .prompts import PromptLibrary

        folder = Path(args.prompts) if getattr(args, "prompts", None) else locations.default_prompts_dir()
        if folder.exists():
            lib = PromptLibrary(folder, install_defaults=False)
            for st in lib.status():
                if st.error:
                    _check(results, FAIL, f"prompt {st.name}", str(st.error), f"fix {st.path} (line {st.error.line})")
                else:
                    _check(results, OK, f"prompt {st.name}", f"version {st.active.version}")
        else:
            _check(results, OK, "prompts", f"{folder} (created with the defaults on first run)")
    except Exception as exc:
        _check(results, FAIL, "prompts", f"{type(exc).__name__}: {exc}")

    # Terminal.
    term = os.environ.get("TERM", "")
    size = shutil.get_terminal_size((0, 0))
    colors = os.environ.get("COLORTERM", "")
    tty = sys.stdout.isatty()
    status = OK if tty and term and term != "dumb" and size.columns >= 80 and size.lines >= 24 else WARN
    fix = "" if status == OK else "the console needs an interactive terminal of at least 80x24"
    _check(results, status, "terminal", f"TERM={term or '(unset)'} COLORTERM={colors or '(unset)'} {size.columns}x{size.lines} tty={tty}", fix)

    width = max(len(r[1]) for r in results)
    for status, what, detail, fix in results:
        print(f"[{status:>4}] {what:<{width}}  {detail}")
        if fix:
            print(f"       {'':<{width}}  -> {fix}")
    failed = sum(1 for r in results if r[0] == FAIL)
    print(f"{failed} problem(s)" if failed else "all essential checks passed")
    return 1 if failed else 0
