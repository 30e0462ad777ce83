"""Fingerprints ignore formatting and comments, and change with anything that matters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import tokenize
from sqlglot.tokens import TokenType

from assets_orch.sql import analyze_sql
from assets_orch.sql.columns import QueryLineage, SourceSchema, prepare
from assets_orch.sql.fingerprint import fingerprint_sql

FIXTURES = Path(__file__).parent / "sql_fixtures"

BASE = """
with paid as (
    select o.id, o.customer_id, o.amount * 1.2 as gross, 'EUR' as currency
    from staging.orders as o
    where o.status = 'paid' and o.amount > 10
)
select c.name, sum(p.gross) as total, count(*) filter (where p.gross > 100) as big
from paid p
left join customers c on c.id = p.customer_id
group by all
having sum(p.gross) > 0
order by total desc
limit 10
"""

SAME_AS_BASE = {
    "one line": " ".join(BASE.split()),
    "upper keywords and names": BASE.upper().replace("'PAID'", "'paid'").replace("'EUR'", "'EUR'"),
    "comments everywhere": "-- header: yes\n/* block */" + BASE.replace("\n", " -- note\n"),
    "trailing semicolon": BASE + ";\n\n",
    "tabs and blank lines": BASE.replace("    ", "\t").replace("\n", "\n\n"),
    "comment between keywords": BASE.replace("left join", "left /* why */ join"),
}

DIFFERENT_FROM_BASE = {
    "predicate value": BASE.replace("o.amount > 10", "o.amount > 11"),
    "predicate operator": BASE.replace("o.amount > 10", "o.amount >= 10"),
    "string literal": BASE.replace("'paid'", "'PAID'"),
    "string literal case of currency": BASE.replace("'EUR'", "'eur'"),
    "join kind": BASE.replace("left join", "inner join"),
    "join condition": BASE.replace("c.id = p.customer_id", "c.id = p.id"),
    "projection": BASE.replace("c.name,", "c.name, c.city,"),
    "alias": BASE.replace("as total", "as total_amount").replace("by total", "by total_amount"),
    "order direction": BASE.replace("order by total desc", "order by total asc"),
    "limit": BASE.replace("limit 10", "limit 11"),
    "table": BASE.replace("staging.orders", "raw.orders"),
    "quoted alias case": BASE.replace("as big", 'as "Big"'),
    "arithmetic": BASE.replace("* 1.2", "* 1.3"),
}


def test_same_query_same_fingerprint_across_calls() -> None:
    assert fingerprint_sql(BASE) == fingerprint_sql(BASE)
    assert len(fingerprint_sql(BASE)) == 64
    int(fingerprint_sql(BASE), 16)


@pytest.mark.parametrize("variant", SAME_AS_BASE.values(), ids=SAME_AS_BASE.keys())
def test_formatting_does_not_change_fingerprint(variant: str) -> None:
    assert fingerprint_sql(variant) == fingerprint_sql(BASE)


@pytest.mark.parametrize("variant", DIFFERENT_FROM_BASE.values(), ids=DIFFERENT_FROM_BASE.keys())
def test_meaningful_change_changes_fingerprint(variant: str) -> None:
    assert variant != BASE, "the replacement did not apply"
    assert fingerprint_sql(variant) != fingerprint_sql(BASE)


def test_all_different_variants_differ_from_each_other() -> None:
    prints = [fingerprint_sql(v) for v in DIFFERENT_FROM_BASE.values()]
    assert len(set(prints)) == len(prints)


def test_analysis_fingerprint_matches_fingerprint_sql_and_ignores_the_header() -> None:
    text = "-- description: totals\n-- tags: [finance]\n" + BASE
    assert analyze_sql(text, path="x.sql").fingerprint == fingerprint_sql(BASE)


def test_quoted_identifier_case_matters_unquoted_does_not() -> None:
    unquoted = fingerprint_sql("select Amount from Orders")
    assert unquoted == fingerprint_sql("select amount from orders")
    assert fingerprint_sql('select "Amount" from t') != fingerprint_sql('select "amount" from t')


def test_fingerprint_is_stable_across_processes() -> None:
    """No hash randomization or set ordering leaks into the fingerprint."""
    code = (
        "import sys; from assets_orch.sql.fingerprint import fingerprint_sql as f; "
        "print(f(sys.argv[1]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, BASE],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parents[1],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout.strip()
        for seed in (1, 2)
    }
    assert outputs == {fingerprint_sql(BASE)}


def test_transpiled_query_fingerprints_like_its_duckdb_twin() -> None:
    snowflake = "select a, b from t qualify row_number() over (partition by a order by b) = 1"
    assert fingerprint_sql(snowflake, dialect="snowflake") == fingerprint_sql(snowflake)


_SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\t", " /* x */ ", " -- c\n", "\r\n"])
_KEEP_CASE = {TokenType.STRING, TokenType.IDENTIFIER, TokenType.NATIONAL_STRING}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_reformatting_keeps_fingerprint(data: st.DataObject) -> None:
    """Re-join BASE's tokens with random whitespace/comments and random keyword case."""
    pieces = []
    for token in tokenize(BASE, read="duckdb"):
        text = BASE[token.start : token.end + 1]
        if token.token_type not in _KEEP_CASE:
            text = data.draw(st.sampled_from([text, text.upper(), text.lower()]))
        pieces.append(text)
        pieces.append(data.draw(_SEPARATORS))
    assert fingerprint_sql("".join(pieces)) == fingerprint_sql(BASE)


