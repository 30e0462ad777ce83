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
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog_columns import ColumnTables
from .catalog_store import (
    catalog_error,
    migrate,
    needs_migration,
    open_sqlite,
)
from .errors import SelectionError

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


class Catalog(ColumnTables):
    """The metadata store. Thread-safe within a process; many processes may read.

    A catalog this user cannot write is opened read-only (``writable`` is False, see
    :func:`open_sqlite`).
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._lock = threading.RLock()

        def prepare(conn: sqlite3.Connection) -> None:
            if not readonly and needs_migration(conn):
                migrate(conn)

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
