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
    """Cover ``lo..hi`` with segments whose value combines every input value there.

    Inputs may overlap (several upstream ranges mapped onto one partition); a stretch
    no input covers gets ``combine([])``. Equal neighbours are merged. Cost:
    O(n log n) in the number of input segments, independent of ``hi - lo``.
    """
    if hi < lo:
        return []
    events: list[tuple[int, int, int]] = []  # (position, +1 start / -1 end, input number)
    items = [s for s in segments if s[1] >= lo and s[0] <= hi]
    for n, (a, b, _) in enumerate(items):
        events.append((max(a, lo), 1, n))
        events.append((min(b, hi) + 1, -1, n))
    events.sort()
    active: dict[int, V] = {}
    out: list[tuple[int, int, R]] = []
    position = lo
    i = 0
    cache: dict[tuple[int, ...], R] = {}
    while position <= hi:
        while i < len(events) and events[i][0] == position:
            _, kind, n = events[i]
            if kind == 1:
                active[n] = items[n][2]
            else:
                active.pop(n, None)
            i += 1
        nxt = events[i][0] if i < len(events) else hi + 1
        nxt = min(nxt, hi + 1)
        signature = tuple(sorted(active))
        if signature not in cache:
            cache[signature] = combine([active[n] for n in signature])
        value = cache[signature]
        if out and out[-1][1] + 1 == position and out[-1][2] == value:
            out[-1] = (out[-1][0], nxt - 1, value)
        else:
            out.append((position, nxt - 1, value))
        position = nxt
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
