"""Alerts: tell someone when a run fails, a check fails, an asset is overdue, a source late.

Each ``[[alerts]]`` destination gets **one message per occasion** (a run, or a daemon
tick) holding every event it subscribed to, so a failing asset that also skips five
others sends one message, not six. A destination is a webhook (JSON with a
Slack-compatible ``text`` plus structured ``events``) or a shell command (the same JSON
on stdin, the text in ``$ASSETS_ALERT_TEXT``).

``${VAR}`` in a URL or header is read from the environment at send time only: the
expanded value is never returned, logged or stored, and error texts are scrubbed of
it. A destination whose variable is unset is skipped with a warning. Failures are
retried with exponential backoff; :func:`notify` never raises, so a broken destination
cannot break a run.

>>> from assets_orch.config import AlertConfig
>>> alert = AlertConfig(url="${HOOK}")
>>> expand_env("${HOOK}/x", {"HOOK": "https://h.example"})
'https://h.example/x'
>>> missing_env(alert, {})
['HOOK']
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, get_args

from ..config import AlertEvent as AlertEventName

if TYPE_CHECKING:
    from ..config import AlertConfig
    from ..outcomes import RunResult

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"
EVENTS = frozenset(get_args(AlertEventName))
BACKOFF = 0.5  # seconds before the first retry; doubled each time


@dataclass(frozen=True)
class AlertEvent:
    """Something alert-worthy: ``asset_failed`` of ``orders_daily`` in run ``R``, ..."""

    event: str
    subject: str
    message: str
    run_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "subject": self.subject,
            "message": self.message,
            "run_id": self.run_id,
            **dict(self.details),
        }


@dataclass(frozen=True)
class Delivery:
    """What happened to one message at one destination (never holds the secret URL)."""

    destination: str
    status: str  # sent | failed | skipped
    attempts: int = 0
    error: str | None = None
    events: int = 0


def destination_name(alert: AlertConfig, index: int) -> str:
    """How a destination is named in logs: its ``name`` or ``alerts[i]``, never its URL."""
    return alert.name or f"alerts[{index}]"


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """Replace each ``${VAR}`` with its value (KeyError for an unset variable)."""
    return _VAR.sub(lambda m: env[m.group(1)], text)


def missing_env(alert: AlertConfig, env: Mapping[str, str]) -> list[str]:
    """Variables the destination names that are unset or empty."""
    texts = [alert.url or alert.command or "", *alert.headers.values()]
    names = sorted({name for text in texts for name in _VAR.findall(text)})
    return [name for name in names if not env.get(name)]


# ---- events -------------------------------------------------------------------------


def run_events(result: RunResult, *, trigger: str) -> list[AlertEvent]:
    """The events of a finished run: assets and checks that failed, the run's end."""
    events: list[AlertEvent] = []
    failed = []
    for outcome in result.outcomes.values():
        base = {"asset": outcome.name, "status": outcome.status}
        if outcome.status in ("failed", "timed_out"):
            failed.append(outcome.name)
            error = outcome.first_error_line or outcome.status.replace("_", " ")
            details = base | {"error": error}
            events.append(AlertEvent("asset_failed", outcome.name, error, result.run_id, details))
        for check in outcome.checks:
            if getattr(check, "status", "passed") == "passed":
                continue
            label = check.check.label
            text = check.summary() if hasattr(check, "summary") else f"check {label} failed"
            details = base | {
                "check": label,
                "severity": check.check.severity,
                "failing_rows": check.failing_rows,
            }
            events.append(AlertEvent("check_failed", outcome.name, text, result.run_id, details))
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(result.counts().items()))
    run_details = {"trigger": trigger, "status": result.status, "counts": result.counts()}
    if result.status == "success":
        events.append(
            AlertEvent("run_succeeded", result.run_id, counts, result.run_id, run_details)
        )
    elif result.status != "cancelled":
        text = f"{counts}" + (f"; failed: {', '.join(failed)}" if failed else "")
        events.append(AlertEvent("run_failed", result.run_id, text, result.run_id, run_details))
    return events


def message_text(project: str, events: list[AlertEvent]) -> str:
    """The human text of one message (Slack renders it; mrkdwn-safe, no markup needed)."""
    runs = sorted({e.run_id for e in events if e.run_id})
    head = f"[{project}] " + (f"run {runs[0]}: " if len(runs) == 1 else "")
    lines = []
    for e in events:
        if e.event == "run_failed":
            lines.append(f"run failed ({e.message})")
        elif e.event == "run_succeeded":
            lines.append(f"run succeeded ({e.message})")
        elif e.event == "asset_failed":
            lines.append(f"asset {e.subject} failed: {e.message}")
        elif e.event == "check_failed":
            lines.append(f"{e.subject}: {e.message}")
        elif e.event == "freshness_overdue":
            lines.append(f"asset {e.subject} is overdue: {e.message}")
        elif e.event == "source_late":
            lines.append(f"source {e.subject} is late: {e.message}")
        else:
            lines.append(f"{e.event} {e.subject}: {e.message}")
    return head + lines[0] + "".join(f"\n• {line}" for line in lines[1:])


