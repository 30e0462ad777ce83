"""Real processes: reading while a run goes on, one writer, and crash recovery (SIGKILL)."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from conftest import Cli, hold_warehouse, run_assets, spawn_assets, wait_for
from helpers import write_project

pytestmark = pytest.mark.slow

SLOW_ASSET = """
import os
import time
from pathlib import Path

from assets_orch import asset

RELEASE = Path(__file__).parent.parent / "release"


@asset(description="Waits SLOW seconds (or until a 'release' file appears), then aggregates.")
def slow(big):
    deadline = time.monotonic() + float(os.environ.get("SLOW", "0"))
    while time.monotonic() < deadline and not RELEASE.exists():
        time.sleep(0.05)
    return big.aggregate("k, count(*) as n", "k")
"""


def project(root: Path, rows: int) -> Path:
    return write_project(
        root,
        {
            "models/big.sql": f"select range as id, range % 7 as k from range({rows})",
            "models/after.sql": "select sum(n) as total from slow",
            "models/other.sql": "select 42 as answer",
            "assets/slow.py": SLOW_ASSET,
        },
    )


def running_assets(root: Path) -> set[str]:
    path = root / ".assets/catalog.sqlite"
    if not path.exists():
        return set()
    con = sqlite3.connect(path)
    try:
        rows = con.execute("select asset from materializations where status = 'running'")
        return {r[0] for r in rows.fetchall()}
    except sqlite3.OperationalError:
        return set()
    finally:
        con.close()


def warehouse_state(root: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        names = sorted(
            r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()
        )
        return {n: sorted(con.execute(f'select * from "{n}"').fetchall()) for n in names}
    finally:
        con.close()


def test_readers_work_while_a_run_holds_the_warehouse(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 1000)
    proc = spawn_assets("materialize", cwd=root, env={"SLOW": "120"})
    try:
        wait_for(lambda: "slow" in running_assets(root))
        status = run_assets("status", "--json", cwd=root, timeout=30)
        assert status.returncode == 0, status.stderr
        rows = {s["name"]: s for s in json.loads(status.stdout)}
        assert rows["big"]["state"] == "fresh"
        assert rows["slow"]["state"] == "missing"
        for args in (
            ("list", "--json"),
            ("lineage", "after"),
            ("history", "big", "--json"),
            ("runs", "--json"),
        ):
            result = run_assets(*args, cwd=root, timeout=30)
            assert result.returncode == 0, (args, result.stderr)
        # A second writer is refused at once, naming the holder.
        started = time.monotonic()
        second = run_assets("materialize", cwd=root, timeout=30)
        assert time.monotonic() - started < 10
        assert second.returncode == 1
        assert f"pid {proc.pid}" in second.stderr and "run " in second.stderr
        assert proc.poll() is None
    finally:
        (root / "release").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_sigkill_mid_run_then_recover(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 1000)
    assert run_assets("materialize", cwd=root, env={"SLOW": "0"}).returncode == 0
    before = warehouse_state(root)
    # Change big: the next run rebuilds big, then slow, then after.
    (root / "models/big.sql").write_text("select range as id, range % 7 as k from range(2000)\n")
    proc = spawn_assets("materialize", "--stale", "--threads", "1", cwd=root, env={"SLOW": "30"})
    wait_for(lambda: "slow" in running_assets(root))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    after_kill = warehouse_state(root)
    assert set(after_kill) == {"big", "slow", "after", "other"}  # no staging tables
    assert len(after_kill["big"]) == 2000  # committed before the kill: complete
    assert after_kill["slow"] == before["slow"]  # killed mid-build: old version
    assert after_kill["after"] == before["after"]

    status = {s["name"]: s for s in Cli(root).json("status")}
    assert status["slow"]["stale"] and status["after"]["stale"]
    # A reader repaired the catalog: it agrees with the warehouse before any new run.
    assert "table changed outside assets_orch" not in str(status)
    assert status["big"]["state"] == "fresh"
    assert Cli(root).json("runs")[0]["status"] == "crashed"

    result = run_assets("materialize", "--stale", cwd=root, env={"SLOW": "0"})
    assert result.returncode == 0, result.stderr
    from assets_orch.catalog import Catalog

    statuses = [m.status for m in Catalog(root / ".assets/catalog.sqlite").history("slow")]
    assert statuses == ["success", "interrupted", "success"]
    clean = project(tmp_path / "clean", 2000)
    assert run_assets("materialize", cwd=clean, env={"SLOW": "0"}).returncode == 0
    assert warehouse_state(root) == warehouse_state(clean)
    assert all(not s["stale"] for s in Cli(root).json("status"))
    runs = Cli(root).json("runs")
    assert [r["status"] for r in runs] == ["success", "crashed", "success"]


def test_sigkill_during_a_big_sql_build(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 1000)
    assert run_assets("materialize", cwd=root).returncode == 0
    before = warehouse_state(root)
    (root / "models/big.sql").write_text(
        "select range as id, range % 7 as k from range(400000000) order by random()\n"
    )
    proc = spawn_assets("materialize", "big", cwd=root)
    wait_for(lambda: "big" in running_assets(root))
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert warehouse_state(root)["big"] == before["big"]


def lock_holder(root: Path) -> dict[str, object]:
    try:
        return json.loads((root / ".assets/writer.lock").read_text() or "{}")
    except (OSError, ValueError):
        return {}


def test_readers_read_the_warehouse_beside_another_reader(tmp_path: Path) -> None:
    """A reader lists the tables read-only: another reader holding the file does not
    make it fail (it reopened the file for writing, which DuckDB refuses)."""
    root = project(tmp_path / "p", 100)
    assert run_assets("materialize", cwd=root).returncode == 0
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("CREATE TABLE loaded_by_hand AS SELECT 1 AS x")  # the file changed
    con.close()
    with hold_warehouse(root / "warehouse.duckdb", read_only=True):
        for args in (("status", "--json"), ("list", "--json"), ("check",)):
            result = run_assets(*args, cwd=root)
            assert result.returncode == 0, (args, result.stderr)
            assert "in use by another process" not in result.stdout + result.stderr


def test_a_writer_waits_for_a_reader_that_holds_the_warehouse_briefly(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 100)
    assert run_assets("materialize", cwd=root).returncode == 0
    with hold_warehouse(root / "warehouse.duckdb", read_only=True) as reader:
        proc = spawn_assets("materialize", "other", cwd=root)
        # The writer holds the writer lock and is about to open the warehouse.
        wait_for(lambda: lock_holder(root).get("pid") == proc.pid)
        time.sleep(1.0)
        assert reader.stdin is not None
        reader.stdin.close()  # the reader is done
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


LOCK_HOLDER = (
    "import sys; from pathlib import Path; from assets_orch.lock import WriterLock; "
    "lock = WriterLock(Path(sys.argv[1]), run_id=sys.argv[2]); lock.acquire(); "
    "print('held', flush=True); sys.stdin.read(); lock.release()"
)


@contextlib.contextmanager
def hold_lock(root: Path, run_id: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the writer lock as ``run_id``; close its stdin to end it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(root / ".assets/writer.lock"), run_id],
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


def test_a_writer_waits_for_a_reader_repairing_the_catalog(tmp_path: Path) -> None:
    """A reader that repairs the catalog after a crash holds the writer lock for a
    moment (run 'reconcile'): a writer waits for it instead of giving up."""
    root = project(tmp_path / "p", 100)
    with hold_lock(root, "reconcile") as repair:
        proc = spawn_assets("materialize", cwd=root)
        time.sleep(2.0)  # the writer reaches the lock meanwhile and waits
        assert proc.poll() is None
        assert repair.stdin is not None
        repair.stdin.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # A live writer holding the lock is still refused at once.
    with hold_lock(root, "run-1") as writer:
        second = run_assets("materialize", cwd=root)
        assert second.returncode == 1
        assert f"pid {writer.pid}, run run-1" in second.stderr


def test_a_second_writer_is_refused_before_the_engine_is_imported(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 100)
    script = (
        "import atexit, sys; "
        "atexit.register(lambda: print(sorted(m for m in ('duckdb', 'sqlglot', 'pydantic') "
        "if m in sys.modules))); "
        "from assets_orch.cli import main; main(['materialize'])"
    )
    with hold_lock(root, "run-1") as writer:
        refused = subprocess.run(
            [sys.executable, "-c", script], cwd=root, capture_output=True, text=True
        )
    assert refused.returncode == 1
    assert f"another process is materializing this project: pid {writer.pid}" in refused.stderr
    assert refused.stdout.strip() == "[]"  # refused before the heavy imports
    # A lock file left by a dead process is not a holder: the run goes on.
    (root / ".assets/writer.lock").write_text('{"pid": 999999999, "run_id": "gone"}')
    assert run_assets("materialize", cwd=root).returncode == 0


def crashed_mid_run(root: Path) -> None:
    """A run of ``project`` killed (SIGKILL) while ``slow`` builds, after ``big`` committed."""
    assert run_assets("materialize", cwd=root, env={"SLOW": "0"}).returncode == 0
    (root / "models/big.sql").write_text("select range as id, range % 7 as k from range(2000)\n")
    proc = spawn_assets("materialize", "--stale", "--threads", "1", cwd=root, env={"SLOW": "60"})
    wait_for(lambda: "slow" in running_assets(root))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_runs_shows_a_dead_run_as_crashed_with_what_the_repair_found(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 1000)
    crashed_mid_run(root)
    # `runs` is the first command after the crash: it repairs the catalog first, and
    # says so on stderr.
    first = run_assets("runs", "--json", cwd=root)
    assert "note: slow: build of run" in first.stderr and "was interrupted" in first.stderr
    [last, _] = json.loads(first.stdout)
    assert last["status"] == "crashed"
    assert last["counts"] == {"interrupted": 1, "success": 1}
    lines = last["message"].splitlines()
    assert lines[0].startswith("the process (pid ") and lines[0].endswith("died during the run")
    assert any(line.startswith("took over a lock left by a process that is gone") for line in lines)
    assert "slow: build of run " + last["run_id"] + " was interrupted" in last["message"]
    shown = Cli(root)("runs", "show", last["run_id"]).output
    assert "crashed" in shown and "slow: build of run" in shown and "died during the run" in shown
    # The notes stay with the run: the next writer has nothing left to repair.
    again = run_assets("materialize", "--stale", cwd=root, env={"SLOW": "0"})
    assert again.returncode == 0 and "note:" not in again.stderr, again.stderr
    assert Cli(root).json("runs", "show", last["run_id"])["message"] == last["message"]


def test_runs_shows_a_dead_run_as_crashed_before_it_can_be_repaired(tmp_path: Path) -> None:
    root = project(tmp_path / "p", 1000)
    crashed_mid_run(root)
    with hold_warehouse(root / "warehouse.duckdb", write=True):  # a notebook: no repair
        [last, _] = Cli(root).json("runs")
        assert last["status"] == "crashed"
        assert "not repaired yet" in last["message"]
        assert running_assets(root) == {"slow"}  # still unrepaired in the catalog
    status = {s["name"]: s for s in Cli(root).json("status")}  # repairs now
    assert status["big"]["state"] == "fresh"
    assert running_assets(root) == set()
    [last, _] = Cli(root).json("runs")
    assert last["status"] == "crashed" and "slow: build of run" in last["message"]
