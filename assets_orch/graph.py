"""The lineage graph of assets: order, cycles, neighbourhoods and selections.

Selection grammar (one or more expressions, their union):
``name``, ``+name`` (with all upstreams), ``name+`` (with all downstreams), ``+name+``,
``2+name`` / ``name+1`` (limited depth), ``tag:x``, ``kind:sql|python``,
``path:models/marts`` (a folder or file), and ``*`` / shell globs on names (``stg_*``).

>>> from assets_orch.metadata import AssetMeta
>>> from assets_orch.specs import AssetSpec
>>> def s(name, *ups):
...     return AssetSpec(name, "sql", f"{name}.sql", 1, AssetMeta(), "f", upstreams=ups)
>>> g = AssetGraph([s("a"), s("b", "a"), s("c", "b")])
>>> g.order()
['a', 'b', 'c']
>>> sorted(g.select(["b+"]))
['b', 'c']
"""

from __future__ import annotations

import fnmatch
import re
from collections import deque
from collections.abc import Iterable
from graphlib import CycleError, TopologicalSorter

from .errors import GraphError, SelectionError
from .specs import AssetSpec

_GRAPH_OP = re.compile(r"^(?P<up>\d*\+)?(?P<body>[^+]+?)(?P<down>\+\d*)?$")


