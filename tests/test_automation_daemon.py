"""The daemon as a process: the HTTP trigger and its token, SIGTERM mid-run, a long run."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import Cli, run_assets, spawn_assets, wait_for
from helpers import write_project

from assets_orch.automation.daemon import Daemon
from assets_orch.automation.store import AutomationStore
from assets_orch.catalog import Catalog
from assets_orch.errors import AutomationError

TOKEN = "s3cret-token-for-tests"


def post(url: str, body: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def runs_of(root: Path) -> list[Any]:
    return Catalog(root / ".assets/catalog.sqlite").runs()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"},
    )


@pytest.fixture
def daemon(project: Path) -> Iterator[Daemon]:
    runner = Daemon(project, env={"ASSETS_TRIGGER_TOKEN": TOKEN})
    runner.serve_http("127.0.0.1", 0)
    yield runner
    runner.close()


def test_without_or_with_a_wrong_token_it_is_refused_and_nothing_runs(
    project: Path, daemon: Daemon
) -> None:
    assert daemon.server is not None
    url = daemon.server.url
    assert url.startswith("http://127.0.0.1:")
    for token in (None, "", "wrong", TOKEN + "x", TOKEN[:-1]):
        status, body = post(url, {"selection": ["a"]}, token)
        assert status == 401, token
        assert "token" in body["error"]
    report = daemon.tick()
    assert report.runs == [] and runs_of(project) == []
    assert not [d for d in report.decisions if d.kind == "http"]


def test_with_the_right_token_a_run_starts(project: Path, daemon: Daemon) -> None:
    assert daemon.server is not None
    status, body = post(daemon.server.url, {"selection": ["b"], "stale": False}, TOKEN)
    assert status == 202 and body["queued"] is True
    report = daemon.tick()
    [run] = report.runs
    assert set(run.outcomes) == {"b"} or set(run.outcomes) == {"a", "b"}
    [record] = runs_of(project)
    assert record.trigger == "http" and record.run_id == run.run_id


def test_bad_requests_are_refused_before_anything_is_queued(daemon: Daemon) -> None:
    daemon.tick()  # the daemon knows the graph: selections are checked at once
    assert daemon.server is not None
    url = daemon.server.url
    assert post(url, {"selection": ["nope"]}, TOKEN)[0] == 400
    assert post(url, {"selection": "a", "stale": "yes"}, TOKEN)[0] == 400
    assert post(url, {"select": ["a"]}, TOKEN)[0] == 400
    assert post(url.replace("/trigger", "/other"), {}, TOKEN)[0] == 404
    assert daemon.server.requests.empty()


def test_a_request_wakes_the_loop(project: Path, daemon: Daemon) -> None:
    thread = threading.Thread(target=daemon.run, kwargs={"interval": 3600}, daemon=True)
    thread.start()
    try:
        assert daemon.server is not None
        wait_for(lambda: daemon.store.ticks(1), timeout=30)  # first tick done: now idle
        assert post(daemon.server.url, {}, TOKEN)[0] == 202
        wait_for(lambda: [r for r in runs_of(project) if r.status == "success"], timeout=30)
    finally:
        daemon.cancel.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_the_trigger_refuses_to_start_without_a_token(project: Path) -> None:
    runner = Daemon(project, env={})
    try:
        with pytest.raises(AutomationError, match="ASSETS_TRIGGER_TOKEN is not set"):
            runner.serve_http("127.0.0.1", 0)
    finally:
        runner.close()


SLOW = "select sum(a.range * b.range) as total from range(200000) a cross join range(200000) b"


def kill_if_alive(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def read_lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.mark.slow
def test_sigterm_mid_run_exits_cleanly_with_nothing_half_written(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/quick.sql": "select 1 as x", "models/slow.sql": SLOW},
        'name = "t"\n\n[defaults]\nthreads = 1\n',
    )
    proc = spawn_assets(
        "daemon",
        "--http",
        "127.0.0.1:0",
        "--interval",
        "1h",
        cwd=root,
        env={"ASSETS_TRIGGER_TOKEN": TOKEN},
    )
    errors: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stderr, errors), daemon=True).start()
    try:
        line = ""
        while "listening on" not in line:
            line = errors.get(timeout=30)
        url = line.split("listening on", 1)[1].strip()
        assert post(url, {"selection": ["slow"], "stale": False}, TOKEN)[0] == 202
        catalog = Catalog(root / ".assets/catalog.sqlite")
        wait_for(
            lambda: [m for m in catalog.running_materializations() if m.asset == "slow"],
            timeout=30,
        )
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        kill_if_alive(proc)
    assert proc.returncode == 0, out
    assert "cancelled" in out
    [run] = runs_of(root)
    assert (run.trigger, run.status) == ("http", "cancelled")
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert tables == set()  # no half-written slow table, no staging table
    assert not (root / ".assets/writer.lock").read_text().strip()  # lock released


@pytest.mark.slow
def test_a_long_run_of_ticks_keeps_open_files_flat(tmp_path: Path) -> None:
    """Idle ticks and ticks that run: open file descriptors do not grow (Linux /proc)."""
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc")
    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x", "models/b.sql": "select x + 1 as y from a"},
        'name = "t"\n\n[[schedules]]\nname = "m"\ncron = "* * * * *"\nstale_only = false\n',
    )

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    minute = (time.time() // 60 + 1) * 60
    runner = Daemon(root, env={})
    try:
        counts = []
        for i in range(30):  # one run per tick: the schedule is due every minute
            assert len(runner.tick(minute + 60 * i).runs) == 1
            counts.append(fds())
        for _ in range(60):  # idle: the same minute again, nothing is due
            assert runner.tick(minute + 60 * 29).runs == []
        counts.append(fds())
    finally:
        runner.close()
    assert max(counts[5:]) <= counts[4] + 3, counts


def test_sigterm_when_idle(project: Path) -> None:
    proc = spawn_assets("daemon", "--interval", "1h", cwd=project)

    def ticked() -> Any:
        store = AutomationStore(project / ".assets/catalog.sqlite")
        try:
            return store.ticks(1)
        finally:
            store.close()

    try:
        wait_for(ticked, timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        kill_if_alive(proc)
    assert proc.returncode == 0 and "daemon stopped" in err


def test_a_run_is_deferred_while_another_process_writes(project: Path) -> None:
    from assets_orch.lock import WriterLock

    runner = Daemon(project, env={"ASSETS_TRIGGER_TOKEN": TOKEN})
    try:
        server = runner.serve_http("127.0.0.1", 0)
        assert post(server.url, {"stale": False}, TOKEN)[0] == 202
        with WriterLock(project / ".assets/writer.lock", run_id="someone-else"):
            held = runner.tick()
        assert held.runs == []
        [deferred] = [d for d in held.decisions if d.action == "deferred"]
        assert "someone-else" in deferred.detail
        later = runner.tick()
    finally:
        runner.close()
    assert [r.trigger for r in runs_of(project)] == ["http"] and len(later.runs) == 1


def test_decisions_are_listed_by_the_cli(project: Path) -> None:
    runner = Daemon(project, env={"ASSETS_TRIGGER_TOKEN": TOKEN})
    try:
        server = runner.serve_http("127.0.0.1", 0)
        post(server.url, {}, TOKEN)
        [run] = runner.tick().runs
    finally:
        runner.close()
    listed = Cli(project).json("decisions", "--run", run.run_id)
    assert [d["action"] for d in listed] == ["success", "started"]
    assert "run http: started" in Cli(project)("decisions").output


WAITER = """
import time
from pathlib import Path

