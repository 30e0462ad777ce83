"""File sources: which files a pattern names, and a version for each pattern.

A file's identity is its size and modification time, confirmed by a content hash:
an unchanged (size, mtime) reuses the hash observed before, so a no-op run reads no
file; a touched file whose bytes are equal keeps its version.

>>> split_remote("s3://bucket/x.parquet"), split_remote("data/x.csv")
(True, False)
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

ABSENT = "absent"
REMOTE = "remote"
_CHUNK = 1 << 20


def split_remote(pattern: str) -> bool:
    """True for URLs (``s3://``, ``https://``): not observed locally."""
    return "://" in pattern


@dataclass(frozen=True)
class FileObservation:
    """One file as seen now: (size, mtime) and content hash."""

    path: str  # project-relative posix path (absolute when outside the project)
    size: int
    mtime_ns: int
    content_hash: str
    changed_at: float | None


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def expand(root: Path, pattern: str) -> list[Path]:
    """Files matched by ``pattern`` (a path or glob, relative to ``root``), sorted."""
    if split_remote(pattern):
        return []
    full = pattern if os.path.isabs(pattern) else str(root / pattern)
    if any(ch in pattern for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(full, recursive=True) if os.path.isfile(p))
    path = Path(full)
    return [path] if path.is_file() else []


def observe(
    root: Path,
    patterns: list[str],
    previous: dict[str, tuple[int, int, str, float | None]],
    *,
    now: float,
) -> tuple[dict[str, str], list[FileObservation]]:
    """Current version of every pattern, and the file observations that changed.

    ``previous`` maps a path to (size, mtime_ns, content_hash, changed_at) as last
    stored in the catalog. The version of a pattern is a hash of its files' paths and
    content hashes, ``absent`` when it matches nothing, ``remote`` for URLs.
    """
    versions: dict[str, str] = {}
    changed: list[FileObservation] = []
    seen: dict[str, str] = {}
    for pattern in sorted(set(patterns)):
        if split_remote(pattern):
            versions[pattern] = REMOTE
            continue
        files = expand(root, pattern)
        if not files:
            versions[pattern] = ABSENT
            continue
        digest = hashlib.sha256()
        for file in files:
            rel = _relative(root, file)
            if rel not in seen:
                seen[rel] = _file_hash(file, rel, previous, changed, now)
            digest.update(f"{rel}\0{seen[rel]}\n".encode())
        versions[pattern] = digest.hexdigest()[:32]
    return versions, changed


def _file_hash(
    file: Path,
    rel: str,
    previous: dict[str, tuple[int, int, str, float | None]],
    changed: list[FileObservation],
    now: float,
) -> str:
    stat = file.stat()
    before = previous.get(rel)
    if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
        return before[2]
    new_hash = content_hash(file)
    changed_at = before[3] if before and before[2] == new_hash else now
    changed.append(FileObservation(rel, stat.st_size, stat.st_mtime_ns, new_hash, changed_at))
    return new_hash


def _relative(root: Path, file: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.resolve().as_posix()
