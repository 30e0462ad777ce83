"""Left-over tables: tables this project built for an asset that no longer exists.

Deleting (or renaming) a model leaves its table in the warehouse. That table is not an
external source: nothing refreshes it any more, and a query that still reads it would
silently read stale data forever. A table is *left over* when

- it is in the project's schema and its COMMENT says assets_orch built it, and
- the catalog recorded a successful build of an asset of that name, and
- no asset of the project has that name now, and it is not declared as a source in
  ``assets.toml`` (declaring it is how one keeps it, as an external table).

Discovery refuses a query that reads one (like dbt's "depends on a node named X which
was not found"), ``assets status`` notes them, and ``assets prune`` drops them. A table
whose COMMENT names no build the catalog knows (another project writing to the same
schema, or ``.assets/`` deleted) cannot be told apart from an external table and is
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .warehouse import built_here

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from .catalog import Catalog
    from .config import ProjectConfig
    from .project import Project
    from .warehouse import Warehouse


@dataclass(frozen=True)
class Leftover:
    """A table of an asset that no longer exists."""

    table: str  # lower-cased, as the warehouse lists it
    asset: str  # the asset's name as the catalog recorded it
    path: str | None  # where the asset was defined, when the catalog's graph still says
    last_built: float | None

    @property
    def was(self) -> str:
        """``stg_products was an asset (models/staging/stg_products.sql)``."""
        where = f" ({self.path})" if self.path else ""
        return f"'{self.asset}' was an asset of this project{where}"

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "asset": self.asset,
            "path": self.path,
            "last_built": self.last_built,
        }


class Leftovers:
    """Finds left-over tables among the tables of the project schema.

    ``comments`` maps each table of the project schema (lower-cased) to its COMMENT, or
    is None when the warehouse could not be read. The catalog is asked only about tables
    built by assets_orch that are not assets now, so a project without left-overs pays
    nothing.
    """

    def __init__(
        self, catalog: Catalog, config: ProjectConfig, comments: dict[str, str | None] | None
    ) -> None:
        self.catalog = catalog
        self.built = {name for name, comment in (comments or {}).items() if built_here(comment)}
        schema = config.schema_name.lower()
        self.declared = set()
        for source in config.sources:
            key = source.lower()
            self.declared.add(key)
            if key.startswith(f"{schema}."):
                self.declared.add(key[len(schema) + 1 :])
        self._known: dict[str, Leftover | None] = {}

    def find(self, table: str) -> Leftover | None:
        """The left-over table named ``table`` (lower-cased name, not an asset), or None."""
        return self.among([table]).get(table.lower())

    def among(self, tables: Iterable[str]) -> dict[str, Leftover]:
        """Which of ``tables`` (not assets of the project) are left over."""
        wanted = {t.lower() for t in tables} & self.built
        wanted -= self.declared
        unknown = wanted - set(self._known)
        if unknown:
            built = self.catalog.built_assets(unknown)
            for name in unknown:
                row = built.get(name)
                self._known[name] = Leftover(name, row[0], row[2], row[1]) if row else None
        return {n: hit for n in sorted(wanted) if (hit := self._known.get(n)) is not None}

    def all(self, assets: Iterable[str]) -> list[Leftover]:
        """Every left-over table, given the names of the project's assets."""
        keys = {a.lower() for a in assets}
        return list(self.among(t for t in self.built if t not in keys).values())


@dataclass(frozen=True)
class PruneResult:
    """What ``assets prune`` dropped (or would drop), and what it kept and why."""

    dropped: tuple[Leftover, ...]
    kept: tuple[tuple[Leftover, tuple[str, ...]], ...]  # (table, the assets that read it)
    dry_run: bool

    def to_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "dropped": [t.to_json() for t in self.dropped],
            "kept": [{**t.to_json(), "read_by": list(by)} for t, by in self.kept],
        }


def prune(root: Path | None = None, *, dry_run: bool = False) -> PruneResult:
    """Drop the left-over tables of assets that no longer exist, in one transaction.

    A left-over table that an asset still reads is kept (dropping it would only turn
    that asset's error into an unknown table); the result names its readers. The writer
    lock is held while dropping, so no run reads a table as it goes.
    """
    from .config import STATE_DIR, find_project_root
    from .lock import WriterLock
    from .project import Project

    if dry_run:
        project = Project.load(root, allow_leftovers=True)
        try:
            return _plan(project, dry_run=True)
        finally:
            project.catalog.close()
    project_root = find_project_root(root)
    with WriterLock(project_root / STATE_DIR / "writer.lock", run_id="prune"):
        reader = Project.load(project_root, allow_leftovers=True)  # the config, checked
        reader.catalog.close()
        warehouse = reader.open_warehouse()
        if not warehouse.path.exists():
            return PruneResult((), (), dry_run=False)
        warehouse.connect()
        try:
            project = Project.load(project_root, warehouse=warehouse, allow_leftovers=True)
            try:
                result = _plan(project, dry_run=False)
                if result.dropped:
                    _drop(warehouse, result.dropped)
                return result
            finally:
                project.catalog.close()
        finally:
            warehouse.close()


def _plan(project: Project, *, dry_run: bool) -> PruneResult:
    schema = project.config.schema_name.lower()
    readers: dict[str, list[str]] = {}
    for spec in project.specs:
        for table in spec.external_tables:
            readers.setdefault(table.lower().removeprefix(f"{schema}."), []).append(spec.name)
    dropped, kept = [], []
    for leftover in project.leftover_tables():
        by = readers.get(leftover.table)
        if by:
            kept.append((leftover, tuple(sorted(by))))
        else:
            dropped.append(leftover)
    return PruneResult(tuple(dropped), tuple(kept), dry_run)


def _drop(warehouse: Warehouse, tables: Iterable[Leftover]) -> None:
    import duckdb

    from .errors import WarehouseError

    con = warehouse.connect()
    con.execute("BEGIN TRANSACTION")
    try:
        for leftover in tables:
            warehouse.drop(leftover.table)
        con.execute("COMMIT")
    except duckdb.Error as e:
        con.execute("ROLLBACK")
        raise WarehouseError(f"cannot drop the left-over tables (none was dropped): {e}") from e
