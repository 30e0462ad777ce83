"""Freshness: is an asset or a source overdue, given when it last changed and ``now``?

Pure functions of (policy, last time, now); the clock is always passed in.

- ``warn_after`` / ``error_after``: a rolling limit on age (``freshness: 24h`` is
  ``error_after: 24h``).
- ``cron`` (+ ``timezone``): deadlines, "fresh by 06:00 on weekdays" is
  ``cron: "0 6 * * 1-5"``. At the most recent deadline tick D, the last change must be
  no older than ``error_after`` before D, or, without ``error_after``, newer than the
  deadline before D. Once a deadline is missed the policy stays overdue until a change.

>>> from assets_orch.metadata import FreshnessPolicy
>>> day = FreshnessPolicy.model_validate("24h")
>>> evaluate(day, last=0.0, now=23 * 3600).level, evaluate(day, last=0.0, now=24 * 3600 + 1).level
('ok', 'overdue')
>>> evaluate(day, last=0.0, now=90000.0).detail
'older than 24h'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from ..durations import format_duration
from ..errors import AutomationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..graph import AssetGraph
    from ..metadata import FreshnessPolicy
    from ..staleness import AssetStatus

OK, WARN, OVERDUE = "ok", "warn", "overdue"


@dataclass(frozen=True)
class Verdict:
    """How fresh something is: ``ok``, ``warn`` or ``overdue``, and why."""

    level: str
    detail: str = ""
    deadline: float | None = None

    @property
    def overdue(self) -> bool:
        return self.level == OVERDUE


def deadline_before(cron: str, timezone: str, now: float) -> float:
    """The most recent tick of ``cron`` (in ``timezone``) at or before ``now``.

    >>> deadline_before("0 6 * * *", "UTC", 86400 + 6 * 3600)  # exactly 06:00
    108000.0
    >>> deadline_before("0 6 * * *", "UTC", 86400 + 6 * 3600 - 1)
    21600.0
    """
    from croniter import croniter

    start = datetime.fromtimestamp(now, _zone(timezone)) + timedelta(microseconds=1)
    try:
        tick = croniter(cron, start).get_prev(datetime)
    except (ValueError, KeyError) as e:
        raise AutomationError(
            f"invalid cron expression '{cron}': {e}",
            hint="write five fields, e.g. '0 6 * * 1-5' (06:00 on weekdays)",
        ) from e
    return float(tick.timestamp())


def evaluate(policy: FreshnessPolicy, *, last: float | None, now: float) -> Verdict:
    """Judge ``policy`` for something last changed at ``last`` (None: never)."""
    if last is None:
        return Verdict(OVERDUE, "never built or seen")
    if policy.cron:
        return _deadline_verdict(policy, last, now)
    age = now - last
    if policy.error_after is not None and age > policy.error_after:
        return Verdict(OVERDUE, f"older than {format_duration(policy.error_after)}")
    if policy.warn_after is not None and age > policy.warn_after:
        return Verdict(WARN, f"older than {format_duration(policy.warn_after)}")
    return Verdict(OK)


def old_assets(
    graph: AssetGraph, statuses: Mapping[str, AssetStatus], now: float
) -> dict[str, str]:
    """Assets past their ``warn_after`` but not overdue: asset -> why (a warning only)."""
    found = {}
    for name, spec in graph.specs.items():
        policy = spec.meta.freshness
        last = statuses[name].last if name in statuses else None
        if policy is None or policy.warn_after is None or last is None or last.ended_at is None:
            continue
        verdict = evaluate(policy, last=last.ended_at, now=now)
        if verdict.level == WARN:
            found[name] = verdict.detail
    return found


def _deadline_verdict(policy: FreshnessPolicy, last: float, now: float) -> Verdict:
    assert policy.cron is not None
    deadline = deadline_before(policy.cron, policy.timezone, now)
    if policy.error_after is not None:
        required = deadline - policy.error_after
    else:
        required = deadline_before(policy.cron, policy.timezone, deadline - 1)
    when = datetime.fromtimestamp(deadline, _zone(policy.timezone)).strftime("%Y-%m-%d %H:%M")
    if last < required:
        return Verdict(OVERDUE, f"missed the {when} deadline ({policy.cron})", deadline)
    if policy.warn_after is not None and now - last > policy.warn_after:
        return Verdict(WARN, f"older than {format_duration(policy.warn_after)}", deadline)
    return Verdict(OK, deadline=deadline)


def _zone(name: str) -> tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise AutomationError(
            f"unknown time zone '{name}'", hint="write an IANA name such as 'Europe/Paris'"
        ) from e
