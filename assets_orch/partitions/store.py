"""The partition state store: ranges of partitions, not one row per partition.

Two tables in the catalog database (``.assets/catalog.sqlite``), created on first use:

``partition_ranges``
    one row per maximal run of consecutive partitions (same asset, same static key)
    that agree on everything staleness needs: the status of the last attempt, the
    code fingerprint of the last successful build, the versions of the unpartitioned
    upstreams and sources it consumed, the partitioned upstreams whose data changed
    since (``dirty``), and the last error.
``partition_assets``
    per partitioned asset: the layout signature (time column, grain, static
    dimensions) its rows were written with, the warehouse schema they were written to,
    its total row count, and a ``version`` that grows whenever any of its partitions'
    data changes.

Invalidation is pushed, not compared: when a partition's data changes, the partitions
of downstream assets that read it are marked ``dirty`` with the upstream's name (in
the same transaction); rebuilding them clears the mark. A partition rebuilt into
identical data marks nothing (early cutoff). Nothing in a row depends on *when* it was
built, so a backfill of a year is one row, and so are 8,760 hours built one by one by
hourly runs. Per-partition row counts and data versions are in ``materializations``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ..catalog_store import catalog_error, open_sqlite

SUCCESS, FAILED = "success", "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS partition_ranges (
    asset TEXT NOT NULL, static_key TEXT NOT NULL, first INTEGER NOT NULL,
    last INTEGER NOT NULL, status TEXT NOT NULL, fingerprint TEXT, consumed TEXT,
    dirty TEXT NOT NULL DEFAULT '', error TEXT,
    PRIMARY KEY (asset, static_key, first)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_assets (
    asset TEXT PRIMARY KEY, signature TEXT NOT NULL, rows INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0, updated_at REAL, warehouse_schema TEXT
);
"""
_COLUMNS = "status, fingerprint, consumed, dirty, error"


def _prepare(conn: sqlite3.Connection) -> None:
    """Create the tables, dropping the ranges of a pre-release layout (revisions; their
    assets read missing). Writes only when something is missing or old."""
    ranges = {r[1] for r in conn.execute("PRAGMA table_info(partition_ranges)")}
    assets = {r[1] for r in conn.execute("PRAGMA table_info(partition_assets)")}
    if ranges and "dirty" not in ranges:
        conn.execute("DROP TABLE partition_ranges")
        conn.execute("DROP TABLE IF EXISTS partition_assets")
        conn.execute("DROP TABLE IF EXISTS partition_revisions")
        ranges = assets = set()
    if assets and "warehouse_schema" not in assets:  # unknown until the next run
        conn.execute("ALTER TABLE partition_assets ADD COLUMN warehouse_schema TEXT")
    if not ranges or not assets:
        conn.executescript(SCHEMA)


@dataclass(frozen=True)
class RangeState:
    """What is known of every partition of one range.

    ``fingerprint`` and ``consumed`` describe the last *successful* build (None: the
    partition never succeeded); ``status`` is the outcome of the last attempt;
    ``dirty`` names the partitioned upstreams whose data changed since that build,
    comma-separated and sorted. ``consumed`` is canonical JSON, so that equal states
    compare equal.
    """

    status: str
    fingerprint: str | None = None
    consumed: str = "{}"
    dirty: str = ""
    error: str | None = None

    @property
    def built(self) -> bool:
        return self.fingerprint is not None

    def consumed_map(self) -> dict[str, str]:
        return _consumed(self.consumed)

    @property
    def dirty_names(self) -> tuple[str, ...]:
        return tuple(self.dirty.split(",")) if self.dirty else ()


_CONSUMED_CACHE: dict[str, dict[str, str]] = {}


def _consumed(text: str) -> dict[str, str]:
    found = _CONSUMED_CACHE.get(text)
    if found is None:
        found = json.loads(text) if text else {}
        if len(_CONSUMED_CACHE) > 4096:
            _CONSUMED_CACHE.clear()
        _CONSUMED_CACHE[text] = found
    return found


def consumed_json(versions: dict[str, str]) -> str:
    return json.dumps(versions, sort_keys=True, separators=(",", ":"))


