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

from .catalog import Catalog
from .records import INTERRUPTED, SUCCESS
from .warehouse import Warehouse


def reconcile(catalog: Catalog, warehouse: Warehouse) -> list[str]:
    """Repair what a dead writer left; returns one line per repaired record.

    Call only while holding the writer lock (no other writer can be running).
    """
    notes: list[str] = []
    stale_mats = catalog.running_materializations()
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


def _data_versions(warehouse: Warehouse) -> dict[str, str]:
    import json

    from .warehouse import COMMENT_PREFIX

    con = warehouse.connect()
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
