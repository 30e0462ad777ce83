"""The DuckDB warehouse: the only module that talks to DuckDB.

Every build is atomic: in one DuckDB transaction the new table is created, its
checks run on the new data (write-audit-publish), its materialization id is written
as the table COMMENT, and only then is it committed. A failed check, an error, a
timeout or a crash leaves the previous table as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import SAMPLE_ROWS, CheckResult, failing_rows_sql, quote
from .errors import WarehouseBusyError, WarehouseError, WarehouseFileError

if TYPE_CHECKING:
    import duckdb

    from .metadata import CheckSpec
    from .specs import AssetSpec

COMMENT_PREFIX = "assets_orch:"
# Seconds a writer retries opening the file while another process holds it: readers
# hold it for a moment; a run or a notebook holding it longer is reported as busy.
WRITER_WAIT = 5.0


class BuildCancelled(Exception):
    """The build was abandoned (timeout or cancellation) before it could commit."""


class ChecksFailed(Exception):
    """A blocking check failed; nothing was published."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        failed = [r for r in results if r.blocking]
        super().__init__("; ".join(r.summary() for r in failed))


@dataclass(frozen=True)
class BuildResult:
    """What a successful build published."""

    row_count: int | None
    columns: tuple[tuple[str, str], ...]
    data_version: str
    checks: tuple[CheckResult, ...]


def built_here(comment: str | None) -> bool:
    """Whether a table COMMENT says assets_orch built the table.

    >>> built_here('assets_orch:{"partitioned": "day;"}'), built_here("loaded by Airbyte")
    (True, False)
    """
    return bool(comment) and str(comment).startswith(COMMENT_PREFIX)


def parse_comment(comment: str | None) -> str | None:
    """The materialization id stored in a table COMMENT, or None.

    >>> parse_comment('assets_orch:{"materialization": "m1"}')
    'm1'
    """
    if not comment or not comment.startswith(COMMENT_PREFIX):
        return None
    try:
        value = json.loads(comment[len(COMMENT_PREFIX) :]).get("materialization")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


_LOCK_PID = re.compile(r"PID (\d+)")
_LOCKED = ("could not set lock", "conflicting lock")
# What DuckDB says about a file it cannot use, and what to tell the user.
_FILE_PROBLEMS = (
    ("not a valid duckdb database file", "is not a DuckDB database"),
    ("version number", "was written by another version of DuckDB"),
    ("serialized with", "was written by another version of DuckDB"),
    ("corrupt", "is damaged"),
    ("checksum", "is damaged"),
    ("could not read enough bytes", "is damaged (truncated)"),
    ("is a directory", "is a directory, not a DuckDB database file"),
)
_REPLACE = (
    "restore the file from a backup, or move it away and run 'assets materialize' to build "
    "a new warehouse ('warehouse' in assets.toml names the file)"
)


