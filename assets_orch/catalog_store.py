"""The catalog's SQLite file: its schema and migrations, opening it (read-only when
this user cannot write it), and SQLite failures as errors that say what to do.

>>> catalog_error(OSError("database or disk is full"), Path("c.sqlite"), "write").hint[:15]
'free disk space'
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .errors import CatalogError

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


def needs_migration(conn: sqlite3.Connection) -> bool:
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


def migrate(conn: sqlite3.Connection) -> None:
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
