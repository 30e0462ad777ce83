"""Column lineage, driven by the cases in tests/sql_fixtures/columns.sql.

Every case is also run by DuckDB against empty tables of the declared schemas: the SQL
must bind, and each output column we name must be the one DuckDB names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from assets_orch.sql.analysis import analyze_sql
from assets_orch.sql.columns import QueryLineage, SourceSchema, prepare

FIXTURES = Path(__file__).parent / "sql_fixtures"
RESERVED = ("schema", "table", "file", "unresolved", "dialect")
_LINE = re.compile(r"^--\s*(\w+)\s*:(.*)$")


@dataclass(frozen=True)
class Source:
    kind: str  # asset, table, file
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, duckdb type)


@dataclass(frozen=True)
class Case:
    title: str
    sql: str
    sources: tuple[Source, ...]
    expected: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    unresolved: str | None
    dialect: str


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p.strip() for p in [*parts, current] if p.strip()]


def _sources(kind: str, text: str) -> list[Source]:
    out = []
    for item in _split_top(text, ";"):
        name, _, cols = item.partition("(")
        parsed = []
        for col in _split_top(cols[:-1], ","):
            words = col.split(maxsplit=1)
            parsed.append((words[0], words[1] if len(words) > 1 else "INTEGER"))
        out.append(Source(kind, name.strip(), tuple(parsed)))
    return out


def _edges(text: str) -> tuple[str, ...]:
    text = text.strip()
    return () if text in ("", "-") else tuple(sorted(e.strip() for e in text.split(",")))


def load_cases(path: Path) -> list[Case]:
    cases = []
    blocks = re.split(r"^-- title:", path.read_text(), flags=re.MULTILINE)[1:]
    for block in blocks:
        title, _, body = block.partition("\n")
        lines = body.splitlines()
        sources: list[Source] = []
        expected = []
        unresolved = None
        dialect = "duckdb"
        while lines and (match := _LINE.match(lines[0])):
            key, value = match.group(1), match.group(2).strip()
            lines.pop(0)
            if key in ("schema", "table", "file"):
                sources += _sources({"schema": "asset"}.get(key, key), value)
            elif key == "unresolved":
                unresolved = value
            elif key == "dialect":
                dialect = value
            else:
                value_part, _, filter_part = value.partition("|")
                assert value_part.strip().startswith("value"), f"{title}: {key}: {value}"
                assert filter_part.strip().startswith("filter"), f"{title}: {key}: {value}"
                expected.append(
                    (
                        key,
                        _edges(value_part.strip()[len("value") :]),
                        _edges(filter_part.strip()[len("filter") :]),
                    )
                )
        assert expected or unresolved, f"case {title!r} expects nothing"
        cases.append(
            Case(
                title.strip(),
                "\n".join(lines).strip(),
                tuple(sources),
                tuple(expected),
                unresolved,
                dialect,
            )
        )
    return cases


CASES = load_cases(FIXTURES / "columns.sql")
IDS = [re.sub(r"\W+", "-", c.title).strip("-") for c in CASES]


def lineage_of(case: Case) -> QueryLineage:
    sql = analyze_sql(case.sql, path="case.sql", dialect=case.dialect).sql
    prepared = prepare(sql)
    by_path = {s.name: s for s in case.sources if s.kind == "file"}
    by_name = {s.name.lower(): s for s in case.sources if s.kind != "file"}
    schemas = {}
    for ref in prepared.refs:
        found = by_path.get(ref.paths[0]) if ref.kind == "file" and ref.paths else None
        found = found or by_name.get(ref.key)
        if found is not None:
            schemas[ref.key] = SourceSchema(
                found.kind,
                found.name,
                tuple(c for c, _ in found.columns),
                tuple(t for _, t in found.columns),
            )
    return prepared.lineage(schemas)


def test_fixture_file_has_enough_distinct_cases() -> None:
    assert len(CASES) >= 40
    assert len(set(IDS)) == len(IDS), "case titles must be unique"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_column_lineage(case: Case) -> None:
    lineage = lineage_of(case)
    if case.unresolved is not None:
        assert lineage.unresolved is not None and case.unresolved in lineage.unresolved, (
            lineage.unresolved
        )
        assert lineage.columns == ()
        return
    assert lineage.unresolved is None, lineage.unresolved
    found = tuple(
        (c.name, tuple(str(v) for v in c.value), tuple(str(f) for f in c.filter))
        for c in lineage.columns
    )
    assert found == case.expected


def _sample(duck_type: str) -> str:
    """A literal of ``duck_type``, so that a file's sniffed types are the declared ones."""
    upper = duck_type.upper()
    if upper.startswith(("VARCHAR", "TEXT")):
        return "'x'"
    if upper.startswith("DATE"):
        return "DATE '2024-01-01'"
    if upper.startswith("TIMESTAMP"):
        return "TIMESTAMP '2024-01-01 10:00:00'"
    if upper.startswith("BOOL"):
        return "true"
    return f"CAST(1 AS {duck_type})"


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.unresolved is None],
    ids=[i for i, c in zip(IDS, CASES, strict=True) if c.unresolved is None],
)
def test_duckdb_binds_the_case_and_names_the_same_columns(case: Case, tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{tmp_path}'")
    for source in case.sources:
        cols = ", ".join(f'"{c}" {t}' for c, t in source.columns)
        if source.kind == "file":
            path = tmp_path / source.name
            path.parent.mkdir(parents=True, exist_ok=True)
            values = ", ".join(f'{_sample(t)} AS "{c}"' for c, t in source.columns)
            con.execute(f"COPY (SELECT {values}) TO '{path}'")
            continue
        *schema, name = source.name.split(".")
        if schema:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema[0]}")
        con.execute(f"CREATE TABLE {source.name} ({cols})")
    sql = analyze_sql(case.sql, path="case.sql", dialect=case.dialect).sql
    described = [r[0] for r in con.execute(f"DESCRIBE {sql}").fetchall()]
    lineage = lineage_of(case)
    assert len(described) == len(lineage.columns)
    for ours, theirs in zip(lineage.columns, described, strict=True):
        if ours.named:
            assert ours.name.lower() == theirs.lower()


def test_an_error_inside_sqlglot_is_a_stated_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlglot asserts on shapes it does not know; lineage says so and never crashes."""
    import sqlglot.optimizer.qualify

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("PIVOT ... is not <class 'Selectable'>.")

    monkeypatch.setattr(sqlglot.optimizer.qualify, "qualify", broken)
    lineage = prepare("select a from t").lineage({"t": SourceSchema("table", "t", ("a",))})
    assert lineage.unresolved == (
        "cannot analyze: AssertionError: PIVOT ... is not <class 'Selectable'>."
    )
    assert lineage.columns == ()


@pytest.mark.parametrize(
    "sql",
    [
        "select p.region from (pivot sales on month in ('jan') using sum(amount)"
        " group by region) as p",
        "with long as (unpivot sales on jan, amount into name quarter value revenue)"
        " select quarter from long",
    ],
    ids=["pivot statement in a subquery", "unpivot statement in a cte"],
)
def test_sqlglot_logs_nothing_during_lineage(sql: str, caplog: pytest.LogCaptureFixture) -> None:
    """sqlglot warns "Cannot traverse scope ..." through its logger (printed on stderr
    by default): library code must stay quiet."""
    schemas = {"sales": SourceSchema("table", "sales", ("region", "month", "amount", "jan"))}
    with caplog.at_level("DEBUG"):
        prepare(sql).lineage(schemas)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot")] == []