def open_error(path: Path, error: Exception, *, writing: bool = False) -> WarehouseError:
    """The error to raise when DuckDB cannot open the warehouse file at ``path`` (for
    writing: a writer, which waited WRITER_WAIT seconds for a busy file).

    Only a lock held by another process is "busy" (exit 1: wait and retry); anything
    else is a problem with the file itself (exit 2: the user must act).

    >>> e = open_error(Path("w.duckdb"), OSError('IO Error: The file "w.duckdb" exists, '
    ...                "but it is not a valid DuckDB database file!"))
    >>> type(e).__name__, e.message
    ('WarehouseFileError', 'the warehouse w.duckdb is not a DuckDB database')
    """
    text = str(error).strip()
    lower = text.lower()
    if any(marker in lower for marker in _LOCKED):
        pid = _LOCK_PID.search(text)
        holder = f" (PID {pid.group(1)})" if pid else ""
        waiting = f" (waited {WRITER_WAIT:.0f}s for it)" if writing else ""
        return WarehouseBusyError(
            f"the warehouse {path.name} is in use by another process{holder}",
            path=str(path),
            hint=f"wait for the other process to finish{waiting}; DuckDB lets one process "
            "open the file for writing, and none while another holds it",
        )
    import duckdb

    first = text.splitlines()[0] if text else type(error).__name__
    if "permission denied" in lower:
        # Nothing is wrong with the file: never advise replacing it.
        access = "opened for writing" if writing else "read"
        return WarehouseFileError(
            f"the warehouse {path.name} cannot be {access} by this user (permission denied)",
            path=str(path),
            hint="give this user access to the file and its folder (DuckDB writes "
            f"{path.name}.wal beside it), or run the command as the user who owns the "
            f"project; DuckDB {duckdb.__version__} said: {first}",
        )
    problem = next((say for marker, say in _FILE_PROBLEMS if marker in lower), None)
    if problem is None:
        return WarehouseFileError(
            f"cannot open the warehouse {path.name}: {first}", path=str(path), hint=_REPLACE
        )
    hint = _REPLACE
    if "version" in problem:
        hint = (
            "open it with the DuckDB version that wrote it (EXPORT DATABASE, then IMPORT "
            f"DATABASE here), or {_REPLACE}"
        )
    return WarehouseFileError(
        f"the warehouse {path.name} {problem}",
        path=str(path),
        hint=f"{hint}; DuckDB {duckdb.__version__} said: {first}",
    )


