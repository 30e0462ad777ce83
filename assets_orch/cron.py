"""Validation of cron expressions and time zones (schedules, freshness deadlines).

>>> check_cron("0 6 * * 1-5", "Europe/Paris")
>>> check_cron("at six", None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: 'at six' is not a cron expression; write e.g. '0 6 * * 1-5' ...
"""

from __future__ import annotations


def check_cron(cron: str | None, timezone: str | None) -> None:
    """Raise ValueError (for pydantic) when a cron expression or a time zone is unknown."""
    if cron is not None:
        from croniter import croniter

        if not croniter.is_valid(cron):
            raise ValueError(
                f"'{cron}' is not a cron expression; write e.g. '0 6 * * 1-5' "
                "(minute hour day-of-month month day-of-week)"
            )
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone '{timezone}'; write an IANA name such as 'Europe/Paris'"
            ) from e
