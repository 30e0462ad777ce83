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

from assets_orch.errors import SqlError
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


def find_upstreams(
    parsed: ParsedQuery, *, path: str | None = None
) -> tuple[tuple[TableRef, ...], tuple[str, ...]]:
    """The real tables (sorted by qualified name, distinct) and file sources (sorted) read.

    Raises SqlError (about ``path``) when the string of a ``query('...')`` is not a query.
    """
    reads = _Reads(parsed, path)
    # (node, visible CTE names, the node standing for it in the file: the string literal
    # of query('...') for what that string reads)
    stack: list[tuple[exp.Expr, frozenset[str], exp.Expr | None]] = [
        (parsed.expression, frozenset(), None)
    ]
    while stack:
        node, ctes, written = stack.pop()
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            queued: list[tuple[exp.Expr, frozenset[str]]] = []
            ctes = _push_ctes(with_, ctes, queued)
            stack += [(n, c, written) for n, c in queued]
        skip: tuple[exp.Expr, ...] = ()
        if isinstance(node, exp.Table):
            inner = reads.run_by(node)
            if inner is not None:
                stack.append((inner[0], ctes, written or inner[1]))
            skip = reads.visit(node, ctes, written)
        for child in node.iter_expressions():
            if child is not with_ and not any(child is s for s in skip):
                stack.append((child, ctes, written))
    tables = sorted(
        reads.found.values(), key=lambda t: (t.qualified, t.catalog or "", t.schema or "")
    )
    return tuple(tables), tuple(sorted(reads.files))


def table_nodes(expression: exp.Expr) -> list[tuple[exp.Table, bool]]:
    """Every FROM item of ``expression`` that is a table, a table function or a quoted file,
    with whether it names a visible CTE (same scope rules as :func:`find_upstreams`).
    ``FROM (SHOW TABLES)`` reads no table and is left out."""
    out: list[tuple[exp.Table, bool]] = []
    stack: list[tuple[exp.Expr, frozenset[str]]] = [(expression, frozenset())]
    while stack:
        node, ctes = stack.pop()
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = _push_ctes(with_, ctes, stack)
        if isinstance(node, exp.Table) and show_target(node) is None:
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


def table_function_query(table: exp.Table) -> exp.Query | None:
    """The query DuckDB runs for ``FROM query('select ...')`` or ``FROM query_table('t')``
    (a list of names: their ``UNION ALL``, ``BY NAME`` when the second argument is true);
    None for any other FROM item. Raises ValueError when the string is not a query.

    >>> import sqlglot
    >>> item = sqlglot.parse_one("select * from query_table(['a', 's.b'], true)").find(exp.Table)
    >>> table_function_query(item).sql()
    'SELECT * FROM a UNION ALL BY NAME SELECT * FROM s.b'
    """
    func = table.this
    if not isinstance(func, exp.Anonymous):
        return None
    name = str(func.name).lower()
    args = func.expressions
    if name == "query" and args and _string(args[0]) is not None:
        import sqlglot
        from sqlglot.errors import SqlglotError

        try:
            inner = sqlglot.parse_one(_string(args[0]) or "", read="duckdb")
        except SqlglotError as e:
            errors = getattr(e, "errors", None) or [{}]
            why = errors[0].get("description") or str(e).splitlines()[0]
            raise ValueError(f"the string of query(...) is not valid SQL: {why}") from e
        if not isinstance(inner, exp.Query):
            raise ValueError("the string of query(...) is not a query")
        return inner
    if name == "query_table" and args:
        first = args[0]
        items = first.expressions if isinstance(first, exp.Array) else [first]
        names = [_string(i) for i in items]
        if not names or any(n is None for n in names):
            return None
        selects = [exp.select("*").from_(exp.to_table(n or "", dialect="duckdb")) for n in names]
        by_name = len(args) > 1 and isinstance(args[1], exp.Boolean) and args[1].this is True
        query: exp.Query = selects[0]
        for select in selects[1:]:
            query = exp.Union(this=query, expression=select, distinct=False, by_name=by_name)
        return query
    return None


# What ``SHOW x`` lists rather than describes (``FROM (SHOW TABLES)``).
_SHOW_LISTS = frozenset({"tables", "databases", "schemas", "functions", "variables"})


def show_target(table: exp.Table) -> str | None:
    """sqlglot reads DuckDB's ``FROM (SHOW TABLES)`` as a table ``show`` aliased ``tables``:
    for such an item, the table ``SHOW name`` describes, or ``""`` when it lists the
    catalog; None for a real table."""
    this = table.this
    if (
        not isinstance(this, exp.Identifier)
        or this.quoted
        or this.name.lower() != "show"
        or table.args.get("db") is not None
        or not isinstance(table.parent, exp.Subquery)
        or table.parent.this is not table
    ):
        return None
    target = table.alias
    return "" if not target or target.lower() in _SHOW_LISTS else target


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


