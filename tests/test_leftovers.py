"""A deleted asset's table is left over, not an external source.

Reading it is an error at load naming the reader's file and line (like dbt's "depends on
a node named X which was not found"); declaring it as a source keeps it, and its readers
are stale with ``dependencies changed``; ``assets status`` notes left-over tables and
``assets prune`` drops the ones nothing reads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import Cli, hold_warehouse, run_assets
from helpers import warehouse_objects, write_project

FILES = {
    "models/staging/products.sql": "select 1 as product_id, 'lamp' as name",
    "models/items.sql": "select 7 as order_id, 1 as product_id",
    "models/priced.sql": """
        -- materialized: view
        select items.order_id, p.name
        from items
        left join products as p using (product_id)
    """,
    "models/report.sql": "select count(*) as n from priced",
}


def warehouse_tables(root: Path) -> set[str]:
    return {name for _, name in warehouse_objects(root)}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "p", FILES)
    Cli(root)("materialize")
    return root


def test_reading_a_deleted_assets_table_is_an_error_at_load(built: Path) -> None:
    (built / "models/staging/products.sql").unlink()
    cli = Cli(built)
    for args in (["status", "--stale"], ["lineage", "priced", "--upstream"], ["list"]):
        result = cli(*args, expect=2)
        first = result.output.splitlines()[0]
        assert first.startswith("error: models/priced.sql:4:"), result.output
        assert "'products' was an asset of this project (models/staging/products.sql)" in first
        assert "left over from an earlier build" in first
        assert '[sources."products"]' in result.output and "assets prune" in result.output
    runs_before = cli.json("runs")
    cli("materialize", expect=2)
    assert cli.json("runs") == runs_before, "nothing ran"


def test_the_console_command_says_it_without_a_traceback(built: Path) -> None:
    (built / "models/staging/products.sql").unlink()
    result = run_assets("status", cwd=built)
    assert result.returncode == 2
    assert "'products' was an asset of this project" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_declared_as_a_source_it_is_kept_and_its_readers_rebuild(built: Path) -> None:
    (built / "models/staging/products.sql").unlink()
    with (built / "assets.toml").open("a") as fh:
        fh.write('\n[sources."products"]\ndescription = "kept from the old model"\n')
    cli = Cli(built)
    rows = {r["name"]: r["reasons"] for r in cli.json("status")}
    assert rows["priced"] == ["dependencies changed: ~products (asset -> table)"]
    assert rows["report"] == ["upstream stale: priced"]
    assert "table products" in cli("lineage", "priced", "--upstream").output
    assert "left over" not in cli("status").output
    cli("materialize", "--stale")
    assert all(not r["stale"] for r in cli.json("status"))
    assert cli.json("prune", "--dry-run") == {"dropped": [], "dry_run": True, "kept": []}


def test_restoring_the_file_makes_everything_fresh_again(built: Path) -> None:
    model = built / "models/staging/products.sql"
    text = model.read_text()
    model.unlink()
    Cli(built)("status", expect=2)
    model.write_text(text)
    assert all(not r["stale"] for r in Cli(built).json("status"))


def test_status_notes_left_over_tables_and_prune_drops_them(built: Path) -> None:
    # A rename: the readers follow it, the old table stays behind.
    old = built / "models/staging/products.sql"
    old.rename(built / "models/staging/catalogue.sql")
    priced = built / "models/priced.sql"
    priced.write_text(priced.read_text().replace("join products", "join catalogue"))
    cli = Cli(built)
    status = cli("status").output
    assert "1 table(s) left over from assets that no longer exist: products" in status
    assert "'assets prune' drops them" in status
    plan = cli.json("prune", "--dry-run")
    assert [t["table"] for t in plan["dropped"]] == ["products"] and plan["kept"] == []
    assert "products" in warehouse_tables(built), "a dry run drops nothing"
    assert "would drop products (asset products" in cli("prune", "--dry-run").output
    result = cli("prune")
    assert "dropped products (asset products" in result.output
    assert "products" not in warehouse_tables(built)
    assert "left over" not in cli("status").output
    assert cli("prune").output.strip() == "no left-over tables"
    cli("materialize", "--stale")
    assert all(not r["stale"] for r in cli.json("status"))


def test_prune_keeps_a_table_that_is_still_read(built: Path) -> None:
    (built / "models/staging/products.sql").unlink()
    (built / "models/report.sql").unlink()  # a left-over view nothing reads
    result = Cli(built).json("prune")
    assert [t["table"] for t in result["dropped"]] == ["report"]
    assert [(t["table"], t["read_by"]) for t in result["kept"]] == [("products", ["priced"])]
    tables = warehouse_tables(built)
    assert "products" in tables and "report" not in tables


def test_tables_this_project_did_not_build_stay_external(built: Path) -> None:
    con = duckdb.connect(str(built / "warehouse.duckdb"))
    con.execute("CREATE TABLE loaded AS SELECT 1 AS id")  # another tool's table
    con.execute("CREATE TABLE other_project AS SELECT 2 AS id")  # another assets_orch project
    con.execute('COMMENT ON TABLE other_project IS \'assets_orch:{"materialization": "0123abcd"}\'')
    con.close()
    (built / "models/uses.sql").write_text(
        "select * from loaded union all select * from other_project"
    )
    cli = Cli(built)
    rows = {r["name"]: r["state"] for r in cli.json("status")}
    assert rows["uses"] == "missing"
    assert "left over" not in cli("status").output
    assert cli.json("prune", "--dry-run")["dropped"] == []


def test_left_overs_are_found_while_a_run_holds_the_warehouse(built: Path) -> None:
    """Readers then use the table list (with COMMENTs) the last writer saved."""
    (built / "models/staging/products.sql").unlink()
    with hold_warehouse(built / "warehouse.duckdb"):
        result = Cli(built)("status", expect=2)
        assert "'products' was an asset of this project" in result.output
