"""Plain records read from and written to the catalog (no I/O here).

``CatalogSnapshot`` is what staleness needs to know about the past: for each asset
its last successful materialization and the status of its last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Materialization statuses, as stored in the catalog.
RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"
TIMED_OUT = "timed_out"
SKIPPED = "skipped"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"  # the process died mid-build (found at reconciliation)
CRASHED = "crashed"  # a run whose process died (found at reconciliation)
FAILURE_STATUSES = frozenset({FAILED, TIMED_OUT, INTERRUPTED})
# Runs this process is running now: never closed as crashed by a repair in this process
# (a run whose end could not be recorded, a full disk, is no longer in progress).
RUNS_IN_PROGRESS: set[str] = set()


@dataclass(frozen=True)
class MaterializationRecord:
    """One attempt at building one asset in one run."""

    id: str
    run_id: str
    asset: str
    status: str
    started_at: float
    ended_at: float | None = None
    attempt: int = 1
    row_count: int | None = None
    columns: tuple[tuple[str, str], ...] = ()
    code_fingerprint: str = ""
    upstream_versions: dict[str, str] = field(default_factory=dict)
    source_versions: dict[str, str] = field(default_factory=dict)
    data_version: str | None = None
    error: str | None = None
    traceback: str | None = None
    partition: str | None = None  # the partition key, for a partition of a partitioned asset
    schema: str | None = None  # the warehouse schema it was written to (None: not recorded)

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "asset": self.asset,
            "partition": self.partition,
            "status": self.status,
            "attempt": self.attempt,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "row_count": self.row_count,
            "columns": [list(c) for c in self.columns],
            "code_fingerprint": self.code_fingerprint,
            "upstream_versions": self.upstream_versions,
            "source_versions": self.source_versions,
            "data_version": self.data_version,
            "error": self.error,
            "traceback": self.traceback,
            "schema": self.schema,
        }


@dataclass(frozen=True)
class RunRecord:
    """One invocation of the engine."""

    run_id: str
    trigger: str
    selection: str
    status: str
    started_at: float
    ended_at: float | None
    pid: int | None
    counts: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "selection": self.selection,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "pid": self.pid,
            "counts": self.counts,
            "message": self.message,
        }


@dataclass(frozen=True)
class AssetHistory:
    """What the catalog knows of one asset's past, as staleness reads it."""

    last_success: MaterializationRecord | None
    last_status: str | None  # status of the last finished attempt (success or a failure)
    last_error: str | None = None


@dataclass(frozen=True)
class CatalogSnapshot:
    """The past of every asset, read in one query."""

    assets: dict[str, AssetHistory] = field(default_factory=dict)

    def history(self, name: str) -> AssetHistory:
        return self.assets.get(name) or AssetHistory(None, None)

    def data_version(self, name: str) -> str | None:
        rec = self.history(name).last_success
        return rec.data_version if rec else None