def payload(project: str, events: list[AlertEvent]) -> dict[str, Any]:
    """The JSON a webhook receives: ``text`` for chat tools, the rest for programs."""
    runs = sorted({e.run_id for e in events if e.run_id})
    return {
        "text": message_text(project, events),
        "project": project,
        "run_id": runs[0] if len(runs) == 1 else None,
        "events": [e.to_json() for e in events],
    }


# ---- delivery -----------------------------------------------------------------------


def notify(
    alerts: Iterable[AlertConfig],
    events: list[AlertEvent],
    *,
    project: str,
    env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Delivery]:
    """Send ``events`` to every destination that subscribed to one of them. Never raises."""
    env = os.environ if env is None else env
    wait = sleep or (cancel.wait if cancel else time.sleep)
    deliveries = []
    for index, alert in enumerate(alerts):
        mine = [e for e in events if e.event in alert.events]
        if not mine:
            continue
        name = destination_name(alert, index)
        missing = missing_env(alert, env)
        if missing:
            error = f"{', '.join(missing)} is not set"
            deliveries.append(Delivery(name, SKIPPED, 0, error, len(mine)))
            continue
        try:
            delivery = _send(alert, name, payload(project, mine), env, wait)
        except Exception as e:  # noqa: BLE001 - a destination must never break a run
            delivery = Delivery(name, FAILED, 1, f"internal error: {type(e).__name__}")
        deliveries.append(replace(delivery, events=len(mine)))
    return deliveries


def _send(
    alert: AlertConfig,
    name: str,
    body: dict[str, Any],
    env: Mapping[str, str],
    wait: Callable[[float], Any],
) -> Delivery:
    texts = [alert.url or alert.command or "", *alert.headers.values()]
    secrets = [env[v] for v in _VAR.findall(" ".join(texts))]
    if alert.url:
        secrets.append(expand_env(alert.url, env))
    error = ""
    attempts = 0
    for attempt in range(alert.retries + 1):
        attempts = attempt + 1
        if attempt:
            wait(BACKOFF * 2 ** (attempt - 1))
        ok, error, retry = _post(alert, body, env) if alert.url else _command(alert, body, env)
        if ok:
            return Delivery(name, SENT, attempts)
        if not retry:
            break
    return Delivery(name, FAILED, attempts, _scrub(error, secrets))


def _post(
    alert: AlertConfig, body: dict[str, Any], env: Mapping[str, str]
) -> tuple[bool, str, bool]:
    """(ok, error, worth retrying) for one POST."""
    assert alert.url is not None
    url = expand_env(alert.url, env)
    if not url.startswith(("http://", "https://")):
        return False, "the URL does not start with http:// or https://", False
    headers = {"Content-Type": "application/json", "User-Agent": "assets_orch-alerts"}
    headers |= {k: expand_env(v, env) for k, v in alert.headers.items()}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=alert.timeout) as response:  # noqa: S310
            response.read(1024)
        return True, "", False
    except urllib.error.HTTPError as e:
        retry = e.code >= 500 or e.code == 429
        return False, f"HTTP {e.code} {e.reason}", retry
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return False, f"cannot reach the destination: {reason}", True


def _command(
    alert: AlertConfig, body: dict[str, Any], env: Mapping[str, str]
) -> tuple[bool, str, bool]:
    """(ok, error, worth retrying) for one run of the shell command."""
    assert alert.command is not None
    child_env = {
        **env,
        "ASSETS_ALERT_TEXT": body["text"],
        "ASSETS_ALERT_EVENTS": ",".join(sorted({e["event"] for e in body["events"]})),
    }
    try:
        done = subprocess.run(  # noqa: S602 - the project's own configured command
            alert.command,
            shell=True,
            input=json.dumps(body),
            text=True,
            capture_output=True,
            timeout=alert.timeout,
            env=child_env,
        )
    except subprocess.TimeoutExpired:
        return False, f"the command did not finish within {alert.timeout:g}s", True
    except OSError as e:
        return False, f"cannot start the command: {e.strerror}", False
    if done.returncode == 0:
        return True, "", False
    last = (done.stderr or done.stdout or "").strip().splitlines()
    return False, f"exit {done.returncode}" + (f": {last[-1]}" if last else ""), True


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text
