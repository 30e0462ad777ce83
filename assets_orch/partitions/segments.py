"""Integer ranges with values: the compact form of partition state.

A *segment list* is a sorted list of non-overlapping ``(lo, hi, value)`` triples, both
ends inclusive. Everything partition-related is computed on segments, never on single
partitions, so its cost grows with the number of distinct runs of state, not with the
number of partitions: a year of daily partitions built in one backfill is one segment.

>>> merge([(1, 3, "a"), (4, 9, "a"), (10, 10, "b")])
[(1, 9, 'a'), (10, 10, 'b')]
>>> sweep([(0, 9, 1), (5, 14, 2)], 0, 19, lambda vs: sum(vs))
[(0, 4, 1), (5, 9, 3), (10, 14, 2), (15, 19, 0)]
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import TypeVar

V = TypeVar("V")
R = TypeVar("R")
Segment = tuple[int, int, V]


def merge(segments: Iterable[tuple[int, int, V]]) -> list[tuple[int, int, V]]:
    """Join neighbours that touch and carry equal values (input sorted by ``lo``)."""
    out: list[tuple[int, int, V]] = []
    for lo, hi, value in segments:
        if out and out[-1][1] + 1 == lo and out[-1][2] == value:
            out[-1] = (out[-1][0], hi, value)
        else:
            out.append((lo, hi, value))
    return out


def clip(segments: Iterable[tuple[int, int, V]], lo: int, hi: int) -> list[tuple[int, int, V]]:
    """The parts of ``segments`` inside ``lo..hi``."""
    return [(max(a, lo), min(b, hi), v) for a, b, v in segments if b >= lo and a <= hi]


def sweep(
    segments: Iterable[tuple[int, int, V]],
    lo: int,
    hi: int,
    combine: Callable[[list[V]], R],
) -> list[tuple[int, int, R]]:
    """Cover ``lo..hi`` with segments whose value combines the input values there.

    Inputs may overlap (several upstream ranges mapped onto one partition); a stretch
    no input covers gets ``combine([])``. Equal neighbours are merged. ``combine`` gets
    the distinct values, and is called once per distinct set of them (values must be
    hashable), so its cost
    does not grow with the number of segments. Cost: O(n log n) in the number of input
    segments, independent of ``hi - lo``.
    """
    if hi < lo:
        return []
    items = sorted((s for s in segments if s[1] >= lo and s[0] <= hi), key=itemgetter(0))
    cache: dict[frozenset[V], R] = {}
    # Fast path, the common shape: values covering everything (an upstream without
    # time, a fresh upstream) plus one sorted list of non-overlapping ranges.
    everywhere = [v for a, b, v in items if a <= lo and b >= hi]
    rest = [s for s in items if not (s[0] <= lo and s[1] >= hi)]
    if all(x[1] < y[0] for x, y in zip(rest, rest[1:], strict=False)):
        return _overlay(rest, everywhere, lo, hi, combine, cache)
    ends: list[tuple[int, int]] = []  # heap of (last index, input number) of active inputs
    active: dict[int, V] = {}
    out: list[tuple[int, int, R]] = []
    position, i, count = lo, 0, len(items)
    while position <= hi:
        while ends and ends[0][0] < position:
            del active[heapq.heappop(ends)[1]]
        while i < count and items[i][0] <= position:
            active[i] = items[i][2]
            heapq.heappush(ends, (items[i][1], i))
            i += 1
        nxt = items[i][0] if i < count else hi + 1
        if ends and ends[0][0] + 1 < nxt:
            nxt = ends[0][0] + 1
        if nxt > hi + 1:
            nxt = hi + 1
        key = frozenset(active.values())
        value = cache.get(key)
        if value is None and key not in cache:
            value = cache[key] = combine(list(key))
        if out and out[-1][1] + 1 == position and out[-1][2] == value:
            out[-1] = (out[-1][0], nxt - 1, out[-1][2])
        else:
            out.append((position, nxt - 1, value))  # type: ignore[arg-type]
        position = nxt
    return out


def _overlay(
    items: list[tuple[int, int, V]],
    everywhere: list[V],
    lo: int,
    hi: int,
    combine: Callable[[list[V]], R],
    cache: dict[frozenset[V], R],
) -> list[tuple[int, int, R]]:
    """:func:`sweep` for non-overlapping sorted ``items`` plus values valid everywhere."""
    base = frozenset(everywhere)
    out: list[tuple[int, int, R]] = []

    def emit(a: int, b: int, key: frozenset[V]) -> None:
        value = cache.get(key)
        if value is None and key not in cache:
            value = cache[key] = combine(list(key))
        if out and out[-1][1] + 1 == a and out[-1][2] == value:
            out[-1] = (out[-1][0], b, out[-1][2])
        else:
            out.append((a, b, value))  # type: ignore[arg-type]

    position = lo
    for a, b, v in items:
        a, b = max(a, lo), min(b, hi)
        if a > position:
            emit(position, a - 1, base)
        emit(a, b, base | {v})
        position = b + 1
    if position <= hi:
        emit(position, hi, base)
    return out


def runs(indices: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted distinct integers as inclusive ranges.

    >>> runs([5, 1, 2, 3, 9])
    [(1, 3), (5, 5), (9, 9)]
    """
    out: list[tuple[int, int]] = []
    for i in sorted(set(indices)):
        if out and out[-1][1] + 1 == i:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def chunks(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    """``lo..hi`` cut into ranges of at most ``size``.

    >>> chunks(1, 7, 3)
    [(1, 3), (4, 6), (7, 7)]
    """
    return [(a, min(a + size - 1, hi)) for a in range(lo, hi + 1, max(1, size))]


def length(segments: Iterable[tuple[int, int, object]]) -> int:
    """How many integers the segments cover."""
    return sum(b - a + 1 for a, b, _ in segments)


def union_sorted(lists: Iterable[list[tuple[int, int, V]]]) -> list[tuple[int, int, V]]:
    """Several segment lists merged into one list sorted by ``lo`` (they may overlap)."""
    return list(heapq.merge(*lists, key=lambda s: s[0]))
