"""One materialization, start to end: lock, reconcile, load, plan, run, record.

The CLI and the daemon both call :func:`materialize`; it holds the writer lock and
the warehouse only for the duration of the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SelectionError
from .execution import Engine, Event, RunOptions, RunResult, new_run_id, plan_statuses
from .lock import WriterLock
from .project import Project
from .records import CANCELLED, FAILURE_STATUSES, SKIPPED
from .staleness import AssetStatus

RETRYABLE = FAILURE_STATUSES | {SKIPPED, CANCELLED, "not_started"}


@dataclass
class Plan:
    """What a run will build, in lineage order, with each asset's reasons."""

    run_id: str
    names: list[str]
    statuses: dict[str, AssetStatus]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "assets": [
                {
                    "name": n,
                    "state": self.statuses[n].state,
                    "reasons": [str(r) for r in self.statuses[n].reasons],
                }
                for n in self.names
            ],
        }


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
        chosen &= _retry_set(project, retry_failed)
    return project.graph.order(plan_statuses(statuses, chosen, stale_only=stale_only))


def _retry_set(project: Project, run_id: str) -> set[str]:
    catalog = project.catalog
    run = catalog.run(run_id) if run_id else next(iter(catalog.runs(1)), None)
    if run is None:
        raise SelectionError(
            f"no run to retry{' matching ' + repr(run_id) if run_id else ''}",
            hint="see 'assets runs'",
        )
    last: dict[str, str] = {}
    for mat in catalog.materializations_of_run(run.run_id):
        last[mat.asset] = mat.status
    return {a for a, s in last.items() if s in RETRYABLE and a in project.graph}


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
) -> tuple[Plan, RunResult | None]:
    """Build the selected (and, with ``stale_only``, stale) assets of the project.

    ``retry_failed`` is a run id ("" for the last run): only its failed, timed-out,
    skipped and unstarted assets are considered. Returns the plan and the result
    (None for a dry run or an empty plan).
    """
    options = options or RunOptions()
    run_id = new_run_id()
    if dry_run:
        project = Project.load(root)
        statuses = project.status()
        names = select_plan(
            project, statuses, selection, stale_only=options.stale_only, retry_failed=retry_failed
        )
        return Plan(run_id, names, statuses), None
    from .config import STATE_DIR, find_project_root

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
        warehouse.connect()
        try:
            project = Project.load(project_root, warehouse=warehouse)
            notes = [lock.warning] if lock.warning else []
            notes += reconcile(project.catalog, warehouse)
            if notes:
                # Reconciliation may have changed what the warehouse view should say.
                project = Project.load(project_root, warehouse=warehouse)
            project.save_graph()
            project.catalog.save_warehouse_tables(warehouse.tables())
            statuses = project.status()
            names = select_plan(
                project,
                statuses,
                selection,
                stale_only=options.stale_only,
                retry_failed=retry_failed,
            )
            plan = Plan(run_id, names, statuses, notes)
            if on_plan:
                on_plan(plan)
            if not names:
                return plan, None
            project.logs_dir.mkdir(parents=True, exist_ok=True)
            engine = Engine(
                graph=project.graph,
                catalog=project.catalog,
                warehouse=warehouse,
                snapshot=project.catalog.snapshot(),
                source_versions=project.source_versions(),
                warehouse_view=project.warehouse_view,
                defaults=config.defaults,
                options=options,
                on_event=on_event,
                log_path=project.logs_dir / f"{run_id}.log",
                cancel=cancel,
            )
            result = engine.run(names, run_id=run_id)
            project.catalog.save_warehouse_tables(warehouse.tables())
            return plan, result
        finally:
            warehouse.close()
