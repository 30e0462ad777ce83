"""The docs stay true: the CLI reference matches --help, every command is documented."""

from __future__ import annotations

import os
from pathlib import Path

from assets_orch.cli import cli
from assets_orch.cli.reference import reference

DOCS = Path(__file__).parent.parent / "docs"


def test_cli_reference_is_current() -> None:
    expected = reference()
    path = DOCS / "cli.md"
    if os.environ.get("UPDATE_DOCS"):
        path.write_text(expected)
    assert path.read_text() == expected, (
        "docs/cli.md is out of date: run python -m assets_orch.cli.reference > docs/cli.md"
    )


def test_every_command_has_help_text() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"assets {name} has no help text"


def test_docs_link_to_existing_files() -> None:
    import re

    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
