"""Permissions and odd files under ``.assets/``: clear messages (exit 2), readers that
work read-only, and never the advice to delete the history for a permission problem.

Permissions are tested as a user who does not own the project: as ``nobody`` when the
suite runs as root (root ignores file modes), else as the current user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Cli, run_assets
from helpers import write_project

NOBODY = 65534
FILES = {
    "models/base.sql": "select * from read_csv('data/v.csv')",
    "models/top.sql": "select sum(v) as total from base",
    "data/v.csv": "v\n1\n2\n",
}
READERS = [("status", "--json"), ("list", "--json"), ("history", "top"), ("runs", "--json")]


@pytest.fixture
def built() -> Iterator[Path]:
    """A built project in a folder another user can enter (not under root's tmp_path)."""
    folder = Path(tempfile.mkdtemp(prefix="assets-state-"))
    folder.chmod(0o755)
    try:
        root = write_project(folder / "p", FILES)
        Cli(root)("materialize")
        (root / "data/v.csv").write_text("v\n1\n2\n3\n")  # stale: a run has work to do
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(folder)], check=True)
        yield root
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def as_owner_without(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `assets` command as a user the file modes apply to (``nobody``, through
    setpriv, when the suite runs as root)."""
    exe = shutil.which("assets")
    command = [exe, *args] if exe else [sys.executable, "-m", "assets_orch", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to run as another user than root")
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "HOME": str(cwd)},
        stdin=subprocess.DEVNULL,
    )


def assert_clear(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    # A permission problem loses nothing: never advise deleting the history.
    assert "history is lost" not in result.stderr and "delete" not in result.stderr


@pytest.mark.parametrize(
    "make_read_only",
    [".assets/catalog.sqlite", ".assets"],
    ids=["catalog-file", "assets-folder"],
)
def test_a_catalog_that_cannot_be_written_is_read(built: Path, make_read_only: str) -> None:
    (built / make_read_only).chmod(0o555)
    for args in READERS:
        result = as_owner_without(*args, cwd=built)
        assert result.returncode == 0, (args, result.stderr)
    status = {
        s["name"]: s for s in json.loads(as_owner_without("status", "--json", cwd=built).stdout)
    }
    assert status["base"]["reasons"] == ["source changed: data/v.csv"]
    site = built.parent / "site"
    site.mkdir()
    site.chmod(0o777)
    exported = as_owner_without("catalog", "export", str(site), cwd=built)
    assert exported.returncode == 0, exported.stderr
    refused = as_owner_without("materialize", cwd=built)
    assert_clear(refused, "cannot write the catalog: permission denied", "write access")
    runs = json.loads(as_owner_without("runs", "--json", cwd=built).stdout)
    assert [r["status"] for r in runs] == ["success"]  # nothing was started


def test_a_writer_lock_that_cannot_be_opened(built: Path) -> None:
    (built / ".assets/writer.lock").chmod(0o444)
    for args in READERS:
        assert as_owner_without(*args, cwd=built).returncode == 0, args
    refused = as_owner_without("materialize", cwd=built)
    assert_clear(refused, "cannot open the writer lock writer.lock: permission denied")


@pytest.mark.parametrize("kind", ["read-only", "a-file"])
def test_a_logs_folder_that_cannot_be_written_does_not_stop_a_run(built: Path, kind: str) -> None:
    logs = built / ".assets/logs"
    if kind == "read-only":
        logs.chmod(0o555)
    else:
        shutil.rmtree(logs)
        logs.write_text("not a folder")
        if os.geteuid() == 0:
            os.chown(logs, NOBODY, NOBODY)
    result = as_owner_without("materialize", cwd=built)
    assert result.returncode == 0, result.stderr
    assert "note: no run log: cannot" in result.stderr
    assert "2 success" in result.stdout


def test_assets_state_a_file_in_place_of_the_folder(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILES)
    (root / ".assets").write_text("not a folder")
    for args in [*READERS, ("materialize",)]:
        result = run_assets(*args, cwd=root)
        assert_clear(result, ".assets is a file, not a folder", "move the file away")
    assert (root / ".assets").read_text() == "not a folder"


def test_a_folder_in_place_of_the_writer_lock(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILES)
    Cli(root)("materialize")
    lock = root / ".assets/writer.lock"
    lock.unlink()
    lock.mkdir()
    for args in READERS:
        assert run_assets(*args, cwd=root).returncode == 0, args
    result = run_assets("materialize", cwd=root)
    assert_clear(result, "writer.lock is a folder, not the writer lock file", "rmdir")


@pytest.mark.parametrize(
    "contents", ['{"pid": "abc"}', "[1, 2]", '{"pid": 99999999999999999999}', "garbage"]
)
def test_a_lock_file_with_odd_contents_is_taken_over(tmp_path: Path, contents: str) -> None:
    root = write_project(tmp_path / "p", FILES)
    Cli(root)("materialize")
    (root / ".assets/writer.lock").write_text(contents)
    result = run_assets("materialize", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("read_only", ["warehouse-file", "project-folder"])
def test_a_warehouse_that_cannot_be_written(built: Path, read_only: str) -> None:
    (built / "warehouse.duckdb" if read_only == "warehouse-file" else built).chmod(0o555)
    for args in READERS:
        assert as_owner_without(*args, cwd=built).returncode == 0, args
    refused = as_owner_without("materialize", cwd=built)
    assert_clear(refused, "permission denied", "give this user")
    assert "backup" not in refused.stderr and "move it away" not in refused.stderr
    assert "failed" not in refused.stdout  # refused before any build
