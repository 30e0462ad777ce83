"""``assets catalog``: the static HTML catalog. Reads only; never takes the writer lock."""

from __future__ import annotations

from pathlib import Path

import click

from . import Context, cli, json_option, pass_ctx


@cli.group()
def catalog() -> None:
    """Browse the catalog outside the terminal (a static HTML site)."""


@catalog.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--select",
    "-s",
    "selection",
    multiple=True,
    help="Only these assets (selection syntax as in 'assets list'); repeatable.",
)
@json_option
@pass_ctx
def export(ctx: Context, directory: Path, selection: tuple[str, ...], as_json: bool) -> None:
    """Write a static HTML catalog to DIRECTORY: open DIRECTORY/index.html from disk.

    \b
    Works while a materialization runs (reads the project files and the catalog
    only). A second export into the same directory rewrites only what changed.
    """
    from rich.markup import escape

    from ..html import export_catalog
    from .render import out, print_json

    project = ctx.load()
    summary = export_catalog(project, directory, select=selection)
    if as_json:
        print_json(summary.to_json())
        return
    out.print(
        f"exported {summary.assets} asset(s) to [bold]{escape(str(directory))}[/] in "
        f"{summary.seconds:.1f}s: {summary.files_written} file(s) written, "
        f"{summary.files_unchanged} unchanged, {summary.files_removed} removed; "
        f"{summary.pictures_drawn} picture(s) drawn, {summary.pictures_reused} reused"
    )
    out.print(f"  open {escape(str((directory / 'index.html').resolve()))}")
