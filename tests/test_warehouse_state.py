"""The remembered warehouse state: commands with nothing to build never open DuckDB, and
any change to the file (by this tool or another program) is noticed."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from conftest import Cli
from helpers import write_project

from assets_orch.catalog import Catalog
from assets_orch.warehouse_state import identity_of, remembered

FILES = {
    "models/a.sql": "select 1 as x",
    "models/b.sql": "select x + 1 as y from a",
}


def built(tmp_path: Path) -> tuple[Path, Cli]:
    root = write_project(tmp_path / "p", FILES)
    cli = Cli(root)
    cli("materialize")
    return root, cli


def states(cli: Cli) -> dict[str, str]:
    return {a["name"]: a["state"] for a in cli.json("status")}


def test_a_build_remembers_the_tables_with_the_file_identity(tmp_path: Path) -> None:
    root, _ = built(tmp_path)
    catalog = Catalog(root / ".assets/catalog.sqlite")
    state = remembered(catalog, (root / "warehouse.duckdb").resolve(), "main")
    catalog.close()
    assert state is not None and set(state.tables) == {"a", "b"}
    assert {"a", "b", "main.a", "main.b"} <= state.names


def test_nothing_to_build_while_another_program_holds_the_warehouse(tmp_path: Path) -> None:
    # The remembered tables answer: DuckDB's file lock is never asked for.
    root, cli = built(tmp_path)
    holder = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        result = cli("materialize", "--stale")
        assert "nothing to do" in result.output
        assert set(states(cli).values()) == {"fresh"}
    finally:
        holder.close()


def test_a_table_dropped_by_another_program_is_seen(tmp_path: Path) -> None:
    root, cli = built(tmp_path)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("DROP TABLE b")
    con.close()
    assert states(cli) == {"a": "fresh", "b": "missing"}
    cli("materialize", "--stale")
    assert states(cli) == {"a": "fresh", "b": "fresh"}


def test_restoring_the_modification_time_does_not_hide_a_change(tmp_path: Path) -> None:
    root, cli = built(tmp_path)
    path = root / "warehouse.duckdb"
    before = os.stat(path)
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE b AS SELECT 99 AS y")
    con.close()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as touch -r would
    assert identity_of(path) is not None
    assert states(cli)["b"] == "stale"  # table changed outside assets_orch


def test_a_write_ahead_log_means_the_file_is_not_trusted(tmp_path: Path) -> None:
    root, _ = built(tmp_path)
    path = root / "warehouse.duckdb"
    Path(f"{path}.wal").write_bytes(b"")
    try:
        assert identity_of(path) is None
    finally:
        Path(f"{path}.wal").unlink()
