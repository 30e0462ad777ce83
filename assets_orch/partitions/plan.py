"""Turn selected assets and partition options into a plan of units.

A partitioned asset contributes batches: runs of consecutive partitions of one static
key, cut at ``batch_size``. Which partitions: every partition in its span, narrowed by
``--partition`` / ``--from`` / ``--to``, by ``--stale`` (only partitions that are not
fresh) and by ``--retry-failed`` (only the partitions the last run did not build).
Units wait for the units of their upstreams that overlap them through the partition
mapping (see status.py); an unpartitioned asset waits for every batch of its
partitioned upstreams.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..staleness import FRESH, MISSING_R
from ..units import Unit, WorkPlan
from .definition import PartitionFilter, PartitionsDef
from .segments import chunks, clip, runs
from .status import compatible, map_into

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from .status import PartitionStatus


@dataclass(frozen=True)
class PlanRequest:
    """The partition options of one ``materialize``."""

    filter: PartitionFilter = PartitionFilter()
    stale_only: bool = False
    batch_size: int | None = None
    retry: dict[str, set[str]] | None = None  # asset -> partition keys to rebuild


def build_plan(
    graph: AssetGraph,
    names: list[str],
    parts: dict[str, PartitionStatus],
    request: PlanRequest,
) -> WorkPlan:
    """Units for ``names`` (lineage order) with their dependencies."""
    units: list[Unit] = []
    by_asset: dict[str, list[Unit]] = {}
    for name in graph.order(names):
        status = parts.get(name)
        chosen = [Unit(name)] if status is None else _batches(status, request)
        by_asset[name] = chosen
        units += chosen
    deps: dict[str, set[str]] = {}
    blocked: dict[str, str] = {}
    index = {a: _Index(us, parts.get(a)) for a, us in by_asset.items()}
    for unit in units:
        spec = graph.specs[unit.asset]
        wait: set[str] = set()
        for up in spec.upstreams:
            if up not in by_asset:
                if unit.partitioned and up in parts:
                    reason = _missing_upstream(unit, parts[unit.asset], parts[up])
                    if reason:
                        blocked[unit.id] = reason
                continue
            wait |= index[up].overlapping(unit, parts.get(unit.asset))
        deps[unit.id] = wait
    return WorkPlan(units, deps, blocked)


def _batches(status: PartitionStatus, request: PlanRequest) -> list[Unit]:
    definition = status.definition
    size = request.batch_size or definition.batch_size
    retry = request.retry.get(status.name) if request.retry is not None else None
    out = []
    for static, segments in status.rows.items():
        if not request.filter.keeps_static(definition, static):
            continue
        if definition.time is not None:
            wanted = request.filter.time_ranges(definition.time, status.first, status.last)
        else:
            wanted = [(status.first, status.last)]
        if request.stale_only:
            wanted = [
                (lo, hi)
                for a, b in wanted
                for lo, hi, st in clip(segments, a, b)
                if st.state != FRESH
            ]
        if retry is not None:
            keys = [definition.parse_key(k) for k in retry]
            picked = [(a, b, None) for a, b in runs(i for s, i in keys if s == static)]
            wanted = [(lo, hi) for a, b in wanted for lo, hi, _ in clip(picked, a, b)]
        for a, b in _join(wanted):
            for lo, hi in chunks(a, b, size):
                key = definition.range_key(static, lo, hi)
                out.append(Unit(status.name, static, lo, hi, key))
    return out


def _join(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with touching neighbours joined, so batches span them."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


class _Index:
    """The units of one asset, for finding those a downstream unit overlaps."""

    def __init__(self, units: list[Unit], status: PartitionStatus | None) -> None:
        self.units = units
        self.status = status
        self.by_static: dict[tuple[str, ...], list[Unit]] = {}
        for u in units:
            self.by_static.setdefault(u.static, []).append(u)
        self._mapped: dict[tuple[tuple[str, ...], str], tuple[list[int], list]] = {}

    def _map(
        self, static: tuple[str, ...], down: PartitionStatus
    ) -> tuple[list[int], list[tuple[int, int, Unit]]]:
        key = (static, down.name)
        if key not in self._mapped:
            assert self.status is not None
            mapped = []
            for u in self.by_static[static]:
                lo, hi = map_into(
                    self.status.definition,
                    down.definition,
                    u.first or 0,
                    u.last or 0,
                    down.first,
                    down.last,
                )
                mapped.append((lo, hi, u))
            self._mapped[key] = ([m[1] for m in mapped], mapped)
        return self._mapped[key]

    def overlapping(self, down: Unit, down_status: PartitionStatus | None) -> set[str]:
        if self.status is None or not down.partitioned or down_status is None:
            return {u.id for u in self.units}  # whole assets wait for everything
        out: set[str] = set()
        for static in self.by_static:
            if not compatible(down_status.definition, down.static, self.status.definition, static):
                continue
            his, mapped = self._map(static, down_status)
            start = bisect.bisect_left(his, down.first or 0)
            for lo, _hi, u in mapped[start:]:
                if lo > (down.last or 0):
                    break
                out.add(u.id)
        return out


def _missing_upstream(down: Unit, status: PartitionStatus, up: PartitionStatus) -> str | None:
    """Why ``down`` cannot run: a partition it reads is missing and not being built."""
    for static, segments in up.rows.items():
        if not compatible(status.definition, down.static, up.definition, static):
            continue
        lo, hi = _reverse(status.definition, up.definition, down, up)
        for a, b, st in clip(segments, lo, hi):
            if any(r.kind == MISSING_R for r in st.reasons):
                key = up.definition.range_key(static, a, b)
                return f"upstream {up.name}[{key}] is missing (select it too: +{down.asset})"
    return None


def _reverse(
    down: PartitionsDef, up: PartitionsDef, unit: Unit, up_status: PartitionStatus
) -> tuple[int, int]:
    """The upstream indices that ``unit``'s partitions read."""
    if down.time is not None and up.time is not None:
        return down.time.map_range(up.time, unit.first or 0, unit.last or 0)
    return up_status.first, up_status.last
