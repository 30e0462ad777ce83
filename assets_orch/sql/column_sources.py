"""FROM and JOIN items for the column-lineage walk: real tables and files (placeholders
with known schemas), CTEs, derived tables, lateral subqueries, UNNEST, VALUES, table
functions and PIVOT. Each item is registered under its alias in the scope's sources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from assets_orch.sql.column_scope import (
    EMPTY,
    Col,
    Deps,
    Env,
    Result,
    Source,
    Unresolved,
    alias_columns,
    digest,
    renamed,
    structure,
    union,
)

if TYPE_CHECKING:
    from assets_orch.sql.column_walk import Walker
    from assets_orch.sql.columns import SourceSchema


def using_column(walker: Walker, ident: exp.Expr, env: Env, join: exp.Join) -> Deps:
    """A USING column left unconverted reads the column on both sides."""
    name = ident.name.lower()
    found = [s.result.by_name[name].deps for s in env.sources.values() if name in s.result.by_name]
    if not found:
        raise Unresolved(f"USING column {ident.name} is in no source")
    merged = union(found)
    return Deps(merged.value, merged.filter, digest("using", *(d.fp for d in found)))


def from_item(walker: Walker, item: exp.Expr, env: Env, ctes: dict[str, Result]) -> Source:
    """Register a FROM/JOIN item under its alias; return it."""
    alias = item.alias_or_name
    if isinstance(item, exp.Table):
        source = _table(walker, item, env, ctes)
    elif isinstance(item, exp.Subquery):
        result = renamed(walker.query(item.this, ctes, env), item.args.get("alias"))
        result = walker.limited(item, result, ctes, env) if item.this is not item else result
        source = Source(f"derived:{result.rows_fp}", result)
    elif isinstance(item, exp.Unnest):
        source = _unnest(walker, item, env, ctes)
    elif isinstance(item, exp.Lateral):
        inner = item.this
        result = renamed(
            walker.query(inner.this if isinstance(inner, exp.Subquery) else inner, ctes, env),
            item.args.get("alias"),
        )
        source = Source(f"lateral:{result.rows_fp}", result)
    elif isinstance(item, exp.Values):
        result = walker.values(item)
        source = Source(f"values:{result.rows_fp}", result)
    else:
        raise Unresolved(f"FROM item {item.sql(dialect='duckdb')[:60]} is not supported")
    for pivot in item.args.get("pivots") or []:
        source = _pivot(walker, pivot, source, alias, env, ctes)
        alias = pivot.alias or alias
    env.sources[alias.lower()] = source
    return source


def _table(walker: Walker, item: exp.Table, env: Env, ctes: dict[str, Result]) -> Source:
    this = item.this
    if isinstance(this, exp.Identifier):
        name = this.name
        if not item.args.get("db") and not item.args.get("catalog"):
            schema = walker.sources.get(name)
            if schema is not None:
                return _real(walker, schema, item)
            if name.lower() in ctes:
                return Source(f"cte:{ctes[name.lower()].rows_fp}", ctes[name.lower()])
        raise Unresolved(f"table {item.sql(dialect='duckdb')} has no known schema")
    if isinstance(this, exp.Func):
        # A table function that reads no file (range, generate_series, ...): its
        # columns come from nothing upstream.
        fp = digest("function", structure(this))
        names = alias_columns(item.args.get("alias"))
        if not names:
            raise Unresolved(f"table function {this.sql(dialect='duckdb')[:60]} has no column list")
        cols = [Col(n, Deps(fp=digest(fp, n.lower()))) for n in names]
        return Source(f"function:{fp}", Result(cols, rows_fp=fp))
    raise Unresolved(f"FROM item {item.sql(dialect='duckdb')[:60]} is not supported")


def _real(walker: Walker, schema: SourceSchema, item: exp.Table) -> Source:
    cols = []
    renamed = alias_columns(item.args.get("alias"))
    for i, column in enumerate(schema.columns):
        ref = walker.ref(schema.kind, schema.name, column)
        name = renamed[i] if i < len(renamed) else column
        fp = digest("src", schema.kind, schema.name, column.lower())
        cols.append(Col(name, Deps(frozenset({ref}), EMPTY, fp), type=schema.type_of(i)))
    rows_fp = digest("source", schema.kind, schema.name)
    return Source(rows_fp, Result(cols, rows_fp=rows_fp))


def _unnest(walker: Walker, item: exp.Unnest, env: Env, ctes: dict[str, Result]) -> Source:
    args = [walker.expr(e, env, ctes) for e in item.expressions]
    names = alias_columns(item.args.get("alias")) or ["unnest"]
    if len(args) == 1 and len(names) > 1:
        args = args * len(names)  # unnesting a struct list into several columns
    if len(names) != len(args):
        raise Unresolved("UNNEST with a column list of another length")
    fp = digest("unnest", *(d.fp for d in args))
    cols = [
        Col(n, Deps(d.value, d.filter, digest(fp, n.lower()), d.volatile))
        for n, d in zip(names, args, strict=True)
    ]
    return Source(f"unnest:{fp}", Result(cols, rows_fp=fp))


def _pivot(
    walker: Walker, pivot: exp.Pivot, source: Source, alias: str, env: Env, ctes: dict[str, Result]
) -> Source:
    """``FROM t PIVOT (agg(x) FOR k IN (...))``: the other columns group the rows; each
    pivoted column is one aggregate's value, filtered by the FOR columns."""
    if pivot.unpivot:
        return _unpivot(walker, pivot, source, alias, env, ctes)
    inner = source.result
    outputs = pivot.output_columns([c.name for c in inner.cols])
    if not outputs:
        raise Unresolved("PIVOT without an IN list: its columns depend on the data")
    scope = _pivot_scope(source, alias, env)
    fields = [_qualified(f, "__pivot_input") for f in pivot.fields]
    keys = union(walker.expr(f.this if isinstance(f, exp.In) else f, scope, ctes) for f in fields)
    aggs = [
        walker.expr(a.this if isinstance(a, exp.Alias) else a, scope, ctes)
        for a in (_qualified(a, "__pivot_input") for a in pivot.expressions)
    ]
    fp = digest("pivot", structure(pivot))
    out: list[Col] = []
    group: list[Deps] = []
    for name, pre in outputs.items():
        kept = inner.by_name.get(pre.lower())
        if kept is not None:
            out.append(Col(name, kept.deps, kept.named, kept.type))
            group.append(kept.deps)
        else:  # IN values in order, each with every aggregate in order (jan_s, jan_n, ...)
            agg = aggs[(len(out) - len(group)) % len(aggs)]
            deps = Deps(agg.value, agg.filter | keys.all, digest(fp, pre), agg.volatile)
            out.append(Col(name, deps))
    rows = inner.rows | union(group).all
    return Source(f"pivot:{fp}", Result(out, frozenset(rows), digest(fp, inner.rows_fp)))


