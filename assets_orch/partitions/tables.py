"""The DuckDB side of partitions: atomic partition writes, incremental appends, probes.

Beside ``warehouse.py`` this is the only module that sends SQL to DuckDB. Each batch of
partitions is written in one transaction::

    CREATE TEMP TABLE new AS <query with $start, $end, $region bound>
    -- refuse rows outside the batch's partitions, and a changed column list
    DELETE FROM t WHERE order_date >= $start AND order_date < $end AND region = $region
    INSERT INTO t BY NAME SELECT * FROM new
    -- checks on the new rows; bookkeeping rows (id, row count, row hash) per partition
    COMMIT

so each partition is either its old rows or its complete new rows, never half. The
bookkeeping table ``_assets_orch.partitions`` (in the warehouse, written in the same
transaction) says which materialization wrote each partition: after a crash, the next
writer reconciles the catalog from it, as the table COMMENT does for whole tables.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..checks import CheckResult, quote
from ..warehouse import COMMENT_PREFIX, BuildCancelled, BuildResult, ChecksFailed, run_checks

if TYPE_CHECKING:
    import duckdb

    from ..metadata import CheckSpec
    from ..warehouse import Warehouse
    from .definition import PartitionsDef, TimeDim

BOOK_SCHEMA = "_assets_orch"
BOOK = f"{BOOK_SCHEMA}.partitions"
_CREATE_LOCK = threading.Lock()  # tables are created once, outside the parallel batches


class PartitionRowsError(Exception):
    """A batch's query returned rows that belong to other partitions."""


@dataclass(frozen=True)
class PartitionWrite:
    """One partition written by a batch: its row count and data version, and before."""

    index: int
    row_count: int
    data_version: str
    previous: str | None  # data version it replaced (None: never built)
    previous_rows: int


@dataclass(frozen=True)
class BatchResult:
    """What a committed batch wrote."""

    columns: tuple[tuple[str, str], ...]
    partitions: tuple[PartitionWrite, ...]
    checks: tuple[CheckResult, ...]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def data_version(columns: tuple[tuple[str, str], ...], count: int, row_hash: str) -> str:
    """A partition's data version: columns, row count and order-independent row hash."""
    return _digest(f"{columns}|{count}|{row_hash}")


def index_sql(time: TimeDim, column: str) -> str:
    """DuckDB expression for the partition index of ``column`` (see definition.py)."""
    col = f"{quote(column)}"
    if time.grain == "hour":
        return f"floor(epoch({col}::TIMESTAMP) / 3600)::BIGINT"
    if time.grain == "day":
        return f"({col}::DATE - DATE '1970-01-01')::BIGINT"
    if time.grain == "week":
        return f"floor(({col}::DATE - DATE '1970-01-05') / 7)::BIGINT"
    return f"((year({col}) - 1970) * 12 + month({col}) - 1)::BIGINT"


def _in_batch_sql(definition: PartitionsDef) -> str:
    """Predicate (with ``$start``, ``$end`` and static parameters) for a batch's rows."""
    parts = []
    if definition.time is not None:
        col = quote(definition.time.column)
        parts.append(f"{col} >= $start AND {col} < $end")
    for name, _ in definition.static:
        parts.append(f"{quote(name)}::VARCHAR = ${name}")
    return " AND ".join(parts) or "TRUE"


