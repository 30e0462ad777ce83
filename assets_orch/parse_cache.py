"""The parse cache: what reading a SQL asset file costs, paid once per file version.

Parsing a query with sqlglot and its YAML header takes milliseconds per file; an
unchanged project of thousands of models should not pay it again at every load. The
cache keeps, per file, its text, the raw header (values, prose, key lines) and the
:class:`~assets_orch.sql.SqlAnalysis`, keyed by

- the file's content (a BLAKE2b digest of its bytes), confirmed without reading the
  file when its stat key (size, mtime, ctime and inode, see
  :func:`~assets_orch.sources.stat_key`) is the one seen last time. The ctime is what
  makes this safe: ``touch -r``, ``cp -p``, ``rsync -t``, ``tar x`` or ``git checkout``
  can give an edited file its old size and mtime back, never its old ctime;
- the effective SQL dialect of the file (the header's ``dialect:`` or the project's);
- the versions of sqlglot and assets_orch, and :data:`CACHE_FORMAT`: any of them
  changing throws the whole cache away.

The cache also keeps what each distinct check SQL reads (:meth:`ParseCache.check_reads`),
so that a load with nothing changed never imports sqlglot.

The cache is one pickle file, ``.assets/parse_cache.pickle``, read once per load and
written (atomically, only when something changed) once. Metadata is validated again
from the cached raw header, a file whose bytes changed is parsed again, and a file that
failed to parse is never cached, so its error is raised afresh. A missing, corrupted or
outdated cache file is ignored.

Like git's index, a file modified within :data:`~assets_orch.sources.RACY_SECONDS` of
the moment the cache was written is hashed even when its stat key matches: a write in
the same timestamp tick could otherwise go unnoticed. What remains is what git accepts
too: bytes changed with size, mtime, ctime and inode all restored (setting the system
clock back, or writing to the disk under the file system).

>>> import pathlib, tempfile
>>> cache = ParseCache.open(pathlib.Path(tempfile.mkdtemp()) / "parse_cache.pickle")
>>> len(cache), cache.dirty
(0, False)
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._version import __version__
from .sources import StatKey, changed_since, stat_key
from .sql.analysis import SqlAnalysis
from .sql.check_sql import CheckReads

# Bump when the shape of an entry, or anything cached entries depend on, changes.
# 2: entries keyed by the full stat key (ctime and inode added); 3: output columns in
# analyses, and what checks read.
CACHE_FORMAT = 3
CACHE_FILE = "parse_cache.pickle"


def cache_key() -> tuple[Any, ...]:
    """What every entry depends on besides its file: a change discards the whole cache."""
    from .sql.fingerprint import FINGERPRINT_VERSION

    return (CACHE_FORMAT, __version__, _sqlglot_version(), FINGERPRINT_VERSION)


def _sqlglot_version() -> str:
    """sqlglot's version without importing it (~0.1-0.3 s that a cached load never needs)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sqlglot")
    except PackageNotFoundError:  # not installed as a distribution: ask the module
        import sqlglot

        return str(sqlglot.__version__)


@dataclass(frozen=True)
class CachedHeader:
    """A SQL file's header as :func:`~assets_orch.header.parse_header` read it."""

    values: dict[str, Any]
    prose: str | None
    key_lines: dict[str, int]


@dataclass(frozen=True)
class CachedFile:
    """One cached file version: its text, raw header and SQL analysis."""

    stat: StatKey  # size, mtime_ns, ctime_ns, inode when it was read
    digest: str
    dialect: str
    text: str
    header: CachedHeader
    analysis: SqlAnalysis


def read_text(path: Path) -> tuple[str, str, os.stat_result]:
    """A file's text (as ``Path.read_text`` gives it: UTF-8, universal newlines), the
    digest of its bytes and its stat, from one read."""
    with path.open("rb") as fh:
        stat = os.fstat(fh.fileno())
        data = fh.read()
    text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, hashlib.blake2b(data, digest_size=20).hexdigest(), stat


@dataclass(frozen=True)
class FileRead:
    """A SQL file as :meth:`ParseCache.lookup` found it: its text and cached entry (if valid)."""

    text: str
    entry: CachedFile | None
    digest: str | None = None  # set when the file was read
    stat: os.stat_result | None = None


