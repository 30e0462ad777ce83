"""Schedules and freshness with an injected clock: real projects, real catalog, real runs."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.automation.daemon import Daemon
from assets_orch.automation.freshness import evaluate
from assets_orch.catalog import Catalog
from assets_orch.errors import ConfigError
from assets_orch.metadata import FreshnessPolicy
from assets_orch.project import Project

PARIS = ZoneInfo("Europe/Paris")

SCHEDULED = """name = "t"

[[schedules]]
name = "morning"
cron = "0 6 * * *"
timezone = "Europe/Paris"
stale_only = false
"""


def next_six(after: float) -> float:
    """The next 06:00 in Paris after ``after`` (so that real and injected time stay close)."""
    day = datetime.fromtimestamp(after, PARIS).replace(hour=6, minute=0, second=0, microsecond=0)
    if day.timestamp() <= after:
        day += timedelta(days=1)
    return day.timestamp()


def small_project(root: Path, config: str = SCHEDULED) -> Path:
    return write_project(
        root,
        {"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"},
        config,
    )


def test_a_0600_schedule_starts_exactly_one_run_at_0600_and_none_at_0601(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    six = next_six(time.time())
    daemon = Daemon(root, env={})
    try:
        before = daemon.tick(six - 60)
        at_six = daemon.tick(six)
        after = daemon.tick(six + 60)
    finally:
        daemon.close()
    assert before.runs == [] and after.runs == []
    assert len(at_six.runs) == 1
    [run] = at_six.runs
    assert run.status == "success" and set(run.outcomes) == {"a", "b"}
    runs = Catalog(root / ".assets/catalog.sqlite").runs()
    assert [(r.run_id, r.trigger) for r in runs] == [(run.run_id, "schedule:morning")]
    decided = [(d.kind, d.subject, d.action) for d in at_six.decisions]
    assert decided[0] == ("schedule", "morning", "due")
    assert ("run", "schedule:morning", "success") in decided


def test_a_restarted_daemon_does_not_fire_twice_for_one_tick(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    six = next_six(time.time())
    for now in (six, six + 30):  # two processes, one after the other
        daemon = Daemon(root, env={})
        daemon.tick(now)
        daemon.close()
    assert len(Catalog(root / ".assets/catalog.sqlite").runs()) == 1


def test_a_missed_tick_is_caught_up_once(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    six = next_six(time.time())
    daemon = Daemon(root, env={})
    try:
        daemon.tick(six - 60)  # the daemon knows the schedule
        late = daemon.tick(six + 3 * 3600)  # then was stopped from 05:59 to 09:00
        again = daemon.tick(six + 3 * 3600 + 60)
    finally:
        daemon.close()
    assert len(late.runs) == 1 and again.runs == []
    due = next(d for d in late.decisions if d.kind == "schedule")
    assert "caught up 3h late" in due.detail


def test_cli_daemon_once_with_now(tmp_path: Path) -> None:
    root = small_project(tmp_path / "p")
    six = datetime.fromtimestamp(next_six(time.time()), PARIS)
    result = Cli(root)("daemon", "--once", "--now", six.isoformat())
    assert "schedule morning: due" in result.output
    assert "run schedule:morning: success" in result.output
    run_id = Catalog(root / ".assets/catalog.sqlite").runs()[0].run_id
    summary = result.output.splitlines()[-1]
    assert summary.endswith(f"decision(s), 1 run(s): {run_id} success") and " tick " in summary
    again = Cli(root)("daemon", "--once", "--now", (six + timedelta(minutes=1)).isoformat())
    assert "schedule morning" not in again.output
    # A tick with nothing to do says so in one line, instead of printing nothing.
    [line] = again.output.splitlines()
    assert line.endswith(
        "nothing to do (no schedule due, no sensor fired, nothing overdue or late)"
    )
    assert Cli(root)("daemon", "--once", "--json").output == ""  # JSON lines: decisions only
    assert len(Catalog(root / ".assets/catalog.sqlite").runs()) == 1


def test_a_daily_freshness_policy_turns_overdue_after_24h(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/daily.sql": "-- freshness: 24h\nselect 1 as x",
            "models/other.sql": "select 2 as y",
        },
    )
    Cli(root)("materialize")
    project = Project.load(root)
    built = project.status()["daily"].last
    assert built is not None and built.ended_at is not None
    t0 = built.ended_at
    assert project.status(now=t0 + 23 * 3600)["daily"].state == "fresh"
    late = project.status(now=t0 + 24 * 3600 + 1)
    assert [str(r) for r in late["daily"].reasons] == ["freshness: older than 24h"]
    assert late["other"].state == "fresh"

    # The daemon, at that time, reports it overdue and rebuilds it, and only it.
    daemon = Daemon(root, env={})
    try:
        report = daemon.tick(t0 + 24 * 3600 + 1)
    finally:
        daemon.close()
    assert ("freshness", "daily", "overdue") in [
        (d.kind, d.subject, d.action) for d in report.decisions
    ]
    [run] = report.runs
    assert list(run.outcomes) == ["daily"] and run.outcomes["daily"].status == "success"
    assert Catalog(root / ".assets/catalog.sqlite").runs()[0].trigger == "freshness"


def test_a_cron_deadline_policy_fresh_by_0600_on_weekdays() -> None:
    def at(day: int, hour: int) -> float:  # March 2026: the 2nd is a Monday
        return datetime(2026, 3, day, hour, tzinfo=PARIS).timestamp()

    weekdays = FreshnessPolicy.model_validate({"cron": "0 6 * * 1-5", "timezone": "Europe/Paris"})
    # Built Monday 05:00: fresh at Monday 07:00.
    assert evaluate(weekdays, last=at(2, 5), now=at(2, 7)).level == "ok"
    # Built Monday 05:00, not rebuilt: Tuesday's 06:00 deadline needs a build since Monday 06:00.
    tuesday = evaluate(weekdays, last=at(2, 5), now=at(3, 6))
    assert tuesday.overdue and "2026-03-03 06:00" in tuesday.detail
    # Built Friday 07:00: the weekend has no deadline; Monday 06:00 accepts it...
    assert evaluate(weekdays, last=at(6, 7), now=at(9, 6)).level == "ok"
    # ...unless the data may be at most 6 hours old at the deadline.
    strict = FreshnessPolicy.model_validate(
        {"cron": "0 6 * * 1-5", "timezone": "Europe/Paris", "error_after": "6h"}
    )
    assert evaluate(strict, last=at(6, 7), now=at(9, 6)).overdue
    assert evaluate(strict, last=at(9, 1), now=at(9, 7)).level == "ok"


def test_status_explains_a_missed_deadline(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/report.sql": '-- freshness: {cron: "0 6 * * *"}\nselect 1 as x'},
    )
    Cli(root)("materialize")
    t0 = Project.load(root).status()["report"].last.ended_at  # type: ignore[union-attr]
    later = Project.load(root).status(now=t0 + 2 * 86400)["report"]
    assert later.state == "stale"
    assert str(later.reasons[0]).startswith("freshness: missed the ")


@pytest.mark.parametrize(
    ("toml", "message", "line"),
    [
        ('[[schedules]]\nname = "m"\ncron = "0 6 * *"\n', "schedules.0.cron", 3),
        ('[[schedules]]\nname = "m"\ncron = "0 6 * * *"\ntimezone = "Mars/Base"\n', "timezone", 4),
        ('[[schedules]]\nname = "m"\ncorn = "0 6 * * *"\n', "did you mean 'cron'", 3),
        ('[sources."data/x.csv"]\nfreshnes = "1h"\n', "did you mean 'freshness'", 2),
        ('[[alerts]]\nevents = ["run_failed"]\n', "exactly one destination", 1),
        ('[[alerts]]\nurl = "${X}"\nevents = ["run_faild"]\n', "alerts.0.events.0", 3),
        ('[daemon]\ninterval = "soon"\n', "daemon.interval", 2),
    ],
    ids=[
        "bad-cron",
        "bad-timezone",
        "typo-key",
        "source-typo",
        "no-destination",
        "bad-event",
        "bad-interval",
    ],
)
def test_config_errors_name_the_line_and_the_key(
    tmp_path: Path, toml: str, message: str, line: int
) -> None:
    root = write_project(tmp_path / "p", {}, 'name = "t"\n' + toml)
    with pytest.raises(ConfigError) as info:
        Project.load(root)
    assert message in str(info.value)
    assert info.value.line == line + 1  # +1: the name line


def test_warn_after_is_reported_once_and_builds_nothing(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/daily.sql": "-- freshness: {warn_after: 12h, error_after: 24h}\nselect 1 as x"},
    )
    Cli(root)("materialize")
    t0 = Project.load(root).status()["daily"].last.ended_at  # type: ignore[union-attr]
    daemon = Daemon(root, env={})
    try:
        first = daemon.tick(t0 + 13 * 3600)
        second = daemon.tick(t0 + 13 * 3600 + 60)
    finally:
        daemon.close()
    assert [(d.kind, d.subject, d.action, d.detail) for d in first.decisions] == [
        ("freshness", "daily", "warning", "older than 12h")
    ]
    assert first.runs == [] and second.decisions == []
