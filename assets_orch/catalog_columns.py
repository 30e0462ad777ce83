"""Column lineage in the catalog: each asset's columns with their value and filter
sources (``column_lineage``, ``column_edges``), the column versions of each build
(``column_versions``) and the schemas of files and external tables
(``source_schemas``). See docs/column-lineage.md.

:class:`ColumnTables` is part of :class:`~assets_orch.catalog.Catalog`; it uses the
catalog's short read and write transactions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any


class ColumnTables:
    """The column lineage tables of the catalog (a part of :class:`Catalog`)."""

    _read: Callable[..., list[tuple[Any, ...]]]
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def column_lineage(self, asset: str) -> list[tuple[str, list[dict[str, str]]]]:
        """The stored column lineage of ``asset``: ``(column, refs)`` pairs in output order.

        Each ref is ``{"asset": source, "column": ..., "kind": "asset" | "table" | "file",
        "edge": "value" | "filter"}``, value edges first; ``dict()`` of the list maps each
        column to its refs. Empty when nothing is stored or lineage is unresolved (see
        :meth:`column_lineage_info` for the reason, types and fingerprints).
        """
        rows = self._read(
            "SELECT column_name, position, edge, source_kind, source, source_column "
            "FROM column_edges WHERE asset = ? ORDER BY position, edge DESC, source, "
            "source_column",
            (asset,),
        )
        info = self.column_lineage_info(asset)
        out: dict[str, list[dict[str, str]]] = {}
        for column in (info or {}).get("columns", ()):
            out[column["name"]] = []
        for column, _, edge, kind, source, source_column in rows:
            out.setdefault(column, []).append(
                {"asset": source, "column": source_column, "kind": kind, "edge": edge}
            )
        return list(out.items())

    def column_lineage_info(self, asset: str) -> dict[str, Any] | None:
        """Everything stored about ``asset``'s columns: ``{"asset", "kind", "columns":
        [{"name", "type", "value", "filter", "fingerprint", ...}], "unresolved",
        "materialization_id", "computed_at", ...}``, or None."""
        rows = self._read(
            "SELECT data, materialization_id, computed_at FROM column_lineage WHERE asset = ?",
            (asset,),
        )
        if not rows or rows[0][0] is None:
            return None
        data: dict[str, Any] = json.loads(rows[0][0])
        data["materialization_id"], data["computed_at"] = rows[0][1], rows[0][2]
        return data

    def stored_column_lineage(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """asset -> (the key its stored lineage was computed for, its data), in one read."""
        rows = self._read("SELECT asset, cache_key, data FROM column_lineage")
        return {a: (k or "", json.loads(d)) for a, k, d in rows if d}

    def save_column_lineage(
        self,
        items: Iterable[tuple[str, str, str | None, dict[str, Any]]],
    ) -> None:
        """Replace the lineage of assets: ``(asset, cache_key, materialization_id, data)``
        where ``data`` is the JSON shape of ``column_lineage_info`` (``columns`` with
        ``name``, ``value`` and ``filter`` lists of ``{kind, source, column}``)."""
        batch = list(items)
        if not batch:
            return
        now = time.time()
        with self._write() as c:
            for asset, key, mid, data in batch:
                c.execute("DELETE FROM column_edges WHERE asset = ?", (asset,))
                c.execute(
                    "INSERT OR REPLACE INTO column_lineage (asset, cache_key, "
                    "materialization_id, computed_at, unresolved, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (asset, key, mid, now, data.get("unresolved"), json.dumps(data)),
                )
                c.executemany(
                    "INSERT INTO column_edges (asset, column_name, position, edge, source_kind, "
                    "source, source_column) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (asset, col["name"], i, edge, r["kind"], r["source"], r["column"])
                        for i, col in enumerate(data.get("columns", ()))
                        for edge in ("value", "filter")
                        for r in col.get(edge, ())
                    ],
                )

    def column_versions(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Column versions recorded with materializations: id -> what was saved."""
        wanted = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._read(
                "SELECT materialization_id, versions FROM column_versions WHERE "
                f"materialization_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            out.update({m: json.loads(v) for m, v in rows})
        return out

    def save_column_versions(
        self, materialization_id: str, asset: str, versions: dict[str, Any]
    ) -> None:
        """Record the column versions of a successful materialization."""
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO column_versions (materialization_id, asset, versions) "
                "VALUES (?, ?, ?)",
                (materialization_id, asset, json.dumps(versions, sort_keys=True)),
            )

    def source_schema(self, key: str) -> tuple[list[tuple[str, str]] | None, str | None] | None:
        """A cached source schema: (columns, error), or None when never described."""
        rows = self._read("SELECT columns, error FROM source_schemas WHERE key = ?", (key,))
        if not rows:
            return None
        columns, error = rows[0]
        return ([(str(a), str(b)) for a, b in json.loads(columns)] if columns else None), error

    def save_source_schema(
        self, key: str, columns: Iterable[tuple[str, str]] | None, error: str | None
    ) -> None:
        value = json.dumps([list(c) for c in columns]) if columns is not None else None
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO source_schemas (key, columns, error, observed_at) "
                "VALUES (?, ?, ?, ?)",
                (key, value, error, time.time()),
            )
