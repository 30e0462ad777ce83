"""The value objects that flow from discovery to the graph and beyond."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .metadata import AssetMeta

AssetKind = Literal["sql", "python"]


@dataclass(frozen=True)
class AssetSpec:
    """Everything the tool knows about one asset before it runs.

    ``upstreams`` are asset names; ``external_tables`` are warehouse tables that no
    asset produces (``schema.name`` when a schema was written); ``file_sources`` are
    file paths or globs as written in the SQL, relative to the project root. Each
    includes what the asset's checks read; ``check_upstreams`` names the upstream
    assets that its checks read (see :mod:`assets_orch.check_inputs`).
    """

    name: str
    kind: AssetKind
    path: str
    line: int
    meta: AssetMeta
    fingerprint: str
    upstreams: tuple[str, ...] = ()
    external_tables: tuple[str, ...] = ()
    file_sources: tuple[str, ...] = ()
    sql: str | None = None
    source_text: str | None = None
    func: Callable[..., Any] | None = field(default=None, compare=False, hash=False)
    params: tuple[str, ...] = ()
    check_upstreams: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Case-insensitive identity, as DuckDB compares unquoted table names."""
        return self.name.lower()

    @property
    def sources(self) -> tuple[str, ...]:
        """External tables then file sources: what this asset reads from outside."""
        return self.external_tables + self.file_sources

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``assets list --json``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "upstreams": list(self.upstreams),
            "sources": list(self.sources),
            "tags": list(self.meta.tags),
            "description": self.meta.description,
            "owner": self.meta.owner,
            "materialized": self.meta.materialized,
            "fingerprint": self.fingerprint,
        }
