"""Changing ``schema`` in assets.toml, and changing it back.

A schema that does not exist yet means nothing is built there: readers say every asset
is missing (and create nothing); ``materialize`` creates the schema. Each build records
the schema it wrote to, so switching back judges every table by the build it holds:
nothing is "changed outside assets_orch" when nothing changed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import warehouse_objects, write_project

DAILY = """
-- partitioned_by: day
-- grain: day
-- start: 2024-01-01
-- end: 2024-01-05
select day::date as day, count(*) as ids
from base, range($start::date, $end::date, interval 1 day) as r(day)
group by day
"""

FILES = {
    "models/base.sql": "select 1 as id, 10 as amount",
    "models/doubled.sql": "-- checks: [not_null: id]\nselect id, amount * 2 as amount from base",
    "models/from_raw.sql": "select count(*) as n from raw.events",
    "models/daily.sql": DAILY,
}
ALL = {"base", "doubled", "from_raw", "daily"}


def set_schema(root: Path, schema: str | None) -> None:
    line = f'schema = "{schema}"\n' if schema else ""
    (root / "assets.toml").write_text(f'name = "t"\n{line}')


def tables(root: Path) -> dict[tuple[str, str], str | None]:
    return {k: v for k, v in warehouse_objects(root).items() if k[0] != "_assets_orch"}


def statuses(cli: Cli) -> dict[str, tuple[str, list[str]]]:
    return {r["name"]: (r["state"], r["reasons"]) for r in cli.json("status")}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "p", FILES)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.events AS SELECT 1 AS id")
    con.close()
    Cli(root)("materialize")
    assert {s for s, _ in statuses(Cli(root)).values()} == {"fresh"}
    return root


def test_read_commands_treat_a_new_schema_as_nothing_built(built: Path, tmp_path: Path) -> None:
    before = tables(built)
    set_schema(built, "brand_new")
    cli = Cli(built)
    found = statuses(cli)
    assert set(found) == ALL
    for name in ALL - {"daily"}:
        assert found[name][0] == "missing", name
        assert found[name][1][0] == "missing: last built in schema main", name
    assert found["daily"][0] == "missing"
    assert "last built in schema main" in found["daily"][1][0]
    for args in (
        ["list"],
        ["lineage", "doubled"],
        ["history", "doubled"],
        ["columns", "doubled"],
        ["catalog", "export", str(tmp_path / "site")],
    ):
        result = cli(*args)
        assert "internal error" not in result.output and "Traceback" not in result.output
    plan = cli.json("materialize", "--stale", "--dry-run")
    assert {a["name"] for a in plan["assets"]} == ALL
    assert "has no table yet" in cli("check", "doubled", expect=1).output
    assert tables(built) == before, "a reader created or changed nothing"


def test_materialize_creates_the_schema_and_leaves_the_old_one(built: Path) -> None:
    before = tables(built)
    set_schema(built, "brand_new")
    Cli(built)("materialize")
    now = tables(built)
    assert {t for s, t in now if s == "brand_new"} == ALL
    assert {k: v for k, v in now.items() if k[0] != "brand_new"} == before
    assert {s for s, _ in statuses(Cli(built)).values()} == {"fresh"}
    history = Cli(built).json("history", "doubled")
    assert [h["schema"] for h in history] == ["brand_new", "main"]


def test_switching_back_judges_each_table_by_the_build_it_holds(built: Path) -> None:
    set_schema(built, "brand_new")
    Cli(built)("materialize")
    set_schema(built, None)
    cli = Cli(built)
    found = statuses(cli)
    assert found["base"] == found["doubled"] == found["from_raw"] == ("fresh", [])
    assert not any("changed outside" in r for _, reasons in found.values() for r in reasons)
    # A partitioned asset's ranges describe the brand_new table: rebuilt from scratch.
    assert found["daily"][0] == "missing"
    assert "last built in schema brand_new" in found["daily"][1][0]
    result = cli.json("materialize", "--stale")
    assert {a["name"] for a in result["assets"]} == {"daily"}
    assert {s for s, _ in statuses(cli).values()} == {"fresh"}
    assert cli.json("materialize", "--stale")["assets"] == []


def test_edits_made_meanwhile_still_count_after_switching_back(built: Path) -> None:
    set_schema(built, "brand_new")
    (built / "models/doubled.sql").write_text("select id, amount * 3 as amount from base")
    Cli(built)("materialize", "doubled")
    set_schema(built, None)
    found = statuses(Cli(built))
    assert found["doubled"] == ("stale", ["code changed"])  # main holds the "* 2" build
    assert found["base"] == ("fresh", [])


def test_a_table_replaced_by_hand_is_still_changed_outside(built: Path) -> None:
    set_schema(built, "brand_new")
    Cli(built)("materialize")
    set_schema(built, None)
    con = duckdb.connect(str(built / "warehouse.duckdb"))
    con.execute("CREATE OR REPLACE TABLE main.base AS SELECT 2 AS id, 20 AS amount")
    con.close()
    found = statuses(Cli(built))
    assert found["base"] == ("stale", ["table changed outside assets_orch"])
