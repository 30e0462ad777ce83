"""The execution engine: threads, retries, timeouts, write-audit-publish, cancel, cutoff."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import duckdb
import pytest
from conftest import Cli, run_assets, spawn_assets, wait_for
from helpers import write_project

from assets_orch.catalog import Catalog

SLEEPER = """
import time

from assets_orch import asset


@asset
def {name}({params}):
    time.sleep({seconds})
    return {ret}
"""


def sleeper(name: str, seconds: float, up: str | None = None) -> str:
    import duckdb as _  # noqa: F401 - make sure the test env has it

    ret = f"{up}" if up else "__import__('pyarrow').table({'x': [1]})"
    return SLEEPER.format(name=name, params=up or "", seconds=seconds, ret=ret)


def table(root: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def intervals(root: Path, names: set[str]) -> dict[str, tuple[float, float]]:
    catalog = Catalog(root / ".assets/catalog.sqlite")
    out = {}
    for name in names:
        [rec] = catalog.history(name, 1)
        assert rec.ended_at is not None
        out[name] = (rec.started_at, rec.ended_at)
    return out


def test_threads_run_independent_branches_at_once(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "assets/left.py": sleeper("left", 0.8),
            "assets/right.py": sleeper("right", 0.8),
        },
    )
    cli = Cli(root)
    cli("materialize", "--threads", "1")
    one = intervals(root, {"left", "right"})
    (a0, a1), (b0, b1) = sorted(one.values())
    assert b0 >= a1  # one at a time: no overlap
    cli("materialize", "--threads", "2")
    two = intervals(root, {"left", "right"})
    (a0, a1), (b0, b1) = sorted(two.values())
    assert b0 < a1  # both at once: the intervals overlap


def test_lineage_order_is_respected_with_threads(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "assets/first.py": sleeper("first", 0.3),
            "models/second.sql": "select * from first",
            "models/third.sql": "select * from second",
        },
    )
    Cli(root)("materialize", "--threads", "4")
    t = intervals(root, {"first", "second", "third"})
    assert t["first"][1] <= t["second"][0] and t["second"][1] <= t["third"][0]


FLAKY = """
from pathlib import Path

from assets_orch import asset

COUNTER = Path(__file__).parent.parent / "attempts.txt"


@asset(retries=2, retry_delay=0.05)
def flaky(base):
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    if n < 2:
        raise ConnectionError(f"transient failure {n + 1}")
    return base
