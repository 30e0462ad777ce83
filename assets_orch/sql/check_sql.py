"""What a check's SQL reads: the tables and files of ``sql:`` and ``expression:`` checks.

Checks run in DuckDB as written (they are not transpiled), so they are parsed in the
DuckDB dialect, with the same scope rules as an asset's query. An ``expression`` is
parsed inside the query it becomes, ``SELECT * FROM <asset> WHERE NOT (<expression>)``;
the asset itself is not one of its reads. Parsing also validates: a check that is not a
query (or not an expression) is a SqlError here, at load, not a failed build later.

>>> reads = check_reads("sql", "select * from orders o where not exists "
...                     "(select 1 from customers c where c.id = o.customer_id)")
>>> [t.name for t in reads.tables], reads.files
(['customers', 'orders'], ())
>>> [t.name for t in check_reads("expression", "amount <= (select max(x) from limits)").tables]
['limits']
"""

from __future__ import annotations

from dataclasses import dataclass

from assets_orch.errors import SqlError
from assets_orch.sql.analysis import TableRef

# Stands for the asset in an expression check; no asset can be called this.
_TARGET = "__assets_orch_check_target__"


@dataclass(frozen=True)
class CheckReads:
    """The tables and files one check reads (the asset's own table included, if named)."""

    tables: tuple[TableRef, ...]
    files: tuple[str, ...]


def check_reads(kind: str, text: str) -> CheckReads:
    """Parse the SQL of a ``sql`` or ``expression`` check and find what it reads.

    Raises SqlError saying what is wrong (its line and column are relative to the
    check's text; the caller places it in the asset's file).
    """
    from assets_orch.sql.parse import parse_query
    from assets_orch.sql.upstreams import find_upstreams

    if kind == "expression":
        _one_expression(text)
        query = f"SELECT * FROM {_TARGET} WHERE NOT (\n{text}\n)"
    else:
        query = text
    try:
        parsed = parse_query(query, path="check", dialect="duckdb")
    except SqlError as e:
        message = e.message.replace(_TARGET, "the asset").replace(" in file", "")
        message = message.replace("in an asset file", "in a sql check")
        raise SqlError(message, hint=HINT) from e
    tables, files = find_upstreams(parsed)
    return CheckReads(tuple(t for t in tables if t.name != _TARGET), files)


HINT = (
    "a sql check is one SELECT that returns the failing rows; an expression check is a "
    "condition every row must meet, such as 'amount >= 0'"
)


def _one_expression(text: str) -> None:
    """Refuse what is not exactly one SQL expression (``a) or (b`` parses only wrapped)."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import ParseError, TokenError

    try:
        node = parse_one(text, dialect="duckdb")
    except (ParseError, TokenError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SqlError(f"invalid SQL expression: {first}", hint=HINT) from e
    except (TypeError, ValueError, RecursionError) as e:  # odd input in the C parser
        raise SqlError(f"invalid SQL expression: {e}", hint=HINT) from e
    if isinstance(node, exp.Query | exp.DDL | exp.DML | exp.Command):
        raise SqlError("an expression check is a condition, not a statement", hint=HINT)