from assets_orch import asset

RELEASE = Path(__file__).parent.parent / "release"


@asset(description="Waits for a 'release' file, then passes its upstream on.")
def waiter(stg):
    while not RELEASE.exists():
        time.sleep(0.05)
    return stg
"""


def interrupted_daemon(tmp_path: Path, how: str) -> Path:
    """A daemon whose file-sensor run is stopped (``sigterm``: cancelled, twice to stop
    waiting; ``sigkill``: killed) after ``stg`` was rebuilt, while ``waiter`` runs."""
    root = write_project(
        tmp_path / "p",
        {
            "data/v.csv": "v\n1\n",
            "models/stg.sql": "select v from read_csv('data/v.csv')",
            "assets/waiter.py": WAITER,
            "models/after.sql": "select sum(v) as total from waiter",
            "models/side.sql": "select count(*) as n from stg",
        },
        'name = "t"\n\n[defaults]\nthreads = 1\n',
    )
    (root / "release").touch()
    Cli(root)("materialize")
    (root / "release").unlink()
    proc = spawn_assets("daemon", "--interval", "1", cwd=root)
    try:
        wait_for(lambda: AutomationStore(root / ".assets/catalog.sqlite").ticks(1), timeout=30)
        (root / "data/v.csv").write_text("v\n1\n2\n")  # the file sensor's event
        catalog = Catalog(root / ".assets/catalog.sqlite")
        wait_for(lambda: [m for m in catalog.running_materializations() if m.asset == "waiter"])
        if how == "sigkill":
            proc.kill()
        else:
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)  # stop waiting for waiter to wind down
        proc.communicate(timeout=60)
    finally:
        kill_if_alive(proc)
    assert proc.returncode == (-signal.SIGKILL if how == "sigkill" else 0)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
@pytest.mark.parametrize("kept", ["kept", "from-runs"])
def test_a_restarted_daemon_finishes_the_interrupted_run(
    tmp_path: Path, how: str, kept: str
) -> None:
    root = interrupted_daemon(tmp_path, how)
    status = {s["name"]: s for s in Cli(root).json("status")}
    assert status["stg"]["state"] == "fresh"  # committed before the stop
    # Only 'upstream changed: stg' (or an interrupted build) is left: no sensor matches.
    assert "upstream changed: stg" in status["waiter"]["reasons"]
    if how == "sigkill":
        assert "last run failed: interrupted" in status["waiter"]["reasons"]
    if kept == "from-runs":  # as an older version left it: no request kept, only the run
        store = AutomationStore(root / ".assets/catalog.sqlite")
        store.set_state("queue", None)
        store.close()
    (root / "release").touch()
    result = run_assets("daemon", "--once", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "run sensor:files: resumed" in result.stdout
    assert all(s["state"] == "fresh" for s in Cli(root).json("status")), Cli(root)("status").output
    # Taken up once: the next start has nothing left to resume.
    again = run_assets("daemon", "--once", cwd=root)
    assert "resumed" not in again.stdout and "1 run(s)" not in again.stdout


def test_a_due_run_the_stopping_daemon_did_not_start_is_started_by_the_next(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x"},
        'name = "t"\n\n[[schedules]]\nname = "m"\ncron = "0 6 * * *"\nstale_only = false\n',
    )
    six = 1_796_104_800.0  # a 06:00 UTC
    first = Daemon(root, env={})
    try:
        first.tick(six - 60)  # the schedule's window starts
        first.cancel.set()  # SIGTERM just as the 06:00 tick runs
        stopped = first.tick(six)
    finally:
        first.close()
    assert [d.action for d in stopped.decisions if d.kind == "run"] == ["not started"]
    assert runs_of(root) == []  # the tick is spent: the schedule will not fire again
    second = Daemon(root, env={})
    try:
        resumed = second.tick(six + 30)
        later = second.tick(six + 60)
    finally:
        second.close()
    [decision] = [d for d in resumed.decisions if d.action == "resumed"]
    assert decision.subject == "schedule:m" and "not started when the daemon stopped" in (
        decision.detail
    )
    assert [r.status for r in resumed.runs] == ["success"]
    assert later.runs == []  # done: no longer kept


def test_every_request_of_a_stopped_tick_is_taken_up(tmp_path: Path) -> None:
    """Two schedules due at once; the daemon is stopped during the first run: both runs
    are done by the next daemon, the cancelled one and the one never started."""
    root = write_project(
        tmp_path / "p",
        {
            "models/stg.sql": "select 1 as v",
            "assets/waiter.py": WAITER,
            "models/quick.sql": "select 2 as w",
        },
        'name = "t"\n\n[defaults]\nthreads = 1\n\n'
        '[[schedules]]\nname = "a"\ncron = "0 6 * * *"\nselect = ["+waiter"]\n'
        "stale_only = false\n\n"
        '[[schedules]]\nname = "b"\ncron = "0 6 * * *"\nselect = ["quick"]\n'
        "stale_only = false\n",
    )
    six = 1_796_104_800.0  # a 06:00 UTC
    first = Daemon(root, env={})
    catalog = Catalog(root / ".assets/catalog.sqlite")

    def stop_during_waiter() -> None:
        wait_for(lambda: [m for m in catalog.running_materializations() if m.asset == "waiter"])
        first.cancel.set()
        (root / "release").touch()  # it returns, and may not commit

    stopper = threading.Thread(target=stop_during_waiter)
    try:
        first.tick(six - 60)
        stopper.start()
        stopped = first.tick(six)
        stopper.join(timeout=60)
    finally:
        first.close()
    assert [r.status for r in stopped.runs] == ["cancelled"]
    second = Daemon(root, env={})
    try:
        resumed = second.tick(six + 30)
    finally:
        second.close()
    assert [d.subject for d in resumed.decisions if d.action == "resumed"] == [
        "schedule:a",
        "schedule:b",
    ]
    assert [r.status for r in resumed.runs] == ["success", "success"]
    built = {m.asset for r in resumed.runs for m in catalog.materializations_of_run(r.run_id)}
    assert built == {"waiter", "quick"}  # stg was built by the cancelled run: left out
