"""The pure parts of partitions: time arithmetic, segments, the range store, mappings,
per-partition staleness, and crash reconciliation of partitions."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import Cli
from helpers import write_project
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_orch.catalog import Catalog
from assets_orch.partitions.definition import (
    PartitionFilter,
    PartitionsDef,
    TimeDim,
    parse_moment,
)
from assets_orch.partitions.segments import merge, sweep
from assets_orch.partitions.store import PartitionStore, failed, marked, succeeded
from assets_orch.records import RUNNING


def day(text: str) -> int:
    return TimeDim.parse_index("day", text)


@pytest.mark.parametrize("grain", ["hour", "day", "week", "month"])
def test_keys_and_windows_round_trip(grain: str) -> None:
    t = TimeDim("c", grain, TimeDim.parse_index(grain, "1969-12-01"), None)
    for index in range(t.start, t.start + 2000, 7):
        lo, hi = t.window(index)
        assert t.index_of(t.key(index)) == index
        assert t.index_of(lo) == index and t.index_of(hi) == index + 1
        assert t.index_of(hi - dt.timedelta(microseconds=1)) == index


def test_keys_read_like_dates() -> None:
    assert TimeDim("c", "week", 0, None).key(TimeDim.parse_index("week", "2024-03-07")) == (
        "2024-03-04"  # the Monday
    )
    assert TimeDim("c", "hour", 0, None).key(TimeDim.parse_index("hour", "2024-03-07T13:45")) == (
        "2024-03-07T13:00"
    )
    assert parse_moment("2024-03-05 13:00") == dt.datetime(2024, 3, 5, 13)
    with pytest.raises(ValueError, match="is not a date"):
        parse_moment("March")


def test_time_window_mappings() -> None:
    d = TimeDim("c", "day", 0, None)
    m = TimeDim("c", "month", 0, None)
    w = TimeDim("c", "week", 0, None)
    h = TimeDim("c", "hour", 0, None)
    feb = TimeDim.parse_index("month", "2024-02")
    assert d.map_range(m, day("2024-02-10"), day("2024-02-10")) == (feb, feb)
    assert m.map_range(d, feb, feb) == (day("2024-02-01"), day("2024-02-29"))
    assert d.map_range(d, 5, 9) == (5, 9)
    week = TimeDim.parse_index("week", "2024-02-26")
    assert w.map_range(d, week, week) == (day("2024-02-26"), day("2024-03-03"))
    assert w.map_range(m, week, week) == (feb, feb + 1)  # a week across two months
    first = TimeDim.parse_index("hour", "2024-02-10T00")
    assert d.map_range(h, day("2024-02-10"), day("2024-02-10")) == (first, first + 23)


def test_static_dimensions_have_no_cap() -> None:
    meta_dims = tuple((f"d{i}", ("a", "b")) for i in range(5))
    definition = PartitionsDef(TimeDim("c", "day", 0, 1), meta_dims)
    keys = definition.static_keys()
    assert len(keys) == 32 and definition.count(now=0) == 64
    key = definition.key(keys[5], 1)
    assert definition.parse_key(key) == (keys[5], 1)
    assert key == "1970-01-02|d0=a|d1=a|d2=b|d3=a|d4=b"


def test_filter_picks_time_ranges_and_static_values() -> None:
    t = TimeDim("c", "day", day("2024-01-01"), day("2024-12-31"))
    f = PartitionFilter.from_cli(("region=eu",), "2024-03-01", "2024-03-31")
    assert f.time_ranges(t, t.start, day("2024-12-31")) == [(day("2024-03-01"), day("2024-03-31"))]
    definition = PartitionsDef(t, (("region", ("eu", "us")),))
    assert f.keeps_static(definition, ("eu",)) and not f.keeps_static(definition, ("us",))
    picked = PartitionFilter.from_cli(("2024-02-01", "2025-01-01"), None, None)
    assert picked.time_ranges(t, t.start, day("2024-12-31")) == [
        (day("2024-02-01"), day("2024-02-01"))
    ]


segments_st = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 15), st.integers(0, 3)), max_size=12
).map(lambda xs: [(a, a + n, v) for a, n, v in xs])


@given(segments_st, st.integers(0, 30), st.integers(0, 40))
def test_sweep_equals_partition_by_partition(segs: list, lo: int, width: int) -> None:
    hi = lo + width
    out = sweep(segs, lo, hi, lambda vs: tuple(sorted(vs)))
    covered = [i for a, b, _ in out for i in range(a, b + 1)]
    assert covered == list(range(lo, hi + 1))
    for a, b, value in out:
        for i in range(a, b + 1):
            assert value == tuple(sorted({v for x, y, v in segs if x <= i <= y}))
    assert merge(out) == out  # neighbours already merged


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50),
            st.integers(0, 12),
            st.sampled_from(["ok", "ok2", "fail", "mark"]),
        ),
        max_size=15,
    )
)
def test_store_matches_a_per_partition_model(
    tmp_path_factory: pytest.TempPathFactory, ops: list
) -> None:
    store = PartitionStore(tmp_path_factory.mktemp("s") / "c.sqlite")
    store.ensure("a", "sig")
    model: dict[int, object] = {}
    for lo, width, kind in ops:
        hi = lo + width
        if kind == "fail":
            fn = failed("boom")
        elif kind == "mark":
            fn = marked("up")
        else:
            fn = succeeded(fingerprint=kind, consumed="{}")
        store.update("a", [("", lo, hi, fn)])
        for i in range(lo, hi + 1):
            new = fn(model.get(i))  # type: ignore[arg-type]
            if new is None:
                model.pop(i, None)
            else:
                model[i] = new
    segments = store.ranges("a").get("", [])
    seen = {i: s for a, b, s in segments for i in range(a, b + 1)}
    assert seen == model
    assert all(not (b1 + 1 == a2 and s1 == s2) for (_, b1, s1), (a2, _, s2) in pairwise(segments))
    store.close()


def test_hours_built_one_run_at_a_time_stay_one_range(tmp_path: Path) -> None:
    store = PartitionStore(tmp_path / "c.sqlite")
    for name in ("a", "b"):
        store.ensure(name, "sig")
    ok = succeeded(fingerprint="f", consumed="{}")
    for i in range(1000):  # out of order, as parallel batches finish
        j = (i * 7919) % 1000
        # b's partition j is built first (a backfill of b); then a's changes and marks it,
        # then b's is rebuilt, as in a run that builds both.
        store.update("b", [("", j, j, ok)])
        store.update("a", [("", j, j, ok)], data_changed=True, marks=[("b", "", j, j, marked("a"))])
        store.update("b", [("", j, j, ok)])
    assert [(a, b) for a, b, _ in store.ranges("a")[""]] == [(0, 999)]
    assert [(a, b) for a, b, _ in store.ranges("b")[""]] == [(0, 999)]
    # One day of a changes: it marks exactly that day of b, splitting b's range in three.
    store.update(
        "a", [("", 500, 500, ok)], data_changed=True, marks=[("b", "", 500, 500, marked("a"))]
    )
    assert [(x, y, s.dirty) for x, y, s in store.ranges("b")[""]] == [
        (0, 499, ""),
        (500, 500, "a"),
        (501, 999, ""),
    ]
    assert store.summary("a")[:2] == (1001, 1000)  # version bumped by every change
    store.update("b", [("", 500, 500, ok)])
    assert len(store.ranges("b")[""]) == 1


CRASH_DAILY = """
-- partitioned_by: d
-- grain: day
-- start: 2024-01-01
-- end: 2024-01-03
select d from (select DATE '2024-01-01' + i::INTEGER as d from range(3) t(i))
where d >= $start and d < $end
"""


def test_reconcile_partitions_left_running_by_a_dead_writer(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/days.sql": CRASH_DAILY})
    cli = Cli(root)
    cli.json("materialize")
    catalog = Catalog(root / ".assets/catalog.sqlite")
    mats = {m.partition: m for m in catalog.history("days") if m.partition}
    committed = mats["2024-01-01"]
    # As if the process died after DuckDB committed one batch and before another did.
    catalog.finish_materialization(replace(committed, status=RUNNING, ended_at=None))
    lost = replace(mats["2024-01-02"], id="deadbeef00000000", status=RUNNING, ended_at=None)
    catalog.finish_materialization(lost)
    result = cli("materialize", "--stale", "--json")
    assert "1 partition(s) had committed" in result.output
    assert "1 partition(s) were interrupted" in result.output
    after = {m.id: m.status for m in catalog.history("days", 50)}
    assert after[committed.id] == "success" and after[lost.id] == "interrupted"
    report = cli.json("partitions", "days")
    assert report["counts"]["fresh"] == 3  # the interrupted day was rebuilt by --stale


def test_without_end_the_last_partition_is_the_last_complete_one() -> None:
    now = dt.datetime(2024, 3, 5, 13, 30, tzinfo=dt.UTC).timestamp()
    days = TimeDim("c", "day", day("2024-03-01"), None)
    assert days.key(days.last(now)) == "2024-03-04"  # today is not complete yet
    hours = TimeDim("c", "hour", TimeDim.parse_index("hour", "2024-03-05T00"), None)
    assert hours.key(hours.last(now)) == "2024-03-05T12:00"
    months = TimeDim("c", "month", TimeDim.parse_index("month", "2024-01"), None)
    assert months.key(months.last(now)) == "2024-02"
    definition = PartitionsDef(days)
    assert definition.count(now) == 4
