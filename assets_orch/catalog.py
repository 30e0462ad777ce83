"""The catalog: runs, materializations, checks, lineage and source observations.

Stored in SQLite in WAL mode under ``.assets/catalog.sqlite``: any number of readers
(``assets status`` in another terminal, the HTML export) work while one writer runs.
Every write is its own short transaction; all times are Unix epoch seconds (UTC).

>>> import tempfile, pathlib
>>> cat = Catalog(pathlib.Path(tempfile.mkdtemp()) / "catalog.sqlite")
>>> cat.snapshot().assets
{}
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CatalogError, SelectionError

if TYPE_CHECKING:
    from .checks import CheckResult
    from .sources import FileObservation, PreviousObservation

from .records import (
    FAILURE_STATUSES,
    SUCCESS,
    AssetHistory,
    CatalogSnapshot,
    MaterializationRecord,
    RunRecord,
)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, trigger TEXT NOT NULL, selection TEXT, status TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL, pid INTEGER, counts TEXT, message TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS materializations (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, asset TEXT NOT NULL, attempt INTEGER NOT NULL,
    status TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, row_count INTEGER,
    columns TEXT, code_fingerprint TEXT, upstream_versions TEXT, source_versions TEXT,
    data_version TEXT, error TEXT, traceback TEXT
);
CREATE INDEX IF NOT EXISTS mat_asset ON materializations (asset, started_at);
CREATE INDEX IF NOT EXISTS mat_run ON materializations (run_id);
CREATE INDEX IF NOT EXISTS mat_status ON materializations (status);
CREATE TABLE IF NOT EXISTS asset_state (
    asset TEXT PRIMARY KEY, last_success_id TEXT, last_status TEXT, last_error TEXT
);
CREATE TABLE IF NOT EXISTS assets (
    name TEXT PRIMARY KEY, kind TEXT, path TEXT, fingerprint TEXT, info TEXT
);
CREATE TABLE IF NOT EXISTS lineage_edges (
    downstream TEXT NOT NULL, upstream TEXT NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY (downstream, upstream, kind)
);
CREATE INDEX IF NOT EXISTS lineage_up ON lineage_edges (upstream);
CREATE TABLE IF NOT EXISTS source_observations (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, content_hash TEXT,
    observed_at REAL, changed_at REAL
);
CREATE TABLE IF NOT EXISTS check_results (
    materialization_id TEXT, run_id TEXT, asset TEXT NOT NULL, check_name TEXT NOT NULL,
    severity TEXT, status TEXT NOT NULL, failing_rows INTEGER, sample TEXT, message TEXT,
    checked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_asset ON check_results (asset, checked_at);
CREATE TABLE IF NOT EXISTS column_lineage (
    asset TEXT PRIMARY KEY, cache_key TEXT, materialization_id TEXT, computed_at REAL,
    unresolved TEXT, data TEXT
);
CREATE TABLE IF NOT EXISTS column_edges (
    asset TEXT NOT NULL, column_name TEXT NOT NULL, position INTEGER NOT NULL,
    edge TEXT NOT NULL, source_kind TEXT NOT NULL, source TEXT NOT NULL,
    source_column TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS column_edges_asset ON column_edges (asset);
CREATE INDEX IF NOT EXISTS column_edges_source ON column_edges (source, source_column);
CREATE TABLE IF NOT EXISTS column_versions (
    materialization_id TEXT PRIMARY KEY, asset TEXT NOT NULL, versions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_schemas (
    key TEXT PRIMARY KEY, columns TEXT, error TEXT, observed_at REAL
);
"""

# Columns added after the first release: (table, column, declaration), added on open.
ADDED_COLUMNS = (
    ("materializations", "partition", "TEXT"),
    ("materializations", "warehouse_schema", "TEXT"),
    ("source_observations", "ctime_ns", "INTEGER"),
    ("source_observations", "inode", "INTEGER"),
)

_MAT_COLUMNS = (
    "id, run_id, asset, attempt, status, started_at, ended_at, row_count, columns, "
    "code_fingerprint, upstream_versions, source_versions, data_version, error, traceback, "
    "partition, warehouse_schema"
)


