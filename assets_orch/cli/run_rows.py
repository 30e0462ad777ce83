"""The lines of ``assets runs show``: one per attempt, except that consecutive partitions
of one asset that ended alike are one range (a backfill of a year is a few lines, not
366). JSON output keeps one record per partition.

>>> from assets_orch.records import MaterializationRecord as M
>>> days = ("2024-03-01", "2024-03-02", "2024-03-03", "2024-03-05")
>>> mats = [M(d, "r", "a", "success", 0.0, 1.0, partition=d) for d in days]
>>> [row.label for row in attempt_rows(mats, {"a": "day"})]
['a[2024-03-01..2024-03-03] (3 partitions)', 'a[2024-03-05]']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..partitions.definition import KEY_SEP, TimeDim
from ..records import MaterializationRecord


@dataclass(frozen=True)
class AttemptRow:
    """An attempt, or ``count`` attempts at consecutive partitions that agree on status,
    attempt number and error (then ``first`` is the earliest partition's record)."""

    first: MaterializationRecord
    count: int = 1
    last_partition: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    row_count: int | None = None

    @property
    def label(self) -> str:
        m = self.first
        if m.partition is None:
            return m.asset
        if self.count == 1 or self.last_partition is None:
            return f"{m.asset}[{m.partition}]"
        head, _, static = m.partition.partition(KEY_SEP)
        last = self.last_partition.partition(KEY_SEP)[0]
        span = f"{head}..{last}" + (KEY_SEP + static if static else "")
        return f"{m.asset}[{span}] ({self.count} partitions)"

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


def attempt_rows(
    records: Sequence[MaterializationRecord], grains: Mapping[str, str]
) -> list[AttemptRow]:
    """``records`` (in run order) as lines, ranges folded; ``grains`` maps a partitioned
    asset to its time grain (otherwise it is read from the shape of the keys)."""
    placed: list[tuple[int, AttemptRow]] = []
    buckets: dict[tuple[object, ...], list[tuple[int, int, MaterializationRecord]]] = {}
    for position, m in enumerate(records):
        index = _time_index(m, grains)
        if index is None:
            placed.append((position, _row([m])))
            continue
        static = (m.partition or "").partition(KEY_SEP)[2]
        key = (m.asset, static, m.status, m.attempt, m.error)
        buckets.setdefault(key, []).append((index, position, m))
    for items in buckets.values():
        items.sort(key=lambda item: item[0])
        run = [items[0]]
        for item in items[1:]:
            if item[0] == run[-1][0] + 1:
                run.append(item)
                continue
            placed.append((min(p for _, p, _ in run), _row([m for _, _, m in run])))
            run = [item]
        placed.append((min(p for _, p, _ in run), _row([m for _, _, m in run])))
    placed.sort(key=lambda pair: pair[0])
    return [row for _, row in placed]


def _row(records: list[MaterializationRecord]) -> AttemptRow:
    ends = [m.ended_at for m in records]
    counts = [m.row_count for m in records if m.row_count is not None]
    return AttemptRow(
        first=records[0],
        count=len(records),
        last_partition=records[-1].partition,
        started_at=min(m.started_at for m in records),
        ended_at=None if None in ends else max(e for e in ends if e is not None),
        row_count=sum(counts) if counts else None,
    )


def _time_index(m: MaterializationRecord, grains: Mapping[str, str]) -> int | None:
    """The time index of ``m``'s partition, or None when it has none we can be sure of
    (no partition, no time dimension, or a key of another layout)."""
    if m.partition is None:
        return None
    head = m.partition.partition(KEY_SEP)[0]
    if "=" in head:
        return None
    grain = grains.get(m.asset) or ("hour" if "T" in head else "month" if len(head) == 7 else "day")
    try:
        index = TimeDim.parse_index(grain, head)
    except ValueError:
        return None
    # Only a key that is exactly the one of its index can be called next to another.
    return index if TimeDim("", grain, index, None).key(index) == head else None