# ---- pairs of queries: tests/sql_fixtures/fingerprints.sql ---------------------------


@dataclass(frozen=True)
class Pair:
    title: str
    schemas: dict[str, SourceSchema]
    dialect: str
    changes: frozenset[str]  # "nothing", "code", "rows" and column names
    first: str
    second: str


def _schemas(text: str) -> dict[str, SourceSchema]:
    out = {}
    for item in (i.strip() for i in text.split(";")):
        name, _, cols = item.partition("(")
        columns = tuple(c.split()[0] for c in cols.rstrip(")").split(","))
        out[name.strip().lower()] = SourceSchema("asset", name.strip(), columns)
    return out


def load_pairs(path: Path) -> list[Pair]:
    pairs = []
    for block in re.split(r"^-- title:", path.read_text(), flags=re.MULTILINE)[1:]:
        title, _, body = block.partition("\n")
        directives: dict[str, str] = {}
        lines = body.splitlines()
        while lines and (match := re.match(r"--\s*(schema|dialect|changes):(.*)$", lines[0])):
            directives[match.group(1)] = match.group(2).strip()
            lines.pop(0)
        first, _, second = "\n".join(lines).partition("-- versus:")
        assert second.strip(), f"case {title!r} has no `-- versus:` query"
        pairs.append(
            Pair(
                title.strip(),
                _schemas(directives["schema"]) if "schema" in directives else {},
                directives.get("dialect", "duckdb"),
                frozenset(c.strip() for c in directives["changes"].split(",")),
                first.strip(),
                second.strip(),
            )
        )
    return pairs


PAIRS = load_pairs(FIXTURES / "fingerprints.sql")
PAIR_IDS = [re.sub(r"\W+", "-", p.title).strip("-") for p in PAIRS]


def _lineage(sql: str, schemas: dict[str, SourceSchema]) -> QueryLineage:
    prepared = prepare(sql)
    lineage = prepared.lineage({r.key: schemas[r.key] for r in prepared.refs})
    assert lineage.unresolved is None, lineage.unresolved
    return lineage


def test_fingerprint_pairs_have_distinct_titles() -> None:
    assert len(set(PAIR_IDS)) == len(PAIR_IDS)


@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_fingerprint_pairs(pair: Pair) -> None:
    """Formatting changes nothing; a change of meaning changes exactly what it decides."""
    a = analyze_sql(pair.first, path="a.sql", dialect=pair.dialect)
    b = analyze_sql(pair.second, path="b.sql", dialect=pair.dialect)
    assert (a.fingerprint != b.fingerprint) == (pair.changes != {"nothing"}), "code"
    first, second = _lineage(a.sql, pair.schemas), _lineage(b.sql, pair.schemas)
    assert [c.name.lower() for c in first.columns] == [c.name.lower() for c in second.columns]
    changed = {
        c.name.lower()
        for c, d in zip(first.columns, second.columns, strict=True)
        if c.fingerprint != d.fingerprint
    }
    if first.rows_fingerprint != second.rows_fingerprint:
        changed.add("rows")
    assert changed == pair.changes - {"nothing", "code"}
