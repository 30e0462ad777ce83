"""Schedules: which ``[[schedules]]`` are due at a tick, with a cursor per schedule.

A schedule fires at most once per cron tick. Its cursor (the last tick it fired for)
is kept in the catalog, so a restarted daemon neither fires twice nor forgets: when
ticks were missed while the daemon was stopped, it fires once for the latest of them
(one catch-up run, not one per missed tick). A schedule seen for the first time
counts its window from one daemon interval before ``now`` (the daemon then stores that
start as its cursor, so a long run between two ticks loses no cron tick).

>>> from assets_orch.config import ScheduleConfig
>>> six = ScheduleConfig(name="morning", cron="0 6 * * *")
>>> at_six = 86400 + 6 * 3600.0
>>> [d.tick for d in due([six], {}, now=at_six, interval=60)] == [at_six]
True
>>> due([six], {"morning": at_six}, now=at_six + 60, interval=60)
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..durations import format_duration
from .freshness import deadline_before

if TYPE_CHECKING:
    from ..config import ScheduleConfig


@dataclass(frozen=True)
class Due:
    """A schedule that must fire now, for cron tick ``tick``."""

    schedule: ScheduleConfig
    tick: float
    late_by: float  # seconds between the cron tick and the daemon tick that saw it

    @property
    def trigger(self) -> str:
        return f"schedule:{self.schedule.name}"

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.tick, ZoneInfo(self.schedule.timezone))
        text = f"due at {when:%Y-%m-%d %H:%M} {self.schedule.timezone} ({self.schedule.cron})"
        if self.late_by >= 60:
            text += f", caught up {format_duration(self.late_by)} late"
        return text


def due(
    schedules: Iterable[ScheduleConfig],
    cursors: Mapping[str, float],
    *,
    now: float,
    interval: float,
) -> list[Due]:
    """The schedules with a cron tick in (cursor, now]; ``cursors`` maps name -> tick."""
    found = []
    for schedule in schedules:
        tick = deadline_before(schedule.cron, schedule.timezone, now)
        since = cursors.get(schedule.name, now - interval)
        if tick > since:
            found.append(Due(schedule, tick, late_by=now - tick))
    return found


def next_tick(schedule: ScheduleConfig, now: float) -> float:
    """When ``schedule`` fires next, after ``now`` (for ``assets daemon`` to show)."""
    from croniter import croniter

    start = datetime.fromtimestamp(now, ZoneInfo(schedule.timezone))
    return float(croniter(schedule.cron, start).get_next(datetime).timestamp())
