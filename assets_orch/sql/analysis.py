"""Analysis of one SQL asset file: its upstream tables, file sources, fingerprint and the
DuckDB query to run.

This module imports sqlglot only when ``analyze_sql`` is first called, so that importing
the value types (``TableRef``, ``SqlAnalysis``) stays instant for the CLI.

>>> a = analyze_sql("-- description: daily\\nselect * from stg.Orders;", path="x.sql")
>>> [(t.qualified, t.line, t.col) for t in a.tables], a.sql
([('stg.orders', 2, 15)], 'select * from stg.Orders')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["SqlAnalysis", "TableRef", "analyze_sql"]


@dataclass(frozen=True)
class TableRef:
    """A table a query reads, as written (normalized), with where it was written.

    Unquoted identifiers are lower-cased, since DuckDB is case-insensitive; quoted ones are
    kept as written. A ``main`` schema is kept here; resolving names drops it.

    >>> TableRef(name="orders", schema="stg", catalog=None, line=3, col=6).qualified
    'stg.orders'
    """

    name: str
    schema: str | None
    catalog: str | None
    line: int | None
    col: int | None

    @property
    def qualified(self) -> str:
        """``catalog.schema.name`` with the parts that are present."""
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p is not None)


@dataclass(frozen=True)
class SqlAnalysis:
    """What one asset file's query reads, its fingerprint and the DuckDB SQL to execute."""

    tables: tuple[TableRef, ...]
    files: tuple[str, ...]
    fingerprint: str
    sql: str
    # Output column names (lower-cased) when the query names every one of them (no
    # ``*``, no unnamed expression); None when only running it can tell.
    columns: tuple[str, ...] | None = None


def analyze_sql(text: str, *, path: str, dialect: str = "duckdb") -> SqlAnalysis:
    """Parse ``text`` (a whole asset file) once and analyze its single query.

    ``path`` is only used in error messages. Raises ``SqlError`` for anything that is not
    exactly one query, or that cannot be parsed or transpiled to DuckDB.

    >>> a = analyze_sql("with o as (select * from orders) select * from o, 'data/x.csv'",
    ...                 path="x.sql")
    >>> [t.name for t in a.tables], a.files
    (['orders'], ('data/x.csv',))
    """
    from assets_orch.sql.fingerprint import fingerprint_expression
    from assets_orch.sql.parse import parse_query, quiet_sqlglot, too_deep_error
    from assets_orch.sql.translate import to_duckdb
    from assets_orch.sql.upstreams import find_upstreams

    parsed = parse_query(text, path=path, dialect=dialect)
    tables, files = find_upstreams(parsed, path=path)
    columns = output_names(parsed.expression)  # before the tree is canonicalized
    try:
        with quiet_sqlglot():
            sql = parsed.query_text if parsed.is_duckdb else to_duckdb(parsed, path)
            # Last use of the parsed tree: canonicalized in place, not copied.
            fingerprint = fingerprint_expression(parsed.expression, copy=False)
    except RecursionError as e:
        raise too_deep_error(path, parsed.start) from e
    return SqlAnalysis(
        tables=tables, files=files, fingerprint=fingerprint, sql=sql, columns=columns
    )


def output_names(expression: object) -> tuple[str, ...] | None:
    """The output column names of a query when it names each one, lower-cased.

    A set operation takes its names from its first branch. ``*``, ``COLUMNS(...)`` and
    expressions without an alias (DuckDB names those after their text) give None.

    >>> from sqlglot import parse_one
    >>> output_names(parse_one("select a, b + 1 as B, t.c from t"))
    ('a', 'b', 'c')
    >>> [output_names(parse_one(q)) for q in ("select *, 1 as x from t", "select a + 1 from t")]
    [None, None]
    """
    from sqlglot import exp

    node = expression
    while isinstance(node, exp.SetOperation):
        node = node.this
    while isinstance(node, exp.Subquery):
        node = node.this
    if not isinstance(node, exp.Select):
        return None
    names = []
    for projection in node.expressions:
        if isinstance(projection, exp.Alias):
            name = projection.alias
        elif isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
            name = projection.name
        else:
            return None
        if not name:
            return None
        names.append(name.lower())
    return tuple(names)