def _bind(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    from .params import placeholders

    used = placeholders(sql)
    return {k: v for k, v in values.items() if k in used}


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    """Create the bookkeeping table (before any parallel batch runs)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOK_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {BOOK} (asset VARCHAR NOT NULL, static_key VARCHAR NOT "
        "NULL, idx BIGINT NOT NULL, materialization_id VARCHAR, data_version VARCHAR, "
        "row_count BIGINT, row_hash HUGEINT, built_at DOUBLE)"
    )


def drop_partitioned(warehouse: Warehouse, name: str) -> None:
    """Drop a partitioned or incremental table and its bookkeeping (a full refresh)."""
    con = warehouse.connect()
    con.execute(f"DROP TABLE IF EXISTS {warehouse.qualified(name)}")
    ensure_bookkeeping(con)
    con.execute(f"DELETE FROM {BOOK} WHERE asset = ?", [name])


def layout_of(warehouse: Warehouse, name: str) -> tuple[bool, str | None]:
    """Whether table ``name`` exists, and the layout signature its COMMENT declares
    (None: a table not written as partitions)."""
    row = (
        warehouse.reading()
        .execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND lower(table_name) = "
            "lower(?) AND database_name = current_database()",
            [warehouse.schema, name],
        )
        .fetchone()
    )
    if row is None:
        return False, None
    comment = row[0] or ""
    if not comment.startswith(COMMENT_PREFIX):
        return True, None
    try:
        value = json.loads(comment[len(COMMENT_PREFIX) :]).get("partitioned")
    except (ValueError, AttributeError):
        return True, None
    return True, value if isinstance(value, str) else None


def committed(warehouse: Warehouse, materialization_ids: Iterable[str]) -> dict[str, tuple]:
    """Bookkeeping rows written by these materializations: id -> (row_count, version)."""
    ids = list(materialization_ids)
    con = warehouse.reading()
    if not ids or not _has_bookkeeping(con):
        return {}
    rows = con.execute(
        f"SELECT materialization_id, row_count, data_version FROM {BOOK} "
        "WHERE list_contains(?, materialization_id)",
        [ids],
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _has_bookkeeping(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = "
        "'partitions' AND database_name = current_database()",
        [BOOK_SCHEMA],
    ).fetchone()
    return bool(row and row[0])


def _table_exists(cur: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND lower(table_name) = "
        "lower(?) AND database_name = current_database()",
        [warehouse.schema, name],
    ).fetchone()
    return bool(row and row[0])


def write_batch(
    warehouse: Warehouse,
    cur: duckdb.DuckDBPyConnection,
    *,
    name: str,
    sql: str,
    definition: PartitionsDef,
    static: tuple[str, ...],
    first: int,
    last: int,
    materialization_ids: dict[int, str],
    checks: Iterable[CheckSpec],
    may_commit: Callable[[], bool] = lambda: True,
    now: float = 0.0,
) -> BatchResult:
    """Write partitions ``first..last`` of static key ``static`` in one transaction."""
    table = warehouse.qualified(name)
    body = sql.strip().rstrip(";")
    params = definition.params_for(static, first, last)
    static_key = definition.static_label(static)
    new = "__assets_orch_new"
    with _CREATE_LOCK:
        if not _table_exists(cur, warehouse, name):
            cur.execute(
                f"CREATE TABLE {table} AS SELECT * FROM (\n{body}\n) LIMIT 0",
                _bind(body, params),
            )
            # Managed by assets_orch; which materialization wrote each partition is in BOOK.
            note = COMMENT_PREFIX + json.dumps({"partitioned": definition.signature})
            cur.execute(f"COMMENT ON TABLE {table} IS {_literal(note)}")
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {new} AS\n{body}\n", _bind(body, params))
        where = _in_batch_sql(definition)
        guard = f"SELECT count(*) FROM {new} WHERE NOT coalesce({where}, false)"
        outside = cur.execute(guard, _bind(guard, params)).fetchone()
        if outside and outside[0]:
            raise PartitionRowsError(
                f"{outside[0]} row(s) of the query fall outside partition "
                f"{definition.range_key(static, first, last)}: filter the query with "
                + ", ".join(f"${p}" for p in definition.params)
            )
        columns = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {new}").fetchall())
        existing = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {table}").fetchall())
        if sorted(columns) != sorted(existing):
            raise PartitionRowsError(
                f"the query's columns changed ({_diff(existing, columns)}); earlier "
                f"partitions of {name} have the old ones: rebuild all of them with "
                f"'assets materialize {name} --full-refresh'"
            )
        stats = _partition_stats(cur, new, definition)
        previous = {
            int(idx): (version, int(rows or 0))
            for idx, version, rows in cur.execute(
                f"SELECT idx, data_version, row_count FROM {BOOK} WHERE asset = ? AND "
                "static_key = ? AND idx BETWEEN ? AND ?",
                [name, static_key, first, last],
            ).fetchall()
        }
        delete = f"DELETE FROM {table} WHERE {where}"
        cur.execute(delete, _bind(delete, params))
        cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {new}")
        results = run_checks(cur, new, checks)
        if any(r.blocking for r in results):
            raise ChecksFailed(results)
        writes = []
        book_rows = []
        for index in range(first, last + 1):
            count, row_hash = stats.get(index, (0, "0"))
            version = data_version(columns, count, row_hash)
            before = previous.get(index)
            writes.append(
                PartitionWrite(
                    index, count, version, before[0] if before else None, before[1] if before else 0
                )
            )
            book_rows.append(
                (name, static_key, index, materialization_ids[index], version, count, row_hash, now)
            )
        cur.execute(
            f"DELETE FROM {BOOK} WHERE asset = ? AND static_key = ? AND idx BETWEEN ? AND ?",
            [name, static_key, first, last],
        )
        cur.executemany(f"INSERT INTO {BOOK} VALUES (?, ?, ?, ?, ?, ?, ?::HUGEINT, ?)", book_rows)
        cur.execute(f"DROP TABLE {new}")
        if not may_commit():
            raise BuildCancelled("abandoned before commit")
        cur.execute("COMMIT")
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - interrupted cursors may refuse; DuckDB rolls back
            pass
        raise
    return BatchResult(columns, tuple(writes), tuple(results))


def _diff(old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...]) -> str:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    parts = [f"+{n} {t}" for n, t in added] + [f"-{n} {t}" for n, t in removed]
    return ", ".join(parts)


def _partition_stats(
    cur: duckdb.DuckDBPyConnection, table: str, definition: PartitionsDef
) -> dict[int, tuple[int, str]]:
    """Row count and order-independent row hash per partition index of ``table``."""
    index = index_sql(definition.time, definition.time.column) if definition.time else "0"
    rows = cur.execute(
        f"SELECT {index} AS idx, count(*), coalesce(sum(hash(__r)::HUGEINT), 0) "
        f"FROM {table} AS __r GROUP BY ALL"
    ).fetchall()
    return {int(idx): (int(n), str(h)) for idx, n, h in rows}


def probe_changed(
    warehouse: Warehouse,
    *,
    name: str,
    sql: str,
    definition: PartitionsDef,
    static: tuple[str, ...],
    first: int,
    last: int,
) -> set[int]:
    """Partitions of ``first..last`` whose query result now differs from what was built.

    One query over the whole span, grouped by partition, compared inside DuckDB with
    the row count and row hash recorded when each partition was written. Exact when
    the query restricted to a span equals the union of its partitions (a filter then
    per-row or per-partition work); see docs/partitions.md.
    """
    con = warehouse.reading()
    if not _has_bookkeeping(con):
        return set()
    body = sql.strip().rstrip(";")
    params = definition.params_for(static, first, last)
    index = index_sql(definition.time, definition.time.column) if definition.time else "0"
    query = (
        f"WITH __probe AS (SELECT {index} AS idx, count(*) AS n, "
        f"coalesce(sum(hash(__q)::HUGEINT), 0) AS h FROM (\n{body}\n) AS __q GROUP BY ALL), "
        f"__built AS (SELECT idx, row_count AS n, row_hash AS h FROM {BOOK} WHERE asset = "
        f"{_literal(name)} AND static_key = {_literal(definition.static_label(static))} "
        f"AND idx BETWEEN {int(first)} AND {int(last)}) "
        "SELECT b.idx FROM __built b LEFT JOIN __probe p ON p.idx = b.idx "
        "WHERE coalesce(p.n, 0) <> b.n OR coalesce(p.h, 0) <> b.h"
    )
    cur = warehouse.cursor()  # relative file paths resolve against the project root
    try:
        rows = cur.execute(query, _bind(body, params)).fetchall()
    finally:
        cur.close()
    return {int(r[0]) for r in rows}


def build_incremental(
    warehouse: Warehouse,
    cur: duckdb.DuckDBPyConnection,
    *,
    name: str,
    sql: str,
    cursor_column: str,
    full: bool,
    materialization_id: str,
    checks: Iterable[CheckSpec],
    may_commit: Callable[[], bool] = lambda: True,
) -> tuple[BuildResult, int]:
    """Append the rows past the table's max ``cursor_column`` (or rebuild when ``full``).

    Returns the build result (row count and data version of the whole table) and the
    number of rows appended. The data version is kept up to date from the running row
    count and row hash stored in the table COMMENT, so an append never re-reads old rows.
    """
    table = warehouse.qualified(name)
    body = sql.strip().rstrip(";")
    exists = _table_exists(cur, warehouse, name)
    new = "__assets_orch_new"
    cur.execute("BEGIN TRANSACTION")
    try:
        if full or not exists:
            cur.execute(
                f"CREATE OR REPLACE TABLE {table} AS\n{body}\n", _bind(body, {"cursor": None})
            )
            row = cur.execute(
                f"SELECT count(*), coalesce(sum(hash(__r)::HUGEINT), 0) FROM {table} AS __r"
            ).fetchone()
            count, total = (int(row[0]), int(row[1])) if row else (0, 0)
            appended = count
        else:
            top = cur.execute(f"SELECT max({quote(cursor_column)}) FROM {table}").fetchone()
            cursor_value = top[0] if top else None
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE {new} AS\n{body}\n",
                _bind(body, {"cursor": cursor_value}),
            )
            columns = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {new}").fetchall())
            existing = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {table}").fetchall())
            if sorted(columns) != sorted(existing):
                raise PartitionRowsError(
                    f"the query's columns changed ({_diff(existing, columns)}): rebuild with "
                    f"'assets materialize {name} --full-refresh'"
                )
            before = _running_totals(cur, warehouse, name, table)
            row = cur.execute(
                f"SELECT count(*), coalesce(sum(hash(__r)::HUGEINT), 0) FROM {new} AS __r"
            ).fetchone()
            appended, added = (int(row[0]), int(row[1])) if row else (0, 0)
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {new}")
            cur.execute(f"DROP TABLE {new}")
            count, total = before[0] + appended, before[1] + added
        columns = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {table}").fetchall())
        version = data_version(columns, count, str(total))
        results = run_checks(cur, table, checks)
        if any(r.blocking for r in results):
            raise ChecksFailed(results)
        comment = COMMENT_PREFIX + json.dumps(
            {
                "materialization": materialization_id,
                "data_version": version,
                "rows": count,
                "row_hash": str(total),
            }
        )
        cur.execute(f"COMMENT ON TABLE {table} IS {_literal(comment)}")
        if not may_commit():
            raise BuildCancelled("abandoned before commit")
        cur.execute("COMMIT")
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except Exception:  # noqa: BLE001
            pass
        raise
    return BuildResult(count, columns, version, tuple(results)), appended


def _running_totals(
    cur: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str, table: str
) -> tuple[int, int]:
    row = cur.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND lower(table_name) = "
        "lower(?) AND database_name = current_database()",
        [warehouse.schema, name],
    ).fetchone()
    comment = row[0] if row else None
    if comment and comment.startswith(COMMENT_PREFIX):
        try:
            data = json.loads(comment[len(COMMENT_PREFIX) :])
            return int(data["rows"]), int(data["row_hash"])
        except (ValueError, KeyError, TypeError):
            pass
    found = cur.execute(
        f"SELECT count(*), coalesce(sum(hash(__r)::HUGEINT), 0) FROM {table} AS __r"
    ).fetchone()
    return (int(found[0]), int(found[1])) if found else (0, 0)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
