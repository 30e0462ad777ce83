"""Read commands: init, list, status, lineage, history, runs. They never take the lock."""

from __future__ import annotations

from pathlib import Path

import click

from . import Context, cli, json_option, pass_ctx


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Create a new project in DIRECTORY from the example shop project."""
    from rich.markup import escape

    from ..template import init_project
    from .render import out

    dest = init_project(directory)
    out.print(f"created project [bold]{escape(str(dest))}[/]")
    out.print(
        f"  next: cd {escape(str(directory))} && assets materialize && assets lineage orders_daily"
    )


@cli.command("list")
@click.argument("selection", nargs=-1)
@json_option
@pass_ctx
def list_(ctx: Context, selection: tuple[str, ...], as_json: bool) -> None:
    """List assets with their kind, upstreams and sources (optionally a SELECTION)."""
    from .render import Grid, out, print_json

    project = ctx.load()
    chosen = project.graph.order(project.graph.select(selection))
    specs = [project.graph.specs[n] for n in chosen]
    if as_json:
        print_json([s.to_json() for s in specs])
        return
    grid = Grid(("asset", "kind", "path", "upstreams", "sources", "tags"))
    for s in specs:
        grid.add_row(
            s.name,
            s.kind,
            s.path,
            ", ".join(s.upstreams),
            ", ".join(s.sources),
            ", ".join(s.meta.tags),
        )
    grid.print()
    out.print(f"{len(specs)} asset(s)")


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--stale", "only_stale", is_flag=True, help="Show only assets that are not fresh.")
@json_option
@pass_ctx
def status(ctx: Context, selection: tuple[str, ...], only_stale: bool, as_json: bool) -> None:
    """Show each asset's state (fresh, stale, missing, failed) and why."""
    from .render import out, print_json, status_counts, status_grid

    project = ctx.load()
    judgement = project.judge()
    statuses = judgement.statuses
    names = project.graph.order(project.graph.select(selection))
    chosen = [statuses[n] for n in names if not only_stale or statuses[n].is_stale]
    parts = judgement.partitions
    if as_json:
        rows = [_status_json(project, st) for st in chosen]
        for row in rows:
            if row["name"] in parts:
                row["partitions"] = parts[str(row["name"])].counts()
        print_json(rows)
        return
    if project.warehouse_view.tables is None:
        out.print(
            "[yellow]note:[/] the warehouse is in use by another process (a run, or a "
            "program holding it open); table presence is taken from the catalog"
        )
    for note in judgement.probe_notes:
        out.print(f"[yellow]note:[/] {note}")
    status_grid(chosen).print()
    noted = [(st.name, note) for st in chosen if st.name not in parts for note in st.notes]
    if noted:  # e.g. "non-breaking: stg_orders added columns x" (docs/column-lineage.md)
        from rich.markup import escape

        out.print("")
        for name, note in noted:
            out.print(f"{escape(name)}: {escape(note)}", soft_wrap=True)
    shown = [st.name for st in chosen if st.name in parts]
    if shown:
        from .commands_partitions import partition_counts

        out.print("\npartitions (assets partitions NAME for ranges):")
        for name in shown:
            out.print(f"  {name}: {partition_counts(parts[name])}")
    out.print(f"\n{len(chosen)} asset(s): {status_counts(chosen) or 'none'}")
    leftovers = project.leftover_tables()
    if leftovers:
        from rich.markup import escape

        names = ", ".join(escape(t.table) for t in leftovers)
        out.print(
            f"[yellow]note:[/] {len(leftovers)} table(s) left over from assets that no longer "
            f"exist: {names}; 'assets prune' drops them (or declare one as a source in "
            "assets.toml to keep it)",
            soft_wrap=True,
        )


def _status_json(project: object, st: object) -> dict[str, object]:
    data = st.to_json()  # type: ignore[attr-defined]
    spec = project.graph.specs[data["name"]]  # type: ignore[attr-defined]
    data["kind"] = spec.kind
    data["path"] = spec.path
    return data


