"""A disk that fills up during a run: a clear error, what committed is kept and recorded,
the catalog and the warehouse agree once there is space again.

Runs on a small tmpfs, so it needs root (it is skipped otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_assets
from helpers import warehouse_objects, write_project

from assets_orch.warehouse import parse_comment

pytestmark = pytest.mark.slow

FILES = {f"models/m{i}.sql": f"select range as i, {i} as k from range(20000)" for i in range(12)}
FILES["models/top.sql"] = "select sum(i) as s from m1"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    folder = Path(tempfile.mkdtemp(prefix="assets-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def fill(disk: Path, keep_kib: int) -> Path:
    """Leave about ``keep_kib`` KiB free on ``disk``."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize // 1024
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - keep_kib) * 1024)
    return filler


def committed_ids(root: Path) -> dict[str, str | None]:
    return {
        name: parse_comment(comment)
        for (_, name), comment in warehouse_objects(root).items()
        if name.startswith(("m", "top"))
    }


@pytest.mark.parametrize("keep_kib", [600, 300, 150, 60])
def test_a_full_disk_during_a_run(small_disk: Path, keep_kib: int) -> None:
    root = write_project(small_disk / "p", FILES, 'name = "full"\n[defaults]\nretries = 1\n')
    assert run_assets("materialize", cwd=root).returncode == 0
    before = committed_ids(root)
    filler = fill(small_disk, keep_kib)
    result = run_assets("materialize", "--threads", "1", "--json", cwd=root)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "the disk is full" in result.stderr and "free disk space" in result.stderr
    run = json.loads(result.stdout)
    outcomes = {a["name"]: a for a in run["assets"]}
    for outcome in outcomes.values():
        error = outcome["error"] or ""
        assert "internal error" not in error
        if outcome["status"] == "failed":  # the real cause: DuckDB's, or the catalog's
            assert "No space left on device" in error or "the disk is full" in error, error
    # What committed is reported as built: its table holds a new materialization.
    after = committed_ids(root)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {n for n, o in outcomes.items() if o["status"] == "success"}
    filler.unlink()
    # With space again, the next command records the run and what it committed.
    [last, *_] = json.loads(run_assets("runs", "--json", cwd=root).stdout)
    assert last["run_id"] == run["run_id"] and last["status"] in ("crashed", "failed")
    status = json.loads(run_assets("status", "--json", cwd=root).stdout)
    assert not any("table changed outside" in r for s in status for r in s["reasons"])
    fresh = {s["name"] for s in status if s["state"] == "fresh"}
    assert changed <= fresh
    again = run_assets("materialize", "--stale", cwd=root)
    assert again.returncode == 0, again.stderr
    assert all(
        s["state"] == "fresh" for s in json.loads(run_assets("status", "--json", cwd=root).stdout)
    )
