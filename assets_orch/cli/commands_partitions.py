"""The ``partitions`` command: which ranges of a partitioned asset are fresh, stale,
missing or failed — ranges, never a line per partition."""

from __future__ import annotations

import click

from . import Context, cli, json_option, pass_ctx


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["fresh", "stale", "missing", "failed"]),
    help="Only ranges in this state (repeatable).",
)
@json_option
@pass_ctx
def partitions(ctx: Context, name: str | None, states: tuple[str, ...], as_json: bool) -> None:
    """Show the partitions of asset NAME as ranges by state (all partitioned assets
    without NAME)."""
    from rich.markup import escape

    from ..errors import SelectionError
    from .render import out, print_json, styled

    project = ctx.load()
    judgement = project.judge()
    parts = judgement.partitions
    if name is None:
        if as_json:
            print_json([_summary_json(parts[n]) for n in project.graph.order(list(parts))])
            return
        if not parts:
            out.print("no partitioned assets in this project")
            return
        for n in project.graph.order(list(parts)):
            out.print(f"[bold]{escape(n)}[/]  {parts[n].describe()}  {partition_counts(parts[n])}")
        return
    focus = project.graph.resolve(name)
    if focus not in parts:
        raise SelectionError(
            f"{focus} is not partitioned",
            hint="partition it with '-- partitioned_by: <column>' (see docs/partitions.md)",
        )
    status = parts[focus]
    if as_json:
        data = status.to_json()
        if states:
            data["ranges"] = [r for r in data["ranges"] if r["state"] in states]
        print_json(data)
        return
    for note in judgement.probe_notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    out.print(f"[bold]{escape(focus)}[/]  {status.describe()}")
    out.print(f"  {partition_counts(status)}")
    definition = status.definition
    rows = [r for r in status.display() if not states or r[3] in states]
    current: tuple[str, ...] | None = None
    indent = "  "
    for static, lo, hi, state, reasons in rows:
        if definition.static and static != current:
            current = static
            out.print(f"  [bold]{escape(definition.static_label(static))}[/]")
            indent = "    "
        if definition.time is not None:
            span = definition.time.key(lo)
            if hi > lo:
                span += f" .. {definition.time.key(hi)}"
        else:
            span = definition.static_label(static)
        why = "; ".join(str(r) for r in reasons)
        count = hi - lo + 1
        line = f"{indent}{escape(span):<26} {styled(state)} {count:>6}"
        if why:
            line += f"  [bright_black]{escape(why)}[/]"
        out.print(line)


def partition_counts(status: object) -> str:
    from ..partitions.status import STATES, PartitionStatus
    from .render import styled

    assert isinstance(status, PartitionStatus)
    counts = status.counts()
    parts = [f"{counts[s]} {styled(s)}" for s in STATES if counts[s]]
    return f"{status.total} partitions: " + (", ".join(parts) or "none yet")


def _summary_json(status: object) -> dict[str, object]:
    from ..partitions.status import PartitionStatus

    assert isinstance(status, PartitionStatus)
    data = status.to_json()
    data.pop("ranges")
    return data
