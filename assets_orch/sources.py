"""File sources: which files a pattern names, and a version for each pattern.

A file's version is the hash of its content. To spare reading every file at every
load, the hash observed before is reused while the file's stat key is the one seen
then: size, modification time, inode change time (ctime) and inode, as git's index
does. ``touch -r``, ``cp -p``, ``rsync -t``, ``tar x`` and ``git checkout`` can give a
changed file its old size and mtime back, but not its ctime, which only the kernel
sets; a file written in the same clock tick as it was observed is hashed again. A
touched file whose bytes are equal keeps its version.

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
RACY_SECONDS = 2.0  # a file changed this close to its observation is hashed again

StatKey = tuple[int, int, int, int]


def stat_key(stat: os.stat_result) -> StatKey:
    """What must be unchanged for a file to be trusted unread: size, mtime, ctime, inode.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as fh:
    ...     len(stat_key(os.stat(fh.name)))
    4
    """
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def changed_since(stat: os.stat_result, moment_ns: int) -> bool:
    """Whether the file was modified (or its inode changed) within :data:`RACY_SECONDS`
    of ``moment_ns`` or after it: a write in the same clock tick as an observation
    leaves the stat key as it was, so such a file must be read again."""
    return max(stat.st_mtime_ns, stat.st_ctime_ns) >= moment_ns - int(RACY_SECONDS * 1e9)


def split_remote(pattern: str) -> bool:
    """True for URLs (``s3://``, ``https://``): not observed locally."""
    return "://" in pattern


@dataclass(frozen=True)
class FileObservation:
    """One file as seen now: its stat key and content hash."""

    path: str  # project-relative posix path (absolute when outside the project)
    key: StatKey
    content_hash: str
    changed_at: float | None


@dataclass(frozen=True)
class PreviousObservation:
    """A file as last stored in the catalog."""

    key: StatKey | None  # None when stored without one (an older catalog)
    content_hash: str
    changed_at: float | None
    observed_at: float | None


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
    previous: dict[str, PreviousObservation],
    *,
    now: float,
) -> tuple[dict[str, str], list[FileObservation]]:
    """Current version of every pattern, and the file observations to store.

    ``previous`` maps a path to what the catalog stored of it. The version of a pattern
    is a hash of its files' paths and content hashes, ``absent`` when it matches
    nothing, ``remote`` for URLs.
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
    previous: dict[str, PreviousObservation],
    changed: list[FileObservation],
    now: float,
) -> str:
    stat = file.stat()
    key = stat_key(stat)
    before = previous.get(rel)
    if before is not None and before.key == key:
        seen_ns = int((before.observed_at or 0) * 1e9)
        if not changed_since(stat, seen_ns):
            return before.content_hash
    new_hash = content_hash(file)
    same = before is not None and before.content_hash == new_hash
    changed_at = before.changed_at if before is not None and same else now
    # Stored again even when equal: the new key (or observation time) spares the next read.
    changed.append(FileObservation(rel, key, new_hash, changed_at))
    return new_hash


def _relative(root: Path, file: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.resolve().as_posix()