def _unpivot(
    walker: Walker, pivot: exp.Pivot, source: Source, alias: str, env: Env, ctes: dict[str, Result]
) -> Source:
    """``FROM t UNPIVOT (v FOR n IN (a, b))``: one row per column and input row; ``v``
    holds their values, ``n`` their names; rows whose value is NULL are left out unless
    ``INCLUDE NULLS``. The other columns pass through."""
    inner = source.result
    outputs = pivot.output_columns([c.name for c in inner.cols])
    values = [
        ident
        for e in pivot.expressions
        for ident in (e.expressions if isinstance(e, exp.Tuple) else [e])
        if isinstance(ident, exp.Identifier)
    ]
    (field,) = pivot.fields if len(pivot.fields) == 1 else (None,)
    if not outputs or not isinstance(field, exp.In) or field.find(exp.Columns):
        raise Unresolved(f"{pivot.sql(dialect='duckdb')[:80]} is not supported for lineage")
    scope = _pivot_scope(source, alias, env)
    per_value: list[list[Deps]] = [[] for _ in values]
    for entry in field.expressions:
        target = entry.this if isinstance(entry, exp.PivotAlias) else entry
        parts = target.expressions if isinstance(target, exp.Tuple) else [target]
        if len(parts) != len(values):
            raise Unresolved("UNPIVOT with IN entries of another width than its values")
        for i, part in enumerate(parts):
            per_value[i].append(walker.expr(_qualified(part, "__pivot_input"), scope, ctes))
    read = union(d for ds in per_value for d in ds)
    fp = digest("unpivot", structure(pivot))
    names = {v.name.lower(): union(per_value[i]) for i, v in enumerate(values)}
    out: list[Col] = []
    for name, pre in outputs.items():
        kept = inner.by_name.get(pre.lower())
        if pre.lower() in names:
            d = names[pre.lower()]
            out.append(Col(name, Deps(d.value, d.filter, digest(fp, pre), d.volatile)))
        elif kept is not None:
            out.append(Col(name, kept.deps, kept.named, kept.type))
        else:  # the name column: the unpivoted columns' names
            out.append(Col(name, Deps(fp=digest(fp, pre))))
    rows = inner.rows if pivot.args.get("include_nulls") else inner.rows | read.all
    return Source(f"unpivot:{fp}", Result(out, frozenset(rows), digest(fp, inner.rows_fp)))


def _pivot_scope(source: Source, alias: str, env: Env) -> Env:
    scope = Env(env)
    scope.sources["__pivot_input"] = source
    scope.sources[alias.lower()] = source
    return scope


def _qualified(node: exp.Expr, alias: str) -> exp.Expr:
    """A copy of ``node`` whose unqualified columns name ``alias``."""
    copy = node.copy()
    for column in list(copy.find_all(exp.Column)):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return copy
