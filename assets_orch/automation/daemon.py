"""The daemon: one loop that evaluates schedules, sensors and freshness, and runs.

Each tick, at clock ``now`` (injectable, for tests and for ``--now``):

1. load the project afresh (an edit to a model or to ``assets.toml`` is picked up);
2. judge sources (late ones hold up what reads them) and freshness (overdue assets);
3. collect run requests: at the first tick, what an earlier daemon left unfinished
   (requests kept in the catalog until their run ends); runs deferred from an earlier
   tick, due schedules, HTTP requests, then the sensors (files, upstream, freshness);
4. execute them one at a time through :func:`assets_orch.runner.materialize`, which
   takes the writer lock and opens the warehouse only for the run;
5. send alerts; record the tick and every decision in the catalog.

Between ticks the daemon holds no lock and no warehouse connection. Setting
``cancel`` (SIGTERM, Ctrl-C) cancels the current run as the engine defines it
(running queries interrupted, nothing half-written, the run recorded ``cancelled``)
and ends the loop.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import STATE_DIR, find_project_root
from ..errors import AssetsError, LockError
from ..project import Project
from . import alerts, schedules, sensors
from .freshness import old_assets
from .lateness import SourceState, source_states, waiting
from .store import AutomationStore, Decision

if TYPE_CHECKING:
    from ..config import AlertConfig, ScheduleConfig
    from ..outcomes import RunResult
    from ..records import RunRecord
    from ..staleness import AssetStatus
    from .http_trigger import TriggerServer


@dataclass
class RunRequest:
    """A run the daemon wants: by selection expressions, or by explicit names.

    Requests are kept in the catalog until their run ends (see :meth:`Daemon._keep`):
    ``run_id`` is the run started for it, ``done`` the assets that run built (a request
    that rebuilds what is not stale leaves them out when it is resumed).
    """

    trigger: str  # schedule:NAME | sensor:files | sensor:upstream | freshness | http
    reason: str
    selection: tuple[str, ...] = ()
    names: tuple[str, ...] | None = None
    stale_only: bool = True
    run_id: str | None = None
    done: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What ``assets runs`` shows as the selection."""
        what = " ".join(self.selection) if self.names is None else " ".join(self.names)
        return (what or "*") + (" (stale)" if self.stale_only else "")

    def to_json(self) -> dict[str, object]:
        return {
            "trigger": self.trigger,
            "reason": self.reason,
            "selection": list(self.selection),
            "names": list(self.names) if self.names is not None else None,
            "stale_only": self.stale_only,
            "run_id": self.run_id,
            "done": list(self.done),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRequest:
        names = data.get("names")
        return cls(
            str(data["trigger"]),
            str(data.get("reason", "")),
            tuple(str(x) for x in data.get("selection") or ()),
            tuple(str(x) for x in names) if names is not None else None,
            bool(data.get("stale_only", True)),
            data.get("run_id"),
            tuple(str(x) for x in data.get("done") or ()),
        )

    @classmethod
    def from_run(cls, run: RunRecord) -> RunRequest:
        """The request behind a run the daemon started, from what ``assets runs`` shows
        as its selection (names and selection expressions hold no spaces)."""
        label = run.selection
        stale = label.endswith(" (stale)")
        what = label.removesuffix(" (stale)")
        selection = () if what in ("", "*") else tuple(what.split())
        return cls(run.trigger, f"resumed run {run.run_id}", selection, None, stale, run.run_id)


@dataclass
class TickReport:
    """What one tick decided and ran."""

    tick_id: int
    now: float
    decisions: list[Decision] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    error: str | None = None


class Daemon:
    """Evaluate and run, tick after tick. ``on_decision`` sees each decision as it is made."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        cancel: threading.Event | None = None,
        on_decision: Callable[[Decision], None] | None = None,
        env: Mapping[str, str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.root = find_project_root(root)
        self.clock = clock
        self.cancel = cancel or threading.Event()
        self.on_decision = on_decision or (lambda decision: None)
        self.env = env if env is not None else os.environ
        self.threads = threads
        self.store = AutomationStore(self.root / STATE_DIR / "catalog.sqlite")
        self.server: TriggerServer | None = None
        self.deferred: list[RunRequest] = []
        self._took_up = False  # requests left by an earlier daemon are taken up once
        self._pending: list[RunRequest] = []  # this tick's requests whose run has not ended
        self._wake = threading.Event()
        self._graph_select: Callable[[tuple[str, ...]], object] | None = None
        self._warned: set[str] = set()
        self._report: TickReport | None = None
        self._loaded: list[Project] = []

    # ---- the loop ---------------------------------------------------------------------

    def serve_http(self, host: str, port: int) -> TriggerServer:
        """Start the HTTP trigger; the token comes from ``[daemon] http_token_env``."""
        from ..config import load_config
        from ..errors import AutomationError
        from .http_trigger import TriggerServer

        env_name = load_config(self.root).daemon.http_token_env
        token = self.env.get(env_name, "")
        if not token:
            raise AutomationError(
                f"the HTTP trigger needs a token, and {env_name} is not set",
                hint=f"export {env_name}=$(openssl rand -hex 32); callers send it as "
                "'Authorization: Bearer <token>'",
            )
        self.server = TriggerServer(
            host,
            port,
            token=token,
            validate=self._validate_selection,
            on_request=lambda request: self._wake.set(),
        ).start()
        return self.server

    def run(self, *, interval: float | None = None) -> None:
        """Tick until ``cancel`` is set; an HTTP request wakes the loop at once."""
        try:
            while not self.cancel.is_set():
                try:
                    self.tick()
                except Exception as e:  # noqa: BLE001 - a daemon outlives one bad tick
                    self._decide("error", "", "tick failed", f"internal error: {e!r}")
                wait = interval or self._interval()
                deadline = time.monotonic() + wait
                while not self.cancel.is_set() and not self._wake.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.cancel.wait(min(left, 0.2))
                self._wake.clear()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the HTTP trigger and close the store (safe to call twice)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.store.close()

    def _interval(self) -> float:
        from ..config import load_config

        try:
            return load_config(self.root).daemon.interval
        except AssetsError:
            return 60.0

    # ---- one tick ---------------------------------------------------------------------

    def tick(self, now: float | None = None) -> TickReport:
        """Evaluate everything once at ``now`` (default: the clock) and run what is due."""
        now = self.clock() if now is None else now
        report = self._report = TickReport(self.store.start_tick(now=now), now)
        try:
            project = self._load()
            self._graph_select = project.graph.select
            self._evaluate_and_run(project, now, report)
        except AssetsError as e:  # e.g. a model being edited does not parse: try next tick
            report.error = str(e).splitlines()[0]
            self._decide("error", "", "nothing more this tick", report.error)
        finally:
            for loaded in self._loaded:  # close now: waiting for the GC keeps files open
                loaded.catalog.close()
            self._loaded.clear()
            self.store.finish_tick(
                report.tick_id,
                decisions=len(report.decisions),
                runs=len(report.runs),
                error=report.error,
            )
            self._report = None
        return report

    def _load(self) -> Project:
        project = Project.load(self.root)
        self._loaded.append(project)
        return project

    def _evaluate_and_run(self, project: Project, now: float, report: TickReport) -> None:
        config = project.config
        statuses = project.status(now=now)
        states = source_states(project, now=now)
        held = waiting(project.graph, states)
        late = {
            s.name: f"{s.detail}; holds up {', '.join(s.readers) or 'nothing'}"
            for s in states
            if s.late
        }
        events = self._transitions("source_late", late)
        events += self._transitions("freshness_overdue", sensors.overdue(statuses))
        self._transitions("freshness_warning", old_assets(project.graph, statuses, now))

        if not self._took_up:
            self.deferred = self._unfinished(project) + self.deferred
            self._took_up = True
        requests = self.deferred
        self.deferred = []
        requests += self._due_schedules(config.schedules, now, config.daemon.interval)
        requests += self._http_requests()
        requests += self._resumed(held)
        if config.daemon.sensors:
            requests += self._sensor_requests(project, statuses)
            requests += self._table_requests(project, states)
        if config.daemon.freshness:
            targets = sensors.overdue_targets(project.graph, statuses)
            if targets:
                why = ", ".join(sorted({c for cs in targets.values() for c in cs}))
                # Built even if the engine, on the wall clock, thinks them fresh (a --now clock).
                requests.append(
                    RunRequest(
                        "freshness", f"overdue: {why}", names=tuple(targets), stale_only=False
                    )
                )
        if events:
            self._send(config.alerts, events, project=config.name)

        # Kept in the catalog until their run ends: a daemon stopped or killed before
        # that takes them up at its next start.
        pending = self._pending = list(requests)
        self._keep(pending)
        for request in requests:
            if self.cancel.is_set():
                self._decide("run", request.trigger, "not started", "the daemon is stopping")
                continue
            if report.runs:  # the last run changed the warehouse: judge again
                project = self._load()
                statuses = project.status(now=now)
            if self._execute(request, project, statuses, held, report):
                pending.remove(request)
                self._keep(pending)

    # ---- requests ---------------------------------------------------------------------

    def _due_schedules(
        self, items: tuple[ScheduleConfig, ...], now: float, interval: float
    ) -> list[RunRequest]:
        cursors = {k: float(v) for k, v in self.store.states("schedule:").items()}
        for schedule in items:
            if schedule.name not in cursors:  # first sight: the window starts one tick ago
                cursors[schedule.name] = now - interval
                self.store.set_state(f"schedule:{schedule.name}", repr(now - interval))
        found = []
        for due in schedules.due(items, cursors, now=now, interval=interval):
            self.store.set_state(f"schedule:{due.schedule.name}", repr(due.tick))
            self._decide("schedule", due.schedule.name, "due", due.describe())
            found.append(
                RunRequest(
                    due.trigger,
                    due.describe(),
                    selection=due.schedule.select,
                    stale_only=due.schedule.stale_only,
                )
            )
        return found

    def _http_requests(self) -> list[RunRequest]:
        found: list[RunRequest] = []
        while self.server is not None and not self.server.requests.empty():
            req = self.server.requests.get_nowait()
            detail = f"request {req.request_id} from {req.client}"
            self._decide("http", req.request_id, "accepted", detail)
            found.append(RunRequest("http", detail, selection=req.selection, stale_only=req.stale))
        return found

    def _sensor_requests(
        self, project: Project, statuses: Mapping[str, AssetStatus]
    ) -> list[RunRequest]:
        versions = project.source_versions()
        before = self.store.json_state("sensor:sources") or {}
        changes = sensors.source_changes(before, versions)
        if versions != before:
            self.store.set_json_state("sensor:sources", versions)
        for pattern, change in changes.items():
            self._decide("sensor", pattern, change)
        found = []
        files = sensors.file_targets(project.graph, statuses, changes)
        if files:
            why = ", ".join(sorted({c for cs in files.values() for c in cs}))
            found.append(RunRequest("sensor:files", f"source changed: {why}", names=tuple(files)))
        ups = sensors.upstream_targets(project.graph, statuses)
        if ups:
            why = ", ".join(sorted({c for cs in ups.values() for c in cs}))
            found.append(
                RunRequest("sensor:upstream", f"upstream rebuilt: {why}", names=tuple(ups))
            )
        return found

    def _table_requests(self, project: Project, states: list[SourceState]) -> list[RunRequest]:
        loads = {s.name: s.last_changed for s in states if s.kind == "table" and s.last_changed}
        before = self.store.json_state("sensor:tables") or {}
        if loads != before:
            self.store.set_json_state("sensor:tables", loads)
        found = []
        for name in sensors.table_loads(before, loads):
            readers = list(next(s.readers for s in states if s.name == name))
            targets = set(readers) | project.graph.descendants_of(readers)
            self._decide("sensor", name, "loaded")
            if targets:
                found.append(
                    RunRequest(
                        "sensor:tables",
                        f"table loaded: {name}",
                        names=tuple(project.graph.order(targets)),
                        stale_only=False,
                    )
                )
        return found

    def _keep(self, pending: list[RunRequest]) -> None:
        self.store.set_json_state("queue", [r.to_json() for r in pending] or None)

    def _unfinished(self, project: Project) -> list[RunRequest]:
        """Work an earlier daemon did not finish, first thing after a start: requests
        it kept (their run cancelled, killed, or not started yet), and runs it started
        that ended cancelled or crashed without a kept request (an older version)."""
        found: list[tuple[RunRequest, str]] = []
        for item in self.store.json_state("queue") or []:
            try:
                request = RunRequest.from_json(item)
            except (KeyError, TypeError, ValueError):
                continue  # written by another version
            record = project.catalog.run(request.run_id) if request.run_id else None
            if record is None:
                found.append((request, f"{request.reason}; not started when the daemon stopped"))
            else:
                found.append((request, f"{request.reason}; run {record.run_id} {record.status}"))
        covered = {r.run_id for r, _ in found if r.run_id}
        seen = self.store.state("resume:seen")
        runs = [r for r in project.catalog.runs(50) if _daemon_trigger(r.trigger)]
        for run in runs:  # newest first, back to what the last start looked at
            if run.run_id == seen or (seen is None and run.status in ("success", "failed")):
                break
            if run.status in ("cancelled", "crashed") and run.run_id not in covered:
                found.append((RunRequest.from_run(run), f"run {run.run_id} {run.status}"))
                covered.add(run.run_id)
        if runs:
            self.store.set_state("resume:seen", runs[0].run_id)
        resumed = []
        for request, why in found:
            if request.run_id and not request.stale_only:
                built = _built_by(project, request.run_id)
                request = replace(request, done=tuple(sorted(set(request.done) | built)))
            self._decide("run", request.trigger, "resumed", why, request.run_id)
            resumed.append(request)
        return resumed

    def _resumed(self, held: Mapping[str, list[str]]) -> list[RunRequest]:
        """Assets that waited for a late source that is now on time: build them now."""
        waited: dict[str, list[str]] = self.store.json_state("waiting") or {}
        resumed = sorted(n for n in waited if n not in held)
        if not resumed:
            return []
        self.store.set_json_state("waiting", {n: s for n, s in waited.items() if n in held})
        sources = ", ".join(sorted({s for n in resumed for s in waited[n]}))
        return [RunRequest("sensor:arrived", f"on time again: {sources}", names=tuple(resumed))]

    def _validate_selection(self, selection: tuple[str, ...]) -> None:
        if self._graph_select is not None and selection:
            self._graph_select(selection)

    # ---- running ----------------------------------------------------------------------

    def _execute(
        self,
        request: RunRequest,
        project: Project,
        statuses: Mapping[str, AssetStatus],
        held: Mapping[str, list[str]],
        report: TickReport,
    ) -> bool:
        """Run ``request``; False when it must be kept for later (deferred, cancelled)."""
        from ..outcomes import RunOptions
        from ..runner import Plan, materialize

        graph = project.graph
        try:
            chosen = (
                graph.select(request.selection)
                if request.names is None
                else {n for n in request.names if n in graph}
            )
        except AssetsError as e:
            self._decide("run", request.trigger, "not started", str(e).splitlines()[0])
            return True
        chosen -= set(request.done)
        if request.stale_only:
            chosen = {n for n in chosen if statuses[n].is_stale}
        waits = graph.order(chosen & set(held))
        for name in waits:
            self._decide("waiting", name, "not built", f"source {', '.join(held[name])} is late")
        if waits:
            waited = self.store.json_state("waiting") or {}
            self.store.set_json_state("waiting", waited | {n: held[n] for n in waits})
        names = graph.order(chosen - set(held))
        if not names:
            self._decide("run", request.trigger, "nothing to do", request.reason)
            return True
        started: list[str] = []

        def on_plan(plan: Plan) -> None:
            for note in plan.notes:
                self._decide("run", plan.run_id, "note", note)
            if plan.names:
                started.append(plan.run_id)
                request.run_id = plan.run_id
                self._keep(self._pending)
                detail = f"{len(plan.names)} asset(s); {request.reason}"
                self._decide("run", request.trigger, "started", detail, plan.run_id)

        options = RunOptions(
            stale_only=request.stale_only, trigger=request.trigger, selection=request.label
        )
        threads = self.threads or project.config.defaults.threads
        if threads:
            options = replace(options, threads=threads)
        try:
            _, result = materialize(
                self.root, names, options=options, on_plan=on_plan, cancel=self.cancel
            )
        except LockError as e:
            if all((r.trigger, r.label) != (request.trigger, request.label) for r in self.deferred):
                self.deferred.append(request)
            self._decide("run", request.trigger, "deferred", str(e).splitlines()[0])
            return False
        except AssetsError as e:
            self._decide("run", request.trigger, "not started", str(e).splitlines()[0])
            return True
        # The runner's project objects close their catalog connections only when
        # collected; collect now so that a daemon running for weeks keeps few files open.
        gc.collect()
        if result is None and self.cancel.is_set():
            self._decide("run", request.trigger, "not started", "the daemon is stopping")
            return False
        if result is None:
            self._decide("run", request.trigger, "nothing to do", "fresh when the run began")
            return True
        report.runs.append(result)
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(result.counts().items()))
        if result.catalog_error is not None:
            counts += f"; not recorded in full: {result.catalog_error.message}"
        self._decide("run", request.trigger, result.status, counts, result.run_id)
        events = alerts.run_events(result, trigger=request.trigger)
        self._send(project.config.alerts, events, project=project.config.name)
        return result.status != "cancelled"

    # ---- alerts and decisions ---------------------------------------------------------

    # event -> (decision kind, when it begins, when it ends)
    _CONDITIONS = {
        "source_late": ("source", "late", "back on time"),
        "freshness_overdue": ("freshness", "overdue", "fresh again"),
        "freshness_warning": ("freshness", "warning", "no longer old"),
    }

    def _transitions(self, event: str, current: Mapping[str, str]) -> list[alerts.AlertEvent]:
        """Events for conditions that began since the last tick (alert once, not each tick)."""
        key = f"open:{event}"
        known: dict[str, str] = self.store.json_state(key) or {}
        if set(known) != set(current):
            self.store.set_json_state(key, {k: current[k] for k in sorted(current)})
        kind, began, ended = self._CONDITIONS[event]
        for subject in sorted(set(known) - set(current)):
            self._decide(kind, subject, ended)
        found = []
        for subject in sorted(set(current) - set(known)):
            self._decide(kind, subject, began, current[subject])
            found.append(alerts.AlertEvent(event, subject, current[subject]))
        return [e for e in found if e.event in alerts.EVENTS]

    def _send(
        self,
        destinations: tuple[AlertConfig, ...],
        events: list[alerts.AlertEvent],
        *,
        project: str,
    ) -> None:
        if not events or not destinations:
            return
        for delivery in alerts.notify(
            destinations, events, project=project, env=self.env, cancel=self.cancel
        ):
            if delivery.status == alerts.SKIPPED:
                if delivery.destination in self._warned:
                    continue
                self._warned.add(delivery.destination)
            detail = f"{delivery.events} event(s)"
            if delivery.error:
                detail += f"; {delivery.error}"
            if delivery.attempts > 1:
                detail += f"; {delivery.attempts} attempts"
            self._decide("alert", delivery.destination, delivery.status, detail)

    def _decide(
        self, kind: str, subject: str, action: str, detail: str = "", run_id: str | None = None
    ) -> None:
        report = self._report
        decision = Decision(kind, subject, action, detail, run_id, report.now if report else 0.0)
        if report is not None:
            report.decisions.append(decision)
        self.store.record(report.tick_id if report else None, decision)
        self.on_decision(decision)


def _daemon_trigger(trigger: str) -> bool:
    """Whether a run was started by the daemon (not by hand, not a retry)."""
    return trigger.startswith(("schedule:", "sensor:")) or trigger in ("freshness", "http")


def _built_by(project: Project, run_id: str) -> set[str]:
    """Assets a run built (the last attempt at each of them, or at each of their
    partitions, ended in success)."""
    last = {
        (m.asset, m.partition): m.status for m in project.catalog.materializations_of_run(run_id)
    }
    ended: dict[str, set[str]] = {}
    for (asset, _), status in last.items():
        ended.setdefault(asset, set()).add(status)
    return {a for a, statuses in ended.items() if statuses == {"success"}}
