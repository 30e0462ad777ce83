"""Upstream inference, driven by the tricky cases in tests/sql_fixtures/upstreams.sql."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.errors import SqlError
from assets_orch.sql import TableRef, analyze_sql

FIXTURES = Path(__file__).parent / "sql_fixtures"
_DIRECTIVE = re.compile(r"--\s*(tables|files|dialect|oracle):(.*)$")


@dataclass(frozen=True)
class Case:
    title: str
    sql: str
    tables: tuple[str, ...]
    files: tuple[str, ...]
    dialect: str
    oracle: bool


def _split(value: str) -> tuple[str, ...]:
    return tuple(sorted(v.strip() for v in value.split(",") if v.strip()))


def load_cases(path: Path) -> list[Case]:
    """Blocks that start with ``-- title:``; directive lines, then the SQL."""
    cases: list[Case] = []
    blocks = re.split(r"^-- title:", path.read_text(), flags=re.MULTILINE)[1:]
    for block in blocks:
        title, _, body = block.partition("\n")
        directives: dict[str, str] = {}
        lines = body.splitlines()
        while lines and (match := _DIRECTIVE.match(lines[0])):
            directives[match.group(1)] = match.group(2).strip()
            lines.pop(0)
        missing = {"tables", "files"} - directives.keys()
        assert not missing, f"case {title!r} lacks expectation lines: {sorted(missing)}"
        cases.append(
            Case(
                title=title.strip(),
                sql="\n".join(lines).strip(),
                tables=_split(directives["tables"]),
                files=_split(directives["files"]),
                dialect=directives.get("dialect", "duckdb"),
                oracle=not directives.get("oracle", "").startswith("no"),
            )
        )
    return cases


CASES = load_cases(FIXTURES / "upstreams.sql")
IDS = [re.sub(r"\W+", "-", c.title).strip("-") for c in CASES]


def test_fixture_file_has_enough_distinct_cases() -> None:
    assert len(CASES) >= 40
    assert len(set(IDS)) == len(IDS), "case titles must be unique"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_upstreams(case: Case) -> None:
    analysis = analyze_sql(case.sql, path="case.sql", dialect=case.dialect)
    assert tuple(t.qualified for t in analysis.tables) == case.tables
    assert analysis.files == case.files


def test_upstreams_agree_with_duckdb_parser() -> None:
    """DuckDB's own parser names the same tables (it folds case, so compare folded).

    ``get_table_names`` binds a little (USING columns, UNNEST arguments) without a catalog,
    so the cases it cannot bind are left out; most can be checked.
    """
    checked, mismatches = 0, []
    for case in CASES:
        if not case.oracle or case.files:
            continue
        try:
            names = duckdb.get_table_names(case.sql, qualified=True)
        except duckdb.Error:
            continue
        checked += 1
        # Its qualified form appends the alias ("orders AS o"); drop it.
        expected = {re.sub(r" as .*$", "", n, flags=re.IGNORECASE).lower() for n in names}
        analysis = analyze_sql(case.sql, path="case.sql", dialect=case.dialect)
        found = {t.qualified.lower() for t in analysis.tables}
        if found != expected:
            mismatches.append(f"{case.title}: ours {sorted(found)}, duckdb {sorted(expected)}")
    assert not mismatches, "\n".join(mismatches)
    assert checked >= 35


def test_table_positions_point_into_the_original_file() -> None:
    text = (
        "-- description: x\n"
        "-- tags: [a]\n"
        "select *\n"
        "from  stg.orders o\n"
        '  join "Customers" c using (id)\n'
    )
    analysis = analyze_sql(text, path="x.sql")
    assert analysis.tables == (
        TableRef(name="Customers", schema=None, catalog=None, line=5, col=8),
        TableRef(name="orders", schema="stg", catalog=None, line=4, col=7),
    )


def test_first_occurrence_is_kept() -> None:
    text = "select * from orders a\njoin Orders b using (id)\njoin ORDERS c using (id)"
    (ref,) = analyze_sql(text, path="x.sql").tables
    assert (ref.line, ref.col) == (1, 15)


def test_tables_are_sorted_by_qualified_name() -> None:
    analysis = analyze_sql("select * from zeta, alpha, b.mid, a.mid", path="x.sql")
    assert [t.qualified for t in analysis.tables] == ["a.mid", "alpha", "b.mid", "zeta"]


def test_main_schema_is_kept() -> None:
    (ref,) = analyze_sql("select * from main.orders", path="x.sql").tables
    assert (ref.schema, ref.name, ref.qualified) == ("main", "orders", "main.orders")


def test_tableref_is_hashable_and_frozen() -> None:
    ref = TableRef(name="a", schema=None, catalog=None, line=1, col=1)
    assert {ref, ref} == {ref}
    with pytest.raises(AttributeError):
        ref.name = "b"  # type: ignore[misc]


def test_query_table_is_a_dependency_and_runs_after_its_table(tmp_path: Path) -> None:
    """`a_reader` sorts first; without its upstream it ran before z_base and failed."""
    root = write_project(
        tmp_path / "p",
        {
            "models/a_reader.sql": "select * from query_table('z_base')",
            "models/z_base.sql": "select 1 as id",
        },
    )
    cli = Cli(root)
    reader = {a["name"]: a for a in cli.json("list")}["a_reader"]
    assert reader["upstreams"] == ["z_base"]
    result = cli.json("materialize")
    assert [(a["name"], a["status"]) for a in result["assets"]] == [
        ("z_base", "success"),
        ("a_reader", "success"),
    ]


def test_a_query_string_that_is_not_a_query_names_its_place() -> None:
    with pytest.raises(SqlError) as info:
        analyze_sql("select *\nfrom query('drop table orders')", path="x.sql")
    assert (info.value.line, info.value.col) == (2, 6)
    assert "the string of query(...) is not a query" in info.value.message
