"""Walk a project and build one :class:`AssetSpec` per SQL file and ``@asset`` function.

Discovery resolves every table a query reads: an asset of the project, or a table
already in the warehouse (an *external table*), or else an error naming the file,
the line and the closest asset name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .check_inputs import check_columns, check_inputs
from .config import ProjectConfig, database_name
from .errors import DiscoveryError, SqlError
from .files import skipped, walk
from .header import Header, closest_name, meta_from_values, parse_header
from .python_assets import load_python_assets
from .specs import AssetSpec
from .sql import TableRef, analyze_sql

if TYPE_CHECKING:
    from .leftovers import Leftovers
    from .metadata import AssetMeta
    from .parse_cache import ParseCache
    from .sql.analysis import SqlAnalysis


@dataclass(frozen=True)
class _RawSql:
    spec: AssetSpec
    tables: tuple[TableRef, ...]
    columns: tuple[str, ...] | None = None  # the query's output names, when it names all


def nothing_found(config: ProjectConfig) -> DiscoveryError:
    """The error for a project without a single asset, naming where they were sought.

    >>> nothing_found(ProjectConfig()).message
    'no assets found in models/ or assets/'
    """
    folders = [f"{f}/" for f in (*config.model_paths, *config.python_paths)]
    where = " or ".join(folders) if folders else "no folder (both are empty)"
    sql = f" under {config.model_paths[0]}/" if config.model_paths else ""
    python = f" under {config.python_paths[0]}/" if config.python_paths else ""
    return DiscoveryError(
        f"no assets found in {where}",
        hint=f"add a .sql file (one SELECT){sql} or an @asset function{python}; the folders "
        "are model_paths and python_paths in assets.toml",
    )


def iter_files(root: Path, folders: Iterable[str], suffix: str) -> list[Path]:
    """Files with ``suffix`` under each folder, sorted, skipping hidden directories."""
    found: list[str] = []
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        if any(skipped(p) for p in base.relative_to(root).parts):
            continue
        found += walk(str(base), suffix)
    if os.sep != "/":
        return sorted(Path(p) for p in found)
    # Sorted as Path objects sort (part by part), without building Paths to compare them.
    return [Path(p) for p in sorted(found, key=lambda p: p.split("/"))]


def _relative(root: Path, file: Path) -> str:
    """``file.relative_to(root).as_posix()``, by slicing when ``file`` starts with ``root/``."""
    text, base = str(file), str(root)
    if os.sep == "/" and text.startswith(base + "/") and base != "/":
        return text[len(base) + 1 :]
    return file.relative_to(root).as_posix()


def discover(
    root: Path,
    config: ProjectConfig,
    *,
    warehouse_tables: set[str] | None = None,
    analyzer: object | None = None,
    cache: ParseCache | None = None,
    leftovers: Leftovers | None = None,
) -> list[AssetSpec]:
    """All assets of the project at ``root``, upstreams resolved, sorted by name.

    ``warehouse_tables`` holds the lower-cased names (``name`` and ``schema.name``) of
    tables already in the warehouse; a query that reads a table that is neither an
    asset nor one of these is an error. Pass None to skip that check. ``leftovers``
    tells tables of assets that no longer exist (see :mod:`assets_orch.leftovers`):
    reading one is an error too. With a ``cache`` (see :mod:`assets_orch.parse_cache`),
    unchanged SQL files are not parsed again; the cache is saved before returning or
    raising.
    """
    try:
        return _discover(root, config, warehouse_tables, analyzer, cache, leftovers)
    finally:
        if cache is not None:
            cache.save()


def _discover(
    root: Path,
    config: ProjectConfig,
    warehouse_tables: set[str] | None,
    analyzer: object | None,
    cache: ParseCache | None,
    leftovers: Leftovers | None,
) -> list[AssetSpec]:
    if analyzer is not None:
        cache = None  # a custom analyzer's results are not ours to cache
    files = [
        _read_sql(root, f, config, cache) for f in iter_files(root, config.model_paths, ".sql")
    ]
    ahead = _analyze_ahead(files, analyzer)
    raw = [_sql_asset(f, analyzer, cache, ahead.get(f.rel)) for f in files]
    python_specs = discover_python(root, config)
    by_key: dict[str, AssetSpec] = {}
    for spec in [r.spec for r in raw] + python_specs:
        other = by_key.get(spec.key)
        if other is not None:
            raise DiscoveryError(
                f"asset name '{spec.name}' is defined twice: {other.path}:{other.line} "
                f"and {spec.path}:{spec.line}",
                path=spec.path,
                line=spec.line,
                hint="asset names are file stems or function names and must be unique "
                "(case-insensitive); rename one of them",
            )
        by_key[spec.key] = spec
    names = sorted(s.name for s in by_key.values())
    if analyzer is not None:
        cache = None  # as for the queries: a custom analyzer's project is not cached
    scope = _Scope(by_key, names, config, warehouse_tables, cache)
    resolved = [_resolve_sql(r, scope) for r in raw]
    resolved += [_resolve_python(s, scope) for s in python_specs]
    if leftovers is not None:
        _refuse_leftovers(resolved, leftovers, raw, config)
    return sorted(resolved, key=lambda s: s.key)


def discover_python(root: Path, config: ProjectConfig) -> list[AssetSpec]:
    """The ``@asset`` functions of the project's Python files (modules imported), their
    upstreams not resolved yet."""
    specs = []
    for file in iter_files(root, config.python_paths, ".py"):
        rel = file.relative_to(root).as_posix()
        for loaded in load_python_assets(file, rel):
            d = loaded.definition
            specs.append(
                AssetSpec(
                    name=d.name,
                    kind="python",
                    path=rel,
                    line=loaded.line,
                    meta=d.meta,
                    fingerprint=loaded.fingerprint,
                    func=d.func,
                    params=d.params,
                )
            )
    return specs


def _refuse_leftovers(
    specs: list[AssetSpec], leftovers: Leftovers, raw: list[_RawSql], config: ProjectConfig
) -> None:
    """Raise when an asset reads the left-over table of an asset that no longer exists."""
    schema = config.schema_name.lower()
    for spec in specs:
        reads = {t.lower().removeprefix(f"{schema}."): t for t in spec.external_tables}
        found = leftovers.among(reads)
        if not found:
            continue
        table, leftover = next(iter(found.items()))
        line, col = spec.line, None
        refs = next((r.tables for r in raw if r.spec.name == spec.name), ())
        ref = next((r for r in refs if r.name.lower() == table), None)
        if ref is not None:
            line, col = ref.line or line, ref.col
        raise SqlError(
            f"{spec.name} reads '{reads[table]}', but {leftover.was} that no longer "
            "exists: its table is left over from an earlier build and nothing refreshes it",
            path=spec.path,
            line=line,
            col=col,
            hint=f"restore the asset, or change {spec.name} to read another table; to "
            f'keep the table as an external source, declare it in assets.toml ([sources."'
            f"{reads[table]}\"]); 'assets prune' drops left-over tables",
        )


@dataclass(frozen=True)
class _SqlFile:
    """A SQL asset file read, with its header, metadata and effective dialect, and its
    analysis when the parse cache has it."""

    file: Path
    rel: str
    text: str
    read: Any  # the parse cache's look-up (None without a cache)
    header: Header
    meta: AssetMeta
    dialect: str
    analysis: SqlAnalysis | None


def _read_sql(root: Path, file: Path, config: ProjectConfig, cache: ParseCache | None) -> _SqlFile:
    rel = _relative(root, file)
    try:
        read = cache.lookup(rel, file) if cache is not None else None
        text = read.text if read is not None else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DiscoveryError(f"cannot read SQL file: {e}", path=rel) from e
    cached = read.entry if read is not None else None
    if cached is not None:
        h = cached.header
        header = Header(values=h.values, prose=h.prose, key_lines=h.key_lines)
    else:
        header = parse_header(text, path=rel)
    meta = meta_from_values(
        header.values, path=rel, key_lines=header.key_lines, default_line=1, prose=header.prose
    )
    dialect = meta.dialect or config.dialect
    analysis = cached.analysis if cached is not None and cached.dialect == dialect else None
    return _SqlFile(file, rel, text, read, header, meta, dialect, analysis)


def _analyze_ahead(files: list[_SqlFile], analyzer: object | None) -> dict[str, SqlAnalysis]:
    """Analyses of the files the parse cache lacks, on every core when there are many."""
    if analyzer is not None:
        return {}
    from .sql.parallel import analyze_many

    return analyze_many([(f.text, f.rel, f.dialect) for f in files if f.analysis is None])


def _sql_asset(
    item: _SqlFile,
    analyzer: object | None,
    cache: ParseCache | None,
    ahead: SqlAnalysis | None = None,
) -> _RawSql:
    analysis = item.analysis
    if analysis is None:
        analyze = getattr(analyzer, "analyze", None) or analyze_sql
        analysis = ahead or analyze(item.text, path=item.rel, dialect=item.dialect)
        if cache is not None and item.read is not None:
            from .parse_cache import CachedHeader

            header = item.header
            raw_header = CachedHeader(header.values, header.prose, header.key_lines)
            cache.store(
                item.rel, item.read, dialect=item.dialect, header=raw_header, analysis=analysis
            )
    meta = item.meta
    fingerprint = hashlib.sha256(
        f"sql:{analysis.fingerprint}:{meta.output_fingerprint()}".encode()
    ).hexdigest()
    spec = AssetSpec(
        name=item.file.stem,
        kind="sql",
        path=item.rel,
        line=1,
        meta=meta,
        fingerprint=fingerprint,
        file_sources=tuple(analysis.files),
        sql=analysis.sql,
        source_text=item.text,
    )
    return _RawSql(spec=spec, tables=tuple(analysis.tables), columns=analysis.columns)


def _resolve_sql(raw: _RawSql, scope: _Scope) -> AssetSpec:
    spec = raw.spec
    links = _Links()
    for ref in raw.tables:
        _resolve_ref(ref, spec, scope, links)
    for dep in spec.meta.deps:
        _add_declared_dep(spec, dep, scope, links)
    check_columns(spec, raw.columns)
    _resolve_checks(spec, scope, links)
    return _with_links(spec, links)


def _resolve_python(spec: AssetSpec, scope: _Scope) -> AssetSpec:
    links = _Links()
    for param in spec.params:
        found = scope.by_key.get(param.lower())
        if found is None:
            close = closest_name(param, scope.names)
            raise DiscoveryError(
                f"parameter '{param}' of @asset '{spec.name}' names no asset",
                path=spec.path,
                line=spec.line,
                hint=(f"did you mean '{close}'? " if close else "")
                + "each parameter of an @asset function must be the name of an upstream asset",
            )
        links.upstreams.add(found.name)
    for dep in spec.meta.deps:
        _add_declared_dep(spec, dep, scope, links)
    _resolve_checks(spec, scope, links)
    return _with_links(spec, links)


@dataclass(frozen=True)
class _Scope:
    """What resolving a name needs: the project's assets, the warehouse's tables."""

    by_key: dict[str, AssetSpec]
    names: list[str]
    config: ProjectConfig
    tables: set[str] | None  # warehouse tables, lower-cased; None: not checked
    cache: ParseCache | None


@dataclass
class _Links:
    """What one asset reads, as resolution finds it."""

    upstreams: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    check_upstreams: set[str] = field(default_factory=set)


def _resolve_ref(
    ref: TableRef, spec: AssetSpec, scope: _Scope, links: _Links, *, check: str | None = None
) -> str | None:
    """Add ``ref`` to ``links`` as an upstream asset or an external table; the asset's
    name when it is one. ``check`` is the label of the check that reads it, if any."""
    in_project_schema = _in_own_catalog(ref, scope.config) and (
        ref.schema is None or ref.schema.lower() == scope.config.schema_name.lower()
    )
    asset_spec = scope.by_key.get(ref.name.lower()) if in_project_schema else None
    if asset_spec is not None:
        links.upstreams.add(asset_spec.name)
        return asset_spec.name
    qualified = ref.qualified
    if scope.tables is not None and not _in_warehouse(ref, scope.tables, scope.config):
        close = closest_name(ref.name, scope.names)
        hint = f"did you mean '{close}'? " if close else ""
        what = (
            f"check {check} reads table '{qualified}', which is"
            if check
            else (f"table '{qualified}' is")
        )
        raise SqlError(
            f"{what} neither an asset of this project nor a table in the warehouse",
            path=spec.path,
            line=ref.line,
            col=ref.col,
            hint=hint + "create the asset (a .sql file or an @asset function), load the "
            "table into the warehouse, or read a file with read_csv('data/...')",
        )
    links.external.add(qualified if ref.schema or ref.catalog else ref.name)
    return None


def _resolve_checks(spec: AssetSpec, scope: _Scope, links: _Links) -> None:
    """Add what the checks of ``spec`` read (the asset itself aside) to ``links``."""
    if not any(c.kind in ("sql", "expression") for c in spec.meta.checks):
        return
    inputs = check_inputs(spec, scope.cache)
    for label, ref in inputs.tables:
        itself = ref.name.lower() == spec.key and ref.catalog is None
        if itself and (
            ref.schema is None or ref.schema.lower() == scope.config.schema_name.lower()
        ):
            continue  # the new data, inside the build's transaction
        found = _resolve_ref(ref, spec, scope, links, check=label)
        if found is not None:
            links.check_upstreams.add(found)
    links.files.update(inputs.files)


def _add_declared_dep(spec: AssetSpec, dep: str, scope: _Scope, links: _Links) -> None:
    found = scope.by_key.get(dep.lower())
    if found is not None:
        links.upstreams.add(found.name)
    elif scope.tables is None or dep.lower() in scope.tables:
        links.external.add(dep)
    else:
        close = closest_name(dep, scope.names)
        raise DiscoveryError(
            f"declared dependency '{dep}' of '{spec.name}' is neither an asset nor a "
            "warehouse table",
            path=spec.path,
            line=spec.line,
            hint=f"did you mean '{close}'?" if close else None,
        )


def _with_links(spec: AssetSpec, links: _Links) -> AssetSpec:
    from dataclasses import replace

    return replace(
        spec,
        upstreams=tuple(sorted(links.upstreams, key=str.lower)),
        external_tables=tuple(sorted(links.external)),
        file_sources=tuple(sorted(set(spec.file_sources) | links.files)),
        check_upstreams=tuple(sorted(links.check_upstreams, key=str.lower)),
    )


def _in_warehouse(ref: TableRef, tables: set[str], config: ProjectConfig) -> bool:
    candidates = {ref.qualified.lower()}
    if ref.schema is None and ref.catalog is None:
        candidates.add(f"{config.schema_name.lower()}.{ref.name.lower()}")
    elif ref.catalog is not None and ref.schema is not None and _in_own_catalog(ref, config):
        candidates.add(f"{ref.schema}.{ref.name}".lower())
    return bool(candidates & tables)


def _in_own_catalog(ref: TableRef, config: ProjectConfig) -> bool:
    """No catalog, or the warehouse's own (``warehouse.raw.clicks`` in warehouse.duckdb)."""
    if ref.catalog is None:
        return True
    return ref.catalog.lower() == database_name(config.warehouse).lower()
