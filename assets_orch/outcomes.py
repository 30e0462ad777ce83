"""What a run is asked and what it answers: options, per-asset outcomes, progress events.

Plain values shared by the engine, the runner, the CLI and the daemon (no I/O).

>>> RunResult("r1", "success", {"a": AssetOutcome("a", "success")}, 0.0, 1.0).counts()
{'success': 1}
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .records import SUCCESS

UNCHANGED = "unchanged"  # --stale: upstream rebuilt with identical data (early cutoff)
NOT_STARTED = "not_started"


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
    full_refresh: bool = False  # incremental assets: rebuild instead of appending


@dataclass
class AssetOutcome:
    """How one unit (an asset, or a batch of its partitions) ended in a run.

    ``name`` is the unit id: the asset name, or ``asset[partition key or range]``.
    """

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
    partition: str | None = None
    partitions: int | None = None  # how many partitions the batch held
    appended: int | None = None  # incremental assets: rows added by this build

    @property
    def asset(self) -> str:
        """The asset's name (``name`` without the partition)."""
        return self.name.split("[", 1)[0] if self.partition is not None else self.name

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
            "name": self.asset,
            "partition": self.partition,
            "partitions": self.partitions,
            "appended": self.appended,
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
    # Why the catalog could not record all of it (a full disk): an AssetsError.
    catalog_error: Any = None

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
            "catalog_error": str(self.catalog_error) if self.catalog_error else None,
        }


@dataclass(frozen=True)
class Event:
    """A progress event: ``started``, ``retrying``, ``finished`` (any final status)."""

    kind: str
    asset: str
    outcome: AssetOutcome | None = None
    attempt: int = 1
    message: str | None = None
