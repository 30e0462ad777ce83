"""Automation commands: sources, daemon, decisions."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from . import Context, cli, json_option, pass_ctx

if TYPE_CHECKING:
    from ..automation.daemon import TickReport
    from ..automation.store import Decision


@cli.command()
@json_option
@pass_ctx
def sources(ctx: Context, as_json: bool) -> None:
    """List sources (files, warehouse tables): their last change and whether they are late."""
    from rich.markup import escape
    from rich.table import Table

    from ..automation.lateness import source_states
    from .render import ago, out, print_json

    project = ctx.load()
    states = source_states(project, now=time.time())
    if as_json:
        print_json([s.to_json() for s in states])
        return
    if not states:
        out.print("no sources: no asset reads a file or an external table")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("source", "kind", "state", "last changed", "expected", "owner", "read by"):
        table.add_column(col)
    for s in states:
        colour = {"ok": "green", "warn": "yellow", "late": "red"}.get(s.state, "bright_black")
        label = f"[{colour}]{escape(s.state)}[/]"
        if s.detail and s.state != "ok":
            label += f" [bright_black]{escape(s.detail)}[/]"
        table.add_row(
            escape(s.name),
            s.kind,
            label,
            ago(s.last_changed),
            escape(s.expectation or "-"),
            escape((s.declared.owner if s.declared else None) or "-"),
            escape(", ".join(s.readers) or "-"),
        )
    out.print(table)
    late = [s.name for s in states if s.late]
    if late:
        out.print(f"\n{len(late)} late: what reads them waits in 'assets daemon'")


@cli.command()
@click.option("--once", is_flag=True, help="Evaluate one tick, run what it decides, and exit.")
@click.option(
    "--interval",
    metavar="DURATION",
    help="Time between ticks, e.g. 30s or 5m (default: [daemon] interval, 60s).",
)
@click.option(
    "--http",
    "http_address",
    metavar="HOST:PORT",
    help="Accept POST /trigger on this address (host defaults to 127.0.0.1); callers "
    "send the token of $ASSETS_TRIGGER_TOKEN (or [daemon] http_token_env).",
)
@click.option(
    "--now",
    metavar="TIME",
    help="With --once: evaluate as if it were TIME (ISO 8601, e.g. 2026-03-02T06:00+01:00).",
)
@click.option("--threads", type=click.IntRange(min=1), help="Assets built at once in each run.")
@json_option
@pass_ctx
def daemon(
    ctx: Context,
    once: bool,
    interval: str | None,
    http_address: str | None,
    now: str | None,
    threads: int | None,
    as_json: bool,
) -> None:
    """Run schedules, sensors and freshness policies; print one line per decision.

    \b
    Each tick loads the project, finds late sources and overdue assets, and runs
    (one at a time, holding the warehouse only while running): due schedules,
    HTTP requests, assets downstream of changed files, opted-in assets
    (on: [upstream]) whose upstream was rebuilt elsewhere, and overdue assets.
    Assets reading a late source wait; everything else is built. Ctrl-C or
    SIGTERM cancels the current run cleanly and stops.
    """
    from rich.markup import escape

    from ..automation.alerts import destination_name, missing_env
    from ..automation.daemon import Daemon
    from ..automation.http_trigger import LOOPBACK, parse_address
    from ..config import load_config
    from ..durations import parse_duration
    from ..errors import AssetsError, RunFailedError
    from .commands_build import _cancel_on_signals
    from .render import err, out

    if now and not once:
        raise click.UsageError("--now only makes sense with --once")
    try:
        seconds = parse_duration(interval) if interval else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--interval") from e
    if seconds is not None and seconds <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    clock_now = _parse_time(now) if now else None

    def show(decision: Decision) -> None:
        if as_json:
            import json

            click.echo(json.dumps(decision.to_json(), sort_keys=True))
            return
        stamp = datetime.fromtimestamp(decision.at).strftime("%Y-%m-%d %H:%M:%S")
        colour = _COLOURS.get(decision.action, "white")
        out.print(f"[bright_black]{stamp}[/] [{colour}]{escape(str(decision))}[/]", soft_wrap=True)

    with _cancel_on_signals() as cancel:
        runner = Daemon(ctx.project_dir, cancel=cancel, on_decision=show, threads=threads)
        report = None
        try:
            config = load_config(runner.root)
            for index, alert in enumerate(config.alerts):
                missing = missing_env(alert, runner.env)
                if missing:
                    err.print(
                        f"[yellow]warning:[/] alert {escape(destination_name(alert, index))} "
                        f"is skipped: {escape(', '.join(missing))} is not set"
                    )
            if http_address:
                host, port = parse_address(http_address)
                server = runner.serve_http(host, port)
                if host not in LOOPBACK:
                    err.print(
                        f"[yellow]warning:[/] the HTTP trigger listens on {escape(host)}, "
                        "beyond this machine: whoever reaches it with the token starts runs"
                    )
                err.print(f"listening on {server.url}")
            if once:
                report = runner.tick(clock_now)
            else:
                every = seconds or config.daemon.interval
                err.print(
                    f"daemon for project {escape(config.name)}: a tick every {every:g}s, "
                    f"{len(config.schedules)} schedule(s), {len(config.alerts)} alert "
                    "destination(s); Ctrl-C to stop"
                )
                runner.run(interval=seconds)
        finally:
            runner.close()
    if report is None:
        err.print("daemon stopped")
        return
    if not as_json:
        out.print(_tick_summary(report), soft_wrap=True)
    if report.error:
        raise AssetsError(report.error)
    bad = [r for r in report.runs if r.status != "success"]
    if bad:
        raise RunFailedError(
            f"run {bad[0].run_id} {bad[0].status}", hint=f"see 'assets runs show {bad[0].run_id}'"
        )


_COLOURS = {
    "started": "cyan",
    "success": "green",
    "sent": "green",
    "failed": "red",
    "cancelled": "magenta",
    "late": "red",
    "overdue": "yellow",
    "not built": "yellow",
    "deferred": "yellow",
    "skipped": "yellow",
}


def _tick_summary(report: TickReport) -> str:
    """One line on what a tick did, so that --once never ends in silence."""
    from rich.markup import escape

    stamp = datetime.fromtimestamp(report.now).strftime("%Y-%m-%d %H:%M:%S")
    head = f"[bright_black]{stamp}[/] tick {report.tick_id}:"
    if report.error:
        return f"{head} [red]stopped by an error[/]"
    if not report.decisions and not report.runs:
        return f"{head} nothing to do (no schedule due, no sensor fired, nothing overdue or late)"
    runs = ", ".join(f"{escape(r.run_id)} {r.status}" for r in report.runs)
    return f"{head} {len(report.decisions)} decision(s), {len(report.runs)} run(s)" + (
        f": {runs}" if runs else ""
    )


def _parse_time(text: str) -> float:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as e:
        raise click.BadParameter(
            "write an ISO 8601 time such as 2026-03-02T06:00+01:00", param_hint="--now"
        ) from e
    return value.timestamp()  # a time without offset is local time


@cli.command()
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--run", "run_id", metavar="RUN_ID", help="Only the decisions about this run.")
@json_option
@pass_ctx
def decisions(ctx: Context, limit: int, run_id: str | None, as_json: bool) -> None:
    """Show what the daemon decided and why, newest first."""
    from rich.markup import escape

    from ..automation.store import AutomationStore
    from ..config import STATE_DIR
    from .render import out, print_json

    store = AutomationStore(ctx.root() / STATE_DIR / "catalog.sqlite")
    try:
        found = store.decisions(limit, run_id=run_id)
    finally:
        store.close()
    if as_json:
        print_json([d.to_json() for d in found])
        return
    if not found:
        out.print("no decisions yet: start 'assets daemon'")
        return
    for d in found:
        stamp = datetime.fromtimestamp(d.at).strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"[bright_black]{stamp}[/] {escape(str(d))}", soft_wrap=True)
