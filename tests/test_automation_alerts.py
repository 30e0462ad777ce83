"""Alerts to a real local HTTP server (127.0.0.1, port 0) and to a shell command."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.automation.alerts import AlertEvent, notify
from assets_orch.automation.daemon import Daemon, TickReport
from assets_orch.catalog import Catalog
from assets_orch.config import AlertConfig


class Hook:
    """A webhook receiver: records every JSON body POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        received = self.bodies
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FAILING = {
    "models/base.sql": "select range as id from range(3)",
    "models/fine.sql": "select count(*) as n from base",
    "assets/boom.py": """
    from assets_orch import asset


    @asset(retries=0)
    def boom(base):
        raise ValueError("no rows for 2024-01-01\\nsecond line of the error")
    """,
    "models/after_boom.sql": "select * from boom",
}


def alert_config(url: str, extra: str = "") -> str:
    return (
        'name = "t"\n\n[[schedules]]\nname = "every_minute"\ncron = "* * * * *"\n'
        'stale_only = false\n\n[[alerts]]\nname = "team"\n'
        f'url = "{url}"\nretries = 2\ntimeout = "2s"\n{extra}'
    )


def tick_on_the_minute(root: Path, env: dict[str, str] | None = None) -> TickReport:
    daemon = Daemon(root, env=env or {})
    try:
        return daemon.tick((time.time() // 60 + 1) * 60)
    finally:
        daemon.close()


def test_a_failing_asset_sends_exactly_one_alert(tmp_path: Path, hook: Hook) -> None:
    root = write_project(tmp_path / "p", FAILING, alert_config(hook.url))
    report = tick_on_the_minute(root)
    [run] = report.runs
    assert run.status == "failed"

    assert len(hook.bodies) == 1  # one message: asset_failed and run_failed, grouped
    [body] = hook.bodies
    assert body["run_id"] == run.run_id
    assert "boom" in body["text"] and run.run_id in body["text"]
    assert "ValueError: no rows for 2024-01-01" in body["text"]
    assert "second line" not in body["text"]
    [failed] = [e for e in body["events"] if e["event"] == "asset_failed"]
    assert failed["asset"] == "boom" and failed["run_id"] == run.run_id
    assert failed["error"] == "ValueError: no rows for 2024-01-01"
    assert {e["event"] for e in body["events"]} == {"asset_failed", "run_failed"}
    assert ("alert", "team", "sent") in [(d.kind, d.subject, d.action) for d in report.decisions]


def test_a_destination_that_is_down_does_not_fail_the_run(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    root = write_project(
        tmp_path / "p",
        {"models/a.sql": "select 1 as x"},
        alert_config(url, 'events = ["run_succeeded"]\n'),
    )
    started = time.monotonic()
    report = tick_on_the_minute(root)
    assert time.monotonic() - started < 30
    [run] = report.runs
    assert run.status == "success"
    assert Catalog(root / ".assets/catalog.sqlite").runs()[0].status == "success"
    [alert] = [d for d in report.decisions if d.kind == "alert"]
    assert alert.action == "failed" and "3 attempts" in alert.detail
    assert "cannot reach" in alert.detail


def test_a_url_from_an_unset_variable_is_skipped_with_a_warning(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FAILING, alert_config("${HOOK_URL}"))
    report = tick_on_the_minute(root, env={})
    assert [r.status for r in report.runs] == ["failed"]
    [alert] = [d for d in report.decisions if d.kind == "alert"]
    assert (alert.action, alert.detail) == ("skipped", "2 event(s); HOOK_URL is not set")

    result = Cli(root)("daemon", "--once", expect=None)
    assert "warning: alert team is skipped: HOOK_URL is not set" in result.output


def test_the_secret_url_is_never_written_down(tmp_path: Path, hook: Hook) -> None:
    secret = hook.url + "/T000-secret-token"
    root = write_project(tmp_path / "p", FAILING, alert_config("${HOOK_URL}"))
    report = tick_on_the_minute(root, env={"HOOK_URL": secret})
    assert len(hook.bodies) == 1 and report.runs
    state = root / ".assets"
    for path in state.rglob("*"):
        if path.is_file():
            assert b"T000-secret-token" not in path.read_bytes(), path
    for decision in report.decisions:
        assert "T000-secret-token" not in str(decision)


def test_a_failing_destination_is_retried_then_given_up(hook: Hook) -> None:
    hook.status = 503
    alert = AlertConfig(url=hook.url, retries=2, events=("source_late",))
    event = AlertEvent("source_late", "data/netsuite.csv", "older than 24h")
    waits: list[float] = []
    [delivery] = notify([alert], [event], project="shop", env={}, sleep=waits.append)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.error == "HTTP 503 Service Unavailable"
    assert waits == [0.5, 1.0]  # exponential backoff
    assert len(hook.bodies) == 3
    assert hook.bodies[0]["text"] == "[shop] source data/netsuite.csv is late: older than 24h"


def test_a_shell_command_destination(tmp_path: Path) -> None:
    out = tmp_path / "alert.json"
    alert = AlertConfig(command=f"cat > {out}", events=("asset_failed",))
    event = AlertEvent("asset_failed", "orders_daily", "boom", "run-1", {"asset": "orders_daily"})
    [delivery] = notify([alert], [event], project="shop", env={})
    assert delivery.status == "sent"
    body = json.loads(out.read_text())
    assert body["run_id"] == "run-1" and body["events"][0]["asset"] == "orders_daily"


def test_the_template_alert_without_its_variable_never_crashes(shop: Path) -> None:
    result = Cli(shop)("daemon", "--once", "--now", "2030-01-01T06:00:00+01:00", expect=None)
    assert result.exit_code in (0, 1), result.output
    assert "SHOP_ALERT_WEBHOOK is not set" in result.output
    assert "schedule morning: due" in result.output


def test_a_manual_run_alerts_too(tmp_path: Path, hook: Hook) -> None:
    root = write_project(tmp_path / "p", FAILING, alert_config(hook.url))
    result = Cli(root)("materialize", expect=1)
    assert "Traceback" not in result.output
    [body] = hook.bodies
    assert body["run_id"] in body["text"] and "boom" in body["text"]
    assert {e["event"] for e in body["events"]} == {"asset_failed", "run_failed"}
    # A destination that is down changes nothing about the run's outcome.
    down = write_project(
        tmp_path / "q", FAILING, alert_config(f"http://127.0.0.1:{closed_port()}/hook")
    )
    result = Cli(down)("materialize", expect=1)
    assert "alert to team failed" in result.output
