"""``texture doctor``: check the installation and say what to fix."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import time
from pathlib import Path

from . import locations

OK, WARN, FAIL = "ok", "warn", "FAIL"


def _check(results: list, status: str, what: str, detail: str, fix: str = "") -> None:
    results.append((status, what, detail, fix))


def _check_database(results: list, db: Path) -> None:
    folder = db.parent
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
        low = free < 200 * 2**20
        _check(results, WARN if low else OK, "disk space", f"{free / 2**30:.1f} GiB free for {folder}",
               "free some disk space: batches need room for results (a full disk spills them to a file)" if low else "")
    except OSError:
        pass
    if not db.exists():
        _check(results, OK, "database", f"{db} (not created yet; the first batch creates it)")
        return
    try:
        from .store import Store

        st = Store(db, readonly=True)
    except Exception as exc:
        _check(results, FAIL, "database", f"{db}: {exc}", "check the path and permissions, or move the file aside")
        return
    try:
        try:
            res = st.integrity()
            mig = st.applied_migrations()
        except Exception as exc:
            _check(results, FAIL, "database", f"{db}: {exc}",
                   "the file is damaged or not a database: restore a backup, or move it aside (a new one is created)")
            return
        _check(results, OK if res == "ok" else FAIL, "database", f"{db}: integrity {res}, migrations {mig}",
               "" if res == "ok" else "restore from a backup or export what is readable with sqlite3 .recover")
        try:
            c = st.consistency()
            bad = {k: v for k, v in c.items() if k != "integrity" and v}
            _check(results, WARN if bad else OK, "database consistency",
                   "no duplicated results, no empty texts, batch items consistent" if not bad else f"{bad}",
                   "run `texture robustness --only kills` and report the numbers" if bad else "")
        except Exception as exc:
            _check(results, WARN, "database consistency", f"not checked: {exc}")
        writable = os.access(db, os.W_OK) and os.access(folder, os.W_OK)
        _check(results, OK if writable else FAIL, "database writable",
               "yes" if writable else f"{db} or its folder is read-only",
               "" if writable else f"fix the permissions of {db} and {folder} (SQLite writes {db.name}-wal and -shm there)")
        holder = st.batch_running_elsewhere()
        if holder is not None:
            since = holder.get("since")
            when = time.strftime("%H:%M:%S", time.localtime(since)) if since else "?"
            _check(results, OK, "batch running", f"pid {holder.get('pid', '?')} since {when}: a second batch would refuse")
        counts = st.unfinished_counts()
        if counts is not None:
            running, queued = counts
            if holder is None and (running or queued):
                _check(results, WARN, "interrupted batches",
                       f"{running} batch(es) left running by a stopped process, {queued} unfinished place(s)",
                       "run `texture batch` (or open the console): they are resumed exactly once")
        spills = st.spill_candidates()
        if spills:
            _check(results, WARN, "unsaved results", f"{len(spills)} spill file(s): {', '.join(str(x) for x in spills[:3])}",
                   "free disk space / fix permissions, then run `texture batch`: they are imported automatically")
    finally:
        st.close()


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
        from .llm.cpu.fastpath import prepare_backend

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
            from .llm.models.hub import is_repo_ref

            hub_ref = is_repo_ref(cfg.model_path)
            _check(results, FAIL if cfg.enabled else WARN, "model",
                   f"{cfg.model_path or models.DEFAULT_MODEL} is not " + ("downloaded" if hub_ref else "imported"),
                   f"texture models pull {cfg.model_path}" if hub_ref else "texture models pull")
        else:
            loaded = models.load_model(folder)
            info = loaded.info
            _check(results, OK, "model", f"{folder.name}: {info.get('architecture')}, {info.get('dtype')}, kernels {info.get('kernels') or 'mlx-lm'}, "
                           f"id {info.get('model_id') or folder.name}, loads in {info.get('load_seconds')} s")
            from .enhance import for_config  # blind review decides whether the model may enhance

            enh = for_config(cfg, info.get("model_id") or folder.name)
            bad = enh.off and enh.source == "reviews" or (enh.review is not None and enh.source == "setting"
                                                          and "lose to the templates" in enh.sentence)
            _check(results, WARN if bad else OK, "enhancement", enh.sentence,
                   "templates are kept; a better model or mode, reviewed blind, can change that" if bad else "")
            if info.get("device") == "cpu" and info.get("dtype") == "float32":
                from .llm.cpu import skinny

                if skinny.status() == "on":
                    _check(results, OK, "decode kernel", f"skinny products built in {skinny.cache_dir()}, decode weights "
                                                         f"{info.get('decode_weights')} (FLUX_DECODE_WEIGHTS=f32|q8|q8i|q4 to choose)")
                    _check(results, OK, "decode kernel variant", str(info.get("decode_kernel")),
                           "FLUX_DECODE_PRODUCTS=q4: decode steps on float32 FMAs (=q4i the integer dots)"
                           if info.get("q4_bytes") else
                           "FLUX_DECODE_WEIGHTS=q8i: the integer dots (opt-in), =q8 the float32 FMAs")
                    _check(results, OK, "decode thread split", str(info.get("thread_split")),
                           "FLUX_SKINNY_CALIBRATE=force measures again")
                    _check(results, OK, "model weights kept", str(info.get("weights_kept")),
                           "FLUX_DECODE_WEIGHTS=q8: a q8 copy of every matrix (the path before 4-bit)"
                           if info.get("q4_bytes") else "")
                    step = str(info.get("decode_step"))
                    _check(results, OK if step.startswith(("on:", "off")) else WARN, "decode step", step,
                           "FLUX_NATIVE_DECODE=0 runs decode steps through MLX instead")
                else:
                    _check(results, WARN, "decode kernel", f"skinny products not in use: {skinny.status()}",
                           "apt-get install gcc (or set CC); FLUX_SKINNY=0 turns them off on purpose")
    except Exception as exc:
        _check(results, FAIL, "model", f"{type(exc).__name__}: {exc}", "texture models pull (or re-import the model)")

    # Database: integrity, consistency, writability, a batch running now, work left by a crash.
    db = Path(getattr(args, "db", None) or locations.default_db())
    _check_database(results, db)

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
                    _check(results, OK, f"prompt {st.name}", f"version {st.active.version}, mode {st.active.mode}")
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
