"""Bad input: a clear message naming file and line, exit code 2, no traceback, nothing run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import Cli, run_assets
from helpers import write_project

REFUSED = [
    ("create", "create table t as select 1"),
    ("insert", "insert into base values (1)"),
    ("update", "update base set id = 2"),
    ("delete", "delete from base"),
    ("drop", "drop table base"),
    ("alter", "alter table base add column y int"),
    ("attach", "attach 'other.duckdb' as other"),
    ("copy", "copy base to 'out.csv'"),
    ("install", "install httpfs"),
    ("load", "load httpfs"),
    ("set", "set threads = 1"),
    ("pragma", "pragma version"),
    ("two_statements", "select 1;\nselect 2"),
]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "p", {"models/base.sql": "select 1 as id"})
    Cli(root)("materialize")
    return root


@pytest.mark.parametrize(("kind", "sql"), REFUSED, ids=[k for k, _ in REFUSED])
def test_only_queries_are_allowed(built: Path, kind: str, sql: str) -> None:
    (built / "models/evil.sql").write_text("-- description: not a query\n" + sql + "\n")
    result = Cli(built)("materialize", expect=2)
    assert "models/evil.sql:" in result.output
    assert "Traceback" not in result.output
    if kind == "two_statements":
        assert "models/evil.sql:3" in result.output
    else:
        assert "models/evil.sql:2" in result.output
    con = duckdb.connect(str(built / "warehouse.duckdb"), read_only=True)
    try:  # nothing ran: the existing table is untouched and nothing new appeared
        assert con.execute("select * from base").fetchall() == [(1,)]
        names = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert names == {"base"}
    finally:
        con.close()


def test_parse_error_gives_file_line_col(fixture_project) -> None:  # type: ignore[no-untyped-def]
    root = fixture_project("bad_sql")
    result = Cli(root)("status", expect=2)
    first = result.output.splitlines()[0]
    assert "models/broken.sql:4:" in first, result.output
    assert "wher" in result.output
    assert "Traceback" not in result.output


def test_cycle_is_printed(fixture_project) -> None:  # type: ignore[no-untyped-def]
    result = Cli(fixture_project("cycle"))("status", expect=2)
    assert (
        "dependency cycle: a -> c -> b -> a" in result.output
        or "dependency cycle: a -> b -> c -> a" in result.output
        or "cycle" in result.output
    )
    line = next(line for line in result.output.splitlines() if "cycle" in line)
    names = line.split("dependency cycle: ")[1].split(" -> ")
    assert names[0] == names[-1] and set(names) == {"a", "b", "c"}


def test_duplicate_names_name_both_files(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/orders.sql": "select 1 as x",
            "models/sub/Orders.sql": "select 2 as x",
        },
    )
    result = Cli(root)("list", expect=2)
    assert "models/orders.sql" in result.output and "models/sub/Orders.sql" in result.output


def test_python_and_sql_duplicate(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/x.sql": "select 1 as x",
            "assets/x.py": "from assets_orch import asset\n\n@asset\ndef x():\n    return None\n",
        },
    )
    result = Cli(root)("list", expect=2)
    assert "models/x.sql" in result.output and "assets/x.py:3" in result.output


def test_bad_config_key(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x"},
        config='name = "t"\nwarehose = "w.duckdb"\n',
    )
    result = Cli(root)("status", expect=2)
    assert "assets.toml:2" in result.output and "warehose" in result.output
    assert "did you mean 'warehouse'" in result.output


def test_bad_metadata_key(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/a.sql": "-- description: ok\n-- tgas: [x]\nselect 1 as x",
        },
    )
    result = Cli(root)("status", expect=2)
    assert "models/a.sql:2" in result.output and "tgas" in result.output
    assert "did you mean 'tags'" in result.output


def test_unknown_table_names_file_line_and_closest(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/stg_orders.sql": "select 1 as id",
            "models/report.sql": "select *\nfrom stg_ordrs",
        },
    )
    result = Cli(root)("status", expect=2)
    assert "models/report.sql:2" in result.output
    assert "stg_ordrs" in result.output and "did you mean 'stg_orders'" in result.output


def test_external_warehouse_table_is_a_source(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/report.sql": "select * from raw.orders"})
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create schema raw; create table raw.orders as select 1 as id")
    con.close()
    cli = Cli(root)
    [item] = cli.json("list")
    assert item["sources"] == ["raw.orders"] and item["upstreams"] == []
    cli("materialize")


def test_names_qualified_with_the_warehouses_own_catalog(tmp_path: Path) -> None:
    """DuckDB names warehouse.duckdb's catalog `warehouse`: `warehouse.raw.clicks` is the
    external table raw.clicks, `warehouse.main.orders` the asset orders; another
    catalog is still unknown."""
    root = write_project(
        tmp_path / "p",
        {
            "models/orders.sql": "select 1 as id",
            "models/report.sql": (
                "select c.url, o.id from warehouse.raw.clicks c, Warehouse.main.orders o"
            ),
        },
    )
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create schema raw; create table raw.clicks as select 'x' as url")
    con.close()
    cli = Cli(root)
    report = {a["name"]: a for a in cli.json("list")}["report"]
    assert report["sources"] == ["warehouse.raw.clicks"] and report["upstreams"] == ["orders"]
    cli("materialize")
    columns = {c["name"]: c for c in cli.json("columns", "report")["columns"]}
    assert [r["source"] for r in columns["id"]["value"]] == ["orders"]
    (root / "models" / "report.sql").write_text("select url from lake.raw.clicks")
    result = cli("status", expect=2)
    assert "models/report.sql:1:17" in result.output and "'lake.raw.clicks'" in result.output


def test_unknown_python_parameter(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/base.sql": "select 1 as x",
            "assets/p.py": (
                "from assets_orch import asset\n\n@asset\ndef p(bsae):\n    return bsae\n"
            ),
        },
    )
    result = Cli(root)("status", expect=2)
    assert "assets/p.py:3" in result.output and "did you mean 'base'" in result.output


def test_no_project(tmp_path: Path) -> None:
    result = run_assets("status", cwd=tmp_path)
    assert result.returncode == 2
    assert "no assets.toml found" in result.stderr and "Traceback" not in result.stderr


def test_subprocess_error_has_no_traceback(fixture_project) -> None:  # type: ignore[no-untyped-def]
    root = fixture_project("bad_sql")
    result = run_assets("materialize", cwd=root)
    assert result.returncode == 2
    assert "models/broken.sql:4" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_dot_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = Cli(root)("lineage", "a", "--format", "svg", "-o", str(tmp_path / "a.svg"), expect=2)
    assert "Graphviz" in result.output and "apt-get install graphviz" in result.output
