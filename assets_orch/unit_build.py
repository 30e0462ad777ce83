"""Building one unit of work against the warehouse, and the cursors builds share.

The engine (:mod:`assets_orch.execution`) decides when a unit runs, retries and times
out; this module does the build itself: a partition batch, an incremental append, a SQL
asset or a Python asset, each through :mod:`assets_orch.warehouse` (or
:mod:`assets_orch.partitions.tables`), atomically.

>>> deterministic(ValueError("flaky service"))
False
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .warehouse import ChecksFailed

if TYPE_CHECKING:
    from .graph import AssetGraph
    from .partitions.runtime import PartitionRuntime
    from .records import MaterializationRecord
    from .specs import AssetSpec
    from .units import Unit
    from .warehouse import Warehouse


def reuses_cursor(spec: AssetSpec, unit: Unit) -> bool:
    """A plain SQL build leaves nothing on its cursor (one transaction, committed or
    rolled back), so the next build may reuse it: a new DuckDB cursor costs ~3 ms of CPU.
    Python assets (user code holds the connection), batches and incremental builds
    (temporary tables) get a cursor of their own."""
    return spec.kind == "sql" and not unit.partitioned and spec.meta.incremental is None


class CursorPool:
    """Idle DuckDB cursors of one run, handed to the next plain SQL build."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def take(self, reuse: bool) -> Any:
        """An idle cursor (``reuse``) or a new one."""
        if reuse:
            with self._lock:
                if self._idle:
                    return self._idle.pop()
        return self.warehouse.cursor()

    def give_back(self, cursor: Any, *, reuse: bool) -> None:
        """Keep ``cursor`` for the next build, or close it (failed, interrupted)."""
        if reuse:
            with self._lock:
                self._idle.append(cursor)
            return
        _close(cursor)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for cursor in idle:
            _close(cursor)


def _close(cursor: Any) -> None:
    try:
        cursor.close()
    except Exception:  # noqa: BLE001 - an interrupted cursor may refuse
        pass


def build_unit(
    *,
    warehouse: Warehouse,
    graph: AssetGraph,
    partitions: PartitionRuntime | None,
    cursor: Any,
    spec: AssetSpec,
    unit: Unit,
    records: list[MaterializationRecord],
    may_commit: Callable[[], bool],
    full_refresh: bool,
) -> Any:
    """Build ``unit`` on ``cursor``: ``(BuildResult, appended rows or None)``, or a
    BatchResult for a batch of partitions (one materialization record per partition)."""
    record = records[0]
    if unit.partitioned:
        from .partitions.tables import write_batch

        assert partitions is not None and unit.last is not None
        return write_batch(
            warehouse,
            cursor,
            name=spec.name,
            sql=spec.sql or "",
            definition=partitions.definitions[unit.asset],
            static=unit.static,
            first=unit.first or 0,
            last=unit.last,
            materialization_ids={
                i: r.id for i, r in zip(range(unit.first or 0, unit.last + 1), records, strict=True)
            },
            checks=spec.meta.checks,
            may_commit=may_commit,
            now=time.time(),
        )
    if spec.kind == "sql" and spec.meta.incremental is not None:
        from .partitions.tables import build_incremental

        return build_incremental(
            warehouse,
            cursor,
            name=spec.name,
            sql=spec.sql or "",
            cursor_column=spec.meta.incremental.cursor,
            full=full_refresh,
            materialization_id=record.id,
            checks=spec.meta.checks,
            may_commit=may_commit,
        )
    seed = (
        f"{record.id}|{spec.fingerprint}|{sorted(record.upstream_versions.items())}|"
        f"{sorted(record.source_versions.items())}"
    )
    if spec.kind == "sql":
        return warehouse.build_sql(
            cursor,
            name=spec.name,
            sql=spec.sql or "",
            materialized=spec.meta.materialized,
            materialization_id=record.id,
            checks=spec.meta.checks,
            version_seed=seed,
            may_commit=may_commit,
        ), None
    func = spec.func
    if func is None:  # a spec built without its function: import its module now
        from .python_assets import load_function

        func = load_function(warehouse.root, spec.path, spec.name)
    args = {p: warehouse.relation(cursor, graph.resolve(p)) for p in spec.params}
    value = func(**args)
    return warehouse.build_python(
        cursor,
        name=spec.name,
        value=value,
        materialization_id=record.id,
        checks=spec.meta.checks,
        version_seed=seed,
        may_commit=may_commit,
    ), None


def deterministic(error: BaseException) -> bool:
    """Failures that another attempt over the same inputs repeats: a blocking check, and
    SQL that does not parse or bind (retries are for what can pass next time: I/O, a
    lock, a flaky service, anything a Python asset raises)."""
    import duckdb

    from .partitions.tables import PartitionRowsError

    kinds = (
        ChecksFailed,
        PartitionRowsError,
        duckdb.ParserException,
        duckdb.BinderException,
        duckdb.CatalogException,
    )
    return isinstance(error, kinds)
