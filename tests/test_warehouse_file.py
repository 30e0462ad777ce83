"""A warehouse file DuckDB cannot use is the user's to fix (exit 2), never "busy".

Only a lock held by another process means "busy": readers then fall back to the
catalog and a writer exits 1. Garbage, a truncated file, a directory or a file from
another DuckDB version is an error naming the file and what to do, and is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import Cli, hold_warehouse, run_assets
from helpers import write_project

from assets_orch.errors import WarehouseBusyError, WarehouseFileError
from assets_orch.warehouse import open_error


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = write_project(
        tmp_path / "p",
        {"models/base.sql": "select 1 as id", "models/top.sql": "select id from base"},
    )
    Cli(root)("materialize")
    return root


def _garbage(path: Path) -> None:
    path.write_text("garbage\n")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:5000])


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


BREAKS: list[tuple[str, Callable[[Path], None], str]] = [
    ("garbage", _garbage, "is not a DuckDB database"),
    ("empty", _empty, "is not a DuckDB database"),
    ("truncated", _truncated, "is damaged"),
    ("directory", _directory, "is a directory"),
]


@pytest.mark.parametrize("command", [["status"], ["materialize"], ["lineage", "top"], ["list"]])
@pytest.mark.parametrize(("kind", "damage", "says"), BREAKS, ids=[b[0] for b in BREAKS])
def test_an_unusable_warehouse_file_is_a_clear_error(
    built: Path, kind: str, damage: Callable[[Path], None], says: str, command: list[str]
) -> None:
    path = built / "warehouse.duckdb"
    damage(path)
    before = path.read_bytes() if path.is_file() else None
    result = Cli(built)(*command, expect=2)
    first = result.output.splitlines()[0]
    assert first.startswith("error: ") and "warehouse.duckdb" in first, result.output
    assert says in first, result.output
    assert "in use by another process" not in result.output
    assert "fresh" not in result.output and "Traceback" not in result.output
    assert "restore the file from a backup, or move it away" in result.output
    # Nothing was written over the file the user may still want to rescue.
    assert (path.read_bytes() if path.is_file() else None) == before


def test_the_console_command_exits_2_without_a_traceback(built: Path) -> None:
    (built / "warehouse.duckdb").write_text("garbage\n")
    result = run_assets("status", cwd=built)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is not a DuckDB database" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_moving_the_file_away_builds_a_new_warehouse(built: Path) -> None:
    path = built / "warehouse.duckdb"
    path.write_text("garbage\n")
    Cli(built)("status", expect=2)
    path.rename(built / "broken.duckdb")
    rows = Cli(built).json("status")
    assert {r["name"]: r["state"] for r in rows} == {"base": "missing", "top": "missing"}
    Cli(built)("materialize")
    assert {r["state"] for r in Cli(built).json("status")} == {"fresh"}


def test_another_duckdb_version_is_a_file_error() -> None:
    # DuckDB's words for a file from a newer release (duckdb test/sql/storage_versions.test).
    said = (
        "IO Error: Trying to read a database file with version number 67, but we can only "
        "read versions between 64 and 66."
    )
    error = open_error(Path("/p/warehouse.duckdb"), OSError(said))
    assert isinstance(error, WarehouseFileError) and error.exit_code == 2
    assert (
        error.message == "the warehouse warehouse.duckdb was written by another version of DuckDB"
    )
    assert (
        error.hint is not None
        and "EXPORT DATABASE" in error.hint
        and "version number 67" in error.hint
    )


def test_a_real_lock_is_busy_not_broken(built: Path) -> None:
    """Another process holding the file: readers use the catalog, a writer exits 1."""
    with hold_warehouse(built / "warehouse.duckdb", write=True) as holder:
        pid = holder.pid
        status = Cli(built)("status")
        assert "in use by another process" in status.output
        assert "table presence is taken from the catalog" in status.output
        assert "fresh" in status.output
        run = Cli(built)("materialize", expect=1)
        assert f"in use by another process (PID {pid})" in run.output
        error = open_error(Path("w.duckdb"), OSError(f"Could not set lock ... (PID {pid})"))
        assert isinstance(error, WarehouseBusyError) and error.exit_code == 1


def test_readers_during_a_run_still_know_tables_of_other_schemas(tmp_path: Path) -> None:
    """The table list a writer saves names every schema's tables, not only the project's."""
    root = write_project(tmp_path / "p", {"models/a.sql": "select count(*) as n from raw.events"})
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.events AS SELECT 1 AS id")
    con.close()
    Cli(root)("materialize")
    with hold_warehouse(root / "warehouse.duckdb", write=True):
        result = Cli(root)("status")
        assert "table presence is taken from the catalog" in result.output
        assert "a  " in result.output and "fresh" in result.output
