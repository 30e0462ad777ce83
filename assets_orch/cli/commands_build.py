"""Commands that build or change the warehouse: materialize, retry, check, prune."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ..cancellation import Cancellation
from . import Context, cli, json_option, pass_ctx


@contextmanager
def _cancel_on_signals() -> Iterator[Cancellation]:
    """Ctrl-C and SIGTERM set an event that the engine polls: it cancels cleanly; a
    second one stops waiting (see :mod:`assets_orch.cancellation`)."""
    cancel = Cancellation()
    previous = {}

    def handler(signum: int, frame: object) -> None:
        cancel.signal()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield cancel
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run(
    ctx: Context,
    selection: tuple[str, ...],
    *,
    stale: bool,
    dry_run: bool,
    threads: int | None,
    fail_fast: bool,
    retry_failed: str | None,
    as_json: bool,
    trigger: str,
    partitions: tuple[str, ...] = (),
    time_from: str | None = None,
    time_to: str | None = None,
    batch_size: int | None = None,
    full_refresh: bool = False,
) -> None:
    if not dry_run:
        # Refuse a second writer before importing the engine (sqlglot, pydantic, DuckDB).
        from ..lock import check_free
        from ..paths import LOCK_FILE, STATE_DIR, find_project_root

        check_free(find_project_root(ctx.project_dir) / STATE_DIR / LOCK_FILE)
    from rich.markup import escape

    from ..errors import RunCancelledError, RunFailedError
    from ..outcomes import RunOptions
    from ..partitions.definition import PartitionFilter
    from ..runner import Plan, materialize
    from .render import Progress, err, out, print_json, run_summary, styled

    options = RunOptions(
        stale_only=stale,
        fail_fast=fail_fast,
        trigger=trigger,
        selection=" ".join(selection),
        full_refresh=full_refresh,
    )
    if threads:
        from dataclasses import replace

        options = replace(options, threads=threads)
    progress: Progress | None = None

    def on_plan(plan: Plan) -> None:
        nonlocal progress
        for note in plan.notes:
            err.print(f"[yellow]note:[/] {escape(note)}")
        if not as_json and plan.names:
            units = plan.work.units if plan.work is not None else []
            batches = [u for u in units if u.partitioned]
            extra = ""
            if batches:
                count = sum(u.size for u in batches)
                extra = f" ({count} partition(s) in {len(batches)} batch(es))"
            out.print(f"materializing {len(plan.names)} asset(s){extra}, run {plan.run_id}")
            progress = Progress(len(units) or len(plan.names))

    def on_event(event: object) -> None:
        if progress is not None:
            progress(event)  # type: ignore[arg-type]

    with _cancel_on_signals() as cancel:
        try:
            plan, result = materialize(
                ctx.project_dir,
                selection,
                options=options,
                dry_run=dry_run,
                retry_failed=retry_failed,
                on_event=on_event,
                on_plan=on_plan,
                cancel=cancel,
                partitions=PartitionFilter.from_cli(partitions, time_from, time_to),
                batch_size=batch_size,
            )
        finally:
            if progress is not None:
                progress.stop()
    if result is None and cancel.is_set():
        raise RunCancelledError("interrupted before anything was built")
    if dry_run:
        if as_json:
            print_json(plan.to_json())
            return
        if not plan.names:
            out.print("nothing to do: every selected asset is fresh")
            return
        out.print(f"would materialize {len(plan.names)} asset(s), in this order:")
        for name in plan.names:
            st = plan.statuses[name]
            why = "; ".join(str(r) for r in st.reasons) or "selected"
            out.print(f"  {escape(name)} {styled(st.state)}  [bright_black]{escape(why)}[/]")
            batches = plan.batches(name)
            if batches:
                keys = ", ".join(u.key or "" for u in batches[:6])
                more = f" and {len(batches) - 6} more" if len(batches) > 6 else ""
                count = sum(u.size for u in batches)
                out.print(f"    {count} partition(s): {escape(keys)}{more}")
        return
    if result is None:
        if as_json:
            print_json({"run_id": None, "status": "nothing to do", "assets": []})
        else:
            out.print("nothing to do: every selected asset is fresh")
        return
    if as_json:
        print_json(result.to_json())
    else:
        run_summary(result)
    _send_alerts(ctx, result, trigger)
    if result.catalog_error is not None:
        from ..errors import CatalogError

        error = result.catalog_error
        raise CatalogError(
            f"run {result.run_id} could not be recorded in full: {error.message}",
            path=error.path,
            hint=error.hint,
        )
    if result.status == "cancelled":
        raise RunCancelledError(
            f"run {result.run_id} was cancelled; finished work is kept",
            hint="'assets materialize --retry-failed' builds what it did not",
        )
    if not result.ok:
        raise RunFailedError(
            f"run {result.run_id} finished with failures",
            hint=f"see 'assets runs show {result.run_id}'; after a fix, "
            "'assets materialize --retry-failed'",
        )


def _send_alerts(ctx: Context, result: object, trigger: str) -> None:
    """Manual runs alert like the daemon's: `[[alerts]]` in assets.toml, never failing."""
    from rich.markup import escape

    from ..automation.alerts import notify, run_events
    from ..config import find_project_root, load_config
    from .render import err

    config = load_config(find_project_root(ctx.project_dir))
    if not config.alerts:
        return
    events = run_events(result, trigger=trigger)  # type: ignore[arg-type]
    for delivery in notify(config.alerts, events, project=config.name):
        if delivery.status == "skipped":
            err.print(
                f"[yellow]note:[/] alert '{escape(delivery.destination)}' not sent "
                f"({delivery.events} event(s)): {escape(delivery.error or '')}; set it "
                "to receive alerts"
            )
        elif delivery.status != "sent":
            err.print(
                f"[yellow]note:[/] alert to {escape(delivery.destination)} failed: "
                f"{escape(delivery.error or '')}"
            )


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--stale", is_flag=True, help="Build only assets that are stale (and why).")
@click.option("--dry-run", is_flag=True, help="Print the plan with reasons; build nothing.")
@click.option(
    "--threads",
    "-t",
    type=click.IntRange(min=1),
    help="Assets built at once (default: project setting or CPU count).",
)
@click.option("--fail-fast", is_flag=True, help="Start nothing new after the first failure.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Rebuild the failed, timed-out and skipped assets (and partitions) of the last run.",
)
@click.option(
    "--partition",
    "partitions",
    multiple=True,
    metavar="KEY",
    help="Only this partition: 2024-03-05 (time) or region=eu (static); repeatable.",
)
@click.option("--from", "time_from", metavar="DATE", help="Backfill from this partition on.")
@click.option("--to", "time_to", metavar="DATE", help="Backfill up to this partition (included).")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Partitions written per query and transaction (default: the asset's batch_size).",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild partitioned and incremental assets from scratch instead of appending.",
)
@json_option
@pass_ctx
def materialize(
    ctx: Context,
    selection: tuple[str, ...],
    stale: bool,
    dry_run: bool,
    threads: int | None,
    fail_fast: bool,
    retry_failed: bool,
    partitions: tuple[str, ...],
    time_from: str | None,
    time_to: str | None,
    batch_size: int | None,
    full_refresh: bool,
    as_json: bool,
) -> None:
    """Build the selected assets (default: all) in lineage order.

    \b
    SELECTION: name, +name (with upstreams), name+ (with downstreams), +name+,
    2+name (two hops), tag:x, kind:sql|python, path:models/marts, stg_* (glob).

    \b
    Partitioned assets: --partition 2024-03-05, or a backfill --from 2024-01-01
    --to 2024-03-31; with --stale only missing and stale partitions are built.
    """
    _run(
        ctx,
        selection,
        stale=stale,
        dry_run=dry_run,
        threads=threads,
        fail_fast=fail_fast,
        retry_failed="" if retry_failed else None,
        as_json=as_json,
        trigger="manual",
        partitions=partitions,
        time_from=time_from,
        time_to=time_to,
        batch_size=batch_size,
        full_refresh=full_refresh,
    )


