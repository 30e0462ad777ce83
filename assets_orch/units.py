"""Units of work: what the engine schedules.

A unit is a whole asset, or one batch of partitions of a partitioned asset (a range of
time partitions of one static key, written in one transaction). A :class:`WorkPlan`
lists units in an order that respects their dependencies, and says which units wait
for which.

>>> u = Unit("orders_daily", (), 19787, 19787, "2024-03-05")
>>> u.id, u.partitioned, Unit("stg_orders").id
('orders_daily[2024-03-05]', True, 'stg_orders')
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import AssetGraph


@dataclass(frozen=True)
class Unit:
    """A whole asset (``first is None``), or partitions ``first..last`` of one static key."""

    asset: str
    static: tuple[str, ...] = ()
    first: int | None = None
    last: int | None = None
    key: str | None = None  # readable partition key or range, e.g. 2024-03-01..2024-03-31

    @property
    def id(self) -> str:
        return self.asset if self.key is None else f"{self.asset}[{self.key}]"

    @property
    def partitioned(self) -> bool:
        return self.first is not None

    @property
    def size(self) -> int:
        """How many partitions (1 for a whole asset)."""
        if self.first is None or self.last is None:
            return 1
        return self.last - self.first + 1


@dataclass
class WorkPlan:
    """Units in dependency order, what each waits for, and units that cannot run."""

    units: list[Unit]
    deps: dict[str, set[str]]
    blocked: dict[str, str] = field(default_factory=dict)  # unit id -> why it is skipped

    @classmethod
    def of_assets(cls, graph: AssetGraph, names: list[str]) -> WorkPlan:
        """One unit per asset, waiting for its upstreams in the plan."""
        order = graph.order(names)
        chosen = set(order)
        return cls(
            [Unit(n) for n in order],
            {n: {u for u in graph.upstreams[n] if u in chosen} for n in order},
        )

    @property
    def ids(self) -> list[str]:
        return [u.id for u in self.units]

    @property
    def assets(self) -> list[str]:
        """The distinct assets of the plan, in plan order."""
        return list(dict.fromkeys(u.asset for u in self.units))

    def downstreams(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {u.id: [] for u in self.units}
        for uid, ups in self.deps.items():
            for up in ups:
                if up in out:
                    out[up].append(uid)
        return out

    def descendants(self, uid: str, downs: dict[str, list[str]]) -> list[str]:
        """Every unit downstream of ``uid``, in plan order."""
        rank = self.__dict__.get("_rank")
        if rank is None:
            rank = self.__dict__["_rank"] = {u: i for i, u in enumerate(self.ids)}
        seen: set[str] = set()
        stack = list(downs.get(uid, ()))
        while stack:
            nxt = stack.pop()
            if nxt not in seen:
                seen.add(nxt)
                stack.extend(downs.get(nxt, ()))
        return sorted(seen, key=rank.__getitem__)


class ReadyQueue:
    """Units whose dependencies are done, popped in plan order."""

    def __init__(self, ids: list[str]) -> None:
        self.rank = {u: i for i, u in enumerate(ids)}
        self._heap: list[int] = []
        self._ids = ids

    def push(self, uid: str) -> None:
        heapq.heappush(self._heap, self.rank[uid])

    def pop(self) -> str:
        return self._ids[heapq.heappop(self._heap)]

    def __bool__(self) -> bool:
        return bool(self._heap)
