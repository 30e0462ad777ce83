"""Read commands: init, list, status, lineage. They never take the lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import Context, cli, json_option, pass_ctx

if TYPE_CHECKING:
    from ..project import Project
    from ..staleness import AssetStatus


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
    if not project.specs and not selection and not as_json:
        _print_nothing_found(project)
        return
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
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit with 1 when a shown asset is not fresh (a gate for CI scripts).",
)
@json_option
@pass_ctx
def status(
    ctx: Context, selection: tuple[str, ...], only_stale: bool, exit_code: bool, as_json: bool
) -> None:
    """Show each asset's state (fresh, stale, missing, failed) and why."""
    not_fresh = _status(ctx, selection, only_stale, as_json)
    if exit_code and not_fresh:
        click.get_current_context().exit(1)


def _status(ctx: Context, selection: tuple[str, ...], only_stale: bool, as_json: bool) -> bool:
    """Print the statuses; True when a shown asset is not fresh."""
    from .render import out, print_json, status_counts, status_grid

    project = ctx.load()
    if not project.specs and not selection and not as_json:
        _print_nothing_found(project)
        return False
    names = project.graph.order(project.graph.select(selection))
    # A selection is judged with its upstreams only (what its states depend on).
    judgement = project.judge(of=names if selection else None)
    statuses = judgement.statuses
    chosen = [statuses[n] for n in names if not only_stale or statuses[n].is_stale]
    not_fresh = any(st.state != "fresh" for st in chosen)
    parts = judgement.partitions
    if as_json:
        rows = [_status_json(project, st) for st in chosen]
        for row in rows:
            if row["name"] in parts:
                row["partitions"] = parts[str(row["name"])].counts()
        print_json(rows)
        return not_fresh
    from rich.markup import escape

    if project.warehouse_view.tables is None:
        out.print(
            "[yellow]note:[/] the warehouse is in use by another process (a run, or a "
            "program holding it open); table presence is taken from the catalog"
        )
    for note in judgement.probe_notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    if only_stale and not chosen:
        out.print(f"nothing stale: all {len(names)} asset(s) are fresh")
        return False
    status_grid(chosen).print()
    noted = [(st.name, note) for st in chosen if st.name not in parts for note in st.notes]
    if noted:  # e.g. "non-breaking: stg_orders added columns x" (docs/column-lineage.md)
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
    return not_fresh


def _print_nothing_found(project: Project) -> None:
    from rich.markup import escape

    from ..discovery import nothing_found
    from .render import out

    error = nothing_found(project.config)
    out.print(escape(error.message))
    out.print(f"  hint: {escape(error.hint or '')}", soft_wrap=True)


def _status_json(project: object, st: object) -> dict[str, object]:
    data = st.to_json()  # type: ignore[attr-defined]
    spec = project.graph.specs[data["name"]]  # type: ignore[attr-defined]
    data["kind"] = spec.kind
    data["path"] = spec.path
    return data


@cli.command()
@click.argument("name")
@click.option(
    "--upstream", is_flag=True, help="Only upstream (with --downstream: both, as without)."
)
@click.option("--downstream", is_flag=True, help="Only downstream (with --upstream: both).")
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
    upstream: bool,
    downstream: bool,
    depth: int | None,
    fmt: str,
    output: Path | None,
    as_json: bool,
) -> None:
    """Show the lineage of asset NAME (or column NAME.column): tree, DOT, SVG or PNG.

    For a column, value edges (its value is computed from) and filter edges (they decide
    its rows) are drawn differently; see docs/column-lineage.md."""
    from ..lineage_view import neighbourhood, to_dot
    from .render import deliver_lineage

    # One flag narrows to its direction; both together mean both, like neither.
    direction = "upstream" if upstream and not downstream else None
    direction = "downstream" if downstream and not upstream else direction
    project = ctx.load()
    if "." in name and name not in project.graph:
        from .commands_columns import show_column_lineage

        return show_column_lineage(project, name, direction, depth, fmt, output, as_json)
    focus = project.graph.resolve(name)
    up = direction in (None, "upstream")
    down = direction in (None, "downstream")
    hood = neighbourhood(project.graph, focus, upstream=up, downstream=down, depth=depth)
    statuses = project.status(of=hood.nodes)

    deliver_lineage(
        fmt,
        output,
        as_json=as_json,
        json_value=lambda: hood.to_json(statuses),
        dot=lambda: to_dot(hood, statuses),
        text=lambda: _lineage_tree(project, focus, statuses, up, down, depth),
    )


def _lineage_tree(
    project: Project,
    focus: str,
    statuses: dict[str, AssetStatus],
    up: bool,
    down: bool,
    depth: int | None,
) -> str:
    """The text tree of ``assets lineage NAME``, as rich markup."""
    from rich.markup import escape

    from ..lineage_view import text_tree
    from .render import styled

    rows = text_tree(project.graph, focus, statuses, upstream=up, downstream=down, depth=depth)
    lines = [f"[bold]{escape(focus)}[/] {styled(statuses[focus].state)}"]
    for direction, wanted in (("upstream", up), ("downstream", down)):
        if not wanted:
            continue
        mine = [r for r in rows if r[1] == direction]
        lines.append(f"  [bold]{direction}[/]" + ("" if mine else " (none)"))
        for level, _, label, state in mine:
            tag = "" if state == "source" else " " + styled(state)
            text = f"[bright_blue]{escape(label)}[/]" if state == "source" else escape(label)
            lines.append(f"  {'    ' * level}{text}{tag}")
    return "\n".join(lines)
