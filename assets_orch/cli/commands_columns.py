"""Column commands: columns, impact, and ``lineage ASSET.COLUMN`` (docs/column-lineage.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import Context, cli, json_option, pass_ctx

if TYPE_CHECKING:
    from ..column_lineage import ColumnInfo, ProjectColumns
    from ..project import Project


def _split(project: Project, target: str) -> tuple[str, str]:
    """``asset.column`` -> (asset name, column), the asset name may itself hold dots."""
    from ..errors import SelectionError

    asset, dot, column = target.rpartition(".")
    if not dot or not asset or not column:
        raise SelectionError(
            f"'{target}' does not name a column", hint="write ASSET.COLUMN, e.g. stg_orders.amount"
        )
    return project.graph.resolve(asset), column


def _check_column(columns: ProjectColumns, asset: str, column: str) -> str:
    """The column's name as the asset spells it, or an error naming the known ones."""
    from ..errors import LineageError
    from ..header import closest_name

    info = columns.of(asset)
    if info.unresolved is not None and not info.columns:
        raise LineageError(
            f"the columns of {asset} are not known: {info.unresolved}",
            hint="build it (assets materialize +" + asset + "), then try again",
        )
    found = info.column(column)
    if found is None:
        close = closest_name(column, list(info.names))
        raise LineageError(
            f"{asset} has no column '{column}'",
            hint=(f"did you mean '{close}'? " if close else "") + f"see 'assets columns {asset}'",
        )
    return found.name


def _refs(items: Any) -> str:
    return ", ".join(str(r) for r in items) or "-"


@cli.command()
@click.argument("name")
@json_option
@pass_ctx
def columns(ctx: Context, name: str, as_json: bool) -> None:
    """Show the columns of asset NAME: type, value and filter upstream columns."""
    from rich.markup import escape

    from ..column_lineage import ProjectColumns
    from .render import out, print_json

    project = ctx.load()
    focus = project.graph.resolve(name)
    lineage = ProjectColumns.for_project(project)
    try:
        info = lineage.of(focus)
    finally:
        lineage.close()
    if as_json:
        print_json(info.to_json())
        return
    kind = info.kind + (", declared lineage" if info.declared else "")
    out.print(f"[bold]{escape(focus)}[/] ({kind})")
    if info.unresolved is not None:
        out.print(f"[yellow]unresolved:[/] {escape(info.unresolved)}")
        if not info.columns:
            return
    rows = set(info.rows)
    if info.kind == "sql":
        out.print(f"rows decided by: {escape(_refs(info.rows))}", soft_wrap=True)
    out.print(_columns_table(info.columns, rows), soft_wrap=True)
    if not info.built:
        out.print("[bright_black]types are known once the asset is built from this code[/]")


def _columns_table(items: tuple[ColumnInfo, ...], rows: set[Any]) -> str:
    """Aligned plain columns, never truncated (lists of columns get long)."""
    from rich.markup import escape

    lines = [("column", "type", "value from", "also filtered by")]
    for c in items:
        own = [f for f in c.filter if f not in rows]
        lines.append((c.name, c.type or "?", _refs(c.value), _refs(own) if own else ""))
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    text = []
    for index, line in enumerate(lines):
        cells = [line[i].ljust(widths[i]) for i in range(3)] + [line[3]]
        row = escape("  ".join(cells).rstrip())
        text.append(f"[bold]{row}[/]" if index == 0 else row)
    return "\n".join(text)


@cli.command()
@click.argument("target", metavar="ASSET.COLUMN")
@json_option
@pass_ctx
def impact(ctx: Context, target: str, as_json: bool) -> None:
    """List every downstream column whose values or rows depend on ASSET.COLUMN."""
    from rich.markup import escape

    from ..column_lineage import ProjectColumns
    from .render import out, print_json

    project = ctx.load()
    asset, column = _split(project, target)
    lineage = ProjectColumns.for_project(project)
    try:
        column = _check_column(lineage, asset, column)
        found = lineage.impact(asset, column)
        gaps = lineage.unresolved_downstream(asset)
    finally:
        lineage.close()
    if as_json:
        print_json(
            {
                "column": f"{asset}.{column}",
                "impacted": [i.to_json() for i in found],
                "assets": sorted({i.asset for i in found}),
                "unresolved": [{"asset": a, "reason": r} for a, r in gaps],
            }
        )
        return
    assets = {i.asset for i in found}
    out.print(
        f"[bold]{escape(asset)}.{escape(column)}[/] is read by {len(found)} column(s) "
        f"in {len(assets)} asset(s)"
    )
    width = max((len(i.asset) + len(i.column) + 1 for i in found), default=0)
    for item in found:
        via = f"{item.via_asset}.{item.via_column}"
        through = "" if via == f"{asset}.{column}" else f"  (via {escape(via)})"
        style = "" if item.edge == "value" else "bright_black"
        label = escape(f"{item.asset}.{item.column}".ljust(width))
        edge = f"[{style}]{item.edge}[/]" if style else item.edge
        pad = " " * (len("filter") - len(item.edge)) if through else ""
        out.print(f"  {label}  {edge}{pad}{through}", soft_wrap=True)
    for name, reason in gaps:
        out.print(f"  [yellow]unknown beyond {escape(name)}:[/] {escape(reason)}", soft_wrap=True)


def show_column_lineage(
    project: Project,
    target: str,
    direction: str | None,
    depth: int | None,
    fmt: str,
    output: Path | None,
    as_json: bool,
) -> None:
    """``assets lineage ASSET.COLUMN``: the column's graph (called by ``lineage``)."""
    from rich.markup import escape

    from ..column_graph import column_graph, text_rows, to_dot
    from ..column_lineage import ProjectColumns
    from .render import deliver_lineage

    asset, column = _split(project, target)
    lineage = ProjectColumns.for_project(project)
    try:
        column = _check_column(lineage, asset, column)
        up = direction in (None, "upstream")
        down = direction in (None, "downstream")
        graph = column_graph(lineage, asset, column, upstream=up, downstream=down, depth=depth)
    finally:
        lineage.close()

    def tree() -> str:
        lines = [f"[bold]{escape(asset)}.{escape(column)}[/]"]
        for name, wanted in (("upstream", up), ("downstream", down)):
            if not wanted:
                continue
            rows = text_rows(graph, name)
            lines.append(f"  [bold]{name}[/]" + ("" if rows else " (none)"))
            for level, label, edge, repeated in rows:
                tag = "[bright_black]filter[/]" if edge == "filter" else "value"
                more = " (see above)" if repeated else ""
                lines.append(f"  {'    ' * level}{escape(label)}  {tag}{more}")
        for name, reason in graph.gaps:
            lines.append(f"  [yellow]unresolved {escape(name)}:[/] {escape(reason)}")
        return "\n".join(lines)

    deliver_lineage(
        fmt,
        output,
        as_json=as_json,
        json_value=graph.to_json,
        dot=lambda: to_dot(graph),
        text=tree,
    )