class Warehouse:
    """A DuckDB database file, opened on demand.

    Relative file paths in queries (``read_csv('data/x.csv')``) resolve against the
    project root through DuckDB's ``file_search_path``.
    """

    def __init__(self, path: Path, *, schema: str, root: Path, content_hash: bool = True):
        self.path = path
        self.schema = schema
        self.root = root
        self.content_hash = content_hash
        self.schema_exists = True  # known once connected: a reader finds it may not be
        self._con: duckdb.DuckDBPyConnection | None = None
        self._read_only = False

    # ---- connection -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._con is not None

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the database (once; a read-only connection is reopened for writing when
        writing is asked for).

        Raises :class:`WarehouseBusyError` naming the holder when another process has
        the file, and :class:`WarehouseFileError` when the file cannot be a warehouse
        (not a DuckDB database, another DuckDB version, damaged, unreadable).
        """
        if self._con is not None:
            if read_only or not self._read_only:
                return self._con
            self._con.close()  # a writer described a table before its run: reopen
            self._con = None
        import duckdb

        if read_only and not self.path.exists():
            raise WarehouseError(f"the warehouse {self.path.name} does not exist yet")
        # A writer waits a little for readers: their read-only connections last a moment
        # (listing tables, reading a load time), and DuckDB refuses a writer meanwhile.
        deadline = time.monotonic() + (0.0 if read_only else WRITER_WAIT)
        while True:
            try:
                con = duckdb.connect(
                    str(self.path),
                    read_only=read_only,
                    config={
                        # Only the bundled extensions exist offline; never download one.
                        "autoinstall_known_extensions": False,
                        "autoload_known_extensions": True,
                    },
                )
                break
            except duckdb.Error as e:
                error = open_error(self.path, e, writing=not read_only)
                if isinstance(error, WarehouseBusyError) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise error from e
        con.execute(f"SET file_search_path = {_literal(str(self.root))}")
        if self.schema != "main":
            if not read_only:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
                self.schema_exists = True
            else:
                # A reader does not create the schema: until the first build it does not
                # exist, and every asset is missing (tables() finds nothing in it).
                row = con.execute(
                    "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ? "
                    "AND database_name = current_database()",
                    [self.schema],
                ).fetchone()
                self.schema_exists = bool(row and row[0])
            if self.schema_exists:
                con.execute(f"SET schema = {_literal(self.schema)}")
        self._con = con
        self._read_only = read_only
        return con

    def reading(self) -> duckdb.DuckDBPyConnection:
        """The open connection whatever its mode (read-write when none is open yet), for
        queries that only read: a reader's read-only connection is never reopened for
        writing, which would block writers and fail while another process reads."""
        return self._con if self._con is not None else self.connect()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one worker thread (own transaction, shared database)."""
        cur = self.connect().cursor()
        cur.execute(f"SET file_search_path = {_literal(str(self.root))}")
        if self.schema != "main":
            cur.execute(f"SET schema = {_literal(self.schema)}")
        return cur

    def qualified(self, name: str) -> str:
        return f"{quote(self.schema)}.{quote(name)}"

    # ---- what is there ----------------------------------------------------------------

    def tables(self) -> dict[str, str | None]:
        """Tables and views of the project schema: lower-cased name -> materialization id."""
        return {name: parse_comment(c) for name, c in self.table_comments().items()}

    def table_comments(self) -> dict[str, str | None]:
        """Tables and views of the project schema: lower-cased name -> raw COMMENT."""
        return {name: comment for name, (_, comment) in self._project_tables().items()}

    def _project_tables(self) -> dict[str, tuple[str, str | None]]:
        con = self.reading()
        rows = con.execute(
            "SELECT table_name, 'table', comment FROM duckdb_tables() WHERE schema_name = ? "
            "AND database_name = current_database() "
            "UNION ALL SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT internal "
            "AND schema_name = ? AND database_name = current_database()",
            [self.schema, self.schema],
        ).fetchall()
        return {name.lower(): (kind, comment) for name, kind, comment in rows}

    def drop(self, name: str) -> bool:
        """Drop table or view ``name`` of the project schema; False when there is none."""
        found = self._project_tables().get(name.lower())
        if found is None:
            return False
        kind = "VIEW" if found[0] == "view" else "TABLE"
        self.connect().execute(f"DROP {kind} IF EXISTS {self.qualified(name)}")
        return True

    def table_names(self) -> set[str]:
        """Every table and view, as ``name`` (project schema) and ``schema.name``, lower."""
        con = self.reading()
        rows = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
            "AND database_name = current_database()"
        ).fetchall()
        names = set()
        for schema, name in rows:
            names.add(f"{schema}.{name}".lower())
            if schema.lower() == self.schema.lower():
                names.add(name.lower())
        return names

    def describe(self, name: str) -> tuple[tuple[str, str], ...]:
        """Column names and types of a table or view."""
        rows = self.reading().execute(f"DESCRIBE {self.qualified(name)}").fetchall()
        return tuple((r[0], r[1]) for r in rows)

    def describe_table(self, name: str) -> tuple[tuple[str, str], ...]:
        """Column names and types of any table or view, named as SQL writes it
        (``raw.events``): the schemas of external tables, for column lineage."""
        import duckdb

        # A reader opens the file for this one question: a writer may be waiting for it.
        own = self._con is None
        cur = self.connect(read_only=True).cursor()  # a worker thread may ask
        try:
            rows = cur.execute(f"DESCRIBE {name}").fetchall()
        except duckdb.Error as e:
            raise WarehouseError(f"cannot describe table {name}: {e}") from e
        finally:
            cur.close()
            if own:
                self.close()
        return tuple((r[0], r[1]) for r in rows)

    def describe_source(self, from_item: str) -> tuple[tuple[str, str], ...]:
        """Column names and types of a FROM item that reads files, such as
        ``read_csv('data/x.csv', header = true)``, from an in-memory DuckDB whose
        ``file_search_path`` is the project root (the warehouse file is not opened)."""
        import duckdb

        con = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": True},
        )
        try:
            con.execute(f"SET file_search_path = {_literal(str(self.root))}")
            rows = con.execute(f"DESCRIBE SELECT * FROM {from_item}").fetchall()
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise WarehouseError(f"cannot read the columns of {from_item}: {first}") from e
        finally:
            con.close()
        return tuple((r[0], r[1]) for r in rows)

    def row_count(self, name: str) -> int:
        row = self.reading().execute(f"SELECT count(*) FROM {self.qualified(name)}").fetchone()
        return int(row[0]) if row else 0

    # ---- building ---------------------------------------------------------------------

    def build_sql(
        self,
        cur: duckdb.DuckDBPyConnection,
        *,
        name: str,
        sql: str,
        materialized: str,
        materialization_id: str,
        checks: Iterable[CheckSpec],
        version_seed: str,
        may_commit: Callable[[], bool] = lambda: True,
    ) -> BuildResult:
        """Create or replace ``name`` from ``sql`` atomically, auditing checks first."""
        kind = "VIEW" if materialized == "view" else "TABLE"
        body = sql.strip().rstrip(";")
        return self._build(
            cur,
            name=name,
            create=f"CREATE OR REPLACE {kind} {self.qualified(name)} AS\n{body}\n",
            kind=kind,
            materialization_id=materialization_id,
            checks=checks,
            version_seed=version_seed,
            may_commit=may_commit,
        )

    def relation(self, cur: duckdb.DuckDBPyConnection, name: str) -> duckdb.DuckDBPyRelation:
        """An upstream table as a DuckDB relation (what a Python asset receives)."""
        return cur.table(f"{quote(self.schema)}.{quote(name)}")

    def build_python(
        self,
        cur: duckdb.DuckDBPyConnection,
        *,
        name: str,
        value: Any,
        materialization_id: str,
        checks: Iterable[CheckSpec],
        version_seed: str,
        may_commit: Callable[[], bool] = lambda: True,
    ) -> BuildResult:
        """Store what a Python asset returned (relation, DataFrame, Arrow) as a table."""
        source = _as_registrable(value, name)
        view = f"__assets_orch_result_{abs(hash(materialization_id))}"
        cur.register(view, source)
        try:
            return self._build(
                cur,
                name=name,
                create=f"CREATE OR REPLACE TABLE {self.qualified(name)} AS SELECT * FROM {view}",
                kind="TABLE",
                materialization_id=materialization_id,
                checks=checks,
                version_seed=version_seed,
                may_commit=may_commit,
            )
        finally:
            try:
                cur.unregister(view)
            except Exception:  # noqa: BLE001 - the cursor may already be closed by a timeout
                pass

    def _build(
        self,
        cur: duckdb.DuckDBPyConnection,
        *,
        name: str,
        create: str,
        kind: str,
        materialization_id: str,
        checks: Iterable[CheckSpec],
        version_seed: str,
        may_commit: Callable[[], bool],
    ) -> BuildResult:
        table = self.qualified(name)
        cur.execute("BEGIN TRANSACTION")
        try:
            # Alone: DuckDB misplaces error positions in a call of several statements.
            cur.execute(create)
            columns = tuple((r[0], r[1]) for r in cur.execute(f"DESCRIBE {table}").fetchall())
            if kind == "TABLE":
                row_count, data_version = self._content_version(cur, table, columns, version_seed)
            else:
                row_count, data_version = None, _digest(f"view:{version_seed}")
            results = run_checks(cur, table, checks)
            if any(r.blocking for r in results):
                raise ChecksFailed(results)
            comment = COMMENT_PREFIX + json.dumps(
                {"materialization": materialization_id, "data_version": data_version}
            )
            if not may_commit():
                raise BuildCancelled("abandoned before commit")
            # One call: every call is a round trip through the interpreter lock.
            cur.execute(f"COMMENT ON {kind} {table} IS {_literal(comment)};\nCOMMIT")
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - no transaction, or an interrupted cursor
                pass
            raise
        return BuildResult(row_count, columns, data_version, tuple(results))

    def _content_version(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: str,
        columns: tuple[tuple[str, str], ...],
        seed: str,
    ) -> tuple[int, str]:
        if not self.content_hash:
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
            return (int(row[0]) if row else 0), _digest(f"run:{seed}")
        # Order-independent hash of every row, computed inside DuckDB (early cutoff).
        row = cur.execute(
            f"SELECT count(*), coalesce(sum(hash(__assets_row)::HUGEINT), 0) "
            f"FROM {table} AS __assets_row"
        ).fetchone()
        count, total = (int(row[0]), str(row[1])) if row else (0, "0")
        return count, _digest(f"{columns}|{count}|{total}")

    def check(self, name: str, checks: Iterable[CheckSpec]) -> list[CheckResult]:
        """Run checks against the current table, without rebuilding it."""
        return run_checks(self.reading().cursor(), self.qualified(name), checks)