@cli.command()
@click.argument("name")
@click.option("--upstream", "direction", flag_value="upstream", help="Only upstream.")
@click.option("--downstream", "direction", flag_value="downstream", help="Only downstream.")
@click.option("--depth", type=click.IntRange(min=1), help="At most this many hops.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "dot", "svg", "png", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout (needed for png).",
)
@json_option
@pass_ctx
def lineage(
    ctx: Context,
    name: str,
    direction: str | None,
    depth: int | None,
    fmt: str,
    output: Path | None,
    as_json: bool,
) -> None:
    """Show the lineage of asset NAME (or column NAME.column): tree, DOT, SVG or PNG.

    For a column, value edges (its value is computed from) and filter edges (they decide
    its rows) are drawn differently; see docs/column-lineage.md."""
    from rich.markup import escape

    from ..lineage_view import neighbourhood, render, text_tree, to_dot
    from .render import out, print_json, styled

    project = ctx.load()
    if "." in name and name not in project.graph:
        from .commands_columns import show_column_lineage

        return show_column_lineage(project, name, direction, depth, fmt, output, as_json)
    focus = project.graph.resolve(name)
    statuses = project.status()
    up = direction in (None, "upstream")
    down = direction in (None, "downstream")
    hood = neighbourhood(project.graph, focus, upstream=up, downstream=down, depth=depth)
    if as_json or fmt == "json":
        print_json(hood.to_json(statuses))
        return
    if fmt in ("dot", "svg", "png"):
        dot = to_dot(hood, statuses)
        data = dot.source.encode() if fmt == "dot" else render(dot, fmt)
        if output is not None:
            output.write_bytes(data)
            out.print(f"wrote {escape(str(output))}")
        elif fmt == "png":
            raise click.UsageError("--format png needs -o FILE")
        else:
            click.echo(data.decode())
        return
    lines = [f"[bold]{escape(focus)}[/] {styled(statuses[focus].state)}"]
    for direction_name in ("upstream", "downstream"):
        rows = [
            r
            for r in text_tree(
                project.graph, focus, statuses, upstream=up, downstream=down, depth=depth
            )
            if r[1] == direction_name
        ]
        if (direction_name == "upstream" and not up) or (
            direction_name == "downstream" and not down
        ):
            continue
        lines.append(f"  [bold]{direction_name}[/]" + ("" if rows else " (none)"))
        for level, _, label, state in rows:
            pad = "    " * level
            tag = "" if state == "source" else " " + styled(state)
            style = "bright_blue" if state == "source" else ""
            text = f"[{style}]{escape(label)}[/]" if style else escape(label)
            lines.append(f"  {pad}{text}{tag}")
    text = "\n".join(lines)
    if output is not None:
        from rich.console import Console

        with output.open("w", encoding="utf-8") as fh:
            Console(file=fh, no_color=True, width=200).print(text)
        out.print(f"wrote {escape(str(output))}")
    else:
        out.print(text)


@cli.command()
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@json_option
@pass_ctx
def history(ctx: Context, name: str, limit: int, as_json: bool) -> None:
    """Show the materializations of asset NAME, newest first."""
    from .render import history_table, out, print_json

    project = ctx.load(check_tables=False)
    focus = project.graph.resolve(name)
    records = project.catalog.history(focus, limit)
    if as_json:
        print_json([r.to_json() for r in records])
        return
    if not records:
        out.print(f"{focus} has never been materialized")
        return
    out.print(history_table(records))


@cli.group(invoke_without_command=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@json_option
@click.pass_context
def runs(click_ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent runs (id, trigger, start, duration, counts by status)."""
    if click_ctx.invoked_subcommand is not None:
        return
    from ..catalog import Catalog
    from ..config import STATE_DIR
    from .render import out, print_json, runs_table

    root = click_ctx.obj.root()
    records = Catalog(root / STATE_DIR / "catalog.sqlite").runs(limit)
    if as_json:
        print_json([r.to_json() for r in records])
        return
    if not records:
        out.print("no runs yet: try 'assets materialize'")
        return
    out.print(runs_table(records))


@runs.command("show")
@click.argument("run_id")
@json_option
@pass_ctx
def runs_show(ctx: Context, run_id: str, as_json: bool) -> None:
    """Show the assets of run RUN_ID (a unique prefix is enough)."""
    from rich.markup import escape
    from rich.table import Table

    from ..catalog import Catalog
    from ..config import STATE_DIR
    from ..errors import AssetsError
    from .render import out, print_json, rows_text, seconds, styled

    catalog = Catalog(ctx.root() / STATE_DIR / "catalog.sqlite")
    run = catalog.run(run_id)
    if run is None:
        raise AssetsError(f"no run matches '{run_id}'", hint="see 'assets runs'")
    mats = catalog.materializations_of_run(run.run_id)
    if as_json:
        print_json({**run.to_json(), "materializations": [m.to_json() for m in mats]})
        return
    out.print(
        f"run [bold]{run.run_id}[/] {styled(run.status)} trigger {escape(run.trigger)} "
        f"selection '{escape(run.selection)}' duration {seconds(run.duration)}"
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("asset", "status", "attempt", "duration", "rows", "error"):
        table.add_column(col)
    for m in mats:
        first = (m.error or "").strip().splitlines()[:1]
        table.add_row(
            escape(m.asset if m.partition is None else f"{m.asset}[{m.partition}]"),
            styled(m.status),
            str(m.attempt),
            seconds(m.duration),
            rows_text(m.row_count),
            escape(first[0][:100]) if first else "",
        )
    out.print(table)
