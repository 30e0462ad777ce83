"""Plan and run materializations: lineage order, parallel branches, retries, timeouts.

The coordinator (the calling thread) launches each asset on its own worker thread as
soon as its upstreams in the plan have succeeded, never more than ``threads`` at once.
A failed asset skips its downstream; independent branches go on. A timed-out SQL
asset is interrupted inside DuckDB; a Python asset past its timeout is abandoned
(it can never commit). Ctrl-C / SIGTERM cancels running queries and records the run
as cancelled. Every attempt is recorded in the catalog; events go to ``on_event`` so
that the CLI can draw progress (this module never prints).

The unit of work is a :class:`~assets_orch.units.Unit`: a whole asset, or a batch of
partitions of a partitioned asset (written in one transaction, recorded as one
materialization per partition; see docs/partitions.md).
"""

from __future__ import annotations

import os
import queue
import random
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from .cancellation import Cancellation, hurry_of, shielded
from .errors import CatalogError
from .outcomes import (
    NOT_STARTED,
    UNCHANGED,
    AssetOutcome,
    Event,
    RunOptions,
    RunResult,
    new_run_id,
)
from .records import (
    CANCELLED,
    FAILED,
    RUNNING,
    RUNS_IN_PROGRESS,
    SKIPPED,
    SUCCESS,
    TIMED_OUT,
    AssetHistory,
    CatalogSnapshot,
    MaterializationRecord,
)
from .staleness import UPSTREAM_CHANGED, AssetStatus, asset_reasons
from .unit_build import CursorPool, build_unit, deterministic, reuses_cursor
from .units import ReadyQueue, Unit, WorkPlan
from .warehouse import BuildCancelled, ChecksFailed, at_file_lines
from .workers import WorkerPool

if TYPE_CHECKING:
    from .catalog import Catalog
    from .config import Defaults
    from .graph import AssetGraph
    from .partitions.runtime import PartitionRuntime
    from .partitions.tables import BatchResult
    from .specs import AssetSpec
    from .staleness import WarehouseView
    from .warehouse import Warehouse

SWITCH_INTERVAL = 0.0002  # seconds; see run_plan
TIMEOUT_GRACE = 2.0  # seconds a timed-out asset gets to roll back before it is abandoned
CANCEL_GRACE = 10.0  # seconds a cancelled run waits for its units to wind down
_TRACKER_LOCK = threading.Lock()


@dataclass
class _Task:
    spec: AssetSpec
    unit: Unit
    cursor: Any = None
    started: float = 0.0
    deadline: float | None = None
    timed_out: threading.Event = field(default_factory=threading.Event)
    abandoned: threading.Event = field(default_factory=threading.Event)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)
    records: list[MaterializationRecord] = field(default_factory=list)  # current attempt's
    attempt: int = 0
    committing: bool = False  # past may_commit(): its COMMIT may be going through


