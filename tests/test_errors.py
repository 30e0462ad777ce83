"""Bad input: a clear message naming file and line, exit code 2, no traceback, nothing run."""

from __future__ import annotations

import json
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


def test_unknown_dialect_is_reported_against_assets_toml(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x", "models/b.sql": "-- dialect: snowflake\nselect 2 as y"},
        config='name = "t"\n\ndialect = "duckdbx"\n',
    )
    result = Cli(root)("status", expect=2)
    assert result.output.startswith("error: assets.toml:3: unknown SQL dialect 'duckdbx'\n")
    assert "did you mean 'duckdb'? use one of: " in result.output
    assert "snowflake" in result.output and "models/" not in result.output
    (root / "assets.toml").write_text('name = "t"\ndialect = "postgres"\n')
    assert Cli(root).json("status")[0]["state"] == "missing"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('model_paths = ["modles"]', "'modles' in model_paths does not exist"),
        ('python_paths = ["assets", "pipelines"]', "'pipelines' in python_paths does not exist"),
        ('python_paths = ["models/a.sql"]', "'models/a.sql' in python_paths is not a folder"),
    ],
    ids=["typo", "missing", "a-file"],
)
def test_a_configured_folder_that_is_not_there_is_an_error(
    tmp_path: Path, config: str, message: str
) -> None:
    root = write_project(
        tmp_path / "p", {"models/a.sql": "select 1 as x"}, config=f'name = "t"\n{config}\n'
    )
    result = Cli(root)("status", expect=2)
    assert result.output.startswith(f"error: assets.toml:2: {message}\n")
    if "modles" in config:
        assert "did you mean 'models'?" in result.output


def test_default_folders_may_be_absent_but_an_empty_project_says_so(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {}, config='name = "t"\npython_paths = ["assets"]\n')
    cli = Cli(root)
    for command in ("status", "list"):
        text = cli(command).output
        assert text.startswith("no assets found in models/ or assets/\n  hint: add a .sql file")
    assert cli.json("status") == []
    for args in (("materialize",), ("materialize", "--dry-run"), ("materialize", "--json")):
        result = cli(*args, expect=2)
        assert "error: no assets found in models/ or assets/" in result.output
        assert "every selected asset is fresh" not in result.output
    (root / "models").mkdir()
    (root / "models/a.sql").write_text("select 1 as x")  # no assets/ folder: that is fine
    assert cli.json("materialize")["status"] == "success"


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


@pytest.mark.parametrize(
    ("fmt", "target"),
    [("png", "a"), ("svg", "a"), ("text", "a"), ("json", "a"), ("text", "a.x"), ("dot", "a.x")],
    ids=["png", "svg", "text", "json", "column-text", "column-dot"],
)
def test_lineage_output_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, fmt: str, target: str
) -> None:
    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})
    cli = Cli(root)
    cli("materialize")
    (tmp_path / "afile").write_text("")
    missing = tmp_path / "no" / "such" / "dir" / f"x.{fmt}"
    result = cli("lineage", target, "--format", fmt, "-o", str(missing), expect=2)
    assert f"error: cannot write {missing}: No such file or directory" in result.output
    assert f"the folder {missing.parent} does not exist" in result.output
    assert not missing.parent.exists()
    under_a_file = tmp_path / "afile" / f"x.{fmt}"
    result = cli("lineage", target, "--format", fmt, "-o", str(under_a_file), expect=2)
    assert f"{tmp_path / 'afile'} is a file, not a folder" in result.output
    written = tmp_path / f"ok.{fmt}"
    assert f"wrote {written}" in cli("lineage", target, "--format", fmt, "-o", str(written)).output
    assert written.stat().st_size > 0


def test_lineage_json_and_text_go_to_the_output_file_whole(tmp_path: Path) -> None:
    long = "a_" + "very_" * 40 + "long_name"  # its line in the tree is over 200 characters
    root = write_project(
        tmp_path / "p",
        {f"models/{long}.sql": "select 1 as x", "models/b.sql": f"select * from {long}"},
    )
    cli = Cli(root)
    out = tmp_path / "l.json"
    cli("lineage", "b", "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["focus"] == "b"
    cli("lineage", "b", "-o", str(tmp_path / "l.txt"))
    assert f"\n      {long} missing\n" in (tmp_path / "l.txt").read_text()  # not wrapped at 200


def test_init_into_a_file_or_below_one_is_a_clear_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    result = run_assets("init", "afile", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: afile is a file, not a directory" in result.stderr
    result = run_assets("init", "afile/x/shop", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error: cannot create afile/x/shop: afile is a file, not a directory" in result.stderr
    assert "Traceback" not in result.stderr and afile.read_text() == ""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    result = run_assets("init", "full", cwd=tmp_path)
    assert result.returncode == 2 and "full already exists and is not empty" in result.stderr
    assert run_assets("init", "new/shop", cwd=tmp_path).returncode == 0
    assert (tmp_path / "new/shop/assets.toml").is_file()
