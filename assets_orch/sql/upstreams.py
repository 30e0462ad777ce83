"""Upstream inference: which tables and files a parsed query reads.

CTE names are resolved lexically, scope by scope, the way DuckDB resolves them: a
reference is a CTE only when it is unqualified and a ``WITH`` that encloses it defines
that name *before* it (or, under ``WITH RECURSIVE``, it is the UNION-shaped CTE itself). So in
``with orders as (select * from orders) select * from orders`` the inner ``orders`` is the
real table, and a CTE ``customer`` never hides ``s2.customer``.

We walk the tree ourselves rather than use ``sqlglot.optimizer.scope.traverse_scope``: the
scope builder skips DuckDB's PIVOT statement and matches CTE names case-sensitively, while
DuckDB matches every identifier case-insensitively (``WITH Foo ... FROM foo`` is the CTE).
The walk carries the set of visible CTE names down the tree, which is exactly the scope
rule, and visits every node, so no construct (lateral joins, subqueries in any clause,
PIVOT, set operations) can hide a table.

>>> from assets_orch.sql.parse import parse_query
>>> tables, files = find_upstreams(parse_query(
...     "with o as (select * from orders) select * from o join read_csv('data/c.csv') using (id)",
...     path="x.sql"))
>>> [t.qualified for t in tables], files
(['orders'], ('data/c.csv',))
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from assets_orch.sql.analysis import TableRef

if TYPE_CHECKING:
    from assets_orch.sql.parse import ParsedQuery

# DuckDB table functions whose first argument is a file path, a glob or a list of them.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "read_xlsx",
        "read_avro",
        "delta_scan",
        "iceberg_scan",
        "sqlite_scan",
        "parquet_metadata",
        "parquet_schema",
    }
)

# A FROM name (quoted) that DuckDB's replacement scans turn into a file read.
_FILE_SUFFIX = re.compile(
    r"\.(csv|tsv|txt|dat|parquet|json|jsonl|ndjson|xlsx|arrow|avro)"
    r"(\.(gz|gzip|zst|zstd|bz2|xz|lz4|snappy))?$",
    re.IGNORECASE,
)


def looks_like_file(name: str) -> bool:
    """Whether an unqualified FROM name is a file path, glob or URL rather than a table.

    >>> looks_like_file("data/orders.csv"), looks_like_file("x.parquet"), looks_like_file("orders")
    (True, True, False)
    """
    return (
        "/" in name
        or "\\" in name
        or "*" in name
        or "://" in name
        or _FILE_SUFFIX.search(name) is not None
    )


def find_upstreams(parsed: ParsedQuery) -> tuple[tuple[TableRef, ...], tuple[str, ...]]:
    """The real tables (sorted by qualified name, distinct) and file sources (sorted) read."""
    found: dict[tuple[str | None, str | None, str], TableRef] = {}
    files: set[str] = set()
    stack: list[tuple[exp.Expr, frozenset[str]]] = [(parsed.expression, frozenset())]
    while stack:
        node, ctes = stack.pop()
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = _push_ctes(with_, ctes, stack)
        if isinstance(node, exp.Table):
            skip = _visit_table(node, ctes, parsed, found, files)
        else:
            skip = ()
        for child in node.iter_expressions():
            if child is not with_ and not any(child is s for s in skip):
                stack.append((child, ctes))
    tables = sorted(found.values(), key=lambda t: (t.qualified, t.catalog or "", t.schema or ""))
    return tuple(tables), tuple(sorted(files))


def table_nodes(expression: exp.Expr) -> list[tuple[exp.Table, bool]]:
    """Every FROM item of ``expression`` that is a table, a table function or a quoted file,
    with whether it names a visible CTE (same scope rules as :func:`find_upstreams`)."""
    out: list[tuple[exp.Table, bool]] = []
    stack: list[tuple[exp.Expr, frozenset[str]]] = [(expression, frozenset())]
    while stack:
        node, ctes = stack.pop()
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = _push_ctes(with_, ctes, stack)
        if isinstance(node, exp.Table):
            this = node.this
            is_cte = (
                isinstance(this, exp.Identifier)
                and node.args.get("db") is None
                and node.args.get("catalog") is None
                and this.name.lower() in ctes
            )
            out.append((node, is_cte))
        for child in node.iter_expressions():
            if child is not with_:
                stack.append((child, ctes))
    return out


def _push_ctes(
    with_: exp.With, ctes: frozenset[str], stack: list[tuple[exp.Expr, frozenset[str]]]
) -> frozenset[str]:
    """Queue each CTE body with the names it can see; return the names the body sees."""
    names = [cte.alias_or_name.lower() for cte in with_.expressions]
    recursive = bool(with_.args.get("recursive"))
    for index, cte in enumerate(with_.expressions):
        # A CTE sees the ones before it; under WITH RECURSIVE, DuckDB also lets a
        # UNION-shaped body see itself (any other body reading its own name reads the table).
        self_visible = recursive and isinstance(cte.this, exp.Union)
        visible = names[: index + 1] if self_visible else names[:index]
        stack.append((cte, ctes.union(visible)))
    for key, value in with_.args.items():
        if key != "expressions" and isinstance(value, exp.Expr):
            stack.append((value, ctes))
    return ctes.union(names)


def _visit_table(
    node: exp.Table,
    ctes: frozenset[str],
    parsed: ParsedQuery,
    found: dict[tuple[str | None, str | None, str], TableRef],
    files: set[str],
) -> tuple[exp.Expr, ...]:
    """Record what a FROM item reads; return the children that are its name parts."""
    this = node.this
    if isinstance(this, exp.Func):
        if _function_name(this) in FILE_FUNCTIONS:
            files.update(_literal_paths(this))
        return ()
    if not isinstance(this, exp.Identifier):
        return ()
    catalog, db = (
        p if isinstance(p, exp.Identifier) else None
        for p in (node.args.get("catalog"), node.args.get("db"))
    )
    parts: tuple[exp.Expr, ...] = tuple(p for p in (catalog, db, this) if p is not None)
    if catalog is None and db is None:
        if this.name.lower() in ctes:
            return parts  # a CTE reference, not a table
        if this.quoted and looks_like_file(this.name):
            files.add(this.name)
            return parts
    line, col = _position(catalog or db or this, parsed)
    ref = TableRef(
        name=_normalize(this),
        schema=_normalize(db) if db is not None else None,
        catalog=_normalize(catalog) if catalog is not None else None,
        line=line,
        col=col,
    )
    key = (ref.catalog, ref.schema, ref.name)
    previous = found.get(key)
    if previous is None or _earlier(ref, previous):
        found[key] = ref
    return parts


def _normalize(ident: exp.Identifier) -> str:
    """Unquoted names fold to lower case (DuckDB is case-insensitive); quoted stay as written."""
    return ident.name if ident.quoted else ident.name.lower()


def _position(ident: exp.Identifier, parsed: ParsedQuery) -> tuple[int | None, int | None]:
    start = ident.meta.get("start")
    if start is None:
        return None, None
    return parsed.positions.at(int(start))


def _earlier(a: TableRef, b: TableRef) -> bool:
    far = (1 << 62, 0)
    a_pos = (a.line, a.col or 0) if a.line is not None else far
    b_pos = (b.line, b.col or 0) if b.line is not None else far
    return a_pos < b_pos


def _function_name(func: exp.Func) -> str:
    if isinstance(func, exp.Anonymous):
        return str(func.name).lower()
    return func.sql_name().lower()


def _literal_paths(func: exp.Func) -> list[str]:
    first = func.args.get("this")
    if not isinstance(first, exp.Expr):
        first = func.expressions[0] if func.expressions else None
    if isinstance(first, exp.Literal) and first.is_string:
        return [first.this]
    if isinstance(first, exp.Array):
        return [e.this for e in first.expressions if isinstance(e, exp.Literal) and e.is_string]
    return []
