"""Sensors: which assets an event makes worth building now.

Pure functions of the graph, the statuses at this tick and what changed since the last
tick; the daemon turns their answers into runs.

- **files**: a file source appeared or changed since the last tick (the daemon keeps the
  versions it saw in the catalog), or an asset is stale with ``source changed`` → that
  source's readers and everything downstream of them that is stale.
- **upstream**: an asset that opted in with ``on: [upstream]`` is stale because an
  upstream was rebuilt outside its selection (``upstream changed: X``) → it, and its
  stale downstream that also opted in.
- **tables**: a declared warehouse table source (``loaded_at`` or ``query``) was loaded
  again since the last tick → its readers and everything downstream (rebuilt even if
  not stale: staleness cannot see inside a table it does not produce).
- **freshness**: an asset past its freshness policy → it and its stale upstreams.

An asset whose last attempt failed is not rebuilt by a sensor again and again on the
same inputs: only a new change of its input (a file event), a schedule, an HTTP
trigger or a person retries it. A build interrupted by a crash (``last run failed:
interrupted``) did not fail on its inputs: sensors build it again.

>>> from assets_orch.sources import ABSENT
>>> source_changes({"a.csv": "v1", "b.csv": ABSENT}, {"a.csv": "v2", "b.csv": "v3", "c": "v"})
{'a.csv': 'changed', 'b.csv': 'appeared'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..records import INTERRUPTED
from ..sources import ABSENT, REMOTE
from ..staleness import FRESHNESS, LAST_FAILED, SOURCE, UPSTREAM_CHANGED

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from ..staleness import AssetStatus


def source_changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """pattern -> ``appeared`` / ``changed`` / ``vanished``, for patterns seen both times.

    A pattern seen for the first time is a baseline, not an event.
    """
    changes = {}
    for pattern, version in sorted(after.items()):
        old = before.get(pattern)
        if old is None or old == version or version == REMOTE:
            continue
        if old == ABSENT:
            changes[pattern] = "appeared"
        elif version == ABSENT:
            changes[pattern] = "vanished"
        else:
            changes[pattern] = "changed"
    return changes


def table_loads(before: Mapping[str, float], now: Mapping[str, float | None]) -> list[str]:
    """Tables loaded since the last tick (a table seen for the first time is a baseline).

    >>> table_loads({"raw.orders": 1.0, "raw.items": 5.0}, {"raw.orders": 2.0, "raw.items": 5.0})
    ['raw.orders']
    """
    return sorted(
        name
        for name, when in now.items()
        if when is not None and name in before and when > before[name]
    )


def _failed(status: AssetStatus) -> bool:
    """Its last attempt failed on its own account: a build interrupted by a crash (the
    process died) is not a failure of its inputs, and is built again."""
    return any(
        r.kind == LAST_FAILED and not (r.subject or "").startswith(INTERRUPTED)
        for r in status.reasons
    )


def _stale_closure(
    graph: AssetGraph, roots: set[str], statuses: Mapping[str, AssetStatus]
) -> set[str]:
    """``roots`` plus their stale descendants."""
    return roots | {n for n in graph.descendants_of(roots) if statuses[n].is_stale}


def file_targets(
    graph: AssetGraph, statuses: Mapping[str, AssetStatus], changes: Mapping[str, str]
) -> dict[str, list[str]]:
    """Assets to build for file events: asset -> the sources that caused it."""
    causes: dict[str, list[str]] = {}
    for pattern, change in changes.items():
        if change == "vanished":
            continue  # nothing new to read; its readers would fail
        readers = {n for n, s in graph.specs.items() if pattern in s.file_sources}
        for name in _stale_closure(graph, readers, statuses):
            if statuses[name].is_stale:
                causes.setdefault(name, []).append(pattern)
    for name, status in statuses.items():
        changed = [r.subject for r in status.reasons if r.kind == SOURCE and r.subject]
        if changed and not _failed(status):
            for down in _stale_closure(graph, {name}, statuses):
                causes.setdefault(down, []).extend(changed)
    return {n: sorted(set(c)) for n, c in sorted(causes.items())}


def upstream_targets(
    graph: AssetGraph, statuses: Mapping[str, AssetStatus]
) -> dict[str, list[str]]:
    """Opted-in assets whose upstream was rebuilt elsewhere: asset -> those upstreams."""
    opted = {n for n, s in graph.specs.items() if "upstream" in s.meta.on}
    causes: dict[str, list[str]] = {}
    for name in sorted(opted):
        status = statuses[name]
        rebuilt = [r.subject for r in status.reasons if r.kind == UPSTREAM_CHANGED and r.subject]
        if rebuilt and not _failed(status):
            causes[name] = rebuilt
    for down in graph.descendants_of(set(causes)):
        if down in opted and statuses[down].is_stale and down not in causes:
            causes[down] = [u for u in graph.upstreams[down] if u in causes or u in opted]
    return dict(sorted(causes.items()))


def overdue_targets(graph: AssetGraph, statuses: Mapping[str, AssetStatus]) -> dict[str, list[str]]:
    """Overdue assets and their stale upstreams: asset -> the overdue assets it serves."""
    causes: dict[str, list[str]] = {}
    for name, status in statuses.items():
        if any(r.kind == FRESHNESS for r in status.reasons) and not _failed(status):
            causes.setdefault(name, []).append(name)
            for up in graph.ancestors(name):
                if statuses[up].is_stale and not _failed(statuses[up]):
                    causes.setdefault(up, []).append(name)
    return {n: sorted(set(c)) for n, c in sorted(causes.items())}


def overdue(statuses: Mapping[str, AssetStatus]) -> dict[str, str]:
    """asset -> why it is overdue (the ``freshness`` reason's text)."""
    found = {}
    for name, status in statuses.items():
        for reason in status.reasons:
            if reason.kind == FRESHNESS:
                found[name] = reason.subject or "overdue"
    return found