"""


def test_flaky_asset_succeeds_on_third_attempt(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", {"models/base.sql": "select 1 as x", "assets/flaky.py": FLAKY}
    )
    result = Cli(root).json("materialize")
    flaky = next(a for a in result["assets"] if a["name"] == "flaky")
    assert flaky["status"] == "success" and flaky["attempts"] == 3
    history = Catalog(root / ".assets/catalog.sqlite").history("flaky")
    assert [(h.attempt, h.status) for h in reversed(history)] == [
        (1, "failed"),
        (2, "failed"),
        (3, "success"),
    ]
    assert history[-1].error == "ConnectionError: transient failure 1"


def test_sql_timeout_interrupts_and_skips_downstream(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/slow.sql": "-- timeout: 1s\nselect count(*) as n from range(100000000000) a",
            "models/after_slow.sql": "select * from slow",
            "models/fine.sql": "select 1 as x",
        },
        config='name = "t"\n[defaults]\nretries = 3\n',
    )
    result = json.loads(Cli(root)("materialize", "--json", expect=1).stdout)
    status = {a["name"]: a for a in result["assets"]}
    assert status["slow"]["status"] == "timed_out"
    assert status["slow"]["attempts"] == 1  # timeouts are not retried
    assert status["slow"]["duration"] < 30
    assert status["after_slow"]["status"] == "skipped"
    assert status["after_slow"]["skipped_because"] == "upstream slow timed out"
    assert status["fine"]["status"] == "success"
    reasons = {s["name"]: s["reasons"] for s in Cli(root).json("status")}
    assert "last run failed: timed out" in reasons["slow"]


def test_python_timeout_is_abandoned(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "assets/stuck.py": "import time\nfrom assets_orch import asset\n\n\n"
            "@asset(timeout=0.5)\ndef stuck():\n    time.sleep(60)\n",
            "models/fine.sql": "select 1 as x",
        },
    )
    result = run_assets("materialize", "--json", cwd=root, timeout=40)
    assert result.returncode == 1
    status = {a["name"]: a["status"] for a in json.loads(result.stdout)["assets"]}
    assert status == {"stuck": "timed_out", "fine": "success"}
    # One row for the abandoned attempt, on the attempt's own id: nothing left
    # 'running' for the next writer to call interrupted.
    [row] = Catalog(root / ".assets/catalog.sqlite").history("stuck")
    assert (row.status, row.error) == ("timed_out", "timed out after 0s (abandoned)")
    assert run_assets("materialize", "fine", cwd=root).stderr == ""
    [row] = Catalog(root / ".assets/catalog.sqlite").history("stuck")
    assert row.status == "timed_out"


def checked_project(root: Path, predicate: str, severity: str = "error") -> Path:
    return write_project(
        root,
        {
            "models/base.sql": "select * from read_csv('data/v.csv')",
            "models/guarded.sql": f'-- checks:\n--   - {{expression: "{predicate}", '
            f"severity: {severity}}}\n--   - not_null: v\n"
            "select v from base",
            "models/report.sql": "select sum(v) as total from guarded",
            "data/v.csv": "v\n1\n2\n",
        },
    )


def test_blocking_check_publishes_nothing(tmp_path: Path) -> None:
    root = checked_project(tmp_path / "p", "v > 0")
    cli = Cli(root)
    cli("materialize")
    (root / "data/v.csv").write_text("v\n1\n-5\n")
    result = json.loads(cli("materialize", "--json", expect=1).stdout)
    status = {a["name"]: a for a in result["assets"]}
    assert status["guarded"]["status"] == "failed"
    assert "expression(v > 0) failed: 1 failing row(s)" in status["guarded"]["error"]
    assert status["report"]["status"] == "skipped"
    assert table(root, "select v from guarded order by v") == [(1,), (2,)]  # old content
    assert table(root, "select total from report") == [(3,)]
    checks = Catalog(root / ".assets/catalog.sqlite").latest_checks("guarded")
    failed = next(c for c in checks if c["check"] == "expression(v > 0)")
    assert failed["status"] == "failed" and failed["failing_rows"] == 1
    assert failed["sample"] == [{"v": -5}]
    # The progress line calls a failed blocking check a failure, not a warning.
    line = next(x for x in cli("materialize", expect=1).output.splitlines() if "guarded" in x)
    assert "1 check(s) failed" in line and "warning" not in line


def test_warn_check_lets_the_run_continue(tmp_path: Path) -> None:
    root = checked_project(tmp_path / "p", "v > 1", severity="warn")
    cli = Cli(root)
    line = next(x for x in cli("materialize").output.splitlines() if "guarded" in x)
    assert "success" in line and line.endswith("1 check warning(s)")
    result = cli.json("materialize")
    status = {a["name"]: a for a in result["assets"]}
    assert status["guarded"]["status"] == "success" and status["report"]["status"] == "success"
    [warn] = [c for c in status["guarded"]["checks"] if c["status"] != "passed"]
    assert warn == {
        "check": "expression(v > 1)",
        "status": "failed",
        "failing_rows": 1,
        "severity": "warn",
    }
    line = next(x for x in Cli(root)("materialize").output.splitlines() if "guarded" in x)
    assert "1 check warning(s)" in line and "failed" not in line


def test_check_command_runs_against_current_tables(tmp_path: Path) -> None:
    root = checked_project(tmp_path / "p", "v > 0")
    cli = Cli(root)
    cli("materialize")
    rows = cli.json("check", "guarded")
    assert {(r["check"], r["status"]) for r in rows} == {
        ("expression(v > 0)", "passed"),
        ("not_null(v)", "passed"),
    }


def test_early_cutoff_identical_rebuild_keeps_downstream_fresh(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/base.sql": "select range as id from range(5)",
            "models/down.sql": "select count(*) as n from base",
        },
    )
    cli = Cli(root)
    cli("materialize")
    # Different SQL, same rows.
    (root / "models/base.sql").write_text("select id from (select range as id from range(5))")
    result = cli.json("materialize", "--stale")
    status = {a["name"]: a["status"] for a in result["assets"]}
    assert status == {"base": "success", "down": "unchanged"}
    assert all(not s["stale"] for s in cli.json("status"))
    [down] = Catalog(root / ".assets/catalog.sqlite").history("down")
    assert down.status == "success"  # built once, never rebuilt


def test_fail_fast_starts_nothing_new(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/a_bad.sql": "select 'x'::int as v",
            "models/b_ok.sql": "select 1 as v",
            "models/c_ok.sql": "select 2 as v",
        },
    )
    result = json.loads(
        Cli(root)("materialize", "--fail-fast", "--threads", "1", "--json", expect=1).stdout
    )
    status = {a["name"]: a["status"] for a in result["assets"]}
    assert status == {"a_bad": "failed", "b_ok": "not_started", "c_ok": "not_started"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_cancels_cleanly_and_exits_130(tmp_path: Path, signum: int) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/base.sql": "select 1 as x",
            "models/long.sql": "select count(*) as n from range(100000000000) a, base",
            "models/after_long.sql": "select * from long",
        },
    )
    proc = spawn_assets("materialize", cwd=root)

    def long_running() -> bool:
        try:
            con = sqlite3.connect(root / ".assets/catalog.sqlite")
            rows = con.execute(
                "select 1 from materializations where asset = 'long' and status = 'running'"
            ).fetchall()
            con.close()
            return bool(rows)
        except sqlite3.Error:
            return False

    wait_for(long_running)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err  # interrupted, as docs/cli.md says
    assert "was cancelled; finished work is kept" in err and "Traceback" not in err
    names = {r[0] for r in table(root, "select table_name from duckdb_tables()")}
    assert names == {"base"}  # no staging or half-written tables
    catalog = Catalog(root / ".assets/catalog.sqlite")
    assert catalog.runs(1)[0].status == "cancelled"
    assert catalog.history("long")[0].status == "cancelled"
    (root / "models/long.sql").write_text("select count(*) as n from range(10) a, base")
    assert run_assets("materialize", "--stale", cwd=root).returncode == 0
    assert table(root, "select * from after_long") == [(10,)]


def test_run_log_file(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})
    result = Cli(root).json("materialize")
    log = (root / ".assets/logs" / f"{result['run_id']}.log").read_text()
    assert "a: started" in log and "a: success" in log


@pytest.mark.parametrize("threads", ["1", "2"])
def test_many_assets_all_built(tmp_path: Path, threads: str) -> None:
    files = {"models/n0.sql": "select 1 as v"}
    for i in range(1, 30):
        files[f"models/n{i}.sql"] = f"select v + 1 as v from n{(i - 1) // 2}"
    root = write_project(tmp_path / "p", files)
    result = Cli(root).json("materialize", "--threads", threads)
    assert result["counts"] == {"success": 30}
    assert table(root, "select v from n29") == [(5,)]


def test_failures_that_would_repeat_are_not_retried(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/typo.sql": "select no_such_column from range(3)",
            "models/guarded.sql": (
                "-- checks:\n--   - expression: n < 0\nselect range as n from range(3)"
            ),
            "models/missing_file.sql": "select * from read_csv('data/not_yet.csv')",
        },
        config='name = "t"\n[defaults]\nretries = 2\nretry_delay = 0.01\n',
    )
    result = json.loads(Cli(root)("materialize", "--json", expect=1).stdout)
    attempts = {a["name"]: a["attempts"] for a in result["assets"]}
    # A binder error and a failed check repeat on the same inputs; a missing file may
    # appear (an upload in progress): it is retried.
    assert attempts == {"typo": 1, "guarded": 1, "missing_file": 3}


def running_rows(root: Path, asset: str = "%") -> list[tuple[str, str]]:
    if not (root / ".assets/catalog.sqlite").exists():
        return []
    con = sqlite3.connect(root / ".assets/catalog.sqlite")
    try:
        return con.execute(
            "select asset, run_id from materializations where status = 'running' and asset like ?",
            (asset,),
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def sleepy_project(root: Path) -> Path:
    return write_project(
        root,
        {
            "models/base.sql": "select 1 as x",
            "assets/sleepy.py": sleeper("sleepy", 120, "base"),
            "models/after_sleepy.sql": "select * from sleepy",
        },
    )


def test_a_cancelled_python_asset_that_does_not_return_is_recorded_cancelled_once(
    tmp_path: Path,
) -> None:
    root = sleepy_project(tmp_path / "p")
    proc = spawn_assets("materialize", "--json", cwd=root)
    wait_for(lambda: running_rows(root, "sleepy"))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)  # waits for it to wind down, then gives up
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["status"] == "cancelled"
    assert {a["name"]: a["status"] for a in result["assets"]} == {
        "base": "success",
        "sleepy": "cancelled",
        "after_sleepy": "not_started",
    }
    assert running_rows(root) == []
    catalog = Catalog(root / ".assets/catalog.sqlite")
    [run] = catalog.runs()
    assert (run.status, run.counts) == (
        "cancelled",
        {"success": 1, "cancelled": 1, "not_started": 1},
    )
    [attempt] = catalog.history("sleepy")  # one row: the attempt, cancelled
    assert attempt.status == "cancelled" and "abandoned" in (attempt.error or "")
    status = {s["name"]: s for s in Cli(root).json("status")}
    assert status["sleepy"]["state"] == "missing"
    assert not any("failed" in r for r in status["sleepy"]["reasons"])
    # The next writer has nothing to reconcile: no 'interrupted' relabelling.
    (root / "assets/sleepy.py").write_text(sleeper("sleepy", 0, "base"))
    again = run_assets("materialize", "--stale", cwd=root)
    assert again.returncode == 0 and "interrupted" not in again.stderr, again.stderr
    assert [m.status for m in catalog.history("sleepy")] == ["success", "cancelled"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_second_signal_stops_waiting_and_still_records_the_run_cancelled(
    tmp_path: Path, signum: int
) -> None:
    root = sleepy_project(tmp_path / "p")
    proc = spawn_assets("materialize", cwd=root, env={"ASSETS_DEBUG": "1"})
    wait_for(lambda: running_rows(root, "sleepy"))
    proc.send_signal(signum)
    time.sleep(0.5)
    if proc.poll() is None:
        proc.send_signal(signum)  # while the first one waits for sleepy to wind down
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "internal error" not in err
    assert "was cancelled; finished work is kept" in err
    assert "1 cancelled" in out  # the summary is printed
    assert running_rows(root) == []
    [run] = Catalog(root / ".assets/catalog.sqlite").runs()
    assert run.status == "cancelled" and run.counts.get("cancelled") == 1
    # Nothing was left 'running': a reader has nothing to repair, the run stays cancelled.
    assert Cli(root).json("runs")[0]["status"] == "cancelled"
