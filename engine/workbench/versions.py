"""Prompt versions: the history of every prompt file, resolving a reference, diff and restore."""

from __future__ import annotations

import contextlib
import difflib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..prompts import DEFAULT_PROMPT, SUFFIX, Prompt, PromptError, PromptLibrary, compile_prompt, read_prompt_file, version_of
from ..store import Store, now
from .common import WorkbenchError, _wb


# --- versions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromptVersion:
    version: str
    name: str
    text: str
    first_seen: float
    last_seen: float
    restores: int = 0  # how many times this version was restored to the file
    on_disk: bool = False  # the active version of the file now (when a library was given)

    @property
    def lines(self) -> int:
        return len(self.text.splitlines())

    def as_dict(self) -> dict:
        return {"version": self.version, "name": self.name, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "restores": self.restores, "on_disk": self.on_disk, "lines": self.lines}


def _record(store: Store, name: str, prompt_text: str, action: str, path: Path | None = None) -> str:
    """Record a prompt text (prompt_versions) and a workbench event, in one transaction."""
    version = version_of(prompt_text)
    _wb(store).record_prompt_event(name, version, prompt_text, action, path)
    return version


def record_library(store: Store, library: PromptLibrary) -> list[PromptVersion]:
    """Record the active version of every prompt file; returns them. An event row is added only
    when a file's version differs from the last one seen for it (reopening adds nothing)."""
    out = []
    for st in library.status():
        p = st.active
        if p is None:
            continue
        if _wb(store).last_event_version(st.name) == p.version:
            _wb(store).touch_prompt(st.name, p.version, p.text)
        else:
            _record(store, st.name, p.text, "seen", st.path)
        out.append(p)
    return [v for p in out for v in history(store, p.name, library) if v.version == p.version]


def history(store: Store, name: str = DEFAULT_PROMPT, library: PromptLibrary | None = None) -> list[PromptVersion]:
    """Every recorded version of prompt ``name``, most recently seen first."""
    rows = _wb(store).history_rows(name)
    active = library.get(name) if library is not None else None
    return [PromptVersion(r["version"], name, r["text"], r["first_seen"], r["last_seen"], r["restores"],
                          active is not None and active.version == r["version"]) for r in rows]


def resolve_version(store: Store, ref: str, name: str | None = None) -> PromptVersion:
    """The recorded version whose id is ``ref`` or starts with it (4+ characters)."""
    ref = (ref or "").strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
        raise WorkbenchError(f"unknown prompt version {ref!r} (give 4 or more hex digits of a version id)")
    rows = _wb(store).versions_with_prefix(ref)
    if name is not None and len(rows) > 1:
        mine = [r for r in rows if r["name"] == name]
        rows = mine or rows
    if not rows:
        hint = f" (see `texture prompts history {name}`)" if name else " (see `texture prompts history`)"
        raise WorkbenchError(f"unknown prompt version {ref!r}{hint}")
    if len(rows) > 1:
        raise WorkbenchError(f"prompt version {ref!r} is ambiguous: {', '.join(r['version'] for r in rows[:5])}")
    r = rows[0]
    return PromptVersion(r["version"], name or r["name"], r["text"], r["first_seen"], r["last_seen"])


def resolve_prompt(ref: str, library: PromptLibrary, store: Store, name: str = DEFAULT_PROMPT) -> Prompt:
    """A prompt from a reference: ``current`` (the file's active version), ``previous`` (the most
    recently seen other version of ``name``), a version id or prefix, the name of another prompt
    file in the library, or a path to a prompt file. Raises :class:`WorkbenchError`."""
    ref = str(ref).strip()
    if ref in ("current", "previous"):
        cur = library.get(name)
        if ref == "current":
            if cur is None:
                raise WorkbenchError(f"prompt {name!r} has no usable version in {library.folder}")
            return cur
        for v in history(store, name):
            if cur is None or v.version != cur.version:
                return _compile(v.text, name, v.version)
        raise WorkbenchError(f"prompt {name!r} has no previous version yet (see `texture prompts history {name}`)")
    path = Path(ref).expanduser()
    if ref.endswith(SUFFIX) or os.sep in ref or path.is_file():
        if not path.is_file():
            raise WorkbenchError(f"prompt file not found: {ref}")
        try:
            return read_prompt_file(path)
        except PromptError as exc:
            raise WorkbenchError(str(exc)) from None
    if library.get(ref) is not None and not all(c in "0123456789abcdef" for c in ref.lower()):
        return library.get(ref)  # type: ignore[return-value]
    v = resolve_version(store, ref, name)
    return _compile(v.text, v.name, v.version)


def _compile(text: str, name: str, version: str) -> Prompt:
    try:
        return compile_prompt(text, f"{name} (version {version})", name)
    except PromptError as exc:
        raise WorkbenchError(f"recorded version {version} of {name!r} does not compile: {exc}") from None


def diff_versions(a_text: str, b_text: str) -> list[tuple[str, str]]:
    """A line diff: ``(" ", line)`` in both, ``("-", line)`` only in a, ``("+", line)`` only in b."""
    a, b = a_text.splitlines(), b_text.splitlines()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(" ", line) for line in a[i1:i2]]
        else:
            out += [("-", line) for line in a[i1:i2]]
            out += [("+", line) for line in b[j1:j2]]
    return out


def _atomic_write(path: Path, text: str) -> None:
    # The temp name does not end in .prompt, so a folder watcher never loads a half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None


def restore_version(library: PromptLibrary, store: Store, name: str, version: str) -> Path:
    """Write recorded ``version`` of prompt ``name`` back to its file (atomically) and reload it.

    Nothing is lost: the text on disk is recorded first (as a version if it compiles, else as a
    ``before_restore_unparsable`` event holding the raw text), and the restore itself is recorded
    as a save (the version's ``last_seen`` moves to now; an event ``restored``)."""
    target = resolve_version(store, version, name)
    path = Path(library.folder) / f"{name}{SUFFIX}"
    if path.exists():
        try:
            old = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            old = None
        if old is not None and old != target.text:
            try:
                compile_prompt(old, str(path), name)
            except PromptError:
                _wb(store).add_prompt_event(name, version_of(old), "before_restore_unparsable", path, old)
            else:
                _record(store, name, old, "before_restore", path)
                # The restore must be seen strictly later than the text it replaces (history and
                # Store.last_prompt order by last_seen, which has millisecond resolution).
                t0 = now()
                while now() <= t0:
                    time.sleep(0.001)
    _atomic_write(path, target.text)
    library.reload(path)
    _record(store, name, target.text, "restored", path)
    return path



def prompt_text(store: Store, version: str | None) -> str | None:
    """The text of a prompt version: recorded as active (prompt_versions) or used by a run."""
    if not version:
        return None
    return _wb(store).prompt_text(version)
