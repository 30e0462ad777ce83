"""Plan and run materializations: lineage order, parallel branches, retries, timeouts.

The coordinator (the calling thread) launches each asset on its own worker thread as
soon as its upstreams in the plan have succeeded, never more than ``threads`` at once.
A failed asset skips its downstream; independent branches go on. A timed-out SQL
asset is interrupted inside DuckDB; a Python asset past its timeout is abandoned
(it can never commit). Ctrl-C / SIGTERM cancels running queries and records the run
as cancelled. Every attempt is recorded in the catalog; events go to ``on_event`` so
that the CLI can draw progress (this module never prints).
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .records import (
    CANCELLED,
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCESS,
    TIMED_OUT,
    AssetHistory,
    CatalogSnapshot,
    MaterializationRecord,
)
from .staleness import AssetStatus, asset_reasons
from .warehouse import BuildCancelled, ChecksFailed

if TYPE_CHECKING:
    from .catalog import Catalog
    from .config import Defaults
    from .graph import AssetGraph
    from .specs import AssetSpec
    from .staleness import WarehouseView
    from .warehouse import BuildResult, Warehouse

UNCHANGED = "unchanged"  # --stale: upstream rebuilt with identical data (early cutoff)
NOT_STARTED = "not_started"
TIMEOUT_GRACE = 2.0  # seconds a timed-out asset gets to roll back before it is abandoned


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique run id such as ``20261122T101500-3f9a1c``."""
    stamp = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunOptions:
    """How to run: threads, failure policy, trigger (for the run history)."""

    threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    stale_only: bool = False
    fail_fast: bool = False
    trigger: str = "manual"
    selection: str = ""


@dataclass
class AssetOutcome:
    """How one asset ended in a run."""

    name: str
    status: str
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    row_count: int | None = None
    error: str | None = None
    traceback: str | None = None
    skipped_because: str | None = None
    checks: tuple[Any, ...] = ()

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def first_error_line(self) -> str | None:
        return self.error.strip().splitlines()[0] if self.error else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "row_count": self.row_count,
            "error": self.first_error_line,
            "skipped_because": self.skipped_because,
            "checks": [
                {
                    "check": c.check.label,
                    "status": c.status,
                    "failing_rows": c.failing_rows,
                    "severity": c.check.severity,
                }
                for c in self.checks
            ],
        }


@dataclass
class RunResult:
    """A finished run: its id, overall status and every asset's outcome."""

    run_id: str
    status: str
    outcomes: dict[str, AssetOutcome]
    started_at: float
    ended_at: float

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes.values():
            out[o.status] = out.get(o.status, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.ended_at - self.started_at,
            "counts": self.counts(),
            "assets": [o.to_json() for o in self.outcomes.values()],
        }


@dataclass(frozen=True)
class Event:
    """A progress event: ``started``, ``retrying``, ``finished`` (any final status)."""

    kind: str
    asset: str
    outcome: AssetOutcome | None = None
    attempt: int = 1
    message: str | None = None