class ParseCache:
    """Cached parse results of a project's SQL files, by project-relative path.

    :meth:`lookup` answers a file, :meth:`store` records one, :meth:`save` writes the
    entries looked up or stored since :meth:`open` (others are dropped: their files are
    gone or no longer asset files).
    """

    def __init__(
        self,
        path: Path | None,
        entries: dict[str, CachedFile],
        saved_ns: int,
        checks: dict[tuple[str, str], CheckReads] | None = None,
    ) -> None:
        self.path = path
        self._old = entries
        self._new: dict[str, CachedFile] = {}
        self._saved_ns = saved_ns
        self._old_checks = checks or {}
        self._new_checks: dict[tuple[str, str], CheckReads] = {}
        self.dirty = False
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._old)

    @classmethod
    def open(cls, path: Path) -> ParseCache:
        """Read the cache file at ``path``; anything unreadable gives an empty cache."""
        try:
            with path.open("rb") as fh:
                payload = pickle.load(fh)
            key, saved_ns, entries, checks = payload
            if key != cache_key() or not isinstance(entries, dict) or not isinstance(checks, dict):
                raise ValueError("outdated parse cache")
            if not all(isinstance(e, CachedFile) for e in entries.values()):
                raise ValueError("unexpected parse cache entry")
            if not all(isinstance(c, CheckReads) for c in checks.values()):
                raise ValueError("unexpected parse cache entry")
            return cls(path, entries, int(saved_ns), checks)
        except Exception:  # noqa: BLE001 - missing, corrupt or old: start afresh
            return cls(path, {}, 0)

    def lookup(self, rel: str, file: Path) -> FileRead:
        """The file's text, and its cached entry when its bytes are the cached ones.

        The file is not read when its stat key matches the entry and it was not
        modified just before the cache was saved. Raises what reading raises.
        """
        entry = self._old.get(rel)
        if entry is not None:
            stat = file.stat()
            if stat_key(stat) == entry.stat and not changed_since(stat, self._saved_ns):
                self._new[rel] = entry
                self.hits += 1
                return FileRead(entry.text, entry)
        text, digest, stat = read_text(file)
        if entry is not None and entry.digest == digest:
            if entry.stat != stat_key(stat):
                entry = replace(entry, stat=stat_key(stat))
                self.dirty = True
            self._new[rel] = entry
            self.hits += 1
            return FileRead(text, entry, digest, stat)
        return FileRead(text, None, digest, stat)

    def store(
        self, rel: str, read: FileRead, *, dialect: str, header: CachedHeader, analysis: SqlAnalysis
    ) -> None:
        """Record the result of parsing the file ``read`` came from."""
        self.misses += 1
        if read.digest is None or read.stat is None:
            return
        self._new[rel] = CachedFile(
            stat=stat_key(read.stat),
            digest=read.digest,
            dialect=dialect,
            text=read.text,
            header=header,
            analysis=analysis,
        )
        self.dirty = True

    def check_reads(self, kind: str, text: str) -> CheckReads:
        """What the SQL of a ``sql`` or ``expression`` check reads (see
        :mod:`assets_orch.sql.check_sql`), parsed once per distinct text. A check that
        fails to parse is never cached: its SqlError is raised afresh."""
        key = (kind, text)
        found = self._new_checks.get(key) or self._old_checks.get(key)
        if found is None:
            from .sql.check_sql import check_reads

            found = check_reads(kind, text)
            self.dirty = True
        self._new_checks[key] = found
        return found

    def save(self) -> None:
        """Write the cache if anything changed (atomically; errors are ignored)."""
        unchanged = (
            self._new.keys() == self._old.keys()
            and self._new_checks.keys() == self._old_checks.keys()
        )
        if self.path is None or (not self.dirty and unchanged):
            return
        now_ns = time.time_ns()
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        payload = (cache_key(), now_ns, self._new, self._new_checks)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                pickle.dump(payload, fh, pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        self._old = dict(self._new)
        self._old_checks = dict(self._new_checks)
        self._saved_ns = now_ns
        self.dirty = False