@cli.command()
@click.argument("run_id", required=False, default="")
@click.option("--threads", "-t", type=click.IntRange(min=1))
@json_option
@pass_ctx
def retry(ctx: Context, run_id: str, threads: int | None, as_json: bool) -> None:
    """Re-run the failed, timed-out and skipped assets of RUN_ID (default: the last run)."""
    _run(
        ctx,
        (),
        stale=False,
        dry_run=False,
        threads=threads,
        fail_fast=False,
        retry_failed=run_id,
        as_json=as_json,
        trigger=f"retry {run_id}".strip(),
    )


@cli.command()
@click.argument("selection", nargs=-1)
@json_option
@pass_ctx
def check(ctx: Context, selection: tuple[str, ...], as_json: bool) -> None:
    """Run the checks of the selected assets against their current tables."""

    from rich.markup import escape

    from ..errors import RunFailedError, WarehouseError
    from .render import out, print_json

    project = ctx.load()
    names = project.graph.order(project.graph.select(selection))
    warehouse = project.open_warehouse()
    warehouse.connect(read_only=True)
    results = []
    try:
        tables = warehouse.tables()
        for name in names:
            spec = project.graph.specs[name]
            if not spec.meta.checks:
                continue
            if name.lower() not in tables:
                raise WarehouseError(
                    f"{name} has no table yet",
                    hint=f"materialize it first: assets materialize +{name}",
                )
            for r in warehouse.check(name, spec.meta.checks):
                results.append((name, r))
    finally:
        warehouse.close()
    for name in names:
        mine = [r for n, r in results if n == name]
        project.catalog.record_checks(name, mine)
    if as_json:
        print_json(
            [
                {
                    "asset": n,
                    "check": r.check.label,
                    "severity": r.check.severity,
                    "status": r.status,
                    "failing_rows": r.failing_rows,
                    "sample": r.sample,
                    "message": r.message,
                }
                for n, r in results
            ]
        )
    else:
        colour = {"passed": "green", "failed": "red", "error": "red"}
        for n, r in results:
            style = (
                "yellow"
                if r.status != "passed" and r.check.severity == "warn"
                else colour[r.status]
            )
            line = f"  {escape(n)}: {escape(r.check.label)} [{style}]{r.status}[/]"
            if r.status == "failed":
                line += f" ({r.failing_rows} failing row(s))"
            elif r.status == "error":
                line += f" ({escape(r.message or '')})"
            out.print(line)
        out.print(f"{len(results)} check(s) on {len(names)} asset(s)")
    if any(r.blocking for _, r in results):
        raise RunFailedError("blocking checks failed")


@cli.command()
@click.option("--dry-run", is_flag=True, help="List what would be dropped; drop nothing.")
@json_option
@pass_ctx
def prune(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Drop tables left over from assets that no longer exist.

    A table is left over when this project built it for an asset whose file or
    function is gone. One still read by an asset is kept and named.
    """
    from rich.markup import escape

    from ..leftovers import prune as prune_tables
    from .render import ago, out, print_json

    result = prune_tables(ctx.root(), dry_run=dry_run)
    if as_json:
        print_json(result.to_json())
        return
    verb = "would drop" if dry_run else "dropped"
    for t in result.dropped:
        where = f", {t.path}" if t.path else ""
        out.print(
            f"{verb} {escape(t.table)} (asset {escape(t.asset)}{escape(where)}, "
            f"last built {ago(t.last_built)})"
        )
    for t, readers in result.kept:
        out.print(
            f"[yellow]kept[/] {escape(t.table)}: still read by {escape(', '.join(readers))} "
            "(change those first, or declare it as a source in assets.toml)"
        )
    if not result.dropped and not result.kept:
        out.print("no left-over tables")
    else:
        out.print(f"{len(result.dropped)} table(s) {verb}, {len(result.kept)} kept")
