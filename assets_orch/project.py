"""A loaded project: config, assets, graph, and the stores it works with.

This is the facade the CLI (and the HTML export, and the daemon) build on:

>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "assets.toml").write_text('name = "demo"')
>>> _ = (root / "models").mkdir()
>>> _ = (root / "models" / "one.sql").write_text("select 1 as x")
>>> project = Project.load(root)
>>> project.graph.order()
['one']
>>> project.status()["one"].state
'missing'
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import project_cache
from .catalog import Catalog
from .config import CONFIG_FILE, STATE_DIR, ProjectConfig, find_project_root, load_config
from .errors import CatalogError, WarehouseBusyError
from .graph import AssetGraph
from .leftovers import Leftover, Leftovers
from .sources import observe
from .specs import AssetSpec
from .staleness import AssetStatus, WarehouseView, held_elsewhere, with_held_builds
from .warehouse import Warehouse
from .warehouse_state import WarehouseState, identity_of, remember, remembered

if TYPE_CHECKING:
    from .partitions.context import Judgement
    from .records import CatalogSnapshot


@dataclass
class Project:
    """A project on disk and what was discovered in it."""

    root: Path
    config: ProjectConfig
    specs: list[AssetSpec]
    graph: AssetGraph
    warehouse_view: WarehouseView = field(default_factory=WarehouseView)
    _catalog: Catalog | None = None
    leftovers: Leftovers | None = None  # tables of assets that no longer exist
    repaired: list[str] = field(default_factory=list)  # what loading repaired after a crash
    # A discovery too recent to cache (a file changed within the racy window): cached by
    # settle_cache() at the end of a run, if the files are still the same.
    _unsaved: tuple[Path, str, project_cache.Listing, str] | None = None
    # What discovery's result depends on (see project_cache): equal keys, equal specs.
    discovery_key: str = ""

    # ---- loading ----------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        root: Path | None = None,
        *,
        warehouse: Warehouse | None = None,
        check_tables: bool = True,
        allow_leftovers: bool = False,
    ) -> Project:
        """Find and load the project at or above ``root`` (default: the current directory).

        With ``warehouse`` given (opened by a writer), its tables are read directly.
        Otherwise the warehouse is opened read-only when free; when another process
        holds it, the table list the last writer saved in the catalog is used.
        ``check_tables=False`` skips checking that the tables queries read exist;
        ``allow_leftovers`` lets a query read the left-over table of a deleted asset
        (see :mod:`assets_orch.leftovers`), which is otherwise an error.
        """
        root = find_project_root(root)
        config = load_config(root)
        catalog = Catalog(root / STATE_DIR / "catalog.sqlite")
        repaired: list[str] = []
        if warehouse is None:
            from .recovery import repair_if_abandoned

            repaired = repair_if_abandoned(root, config, catalog)
        view, names, comments = _warehouse_state(root, config, catalog, warehouse)
        leftovers = Leftovers(catalog, config, comments)
        tables = names if check_tables else None
        refused = None if allow_leftovers or not check_tables else leftovers
        listing = project_cache.list_files(root, config.model_paths, config.python_paths)
        key = project_cache.key_of(
            listing,
            (root / CONFIG_FILE).read_bytes(),
            checks=(tables is not None, refused is not None),
        )

        def context(specs: list[AssetSpec]) -> str:
            built = refused.built if refused is not None else None
            return project_cache.context_of(specs, tables, built, config.schema_name)

        cached_path = root / STATE_DIR / project_cache.CACHE_FILE
        specs = project_cache.load(cached_path, key, context)
        if specs is not None:
            specs = _with_python_now(root, config, specs)
        unsaved = None
        if specs is None:
            # Imported here: a load from the project cache needs neither (nor YAML).
            from .discovery import discover
            from .parse_cache import CACHE_FILE, ParseCache

            cache = ParseCache.open(root / STATE_DIR / CACHE_FILE)
            specs = discover(root, config, warehouse_tables=tables, cache=cache, leftovers=refused)
            if not project_cache.save(cached_path, key, specs, listing, context(specs)):
                unsaved = (cached_path, key, listing, context(specs))
        graph = AssetGraph(specs)
        project = cls(root, config, specs, graph, view, catalog, leftovers, repaired)
        project._unsaved = unsaved
        project.discovery_key = f"{key}:{context(specs)}"
        return project

    def settle_cache(self) -> None:
        """Cache a discovery that was too recent to cache when loaded, if the asset files
        are unchanged since (called at the end of a run: the first command after a
        build of fresh files then loads from the project cache)."""
        if self._unsaved is None:
            return
        path, key, listing, context = self._unsaved
        self._unsaved = None
        now = project_cache.list_files(self.root, self.config.model_paths, self.config.python_paths)
        if now == listing:
            project_cache.save(path, key, self.specs, listing, context)

    def leftover_tables(self) -> list[Leftover]:
        """Tables of assets that no longer exist (empty when the warehouse is unread)."""
        if self.leftovers is None:
            return []
        return self.leftovers.all(self.graph.specs)

    # ---- paths and stores -------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def warehouse_path(self) -> Path:
        return (self.root / self.config.warehouse).resolve()

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "writer.lock"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.state_dir / "catalog.sqlite")
        return self._catalog

    def open_warehouse(self) -> Warehouse:
        """The warehouse, for writing (the caller holds the writer lock)."""
        return Warehouse(
            self.warehouse_path,
            schema=self.config.schema_name,
            root=self.root,
            content_hash=self.config.content_hash,
        )

    # ---- state ------------------------------------------------------------------------

    def source_versions(
        self, *, now: float | None = None, only: set[str] | None = None
    ) -> dict[str, str]:
        """Current version of every file source (read by ``only`` when given),
        re-hashing only files that changed."""
        specs = self.specs if only is None else [self.graph.specs[n] for n in only]
        patterns = sorted({f for s in specs for f in s.file_sources})
        if not patterns:
            return {}
        previous = self.catalog.source_observations()
        versions, changed = observe(self.root, patterns, previous, now=now or time.time())
        if changed:
            try:
                self.catalog.save_source_observations(changed)
            except CatalogError:
                pass  # read-only or full: a cache; the next command hashes them again
        return versions

    def snapshot(self, only: set[str] | None = None) -> CatalogSnapshot:
        """What the catalog knows of every asset's past (of ``only`` when given), each
        asset judged by the build its table holds (see
        :func:`~assets_orch.staleness.with_held_builds`)."""
        snapshot = self.catalog.snapshot(only)
        held = held_elsewhere(snapshot, self.warehouse_view)
        if not held:
            return snapshot
        records = self.catalog.materializations_by_id(held.values())
        found = {name: records[mid] for name, mid in held.items() if mid in records}
        return with_held_builds(snapshot, found)

    def status(
        self, *, now: float | None = None, of: Iterable[str] | None = None
    ) -> dict[str, AssetStatus]:
        """Every asset's state and staleness reasons, in lineage order; with ``of``,
        only those assets and their upstreams are judged (and returned)."""
        return self.judge(now=now, of=of).statuses

    def judge(
        self,
        *,
        now: float | None = None,
        warehouse: Warehouse | None = None,
        of: Iterable[str] | None = None,
    ) -> Judgement:
        """Statuses with partitioned assets judged per partition (docs/partitions.md).

        ``of`` limits the work to those assets and their upstreams (what their statuses
        depend on): ``lineage NAME`` at 10,000 assets judges its neighbourhood only.
        """
        from .column_versions import refine_statuses
        from .partitions.context import project_status

        only = self.graph.with_ancestors(of) if of is not None else None
        judgement = project_status(self, now=now or time.time(), warehouse=warehouse, only=only)
        judgement.statuses = refine_statuses(
            self,
            judgement.statuses,
            snapshot=judgement.snapshot,
            source_versions=judgement.source_versions,
            keep=set(judgement.partitions),
            warehouse=warehouse,
        )
        return judgement

    def save_graph(self) -> None:
        """Store the asset list and lineage edges in the catalog (for readers, HTML).

        Skipped when nothing it stores can have changed: the discovery key (the project
        cache's key and context: files, config, what tables resolve to) is the one
        stored with the last save.
        """
        if self.catalog.meta_value("graph_key") == self.discovery_key:
            return
        self._save_graph()
        self.catalog.set_meta("graph_key", self.discovery_key)

    def _save_graph(self) -> None:
        assets = []
        edges = []
        for spec in self.specs:
            info = spec.to_json()
            info["line"] = spec.line
            info["meta"] = spec.meta.model_dump(mode="json")
            assets.append((spec.name, spec.kind, spec.path, spec.fingerprint, info))
            edges += [(spec.name, u, "asset") for u in spec.upstreams]
            edges += [(spec.name, t, "table") for t in spec.external_tables]
            edges += [(spec.name, f, "file") for f in spec.file_sources]
        blob = json.dumps([a[:4] for a in assets] + edges, sort_keys=True)
        blob += json.dumps([a[4] for a in assets], sort_keys=True, default=str)
        self.catalog.save_graph(assets, edges, hashlib.sha256(blob.encode()).hexdigest())


def _with_python_now(
    root: Path, config: ProjectConfig, cached: list[AssetSpec]
) -> list[AssetSpec] | None:
    """The cached specs with the functions of Python assets imported now, or None when
    the Python files now define other assets than the cache says (a module that builds
    its assets from another file, say): then the project is discovered again.

    Python modules are always imported at load, as without the cache: what they do when
    imported (and whether they still can be) is never taken from a cache.
    """
    if not config.python_paths:
        return cached
    from .discovery import discover_python

    fresh = {s.name: s for s in discover_python(root, config)}
    python = [s for s in cached if s.kind == "python"]
    if {s.name for s in python} != set(fresh):
        return None
    same = ("path", "line", "fingerprint", "params", "meta")
    if any(getattr(s, f) != getattr(fresh[s.name], f) for s in python for f in same):
        return None
    return [replace(s, func=fresh[s.name].func) if s.kind == "python" else s for s in cached]


def _warehouse_state(
    root: Path, config: ProjectConfig, catalog: Catalog, warehouse: Warehouse | None
) -> tuple[WarehouseView, set[str] | None, dict[str, str | None] | None]:
    """What the warehouse holds: the view staleness reads, every table name (for
    discovery; None when unknown), and the COMMENT of each table of the project schema.

    Remembered when the file is unchanged (see :mod:`assets_orch.warehouse_state`), else
    read from it and remembered; while another process holds it, the last remembered.
    """
    path = (root / config.warehouse).resolve()
    schema = config.schema_name
    if not path.exists():
        return WarehouseView({}, schema), set(), {}
    state = remembered(catalog, path, schema)
    if state is None:
        before = identity_of(path)
        if warehouse is not None:  # a writer, holding the lock: its run may change the file
            state = WarehouseState.read(warehouse)
            _remember_quietly(catalog, path, schema, state, None)
        else:
            reader = Warehouse(path, schema=schema, root=root)
            try:
                reader.connect(read_only=True)
            except WarehouseBusyError:
                # A run (or another program) holds the file: the last list remembered.
                # Any other failure (not a DuckDB file, another version) is the user's.
                last = remembered(catalog, path, schema, trust=False)
                if last is None:
                    return WarehouseView(None, schema), None, None
                return WarehouseView(None, schema), set(last.names), last.comments
            try:
                state = WarehouseState.read(reader)
            finally:
                reader.close()
            if before is not None and before == identity_of(path):
                _remember_quietly(catalog, path, schema, state, before)
    return WarehouseView(state.tables, schema), set(state.names), state.comments


def _remember_quietly(
    catalog: Catalog,
    path: Path,
    schema: str,
    state: WarehouseState,
    identity: tuple[int, int, int, int] | None,
) -> None:
    """Remember the state; a read-only or busy catalog only costs the next command a read."""
    import sqlite3

    from .errors import CatalogError

    try:
        remember(catalog, path, schema, state, identity)
    except (CatalogError, sqlite3.Error):
        pass


def close_and_remember(project: Project, warehouse: Warehouse) -> None:
    """Close a writer's warehouse and remember what it holds for the next command."""
    if not warehouse.connected:
        return
    try:
        state = WarehouseState.read(warehouse)
    except Exception:  # noqa: BLE001 - a broken connection: the next command reads the file
        warehouse.close()
        return
    warehouse.close()
    _remember_quietly(
        project.catalog,
        warehouse.path,
        project.config.schema_name,
        state,
        identity_of(warehouse.path),
    )
