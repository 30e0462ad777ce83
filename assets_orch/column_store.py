"""What column lineage stores: an asset's columns with their upstream columns
(:class:`AssetColumns`), as JSON in the catalog, and the store that reads them once
and writes them back in batches (:class:`LineageStore`).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import AssetsError
from .sql.columns import SourceColumn

if TYPE_CHECKING:
    from .catalog import Catalog


@dataclass(frozen=True)
class ColumnInfo:
    """One output column of an asset, with its type (when built) and upstream columns."""

    name: str
    type: str | None
    value: tuple[SourceColumn, ...] = ()
    filter: tuple[SourceColumn, ...] = ()
    fingerprint: str | None = None
    volatile: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "value": [v.to_json() for v in self.value],
            "filter": [f.to_json() for f in self.filter],
            "fingerprint": self.fingerprint,
            "volatile": self.volatile,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnInfo:
        return cls(
            name=data["name"],
            type=data.get("type"),
            value=tuple(SourceColumn(**v) for v in data.get("value", ())),
            filter=tuple(SourceColumn(**f) for f in data.get("filter", ())),
            fingerprint=data.get("fingerprint"),
            volatile=bool(data.get("volatile")),
        )


@dataclass(frozen=True)
class AssetColumns:
    """The columns of one asset and where each comes from, or why that is unknown."""

    asset: str
    kind: str  # "sql" or "python"
    columns: tuple[ColumnInfo, ...]
    rows: tuple[SourceColumn, ...] = ()
    rows_fingerprint: str = ""
    rows_volatile: bool = False
    sources: tuple[tuple[str, str], ...] = ()
    unresolved: str | None = None
    built: bool = False  # names and types are those of the table as last built
    declared: bool = False  # a Python asset's lineage, as @asset(column_lineage=...) says
    named: bool = True  # every column name is known (DuckDB names unnamed ones at build)

    def column(self, name: str) -> ColumnInfo | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "kind": self.kind,
            "columns": [c.to_json() for c in self.columns],
            "rows": [r.to_json() for r in self.rows],
            "rows_fingerprint": self.rows_fingerprint,
            "rows_volatile": self.rows_volatile,
            "sources": [list(s) for s in self.sources],
            "unresolved": self.unresolved,
            "built": self.built,
            "declared": self.declared,
            "named": self.named,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetColumns:
        return cls(
            asset=data["asset"],
            kind=data["kind"],
            columns=tuple(ColumnInfo.from_json(c) for c in data.get("columns", ())),
            rows=tuple(SourceColumn(**r) for r in data.get("rows", ())),
            rows_fingerprint=data.get("rows_fingerprint", ""),
            rows_volatile=bool(data.get("rows_volatile")),
            sources=tuple((str(k), str(n)) for k, n in data.get("sources", ())),
            unresolved=data.get("unresolved"),
            built=bool(data.get("built")),
            declared=bool(data.get("declared")),
            named=bool(data.get("named", True)),
        )


class LineageStore:
    """Stored lineage by asset, read from the catalog once and written back in batches.

    Shared by the threads of a run (a lock guards it)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._stored: dict[str, tuple[str, dict[str, Any]]] | None = None
        self._pending: dict[str, tuple[str, str | None, dict[str, Any]]] = {}

    def get(self, asset: str, key: str) -> AssetColumns | None:
        with self._lock:
            if self._stored is None:
                self._stored = self.catalog.stored_column_lineage()
            found = self._stored.get(asset)
        if found is None or found[0] != key:
            return None
        try:
            return AssetColumns.from_json(found[1])
        except (KeyError, TypeError, ValueError):
            return None  # written by another version: computed again

    def put(self, columns: AssetColumns, key: str, materialization_id: str | None) -> None:
        data = columns.to_json()
        with self._lock:
            if self._stored is None:
                self._stored = self.catalog.stored_column_lineage()
            self._stored[columns.asset] = (key, data)
            self._pending[columns.asset] = (key, materialization_id, data)

    def flush(self) -> None:
        """Write what was computed since the last flush (a read-only catalog is fine)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            try:
                self.catalog.save_column_lineage(
                    (asset, key, mid, data) for asset, (key, mid, data) in sorted(pending.items())
                )
            except (AssetsError, sqlite3.Error):
                pass  # the catalog is busy or read-only: lineage is recomputed next time


def _quietly(write: Any, *args: Any) -> None:
    """A cache write that may fail (busy or read-only catalog) without consequence."""
    try:
        write(*args)
    except (AssetsError, sqlite3.Error):
        pass
