"""What the daemon remembers, in the project catalog (``.assets/catalog.sqlite``).

Three tables beside the catalog's own, created on first use:

- ``daemon_ticks``: one row per tick (the clock it used, when it ran, how many
  decisions and runs it made, an error if the project could not be loaded);
- ``daemon_decisions``: what the daemon decided and why (``schedule nightly: run``,
  ``waiting revenue: source data/netsuite.csv is late``), with the run id it started;
- ``automation_state``: small cursors that must survive a restart (the last tick each
  schedule fired for, the source versions the file sensor last saw, the conditions
  already alerted on, the run requests whose run has not ended yet).

Kept beside :class:`~assets_orch.catalog.Catalog` rather than in it, so the execution
engine's store stays as it is; it uses a Catalog's connection and its short
transactions, so the file, WAL mode and locking are the same.

>>> import tempfile, pathlib
>>> store = AutomationStore(pathlib.Path(tempfile.mkdtemp()) / "catalog.sqlite")
>>> tick = store.start_tick(now=100.0)
>>> store.set_state("schedule:nightly", "86400")
>>> store.state("schedule:nightly"), store.state("nope")
('86400', None)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..errors import CatalogError

SCHEMA = """
CREATE TABLE IF NOT EXISTS daemon_ticks (
    tick_id INTEGER PRIMARY KEY AUTOINCREMENT, clock REAL NOT NULL, started_at REAL NOT NULL,
    ended_at REAL, pid INTEGER, decisions INTEGER DEFAULT 0, runs INTEGER DEFAULT 0,
    error TEXT
);
CREATE TABLE IF NOT EXISTS daemon_decisions (
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT, tick_id INTEGER, at REAL NOT NULL,
    kind TEXT NOT NULL, subject TEXT, action TEXT NOT NULL, detail TEXT, run_id TEXT
);
CREATE INDEX IF NOT EXISTS decisions_tick ON daemon_decisions (tick_id);
CREATE INDEX IF NOT EXISTS decisions_run ON daemon_decisions (run_id);
CREATE TABLE IF NOT EXISTS automation_state (
    key TEXT PRIMARY KEY, value TEXT, updated_at REAL
);
"""

KEEP_IDLE_TICKS = 10_000  # idle ticks (no decision) older than the last N are pruned


@dataclass(frozen=True)
class Decision:
    """One thing the daemon decided, e.g. ``schedule nightly: run`` with its reason."""

    kind: str  # schedule | sensor | freshness | source | waiting | http | run | alert | error
    subject: str
    action: str
    detail: str = ""
    run_id: str | None = None
    at: float = 0.0

    def __str__(self) -> str:
        head = f"{self.kind} {self.subject}" if self.subject else self.kind
        text = f"{head}: {self.action}"
        if self.detail:
            text += f" ({self.detail})"
        if self.run_id:
            text += f" [run {self.run_id}]"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "kind": self.kind,
            "subject": self.subject,
            "action": self.action,
            "detail": self.detail,
            "run_id": self.run_id,
        }


class AutomationStore:
    """Ticks, decisions and cursors of the daemon, on the catalog's own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._catalog = Catalog(path)
        # The catalog's short-transaction helpers: one connection, one habit.
        self._write = self._catalog._write
        self._read = self._catalog._read
        try:
            with self._write() as c:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    c.execute(statement)
        except sqlite3.Error as e:
            raise CatalogError(f"cannot create the automation tables: {e}", path=str(path)) from e

    def close(self) -> None:
        self._catalog.close()

    # ---- ticks and decisions ----------------------------------------------------------

    def start_tick(self, *, now: float) -> int:
        """Record a tick evaluated at clock ``now``; returns its id."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO daemon_ticks (clock, started_at, pid) VALUES (?, ?, ?)",
                (now, time.time(), os.getpid()),
            )
            return int(cur.lastrowid or 0)

    def finish_tick(
        self, tick_id: int, *, decisions: int, runs: int, error: str | None = None
    ) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE daemon_ticks SET ended_at = ?, decisions = ?, runs = ?, error = ? "
                "WHERE tick_id = ?",
                (time.time(), decisions, runs, error, tick_id),
            )
            if tick_id % 500 == 0:  # now and then, forget old idle ticks
                c.execute(
                    "DELETE FROM daemon_ticks WHERE decisions = 0 AND error IS NULL "
                    "AND tick_id < ?",
                    (tick_id - KEEP_IDLE_TICKS,),
                )

    def record(self, tick_id: int | None, decision: Decision) -> None:
        with self._write() as c:
            c.execute(
                "INSERT INTO daemon_decisions (tick_id, at, kind, subject, action, detail, "
                "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tick_id,
                    decision.at,
                    decision.kind,
                    decision.subject,
                    decision.action,
                    decision.detail,
                    decision.run_id,
                ),
            )

    def decisions(self, limit: int = 50, *, run_id: str | None = None) -> list[Decision]:
        """The most recent decisions (of one run, if given), newest first."""
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id else ("", ())
        rows = self._read(
            "SELECT at, kind, subject, action, detail, run_id FROM daemon_decisions "
            f"{where} ORDER BY decision_id DESC LIMIT ?",
            (*params, limit),
        )
        return [Decision(k, s or "", a, d or "", r, at) for at, k, s, a, d, r in rows]

    def ticks(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT tick_id, clock, started_at, ended_at, pid, decisions, runs, error "
            "FROM daemon_ticks ORDER BY tick_id DESC LIMIT ?",
            (limit,),
        )
        keys = ("tick_id", "clock", "started_at", "ended_at", "pid", "decisions", "runs", "error")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ---- cursors ----------------------------------------------------------------------

    def state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM automation_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def states(self, prefix: str) -> dict[str, str]:
        """Every cursor whose key starts with ``prefix`` (the prefix removed)."""
        rows = self._read(
            "SELECT key, value FROM automation_state WHERE substr(key, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {k[len(prefix) :]: v for k, v in rows}

    def set_state(self, key: str, value: str | None) -> None:
        """Store a cursor (None deletes it)."""
        with self._write() as c:
            if value is None:
                c.execute("DELETE FROM automation_state WHERE key = ?", (key,))
            else:
                c.execute(
                    "INSERT OR REPLACE INTO automation_state (key, value, updated_at) "
                    "VALUES (?, ?, ?)",
                    (key, value, time.time()),
                )

    def json_state(self, key: str) -> Any:
        raw = self.state(key)
        return json.loads(raw) if raw else None

    def set_json_state(self, key: str, value: Any) -> None:
        self.set_state(key, json.dumps(value, sort_keys=True))