class Engine:
    """Runs one plan. Build it, call :meth:`run`, read the :class:`RunResult`."""

    def __init__(
        self,
        *,
        graph: AssetGraph,
        catalog: Catalog,
        warehouse: Warehouse,
        snapshot: CatalogSnapshot,
        source_versions: dict[str, str],
        warehouse_view: WarehouseView,
        defaults: Defaults,
        options: RunOptions,
        on_event: Callable[[Event], None] | None = None,
        log_path: os.PathLike[str] | None = None,
        cancel: threading.Event | None = None,
        partitions: PartitionRuntime | None = None,
    ) -> None:
        self.graph = graph
        self.catalog = catalog
        self.warehouse = warehouse
        self.snapshot = CatalogSnapshot(dict(snapshot.assets))
        self.source_versions = source_versions
        self.warehouse_view = warehouse_view
        self.defaults = defaults
        self.options = options
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or Cancellation()
        self._hurry = hurry_of(self.cancel)
        self.partitions = partitions
        self._units: dict[str, Unit] = {}
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        # Units on worker threads (for cancellation), and outcomes of abandoned units that
        # are recorded when the run ends (their own thread may never report back).
        self._tasks: dict[str, _Task] = {}
        self._pending_final: list[MaterializationRecord] = []
        # The first catalog write that failed (disk full): nothing new starts after it.
        self._catalog_error: CatalogError | None = None
        self._cursors = CursorPool(warehouse)  # cursors that plain SQL builds reuse
        self._workers = WorkerPool("asset-worker")
        self._error_lock = threading.Lock()
        self._log: Any = None
        if log_path:
            try:
                self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError:
                pass  # the run log is a convenience: never a reason to fail a run

    # ---- public -----------------------------------------------------------------------

    def run(self, names: list[str], *, run_id: str | None = None) -> RunResult:
        """Materialize ``names`` (any order; lineage order is enforced)."""
        return self.run_plan(WorkPlan.of_assets(self.graph, names), run_id=run_id)

    def run_plan(self, plan: WorkPlan, *, run_id: str | None = None) -> RunResult:
        """Run every unit of ``plan``; a unit starts once the units it waits for succeeded."""
        run_id = run_id or new_run_id()
        self._units = {u.id: u for u in plan.units}
        # From here on the run is in the catalog: a second Ctrl-C must never leave it
        # half-recorded (it hurries the wind-down instead; see cancellation.py).
        with shielded(self.cancel):
            return self._run_plan(plan, run_id)

    def _run_plan(self, plan: WorkPlan, run_id: str) -> RunResult:
        names = plan.ids
        started = time.time()
        RUNS_IN_PROGRESS.add(run_id)
        try:
            self.catalog.start_run(
                run_id,
                trigger=self.options.trigger,
                selection=self.options.selection,
                pid=os.getpid(),
            )
        except CatalogError:
            RUNS_IN_PROGRESS.discard(run_id)
            raise  # nothing was started
        self._write_log(
            f"run {run_id} started: {len(names)} unit(s), trigger "
            f"{self.options.trigger}, selection '{self.options.selection}'"
        )
        outcomes: dict[str, AssetOutcome] = {}
        status = FAILED  # if the coordinator itself fails
        switch = sys.getswitchinterval()
        # Threads take the GIL back after every DuckDB call; while the column recorder
        # computes lineage, a waiting thread gets it after at most this interval (5 ms by
        # default: up to several ms lost between two builds).
        sys.setswitchinterval(SWITCH_INTERVAL)
        if any(self.graph.specs[u.asset].kind == "sql" for u in plan.units):
            self._column_tracker().start()
        try:
            self._schedule(run_id, plan, outcomes)
            status = self._run_status(outcomes)
            if status != SUCCESS and self.cancel.is_set():
                status = CANCELLED  # what was running ended cancelled before the next poll
        except KeyboardInterrupt:
            status = CANCELLED
            self._cancel_all(run_id, outcomes)
        finally:
            sys.setswitchinterval(switch)
            self._finish_columns(cancelled=status == CANCELLED)
            self._cursors.close()
            self._workers.close()
            ended = time.time()
            for name in names:
                outcomes.setdefault(name, self._outcome(name, NOT_STARTED))
            if self._catalog_error is None:
                self._recording(self._record_not_built, run_id, outcomes)
            if self._catalog_error is not None and status == SUCCESS:
                status = FAILED
            result = RunResult(run_id, status, {n: outcomes[n] for n in names}, started, ended)
            if self._catalog_error is None:
                counts = result.counts()
                self._recording(
                    partial(self.catalog.finish_run, status=status, counts=counts), run_id
                )
            if self._catalog_error is not None:
                # The run stays 'running' in the catalog; once its process has ended, the
                # next command closes it as crashed and records what had committed.
                result.catalog_error = self._catalog_error
            RUNS_IN_PROGRESS.discard(run_id)
            self._write_log(f"run {run_id} {status}: {result.counts()}")
            self._close_log()
        return result

    # ---- scheduling -------------------------------------------------------------------

    def _schedule(self, run_id: str, plan: WorkPlan, outcomes: dict[str, AssetOutcome]) -> None:
        order = plan.ids
        waiting = {n: set(plan.deps.get(n, ())) for n in order}
        self._downs = plan.downstreams()
        self._plan = plan
        self._ready = ReadyQueue(order)
        for n in order:
            if not waiting[n]:
                self._ready.push(n)
        pending = set(order)
        running: dict[str, _Task] = {}
        threads = max(1, self.options.threads)
        stop = False
        while pending or running:
            if self.cancel.is_set():
                raise KeyboardInterrupt
            if not stop:
                while self._ready and len(running) < threads:
                    name = self._ready.pop()
                    if name not in pending:
                        continue
                    pending.discard(name)
                    if self._launch_or_settle(run_id, name, outcomes, running):
                        self._done(name, outcomes[name], pending, waiting, outcomes)
            if (stop or not self._ready) and not running:
                break
            self._drain(running, outcomes, pending, waiting, timeout=self._tick(running))
            self._enforce_timeouts(running, outcomes, pending, waiting)
            if self.options.fail_fast and any(
                o.status in (FAILED, TIMED_OUT) for o in outcomes.values()
            ):
                stop = True
            if self._catalog_error is not None:
                stop = True  # nothing more can be recorded: start nothing new

    def _tick(self, running: dict[str, _Task]) -> float:
        deadlines = [t.deadline for t in running.values() if t.deadline is not None]
        if not deadlines:
            return 0.2
        return max(0.01, min(0.2, min(deadlines) - time.monotonic()))

    def _launch_or_settle(
        self,
        run_id: str,
        name: str,
        outcomes: dict[str, AssetOutcome],
        running: dict[str, _Task],
    ) -> bool:
        """Start unit ``name``, or settle it without building; True when settled."""
        unit = self._units[name]
        spec = self.graph.specs[unit.asset]
        partitioned = self.partitions.definitions if self.partitions else {}
        missing = [
            u
            for u in spec.upstreams
            if u not in outcomes
            and self.snapshot.data_version(u) is None
            and (u in partitioned or self.warehouse_view.has(u) is not True)
        ]
        blocked = self._plan.blocked.get(name)
        if missing or blocked:
            because = blocked or (
                f"upstream {missing[0]} was never built (select it too: +{unit.asset})"
            )
            outcomes[name] = self._outcome(name, SKIPPED, skipped_because=because)
            return True
        if self.options.stale_only and not self._still_stale(unit, spec):
            outcomes[name] = self._outcome(
                name, UNCHANGED, skipped_because="upstreams rebuilt without changing what it reads"
            )
            return True
        task = _Task(spec, unit)
        timeout = spec.meta.timeout if spec.meta.timeout is not None else self.defaults.timeout
        task.started = time.monotonic()
        task.deadline = task.started + timeout if timeout else None
        running[name] = task
        self._tasks[task.unit.id] = task
        self.on_event(Event("started", name))
        self._write_log(f"{name}: started")
        self._workers.submit(lambda: self._worker(run_id, task))
        return False

    def _still_stale(self, unit: Unit, spec: AssetSpec) -> bool:
        """Early cutoff: re-judge a unit once its upstreams in this run are done."""
        if unit.partitioned and self.partitions is not None:
            return self.partitions.still_stale(unit, self.snapshot)
        reasons = asset_reasons(
            spec, self.snapshot, self.source_versions, self.warehouse_view, time.time()
        )
        if reasons and all(r.kind == UPSTREAM_CHANGED for r in reasons):
            # Column versions: what the upstreams changed may not be what it reads.
            return not self._column_tracker().fresh(spec, self.snapshot).fresh
        return bool(reasons)

    def _column_tracker(self) -> Any:
        with _TRACKER_LOCK:  # first calls may come from several workers at once
            if getattr(self, "_columns", None) is None:
                from .column_versions import ColumnTracker

                self._columns = ColumnTracker(
                    self.graph,
                    self.catalog,
                    self.warehouse,
                    self.source_versions,
                    self.warehouse.schema,
                )
            return self._columns

    def _finish_columns(self, *, cancelled: bool) -> None:
        """Let the column recorder catch up (or drop its queue when cancelled)."""
        tracker = getattr(self, "_columns", None)
        if tracker is None:
            return
        try:
            tracker.finish(drop=cancelled)
        except KeyboardInterrupt:
            tracker.finish(drop=True)

    def _drain(
        self,
        running: dict[str, _Task],
        outcomes: dict[str, AssetOutcome],
        pending: set[str],
        waiting: dict[str, set[str]],
        timeout: float,
    ) -> None:
        try:
            kind, payload = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if kind == "retrying":
                name, attempt, message = payload
                self.on_event(Event("retrying", name, attempt=attempt, message=message))
            elif kind == "done":
                outcome: AssetOutcome = payload
                if outcome.name in running:
                    del running[outcome.name]
                    self._done(outcome.name, outcome, pending, waiting, outcomes)
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                return

    def _done(
        self,
        name: str,
        outcome: AssetOutcome,
        pending: set[str],
        waiting: dict[str, set[str]],
        outcomes: dict[str, AssetOutcome],
    ) -> None:
        outcomes[name] = outcome
        self.on_event(Event("finished", name, outcome=outcome))
        self._write_log(
            f"{name}: {outcome.status}"
            + (f" - {outcome.first_error_line}" if outcome.error else "")
            + (f" ({outcome.skipped_because})" if outcome.skipped_because else "")
        )
        if outcome.status in (SUCCESS, UNCHANGED):
            for down in self._downs.get(name, ()):
                if down in waiting:
                    waiting[down].discard(name)
                    if not waiting[down] and down in pending:
                        self._ready.push(down)
            return
        cause = name if outcome.status != SKIPPED else (outcome.skipped_because or name)
        for down in self._plan.descendants(name, self._downs):
            if down in pending:
                pending.discard(down)
                because = f"upstream {name} {outcome.status.replace('_', ' ')}"
                if outcome.status == SKIPPED:
                    because = f"upstream {name} skipped"
                skipped = self._outcome(down, SKIPPED, skipped_because=because)
                outcomes[down] = skipped
                self.on_event(Event("finished", down, outcome=skipped))
                self._write_log(f"{down}: skipped ({because}; root cause {cause})")

    def _outcome(self, name: str, status: str, **fields: Any) -> AssetOutcome:
        unit = self._units.get(name)
        if unit is not None and unit.partitioned:
            fields.setdefault("partition", unit.key)
            fields.setdefault("partitions", unit.size)
        return AssetOutcome(name, status, **fields)

    def _enforce_timeouts(
        self,
        running: dict[str, _Task],
        outcomes: dict[str, AssetOutcome],
        pending: set[str],
        waiting: dict[str, set[str]],
    ) -> None:
        now = time.monotonic()
        for name, task in list(running.items()):
            if task.deadline is None or now < task.deadline:
                continue
            if not task.timed_out.is_set():
                task.timed_out.set()
                self._interrupt(task)
            elif now >= task.deadline + TIMEOUT_GRACE:
                # The worker did not return (a Python loop ignoring interrupts): abandon it.
                with task.commit_lock:
                    if task.finished.is_set():
                        continue  # it reported just now: its outcome is in the queue
                    task.abandoned.set()
                del running[name]
                outcome = self._outcome(
                    name,
                    TIMED_OUT,
                    attempts=task.attempt,
                    started_at=time.time() - (now - task.started),
                    ended_at=time.time(),
                    error=f"timed out after {task.deadline - task.started:.0f}s (abandoned)",
                )
                self._record_final(task, outcome)
                self._done(name, outcome, pending, waiting, outcomes)

    @staticmethod
    def _interrupt(task: _Task) -> None:
        with task.commit_lock:
            cur = task.cursor
            if cur is not None:
                try:
                    cur.interrupt()
                except Exception:  # noqa: BLE001 - the cursor may be closing
                    pass

    def _cancel_all(self, run_id: str, outcomes: dict[str, AssetOutcome]) -> None:
        """Interrupt every running unit and wait for it to roll back, up to
        CANCEL_GRACE, or until a second Ctrl-C (``hurry``); what has not wound down by
        then is abandoned and recorded as cancelled."""
        self.cancel.set()
        live = self._running_tasks()
        for task in live:
            self._interrupt(task)
        deadline = time.monotonic() + CANCEL_GRACE
        try:
            for task in live:
                while not task.finished.wait(0.05):
                    if self._hurry.is_set() or time.monotonic() >= deadline:
                        break
        except KeyboardInterrupt:
            pass  # a second Ctrl-C raised by a handler that does not hurry: stop waiting
        for task in self._running_tasks():
            with task.commit_lock:
                committing = task.committing
                if not committing and not task.finished.is_set():
                    task.abandoned.set()  # it can no longer commit, nor report
            if committing:
                # Its COMMIT was under way: give it the moment it needs to report.
                task.finished.wait(5.0)
                with task.commit_lock:
                    if task.finished.is_set():
                        continue
                    task.abandoned.set()
            elif not task.abandoned.is_set():
                continue  # it finished meanwhile: its outcome is in the queue
            outcome = self._outcome(
                task.unit.id,
                CANCELLED,
                attempts=task.attempt,
                started_at=time.time() - (time.monotonic() - task.started),
                ended_at=time.time(),
                error="cancelled: the build did not wind down and was abandoned"
                + (" while committing (the next run reconciles it)" if committing else ""),
            )
            outcomes[task.unit.id] = outcome
            if not committing:  # a commit in flight is left 'running' for reconciliation
                self._record_final(task, outcome)
        self._collect_done(outcomes)

    def _recording(self, write: Callable[..., object], *args: Any) -> bool:
        """``write(*args)`` to the catalog; when the catalog cannot be written (a full
        disk) keep the first error, start nothing new, let what runs finish: False."""
        try:
            write(*args)
        except CatalogError as e:
            with self._error_lock:
                if self._catalog_error is None:
                    self._catalog_error = e
            self._write_log(f"catalog write failed: {e.message}")
            return False
        return True

    def _collect_done(self, outcomes: dict[str, AssetOutcome]) -> None:
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "done":
                outcomes[payload.name] = payload

    def _running_tasks(self) -> list[_Task]:
        return list(self._tasks.values())

    @staticmethod
    def _run_status(outcomes: dict[str, AssetOutcome]) -> str:
        bad = {FAILED, TIMED_OUT, SKIPPED, NOT_STARTED, CANCELLED}
        return FAILED if any(o.status in bad for o in outcomes.values()) else SUCCESS

    # ---- one unit ---------------------------------------------------------------------

    def _worker(self, run_id: str, task: _Task) -> None:
        outcome: AssetOutcome | None = None
        try:
            outcome = self._build_with_retries(run_id, task)
        except BaseException as e:  # noqa: BLE001 - a worker must always report back
            outcome = self._outcome(
                task.unit.id,
                FAILED,
                error=f"internal error: {e!r}",
                traceback=traceback.format_exc(),
            )
        finally:
            self._tasks.pop(task.unit.id, None)
            self._release_cursor(task, reuse=False)
            # Under the lock that abandoning takes: a unit either reports or is
            # abandoned (and reported by the coordinator), never both, never neither.
            with task.commit_lock:
                if outcome is not None and not task.abandoned.is_set():
                    self._events.put(("done", outcome))
                task.finished.set()

    def _policy(self, spec: AssetSpec) -> tuple[int, float]:
        retries = spec.meta.retries if spec.meta.retries is not None else self.defaults.retries
        delay = (
            spec.meta.retry_delay
            if spec.meta.retry_delay is not None
            else self.defaults.retry_delay
        )
        return retries, delay

    def _build_with_retries(self, run_id: str, task: _Task) -> AssetOutcome:
        spec, unit = task.spec, task.unit
        retries, delay = self._policy(spec)
        first_start = time.time()
        attempt = 0
        while True:
            attempt += 1
            if self._catalog_error is not None:
                # Not recorded as started, so not built: nothing could reconcile it.
                return self._outcome(
                    unit.id,
                    FAILED,
                    attempts=attempt - 1,
                    started_at=first_start,
                    ended_at=time.time(),
                    error=f"not built: {self._catalog_error.message}",
                )
            if not self._recording(self._start_records, run_id, task, attempt):
                continue
            records = task.records
            try:
                result = self._build_once(task, records)
            except BaseException as e:  # noqa: BLE001
                status, message, tb = self._classify(task, e)
                ended = time.time()
                self._recording(
                    self.catalog.save_materializations,
                    [
                        replace(r, status=status, ended_at=ended, error=message, traceback=tb)
                        for r in records
                    ],
                )
                checks = tuple(e.results) if isinstance(e, ChecksFailed) else ()
                if checks:
                    self._record_checks(run_id, records[0], checks)
                retryable = (
                    status == FAILED
                    and not self.cancel.is_set()
                    and self._catalog_error is None
                    and not deterministic(e)
                )
                if retryable and attempt <= retries:
                    wait = delay * (2 ** (attempt - 1)) * (0.5 + random.random())
                    self._events.put(("retrying", (unit.id, attempt + 1, message)))
                    self._write_log(
                        f"{unit.id}: attempt {attempt} failed, retrying in "
                        f"{wait:.1f}s: {message.splitlines()[0] if message else ''}"
                    )
                    if self.cancel.wait(wait):
                        return self._outcome(
                            unit.id,
                            CANCELLED,
                            attempts=attempt,
                            started_at=first_start,
                            ended_at=ended,
                            error=message,
                        )
                    continue
                if unit.partitioned and self.partitions and status in (FAILED, TIMED_OUT):
                    self._recording(self.partitions.record_failure, unit, message)
                return self._outcome(
                    unit.id,
                    status,
                    attempts=attempt,
                    started_at=first_start,
                    ended_at=ended,
                    error=message,
                    traceback=tb,
                    checks=checks,
                )
            ended = time.time()
            if unit.partitioned:
                return self._batch_succeeded(
                    run_id, task, records, result, attempt, first_start, ended
                )
            build, appended = result
            final = replace(
                records[0],
                status=SUCCESS,
                ended_at=ended,
                row_count=build.row_count,
                columns=build.columns,
                data_version=build.data_version,
            )
            # Committed: a success even if the catalog cannot say so now (its row stays
            # 'running' and the next command finds the table's COMMENT: recorded then).
            self._recording(self.catalog.finish_materialization, final)
            self._record_checks(run_id, records[0], build.checks)
            self.snapshot.assets[spec.name] = AssetHistory(final, SUCCESS)
            self._column_tracker().record_later(spec, final, self.snapshot)
            return self._outcome(
                unit.id,
                SUCCESS,
                attempts=attempt,
                started_at=first_start,
                ended_at=ended,
                row_count=build.row_count,
                checks=build.checks,
                appended=appended,
            )

    def _batch_succeeded(
        self,
        run_id: str,
        task: _Task,
        records: list[MaterializationRecord],
        batch: BatchResult,
        attempt: int,
        first_start: float,
        ended: float,
    ) -> AssetOutcome:
        """Record each partition of a committed batch as its own materialization."""
        assert self.partitions is not None
        writes = {w.index: w for w in batch.partitions}
        indices = range(task.unit.first or 0, (task.unit.last or 0) + 1)
        finals = [
            replace(
                r,
                status=SUCCESS,
                ended_at=ended,
                row_count=writes[i].row_count,
                columns=batch.columns,
                data_version=writes[i].data_version,
            )
            for i, r in zip(indices, records, strict=True)
        ]
        partitions = self.partitions
        if self._recording(self.catalog.save_materializations, finals):
            self._record_checks(run_id, records[0], batch.checks)
            consumed = partitions.consumed(task.unit, self.snapshot)
            self._recording(partitions.record_success, task.unit, batch, consumed, self.snapshot)
        return self._outcome(
            task.unit.id,
            SUCCESS,
            attempts=attempt,
            started_at=first_start,
            ended_at=ended,
            row_count=sum(w.row_count for w in batch.partitions),
            checks=batch.checks,
        )

    def _classify(self, task: _Task, error: BaseException) -> tuple[str, str, str | None]:
        import duckdb

        from .partitions.tables import PartitionRowsError

        if task.timed_out.is_set():
            limit = (task.deadline or 0) - task.started
            return TIMED_OUT, f"timed out after {limit:.0f}s", None
        if self.cancel.is_set() or isinstance(error, BuildCancelled | KeyboardInterrupt):
            return CANCELLED, "cancelled", None
        if isinstance(error, ChecksFailed | PartitionRowsError):
            return FAILED, str(error), None
        if isinstance(error, duckdb.Error):
            message = f"{type(error).__name__}: {error}"
            return FAILED, at_file_lines(message, task.spec), None
        return FAILED, f"{type(error).__name__}: {error}", traceback.format_exc()

    def _unit_records(
        self, unit: Unit, spec: AssetSpec, **fields: Any
    ) -> list[MaterializationRecord]:
        """One record for a whole asset; one per partition for a batch."""
        fields.setdefault("schema", self.warehouse.schema)
        if not unit.partitioned or self.partitions is None:
            return [MaterializationRecord(id=uuid.uuid4().hex[:16], asset=spec.name, **fields)]
        definition = self.partitions.definitions[unit.asset]
        return [
            MaterializationRecord(
                id=uuid.uuid4().hex[:16],
                asset=spec.name,
                partition=definition.key(unit.static, index),
                **fields,
            )
            for index in range(unit.first or 0, (unit.last or 0) + 1)
        ]

    def _start_records(self, run_id: str, task: _Task, attempt: int) -> list[MaterializationRecord]:
        spec, unit = task.spec, task.unit
        records = self._unit_records(
            unit,
            spec,
            run_id=run_id,
            status=RUNNING,
            started_at=time.time(),
            attempt=attempt,
            code_fingerprint=spec.fingerprint,
            upstream_versions={
                u: self.snapshot.data_version(u) or "unknown" for u in spec.upstreams
            },
            source_versions={
                **{t: "external" for t in spec.external_tables},
                **{f: self.source_versions.get(f, "absent") for f in spec.file_sources},
            },
        )
        # Known to the task before they are saved: a cancelled run that abandons the
        # task records its outcome on these rows, not on new ones.
        task.records, task.attempt = records, attempt
        self.catalog.save_materializations(records)
        return records

    def _build_once(self, task: _Task, records: list[MaterializationRecord]) -> Any:
        """Build the unit on a cursor (see :mod:`assets_orch.unit_build`)."""
        spec, unit = task.spec, task.unit
        reusable = reuses_cursor(spec, unit)
        cursor = self._cursors.take(reusable)
        with task.commit_lock:
            task.cursor = cursor

        def may_commit() -> bool:
            with task.commit_lock:
                task.committing = not (
                    task.abandoned.is_set() or task.timed_out.is_set() or self.cancel.is_set()
                )
                return task.committing

        try:
            if task.timed_out.is_set() or self.cancel.is_set():
                raise BuildCancelled("not started")
            result = build_unit(
                warehouse=self.warehouse,
                graph=self.graph,
                partitions=self.partitions,
                cursor=cursor,
                spec=spec,
                unit=unit,
                records=records,
                may_commit=may_commit,
                full_refresh=self.options.full_refresh,
            )
        except BaseException:
            self._release_cursor(task, reuse=False)
            raise
        self._release_cursor(task, reuse=reusable)
        return result

    def _release_cursor(self, task: _Task, *, reuse: bool) -> None:
        with task.commit_lock:  # _interrupt never reaches a cursor another task took
            cursor, task.cursor = task.cursor, None
            # An interrupt may still be pending on it: never reuse a timed-out cursor.
            reuse = reuse and not (
                task.timed_out.is_set() or task.abandoned.is_set() or self.cancel.is_set()
            )
        if cursor is not None:
            self._cursors.give_back(cursor, reuse=reuse)

    # ---- records ----------------------------------------------------------------------

    def _record_checks(
        self, run_id: str, record: MaterializationRecord, results: tuple[Any, ...]
    ) -> None:
        self._recording(
            partial(self.catalog.record_checks, run_id=run_id, materialization_id=record.id),
            record.asset,
            results,
        )

    def _record_final(self, task: _Task, outcome: AssetOutcome) -> None:
        """The outcome of an abandoned unit, on the rows of its last attempt (recorded
        when the run ends: its own thread may still write them meanwhile)."""
        ended = outcome.ended_at or time.time()
        records = [
            replace(r, status=outcome.status, ended_at=ended, error=outcome.error)
            for r in task.records
        ]
        if task.unit.partitioned and self.partitions is not None:
            self.partitions.record_failure(task.unit, outcome.error)
        self._pending_final.extend(records)

    def _record_not_built(self, run_id: str, outcomes: dict[str, AssetOutcome]) -> None:
        now = time.time()
        rows = []
        for uid, o in outcomes.items():
            if not (
                o.status in (SKIPPED, NOT_STARTED) or (o.status == CANCELLED and not o.attempts)
            ):
                continue
            unit = self._units.get(uid) or Unit(o.asset)
            spec = self.graph.specs[unit.asset]
            rows += self._unit_records(
                unit,
                spec,
                run_id=run_id,
                status=o.status,
                started_at=o.started_at or now,
                ended_at=now,
                code_fingerprint=spec.fingerprint,
                error=o.skipped_because or o.error,
            )
        self.catalog.record_skipped(rows)
        for record in self._pending_final:
            self.catalog.finish_materialization(replace(record, run_id=run_id))

    def _write_log(self, line: str) -> None:
        """Append a line; flushed at once only when something went wrong (a flush per
        line cost ~0.3 ms of the coordinator's time per asset), else by the buffer and
        at the end of the run."""
        if self._log:
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            try:
                self._log.write(f"{stamp}.{int(now % 1 * 1e6):06d}Z {line}\n")
                if " - " in line or "failed" in line or "timed out" in line:
                    self._log.flush()
            except OSError:  # a full disk: the run goes on, and so does the catalog
                self._close_log()

    def _close_log(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            try:
                log.close()
            except OSError:
                pass


def plan_statuses(
    statuses: dict[str, AssetStatus], selected: set[str], *, stale_only: bool
) -> list[str]:
    """The assets a run will consider: the selection, limited to stale ones if asked."""
    if not stale_only:
        return sorted(selected)
    return sorted(n for n in selected if statuses[n].is_stale)