class _Reads:
    """The tables and files one query reads, as they are found."""

    def __init__(self, parsed: ParsedQuery, path: str | None) -> None:
        self.parsed = parsed
        self.path = path
        self.found: dict[tuple[str | None, str | None, str], TableRef] = {}
        self.files: set[str] = set()

    def run_by(self, node: exp.Table) -> tuple[exp.Query, exp.Expr] | None:
        """The query a ``query(...)``/``query_table(...)`` item runs, with its first
        argument (where the file writes it); a SqlError there when its string is not a
        query."""
        try:
            inner = table_function_query(node)
        except ValueError as e:
            line, col = _position(node.this, self.parsed)
            raise SqlError(
                str(e), path=self.path, line=line, col=col, hint="write one SELECT in the string"
            ) from e
        if inner is None:
            return None
        first = node.this.expressions[0]  # the string, or a list of strings
        return inner, next((n for n in first.walk() if "start" in n.meta), first)

    def visit(
        self, node: exp.Table, ctes: frozenset[str], written: exp.Expr | None
    ) -> tuple[exp.Expr, ...]:
        """Record what a FROM item reads; return the children that are its name parts.
        ``written`` is where the file spells a table read inside a ``query('...')``."""
        this = node.this
        if isinstance(this, exp.DynamicIdentifier) and _string(this.this) is not None:
            # Snowflake's IDENTIFIER('raw.orders'): a name held in a string
            named = exp.to_table(_string(this.this) or "", dialect=self.parsed.dialect)
            self.record(named, ctes, written or this.this)
            return (this,)
        if isinstance(this, exp.Func):
            if _function_name(this) in FILE_FUNCTIONS:
                self.files.update(literal_paths(this))
            return ()
        if not isinstance(this, exp.Identifier):
            return ()
        show = show_target(node)
        if show is not None:
            if show:  # SHOW orders describes orders
                self.record(exp.to_table(show), ctes, written or node.args["alias"].this)
            return tuple(node.iter_expressions())
        return self.record(node, ctes, written)

    def record(
        self, node: exp.Table, ctes: frozenset[str], written: exp.Expr | None
    ) -> tuple[exp.Expr, ...]:
        """Record the table (or quoted file) ``node`` names, unless it is a visible CTE."""
        this = node.this
        catalog, db = (
            p if isinstance(p, exp.Identifier) else None
            for p in (node.args.get("catalog"), node.args.get("db"))
        )
        parts: tuple[exp.Expr, ...] = tuple(p for p in (catalog, db, this) if p is not None)
        if catalog is None and db is None:
            if this.name.lower() in ctes:
                return parts  # a CTE reference, not a table
            if this.quoted and looks_like_file(this.name):
                self.files.add(this.name)
                return parts
        line, col = _position(written or catalog or db or this, self.parsed)
        ref = TableRef(
            name=_normalize(this),
            schema=_normalize(db) if db is not None else None,
            catalog=_normalize(catalog) if catalog is not None else None,
            line=line,
            col=col,
        )
        key = (ref.catalog, ref.schema, ref.name)
        previous = self.found.get(key)
        if previous is None or _earlier(ref, previous):
            self.found[key] = ref
        return parts


def _normalize(ident: exp.Identifier) -> str:
    """Unquoted names fold to lower case (DuckDB is case-insensitive); quoted stay as written."""
    return ident.name if ident.quoted else ident.name.lower()


def _position(node: exp.Expr, parsed: ParsedQuery) -> tuple[int | None, int | None]:
    start = node.meta.get("start")
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


def literal_paths(func: exp.Func) -> tuple[str, ...]:
    """The paths a file function's first argument spells: a string (``'x.csv'``,
    ``$$x.csv$$``) or a list of them; computed paths give nothing."""
    first = func.args.get("this")
    if not isinstance(first, exp.Expr):
        first = func.expressions[0] if func.expressions else None
    items = first.expressions if isinstance(first, exp.Array) else [first]
    return tuple(p for p in map(_string, items) if p is not None)


def _string(node: exp.Expr | None) -> str | None:
    """The text of a string literal, quoted or dollar-quoted; None for anything else."""
    if isinstance(node, exp.Literal) and node.is_string:
        return str(node.this)
    if isinstance(node, exp.RawString):
        return str(node.this)
    return None
