"""Reconcile the catalog with the warehouse after a crash.

A materialization is recorded as ``running`` before it builds, with everything it
consumed. If the process dies, the next writer (or the first reader, when no writer
runs) finds that row: when the table's COMMENT carries the same materialization id,
the DuckDB commit went through and the row becomes a success (row count and columns
are read back); otherwise nothing was published and the row becomes ``interrupted``.
Runs left ``running`` are closed as ``crashed``, with what was repaired in their
message.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from .catalog import Catalog
from .records import (
    CRASHED,
    INTERRUPTED,
    RUNNING,
    RUNS_IN_PROGRESS,
    SUCCESS,
    MaterializationRecord,
    RunRecord,
)
from .warehouse import Warehouse

if TYPE_CHECKING:
    from pathlib import Path

    from .config import ProjectConfig
    from .partitions.store import PartitionStore, Update


def reconcile(catalog: Catalog, warehouse: Warehouse, *, lock_note: str | None = None) -> list[str]:
    """Repair what a dead writer left; returns one line per repaired record.

    Call only while holding the writer lock (no other writer can be running). Each
    line is also kept in the message of the run it concerns, with ``lock_note`` (the
    lock was taken over from a dead process), so that ``assets runs show`` tells them
    whoever repaired the catalog.
    """
    by_run: dict[str, list[str]] = {}
    running = catalog.running_materializations()
    stale_mats = [m for m in running if m.partition is None]
    partition_mats = [m for m in running if m.partition is not None]
    if partition_mats:
        for run_id, line in _reconcile_partitions(catalog, warehouse, partition_mats):
            by_run.setdefault(run_id, []).append(line)
    tables = warehouse.tables() if stale_mats else {}
    comments = _data_versions(warehouse) if stale_mats else {}
    for mat in stale_mats:
        if tables.get(mat.asset.lower()) == mat.id:
            columns = warehouse.describe(mat.asset)
            rows = warehouse.row_count(mat.asset)
            catalog.finish_materialization(
                replace(
                    mat,
                    status=SUCCESS,
                    ended_at=time.time(),
                    row_count=rows,
                    columns=columns,
                    data_version=comments.get(mat.id, mat.id),
                )
            )
            line = f"{mat.asset}: build of run {mat.run_id} had committed; recorded it"
        else:
            catalog.finish_materialization(
                replace(
                    mat,
                    status=INTERRUPTED,
                    ended_at=time.time(),
                    error="interrupted: the process died before the build committed",
                )
            )
            line = (
                f"{mat.asset}: build of run {mat.run_id} was interrupted; "
                "the previous table is intact"
            )
        by_run.setdefault(mat.run_id, []).append(line)
    notes = [line for lines in by_run.values() for line in lines]
    for run in catalog.unfinished_runs():
        if run.pid == os.getpid() and run.run_id in RUNS_IN_PROGRESS:
            continue
        lines = [f"the process (pid {run.pid}) died during the run"]
        lines += [lock_note] if lock_note else []
        lines += by_run.pop(run.run_id, [])
        counts, last_seen = _what_it_did(catalog, run)
        catalog.mark_run_ended(
            run.run_id, CRASHED, "\n".join(lines), counts=counts, ended_at=last_seen
        )
        notes.append(f"run {run.run_id} was left unfinished by pid {run.pid}; closed it")
    for run_id, lines in by_run.items():  # attempts left running by a run that ended
        catalog.add_run_notes(run_id, lines)
    return notes


def _what_it_did(catalog: Catalog, run: RunRecord) -> tuple[dict[str, int], float]:
    """A crashed run's counts (the last attempt of each asset or partition) and when
    it was last seen alive (its last recorded start or end)."""
    mats = catalog.materializations_of_run(run.run_id)
    last = {(m.asset, m.partition): m.status for m in mats}
    counts: dict[str, int] = {}
    for status in last.values():
        counts[status] = counts.get(status, 0) + 1
    seen = [run.started_at]
    seen += [m.started_at for m in mats]
    seen += [m.ended_at for m in mats if m.ended_at is not None and m.status != INTERRUPTED]
    return counts, max(seen)


def repair_if_abandoned(root: Path, config: ProjectConfig, catalog: Catalog) -> list[str]:
    """After a crash, repair the catalog before anyone reads it, when no writer lives.

    A run left ``running`` by a dead process may have committed tables the catalog
    does not know yet; repairing first keeps ``status`` and the warehouse in step.
    Readers call this: it holds the writer lock for the moment it takes (run id
    ``reconcile``; a writer waits for it) and gives up quietly when a writer runs or
    the warehouse is held elsewhere.
    """
    if not catalog.unfinished_runs():
        return []
    from .errors import CatalogError, LockError, WarehouseBusyError
    from .lock import RECONCILE, WriterLock, holder_alive
    from .paths import LOCK_FILE, STATE_DIR

    lock_path = root / STATE_DIR / LOCK_FILE
    if holder_alive(lock_path):
        return []  # a live writer: its run is not abandoned
    try:
        with WriterLock(lock_path, run_id=RECONCILE, wait=0) as lock:
            warehouse = Warehouse(
                (root / config.warehouse).resolve(), schema=config.schema_name, root=root
            )
            try:
                warehouse.connect()
            except WarehouseBusyError:
                return []  # held by a process outside our lock (a notebook): try later
            try:
                return reconcile(catalog, warehouse, lock_note=lock.warning)
            finally:
                warehouse.close()
    except LockError:
        return []  # a writer started meanwhile
    except CatalogError:
        return []  # the catalog or the lock cannot be written: read what is recorded


def shown_as_crashed(runs: list[RunRecord], lock_path: Path) -> list[RunRecord]:
    """Runs still recorded ``running`` whose process is gone, shown as ``crashed``
    (until a command that can repair the catalog records it so)."""
    from .lock import holder_alive, pid_alive

    if not any(r.status == RUNNING for r in runs):
        return runs
    writer = holder_alive(lock_path)
    return [
        replace(
            r,
            status=CRASHED,
            message=f"the process (pid {r.pid}) died during the run; not repaired yet",
        )
        if r.status == RUNNING and (not writer or r.pid is None or not pid_alive(r.pid))
        else r
        for r in runs
    ]


def _reconcile_partitions(
    catalog: Catalog, warehouse: Warehouse, mats: list[MaterializationRecord]
) -> list[tuple[str, str]]:
    """Partitions left ``running``: the bookkeeping table in the warehouse, written in the
    batch's transaction, says whether they committed; the ranges are updated to match.
    Returns (run id, note) pairs."""
    from .partitions.store import PartitionStore, consumed_json, failed, marked, succeeded
    from .partitions.tables import committed

    found = committed(warehouse, [m.id for m in mats])
    store = PartitionStore(catalog.path)
    done: dict[tuple[str, str], int] = {}
    lost: dict[tuple[str, str], int] = {}
    try:
        partitioned = set(store.assets())
        for mat in mats:
            hit = found.get(mat.id)
            if hit is not None:
                rows, version = hit
                catalog.finish_materialization(
                    replace(
                        mat,
                        status=SUCCESS,
                        ended_at=time.time(),
                        row_count=rows,
                        data_version=version,
                    )
                )
                consumed = {
                    u: "*" if u in partitioned else v for u, v in mat.upstream_versions.items()
                }
                update = succeeded(
                    fingerprint=mat.code_fingerprint,
                    consumed=consumed_json({**consumed, **mat.source_versions}),
                )
                done[mat.run_id, mat.asset] = done.get((mat.run_id, mat.asset), 0) + 1
            else:
                catalog.finish_materialization(
                    replace(
                        mat,
                        status=INTERRUPTED,
                        ended_at=time.time(),
                        error="interrupted: the process died before the batch committed",
                    )
                )
                update = failed("interrupted")
                lost[mat.run_id, mat.asset] = lost.get((mat.run_id, mat.asset), 0) + 1
            _update_range(store, mat, update)
        # Whether the committed data differs from before is not known any more: every
        # partitioned downstream partition is marked (conservative, and rare).
        for asset in sorted({a for _, a in done}):
            marks = [
                (down, label, -(2**40), 2**40, marked(asset))
                for down, up, kind in catalog.lineage_edges()
                if up == asset and kind == "asset" and down in partitioned
                for label in store.ranges(down)
            ]
            store.update(asset, [], data_changed=True, marks=marks)
    finally:
        store.close()
    notes = [
        (r, f"{a}: {n} partition(s) had committed; recorded them") for (r, a), n in done.items()
    ]
    notes += [
        (r, f"{a}: {n} partition(s) were interrupted; their previous rows are intact")
        for (r, a), n in lost.items()
    ]
    return notes


def _update_range(store: PartitionStore, mat: MaterializationRecord, update: Update) -> None:
    """Apply ``update`` to the one partition ``mat`` was building."""
    from .partitions.definition import KEY_SEP, PartitionsDef, TimeDim

    signature = store.signature(mat.asset)
    if signature is None or mat.partition is None:
        return
    # A definition able to parse the key back into (static values, index), from the
    # layout signature the ranges were written with.
    time_part, _, static_part = signature.partition(";")
    time = None
    if time_part != "-":
        column, _, grain = time_part.partition("/")
        time = TimeDim(column, grain, 0, None)
    values = dict(p.split("=", 1) for p in mat.partition.split(KEY_SEP) if "=" in p)
    static = tuple((n, (values.get(n, ""),)) for n in static_part.split(",") if n)
    definition = PartitionsDef(time, static)
    values_, index = definition.parse_key(mat.partition)
    store.update(mat.asset, [(definition.static_label(values_), index, index, update)])


def _data_versions(warehouse: Warehouse) -> dict[str, str]:
    import json

    from .warehouse import COMMENT_PREFIX

    con = warehouse.reading()
    rows = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE comment LIKE ?", [COMMENT_PREFIX + "%"]
    ).fetchall()
    out = {}
    for (comment,) in rows:
        try:
            data = json.loads(comment[len(COMMENT_PREFIX) :])
        except ValueError:
            continue
        if isinstance(data, dict) and "materialization" in data:
            out[str(data["materialization"])] = str(data.get("data_version"))
    return out
