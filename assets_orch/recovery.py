"""Reconcile the catalog with the warehouse after a crash.

A materialization is recorded as ``running`` before it builds, with everything it
consumed. If the process dies, the next writer finds that row: when the table's
COMMENT carries the same materialization id, the DuckDB commit went through and the
row becomes a success (row count and columns are read back); otherwise nothing was
published and the row becomes ``interrupted``. Runs left ``running`` are closed.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from .catalog import Catalog
from .records import INTERRUPTED, SUCCESS, MaterializationRecord
from .warehouse import Warehouse

if TYPE_CHECKING:
    from .partitions.store import PartitionStore, Update


def reconcile(catalog: Catalog, warehouse: Warehouse) -> list[str]:
    """Repair what a dead writer left; returns one line per repaired record.

    Call only while holding the writer lock (no other writer can be running).
    """
    notes: list[str] = []
    running = catalog.running_materializations()
    stale_mats = [m for m in running if m.partition is None]
    partition_mats = [m for m in running if m.partition is not None]
    if partition_mats:
        notes += _reconcile_partitions(catalog, warehouse, partition_mats)
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
            notes.append(f"{mat.asset}: build of run {mat.run_id} had committed; recorded it")
        else:
            catalog.finish_materialization(
                replace(
                    mat,
                    status=INTERRUPTED,
                    ended_at=time.time(),
                    error="interrupted: the process died before the build committed",
                )
            )
            notes.append(
                f"{mat.asset}: build of run {mat.run_id} was interrupted; "
                "the previous table is intact"
            )
    for run in catalog.unfinished_runs():
        if run.pid != os.getpid():
            catalog.mark_run_ended(run.run_id, "crashed", "the process died during the run")
            notes.append(f"run {run.run_id} was left unfinished by pid {run.pid}; closed it")
    return notes


def _reconcile_partitions(
    catalog: Catalog, warehouse: Warehouse, mats: list[MaterializationRecord]
) -> list[str]:
    """Partitions left ``running``: the bookkeeping table in the warehouse, written in the
    batch's transaction, says whether they committed; the ranges are updated to match."""
    from .partitions.store import PartitionStore, consumed_json, failed, marked, succeeded
    from .partitions.tables import committed

    found = committed(warehouse, [m.id for m in mats])
    store = PartitionStore(catalog.path)
    done: dict[str, int] = {}
    lost: dict[str, int] = {}
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
                done[mat.asset] = done.get(mat.asset, 0) + 1
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
                lost[mat.asset] = lost.get(mat.asset, 0) + 1
            _update_range(store, mat, update)
        # Whether the committed data differs from before is not known any more: every
        # partitioned downstream partition is marked (conservative, and rare).
        for asset in done:
            marks = [
                (down, label, -(2**40), 2**40, marked(asset))
                for down, up, kind in catalog.lineage_edges()
                if up == asset and kind == "asset" and down in partitioned
                for label in store.ranges(down)
            ]
            store.update(asset, [], data_changed=True, marks=marks)
    finally:
        store.close()
    notes = [f"{a}: {n} partition(s) had committed; recorded them" for a, n in done.items()]
    notes += [
        f"{a}: {n} partition(s) were interrupted; their previous rows are intact"
        for a, n in lost.items()
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
