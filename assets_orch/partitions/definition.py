"""What a partitioned asset declares: a time dimension, static dimensions, batches.

A time partition is numbered by its **index**: whole grains since the Unix epoch
(days since 1970-01-01, hours since 1970-01-01T00:00, weeks since Monday 1970-01-05,
months since 1970-01). Indices do not depend on the asset's ``start``, so moving the
start never renumbers what was built, and partitions of two assets compare directly.

>>> t = TimeDim("order_date", "day", TimeDim.parse_index("day", "2024-01-01"), None)
>>> t.key(t.start), t.bounds(t.start)
('2024-01-01', (datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)))
>>> TimeDim.parse_index("month", "2024-03-17") - TimeDim.parse_index("month", "2024-01")
2
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import MetadataError, SelectionError

if TYPE_CHECKING:
    from ..metadata import AssetMeta

GRAINS = ("hour", "day", "week", "month")
EPOCH = datetime(1970, 1, 1)
EPOCH_MONDAY = date(1970, 1, 5)
NO_TIME = 0  # the index of every partition of an asset without a time dimension
KEY_SEP = "|"  # between the time key and static keys in a partition key


def grain_of_signature(signature: str | None) -> str | None:
    """The time grain a layout :attr:`PartitionsDef.signature` names, if any.

    >>> grain_of_signature("order_date/day;region"), grain_of_signature("-;region")
    ('day', None)
    """
    time = (signature or "-").split(";", 1)[0]
    return time.rsplit("/", 1)[1] if "/" in time else None


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime(value.year, value.month, value.day)


def parse_moment(text: str | date | datetime) -> datetime:
    """``2024-03``, ``2024-03-05``, ``2024-03-05T13`` or ``2024-03-05 13:00`` -> datetime.

    >>> parse_moment("2024-03"), parse_moment("2024-03-05T13")
    (datetime.datetime(2024, 3, 1, 0, 0), datetime.datetime(2024, 3, 5, 13, 0))
    """
    if isinstance(text, date | datetime):
        return _as_datetime(text)
    raw = str(text).strip()
    if len(raw) == 7 and raw[4] == "-":
        raw += "-01"
    if len(raw) == 13 and raw[10] in "T ":
        raw += ":00"
    try:
        return _as_datetime(datetime.fromisoformat(raw))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a date; write 2024-03-05, 2024-03 or 2024-03-05T13:00"
        ) from None


@dataclass(frozen=True)
class TimeDim:
    """A time dimension: the column that holds it, its grain and its span (indices)."""

    column: str
    grain: str
    start: int
    end: int | None  # last partition, inclusive; None: the last complete one as of now

    # ---- index arithmetic -------------------------------------------------------------

    @staticmethod
    def index_at(grain: str, moment: datetime) -> int:
        """The index of the partition of ``grain`` that contains ``moment``."""
        if grain == "hour":
            return int((moment - EPOCH).total_seconds() // 3600)
        if grain == "day":
            return (moment.date() - EPOCH.date()).days
        if grain == "week":
            return (moment.date() - EPOCH_MONDAY).days // 7
        return (moment.year - 1970) * 12 + moment.month - 1

    @staticmethod
    def window_start(grain: str, index: int) -> datetime:
        """When partition ``index`` of ``grain`` begins."""
        if grain == "hour":
            return EPOCH + timedelta(hours=index)
        if grain == "day":
            return EPOCH + timedelta(days=index)
        if grain == "week":
            return datetime.combine(EPOCH_MONDAY, datetime.min.time()) + timedelta(weeks=index)
        year, month = divmod(index, 12)
        return datetime(1970 + year, month + 1, 1)

    @classmethod
    def parse_index(cls, grain: str, text: str | date | datetime) -> int:
        """The index of the ``grain`` partition containing the moment ``text`` names."""
        return cls.index_at(grain, parse_moment(text))

    def index_of(self, text: str | date | datetime) -> int:
        return self.parse_index(self.grain, text)

    def window(self, index: int) -> tuple[datetime, datetime]:
        """``[start, end)`` of partition ``index`` as naive UTC datetimes."""
        return self.window_start(self.grain, index), self.window_start(self.grain, index + 1)

    def bounds(self, index: int) -> tuple[date | datetime, date | datetime]:
        """The values of ``$start`` / ``$end`` for partition ``index`` (dates, or datetimes
        for hourly partitions)."""
        lo, hi = self.window(index)
        return (lo, hi) if self.grain == "hour" else (lo.date(), hi.date())

    def key(self, index: int) -> str:
        """The readable key: ``2024-03-05T13:00``, ``2024-03-05``, week's Monday, ``2024-03``."""
        lo = self.window_start(self.grain, index)
        if self.grain == "hour":
            return lo.strftime("%Y-%m-%dT%H:00")
        if self.grain == "month":
            return lo.strftime("%Y-%m")
        return lo.strftime("%Y-%m-%d")

    def last(self, now: float) -> int:
        """The last partition: ``end``, or else the last one complete at ``now``."""
        if self.end is not None:
            return self.end
        current = self.index_at(self.grain, datetime.fromtimestamp(now, UTC).replace(tzinfo=None))
        return current - 1

    def map_range(self, other: TimeDim, first: int, last: int) -> tuple[int, int]:
        """The indices of ``other`` whose windows overlap partitions ``first..last`` of self.

        Same grain: the identity. Different grains: the time window. A day maps to the
        month containing it; a month maps to its days.
        """
        if other.grain == self.grain:
            return first, last
        lo = self.window_start(self.grain, first)
        hi = self.window_start(self.grain, last + 1) - timedelta(microseconds=1)
        return self.index_at(other.grain, lo), self.index_at(other.grain, hi)


