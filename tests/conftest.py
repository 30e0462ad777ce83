"""Shared fixtures: real projects copied into tmp_path, the real CLI in-process and as
a subprocess. Nothing is mocked: DuckDB files, SQLite catalogs and Graphviz are real."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from assets_orch.cli import cli
from assets_orch.template import template_dir

# Property tests check results, not speed: no per-example deadline on a shared, busy
# machine (CI runs two workers on two cores).
settings.register_profile("assets", deadline=None)
settings.load_profile("assets")

TESTS = Path(__file__).parent
PROJECTS = TESTS / "projects"


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns(".assets", "*.duckdb", "*.wal", "__pycache__")
    )
    return dest


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A fresh copy of the example project (project_template/)."""
    return copy_project(template_dir(), tmp_path / "shop")


@pytest.fixture
def fixture_project(tmp_path: Path) -> Callable[[str], Path]:
    """Copy tests/projects/NAME into tmp_path and return its path."""

    def make(name: str) -> Path:
        return copy_project(PROJECTS / name, tmp_path / name)

    return make


class Cli:
    """The real `assets` command, in-process through click's CliRunner."""

    def __init__(self, project: Path | None = None) -> None:
        self.project = project

    def __call__(self, *args: str, expect: int | None = 0) -> Result:
        from assets_orch.cli import main  # noqa: F401 - same entry logic as the console script

        runner = CliRunner()
        full = (["--project", str(self.project)] if self.project else []) + list(args)
        result = runner.invoke(_entry, full, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"assets {' '.join(args)} -> {result.exit_code}\n{result.output}"
            )
        return result

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        return json.loads(result.stdout)


def _entry_main(args: list[str]) -> None:
    from assets_orch.cli import main

    main(args)


import click  # noqa: E402


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    }
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    """Route through assets_orch.cli.main so error mapping and exit codes are the real ones."""
    _entry_main(list(args))


@pytest.fixture
def assets_cli(shop: Path) -> Cli:
    """CLI bound to the example project copy."""
    return Cli(shop)


def _command(args: tuple[str, ...]) -> list[str]:
    exe = shutil.which("assets")
    return [exe, *args] if exe else [sys.executable, "-m", "assets_orch", *args]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(extra or {})}


def run_assets(
    *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real console command `assets` in a subprocess and wait for it."""
    return subprocess.run(
        _command(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
        stdin=subprocess.DEVNULL,
    )


def spawn_assets(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the real `assets` command in the background."""
    return subprocess.Popen(
        _command(args),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def hold_warehouse(
    path: Path, *, write: bool = False, read_only: bool = False
) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the DuckDB file for writing (as a run does), or with
    ``read_only`` as a reader does; yields it (``.pid``; closing ``.stdin`` ends it).

    With ``write``, it also writes (a table in a schema of its own), as a run does, so the
    file is no longer the one whose tables the catalog remembers."""
    statement = "con.execute('CREATE SCHEMA held; CREATE TABLE held.t AS SELECT 1 AS x'); "
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only={read_only}); "
            + (statement if write else "")
            + "print('held', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        assert holder.stdin is not None
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=30)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


__all__ = [
    "Cli",
    "cli",
    "copy_project",
    "hold_warehouse",
    "run_assets",
    "spawn_assets",
    "wait_for",
]