Ranges = dict[str, list[tuple[int, int, RangeState]]]  # static key -> segments
Update = Callable[[RangeState | None], RangeState | None]


class PartitionStore:
    """Reads and writes partition ranges. Thread-safe; many processes may read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn, self.writable = open_sqlite(path, _prepare)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
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

    # ---- reading ----------------------------------------------------------------------

    def ranges(self, asset: str) -> Ranges:
        """Every stored range of ``asset`` by static key, sorted."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT static_key, first, last, {_COLUMNS} FROM partition_ranges "
                "WHERE asset = ? ORDER BY static_key, first",
                (asset,),
            ).fetchall()
        out: Ranges = {}
        states: dict[tuple[object, ...], RangeState] = {}
        for key, first, last, *fields in rows:
            signature = tuple(fields)
            state = states.get(signature)
            if state is None:
                state = states[signature] = _state(*fields)
            segments = out.get(key)
            if segments is None:
                segments = out[key] = []
            segments.append((first, last, state))
        return out

    def summary(self, asset: str) -> tuple[int, int, int, float | None]:
        """(data version counter, partitions ever built, total rows, last write time)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT coalesce(sum(last - first + 1), 0) FROM partition_ranges "
                "WHERE asset = ? AND fingerprint IS NOT NULL",
                (asset,),
            ).fetchone()
            info = self._conn.execute(
                "SELECT version, rows, updated_at FROM partition_assets WHERE asset = ?",
                (asset,),
            ).fetchone()
        version, rows, updated = (int(info[0]), int(info[1]), info[2]) if info else (0, 0, None)
        return version, int(row[0]), rows, updated

    def signature(self, asset: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT signature FROM partition_assets WHERE asset = ?", (asset,)
            ).fetchone()
        return row[0] if row else None

    def schema(self, asset: str) -> str | None:
        """The warehouse schema ``asset``'s partitions were written to (None: unknown)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT warehouse_schema FROM partition_assets WHERE asset = ?", (asset,)
            ).fetchone()
        return row[0] if row else None

    def assets(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT asset FROM partition_assets ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # ---- writing ----------------------------------------------------------------------

    def reset(self, asset: str, signature: str, schema: str | None = None) -> None:
        """Forget every range of ``asset`` (its table is rebuilt from scratch)."""
        with self._write() as c:
            c.execute("DELETE FROM partition_ranges WHERE asset = ?", (asset,))
            c.execute(
                "INSERT INTO partition_assets (asset, signature, rows, version, updated_at, "
                "warehouse_schema) VALUES (?, ?, 0, 1, ?, ?) ON CONFLICT (asset) DO UPDATE "
                "SET signature = excluded.signature, rows = 0, version = version + 1, "
                "updated_at = excluded.updated_at, warehouse_schema = excluded.warehouse_schema",
                (asset, signature, time.time(), schema),
            )

    def ensure(self, asset: str, signature: str, schema: str | None = None) -> None:
        """Register ``asset`` with its layout signature (and schema) if not known yet."""
        with self._write() as c:
            c.execute(
                "INSERT OR IGNORE INTO partition_assets (asset, signature, rows, updated_at, "
                "warehouse_schema) VALUES (?, ?, 0, ?, ?)",
                (asset, signature, time.time(), schema),
            )
            if schema is not None:  # recorded before schemas were: this run's is the one
                c.execute(
                    "UPDATE partition_assets SET warehouse_schema = ? WHERE asset = ? "
                    "AND warehouse_schema IS NULL",
                    (schema, asset),
                )

    def update(
        self,
        asset: str,
        changes: Iterable[tuple[str, int, int, Update]],
        *,
        rows_delta: int = 0,
        data_changed: bool = False,
        marks: Iterable[tuple[str, str, int, int, Update]] = (),
    ) -> None:
        """Apply ``(static_key, first, last, fn)`` changes to ``asset`` in one transaction.

        ``fn`` maps the old state of each stretch (None where nothing is stored) to the
        new one (None deletes). Neighbours with equal states are merged, so the table
        stays as small as the state allows. ``data_changed`` bumps the asset's version;
        ``marks`` are ``(asset, static_key, first, last, fn)`` changes to other assets
        (downstream invalidation), applied in the same transaction.
        """
        with self._write() as c:
            for key, lo, hi, fn in changes:
                self._apply(c, asset, key, lo, hi, fn)
            for other, key, lo, hi, fn in marks:
                self._apply(c, other, key, lo, hi, fn)
            c.execute(
                "UPDATE partition_assets SET rows = rows + ?, version = version + ?, "
                "updated_at = ? WHERE asset = ?",
                (rows_delta, 1 if data_changed else 0, time.time(), asset),
            )

    def _apply(
        self, c: sqlite3.Connection, asset: str, key: str, lo: int, hi: int, fn: Update
    ) -> None:
        old = c.execute(
            f"SELECT first, last, {_COLUMNS} FROM partition_ranges WHERE asset = ? AND "
            "static_key = ? AND first <= ? AND last >= ? AND first >= (SELECT "
            "coalesce(max(first), ?) FROM partition_ranges WHERE asset = ? AND static_key = ? "
            "AND first <= ?) ORDER BY first",
            (asset, key, hi + 1, lo - 1, lo - 1, asset, key, lo - 1),
        ).fetchall()
        olds = [(first, last, _state(*fields)) for first, last, *fields in old]
        pieces: list[tuple[int, int, RangeState]] = []
        for first, last, state in olds:  # what lies outside lo..hi stays as it was
            if first < lo:
                pieces.append((first, min(last, lo - 1), state))
            if last > hi:
                pieces.append((max(first, hi + 1), last, state))
        position = lo
        for first, last, state in olds:
            a, b = max(first, lo), min(last, hi)
            if a > b:
                continue
            if a > position:
                _add(pieces, position, a - 1, fn(None))
            _add(pieces, a, b, fn(state))
            position = b + 1
        if position <= hi:
            _add(pieces, position, hi, fn(None))
        pieces.sort(key=lambda p: p[0])
        merged: list[tuple[int, int, RangeState]] = []
        for piece in pieces:
            if merged and merged[-1][1] + 1 == piece[0] and merged[-1][2] == piece[2]:
                merged[-1] = (merged[-1][0], piece[1], piece[2])
            else:
                merged.append(piece)
        c.executemany(
            "DELETE FROM partition_ranges WHERE asset = ? AND static_key = ? AND first = ?",
            [(asset, key, row[0]) for row in old],
        )
        c.executemany(
            f"INSERT INTO partition_ranges (asset, static_key, first, last, {_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (asset, key, a, b, s.status, s.fingerprint, s.consumed, s.dirty, s.error)
                for a, b, s in merged
            ],
        )


