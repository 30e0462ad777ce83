"""The parts of a SELECT the column-lineage walk reads besides its expressions: the
names and number of its output columns, positional references (``#1``), named
windows, LIMIT/OFFSET and samples.
"""

from __future__ import annotations

from sqlglot import exp

from assets_orch.sql.column_scope import WRITTEN, Col, Env, Unresolved, structure


def window_definition(
    node: exp.Window, env: Env
) -> tuple[list[exp.Expr], exp.Expr | None, exp.Expr | None]:
    """PARTITION BY, ORDER BY and frame of a window, through the named windows it
    builds on (``OVER w``, ``OVER (w ROWS ...)``, ``WINDOW w2 AS (w ORDER BY x)``)."""
    partition_by = list(node.args.get("partition_by") or [])
    order, spec = node.args.get("order"), node.args.get("spec")
    base, seen = node.args.get("alias"), set()
    while base is not None:
        name = base.name.lower()
        named = env.windows.get(name)
        if named is None or name in seen:
            raise Unresolved(f"window {base.name} is not defined in its SELECT")
        seen.add(name)
        partition_by = partition_by or list(named.args.get("partition_by") or [])
        order = order if order is not None else named.args.get("order")
        spec = spec if spec is not None else named.args.get("spec")
        base = named.args.get("alias")
    return partition_by, order, spec


def limits(node: exp.Expr) -> str:
    """The LIMIT and OFFSET of a query, as text (empty without either)."""
    return ":".join(
        structure(part) if part is not None else ""
        for part in (node.args.get("limit"), node.args.get("offset"))
    ).strip(":")


def is_all(ordered: exp.Expr) -> bool:
    this = ordered.this if isinstance(ordered, exp.Ordered) else ordered
    return isinstance(this, exp.Var) and this.name.upper() == "ALL"


def samples(node: exp.Select) -> str:
    """The samples a SELECT takes (``USING SAMPLE``, ``TABLESAMPLE`` of an item), as text."""
    from_ = node.args.get("from_")
    owners: list[exp.Expr] = [node, from_.this] if isinstance(from_, exp.From) else [node]
    owners += [j.this for j in node.args.get("joins") or []]
    found = [o.args.get("sample") for o in owners]
    return ",".join(structure(s) for s in found if isinstance(s, exp.Expr))


def output_name(
    projection: exp.Expr, inner: exp.Expr, env: Env, passed: Col | None
) -> tuple[str, bool]:
    """The name DuckDB gives a projection, and whether it is known before the build.

    An alias is named as written (qualify lower-cases it); a column, or ``#1``, by its
    source column (``amount`` of a table holding ``Amount`` is ``Amount``); any other
    unaliased expression by DuckDB's rendering of it (``CAST(a AS VARCHAR)``,
    ``count_star()``), known once built.
    """
    name = projection.alias_or_name
    written = projection.meta.get(WRITTEN)
    if (
        isinstance(projection, exp.Alias)
        and written is not None
        and written.lower() == name.lower()
    ):
        return written, True
    if isinstance(inner, exp.PositionalColumn):
        position = positional(inner, env)
        return position.name, position.named
    if isinstance(inner, exp.Column):
        if passed is not None and passed.name.lower() == name.lower():
            return passed.name, passed.named
        return name, True  # * RENAME (a AS b), or a struct field
    return name, isinstance(inner, exp.Dot)  # struct field access: named by the field


def source_col(node: exp.Expr, env: Env) -> Col | None:
    """The source column a qualified column reads (None for anything else)."""
    if not isinstance(node, exp.Column):
        return None
    table = node.args.get("table")
    if table is None or node.args.get("db") is not None:  # unqualified, or a struct field
        return None
    source = env.find(table.name)
    return source.result.by_name.get(node.name.lower()) if source is not None else None


# Expressions whose value is a list: unnest() of them in a SELECT list gives one column.
_LISTS = (exp.Array, exp.Split, exp.RegexpSplit, exp.GenerateSeries, exp.ArrayAgg)


def one_column(inner: exp.Expr, env: Env) -> None:
    """A projection is one column, except a struct's ``*`` and ``unnest()`` of a struct
    (or with ``recursive := true``), which give one column per field: those are gaps
    unless the argument is known to be a list."""
    if isinstance(inner, exp.Dot) and isinstance(inner.expression, exp.Star):
        raise Unresolved(
            f"{inner.sql(dialect='duckdb')} expands a struct, whose fields are not known"
        )
    if not isinstance(inner, exp.Explode):
        return
    text = inner.sql(dialect="duckdb")
    if inner.expressions:  # recursive := true, max_depth := n
        raise Unresolved(f"{text} expands structs, whose fields are not known")
    arg = inner.this
    if isinstance(arg, _LISTS):
        return
    col = source_col(arg, env)
    kind = col.type if col is not None else None
    if kind is None:
        raise Unresolved(
            f"{text} gives one column per field if its argument is a struct: "
            "known once the type of its argument is (build its upstream)"
        )
    if not kind.rstrip().endswith("]"):
        raise Unresolved(f"{text} expands a {kind.split('(')[0]}, whose fields are not known")


def positions(env: Env) -> list[Col]:
    """The columns ``#1``, ``#2``... name: every column of the FROM items, in order (a
    USING join keeps both sides' columns, as in DuckDB)."""
    return [c for s in env.sources.values() for c in s.result.cols]


def positional(node: exp.PositionalColumn, env: Env) -> Col:
    found: Env | None = env
    while found is not None and found.positions is None:
        found = found.parent
    index = int(node.this.name) if isinstance(node.this, exp.Literal) else 0
    if found is None or found.positions is None or not 0 < index <= len(found.positions):
        raise Unresolved(f"{node.sql(dialect='duckdb')} names no column of the FROM clause")
    return found.positions[index - 1]
