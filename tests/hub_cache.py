"""A populated Hugging Face hub cache, the layout huggingface_hub reads offline
(models--owner--name/refs/main -> snapshots/<commit>/files), for tests of `texture models pull`."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def populate(cache: Path, repo: str, files: dict[str, Path | bytes], revision: str = "main") -> Path:
    """Put ``files`` (repo path -> local file or bytes) in the cache as ``repo``'s snapshot."""
    commit = hashlib.sha1(repo.encode()).hexdigest()
    base = Path(cache) / ("models--" + repo.replace("/", "--"))
    snap = base / "snapshots" / commit
    blobs = base / "blobs"
    snap.mkdir(parents=True, exist_ok=True)
    blobs.mkdir(parents=True, exist_ok=True)
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / revision).write_text(commit)
    for rel, src in files.items():
        data = src if isinstance(src, bytes) else None
        blob = blobs / hashlib.sha256((rel + repo).encode()).hexdigest()
        if data is not None:
            blob.write_bytes(data)
        else:
            shutil.copyfile(src, blob)
        target = snap / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(Path("../" * (len(Path(rel).parts) + 1)) / "blobs" / blob.name)
    return snap
