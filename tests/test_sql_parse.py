"""What an asset file may hold, how refusals and parse errors point into the file, and
transpilation from other dialects to DuckDB."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import write_project
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_orch.errors import SqlError
from assets_orch.sql import analyze_sql
from assets_orch.sql.parse import ONE_QUERY_HINT, known_dialects, parse_query

HEADER = "-- description: a model\n-- tags: [x]\n\n"  # the statement starts on line 4

# (statement, the kind named in the message)
REFUSED = [
    ("create table x as select 1", "CREATE TABLE"),
    ("create or replace view v as select 1", "CREATE OR REPLACE VIEW"),
    ("create macro m(a) as a", "CREATE MACRO"),
    ("insert into t select 1", "INSERT"),
    ("insert into t values (1)", "INSERT"),
    ("update t set a = 1", "UPDATE"),
    ("delete from t", "DELETE"),
    ("drop table t", "DROP TABLE"),
    ("alter table t add column c int", "ALTER TABLE"),
    ("merge into t using s on t.a = s.a when matched then delete", "MERGE"),
    ("attach 'x.db' as x", "ATTACH"),
    ("detach x", "DETACH"),
    ("copy t to 'x.csv'", "COPY"),
    ("install httpfs", "INSTALL"),
    ("force install httpfs", "FORCE INSTALL"),
    ("load httpfs", "LOAD"),
    ("set threads = 1", "SET"),
    ("reset threads", "RESET"),
    ("pragma version", "PRAGMA"),
    ("use main", "USE"),
    ("call pragma_version()", "CALL"),
    ("export database 'out'", "EXPORT DATABASE"),
    ("import database 'out'", "IMPORT DATABASE"),
    ("begin transaction", "BEGIN"),
    ("commit", "COMMIT"),
    ("rollback", "ROLLBACK"),
    ("checkpoint", "CHECKPOINT"),
    ("vacuum", "VACUUM"),
    ("describe t", "DESCRIBE"),
    ("show tables", "SHOW"),
    ("summarize t", "SUMMARIZE"),
    ("explain select 1", "EXPLAIN"),
    ("truncate t", "TRUNCATE"),
    ("prepare p as select 1", "PREPARE"),
    ("execute p", "EXECUTE"),
    ("comment on table t is 'x'", "COMMENT"),
    ("analyze", "ANALYZE"),
    ("table t", "TABLE"),
]


@pytest.mark.parametrize(("statement", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_non_queries_are_refused_with_their_line(
    statement: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(SqlError) as info:
        analyze_sql(HEADER + statement + ";\n", path="models/m.sql")
    error = info.value
    assert error.message == f"only a SELECT query is allowed in an asset file; found {kind}"
    assert (error.path, error.line, error.col) == ("models/m.sql", 4, 1)
    assert error.hint
    assert not caplog.records, "sqlglot must not log while we refuse a statement"


# (query, kind, line, col) where the forbidden statement hides inside or after a WITH
HIDDEN = [
    ("with x as (\n  insert into t values (1) returning *\n) select * from x", "INSERT", 5, 3),
    ("with x as (\n  delete from t returning *\n) select * from x", "DELETE", 5, 3),
    ("with x as (select 1)\ninsert into t select * from x", "INSERT", 5, 1),
    ("with x as (select 1)\nupdate t set a = 1", "UPDATE", 5, 1),
]


@pytest.mark.parametrize(("query", "kind", "line", "col"), HIDDEN, ids=[q[1] for q in HIDDEN])
def test_statements_hidden_in_a_query_are_refused(
    query: str, kind: str, line: int, col: int
) -> None:
    with pytest.raises(SqlError) as info:
        analyze_sql(HEADER + query, path="m.sql")
    assert info.value.message.endswith(f"found {kind}")
    assert (info.value.line, info.value.col) == (line, col)


def test_select_into_is_refused_in_dialects_that_parse_it() -> None:
    with pytest.raises(SqlError, match="found SELECT INTO"):
        analyze_sql("select * into backup from t", path="m.sql", dialect="postgres")


ACCEPTED = [
    "select 1",
    "with a as (select 1 as x) select * from a",
    "from t",
    "from t select x",
    "values (1), (2)",
    "pivot t on a using sum(b)",
    "unpivot t on a, b into name k value v",
    "(select 1) union (select 2)",
    "select 1 union all by name select 2",
    "select 1;",
    "select 1 ; ; ",
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_queries_are_accepted(query: str) -> None:
    analyze_sql(query, path="m.sql")


@pytest.mark.parametrize("text", ["", "   \n\n", "-- only a header\n-- more\n", "/* x */ ;\n"])
def test_empty_file(text: str) -> None:
    with pytest.raises(SqlError, match="no query in file") as info:
        analyze_sql(text, path="m.sql")
    assert info.value.path == "m.sql"


def test_second_statement_is_named_by_line() -> None:
    with pytest.raises(SqlError) as info:
        analyze_sql(HEADER + "select 1;\n\n  select 2;\n", path="m.sql")
    assert (info.value.line, info.value.col) == (6, 3)
    assert info.value.hint == ONE_QUERY_HINT


def test_semicolon_inside_string_or_comment_is_not_a_second_statement() -> None:
    analysis = analyze_sql("select 'a;b' as x -- c; d\n/* e; f */", path="m.sql")
    assert analysis.sql == "select 'a;b' as x"


def test_parse_error_points_at_offending_text_in_the_file() -> None:
    text = HEADER + "select a,\n       b c d\nfrom t\n"
    with pytest.raises(SqlError) as info:
        analyze_sql(text, path="m.sql")
    error = info.value
    assert (error.line, error.col) == (5, 12)
    assert "'d'" in error.message
    assert "b c d" in error.message
    assert isinstance(error.__cause__, Exception)
    assert str(error).startswith("m.sql:5:12: invalid SQL")


def test_parse_error_on_first_line_of_a_header_less_file() -> None:
    with pytest.raises(SqlError) as info:
        analyze_sql("select * frm t", path="m.sql")
    assert (info.value.line, info.value.col) == (1, 14)


@pytest.mark.parametrize(
    ("text", "line"),
    [(HEADER + "select 'abc", 4), (HEADER + 'select "abc', 4), (HEADER + "select /* x", None)],
    ids=["single quote", "double quote", "comment"],
)
def test_unclosed_quote_or_comment(text: str, line: int | None) -> None:
    with pytest.raises(SqlError, match="cannot read SQL") as info:
        analyze_sql(text, path="m.sql")
    assert info.value.line == line


def test_unknown_dialect_lists_the_known_ones() -> None:
    with pytest.raises(SqlError, match="unknown SQL dialect 'duckdbb'") as info:
        analyze_sql("select 1", path="m.sql", dialect="duckdbb")
    assert info.value.hint is not None
    for name in ("duckdb", "snowflake", "bigquery"):
        assert name in info.value.hint
    assert "duckdb" in known_dialects()


def test_duckdb_sql_is_the_users_text_without_header_and_semicolon() -> None:
    body = "select a, -- keep me\n  b\nfrom   t"
    analysis = analyze_sql(HEADER + body + " ;\n-- trailing\n", path="m.sql")
    assert analysis.sql == body


def test_parse_query_exposes_the_statement_start() -> None:
    parsed = parse_query(HEADER + "  select 1", path="m.sql")
    assert parsed.start == (4, 3)
    assert parsed.is_duckdb


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema ds")
    con.execute(
        "create table ds.orders as select * from (values "
        "(1, 'a', 5.0, 1), (2, 'a', 50.0, 2), (3, 'b', 20.0, 1)) v(id, customer, amount, seq)"
    )
    return con


def test_snowflake_transpiles_and_runs_on_duckdb(warehouse: duckdb.DuckDBPyConnection) -> None:
    text = (
        "-- dialect: snowflake\n"
        "SELECT ID, IFF(AMOUNT > 10, 'big', 'small') AS SIZE, NVL(CUSTOMER, '?') AS C\n"
        "FROM DS.ORDERS\n"
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY CUSTOMER ORDER BY SEQ DESC) = 1\n"
    )
    analysis = analyze_sql(text, path="m.sql", dialect="snowflake")
    assert [t.qualified for t in analysis.tables] == ["ds.orders"]
    assert "IFF" not in analysis.sql.upper()
    rows = warehouse.execute(analysis.sql + " ORDER BY 1").fetchall()
    assert rows == [(2, "big", "a"), (3, "big", "b")]


def test_bigquery_transpiles_and_runs_on_duckdb(warehouse: duckdb.DuckDBPyConnection) -> None:
    text = (
        "select `customer`, safe_divide(sum(amount), count(*)) as avg_amount\n"
        "from `ds.orders`\n"
        "group by `customer`\n"
        "order by 1"
    )
    analysis = analyze_sql(text, path="m.sql", dialect="bigquery")
    assert [t.qualified for t in analysis.tables] == ["ds.orders"]
    assert "`" not in analysis.sql
    assert warehouse.execute(analysis.sql).fetchall() == [("a", 27.5), ("b", 20.0)]


def test_untranslatable_construct_names_file_line_and_construct() -> None:
    text = "-- dialect: snowflake\nselect id,\n       soundex(name) as s\nfrom people"
    with pytest.raises(SqlError) as info:
        analyze_sql(text, path="models/p.sql", dialect="snowflake")
    error = info.value
    assert (error.path, error.line, error.col) == ("models/p.sql", 3, 8)
    assert "SOUNDEX" in error.message
    assert "Snowflake" in error.message


UNTRANSLATABLE = {
    # sqlglot refuses it: the error points at the function, not at the query's start
    "format argument": (
        "SELECT id,\n       TO_VARCHAR(d, 'YYYY-MM') AS ym\nFROM t",
        (2, 8),
        "TO_VARCHAR(d, 'YYYY-MM')",
    ),
    # sqlglot writes SQL that DuckDB's parser refuses (a comma before CROSS JOIN)
    "lateral flatten": (
        "SELECT e.id, f.value AS tag\nFROM events e,\nLATERAL FLATTEN(input => e.tags) f",
        (3, 9),
        "FLATTEN(input => e.tags) f",
    ),
    "table flatten": (
        "SELECT f.value FROM events e, TABLE(FLATTEN(e.tags)) f",
        (1, 31),
        "TABLE(FLATTEN(e.tags)) f",
    ),
}


@pytest.mark.parametrize(
    ("text", "position", "construct"), UNTRANSLATABLE.values(), ids=UNTRANSLATABLE.keys()
)
def test_untranslatable_snowflake_is_refused_at_load_at_its_construct(
    text: str, position: tuple[int, int], construct: str
) -> None:
    with pytest.raises(SqlError) as info:
        analyze_sql(text, path="models/f.sql", dialect="snowflake")
    error = info.value
    assert (error.line, error.col) == position
    assert error.message.startswith(f"cannot translate this Snowflake SQL to DuckDB: {construct}")


def test_a_flatten_model_fails_at_load_not_at_materialize(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/events.sql": "select 1 as id, ['a', 'b'] as tags",
            "models/tags.sql": (
                "-- dialect: snowflake\n"
                "SELECT e.id, f.value AS tag FROM events e, LATERAL FLATTEN(input => e.tags) f"
            ),
        },
    )
    result = Cli(root)("list", expect=2)
    assert "models/tags.sql:2:" in result.output and "DuckDB cannot parse" in result.output


def test_absurdly_deep_nesting_is_a_sql_error_not_a_crash() -> None:
    deep = "select * from " + "(select * from " * 300 + "t" + ")" * 300
    with pytest.raises(SqlError, match="nested too deeply"):
        analyze_sql(HEADER + deep, path="m.sql")


def test_thousands_of_nested_subqueries_are_refused_before_parsing() -> None:
    # The compiled parser (sqlglotc) overflows the C stack here instead of raising.
    deep = "select * from " + "(select * from " * 20_000 + "t" + ")" * 20_000
    with pytest.raises(SqlError, match="nested too deeply"):
        analyze_sql(HEADER + deep, path="m.sql")


def test_reasonably_deep_nesting_is_fine() -> None:
    deep = "select * from " + "(select * from " * 40 + "t" + ")" * 40
    assert [t.name for t in analyze_sql(deep, path="m.sql").tables] == ["t"]


_WORDS = (
    "select from where with as ( ) , join on union all t u 'x.csv' read_csv 1 * pivot using "
    "sum group by order ; lateral values recursive in exists qualify window over into insert "
    'create table "Q" . = unpivot for name value asof positional limit having case when then '
    "end ::int [1,2] -> $1 ? except distinct not null is vacuum --c\n /*c*/"
).split(" ")


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from(["select ", "with a as (select 1) ", "from ", "pivot ", ""]),
    words=st.lists(st.sampled_from(_WORDS), max_size=16),
)
def test_any_input_gives_an_analysis_or_a_sql_error(start: str, words: list[str]) -> None:
    logger = logging.getLogger("sqlglot")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        analyze_sql(start + " ".join(words), path="fuzz.sql")
    except SqlError:
        pass
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if "Command" in r.getMessage()]


def test_a_byte_order_mark_is_not_part_of_the_query(tmp_path: Path) -> None:
    """Windows editors start UTF-8 files with U+FEFF; it used to be refused as the
    statement keyword ("found \\ufeffSELECT")."""
    analysis = analyze_sql("\ufeffselect id from orders", path="x.sql")
    assert [(t.name, t.line, t.col) for t in analysis.tables] == [("orders", 1, 16)]
    assert analysis.sql == "select id from orders"
    root = write_project(
        tmp_path / "bom",
        {
            "models/orders.sql": "select 1 as id\n",
            "models/bom.sql": "\ufeff-- description: read by a BOM\nselect id from orders\n",
        },
    )
    (bom,) = [a for a in Cli(root).json("list") if a["name"] == "bom"]
    assert bom["upstreams"] == ["orders"] and bom["description"] == "read by a BOM"
