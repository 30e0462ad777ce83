"""Sources and lateness: when each source last changed, and whether it is late.

Sources are the file paths and globs the SQL reads and the external warehouse tables
it reads, plus any declared under ``[sources."..."]`` in ``assets.toml``. A file's
time is its newest modification time; a table's is ``max(loaded_at)`` or the value of
its ``query``, read from the warehouse opened read-only for a moment.

A source with a freshness expectation that is exceeded is **late**; every asset that
reads it, directly or not, **waits** (:func:`waiting`) while the rest keeps moving.
A source whose time cannot be read (the warehouse is busy) is ``unknown``: it holds
nothing up.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from ..sources import expand, split_remote
from .freshness import OVERDUE, WARN, evaluate

if TYPE_CHECKING:
    from ..config import SourceConfig
    from ..graph import AssetGraph
    from ..project import Project

OK, LATE, ABSENT, UNKNOWN = "ok", "late", "absent", "unknown"


@dataclass(frozen=True)
class SourceState:
    """One source as seen at ``now``."""

    name: str
    kind: str  # file | table | url
    declared: SourceConfig | None
    last_changed: float | None
    state: str  # ok | warn | late | absent | unknown
    detail: str
    readers: tuple[str, ...]  # assets that read it directly

    @property
    def late(self) -> bool:
        return self.state == LATE

    @property
    def expectation(self) -> str:
        policy = self.declared.freshness if self.declared else None
        if policy is None:
            return ""
        from ..durations import format_duration

        parts = []
        if policy.warn_after:
            parts.append(f"warn after {format_duration(policy.warn_after)}")
        if policy.error_after:
            parts.append(f"late after {format_duration(policy.error_after)}")
        if policy.cron:
            parts.append(f"by cron '{policy.cron}' {policy.timezone}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        declared = self.declared
        return {
            "name": self.name,
            "kind": self.kind,
            "description": declared.description if declared else None,
            "owner": declared.owner if declared else None,
            "expectation": self.expectation or None,
            "last_changed": self.last_changed,
            "state": self.state,
            "late": self.late,
            "detail": self.detail,
            "readers": list(self.readers),
        }


TableTimes = Callable[[list[tuple[str, "SourceConfig"]]], dict[str, float | None | str]]


def source_states(
    project: Project, *, now: float, table_times: TableTimes | None = None
) -> list[SourceState]:
    """Every source of ``project``, sorted by name, judged at ``now``.

    ``table_times`` reads the load time of declared tables (default: from the
    warehouse, read-only); it returns name -> epoch seconds, None (empty) or an error
    text (unknown).
    """
    declared = dict(project.config.sources)
    readers: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for spec in project.specs:
        for pattern in spec.file_sources:
            key = _declared_key(pattern, declared) or pattern
            readers.setdefault(key, set()).add(spec.name)
            kinds[key] = "url" if split_remote(pattern) else "file"
        for table in spec.external_tables:
            key = _declared_table(table, declared) or table
            readers.setdefault(key, set()).add(spec.name)
            kinds[key] = "table"
    for name, source in declared.items():
        readers.setdefault(name, set())
        kinds.setdefault(name, "table" if source.loaded_at or source.query else _guess_kind(name))
    tables = [(n, declared[n]) for n in sorted(declared) if kinds[n] == "table"]
    measurable = [(n, c) for n, c in tables if c.loaded_at or c.query]
    times = (table_times or warehouse_table_times(project))(measurable) if measurable else {}
    states = []
    for name in sorted(readers):
        kind = kinds[name]
        cfg = declared.get(name)
        if kind == "file":
            last = _file_time(project, name)
            measured: float | None | str = last
        elif kind == "table" and name in times:
            measured = times[name]
        else:
            measured = "not measured" if kind == "table" else "remote"
        states.append(_judge(name, kind, cfg, measured, tuple(sorted(readers[name])), now))
    return states


def waiting(graph: AssetGraph, states: list[SourceState]) -> dict[str, list[str]]:
    """Assets held up by late sources: asset -> the late sources it reads, maybe indirectly."""
    held: dict[str, list[str]] = {}
    for source in states:
        if not source.late:
            continue
        readers = [r for r in source.readers if r in graph.specs]
        for name in sorted(set(readers) | graph.descendants_of(readers)):
            held.setdefault(name, []).append(source.name)
    return held


def _judge(
    name: str,
    kind: str,
    cfg: SourceConfig | None,
    measured: float | None | str,
    readers: tuple[str, ...],
    now: float,
) -> SourceState:
    if isinstance(measured, str):
        return SourceState(name, kind, cfg, None, UNKNOWN, measured, readers)
    policy = cfg.freshness if cfg else None
    if measured is None:
        what = "no file matches" if kind == "file" else "no load time (empty table)"
        state = LATE if policy else ABSENT
        return SourceState(name, kind, cfg, None, state, what, readers)
    if policy is None:
        return SourceState(name, kind, cfg, measured, OK, "", readers)
    verdict = evaluate(policy, last=measured, now=now)
    state = {OVERDUE: LATE, WARN: "warn"}.get(verdict.level, OK)
    return SourceState(name, kind, cfg, measured, state, verdict.detail, readers)


def _file_time(project: Project, pattern: str) -> float | None:
    files = expand(project.root, pattern)
    times = []
    for path in files:
        try:
            times.append(path.stat().st_mtime)
        except OSError:  # vanished between glob and stat
            continue
    return max(times) if times else None


def _declared_key(pattern: str, declared: dict[str, SourceConfig]) -> str | None:
    if pattern in declared:
        return pattern
    clean = pattern.removeprefix("./")
    for key in declared:
        if key.removeprefix("./") == clean or fnmatch.fnmatch(clean, key.removeprefix("./")):
            return key
    return None


def _declared_table(table: str, declared: dict[str, SourceConfig]) -> str | None:
    for key in declared:
        if key.lower() == table.lower():
            return key
    return None


def _guess_kind(name: str) -> str:
    if split_remote(name):
        return "url"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if "/" in name or any(ch in name for ch in "*?[") or suffix in _FILE_SUFFIXES:
        return "file"
    return "table"


_FILE_SUFFIXES = {"csv", "tsv", "parquet", "json", "jsonl", "ndjson", "txt", "gz", "xlsx"}


def warehouse_table_times(project: Project) -> TableTimes:
    """Read table load times from the warehouse, opened read-only, closed at once."""

    def read(tables: list[tuple[str, SourceConfig]]) -> dict[str, float | None | str]:
        from ..errors import WarehouseError

        warehouse = project.open_warehouse()
        try:
            con = warehouse.connect(read_only=True)
        except WarehouseError as e:
            return {name: f"cannot read the warehouse: {e.message}" for name, _ in tables}
        out: dict[str, float | None | str] = {}
        try:
            for name, cfg in tables:
                sql = cfg.query or f"SELECT max({_quote(cfg.loaded_at or '')}) FROM {_qname(name)}"
                try:
                    out[name] = _load_time(con, sql)
                except Exception as e:  # noqa: BLE001 - any DuckDB error: report, never crash
                    out[name] = "cannot read its load time: " + str(e).strip().splitlines()[0]
        finally:
            warehouse.close()
        return out

    return read


def _load_time(con: Any, sql: str) -> float | None:
    # epoch() inside DuckDB: timestamps with time zone need no Python time zone package;
    # a query that returns a number (already epoch seconds) is converted here instead.
    try:
        row = con.execute(f"SELECT epoch(q.t) FROM ({sql}) AS q(t)").fetchone()
    except Exception:  # noqa: BLE001 - not a timestamp or date
        row = con.execute(sql).fetchone()
    return to_epoch(row[0] if row else None)


def to_epoch(value: Any) -> float | None:
    """A load time as epoch seconds: timestamps (naive means UTC), dates, numbers.

    >>> to_epoch(datetime(1970, 1, 2)), to_epoch(date(1970, 1, 2)), to_epoch(86400)
    (86400.0, 86400.0, 86400.0)
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, int | float):
        return float(value)
    return to_epoch(datetime.fromisoformat(str(value)))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qname(name: str) -> str:
    return ".".join(_quote(part) for part in name.split("."))