def run_checks(
    cur: duckdb.DuckDBPyConnection, table: str, checks: Iterable[CheckSpec]
) -> list[CheckResult]:
    """Run each check's failing-rows query against ``table``; errors become results."""
    import duckdb

    results = []
    for check in checks:
        query = failing_rows_sql(check, table)
        try:
            row = cur.execute(f"SELECT count(*) FROM ({query}) AS __failing").fetchone()
            failing = int(row[0]) if row else 0
            sample: list[dict[str, Any]] = []
            if failing:
                rel = cur.execute(f"SELECT * FROM ({query}) AS __failing LIMIT {SAMPLE_ROWS}")
                names = [d[0] for d in rel.description or ()]
                sample = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
            results.append(CheckResult(check, "failed" if failing else "passed", failing, sample))
        except duckdb.InterruptException:
            raise
        except duckdb.Error as e:
            results.append(CheckResult(check, "error", 0, [], str(e).splitlines()[0]))
    return results


_DUCKDB_LINE = re.compile(r"^LINE (\d+): ")
_CARET = re.compile(r"^( *)(\^+)\s*$")


def at_file_lines(message: str, spec: AssetSpec) -> str:
    r"""DuckDB's ``LINE n:`` in an error, counted in the statement that wraps the query
    (one ``CREATE ... AS`` line first), as ``path:line:`` of the asset file, with the
    caret below kept under the same character. Unchanged when the query that ran is not
    the file's own text (another dialect, transpiled) or is a Python asset.

    >>> from types import SimpleNamespace as S
    >>> spec = S(kind="sql", path="m.sql", sql="select\n  b\nfrom t",
    ...          source_text="-- description: x\nselect\n  b\nfrom t")
    >>> print(at_file_lines("Binder Error: no b\n\nLINE 3:   b\n          ^", spec))
    Binder Error: no b
    <BLANKLINE>
    m.sql:3:   b
               ^
    """
    text, sql = spec.source_text, spec.sql
    if spec.kind != "sql" or not text or not sql or "LINE " not in message:
        return message
    start = text.find(sql)
    if start < 0:
        return message
    first = text.count("\n", 0, start) + 1
    lines = message.split("\n")
    for i, line in enumerate(lines):
        found = _DUCKDB_LINE.match(line)
        if found is None or int(found.group(1)) < 2:
            continue
        prefix = f"{spec.path}:{first + int(found.group(1)) - 2}: "
        lines[i] = prefix + line[found.end() :]
        shift = len(prefix) - found.end()
        caret = _CARET.match(lines[i + 1]) if i + 1 < len(lines) else None
        if caret is not None:
            lines[i + 1] = " " * max(0, len(caret.group(1)) + shift) + caret.group(2)
    return "\n".join(lines)


def _as_registrable(value: Any, name: str) -> Any:
    import duckdb

    if value is None:
        raise TypeError(
            f"@asset '{name}' returned None; return a DuckDB relation, a pandas or polars "
            "DataFrame, or an Arrow table"
        )
    if isinstance(value, duckdb.DuckDBPyRelation):
        return value
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "polars", "pyarrow"):
        return value
    raise TypeError(
        f"@asset '{name}' returned {type(value).__name__}; return a DuckDB relation, a pandas "
        "or polars DataFrame, or an Arrow table"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