@dataclass
class _Task:
    spec: AssetSpec
    thread: threading.Thread | None = None
    cursor: Any = None
    started: float = 0.0
    deadline: float | None = None
    timed_out: threading.Event = field(default_factory=threading.Event)
    abandoned: threading.Event = field(default_factory=threading.Event)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)


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
        self.cancel = cancel or threading.Event()
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115

    # ---- public -----------------------------------------------------------------------

    def run(self, names: list[str], *, run_id: str | None = None) -> RunResult:
        """Materialize ``names`` (any order; lineage order is enforced)."""
        run_id = run_id or new_run_id()
        started = time.time()
        self.catalog.start_run(
            run_id,
            trigger=self.options.trigger,
            selection=self.options.selection,
            pid=os.getpid(),
        )
        self._write_log(
            f"run {run_id} started: {len(names)} asset(s), trigger "
            f"{self.options.trigger}, selection '{self.options.selection}'"
        )
        outcomes: dict[str, AssetOutcome] = {}
        try:
            self._schedule(run_id, self.graph.order(names), outcomes)
            status = self._run_status(outcomes)
        except KeyboardInterrupt:
            self._cancel_all(run_id, outcomes)
            status = CANCELLED
        finally:
            ended = time.time()
            for name in names:
                outcomes.setdefault(name, AssetOutcome(name, NOT_STARTED))
            self._record_not_built(run_id, outcomes)
            result = RunResult(
                run_id, status, {n: outcomes[n] for n in self.graph.order(names)}, started, ended
            )
            self.catalog.finish_run(run_id, status=status, counts=result.counts())
            self._write_log(f"run {run_id} {status}: {result.counts()}")
            if self._log:
                self._log.close()
        return result

    # ---- scheduling -------------------------------------------------------------------

    def _schedule(self, run_id: str, order: list[str], outcomes: dict[str, AssetOutcome]) -> None:
        in_plan = set(order)
        waiting = {n: {u for u in self.graph.upstreams[n] if u in in_plan} for n in order}
        pending = list(order)
        running: dict[str, _Task] = {}
        threads = max(1, self.options.threads)
        stop = False
        while pending or running:
            if self.cancel.is_set():
                raise KeyboardInterrupt
            if not stop:
                for name in list(pending):
                    if len(running) >= threads:
                        break
                    if waiting[name]:
                        continue
                    pending.remove(name)
                    if self._launch_or_settle(run_id, name, outcomes, running):
                        self._done(name, outcomes[name], pending, waiting, outcomes)
            if stop and not running:
                break
            self._drain(running, outcomes, pending, waiting, timeout=self._tick(running))
            self._enforce_timeouts(running, outcomes, pending, waiting)
            if self.options.fail_fast and any(
                o.status in (FAILED, TIMED_OUT) for o in outcomes.values()
            ):
                stop = True

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
        """Start ``name``, or settle it without building; True when settled."""
        spec = self.graph.specs[name]
        missing = [
            u
            for u in spec.upstreams
            if u not in outcomes
            and self.snapshot.data_version(u) is None
            and self.warehouse_view.has(u) is not True
        ]
        if missing:
            outcomes[name] = AssetOutcome(
                name,
                SKIPPED,
                skipped_because=f"upstream {missing[0]} was never built (select it too: +{name})",
            )
            return True
        if self.options.stale_only and not self._still_stale(spec):
            outcomes[name] = AssetOutcome(
                name, UNCHANGED, skipped_because="upstreams rebuilt with identical data"
            )
            return True
        task = _Task(spec)
        timeout = spec.meta.timeout if spec.meta.timeout is not None else self.defaults.timeout
        task.started = time.monotonic()
        task.deadline = task.started + timeout if timeout else None
        task.thread = threading.Thread(
            target=self._worker, args=(run_id, task), name=f"asset:{name}", daemon=True
        )
        running[name] = task
        self.on_event(Event("started", name))
        self._write_log(f"{name}: started")
        task.thread.start()
        return False

    def _still_stale(self, spec: AssetSpec) -> bool:
        """Early cutoff: re-judge an asset once its upstreams in this run are done."""
        return bool(
            asset_reasons(
                spec, self.snapshot, self.source_versions, self.warehouse_view, time.time()
            )
        )

    def _drain(
        self,
        running: dict[str, _Task],
        outcomes: dict[str, AssetOutcome],
        pending: list[str],
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
        pending: list[str],
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
            for down in self.graph.downstreams[name]:
                if down in waiting:
                    waiting[down].discard(name)
            return
        cause = name if outcome.status != SKIPPED else (outcome.skipped_because or name)
        for down in self.graph.order(self.graph.descendants(name)):
            if down in pending:
                pending.remove(down)
                because = f"upstream {name} {outcome.status.replace('_', ' ')}"
                if outcome.status == SKIPPED:
                    because = f"upstream {name} skipped"
                skipped = AssetOutcome(down, SKIPPED, skipped_because=because)
                outcomes[down] = skipped
                self.on_event(Event("finished", down, outcome=skipped))
                self._write_log(f"{down}: skipped ({because}; root cause {cause})")

    def _enforce_timeouts(
        self,
        running: dict[str, _Task],
        outcomes: dict[str, AssetOutcome],
        pending: list[str],
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
                    task.abandoned.set()
                del running[name]
                outcome = AssetOutcome(
                    name,
                    TIMED_OUT,
                    attempts=1,
                    started_at=time.time() - (now - task.started),
                    ended_at=time.time(),
                    error=f"timed out after {task.deadline - task.started:.0f}s (abandoned)",
                )
                self._record_final(task, outcome)
                self._done(name, outcome, pending, waiting, outcomes)

    @staticmethod
    def _interrupt(task: _Task) -> None:
        cur = task.cursor
        if cur is not None:
            try:
                cur.interrupt()
            except Exception:  # noqa: BLE001 - the cursor may be closing
                pass

    def _cancel_all(self, run_id: str, outcomes: dict[str, AssetOutcome]) -> None:
        self.cancel.set()
        live = [t for t in threading.enumerate() if t.name.startswith("asset:")]
        for task in list(self._running_tasks()):
            self._interrupt(task)
        deadline = time.monotonic() + 10
        for thread in live:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "done":
                outcomes[payload.name] = payload

    def _running_tasks(self) -> list[_Task]:
        return list(self._tasks.values()) if hasattr(self, "_tasks") else []

    @staticmethod
    def _run_status(outcomes: dict[str, AssetOutcome]) -> str:
        bad = {FAILED, TIMED_OUT, SKIPPED, NOT_STARTED, CANCELLED}
        return FAILED if any(o.status in bad for o in outcomes.values()) else SUCCESS

    # ---- one asset --------------------------------------------------------------------

    def _worker(self, run_id: str, task: _Task) -> None:
        if not hasattr(self, "_tasks"):
            self._tasks: dict[str, _Task] = {}
        self._tasks[task.spec.name] = task
        try:
            outcome = self._build_with_retries(run_id, task)
        except BaseException as e:  # noqa: BLE001 - a worker must always report back
            outcome = AssetOutcome(
                task.spec.name,
                FAILED,
                error=f"internal error: {e!r}",
                traceback=traceback.format_exc(),
            )
        finally:
            self._tasks.pop(task.spec.name, None)
            if task.cursor is not None:
                try:
                    task.cursor.close()
                except Exception:  # noqa: BLE001
                    pass
        if not task.abandoned.is_set():
            self._events.put(("done", outcome))

    def _policy(self, spec: AssetSpec) -> tuple[int, float]:
        retries = spec.meta.retries if spec.meta.retries is not None else self.defaults.retries
        delay = (
            spec.meta.retry_delay
            if spec.meta.retry_delay is not None
            else self.defaults.retry_delay
        )
        return retries, delay

    def _build_with_retries(self, run_id: str, task: _Task) -> AssetOutcome:
        spec = task.spec
        retries, delay = self._policy(spec)
        first_start = time.time()
        attempt = 0
        while True:
            attempt += 1
            record = self._start_record(run_id, spec, attempt)
            try:
                result = self._build_once(task, record)
            except BaseException as e:  # noqa: BLE001
                status, message, tb = self._classify(task, e)
                ended = time.time()
                self.catalog.finish_materialization(
                    replace(record, status=status, ended_at=ended, error=message, traceback=tb)
                )
                checks = tuple(e.results) if isinstance(e, ChecksFailed) else ()
                if checks:
                    self._record_checks(run_id, record, checks)
                retryable = status == FAILED and not self.cancel.is_set()
                if retryable and attempt <= retries:
                    wait = delay * (2 ** (attempt - 1)) * (0.5 + random.random())
                    self._events.put(("retrying", (spec.name, attempt + 1, message)))
                    self._write_log(
                        f"{spec.name}: attempt {attempt} failed, retrying in "
                        f"{wait:.1f}s: {message.splitlines()[0] if message else ''}"
                    )
                    if self.cancel.wait(wait):
                        return AssetOutcome(
                            spec.name, CANCELLED, attempt, first_start, ended, error=message
                        )
                    continue
                return AssetOutcome(
                    spec.name,
                    status,
                    attempt,
                    first_start,
                    ended,
                    error=message,
                    traceback=tb,
                    checks=checks,
                )
            ended = time.time()
            final = replace(
                record,
                status=SUCCESS,
                ended_at=ended,
                row_count=result.row_count,
                columns=result.columns,
                data_version=result.data_version,
            )
            self.catalog.finish_materialization(final)
            self._record_checks(run_id, record, result.checks)
            self.snapshot.assets[spec.name] = AssetHistory(final, SUCCESS)
            return AssetOutcome(
                spec.name,
                SUCCESS,
                attempt,
                first_start,
                ended,
                row_count=result.row_count,
                checks=result.checks,
            )

    def _classify(self, task: _Task, error: BaseException) -> tuple[str, str, str | None]:
        import duckdb

        if task.timed_out.is_set():
            limit = (task.deadline or 0) - task.started
            return TIMED_OUT, f"timed out after {limit:.0f}s", None
        if self.cancel.is_set() or isinstance(error, BuildCancelled | KeyboardInterrupt):
            return CANCELLED, "cancelled", None
        if isinstance(error, ChecksFailed):
            return FAILED, str(error), None
        if isinstance(error, duckdb.Error):
            return FAILED, f"{type(error).__name__}: {error}", None
        return FAILED, f"{type(error).__name__}: {error}", traceback.format_exc()

    def _start_record(self, run_id: str, spec: AssetSpec, attempt: int) -> MaterializationRecord:
        record = MaterializationRecord(
            id=uuid.uuid4().hex[:16],
            run_id=run_id,
            asset=spec.name,
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
        self.catalog.start_materialization(record)
        return record

    def _build_once(self, task: _Task, record: MaterializationRecord) -> BuildResult:
        spec = task.spec
        cursor = self.warehouse.cursor()
        task.cursor = cursor
        seed = (
            f"{record.id}|{spec.fingerprint}|{sorted(record.upstream_versions.items())}|"
            f"{sorted(record.source_versions.items())}"
        )

        def may_commit() -> bool:
            with task.commit_lock:
                return not (
                    task.abandoned.is_set() or task.timed_out.is_set() or self.cancel.is_set()
                )

        if task.timed_out.is_set() or self.cancel.is_set():
            raise BuildCancelled("not started")
        if spec.kind == "sql":
            return self.warehouse.build_sql(
                cursor,
                name=spec.name,
                sql=spec.sql or "",
                materialized=spec.meta.materialized,
                materialization_id=record.id,
                checks=spec.meta.checks,
                version_seed=seed,
                may_commit=may_commit,
            )
        assert spec.func is not None
        args = {p: self.warehouse.relation(cursor, self.graph.resolve(p)) for p in spec.params}
        value = spec.func(**args)
        return self.warehouse.build_python(
            cursor,
            name=spec.name,
            value=value,
            materialization_id=record.id,
            checks=spec.meta.checks,
            version_seed=seed,
            may_commit=may_commit,
        )

    # ---- records ----------------------------------------------------------------------

    def _record_checks(
        self, run_id: str, record: MaterializationRecord, results: tuple[Any, ...]
    ) -> None:
        now = time.time()
        self.catalog.record_checks(
            {
                "materialization_id": record.id,
                "run_id": run_id,
                "asset": record.asset,
                "check_name": r.check.label,
                "severity": r.check.severity,
                "status": r.status,
                "failing_rows": r.failing_rows,
                "sample": r.sample,
                "message": r.message,
                "checked_at": now,
            }
            for r in results
        )

    def _record_final(self, task: _Task, outcome: AssetOutcome) -> None:
        record = MaterializationRecord(
            id=uuid.uuid4().hex[:16],
            run_id="",
            asset=task.spec.name,
            status=outcome.status,
            started_at=outcome.started_at or time.time(),
            ended_at=outcome.ended_at,
            code_fingerprint=task.spec.fingerprint,
            error=outcome.error,
        )
        self._pending_final = getattr(self, "_pending_final", [])
        self._pending_final.append(record)

    def _record_not_built(self, run_id: str, outcomes: dict[str, AssetOutcome]) -> None:
        now = time.time()
        rows = [
            MaterializationRecord(
                id=uuid.uuid4().hex[:16],
                run_id=run_id,
                asset=o.name,
                status=o.status,
                started_at=o.started_at or now,
                ended_at=now,
                code_fingerprint=self.graph.specs[o.name].fingerprint,
                error=o.skipped_because or o.error,
            )
            for o in outcomes.values()
            if o.status in (SKIPPED, NOT_STARTED) or (o.status == CANCELLED and not o.attempts)
        ]
        self.catalog.record_skipped(rows)
        for record in getattr(self, "_pending_final", []):
            self.catalog.finish_materialization(replace(record, run_id=run_id))

    def _write_log(self, line: str) -> None:
        if self._log:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self._log.write(f"{stamp} {line}\n")
            self._log.flush()


def plan_statuses(
    statuses: dict[str, AssetStatus], selected: set[str], *, stale_only: bool
) -> list[str]:
    """The assets a run will consider: the selection, limited to stale ones if asked."""
    if not stale_only:
        return sorted(selected)
    return sorted(n for n in selected if statuses[n].is_stale)
