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


def pivot_statements(expression: exp.Expr) -> exp.Expr:
    """DuckDB's ``PIVOT t ON k IN (...) USING agg GROUP BY g`` and ``UNPIVOT t ON a, b
    INTO NAME n VALUE v`` statements (qualify cannot scope them, as a query or in a
    subquery or CTE) become the SQL-standard forms, which it can:
    ``SELECT * FROM t PIVOT (agg FOR k IN (...))``, ``... UNPIVOT (v FOR n IN (a, b))``.
    A PIVOT without an ``IN`` list stays: its columns depend on the data."""
    for pivot in reversed(list(expression.find_all(exp.Pivot))):
        source = pivot.args.get("this")
        if not isinstance(source, exp.Expr):
            continue  # already the standard form, on a FROM item
        standard = _standard_unpivot(pivot, source) if pivot.unpivot else _standard_pivot(pivot)
        if standard is None:
            continue
        with_ = pivot.args.get("with_")
        if isinstance(with_, exp.With):
            standard.set("with_", with_.copy())
        if pivot is expression:
            expression = standard
        else:
            pivot.replace(standard)
    return expression


def grouped_pivots(expression: exp.Expr) -> exp.Expr:
    """``FROM t PIVOT (agg FOR k IN (...) GROUP BY g)`` keeps only ``g`` and the pivoted
    columns, which sqlglot does not know: pivot a derived table of exactly those."""
    for pivot in list(expression.find_all(exp.Pivot)):
        group = pivot.args.get("group")
        item = pivot.parent
        if group is None or pivot.unpivot or not isinstance(item, (exp.Table, exp.Subquery)):
            continue
        keep = _pivot_inputs(pivot, group)
        if keep is None:
            continue
        pivot.set("group", None)
        bare = item.copy()
        bare.set("pivots", None)
        derived = exp.Subquery(
            this=exp.select(*keep).from_(bare),
            alias=exp.TableAlias(this=exp.to_identifier(UNNAMED)),
            pivots=[pivot.copy()],
        )
        item.replace(derived)
    return expression


def series_columns(expression: exp.Expr) -> exp.Expr:
    """``FROM range(5)`` has one column named ``range`` (``generate_series``), and with an
    alias but no column list (``generate_series(...) AS d``, Postgres style) one named
    like the alias, as in DuckDB: give them that column list, in a derived table (sqlglot
    resolves ``d`` in a later LATERAL subquery only against a derived table)."""
    for table in list(expression.find_all(exp.Table)):
        func = table.this
        alias = table.args.get("alias")
        if not isinstance(func, exp.GenerateSeries) or (alias is not None and alias.columns):
            continue
        default = "range" if func.args.get("is_end_exclusive") else "generate_series"
        name = alias.this if alias is not None else exp.to_identifier(default)
        inner = exp.Table(
            this=func.copy(), alias=exp.TableAlias(this=name.copy(), columns=[name.copy()])
        )
        derived = exp.Subquery(
            this=exp.select("*").from_(inner), alias=exp.TableAlias(this=name.copy())
        )
        if table is expression:
            return derived
        table.replace(derived)
    return expression


def implicit_laterals(expression: exp.Expr) -> exp.Expr:
    """``FROM c, (SELECT ... WHERE o.cid = c.id) x``: DuckDB makes a derived table that
    names an earlier FROM item lateral; sqlglot needs the keyword to resolve ``c.id``."""
    for select in expression.find_all(exp.Select):
        from_ = select.args.get("from_")
        if not isinstance(from_, exp.From):
            continue
        seen = {from_.this.alias_or_name.lower()}
        for join in select.args.get("joins") or []:
            item = join.this
            if isinstance(item, exp.Subquery) and _names_outside(item, seen):
                alias = item.args.get("alias")
                bare = item.copy()
                bare.set("alias", None)
                join.set("this", exp.Lateral(this=bare, alias=alias.copy() if alias else None))
            seen.add(item.alias_or_name.lower())
    return expression


def _names_outside(subquery: exp.Subquery, outer: set[str]) -> bool:
    """Whether ``subquery`` qualifies a column with one of ``outer``, not defined inside."""
    inside = {
        n.alias_or_name.lower() for n in subquery.this.find_all(exp.Table, exp.Subquery, exp.CTE)
    }
    return any(
        c.table.lower() in outer and c.table.lower() not in inside
        for c in subquery.this.find_all(exp.Column)
        if c.table
    )


def _standard_pivot(pivot: exp.Pivot) -> exp.Select | None:
    ons = pivot.expressions
    if not ons or not all(isinstance(o, exp.In) for o in ons):
        return None
    aggs = pivot.args.get("using") or [exp.Count(this=exp.Star())]  # DuckDB's default
    fors = " ".join(o.sql(dialect="duckdb") for o in ons)
    using = ", ".join(a.sql(dialect="duckdb") for a in aggs)
    group = pivot.args.get("group")
    grouped = f" {group.sql(dialect='duckdb')}" if group is not None else ""
    text = f"SELECT * FROM {pivot.this.sql(dialect='duckdb')} PIVOT ({using} FOR {fors}{grouped})"
    select = _parse(text)
    return select if isinstance(select, exp.Select) else None


def _standard_unpivot(pivot: exp.Pivot, source: exp.Expr) -> exp.Select | None:
    ons = pivot.expressions
    if not ons or not all(isinstance(o, (exp.Column, exp.Columns)) for o in ons):
        return None
    into = pivot.args.get("into")
    name, value = "name", "value"
    if isinstance(into, exp.UnpivotColumns):
        values = into.expressions
        if len(values) != 1:
            return None
        name, value = into.this.sql(dialect="duckdb"), values[0].sql(dialect="duckdb")
    columns = ", ".join(o.sql(dialect="duckdb") for o in ons)
    text = (
        f"SELECT * FROM {source.sql(dialect='duckdb')} UNPIVOT ({value} FOR {name} IN ({columns}))"
    )
    select = _parse(text)
    return select if isinstance(select, exp.Select) else None


def _pivot_inputs(pivot: exp.Pivot, group: exp.Expr) -> list[exp.Expr] | None:
    """The columns a grouped PIVOT reads: its groups, its FOR columns, its aggregates'."""
    keep: dict[str, exp.Expr] = {}
    for key in group.expressions:
        if not isinstance(key, exp.Column):
            return None
        keep.setdefault(key.name.lower(), exp.column(key.name))
    for node in [*pivot.fields, *pivot.expressions]:
        target = node.this if isinstance(node, exp.In) else node
        for column in target.find_all(exp.Column):
            keep.setdefault(column.name.lower(), exp.column(column.name))
    return list(keep.values())


def _parse(text: str) -> exp.Expr:
    import sqlglot

    return sqlglot.parse_one(text, read="duckdb")


REWRITES: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    inline_table_functions,
    pivot_statements,
    grouped_pivots,
    series_columns,
    implicit_laterals,
)


def rewrite(expression: exp.Expr) -> exp.Expr:
    """Apply every rewrite of :data:`REWRITES`, in order."""
    for step in REWRITES:
        expression = step(expression)
    return expression
