"""One materialization, start to end: lock, reconcile, load, plan, run, record.

The CLI and the daemon both call :func:`materialize`; it holds the writer lock and
the warehouse only for the duration of the run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog_store import PERMISSION_HINT
from .errors import CatalogError, SelectionError
from .execution import Engine, plan_statuses
from .lock import WriterLock
from .outcomes import Event, RunOptions, RunResult, new_run_id
from .partitions.definition import PartitionFilter
from .partitions.plan import PlanRequest, build_plan
from .paths import STATE_DIR
from .project import Project, close_and_remember
from .records import CANCELLED, FAILURE_STATUSES, SKIPPED
from .staleness import AssetStatus
from .units import Unit, WorkPlan

if TYPE_CHECKING:
    from .partitions.context import Judgement
    from .partitions.runtime import PartitionRuntime
    from .warehouse import Warehouse

RETRYABLE = FAILURE_STATUSES | {SKIPPED, CANCELLED, "not_started"}


@dataclass
class Plan:
    """What a run will build, in lineage order, with each asset's reasons.

    ``names`` are assets; ``work`` holds the units (partitioned assets contribute
    batches of partitions) when the plan was built for partitions.
    """

    run_id: str
    names: list[str]
    statuses: dict[str, AssetStatus]
    notes: list[str] = field(default_factory=list)
    work: WorkPlan | None = None

    def batches(self, name: str) -> list[Unit]:
        """The partition batches of ``name`` in this plan (empty when unpartitioned)."""
        if self.work is None:
            return []
        return [u for u in self.work.units if u.asset == name and u.partitioned]

    def to_json(self) -> dict[str, object]:
        assets = []
        for n in self.names:
            item: dict[str, object] = {
                "name": n,
                "state": self.statuses[n].state,
                "reasons": [str(r) for r in self.statuses[n].reasons],
            }
            batches = self.batches(n)
            if batches:
                item["partitions"] = [u.key for u in batches]
                item["partition_count"] = sum(u.size for u in batches)
            assets.append(item)
        return {"run_id": self.run_id, "assets": assets}


def select_plan(
    project: Project,
    statuses: dict[str, AssetStatus],
    selection: tuple[str, ...] | list[str],
    *,
    stale_only: bool,
    retry_failed: str | None = None,
) -> list[str]:
    """The asset names to build, in lineage order."""
    chosen = project.graph.select(selection)
    if retry_failed is not None:
        chosen &= set(_retry_set(project, retry_failed))
    return project.graph.order(plan_statuses(statuses, chosen, stale_only=stale_only))


def _retry_set(project: Project, run_id: str) -> dict[str, set[str]]:
    """Assets of run ``run_id`` ("" for the last) to retry, with the partition keys."""
    catalog = project.catalog
    run = catalog.find_run(run_id) if run_id else next(iter(catalog.runs(1)), None)
    if run is None:
        raise SelectionError("no run to retry yet", hint="see 'assets runs'")
    last: dict[tuple[str, str | None], str] = {}
    for mat in catalog.materializations_of_run(run.run_id):
        last[(mat.asset, mat.partition)] = mat.status
    out: dict[str, set[str]] = {}
    for (asset, partition), status in last.items():
        if status in RETRYABLE and asset in project.graph:
            keys = out.setdefault(asset, set())
            if partition is not None:
                keys.add(partition)
    return out


def materialize(
    root: Path | None,
    selection: tuple[str, ...] | list[str] = (),
    *,
    options: RunOptions | None = None,
    dry_run: bool = False,
    retry_failed: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    cancel: threading.Event | None = None,
    partitions: PartitionFilter | None = None,
    batch_size: int | None = None,
) -> tuple[Plan, RunResult | None]:
    """Build the selected (and, with ``stale_only``, stale) assets of the project.

    ``retry_failed`` is a run id ("" for the last run): only its failed, timed-out,
    skipped and unstarted assets (and partitions) are considered. ``partitions``
    narrows partitioned assets to some partitions (``--partition``, ``--from``, ``--to``);
    ``batch_size`` overrides how many partitions one query writes. Returns the plan
    and the result (None for a dry run or an empty plan).
    """
    options = options or RunOptions()
    request_filter = partitions or PartitionFilter()
    if options.full_refresh and not request_filter.is_empty:
        raise SelectionError(
            "--full-refresh rebuilds every partition; it does not combine with "
            "--partition, --from or --to"
        )
    run_id = new_run_id()
    if dry_run:
        reader = Project.load(root)
        try:
            judgement = reader.judge()
            plan = _plan(
                reader,
                judgement,
                selection,
                options,
                retry_failed,
                request_filter,
                batch_size,
                run_id,
            )
        finally:
            reader.catalog.close()
        return plan, None
    from .paths import find_project_root

    project_root = find_project_root(root)
    with WriterLock(project_root / STATE_DIR / "writer.lock", run_id=run_id) as lock:
        from .config import load_config
        from .recovery import reconcile
        from .warehouse import Warehouse

        config = load_config(project_root)
        warehouse = Warehouse(
            (project_root / config.warehouse).resolve(),
            schema=config.schema_name,
            root=project_root,
            content_hash=config.content_hash,
        )
        # Not opened yet: a run with nothing to do never opens the warehouse (its tables
        # are remembered, see warehouse_state); reconciling, partitions and probes open it.
        project: Project | None = None
        try:
            project = Project.load(project_root, warehouse=warehouse)
            if not project.catalog.writable:  # refused before anything changes
                raise CatalogError(
                    "cannot write the catalog: permission denied",
                    path=str(project.catalog.path),
                    hint=PERMISSION_HINT,
                )
            notes = [lock.warning] if lock.warning else []
            notes += reconcile(project.catalog, warehouse, lock_note=lock.warning)
            notes += _reset_partitioned(project, warehouse, selection, options)
            if notes:
                # Reconciliation may have changed what the warehouse view should say.
                project.catalog.close()
                project = Project.load(project_root, warehouse=warehouse)
            project.save_graph()
            judgement = project.judge(warehouse=warehouse)
            plan = _plan(
                project,
                judgement,
                selection,
                options,
                retry_failed,
                request_filter,
                batch_size,
                run_id,
            )
            plan.notes[:0] = notes + judgement.probe_notes
            runtime = _partition_runtime(project, judgement, warehouse, plan, run_id, options)
            log_path = None
            if plan.work is not None and plan.work.units:
                log_path, problem = _log_path(project, run_id)
                plan.notes += [problem] if problem else []
            if on_plan:
                on_plan(plan)
            if plan.work is None or not plan.work.units:
                if runtime is not None:
                    runtime.store.close()
                return plan, None
            if cancel is not None and cancel.is_set():
                return plan, None  # Ctrl-C while loading: nothing to build, nothing to record
            _check_writable_folder(warehouse.path)
            warehouse.connect()  # fails here, before the run starts, when it is held
            engine = Engine(
                graph=project.graph,
                catalog=project.catalog,
                warehouse=warehouse,
                snapshot=judgement.snapshot,
                source_versions=judgement.source_versions,
                warehouse_view=project.warehouse_view,
                defaults=config.defaults,
                options=options,
                on_event=on_event,
                log_path=log_path,
                cancel=cancel,
                partitions=runtime,
            )
            try:
                result = engine.run_plan(plan.work, run_id=run_id)
            finally:
                if runtime is not None:
                    runtime.store.close()
            return plan, result
        finally:
            if project is not None:
                close_and_remember(project, warehouse)
                project.settle_cache()
            warehouse.close()
            if project is not None:
                # Close now, not at garbage collection: the daemon runs this many times.
                project.catalog.close()


def _check_writable_folder(path: Path) -> None:
    """DuckDB writes ``NAME.wal`` beside the warehouse at every commit: in a folder this
    user cannot write, every build would fail at its commit. Say so before the run."""
    from .errors import WarehouseFileError

    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise WarehouseFileError(
            f"cannot write in the folder of the warehouse {path.name} (permission denied): "
            f"DuckDB writes {path.name}.wal beside it at every commit",
            path=str(folder),
            hint="give this user write access to that folder, or run the command as the "
            "user who owns the project",
        )


def _log_path(project: Project, run_id: str) -> tuple[Path | None, str | None]:
    """Where the run log goes, or why there is none: a log that cannot be written
    (permissions, a file where the logs folder should be) never stops a run."""
    folder = project.logs_dir
    path = folder / f"{run_id}.log"
    shown = f"{STATE_DIR}/{folder.name}/{path.name}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "a file is in the way" if folder.is_file() else e.strerror
        return None, f"no run log: cannot create {STATE_DIR}/{folder.name}/ ({why})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return None, f"no run log: cannot write {shown} (permission denied)"
    return path, None


def _plan(
    project: Project,
    judgement: Judgement,
    selection: tuple[str, ...] | list[str],
    options: RunOptions,
    retry_failed: str | None,
    request_filter: PartitionFilter,
    batch_size: int | None,
    run_id: str,
) -> Plan:
    """Assets (and partition batches) the run will consider."""
    if not project.specs:
        from .discovery import nothing_found

        raise nothing_found(project.config)
    statuses = judgement.statuses
    retry = _retry_set(project, retry_failed) if retry_failed is not None else None
    chosen = project.graph.select(selection)
    if retry is not None:
        chosen &= set(retry)
    parts = judgement.partitions
    if not request_filter.is_empty:
        picked = {n: parts[n].definition for n in chosen if n in parts}
        if not picked:
            raise SelectionError(
                "--partition, --from and --to need a partitioned asset in the selection",
                hint="see 'assets partitions NAME' for an asset's partitions",
            )
        request_filter.check_dims(picked)
        if not any(
            request_filter.selects_any(d, parts[n].first, parts[n].last) for n, d in picked.items()
        ):
            spans = ", ".join(
                f"{n} ({d.describe_span(parts[n].first, parts[n].last)})"
                for n, d in sorted(picked.items())
            )
            name = next(iter(picked)) if len(picked) == 1 else "NAME"
            raise SelectionError(
                f"{request_filter.describe()} selects no partition of {spans}",
                hint=f"pick partitions inside that range; see 'assets partitions {name}'",
            )
    names = project.graph.order(plan_statuses(statuses, chosen, stale_only=options.stale_only))
    request = PlanRequest(
        filter=request_filter,
        stale_only=options.stale_only,
        batch_size=batch_size,
        retry={a: k for a, k in retry.items() if a in parts} if retry is not None else None,
    )
    work = build_plan(project.graph, names, parts, request)
    kept = set(work.assets)
    return Plan(run_id, [n for n in names if n in kept], statuses, work=work)


def _reset_partitioned(
    project: Project,
    warehouse: Warehouse,
    selection: tuple[str, ...] | list[str],
    options: RunOptions,
) -> list[str]:
    """Drop partitioned tables whose layout changed (or all, with --full-refresh)."""
    from .partitions.context import definitions, open_store
    from .partitions.tables import drop_partitioned, ensure_bookkeeping, layout_of

    defs = definitions(project.graph)
    if not defs:
        return []
    chosen = project.graph.select(selection)
    notes = []
    store = open_store(project)
    try:
        ensure_bookkeeping(warehouse.connect())
        for name, definition in defs.items():
            if name not in chosen:
                continue
            signature = store.signature(name)
            built_in = store.schema(name)
            exists, written = layout_of(warehouse, name)
            why = None
            if options.full_refresh:
                why = "--full-refresh"
            elif built_in is not None and built_in != warehouse.schema:
                # Ranges describe the table in another schema, not the one here.
                why = f"its partitions were last written to schema {built_in}"
            elif exists and (written != definition.signature or signature is None):
                # Written unpartitioned, or with another layout: its rows cannot be
                # replaced partition by partition.
                why = "its partitioning changed"
            elif not exists and signature is not None and store.summary(name)[1]:
                why = "its table is gone from the warehouse"
            if why is None:
                store.ensure(name, definition.signature, warehouse.schema)
                continue
            drop_partitioned(warehouse, name)
            store.reset(name, definition.signature, warehouse.schema)
            notes.append(f"{name}: rebuilt from scratch ({why})")
    finally:
        store.close()
    return notes


def _partition_runtime(
    project: Project,
    judgement: Judgement,
    warehouse: Warehouse,
    plan: Plan,
    run_id: str,
    options: RunOptions,
) -> PartitionRuntime | None:
    if judgement.inputs is None:
        return None
    from .partitions.context import open_store, save_verified
    from .partitions.runtime import PartitionRuntime

    store = open_store(project)
    save_verified(store, judgement, project.graph)
    planned: dict[tuple[str, str], tuple[int, int]] = {}
    for unit in plan.work.units if plan.work is not None else []:
        if unit.first is None or unit.last is None:
            continue
        key = (unit.asset, judgement.inputs.definitions[unit.asset].static_label(unit.static))
        lo, hi = planned.get(key, (unit.first, unit.last))
        planned[key] = (min(lo, unit.first), max(hi, unit.last))
    return PartitionRuntime(
        store=store,
        inputs=judgement.inputs,
        graph=project.graph,
        source_versions=judgement.source_versions,
        warehouse_view=project.warehouse_view,
        run_id=run_id,
        warehouse=warehouse,
        planned=planned,
    )
