"""The ``assets`` command. The only place that knows click and the terminal.

Library errors (:class:`~assets_orch.errors.AssetsError`) become one clean message on
stderr and exit code 2 (project or usage errors) or 1 (failed runs); no traceback
unless ``ASSETS_DEBUG=1``. Heavy modules are imported inside commands so that
``assets --help`` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from .._version import __version__


class Context:
    """Shared state of one invocation: where the project is."""

    def __init__(self, project_dir: Path | None) -> None:
        self.project_dir = project_dir

    def load(self, **kwargs: Any) -> Any:
        from ..project import Project

        project = Project.load(self.project_dir, **kwargs)
        if project.repaired:  # a crash found and repaired: say so once, where it happened
            show_repairs(project.repaired)
        return project

    def root(self) -> Path:
        from ..config import find_project_root

        return find_project_root(self.project_dir)


pass_ctx = click.make_pass_decorator(Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="assets")
@click.option(
    "--project",
    "-p",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project directory (default: the nearest with assets.toml, walking up).",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None) -> None:
    """Asset-centric orchestration on DuckDB: inferred lineage, explained staleness,
    stale-only materialization.

    \b
    Quick start:
      assets init shop && cd shop
      assets materialize            build everything
      assets status                 what is stale, and why
      assets lineage orders_daily   upstream and downstream tree
    """
    ctx.obj = Context(project_dir)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI and map errors to messages and exit codes."""
    import gc

    from ..errors import AssetsError

    # A command builds many long-lived objects (specs, records) and little garbage: with
    # the default thresholds, full collections took ~20% of `status` at 10,000 assets.
    gc.set_threshold(100_000, 20, 100)
    # pydantic looks for plugins among every installed distribution's entry points when
    # it builds the first model (~35 ms of each command); this tool uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    try:
        code = cli.main(args=argv, prog_name="assets", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)  # a command's ctx.exit(N) (status --exit-code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except AssetsError as e:
        _error(e)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # noqa: BLE001 - last resort: no traceback for users
        if os.environ.get("ASSETS_DEBUG"):
            raise
        click.echo(f"internal error: {type(e).__name__}: {e}", err=True)
        click.echo("  hint: rerun with ASSETS_DEBUG=1 for a traceback, and report it", err=True)
        sys.exit(3)


def show_repairs(notes: list[str]) -> None:
    """What a command repaired after a crash, on stderr (also kept in the run's message)."""
    from rich.markup import escape

    from .render import err

    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}")


def _error(error: Exception) -> None:
    from rich.markup import escape

    from .render import err

    lines = str(error).splitlines()
    err.print(f"[bold red]error:[/] {escape(lines[0])}")
    for line in lines[1:]:
        err.print(f"[yellow]{escape(line)}[/]")


# Commands live in sibling modules; importing them registers them on ``cli``.
from . import commands_build, commands_catalog, commands_read  # noqa: E402,F401

from . import commands_automation  # noqa: E402,F401 # isort: skip
from . import commands_partitions  # noqa: E402,F401 # isort: skip
from . import commands_columns  # noqa: E402,F401 # isort: skip
from . import commands_runs  # noqa: E402,F401 # isort: skip
