"""Rewrites before column lineage: DuckDB shapes that sqlglot's ``qualify`` does not
follow, turned into equivalent ones that it does. Each rewrite changes the prepared
copy of the query in place (never the SQL that runs) and keeps its meaning exactly;
they run in the order of :data:`REWRITES`.

>>> import sqlglot
>>> rewrite(sqlglot.parse_one("select id from query_table('orders')", read="duckdb")).sql()
'SELECT id FROM (SELECT * FROM orders) AS unnamed_subquery'
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from assets_orch.sql.upstreams import table_function_query

# DuckDB's alias for a subquery written without one.
UNNAMED = "unnamed_subquery"


def inline_table_functions(expression: exp.Expr) -> exp.Expr:
    """``FROM query('select ...')`` and ``FROM query_table('t')`` read a query: make it a
    derived table, so its columns come from what it reads."""
    while True:
        found = [(t, q) for t in expression.find_all(exp.Table) if (q := table_function_query(t))]
        if not found:
            return expression
        for table, query in found:
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(UNNAMED))
            derived = exp.Subquery(this=query, alias=alias.copy())
            if table is expression:
                return derived
            table.replace(derived)


REWRITES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (inline_table_functions,)


def rewrite(expression: exp.Expr) -> exp.Expr:
    """Apply every rewrite of :data:`REWRITES`, in order."""
    for step in REWRITES:
        expression = step(expression)
    return expression
