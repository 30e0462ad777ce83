"""The partition strip of a partitioned asset's page, built from ranges.

Partitions run along time, one row per static key, each range of partitions in one
state drawn as a block whose width is proportional to its length, so the cost follows
the number of ranges, never the number of partitions: a year of days built in one
backfill is one block, and so are 100,000 hours. Nothing here knows HTML; the
template draws the blocks as an inline SVG (positions are SVG attributes, colours CSS
classes: nothing for the Content-Security-Policy to block).

Two caps keep a page small whatever the shape of the state:

- a row of more ranges than it has blocks (``MAX_BLOCKS``, fewer when many rows share
  ``MAX_BLOCKS_TOTAL``) is drawn as that many equal stretches of time, each taking the
  most urgent state among its partitions (failed, stale, missing, fresh) and saying its
  counts in its tooltip;
- more than ``MAX_ROWS`` static keys show the ``MAX_ROWS`` with the most partitions
  not fresh, and a line counts the rest; the text list stops at ``RANGE_LIST_LIMIT``.

>>> from assets_orch.partitions.definition import PartitionsDef, TimeDim
>>> from assets_orch.partitions.status import PartitionStatus, PState
>>> day = TimeDim.parse_index("day", "2024-01-01")
>>> status = PartitionStatus("t", PartitionsDef(TimeDim("d", "day", day, day + 9)), day, day + 9)
>>> status.rows[()] = [(day, day + 7, PState("fresh")), (day + 8, day + 9, PState("missing"))]
>>> strip = partition_strip(status)
>>> strip.summary
'10 partitions: 8 fresh, 2 missing'
>>> for b in strip.rows[0].blocks:
...     print(b.state, b.x, b.width, b.span)
fresh 0.0 800.0 2024-01-01 .. 2024-01-08
missing 800.0 200.0 2024-01-09 .. 2024-01-10
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..partitions.status import STATES

if TYPE_CHECKING:
    from ..partitions.status import PartitionStatus, Segments

WIDTH = 1000.0  # SVG user units of the time axis; the picture scales to the page
LABEL_WIDTH = 200.0  # room for the static key at the left of each row
LABEL_CHARS = 24
ROW_HEIGHT = 16.0
ROW_GAP = 4.0
AXIS_HEIGHT = 20.0
MIN_WIDTH = 2.0  # a lone stale hour among 100,000 must still be seen
MAX_BLOCKS = 400  # per row: about 2.5 units each at most
MAX_BLOCKS_TOTAL = 2400  # per strip: many rows share it (24 rows: 100 blocks each)
MAX_ROWS = 24
MAX_TICKS = 5
RANGE_LIST_LIMIT = 200
REASONS_CHARS = 300
# Which state a block standing for several ranges takes: the most urgent present.
URGENCY = ("failed", "stale", "missing", "fresh")

Counts = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Block:
    """One drawn stretch of a row, in SVG units from the left of the time axis."""

    x: float
    width: float
    state: str
    count: int
    span: str  # "2024-03-05", "2024-03-01 .. 2024-03-31", or the static key
    title: str  # the tooltip
    mixed: bool = False  # stands for several ranges (a capped row)


@dataclass(frozen=True)
class StripRow:
    label: str  # the static key ("region=eu"), '' without static dimensions
    short: str  # as drawn: the values (``eu · web``); the label is its tooltip
    y: float
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str  # SVG text-anchor: start, middle, end


@dataclass(frozen=True)
class RangeLine:
    """One line of the text list, as ``assets partitions NAME`` prints it."""

    static: str
    span: str
    state: str
    count: int
    reasons: str


@dataclass(frozen=True)
class PartitionStrip:
    """Everything the partitions section of an asset page shows.

    Its ``repr`` is part of the page's input hash (export.py), so a changed partition
    state rewrites the page on the next incremental export.
    """

    description: str  # dimensions and span, as `assets partitions` prints them
    total: int
    counts: Counts  # by state, in STATES order
    rows: tuple[StripRow, ...]
    hidden_rows: int  # static keys not drawn
    hidden_counts: Counts
    ticks: tuple[Tick, ...]
    left: float  # where the time axis starts (after the labels)
    height: float
    ranges: tuple[RangeLine, ...]
    range_count: int  # every range; the list may stop before
    static_column: bool  # the range list names static keys beside time spans
    timed: bool  # the asset has a time dimension

    axis_width = WIDTH
    row_height = ROW_HEIGHT

    @property
    def view_width(self) -> float:
        return self.left + WIDTH

    @property
    def summary(self) -> str:
        """``366 partitions: 365 fresh, 1 stale``, as the CLI prints it."""
        return f"{self.total:,} partitions: {_counts_text(self.counts) or 'none yet'}"

    @property
    def has_mixed(self) -> bool:
        """Whether a drawn block stands for several ranges in different states."""
        return any(b.mixed for r in self.rows for b in r.blocks)

    @property
    def hidden_summary(self) -> str:
        return _counts_text(self.hidden_counts)


def partition_strip(status: PartitionStatus) -> PartitionStrip:
    """The strip, legend and range list of one partitioned asset: O(ranges)."""
    definition = status.definition
    labelled = bool(definition.static)
    left = LABEL_WIDTH if labelled else 0.0
    rows = [(static, segments) for static, segments in status.rows.items() if segments]
    shown, hidden = _choose_rows(rows)
    hidden_counts = dict.fromkeys(STATES, 0)
    for _, segments in hidden:
        for lo, hi, st in segments:
            hidden_counts[st.state] += hi - lo + 1
    drawn = []
    limit = min(MAX_BLOCKS, MAX_BLOCKS_TOTAL // max(len(shown), 1))
    for i, (static, segments) in enumerate(shown):
        label = definition.static_label(static)
        short = " · ".join(static)  # the dimension names are in the line above the strip
        short = short if len(short) <= LABEL_CHARS else short[: LABEL_CHARS - 1] + "…"
        blocks = _blocks(status, static, segments, left, limit)
        drawn.append(StripRow(label, short, i * (ROW_HEIGHT + ROW_GAP), blocks))
    ticks = _ticks(status, left) if drawn else ()
    height = len(drawn) * (ROW_HEIGHT + ROW_GAP) - ROW_GAP + (AXIS_HEIGHT if ticks else 0)
    lines, count = _range_lines(status)
    return PartitionStrip(
        description=status.describe(),
        total=status.total,
        counts=tuple(status.counts().items()),
        rows=tuple(drawn),
        hidden_rows=len(hidden),
        hidden_counts=tuple(hidden_counts.items()),
        ticks=ticks,
        left=left,
        height=max(height, 0.0),
        ranges=lines,
        range_count=count,
        static_column=bool(definition.static) and definition.time is not None,
        timed=definition.time is not None,
    )


def _choose_rows(
    rows: list[tuple[tuple[str, ...], Segments]],
) -> tuple[list[tuple[tuple[str, ...], Segments]], list[tuple[tuple[str, ...], Segments]]]:
    """The rows to draw (in declaration order) and the rest: past ``MAX_ROWS``, the
    static keys with the most partitions not fresh are the ones drawn."""
    if len(rows) <= MAX_ROWS:
        return rows, []

    def not_fresh(segments: Segments) -> int:
        return sum(hi - lo + 1 for lo, hi, st in segments if st.state != "fresh")

    ranked = sorted(range(len(rows)), key=lambda i: (-not_fresh(rows[i][1]), i))
    keep = set(ranked[:MAX_ROWS])
    return (
        [r for i, r in enumerate(rows) if i in keep],
        [r for i, r in enumerate(rows) if i not in keep],
    )


def _blocks(
    status: PartitionStatus, static: tuple[str, ...], segments: Segments, left: float, limit: int
) -> tuple[Block, ...]:
    if not segments:
        return ()
    first, last = segments[0][0], segments[-1][1]
    scale = WIDTH / (last - first + 1)
    # Without time the span is the static key already (see _span).
    definition = status.definition
    prefix = f"{definition.static_label(static)} " if definition.static and definition.time else ""
    out = []
    if len(segments) <= limit:
        for lo, hi, st in segments:
            span = _span(status, static, lo, hi)
            count = hi - lo + 1
            title = f"{prefix}{span}: {st.state}, {_plural(count)}"
            why = "; ".join(str(r) for r in st.reasons)
            if why:
                title += f" ({why[:REASONS_CHARS]})"
            out.append(_block(lo, hi, first, scale, left, st.state, count, span, title, False))
    else:
        for lo, hi, counts in _buckets(segments, first, last, limit):
            state = next(s for s in URGENCY if counts.get(s))
            span = _span(status, static, lo, hi)
            tally = ", ".join(f"{counts[s]:,} {s}" for s in STATES if counts.get(s))
            title = f"{prefix}{span}: {tally}"
            mixed = len([s for s in counts if counts[s]]) > 1
            out.append(_block(lo, hi, first, scale, left, state, hi - lo + 1, span, title, mixed))
    # The most urgent states are painted last, so a widened narrow block stays on top.
    out.sort(key=lambda b: (-URGENCY.index(b.state), b.x))
    return tuple(out)


def _block(
    lo: int,
    hi: int,
    first: int,
    scale: float,
    left: float,
    state: str,
    count: int,
    span: str,
    title: str,
    mixed: bool,
) -> Block:
    x, width = (lo - first) * scale, (hi - lo + 1) * scale
    if width < MIN_WIDTH:
        x = min(max(x + width / 2 - MIN_WIDTH / 2, 0.0), WIDTH - MIN_WIDTH)
        width = MIN_WIDTH
    return Block(round(left + x, 2), round(width, 2), state, count, span, title, mixed)


def _buckets(
    segments: Segments, first: int, last: int, limit: int
) -> list[tuple[int, int, dict[str, int]]]:
    """``segments`` cut into ``limit`` equal stretches, each with its partitions
    counted by state; neighbours whose most urgent state agrees are joined.
    O(segments + limit)."""
    n = last - first + 1
    out: list[tuple[int, int, dict[str, int]]] = []
    i = 0
    for j in range(limit):
        a, b = first + j * n // limit, first + (j + 1) * n // limit - 1
        if b < a:
            continue
        counts: dict[str, int] = {}
        while i < len(segments) and segments[i][0] <= b:
            lo, hi, st = segments[i]
            overlap = min(hi, b) - max(lo, a) + 1
            if overlap > 0:
                counts[st.state] = counts.get(st.state, 0) + overlap
            if hi > b:
                break
            i += 1
        urgent = next(s for s in URGENCY if counts.get(s))
        if out and next(s for s in URGENCY if out[-1][2].get(s)) == urgent:
            joined = dict(out[-1][2])
            for state, k in counts.items():
                joined[state] = joined.get(state, 0) + k
            out[-1] = (out[-1][0], b, joined)
        else:
            out.append((a, b, counts))
    return out


def _ticks(status: PartitionStatus, left: float) -> tuple[Tick, ...]:
    """Up to ``MAX_TICKS + 1`` evenly spaced partition keys under the time axis."""
    time = status.definition.time
    if time is None or status.first > status.last:
        return ()
    n = status.last - status.first + 1
    steps = min(MAX_TICKS, n - 1)
    if steps == 0:
        return (Tick(round(left + WIDTH / 2, 2), time.key(status.first), "middle"),)
    ticks = []
    for j in range(steps + 1):
        index = status.first + round(j * (n - 1) / steps)
        x = left + (index - status.first + 0.5) * WIDTH / n
        anchor = "start" if j == 0 else "end" if j == steps else "middle"
        if j == 0:
            x = left
        elif j == steps:
            x = left + WIDTH
        ticks.append(Tick(round(x, 2), time.key(index), anchor))
    return tuple(ticks)


def _range_lines(status: PartitionStatus) -> tuple[tuple[RangeLine, ...], int]:
    definition = status.definition
    lines: list[RangeLine] = []
    count = 0
    for static, segments in status.rows.items():
        label = definition.static_label(static)
        for lo, hi, st in segments:
            count += 1
            if len(lines) < RANGE_LIST_LIMIT:
                why = "; ".join(str(r) for r in st.reasons)
                span = _span(status, static, lo, hi)
                key = label if definition.time is not None else ""  # else the span says it
                lines.append(RangeLine(key, span, st.state, hi - lo + 1, why))
    return tuple(lines), count


def _span(status: PartitionStatus, static: tuple[str, ...], lo: int, hi: int) -> str:
    time = status.definition.time
    if time is None:
        return status.definition.static_label(static)
    return time.key(lo) if lo == hi else f"{time.key(lo)} .. {time.key(hi)}"


def _plural(count: int) -> str:
    return f"{count:,} partition{'s' if count != 1 else ''}"


def _counts_text(counts: Counts) -> str:
    return ", ".join(f"{n:,} {state}" for state, n in counts if n)