@dataclass(frozen=True)
class PartitionsDef:
    """How an asset is partitioned: an optional time dimension and static dimensions.

    Static dimensions are named after the column that holds them; every combination
    of their values (in declaration order) is one *static key*, and each static key
    has one partition per time index (or exactly one, ``NO_TIME``, without time).
    """

    time: TimeDim | None
    static: tuple[tuple[str, tuple[str, ...]], ...] = ()
    batch_size: int = 1

    @classmethod
    def from_meta(cls, meta: AssetMeta, *, path: str = "") -> PartitionsDef | None:
        """The partitions an asset's metadata declares, or None when it is not partitioned."""
        static = tuple((name, tuple(values)) for name, values in meta.partitions)
        if meta.partitioned_by is None and not static:
            return None
        time = None
        if meta.partitioned_by is not None:
            if meta.grain is None or meta.start is None:
                raise MetadataError(
                    "partitioned_by needs 'grain' and 'start'",
                    path=path,
                    hint="e.g. '-- grain: day' and '-- start: 2024-01-01'",
                )
            start = TimeDim.parse_index(meta.grain, meta.start)
            end = TimeDim.parse_index(meta.grain, meta.end) if meta.end is not None else None
            if end is not None and end < start:
                raise MetadataError(f"end {meta.end} is before start {meta.start}", path=path)
            time = TimeDim(meta.partitioned_by, meta.grain, start, end)
        return cls(time, static, meta.batch_size or 1)

    @property
    def dims(self) -> tuple[str, ...]:
        """Dimension names: ``time`` first (when present), then the static ones."""
        return (("time",) if self.time else ()) + tuple(n for n, _ in self.static)

    @property
    def params(self) -> tuple[str, ...]:
        """The query parameters a partition fills: ``start``, ``end`` and static names."""
        return (("start", "end") if self.time else ()) + tuple(n for n, _ in self.static)

    @property
    def signature(self) -> str:
        """What the stored layout depends on; when it changes, the table is rebuilt."""
        time = f"{self.time.column}/{self.time.grain}" if self.time else "-"
        return f"{time};{','.join(n for n, _ in self.static)}"

    def static_keys(self) -> list[tuple[str, ...]]:
        """Every combination of static values, in declaration order (``[()]`` without)."""
        return [tuple(combo) for combo in itertools.product(*(v for _, v in self.static))]

    def static_label(self, values: tuple[str, ...]) -> str:
        """``region=eu|channel=web`` ('' without static dimensions)."""
        return KEY_SEP.join(f"{n}={v}" for (n, _), v in zip(self.static, values, strict=True))

    def parse_static_label(self, label: str) -> tuple[str, ...]:
        if not label:
            return ()
        values = dict(part.split("=", 1) for part in label.split(KEY_SEP))
        return tuple(values.get(n, "") for n, _ in self.static)

    def span(self, now: float) -> tuple[int, int]:
        """First and last time index (``NO_TIME`` twice without a time dimension)."""
        if self.time is None:
            return NO_TIME, NO_TIME
        return self.time.start, self.time.last(now)

    def count(self, now: float) -> int:
        first, last = self.span(now)
        return max(0, last - first + 1) * len(self.static_keys())

    def key(self, static: tuple[str, ...], index: int) -> str:
        """A partition's key: ``2024-03-05``, ``2024-03-05|region=eu``, ``region=eu``."""
        parts = [self.time.key(index)] if self.time else []
        label = self.static_label(static)
        return KEY_SEP.join(parts + ([label] if label else []))

    def range_key(self, static: tuple[str, ...], first: int, last: int) -> str:
        """A batch's key: ``2024-03-01..2024-03-31|region=eu``."""
        if self.time is None or first == last:
            return self.key(static, first)
        label = self.static_label(static)
        text = f"{self.time.key(first)}..{self.time.key(last)}"
        return text + (KEY_SEP + label if label else "")

    def parse_key(self, key: str) -> tuple[tuple[str, ...], int]:
        """The inverse of :meth:`key`."""
        parts = key.split(KEY_SEP) if key else []
        index = NO_TIME
        if self.time is not None:
            index = self.time.index_of(parts.pop(0))
        return self.parse_static_label(KEY_SEP.join(parts)), index

    def describe_span(self, first: int, last: int) -> str:
        """What partitions there are: ``2024-01-01 .. 2024-12-31; region: eu, us``."""
        parts = []
        if self.time is not None:
            if first <= last:
                parts.append(f"{self.time.key(first)} .. {self.time.key(last)}")
            else:
                parts.append(f"none complete yet, from {self.time.key(self.time.start)}")
        parts += [f"{name}: {', '.join(values)}" for name, values in self.static]
        return "; ".join(parts)

    def params_for(self, static: tuple[str, ...], first: int, last: int) -> dict[str, Any]:
        """Query parameters for partitions ``first..last`` of static key ``static``."""
        values: dict[str, Any] = {}
        if self.time is not None:
            values["start"] = self.time.bounds(first)[0]
            values["end"] = self.time.bounds(last)[1]
        for (name, _), value in zip(self.static, static, strict=True):
            values[name] = value
        return values