class AssetGraph:
    """Assets and their upstream edges; raises GraphError (naming the cycle) on a cycle."""

    def __init__(self, specs: Iterable[AssetSpec]) -> None:
        self.specs: dict[str, AssetSpec] = {s.name: s for s in specs}
        self._by_key = {s.key: s.name for s in self.specs.values()}
        self.upstreams: dict[str, tuple[str, ...]] = {
            n: tuple(sorted(s.upstreams)) for n, s in self.specs.items()
        }
        down: dict[str, list[str]] = {n: [] for n in self.specs}
        for name, ups in self.upstreams.items():
            for up in ups:
                down[up].append(name)
        self.downstreams: dict[str, tuple[str, ...]] = {
            n: tuple(sorted(d)) for n, d in down.items()
        }
        self._order = self._topological_order()
        self._rank = {n: i for i, n in enumerate(self._order)}

    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_key

    def resolve(self, name: str) -> str:
        """The asset's canonical name for ``name`` (case-insensitive), or SelectionError."""
        found = self._by_key.get(name.lower())
        if found is None:
            from .header import closest_name  # not on the path of a good load (yaml)

            close = closest_name(name, list(self.specs))
            raise SelectionError(
                f"no asset named '{name}'",
                hint=f"did you mean '{close}'?" if close else "see 'assets list'",
            )
        return found

    def _topological_order(self) -> list[str]:
        """Layers of assets whose upstreams are all in earlier layers, each layer sorted.

        The order graphlib's ``get_ready()``/``done()`` loop gives, without its bookkeeping
        (~0.1 s at 10,000 assets); graphlib still names the cycle when there is one.
        """
        waiting = {n: len(ups) for n, ups in self.upstreams.items()}
        layer = sorted(n for n, count in waiting.items() if count == 0)
        order: list[str] = []
        while layer:
            order.extend(layer)
            ready = []
            for name in layer:
                for down in self.downstreams[name]:
                    waiting[down] -= 1
                    if waiting[down] == 0:
                        ready.append(down)
            layer = sorted(ready)
        if len(order) != len(waiting):
            self._graphlib_order()  # raises GraphError naming the cycle
        return order

    def _graphlib_order(self) -> list[str]:
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in sorted(self.specs):
            sorter.add(name, *self.upstreams[name])
        try:
            sorter.prepare()
        except CycleError as e:
            cycle = list(e.args[1])
            # graphlib reports the cycle from downstream to upstream; print it in flow order.
            cycle.reverse()
            first = self.specs.get(cycle[0])
            raise GraphError(
                "dependency cycle: " + " -> ".join(cycle),
                path=first.path if first else None,
                hint="an asset cannot read, directly or not, its own output; break the cycle",
            ) from e
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Lineage order (upstreams first), deterministic; limited to ``names`` if given."""
        if names is None:
            return list(self._order)
        wanted = set(names)
        return sorted(wanted, key=self._rank.__getitem__)

    def ancestors(self, name: str, depth: int | None = None) -> set[str]:
        """All upstreams of ``name`` (not itself), up to ``depth`` hops."""
        return self._walk(name, self.upstreams, depth)

    def descendants(self, name: str, depth: int | None = None) -> set[str]:
        """All downstreams of ``name`` (not itself), up to ``depth`` hops."""
        return self._walk(name, self.downstreams, depth)

    def with_ancestors(self, names: Iterable[str]) -> set[str]:
        """``names`` and every upstream of them: what their statuses depend on."""
        names = set(names)
        return names | self._closure(names, self.upstreams)

    def descendants_of(self, names: Iterable[str]) -> set[str]:
        """Union of the downstream closures of ``names`` (not including them)."""
        return self._closure(names, self.downstreams)

    @staticmethod
    def _closure(names: Iterable[str], edges: dict[str, tuple[str, ...]]) -> set[str]:
        """Every node reached from ``names`` along ``edges`` (``names`` only if reached)."""
        seen: set[str] = set()
        queue = deque(names)
        while queue:
            for nxt in edges[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    @staticmethod
    def _walk(start: str, edges: dict[str, tuple[str, ...]], depth: int | None) -> set[str]:
        seen: set[str] = set()
        frontier = [start]
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            nxt = []
            for node in frontier:
                for other in edges[node]:
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
        seen.discard(start)
        return seen

    def select(self, expressions: Iterable[str]) -> set[str]:
        """Asset names matched by selection ``expressions`` (see module docstring).

        No expression means every asset. Raises SelectionError for a name that
        matches nothing.
        """
        exprs = [e for expr in expressions for e in expr.split() if e]
        if not exprs:
            return set(self.specs)
        chosen: set[str] = set()
        for expr in exprs:
            chosen |= self._select_one(expr)
        return chosen

    def _select_one(self, expr: str) -> set[str]:
        match = _GRAPH_OP.match(expr)
        if not match:
            raise SelectionError(
                f"cannot read selection '{expr}'",
                hint="use name, +name, name+, +name+, 2+name, tag:x, kind:sql, path:dir",
            )
        up, body, down = match.group("up"), match.group("body"), match.group("down")
        base = self._select_base(body)
        result = set(base)
        for name in base:
            if up:
                result |= self.ancestors(name, int(up[:-1]) if up[:-1] else None)
            if down:
                result |= self.descendants(name, int(down[1:]) if down[1:] else None)
        return result

    def _select_base(self, body: str) -> set[str]:
        if ":" in body:
            method, _, value = body.partition(":")
            if method == "tag":
                found = {n for n, s in self.specs.items() if value in s.meta.tags}
            elif method == "kind":
                found = {n for n, s in self.specs.items() if s.kind == value}
            elif method == "path":
                prefix = value.rstrip("/")
                found = {
                    n
                    for n, s in self.specs.items()
                    if s.path == prefix
                    or s.path.startswith(prefix + "/")
                    or fnmatch.fnmatch(s.path, value)
                }
            elif method == "owner":
                found = {n for n, s in self.specs.items() if s.meta.owner == value}
            else:
                raise SelectionError(
                    f"unknown selection method '{method}:' in '{body}'",
                    hint="methods are tag:, kind:, path:, owner:",
                )
            if not found:
                raise SelectionError(f"selection '{body}' matches no asset")
            return found
        if any(ch in body for ch in "*?["):
            found = {n for n in self.specs if fnmatch.fnmatch(n.lower(), body.lower())}
            if not found:
                raise SelectionError(f"pattern '{body}' matches no asset")
            return found
        return {self.resolve(body)}
