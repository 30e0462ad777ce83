"""Column lineage of one SQL asset: each output column's *value* and *filter* upstream
columns, computed with sqlglot against the known schemas of what the query reads.

Two steps, so that the caller can fetch schemas in between:

>>> prepared = prepare("select o.id, sum(o.amount) as total from orders o "
...                    "where o.status = 'paid' group by o.id")
>>> [r.key for r in prepared.refs]
['orders']
>>> lineage = prepared.lineage({"orders": SourceSchema("asset", "orders",
...                                                    ("id", "amount", "status"))})
>>> [(c.name, [str(v) for v in c.value], [str(f) for f in c.filter]) for c in lineage.columns]
[('id', ['orders.id'], ['orders.id', 'orders.status']), \
('total', ['orders.amount'], ['orders.id', 'orders.status'])]

The query is always the DuckDB form of the asset (its transpilation when it is written
in another dialect), so a model gives the same lineage whatever dialect it is written
in. When a schema is missing, or a construct cannot be resolved exactly,
the result says so in ``unresolved`` and has no columns: lineage is never guessed.
See docs/column-lineage.md for the rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assets_orch.sql.column_prepare import Prepared

# Bump when lineage or column fingerprints change meaning, so stored ones are recomputed.
LINEAGE_VERSION = "assets_orch.sql.columns/9"


def digest(*parts: str) -> str:
    """A short stable hash of ``parts`` (fingerprints, versions and cache keys).

    >>> digest("a", "b") == digest("a", "b") != digest("ab")
    True
    """
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass(frozen=True, order=True)
class SourceColumn:
    """An upstream column: ``kind`` is ``asset``, ``table`` or ``file``.

    >>> str(SourceColumn("file", "data/orders.csv", "amount"))
    'data/orders.csv.amount'
    """

    kind: str
    source: str
    column: str

    def __str__(self) -> str:
        return f"{self.source}.{self.column}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "source": self.source, "column": self.column}


@dataclass(frozen=True)
class SourceSchema:
    """What the query reads under one name: an asset, a table or a file, and its columns
    (with their DuckDB types, in the same order, when they are known)."""

    kind: str
    name: str
    columns: tuple[str, ...]
    types: tuple[str | None, ...] = ()

    def type_of(self, index: int) -> str | None:
        return self.types[index] if index < len(self.types) else None


@dataclass(frozen=True)
class SourceRef:
    """A table or file the query reads, as the caller must describe it.

    ``key`` is the lower-cased qualified table name as written (``stg.orders``) or, for a
    file, the DuckDB text of the FROM item without its alias (``read_csv('data/x.csv')``),
    which is what ``DESCRIBE SELECT * FROM <key>`` needs. ``paths`` are a file's paths,
    ``parts`` a table's name parts (``catalog``, ``schema``, ``name``, as present).

    >>> SourceRef("table", "finance dept.gl entries", parts=("Finance Dept", "GL Entries")).sql
    '"Finance Dept"."GL Entries"'
    """

    kind: str  # "table" or "file"
    key: str
    paths: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        """How DuckDB reads it: a table's parts quoted (``"order-items"``), or the key."""
        if self.kind != "table" or not self.parts:
            return self.key
        return ".".join('"' + p.replace('"', '""') + '"' for p in self.parts)


@dataclass(frozen=True)
class OutputColumn:
    """One output column: its upstream columns and code fingerprint.

    ``filter`` holds the columns that decide the query's rows as well as this column's
    own (an aggregate FILTER, a window PARTITION BY). ``named`` is False for an unnamed
    expression whose name DuckDB chooses (``count_star()``): it is known once built.
    """

    name: str
    value: tuple[SourceColumn, ...]
    filter: tuple[SourceColumn, ...]
    fingerprint: str
    volatile: bool = False
    named: bool = True


@dataclass(frozen=True)
class QueryLineage:
    """The column lineage of a query, or why it could not be computed (``unresolved``)."""

    columns: tuple[OutputColumn, ...] = ()
    rows: tuple[SourceColumn, ...] = ()
    rows_fingerprint: str = ""
    rows_volatile: bool = False
    sources: tuple[tuple[str, str], ...] = ()  # (kind, name) of every source read
    unresolved: str | None = None

    @property
    def resolved(self) -> bool:
        return self.unresolved is None

    def column(self, name: str) -> OutputColumn | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @classmethod
    def gap(cls, reason: str) -> QueryLineage:
        return cls(unresolved=reason)


def prepare(sql: str) -> Prepared:
    """Parse DuckDB ``sql`` and list the tables and files whose schemas lineage needs
    (imports sqlglot on first use; importing this module does not)."""
    from assets_orch.sql.column_prepare import prepare_query

    return prepare_query(sql)


def column_lineage(sql: str, schemas: Mapping[str, SourceSchema]) -> QueryLineage:
    """Shortcut for ``prepare(sql).lineage(schemas)``."""
    return prepare(sql).lineage(schemas)
