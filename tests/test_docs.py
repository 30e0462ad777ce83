"""The docs stay true: every command and option is in the CLI reference, links resolve.

The reference is generated from `--help` (python -m assets_orch.cli.reference >
docs/cli.md). The test compares structure, not click's exact formatting, so a click
release that re-wraps help text does not fail it; UPDATE_DOCS=1 regenerates the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from assets_orch.cli import cli
from assets_orch.cli.reference import _commands, reference

DOCS = Path(__file__).parent.parent / "docs"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (assets(?: [\w-]+)*)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_cli_reference_is_current() -> None:
    path = DOCS / "cli.md"
    if os.environ.get("UPDATE_DOCS"):
        path.write_text(reference())
    documented = _sections(path.read_text())
    live = {("assets " + " ".join(p)): c for p, c in _commands(cli, [])}
    hint = "run: python -m assets_orch.cli.reference > docs/cli.md"
    assert set(documented) - {"assets"} == set(live), hint
    for name, command in live.items():
        section = documented[name]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for flag in param.opts:
                    assert flag in section, f"{name}: option {flag} undocumented; {hint}"
            elif isinstance(param, click.Argument):
                assert param.human_readable_name.upper() in section, f"{name}: {hint}"
        first_line = (command.help or "").strip().splitlines()[0]
        assert " ".join(first_line.split()[:4]) in " ".join(section.split()), (
            f"{name}: help text changed; {hint}"
        )


def test_every_command_has_help_text() -> None:
    for path, command in _commands(cli, []):
        assert command.help, f"assets {' '.join(path)} has no help text"


def test_docs_link_to_existing_files() -> None:
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