@dataclass(frozen=True)
class PartitionFilter:
    """Which partitions a command is about: ``--partition`` and ``--from`` / ``--to``.

    ``--partition 2024-03-05`` picks a time partition, ``--partition region=eu`` a static
    value (repeatable; values of one dimension are OR-ed, dimensions AND-ed).
    """

    times: tuple[str, ...] = ()
    static: tuple[tuple[str, str], ...] = ()
    time_from: str | None = None
    time_to: str | None = None

    @classmethod
    def from_cli(
        cls, partitions: tuple[str, ...], time_from: str | None, time_to: str | None
    ) -> PartitionFilter:
        times, static = [], []
        for item in partitions:
            if "=" in item:
                name, value = item.split("=", 1)
                static.append((name.strip(), value.strip()))
            else:
                times.append(item.strip())
        for text in (*times, time_from, time_to):
            if text is not None:
                try:
                    parse_moment(text)
                except ValueError as e:
                    raise SelectionError(str(e)) from None
        if time_from is not None and time_to is not None:
            if parse_moment(time_from) > parse_moment(time_to):
                raise SelectionError(
                    f"--from {time_from} is after --to {time_to}: that selects no partition",
                    hint=f"swap them: --from {time_to} --to {time_from}",
                )
        return cls(tuple(times), tuple(static), time_from, time_to)

    def describe(self) -> str:
        """The options as they were typed: ``--partition 2024-03-05 --from 2024-01-01``."""
        words = [f"--partition {t}" for t in self.times]
        words += [f"--partition {name}={value}" for name, value in self.static]
        if self.time_from is not None:
            words.append(f"--from {self.time_from}")
        if self.time_to is not None:
            words.append(f"--to {self.time_to}")
        return " ".join(words)

    @property
    def is_empty(self) -> bool:
        return not (self.times or self.static or self.time_from or self.time_to)

    def check_dims(self, definitions: dict[str, PartitionsDef]) -> None:
        """Refuse a static dimension that no selected asset has (a typo, most likely)."""
        known = {n for d in definitions.values() for n, _ in d.static}
        for name, _ in self.static:
            if name not in known:
                raise SelectionError(
                    f"no selected asset is partitioned by '{name}'",
                    hint=f"known dimensions: {', '.join(sorted(known)) or 'none'}",
                )

    def time_ranges(self, time: TimeDim, first: int, last: int) -> list[tuple[int, int]]:
        """The index ranges of ``first..last`` that the filter keeps, sorted."""
        lo, hi = first, last
        if self.time_from is not None:
            lo = max(lo, time.index_of(self.time_from))
        if self.time_to is not None:
            hi = min(hi, time.index_of(self.time_to))
        if not self.times:
            return [(lo, hi)] if lo <= hi else []
        picked = sorted({time.index_of(t) for t in self.times})
        return [(i, i) for i in picked if lo <= i <= hi]

    def selects_any(self, definition: PartitionsDef, first: int, last: int) -> bool:
        """True when the filter keeps at least one of the partitions ``first..last``.

        Time options select nothing of an asset without a time dimension.
        """
        if not any(self.keeps_static(definition, v) for v in definition.static_keys()):
            return False
        if definition.time is None:
            return not (self.times or self.time_from or self.time_to)
        return bool(self.time_ranges(definition.time, first, last))

    def keeps_static(self, definition: PartitionsDef, values: tuple[str, ...]) -> bool:
        wanted: dict[str, set[str]] = {}
        for name, value in self.static:
            wanted.setdefault(name, set()).add(value)
        for (name, _), value in zip(definition.static, values, strict=True):
            if name in wanted and value not in wanted[name]:
                return False
        return True