def _state(
    status: str, fingerprint: str | None, consumed: str | None, dirty: str | None, error: str | None
) -> RangeState:
    return RangeState(status, fingerprint, consumed or "{}", dirty or "", error)


def _add(
    pieces: list[tuple[int, int, RangeState]], lo: int, hi: int, state: RangeState | None
) -> None:
    if state is not None and lo <= hi:
        pieces.append((lo, hi, state))


def succeeded(*, fingerprint: str, consumed: str) -> Update:
    """The update for a successful build: what it consumed; no upstream change pending."""
    state = RangeState(SUCCESS, fingerprint, consumed, "", None)
    return lambda old: state


def failed(error: str | None) -> Update:
    """The update for a failed attempt: the last success (if any) is kept."""
    first_line = (error or "").strip().splitlines()[0][:200] if error else None

    def fn(old: RangeState | None) -> RangeState:
        if old is None:
            return RangeState(FAILED, error=first_line)
        return replace(old, status=FAILED, error=first_line)

    return fn


def marked(upstream: str) -> Update:
    """The update for built partitions whose upstream ``upstream`` changed its data."""

    def fn(old: RangeState | None) -> RangeState | None:
        if old is None or not old.built or upstream in old.dirty_names:
            return old
        return replace(old, dirty=",".join(sorted((*old.dirty_names, upstream))))

    return fn


def verified(inputs: dict[str, str]) -> Update:
    """The update for partitions whose inputs changed but whose result would not."""

    def fn(old: RangeState | None) -> RangeState | None:
        if old is None or not old.built:
            return old
        return replace(old, consumed=consumed_json({**old.consumed_map(), **inputs}))

    return fn
