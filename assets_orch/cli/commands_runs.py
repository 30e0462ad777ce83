"""Run history commands: history, runs, runs show. They read the catalog only."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from ..paths import LOCK_FILE, STATE_DIR
from . import Context, cli, json_option, pass_ctx, show_repairs

if TYPE_CHECKING:
    from pathlib import Path

    from rich.table import Table

    from ..catalog import Catalog
    from ..records import MaterializationRecord, RunRecord
    from .render import Grid
    from .run_rows import AttemptRow


@cli.command()
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@json_option
@pass_ctx
def history(ctx: Context, name: str, limit: int, as_json: bool) -> None:
    """Show the materializations of asset NAME, newest first."""
    from .render import out, print_json

    project = ctx.load(check_tables=False)
    focus = project.graph.resolve(name)
    records = project.catalog.history(focus, limit)
    if as_json:
        print_json([r.to_json() for r in records])
        return
    if not records:
        out.print(f"{focus} has never been materialized")
        return
    history_grid(records).print()


@cli.group(invoke_without_command=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@json_option
@click.pass_context
def runs(click_ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent runs (id, trigger, start, duration, counts by status)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from ..recovery import shown_as_crashed
    from .render import out, print_json

    root = click_ctx.obj.root()
    catalog = repaired_catalog(root)
    records = shown_as_crashed(catalog.runs(limit), root / STATE_DIR / LOCK_FILE)
    if as_json:
        print_json([r.to_json() for r in records])
        return
    if not records:
        out.print("no runs yet: try 'assets materialize'")
        return
    out.print(runs_table(records))


@runs.command("show")
@click.argument("run_id")
@click.option(
    "--verbose", "-v", is_flag=True, help="Also print the Python traceback of each failure."
)
@json_option
@pass_ctx
def runs_show(ctx: Context, run_id: str, verbose: bool, as_json: bool) -> None:
    """Show the assets of run RUN_ID (a unique prefix is enough) and its errors in full."""
    from rich.markup import escape

    from ..records import FAILURE_STATUSES
    from ..recovery import shown_as_crashed
    from .render import STATE_STYLE, Grid, out, print_json, rows_text, seconds, styled
    from .run_rows import attempt_rows

    root = ctx.root()
    catalog = repaired_catalog(root)
    [run] = shown_as_crashed([catalog.find_run(run_id)], root / STATE_DIR / LOCK_FILE)
    mats = catalog.materializations_of_run(run.run_id)
    if as_json:
        print_json({**run.to_json(), "materializations": [m.to_json() for m in mats]})
        return
    out.print(
        f"run [bold]{run.run_id}[/] {styled(run.status)} trigger {escape(run.trigger)} "
        f"selection '{escape(run.selection)}' duration {seconds(run.duration)}"
    )
    for line in (run.message or "").splitlines():  # e.g. what a repair after a crash found
        out.print(f"  {escape(line)}", soft_wrap=True)
    rows = attempt_rows(mats, _grains(catalog.path, {m.asset for m in mats if m.partition}))
    grid = Grid(("asset", "status", "attempt", "duration", "rows", "error"))
    for row in rows:
        m = row.first
        first = (m.error or "").strip().splitlines()[:1]
        grid.add_row(
            row.label,
            (m.status.replace("_", " "), STATE_STYLE.get(m.status, "white")),
            str(m.attempt),
            seconds(row.duration),
            rows_text(row.row_count),
            first[0] if first else "",
        )
    grid.print()
    failures = [r for r in rows if r.first.status in FAILURE_STATUSES and r.first.error]
    if failures:
        _print_failures(failures, verbose=verbose)


def repaired_catalog(root: Path) -> Catalog:
    """The catalog, repaired first when a run was left unfinished by a dead process
    (as every reader that loads the project does; see recovery.repair_if_abandoned)."""
    from ..catalog import Catalog
    from ..errors import AssetsError

    catalog = Catalog(root / STATE_DIR / "catalog.sqlite")
    if catalog.unfinished_runs():
        from ..config import load_config
        from ..recovery import repair_if_abandoned

        try:
            notes = repair_if_abandoned(root, load_config(root), catalog)
        except AssetsError:
            notes = []  # assets.toml being edited, a damaged warehouse: show what is recorded
        show_repairs(notes)
    return catalog


def _grains(catalog_path: Path, assets: set[str]) -> dict[str, str]:
    """The time grain of each partitioned asset, as its partition layout records it."""
    if not assets:
        return {}
    from ..partitions.definition import grain_of_signature
    from ..partitions.store import PartitionStore

    store = PartitionStore(catalog_path)
    try:
        found = {a: grain_of_signature(store.signature(a)) for a in assets}
    finally:
        store.close()
    return {a: g for a, g in found.items() if g}


def _print_failures(failures: list[AttemptRow], *, verbose: bool) -> None:
    """The whole error message of each failed attempt (the table shows its first line);
    with ``verbose``, the Python traceback too."""
    from rich.markup import escape

    from .render import out

    out.print("\n[bold]errors[/]")
    for row in failures:
        m = row.first
        word = m.status.replace("_", " ")
        out.print(f"  [red]{escape(row.label)}[/] (attempt {m.attempt}, {word}):")
        lines = (m.error or "").strip().splitlines()
        if verbose and m.traceback:
            lines += m.traceback.rstrip().splitlines()
        for line in lines:
            out.print(f"    {escape(line)}".rstrip(), soft_wrap=True)
    hidden = sum(1 for r in failures if r.first.traceback) if not verbose else 0
    if hidden:
        out.print(f"\n[bright_black]{hidden} Python traceback(s) not shown: add -v[/]")


def history_grid(records: list[MaterializationRecord]) -> Grid:
    """The attempts, with a partition column when any attempt built a partition."""
    from .render import STATE_STYLE, Grid, rows_text, seconds

    partitioned = any(r.partition is not None for r in records)
    columns = ("started", "run", "partition") if partitioned else ("started", "run")
    grid = Grid(
        (*columns, "status", "attempt", "duration", "rows", "error"), right=("attempt", "rows")
    )
    for r in records:
        cells = [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at)), r.run_id]
        if partitioned:
            cells.append(r.partition or "-")
        grid.add_row(
            *cells,
            (r.status.replace("_", " "), STATE_STYLE.get(r.status, "white")),
            str(r.attempt),
            seconds(r.duration),
            rows_text(r.row_count),
            (r.error or "").strip().splitlines()[0] if r.error else "",
        )
    return grid


def runs_table(runs: list[RunRecord]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from .render import seconds, styled

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
