"""Column lineage of a project: the schemas each query reads, lineage per asset, impact.

:mod:`assets_orch.sql.columns` computes the lineage of one query from the schemas of
what it reads; this module finds those schemas:

- an upstream **asset**: the column names of its current code (its own lineage), or of
  its table as last built (exact DuckDB names and types), or a gap (``upstream X not
  built yet``);
- an **external table**: ``DESCRIBE`` in the warehouse, remembered in the catalog;
- a **file**: ``DESCRIBE SELECT * FROM read_csv(...)`` in an in-memory DuckDB,
  remembered in the catalog by the file's version.

Results are stored in the catalog (``column_lineage``), keyed by the query and the
schemas it was computed against, so an unchanged project never parses again.

>>> AssetColumns("a", "sql", (), unresolved="upstream b not built yet").to_json()["unresolved"]
'upstream b not built yet'
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .column_store import AssetColumns, ColumnInfo, LineageStore, _quietly
from .config import database_name
from .errors import AssetsError
from .sql.columns import LINEAGE_VERSION, QueryLineage, SourceColumn, SourceSchema, digest

if TYPE_CHECKING:
    from .catalog import Catalog
    from .graph import AssetGraph
    from .project import Project
    from .records import CatalogSnapshot, MaterializationRecord
    from .specs import AssetSpec
    from .sql.columns import SourceRef
    from .warehouse import Warehouse

VALUE, FILTER = "value", "filter"
__all__ = ["AssetColumns", "ColumnInfo", "Impact", "LineageStore", "ProjectColumns"]


@dataclass
class ProjectColumns:
    """Column lineage of a project's assets, computed on demand (upstreams first).

    ``snapshot`` says what is built; ``source_versions`` key file schemas; ``warehouse``
    (open, or openable read-only) describes external tables.
    """

    graph: AssetGraph
    catalog: Catalog
    snapshot: CatalogSnapshot
    source_versions: dict[str, str]
    warehouse: Warehouse | None = None
    store: LineageStore | None = None
    schema_name: str = "main"
    owns_warehouse: bool = False
    tables_readable: bool = True  # False while another process holds the warehouse
    _memo: dict[str, AssetColumns] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = LineageStore(self.catalog)

    @classmethod
    def for_project(
        cls,
        project: Project,
        *,
        warehouse: Warehouse | None = None,
        snapshot: CatalogSnapshot | None = None,
        source_versions: dict[str, str] | None = None,
    ) -> ProjectColumns:
        """Column lineage of a loaded project; the warehouse is opened read-only if needed."""
        # Files are described in an in-memory DuckDB: a Warehouse object (never connected
        # for that) is always there; tables need the file, which a writer may hold.
        wh = warehouse or project.open_warehouse()
        return cls(
            graph=project.graph,
            catalog=project.catalog,
            snapshot=snapshot if snapshot is not None else project.catalog.snapshot(),
            source_versions=(
                source_versions if source_versions is not None else project.source_versions()
            ),
            warehouse=wh,
            schema_name=project.config.schema_name,
            owns_warehouse=warehouse is None,
            tables_readable=warehouse is not None or project.warehouse_view.tables is not None,
        )

    def close(self) -> None:
        """Store what was computed and close a warehouse connection this object opened."""
        self.save()
        if self.owns_warehouse and self.warehouse is not None:
            self.warehouse.close()

    # ---- per asset --------------------------------------------------------------------

    def of(self, name: str) -> AssetColumns:
        """The columns of asset ``name`` and their lineage, for its current code."""
        name = self.graph.resolve(name)
        found = self._memo.get(name)
        if found is not None:
            return found
        if name in self._active:  # a cycle cannot exist in a valid graph; be safe
            return AssetColumns(name, "sql", (), unresolved="lineage depends on itself")
        self._active.add(name)
        try:
            spec = self.graph.specs[name]
            result = self._sql(spec) if spec.kind == "sql" else self._python(spec)
        finally:
            self._active.discard(name)
        self._memo[name] = result
        return result

    def output_names(self, name: str) -> tuple[str, ...] | str:
        """The column names a downstream query sees in ``name``, or why they are unknown."""
        found = self.output_schema(name)
        return found if isinstance(found, str) else found.columns

    def output_schema(self, name: str) -> SourceSchema | str:
        """The columns a downstream query sees in ``name`` (types once built from its
        current code), or why they are unknown."""
        columns = self.of(name)
        if columns.unresolved is None and columns.named:
            types = tuple(c.type for c in columns.columns)
            return SourceSchema("asset", name, columns.names, types)
        last = self._last(name)
        if last is not None and last.columns:
            names, types = zip(*last.columns, strict=True)
            return SourceSchema("asset", name, tuple(names), tuple(types))
        if last is None:
            return f"upstream {name} is not built yet"
        return f"upstream {name}: {columns.unresolved or 'its column names are known once built'}"

    def save(self) -> None:
        assert self.store is not None
        self.store.flush()

    def forget(self, names: Iterable[str]) -> None:
        """Drop what was computed for ``names`` (their inputs changed)."""
        for name in names:
            self._memo.pop(name, None)

    def record_built(self, name: str, materialization_id: str) -> AssetColumns:
        """Lineage of a just-built asset, stored with its materialization (exact schemas)."""
        self._memo.pop(name, None)
        columns = self.of(name)
        assert self.store is not None
        key = self._key(self.graph.specs[name])
        self.store.put(columns, key, materialization_id)
        return columns

    # ---- SQL --------------------------------------------------------------------------

    def _sql(self, spec: AssetSpec) -> AssetColumns:
        key = self._key(spec)
        assert self.store is not None
        cached = self.store.get(spec.name, key)
        if cached is not None:
            return cached
        result = self._compute_sql(spec)
        self.store.put(result, key, None)
        return result

    def _compute_sql(self, spec: AssetSpec) -> AssetColumns:
        from .sql.columns import prepare

        # Not kept: a parse costs less than a tree copy, and 10,000 kept trees cost GBs.
        prepared = prepare(spec.sql or "")
        schemas: dict[str, SourceSchema] = {}
        gaps: list[str] = []
        for ref in prepared.refs:
            found = self._schema(spec, ref)
            if isinstance(found, str):
                gaps.append(found)
            else:
                schemas[ref.key] = found
        if gaps:
            return AssetColumns(spec.name, "sql", (), unresolved="; ".join(sorted(set(gaps))))
        return self._aligned(spec, prepared.lineage(schemas))

    def _aligned(self, spec: AssetSpec, lineage: QueryLineage) -> AssetColumns:
        """Lineage columns with the names and types of the table as built, when it was
        built from this code (DuckDB names unnamed expressions: ``count_star()``)."""
        if lineage.unresolved is not None:
            return AssetColumns(spec.name, "sql", (), unresolved=lineage.unresolved)
        last = self._last(spec.name)
        built = (
            last is not None
            and last.code_fingerprint == spec.fingerprint
            and len(last.columns) == len(lineage.columns)
        )
        columns = []
        for i, col in enumerate(lineage.columns):
            name, type_ = col.name, None
            if built and last is not None:
                name, type_ = last.columns[i]
            columns.append(
                ColumnInfo(name, type_, col.value, col.filter, col.fingerprint, col.volatile)
            )
        return AssetColumns(
            spec.name,
            "sql",
            tuple(columns),
            rows=lineage.rows,
            rows_fingerprint=lineage.rows_fingerprint,
            rows_volatile=lineage.rows_volatile,
            sources=lineage.sources,
            built=built,
            named=built or all(c.named for c in lineage.columns),
        )

    def _schema(self, spec: AssetSpec, ref: SourceRef) -> SourceSchema | str:
        if ref.kind == "file":
            return self._file_schema(ref)
        asset = self._asset_for(ref.key)
        if asset is not None:
            return self.output_schema(asset)
        return self._table_schema(ref.key, ref.sql)

    def _asset_for(self, key: str) -> str | None:
        parts = key.split(".")
        own = database_name(self.warehouse.path.name) if self.warehouse is not None else None
        if len(parts) == 3 and own is not None and parts[0] == own.lower():
            parts = parts[1:]  # warehouse.main.orders, in warehouse.duckdb
        if len(parts) == 2 and parts[0] == self.schema_name.lower():
            parts = parts[1:]
        if len(parts) != 1 or parts[0] not in self.graph:
            return None
        return self.graph.resolve(parts[0])

    def _file_schema(self, ref: SourceRef) -> SourceSchema | str:
        name = ", ".join(ref.paths) if ref.paths else ref.key
        if not ref.paths or any("://" in p for p in ref.paths):
            return f"file {name}: its columns are not read from remote or computed paths"
        versions = [self.source_versions.get(p, "?") for p in ref.paths]
        key = "file:" + digest(ref.key, *versions)
        cached = self.catalog.source_schema(key)
        if cached is None:
            columns: list[tuple[str, str]] | None = None
            error = None
            if self.warehouse is None:
                return f"file {name}: cannot read its columns without the project root"
            try:
                columns = list(self.warehouse.describe_source(ref.key))
            except AssetsError as e:
                error = e.message
            _quietly(self.catalog.save_source_schema, key, columns, error)
            cached = (columns, error)
        columns, error = cached
        if columns is None:
            return f"file {name}: {error or 'columns unknown'}"
        return SourceSchema("file", name, *_split(columns))

    def _table_schema(self, name: str, sql: str) -> SourceSchema | str:
        """The columns of table ``name`` (as keyed), which DuckDB reads as ``sql``."""
        key = f"table:{name}"
        if self.warehouse is not None and self.tables_readable:
            try:
                columns = self.warehouse.describe_table(sql)
            except AssetsError as e:
                return f"table {name}: {e.message}"
            cached = self.catalog.source_schema(key)
            if cached is None or cached[0] != list(columns):
                _quietly(self.catalog.save_source_schema, key, columns, None)
            return SourceSchema("table", name, *_split(columns))
        cached = self.catalog.source_schema(key)
        if cached is None or cached[0] is None:
            return f"table {name}: its columns are unknown while the warehouse is busy"
        return SourceSchema("table", name, *_split(cached[0]))

    def _key(self, spec: AssetSpec) -> str:
        """What an asset's lineage depends on: its code, its inputs' schemas, its build."""
        last = self._last(spec.name)
        inputs: list[Any] = []
        for up in spec.upstreams:
            found = self.output_schema(up)
            inputs.append([up, found if isinstance(found, str) else [found.columns, found.types]])
        for table in spec.external_tables:
            cached = self.catalog.source_schema(f"table:{table}")
            inputs.append([table, cached[0] if cached else None])
        for path in spec.file_sources:
            inputs.append([path, self.source_versions.get(path, "?")])
        # The built table's column names and types, not its materialization id: a
        # rebuild of unchanged code over unchanged schemas finds its lineage stored.
        built = (
            list(map(list, last.columns))
            if last is not None and last.code_fingerprint == spec.fingerprint
            else None
        )
        payload = [LINEAGE_VERSION, spec.kind, spec.sql, spec.fingerprint, inputs, built]
        if spec.kind == "python":
            payload.append([list(item) for item in spec.meta.column_lineage])
        return digest(json.dumps(payload, sort_keys=True, default=str))

    # ---- Python -----------------------------------------------------------------------

    def _python(self, spec: AssetSpec) -> AssetColumns:
        last = self._last(spec.name)
        declared = dict(spec.meta.column_lineage)
        if last is None or not last.columns:
            return AssetColumns(
                spec.name,
                "python",
                (),
                unresolved="a Python asset's columns are known once it is built",
                declared=bool(declared),
            )
        built = last.code_fingerprint == spec.fingerprint
        columns = []
        lowered = {k.lower(): v for k, v in declared.items()}
        for name, type_ in last.columns:
            refs = tuple(sorted(self._declared_ref(r) for r in lowered.get(name.lower(), ())))
            columns.append(ColumnInfo(name, type_, refs))
        return AssetColumns(
            spec.name,
            "python",
            tuple(columns),
            sources=tuple(sorted({(r.kind, r.source) for c in columns for r in c.value})),
            built=built,
            declared=bool(declared),
        )

    def _declared_ref(self, ref: str) -> SourceColumn:
        source, _, column = ref.rpartition(".")
        if source in self.graph:
            return SourceColumn("asset", self.graph.resolve(source), column)
        return SourceColumn("table", source, column)

    def _last(self, name: str) -> MaterializationRecord | None:
        return self.snapshot.history(name).last_success

    # ---- across assets ----------------------------------------------------------------

    def readers(self, asset: str, column: str) -> list[tuple[str, str, str]]:
        """Direct readers of ``asset.column``: (downstream, its column, edge)."""
        lowered = column.lower()
        out: set[tuple[str, str, str]] = set()
        for down in self.graph.downstreams.get(asset, ()):
            columns = self.of(down)
            for col in columns.columns:
                for edge, refs in ((VALUE, col.value), (FILTER, col.filter)):
                    if any(
                        r.kind == "asset" and r.source == asset and r.column.lower() == lowered
                        for r in refs
                    ):
                        out.add((down, col.name, edge))
        return sorted(out)

    def impact(self, asset: str, column: str) -> list[Impact]:
        """Every downstream column whose values or rows depend on ``asset.column``,
        in lineage order, with the path it depends through (value only, or a filter)."""
        asset = self.graph.resolve(asset)
        found: dict[tuple[str, str], Impact] = {}
        frontier = [(asset, column, VALUE, 0)]
        while frontier:
            up, col, how, depth = frontier.pop()
            for down, down_col, edge in self.readers(up, col):
                kind = VALUE if how == VALUE and edge == VALUE else FILTER
                key = (down, down_col.lower())
                previous = found.get(key)
                if previous is not None and (previous.edge == VALUE or kind == FILTER):
                    continue
                found[key] = Impact(down, down_col, kind, depth + 1, up, col)
                frontier.append((down, down_col, kind, depth + 1))
        rank = {n: i for i, n in enumerate(self.graph.order())}
        return sorted(found.values(), key=lambda i: (rank[i.asset], i.asset, i.column.lower()))

    def unresolved_downstream(self, asset: str) -> list[tuple[str, str]]:
        """Descendants of ``asset`` whose lineage is unknown: (asset, reason)."""
        out = []
        for name in self.graph.order(self.graph.descendants(asset)):
            columns = self.of(name)
            if columns.unresolved is not None:
                out.append((name, columns.unresolved))
            elif columns.kind == "python" and not columns.declared:
                out.append((name, "a Python asset: declare its column_lineage to follow it"))
        return out


@dataclass(frozen=True)
class Impact:
    """A downstream column that depends on the changed column.

    ``edge`` is ``value`` when the dependency runs through values only, ``filter`` when
    somewhere a filter decides its rows; ``via`` is the upstream column it reads.
    """

    asset: str
    column: str
    edge: str
    depth: int
    via_asset: str
    via_column: str

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "column": self.column,
            "edge": self.edge,
            "depth": self.depth,
            "via": f"{self.via_asset}.{self.via_column}",
        }


def _split(columns: Iterable[Any]) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """Names and types of ``(name, type)`` pairs."""
    pairs = [tuple(c) for c in columns]
    return tuple(str(c[0]) for c in pairs), tuple(c[1] for c in pairs)


def lineage_rows(columns: Iterable[ColumnInfo]) -> list[tuple[str, str, SourceColumn]]:
    """(column, edge, upstream column) for every edge, sorted."""
    return sorted(
        (c.name, edge, ref)
        for c in columns
        for edge, refs in ((VALUE, c.value), (FILTER, c.filter))
        for ref in refs
    )
