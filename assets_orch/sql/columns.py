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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assets_orch.sql.column_prepare import Prepared

# Bump when lineage or column fingerprints change meaning, so stored ones are recomputed.
LINEAGE_VERSION = "assets_orch.sql.columns/1"


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
    """What the query reads under one name: an asset, a table or a file, and its columns."""

    kind: str
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SourceRef:
    """A table or file the query reads, as the caller must describe it.

    ``key`` is the lower-cased qualified table name as written (``stg.orders``) or, for a
    file, the DuckDB text of the FROM item without its alias (``read_csv('data/x.csv')``),
    which is what ``DESCRIBE SELECT * FROM <key>`` needs. ``paths`` are a file's paths.
    """

    kind: str  # "table" or "file"
    key: str
    paths: tuple[str, ...] = ()


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

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": [v.to_json() for v in self.value],
            "filter": [f.to_json() for f in self.filter],
            "fingerprint": self.fingerprint,
            "volatile": self.volatile,
            "named": self.named,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutputColumn:
        return cls(
            name=data["name"],
            value=tuple(SourceColumn(**v) for v in data["value"]),
            filter=tuple(SourceColumn(**f) for f in data["filter"]),
            fingerprint=data["fingerprint"],
            volatile=bool(data.get("volatile")),
            named=bool(data.get("named", True)),
        )


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

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [c.to_json() for c in self.columns],
            "rows": [r.to_json() for r in self.rows],
            "rows_fingerprint": self.rows_fingerprint,
            "rows_volatile": self.rows_volatile,
            "sources": [list(s) for s in self.sources],
            "unresolved": self.unresolved,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryLineage:
        return cls(
            columns=tuple(OutputColumn.from_json(c) for c in data.get("columns", ())),
            rows=tuple(SourceColumn(**r) for r in data.get("rows", ())),
            rows_fingerprint=data.get("rows_fingerprint", ""),
            rows_volatile=bool(data.get("rows_volatile")),
            sources=tuple((str(k), str(n)) for k, n in data.get("sources", ())),
            unresolved=data.get("unresolved"),
        )

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