def _mat_from_row(row: sqlite3.Row | tuple[Any, ...]) -> MaterializationRecord:
    (
        mid,
        run_id,
        asset,
        attempt,
        status,
        started,
        ended,
        rows,
        cols,
        fp,
        ups,
        srcs,
        dv,
        err,
        tb,
        partition,
        schema,
    ) = tuple(row)
    # One JSON document for the three columns: a snapshot decodes thousands of rows.
    columns, upstream_versions, source_versions = json.loads(
        f"[{cols or '[]'},{ups or '{}'},{srcs or '{}'}]"
    )
    return MaterializationRecord(
        id=mid,
        run_id=run_id,
        asset=asset,
        attempt=attempt,
        status=status,
        started_at=started,
        ended_at=ended,
        row_count=rows,
        columns=tuple(map(tuple, columns)),  # JSON gives [name, type] strings
        code_fingerprint=fp or "",
        upstream_versions=upstream_versions,
        source_versions=source_versions,
        data_version=dv,
        error=err,
        traceback=tb,
        partition=partition,
        schema=schema,
    )


def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
    run_id, trigger, selection, status, started, ended, pid, counts, message = row
    return RunRecord(
        run_id=run_id,
        trigger=trigger,
        selection=selection or "",
        status=status,
        started_at=started,
        ended_at=ended,
        pid=pid,
        counts=json.loads(counts) if counts else {},
        message=message,
    )


_PERMISSION = ("readonly database", "unable to open database file", "permission denied")
_DAMAGED = ("file is not a database", "malformed", "corrupt")
PERMISSION_HINT = (
    "give this user write access to the .assets/ folder and the files in it (see "
    "'ls -l .assets'), or run the command as the user who owns the project; nothing is lost"
)


FULL_HINT = (
    "free disk space on the drive that holds .assets/, then run the command again; the "
    "next command records what a run had committed (nothing is half-written)"
)


def catalog_error(error: BaseException, path: Path, doing: str) -> CatalogError:
    """A clear error for a SQLite failure on the catalog at ``path`` while ``doing``
    (``open``, ``write``, ``read``): what happened, where, and what to do."""
    text = str(error)
    lower = text.lower()
    if any(marker in lower for marker in _PERMISSION):
        return CatalogError(
            f"cannot {doing} the catalog: permission denied ({text})",
            path=str(path),
            hint=PERMISSION_HINT,
        )
    if "disk is full" in lower or "no space left" in lower:
        return CatalogError(
            f"cannot {doing} the catalog: the disk is full ({text})",
            path=str(path),
            hint=FULL_HINT,
        )
    if any(marker in lower for marker in _DAMAGED):
        return CatalogError(
            f"the catalog is damaged: {text}",
            path=str(path),
            hint="restore .assets/catalog.sqlite from a backup, or move the .assets/ folder "
            "away to start a new catalog (the run history in it is lost)",
        )
    return CatalogError(f"cannot {doing} the catalog: {text}", path=str(path))


