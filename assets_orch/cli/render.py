"""Terminal rendering with rich: tables, trees, progress lines. Only the CLI uses it."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..execution import Event, RunResult
    from ..records import MaterializationRecord, RunRecord
    from ..staleness import AssetStatus

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

STATE_STYLE = {
    "fresh": "green",
    "stale": "yellow",
    "missing": "bright_black",
    "failed": "red",
    "success": "green",
    "unchanged": "green",
    "timed_out": "red",
    "skipped": "yellow",
    "not_started": "bright_black",
    "cancelled": "magenta",
    "interrupted": "red",
    "running": "cyan",
    "crashed": "red",
}
SYMBOL = {
    "success": "✓",
    "unchanged": "=",
    "failed": "✗",
    "timed_out": "⏱",
    "skipped": "↷",
    "cancelled": "■",
    "not_started": "·",
}


def styled(state: str) -> str:
    style = STATE_STYLE.get(state, "white")
    return f"[{style}]{escape(state.replace('_', ' '))}[/]"


def print_json(value: Any) -> None:
    """JSON to stdout, plain (no colours), sorted keys for stable output."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def ago(timestamp: float | None, now: float | None = None) -> str:
    if timestamp is None:
        return "never"
    delta = (now or time.time()) - timestamp
    if delta < 60:
        return f"{delta:.0f}s ago"
    if delta < 3600:
        return f"{delta / 60:.0f}m ago"
    if delta < 86400 * 2:
        return f"{delta / 3600:.1f}h ago"
    return f"{delta / 86400:.0f}d ago"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    from ..durations import format_duration

    return format_duration(value)


def rows_text(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def status_table(statuses: list[AssetStatus]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("asset", "state", "why", "last materialized", "rows"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for st in statuses:
        reasons = "; ".join(str(r) for r in st.reasons) or "-"
        table.add_row(
            escape(st.name),
            styled(st.state),
            escape(reasons),
            ago(st.last.ended_at if st.last else None),
            rows_text(st.last.row_count if st.last else None),
        )
    return table


def status_counts(statuses: list[AssetStatus]) -> str:
    counts: dict[str, int] = {}
    for st in statuses:
        counts[st.state] = counts.get(st.state, 0) + 1
    order = ("fresh", "stale", "missing", "failed")
    return ", ".join(f"{counts[s]} {styled(s)}" for s in order if counts.get(s))


class Progress:
    """Prints one line per finished asset; shows what is running on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.running: dict[str, float] = {}
        self._status = out.status("", spinner="dots") if out.is_terminal else None
        if self._status:
            self._status.start()

    def __call__(self, event: Event) -> None:
        if event.kind == "started":
            self.running[event.asset] = time.monotonic()
        elif event.kind == "retrying":
            first = (event.message or "").strip().splitlines()[:1]
            out.print(
                f"  [yellow]↻[/] {escape(event.asset)} retrying (attempt {event.attempt})"
                + (f": {escape(first[0])}" if first else "")
            )
        elif event.kind == "finished" and event.outcome is not None:
            self.running.pop(event.asset, None)
            self.done += 1
            self._line(event)
        if self._status:
            names = ", ".join(sorted(self.running)) or "-"
            self._status.update(f"[{self.done}/{self.total}] running: {escape(names)}")

    def _line(self, event: Event) -> None:
        o = event.outcome
        assert o is not None
        mark = SYMBOL.get(o.status, "?")
        style = STATE_STYLE.get(o.status, "white")
        detail = []
        if o.row_count is not None:
            detail.append(f"{o.row_count:,} rows")
        if o.duration is not None:
            detail.append(seconds(o.duration))
        if o.attempts > 1:
            detail.append(f"attempt {o.attempts}")
        warn = [c for c in o.checks if c.status != "passed"]
        if warn:
            detail.append(f"[yellow]{len(warn)} check warning(s)[/]")
        text = f"  [{style}]{mark}[/] [{self.done}/{self.total}] {escape(o.name)}"
        text += f"  [{style}]{o.status.replace('_', ' ')}[/]"
        if detail:
            text += "  " + "  ".join(detail)
        if o.skipped_because:
            text += f"  [bright_black]({escape(o.skipped_because)})[/]"
        out.print(text)
        if o.first_error_line and o.status not in ("skipped", "not_started"):
            out.print(f"      [red]{escape(o.first_error_line)}[/]")

    def stop(self) -> None:
        if self._status:
            self._status.stop()


def run_summary(result: RunResult) -> None:
    counts = result.counts()
    parts = [f"{n} {styled(s)}" for s, n in sorted(counts.items())]
    out.print(
        f"\nrun {result.run_id} [{STATE_STYLE.get(result.status, 'white')}]"
        f"{result.status}[/] in {seconds(result.ended_at - result.started_at)}: " + ", ".join(parts)
    )
    failed = [o for o in result.outcomes.values() if o.status in ("failed", "timed_out")]
    for o in failed:
        out.print(f"  [red]✗ {escape(o.name)}[/]: {escape(o.first_error_line or '')}")
    skipped = [o for o in result.outcomes.values() if o.status == "skipped"]
    if skipped:
        out.print(
            "  [yellow]↷ skipped[/]: "
            + ", ".join(
                f"{escape(o.name)} ({escape(o.skipped_because or '')})" for o in skipped[:10]
            )
            + (f" and {len(skipped) - 10} more" if len(skipped) > 10 else "")
        )
    not_started = [o.name for o in result.outcomes.values() if o.status == "not_started"]
    if not_started:
        out.print(f"  [bright_black]· not started[/]: {escape(', '.join(not_started))}")


def history_table(records: list[MaterializationRecord]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("started", "run", "status", "attempt", "duration", "rows", "error"):
        table.add_column(col, justify="right" if col in ("rows", "attempt") else "left")
    for r in records:
        table.add_row(
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at)),
            r.run_id,
            styled(r.status),
            str(r.attempt),
            seconds(r.duration),
            rows_text(r.row_count),
            escape((r.error or "").strip().splitlines()[0][:80]) if r.error else "",
        )
    return table


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("run", "trigger", "started", "duration", "status", "assets"):
        table.add_column(col)
    for r in runs:
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(r.counts.items()))
        table.add_row(
            r.run_id,
            escape(r.trigger),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at)),
            seconds(r.duration),
            styled(r.status),
            escape(counts),
        )
    return table
