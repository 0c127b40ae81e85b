"""Models from the Hugging Face hub, the way mlx-lm users keep them.

A *repo reference* is ``owner/name`` (a hub repository id), optionally followed by ``:QUANT``
or ``:FILE.gguf`` (llama.cpp's ``-hf owner/name:Q4_K_M`` syntax), e.g.
``mlx-community/Qwen2.5-7B-Instruct-4bit`` or ``Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M``.

* An MLX (or plain Hugging Face safetensors) repository -- ``config.json`` and
  ``model*.safetensors`` -- is downloaded with ``huggingface_hub.snapshot_download`` (the
  files mlx-lm downloads) and used as it is, in the hub cache (``$HF_HOME`` / ``$HF_HUB_CACHE``).
* A GGUF repository: one ``.gguf`` file (``--file``, or the one whose name carries ``--quant``,
  or the only one, or the Q4_K_M one; all parts of a split file) is downloaded with
  ``hf_hub_download`` and imported with
  :func:`engine.llm.gguf_import.import_gguf` into the models folder; the import records the repo
  and file, so the repo reference finds it again.

Offline use is the hub library's: with ``HF_HUB_OFFLINE=1`` (or when the hub cannot be reached)
the files already in the cache are used; otherwise a :class:`~engine.llm.models.ModelPullError`
says that the hub cannot be reached and the repository is not cached.

Nothing here runs at import time; ``huggingface_hub`` is imported inside the functions.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from .folders import import_progress, say

__all__ = ["is_repo_ref", "parse_repo_ref", "pull_repo", "resolve_cached", "ALLOW_PATTERNS"]

# What mlx-lm downloads for a model folder (mlx_lm.utils.DEFAULT_ALLOW_PATTERNS).
ALLOW_PATTERNS = ["*.json", "model*.safetensors", "*.py", "tokenizer.model", "*.tiktoken",
                  "tiktoken.model", "*.txt", "*.jsonl", "*.jinja"]
PROVENANCE = "gguf_import.json"
_REPO_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,95})/([A-Za-z0-9][A-Za-z0-9._-]{0,95})(?::([A-Za-z0-9._-]+))?$")
_SPLIT_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)

Progress = Callable[[str], None]


def parse_repo_ref(value: str) -> tuple[str, str | None] | None:
    """``"owner/name[:sel]"`` -> ``("owner/name", sel or None)``; None if not a repo reference.

    A path that exists on disk, or that starts with ``.``, ``/`` or ``~``, is never a repo.
    """
    value = str(value).strip()
    m = _REPO_RE.match(value)
    if m is None or value.endswith(".gguf") and m.group(3) is None:
        return None
    if any(part in (".", "..") or part.endswith(".") for part in (m.group(1), m.group(2))):
        return None
    if Path(value).expanduser().exists():
        return None
    return f"{m.group(1)}/{m.group(2)}", m.group(3)


def is_repo_ref(value: Any) -> bool:
    return value is not None and parse_repo_ref(str(value)) is not None


def _hub():
    try:
        import huggingface_hub
    except ImportError:  # pragma: no cover - a dependency of mlx-lm
        from .folders import ModelPullError

        raise ModelPullError("huggingface_hub is not installed (python3 -m pip install huggingface_hub)") from None
    return huggingface_hub


def _where() -> str:
    from huggingface_hub import constants

    return f"the hub at {constants.ENDPOINT}, cache {constants.HF_HUB_CACHE}"


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _unreachable(repo: str, exc: BaseException | None) -> Exception:
    from .folders import ModelPullError

    if _offline():
        return ModelPullError(
            f"{repo} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it "
            f"({_where()}); unset HF_HUB_OFFLINE on a machine with internet, or copy the cache here"
        )
    cause = f" ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})" if exc else ""
    return ModelPullError(
        f"cannot reach the Hugging Face hub to fetch {repo}{cause}, and it is not in the local cache "
        f"({_where()}); check the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use cached files only"
    )


def _hub_error(repo: str, exc: BaseException, what: str = "") -> Exception:
    """Map huggingface_hub / network exceptions to one clear ModelPullError."""
    from huggingface_hub import errors

    from .folders import ModelPullError

    if isinstance(exc, errors.GatedRepoError):
        return ModelPullError(f"{repo} is gated: accept its terms on the hub and log in (`hf auth login`)")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return ModelPullError(f"{repo}: no such repository on the hub (or it is private: log in with `hf auth login`)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return ModelPullError(f"{repo}: no such revision")
    if isinstance(exc, (errors.RemoteEntryNotFoundError,)):
        return ModelPullError(f"{repo}: no file {what!r} in the repository")
    return _unreachable(repo, exc)


def _is_network_error(exc: BaseException) -> bool:
    from huggingface_hub import errors

    if isinstance(exc, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError, errors.HfHubHTTPError,
                        ConnectionError, TimeoutError, OSError)):
        return True
    try:
        import httpx

        return isinstance(exc, httpx.HTTPError)
    except ImportError:  # pragma: no cover
        return False


def _cached_snapshot(repo: str, revision: str | None) -> Path | None:
    """The cached snapshot folder of ``repo`` (any files), or None if the repo is not cached."""
    hh = _hub()
    try:
        return Path(hh.snapshot_download(repo, revision=revision, local_files_only=True))
    except Exception:
        return None


def _repo_files(repo: str, revision: str | None) -> tuple[list[str], bool]:
    """The repository's file list: from the hub when reachable, else from the local cache.

    Returns (files, from_hub).
    """
    hh = _hub()
    error: BaseException | None = None
    if not _offline():
        try:
            # model_info: one request with the file list (list_repo_files retries a dead
            # connection for half a minute before it gives up)
            info = hh.HfApi().model_info(repo, revision=revision)
            return sorted(s.rfilename for s in (info.siblings or [])), True
        except Exception as exc:
            if not _is_network_error(exc):
                raise _hub_error(repo, exc) from None
            from huggingface_hub import errors

            if isinstance(exc, (errors.RepositoryNotFoundError, errors.GatedRepoError, errors.RevisionNotFoundError)):
                raise _hub_error(repo, exc) from None
            error = exc
    snap = _cached_snapshot(repo, revision)
    if snap is None:
        raise _unreachable(repo, error) from None
    files = sorted(str(p.relative_to(snap)).replace(os.sep, "/") for p in snap.rglob("*") if p.is_file())
    return files, False


def _quant_of(filename: str) -> str:
    """'qwen2.5-0.5b-instruct-q4_k_m.gguf' -> 'Q4_K_M' (best effort, for messages)."""
    stem = Path(filename).name
    stem = _SPLIT_RE.sub(".gguf", stem)
    stem = stem[:-5] if stem.lower().endswith(".gguf") else stem
    m = re.search(r"(?:^|[._-])((?:I?Q\d[A-Z0-9_]*)|BF16|F16|F32)$", stem, re.IGNORECASE)
    return m.group(1).upper() if m else "?"


def _matches_quant(filename: str, quant: str) -> bool:
    stem = _SPLIT_RE.sub(".gguf", Path(filename).name)
    return re.search(rf"(?:^|[._-]){re.escape(quant)}(?:[._-]|\.gguf$)", stem, re.IGNORECASE) is not None


def _pick_gguf(repo: str, ggufs: list[str], file: str | None, quant: str | None) -> list[str]:
    """The file to import (all its parts, first part first, for a split file)."""
    from .folders import ModelPullError

    listing = ", ".join(Path(f).name for f in ggufs[:20]) + (" ..." if len(ggufs) > 20 else "")
    if file:
        exact = [f for f in ggufs if f == file or Path(f).name == file]
        if not exact:
            raise ModelPullError(f"{repo} has no file {file!r} (GGUF files: {listing or 'none'})")
        choice = exact[0]
    elif quant:
        hits = [f for f in ggufs if _matches_quant(f, quant)]
        if not hits:
            quants = sorted({_quant_of(f) for f in ggufs})
            raise ModelPullError(f"{repo} has no {quant} GGUF file (quantizations there: {', '.join(quants) or 'none'})")
        if len({_SPLIT_RE.sub(".gguf", f) for f in hits}) > 1:
            raise ModelPullError(f"{repo}: several files match {quant}: {', '.join(hits)}; pick one with --file")
        choice = hits[0]
    else:
        whole = {_SPLIT_RE.sub(".gguf", f) for f in ggufs}
        if len(whole) == 1:
            choice = ggufs[0]
        else:
            q4km = [f for f in ggufs if _matches_quant(f, "Q4_K_M")]
            if not q4km:
                raise ModelPullError(f"{repo} has several GGUF files ({listing}): pick one with --quant or --file")
            choice = q4km[0]
    m = _SPLIT_RE.search(choice)
    if m:  # a split file: all its parts, the first one first
        stem = choice[: m.start()]
        parts = [f"{stem}-{i:05d}-of-{m.group(2)}.gguf" for i in range(1, int(m.group(2)) + 1)]
        missing = [Path(p).name for p in parts if p not in ggufs]
        if missing:
            raise ModelPullError(f"{repo}: split GGUF file {Path(stem).name}: part(s) {', '.join(missing)} missing")
        return parts
    return [choice]


def _imports_of(repo: str, root: Path) -> list[tuple[float, Path, dict]]:
    out = []
    if not root.is_dir():
        return out
    for d in root.iterdir():
        prov = d / PROVENANCE
        if d.name.startswith(".") or not prov.is_file():
            continue
        try:
            meta = json.loads(prov.read_text())
        except (OSError, ValueError):
            continue
        hub = meta.get("hub") or {}
        if hub.get("repo", "").lower() == repo.lower():
            out.append((prov.stat().st_mtime, d, hub))
    return sorted(out, key=lambda t: t[0], reverse=True)


def resolve_cached(ref: str, *, models_root: Path | None = None) -> Path | None:
    """The local model folder for a repo reference, without any network access; None if absent.

    An MLX repository in the hub cache, or a GGUF import from that repository (the newest one
    matching the ``:QUANT`` / ``:FILE`` selector, if any).
    """
    from ...locations import models_dir
    from .folders import is_model_folder

    parsed = parse_repo_ref(ref)
    if parsed is None:
        return None
    repo, sel = parsed
    if sel is None:
        try:
            from huggingface_hub import snapshot_download

            snap = Path(snapshot_download(repo, local_files_only=True, allow_patterns=ALLOW_PATTERNS))
            if is_model_folder(snap):
                return snap
        except Exception:
            pass
    for _mtime, folder, hub in _imports_of(repo, Path(models_root) if models_root else models_dir()):
        if not is_model_folder(folder):
            continue
        if sel is None or (sel.lower().endswith(".gguf") and Path(hub.get("file", "")).name == sel) \
                or _matches_quant(hub.get("file", ""), sel):
            return folder.resolve()
    return None


def pull_repo(
    ref: str,
    *,
    file: str | None = None,
    quant: str | None = None,
    dest_root: Path | None = None,
    revision: str | None = None,
    progress: Progress | None = print,
) -> Path:
    """Fetch a model from the hub (or the local hub cache) and return its local folder."""
    from .gguf_import import GGUFImportError, default_name_for, import_gguf
    from ...locations import models_dir, prepare_models_dir
    from .folders import ModelPullError, is_model_folder

    parsed = parse_repo_ref(ref)
    if parsed is None:
        raise ModelPullError(f"{ref!r} is not a hub repository id (expected owner/name)")
    repo, sel = parsed
    if sel and not file and not quant:
        file, quant = (sel, None) if sel.lower().endswith(".gguf") else (None, sel)
    if file and quant:
        raise ModelPullError("give either --file or --quant, not both")
    root = Path(dest_root) if dest_root is not None else models_dir()
    hh = _hub()

    say(progress, f"looking up {repo} ({'local cache only' if _offline() else _where()}) ...")
    files, from_hub = _repo_files(repo, revision)
    if not from_hub:
        say(progress, f"{repo}: hub not reachable or offline; using the local cache")
    ggufs = [f for f in files if f.lower().endswith(".gguf")]
    is_mlx = "config.json" in files and any(re.fullmatch(r"model.*\.safetensors", Path(f).name) for f in files
                                            if "/" not in f)

    if is_mlx and not (file or quant):
        say(progress, f"{repo}: an MLX / safetensors model folder; used as it is from the hub cache")
        try:
            snap = Path(hh.snapshot_download(repo, revision=revision, allow_patterns=ALLOW_PATTERNS,
                                             local_files_only=not from_hub))
        except Exception as exc:
            raise _hub_error(repo, exc) from None
        if not is_model_folder(snap):
            raise ModelPullError(f"{repo}: downloaded, but {snap} is not a complete model folder (config.json + model*.safetensors)")
        say(progress, f"model ready at {snap}")
        return snap

    if not ggufs:
        raise ModelPullError(
            f"{repo} has neither an MLX model (config.json + model*.safetensors) nor a .gguf file"
            + ("" if from_hub else " in the local cache")
        )
    chosen = _pick_gguf(repo, ggufs, file, quant)
    choice = chosen[0]
    name = default_name_for(Path(choice))
    dest = root / name
    for _mtime, folder, hub in _imports_of(repo, root):
        if hub.get("file") == choice and is_model_folder(folder):
            say(progress, f"{repo}/{choice} already imported at {folder}")
            return folder
    if dest.exists():
        raise ModelPullError(f"{dest} already exists and was not imported from {repo}/{choice}; "
                             "remove it or import the file under another name")
    local = None
    for part in chosen:  # the parts of a split file land side by side in the same snapshot
        say(progress, f"downloading {repo}/{part} ...")
        try:
            got = Path(hh.hf_hub_download(repo, part, revision=revision, local_files_only=not from_hub))
        except Exception as exc:
            raise _hub_error(repo, exc, part) from None
        local = local or got
    on_import = import_progress(progress)

    try:
        folder = import_gguf(local, root, name, on_import,
                             provenance={"hub": {"repo": repo, "file": choice, "revision": revision or "main"}})
    except GGUFImportError as e:
        raise ModelPullError(f"could not import {repo}/{choice}: {e}") from None
    if dest_root is None:  # the models folder's README beside the model
        prepare_models_dir()
    say(progress, f"model ready at {folder}")
    return folder