def check_state_folder(folder: Path) -> None:
    """Create the ``.assets/`` folder, or say clearly why it cannot be used."""
    if folder.exists() and not folder.is_dir():
        raise CatalogError(
            f"{folder.name} is a file, not a folder",
            path=str(folder),
            hint=f"move the file away; the tool keeps its catalog, lock and logs in the "
            f"{folder.name}/ folder and creates it when it is missing",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CatalogError(
            f"cannot create the folder {folder.name}: {e.strerror}",
            path=str(folder),
            hint="give this user write access to the project folder, or run the command "
            "as the user who owns the project",
        ) from e


def _needs_migration(conn: sqlite3.Connection) -> bool:
    """Whether the schema lacks anything (a read-only check: a catalog that is complete
    is never written to just by opening it)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    wanted = set(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", SCHEMA))
    if not wanted | {"mat_partition"} <= tables:
        return True
    for table, column, _ in ADDED_COLUMNS:
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            return True
    return conn.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is None


def _migrate(conn: sqlite3.Connection) -> None:
    # executescript commits on its own; every statement is idempotent.
    conn.executescript(SCHEMA)
    for table, column, declaration in ADDED_COLUMNS:
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS mat_partition ON materializations "
        "(asset, partition, started_at)"
    )
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        target, timeout=30, check_same_thread=False, isolation_level=None, uri=uri
    )
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def open_sqlite(
    path: Path, prepare: Callable[[sqlite3.Connection], None]
) -> tuple[sqlite3.Connection, bool]:
    """Open the catalog file for writing and ``prepare`` it (create what is missing);
    ``(connection, writable)``.

    When this user cannot write the file or its folder, it is opened read-only (and,
    when the folder cannot hold SQLite's shared-memory file either, as an immutable
    file): readers work, and a write raises a CatalogError that says why.
    """
    check_state_folder(path.parent)
    try:
        conn = _connect(str(path))
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        prepare(conn)
        # SQLite opens a file it cannot write read-only without a word; WAL mode also
        # needs the folder (for its -wal and -shm files).
        return conn, os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    except sqlite3.Error as e:
        error = catalog_error(e, path, "open")
        if error.hint != PERMISSION_HINT or not path.is_file():
            raise error from e
    base = path.resolve().as_uri()
    for uri in (f"{base}?mode=ro", f"{base}?immutable=1"):
        try:
            conn = _connect(uri, uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            continue
        return conn, False
    raise error


class Catalog:
    """The metadata store. Thread-safe within a process; many processes may read.

    A catalog this user cannot write is opened read-only (``writable`` is False, see
    :func:`open_sqlite`).
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._lock = threading.RLock()

        def prepare(conn: sqlite3.Connection) -> None:
            if not readonly and _needs_migration(conn):
                _migrate(conn)

        self._conn, self.writable = open_sqlite(path, prepare)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; a SQLite failure becomes a CatalogError that
        says what happened (permission denied, disk full, damaged)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as e:
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolled back already (a full disk does)
                if isinstance(e, sqlite3.Error):
                    raise catalog_error(e, self.path, "write") from e
                raise

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, tuple(params)).fetchall())
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []
                raise catalog_error(e, self.path, "read") from e

    # ---- runs -------------------------------------------------------------------------

    def start_run(self, run_id: str, *, trigger: str, selection: str, pid: int) -> None:
        """Record a run as started (status ``running``)."""
        with self._write() as c:
            c.execute(
                "INSERT INTO runs (run_id, trigger, selection, status, started_at, pid) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                (run_id, trigger, selection, time.time(), pid),
            )

    def finish_run(
        self, run_id: str, *, status: str, counts: dict[str, int], message: str | None = None
    ) -> None:
        """Record a run's end, its status and its counts by asset status."""
        with self._write() as c:
            c.execute(
                "UPDATE runs SET status = ?, ended_at = ?, counts = ?, message = ? "
                "WHERE run_id = ?",
                (status, time.time(), json.dumps(counts, sort_keys=True), message, run_id),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        rows = self._read(
            "SELECT run_id, trigger, selection, status, started_at, ended_at, pid, counts, "
            "message FROM runs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [_run_from_row(r) for r in rows]

    def run(self, run_id: str) -> RunRecord | None:
        """One run by id (a unique prefix is enough), or None."""
        found = self._runs_with_prefix(run_id, 2)
        return found[0] if len(found) == 1 else None

    def find_run(self, prefix: str) -> RunRecord:
        """The run whose id starts with ``prefix``; a SelectionError that says so when
        none does, or when several do (naming a few)."""
        found = self._runs_with_prefix(prefix, 6)
        if len(found) == 1:
            return found[0]
        if not found:
            raise SelectionError(f"no run id starts with '{prefix}'", hint="see 'assets runs'")
        (total,) = self._read(
            "SELECT count(*) FROM runs WHERE substr(run_id, 1, ?) = ?", (len(prefix), prefix)
        )[0]
        shown = ", ".join(r.run_id for r in found[:5])
        more = f" and {total - 5} more" if total > 5 else ""
        raise SelectionError(
            f"run id '{prefix}' is ambiguous: {total} runs start with it ({shown}{more})",
            hint="give more of the run id; see 'assets runs'",
        )

    def _runs_with_prefix(self, prefix: str, limit: int) -> list[RunRecord]:
        # substr, not LIKE: '_' and '%' in what was typed are not wildcards.
        rows = self._read(
            "SELECT run_id, trigger, selection, status, started_at, ended_at, pid, counts, "
            "message FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY started_at DESC LIMIT ?",
            (len(prefix), prefix, limit),
        )
        return [_run_from_row(r) for r in rows]

    def unfinished_runs(self) -> list[RunRecord]:
        """Runs still marked running (live, or left behind by a dead process)."""
        rows = self._read(
            "SELECT run_id, trigger, selection, status, started_at, ended_at, pid, counts, "
            "message FROM runs WHERE status = 'running'"
        )
        return [_run_from_row(r) for r in rows]

    # ---- materializations -------------------------------------------------------------

    def start_materialization(self, record: MaterializationRecord) -> None:
        """Insert an attempt before it runs, with everything needed to reconcile it later."""
        self._insert_mat(record)

    def _insert_mat(self, r: MaterializationRecord) -> None:
        self.save_materializations([r])

    def save_materializations(self, records: Iterable[MaterializationRecord]) -> None:
        """Insert or replace several attempts in one transaction (partitions of a batch)."""
        with self._write() as c:
            for r in records:
                self._insert_one(c, r)

    @classmethod
    def _insert_one(cls, c: sqlite3.Connection, r: MaterializationRecord) -> None:
        c.execute(
            f"INSERT OR REPLACE INTO materializations ({_MAT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.id,
                r.run_id,
                r.asset,
                r.attempt,
                r.status,
                r.started_at,
                r.ended_at,
                r.row_count,
                json.dumps([list(col) for col in r.columns]),
                r.code_fingerprint,
                json.dumps(r.upstream_versions, sort_keys=True),
                json.dumps(r.source_versions, sort_keys=True),
                r.data_version,
                r.error,
                r.traceback,
                r.partition,
                r.schema,
            ),
        )
        cls._update_state(c, r)

    @staticmethod
    def _update_state(c: sqlite3.Connection, r: MaterializationRecord) -> None:
        if r.partition is not None:
            return  # partition state lives in ranges (partitions/store.py), not here
        if r.status == SUCCESS:
            c.execute(
                "INSERT INTO asset_state (asset, last_success_id, last_status, last_error) "
                "VALUES (?, ?, ?, NULL) ON CONFLICT (asset) DO UPDATE SET "
                "last_success_id = excluded.last_success_id, last_status = excluded.last_status,"
                " last_error = NULL",
                (r.asset, r.id, r.status),
            )
        elif r.status in FAILURE_STATUSES:
            c.execute(
                "INSERT INTO asset_state (asset, last_status, last_error) VALUES (?, ?, ?) "
                "ON CONFLICT (asset) DO UPDATE SET last_status = excluded.last_status, "
                "last_error = excluded.last_error",
                (r.asset, r.status, (r.error or "").splitlines()[0] if r.error else None),
            )

    def finish_materialization(self, record: MaterializationRecord) -> None:
        """Store the outcome of an attempt (replacing its ``running`` row)."""
        self._insert_mat(record)

    def record_skipped(self, records: Iterable[MaterializationRecord]) -> None:
        """Store assets that a run skipped or did not start (they keep their old state)."""
        rows = list(records)
        if not rows:
            return
        with self._write() as c:
            c.executemany(
                f"INSERT OR REPLACE INTO materializations ({_MAT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL, NULL, NULL, ?, NULL, ?, ?)",
                [
                    (
                        r.id,
                        r.run_id,
                        r.asset,
                        r.attempt,
                        r.status,
                        r.started_at,
                        r.ended_at,
                        r.code_fingerprint,
                        r.error,
                        r.partition,
                        r.schema,
                    )
                    for r in rows
                ],
            )

    def materializations_of_run(self, run_id: str) -> list[MaterializationRecord]:
        """Every attempt of a run, in start order."""
        rows = self._read(
            f"SELECT {_MAT_COLUMNS} FROM materializations WHERE run_id = ? "
            "ORDER BY started_at, asset, attempt",
            (run_id,),
        )
        return [_mat_from_row(r) for r in rows]

    def materializations_by_id(self, ids: Iterable[str]) -> dict[str, MaterializationRecord]:
        """Attempts by id (ids the catalog does not know are left out)."""
        wanted = sorted(set(ids))
        out: dict[str, MaterializationRecord] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._read(
                f"SELECT {_MAT_COLUMNS} FROM materializations "
                f"WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            out.update((r.id, r) for r in map(_mat_from_row, rows))
        return out

    def running_materializations(self) -> list[MaterializationRecord]:
        rows = self._read(f"SELECT {_MAT_COLUMNS} FROM materializations WHERE status = 'running'")
        return [_mat_from_row(r) for r in rows]

    def history(self, asset: str, limit: int = 20) -> list[MaterializationRecord]:
        """An asset's attempts, newest first."""
        rows = self._read(
            f"SELECT {_MAT_COLUMNS} FROM materializations WHERE asset = ? "
            "ORDER BY started_at DESC, attempt DESC LIMIT ?",
            (asset, limit),
        )
        return [_mat_from_row(r) for r in rows]

    def snapshot(self, only: Iterable[str] | None = None) -> CatalogSnapshot:
        """The last success and last status of every asset (of ``only`` when given)."""
        query = (
            "SELECT s.asset, s.last_status, s.last_error, "
            + ", ".join(f"m.{c.strip()}" for c in _MAT_COLUMNS.split(","))
            + " FROM asset_state s LEFT JOIN materializations m ON m.id = s.last_success_id"
        )
        if only is None:
            rows = self._read(query)
        else:
            wanted, rows = sorted(only), []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows += self._read(f"{query} WHERE s.asset IN ({marks})", chunk)
        assets: dict[str, AssetHistory] = {}
        for row in rows:
            asset, last_status, last_error, *mat = row
            success = _mat_from_row(tuple(mat)) if mat[0] is not None else None
            assets[asset] = AssetHistory(success, last_status, last_error)
        return CatalogSnapshot(assets)

    # ---- checks -----------------------------------------------------------------------

    def record_checks(
        self,
        asset: str,
        results: Iterable[CheckResult],
        *,
        run_id: str | None = None,
        materialization_id: str | None = None,
    ) -> None:
        """Store the results of checks of ``asset`` (from a build, or ``assets check``)."""
        now = time.time()
        rows = [
            (
                materialization_id,
                run_id,
                asset,
                r.check.label,
                r.check.severity,
                r.status,
                r.failing_rows,
                json.dumps(r.sample, default=str),
                r.message,
                now,
            )
            for r in results
        ]
        if not rows:
            return
        with self._write() as c:
            c.executemany(
                "INSERT INTO check_results (materialization_id, run_id, asset, check_name, "
                "severity, status, failing_rows, sample, message, checked_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def latest_checks(self, asset: str) -> list[dict[str, Any]]:
        """The most recent result of each check of ``asset``."""
        rows = self._read(
            "SELECT check_name, severity, status, failing_rows, sample, message, checked_at, "
            "run_id FROM check_results c WHERE asset = ? AND checked_at = (SELECT "
            "max(checked_at) FROM check_results d WHERE d.asset = c.asset AND "
            "d.check_name = c.check_name) ORDER BY check_name",
            (asset,),
        )
        keys = (
            "check",
            "severity",
            "status",
            "failing_rows",
            "sample",
            "message",
            "checked_at",
            "run_id",
        )
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["sample"] = json.loads(item["sample"]) if item["sample"] else None
            out.append(item)
        return out

    # ---- graph and sources ------------------------------------------------------------

    def graph_fingerprint(self) -> str | None:
        return self.meta_value("graph_fingerprint")

    def save_graph(
        self,
        assets: Iterable[tuple[str, str, str, str, dict[str, Any]]],
        edges: Iterable[tuple[str, str, str]],
        fingerprint: str,
    ) -> None:
        """Replace the stored asset list and lineage edges (skipped when unchanged)."""
        if self.graph_fingerprint() == fingerprint:
            return
        with self._write() as c:
            c.execute("DELETE FROM assets")
            c.execute("DELETE FROM lineage_edges")
            c.executemany(
                "INSERT INTO assets (name, kind, path, fingerprint, info) VALUES (?, ?, ?, ?, ?)",
                [(n, k, p, f, json.dumps(i, default=str)) for n, k, p, f, i in assets],
            )
            c.executemany(
                "INSERT OR IGNORE INTO lineage_edges (downstream, upstream, kind) VALUES (?, ?, ?)",
                list(edges),
            )
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('graph_fingerprint', ?)",
                (fingerprint,),
            )

    def lineage_edges(self) -> list[tuple[str, str, str]]:
        rows = self._read("SELECT downstream, upstream, kind FROM lineage_edges ORDER BY 1, 2, 3")
        return [(str(d), str(u), str(k)) for d, u, k in rows]

    def source_observations(self) -> dict[str, PreviousObservation]:
        """path -> the file's stat key, content hash and times, as last observed."""
        from .sources import PreviousObservation

        rows = self._read(
            "SELECT path, size, mtime_ns, ctime_ns, inode, content_hash, changed_at, "
            "observed_at FROM source_observations"
        )
        out = {}
        for path, size, mtime, ctime, inode, digest, changed_at, observed_at in rows:
            key = (size, mtime, ctime, inode) if None not in (size, mtime, ctime, inode) else None
            out[path] = PreviousObservation(key, digest, changed_at, observed_at)
        return out

    def save_source_observations(self, observations: Iterable[FileObservation]) -> None:
        """Store each file's stat key, content hash and when its content last changed."""
        now = time.time()
        items = [(o.path, *o.key, o.content_hash, now, o.changed_at) for o in observations]
        if not items:
            return
        with self._write() as c:
            c.executemany(
                "INSERT OR REPLACE INTO source_observations (path, size, mtime_ns, ctime_ns, "
                "inode, content_hash, observed_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                items,
            )

    def meta_value(self, key: str) -> str | None:
        """A value of the ``meta`` table (small facts: graph fingerprint, warehouse state)."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def built_assets(self, names: Iterable[str]) -> dict[str, tuple[str, float | None, str | None]]:
        """Of ``names`` (lower-cased), those the catalog recorded a successful build of:
        lower name -> (asset name as recorded, end of its last success, its file when
        the saved graph still lists it)."""
        wanted = sorted({n.lower() for n in names})
        out: dict[str, tuple[str, float | None, str | None]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._read(
                "SELECT m.asset, max(m.ended_at), (SELECT a.path FROM assets a WHERE "
                "a.name = m.asset) FROM materializations m WHERE m.status = 'success' "
                f"AND lower(m.asset) IN ({marks}) GROUP BY m.asset ORDER BY 2",
                chunk,
            )
            out.update((str(a).lower(), (str(a), ended, path)) for a, ended, path in rows)
        return out

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ---- column lineage (docs/column-lineage.md) --------------------------------------

    def column_lineage(self, asset: str) -> list[tuple[str, list[dict[str, str]]]]:
        """The stored column lineage of ``asset``: ``(column, refs)`` pairs in output order.

        Each ref is ``{"asset": source, "column": ..., "kind": "asset" | "table" | "file",
        "edge": "value" | "filter"}``, value edges first; ``dict()`` of the list maps each
        column to its refs. Empty when nothing is stored or lineage is unresolved (see
        :meth:`column_lineage_info` for the reason, types and fingerprints).
        """
        rows = self._read(
            "SELECT column_name, position, edge, source_kind, source, source_column "
            "FROM column_edges WHERE asset = ? ORDER BY position, edge DESC, source, "
            "source_column",
            (asset,),
        )
        info = self.column_lineage_info(asset)
        out: dict[str, list[dict[str, str]]] = {}
        for column in (info or {}).get("columns", ()):
            out[column["name"]] = []
        for column, _, edge, kind, source, source_column in rows:
            out.setdefault(column, []).append(
                {"asset": source, "column": source_column, "kind": kind, "edge": edge}
            )
        return list(out.items())

    def column_lineage_info(self, asset: str) -> dict[str, Any] | None:
        """Everything stored about ``asset``'s columns: ``{"asset", "kind", "columns":
        [{"name", "type", "value", "filter", "fingerprint", ...}], "unresolved",
        "materialization_id", "computed_at", ...}``, or None."""
        rows = self._read(
            "SELECT data, materialization_id, computed_at FROM column_lineage WHERE asset = ?",
            (asset,),
        )
        if not rows or rows[0][0] is None:
            return None
        data: dict[str, Any] = json.loads(rows[0][0])
        data["materialization_id"], data["computed_at"] = rows[0][1], rows[0][2]
        return data

    def stored_column_lineage(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """asset -> (the key its stored lineage was computed for, its data), in one read."""
        rows = self._read("SELECT asset, cache_key, data FROM column_lineage")
        return {a: (k or "", json.loads(d)) for a, k, d in rows if d}

    def save_column_lineage(
        self,
        items: Iterable[tuple[str, str, str | None, dict[str, Any]]],
    ) -> None:
        """Replace the lineage of assets: ``(asset, cache_key, materialization_id, data)``
        where ``data`` is the JSON shape of ``column_lineage_info`` (``columns`` with
        ``name``, ``value`` and ``filter`` lists of ``{kind, source, column}``)."""
        batch = list(items)
        if not batch:
            return
        now = time.time()
        with self._write() as c:
            for asset, key, mid, data in batch:
                c.execute("DELETE FROM column_edges WHERE asset = ?", (asset,))
                c.execute(
                    "INSERT OR REPLACE INTO column_lineage (asset, cache_key, "
                    "materialization_id, computed_at, unresolved, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (asset, key, mid, now, data.get("unresolved"), json.dumps(data)),
                )
                c.executemany(
                    "INSERT INTO column_edges (asset, column_name, position, edge, source_kind, "
                    "source, source_column) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (asset, col["name"], i, edge, r["kind"], r["source"], r["column"])
                        for i, col in enumerate(data.get("columns", ()))
                        for edge in ("value", "filter")
                        for r in col.get(edge, ())
                    ],
                )

    def column_versions(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Column versions recorded with materializations: id -> what was saved."""
        wanted = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._read(
                "SELECT materialization_id, versions FROM column_versions WHERE "
                f"materialization_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            out.update({m: json.loads(v) for m, v in rows})
        return out

    def save_column_versions(
        self, materialization_id: str, asset: str, versions: dict[str, Any]
    ) -> None:
        """Record the column versions of a successful materialization."""
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO column_versions (materialization_id, asset, versions) "
                "VALUES (?, ?, ?)",
                (materialization_id, asset, json.dumps(versions, sort_keys=True)),
            )

    def source_schema(self, key: str) -> tuple[list[tuple[str, str]] | None, str | None] | None:
        """A cached source schema: (columns, error), or None when never described."""
        rows = self._read("SELECT columns, error FROM source_schemas WHERE key = ?", (key,))
        if not rows:
            return None
        columns, error = rows[0]
        return ([(str(a), str(b)) for a, b in json.loads(columns)] if columns else None), error

    def save_source_schema(
        self, key: str, columns: Iterable[tuple[str, str]] | None, error: str | None
    ) -> None:
        value = json.dumps([list(c) for c in columns]) if columns is not None else None
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO source_schemas (key, columns, error, observed_at) "
                "VALUES (?, ?, ?, ?)",
                (key, value, error, time.time()),
            )

    # ---- crash recovery ---------------------------------------------------------------

    def add_run_notes(self, run_id: str, lines: Iterable[str]) -> None:
        """Append lines to a run's message (what a repair found after it ended)."""
        text = "\n".join(lines)
        if not text:
            return
        with self._write() as c:
            c.execute(
                "UPDATE runs SET message = CASE WHEN message IS NULL OR message = '' THEN ? "
                "ELSE message || char(10) || ? END WHERE run_id = ?",
                (text, text, run_id),
            )

    def mark_run_ended(
        self,
        run_id: str,
        status: str,
        message: str,
        *,
        counts: dict[str, int] | None = None,
        ended_at: float | None = None,
    ) -> None:
        """Close a run left ``running`` by a dead process (ended: when last seen)."""
        with self._write() as c:
            c.execute(
                "UPDATE runs SET status = ?, ended_at = coalesce(ended_at, ?), message = ?, "
                "counts = coalesce(?, counts) WHERE run_id = ?",
                (
                    status,
                    ended_at if ended_at is not None else time.time(),
                    message,
                    json.dumps(counts, sort_keys=True) if counts is not None else None,
                    run_id,
                ),
            )
