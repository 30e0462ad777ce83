"""Generate the CLI reference (docs/cli.md) from the commands' own ``--help``.

``python -m assets_orch.cli.reference > docs/cli.md``; tests/test_docs.py fails when
the file and the commands disagree.
"""

from __future__ import annotations

from typing import Any

import click

from . import cli

HEADER = """# CLI reference

Generated from `assets --help` by `python -m assets_orch.cli.reference > docs/cli.md`;
`tests/test_docs.py` fails when this file and the commands disagree.

Exit codes: `0` success, `1` a run failed (or a blocking check, or the writer lock is
held), `2` a project or usage error (bad SQL, config, selection), `3` an internal error,
`130` interrupted.

Output that is not a terminal (a pipe, a file) is never cut or wrapped to a width:
names, run ids and reasons are printed whole, whatever `$COLUMNS` says.
"""


# Fixed, so the output does not depend on the terminal or on earlier invocations.
_SETTINGS: dict[str, Any] = {
    "terminal_width": 100,
    "max_content_width": 100,
    "help_option_names": ["-h", "--help"],
}


def _commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        found.append((prefix + [name], command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + [name])
    return found


def _help(path: list[str], command: click.Command, parent: click.Context) -> str:
    with click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100
    ) as ctx:
        return command.get_help(ctx)


def reference() -> str:
    """The whole reference as Markdown."""
    parts = [HEADER]
    root = click.Context(cli, info_name="assets", **_SETTINGS)
    parts.append("## assets\n\n```text\n" + cli.get_help(root) + "\n```\n")
    for path, command in _commands(cli, []):
        parent = root
        for name in path[:-1]:
            parent = click.Context(cli.commands[name], info_name=name, parent=parent, **_SETTINGS)
        parts.append(
            f"## assets {' '.join(path)}\n\n```text\n" + _help(path, command, parent) + "\n```\n"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
