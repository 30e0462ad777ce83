"""The partition strip of the HTML catalog: parsed from real exports, and its caps
checked on partition states far larger than a test can build."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, copy_project
from test_html_export import IMG_PAYLOAD, Page, built_shop, index_rows, parse

from assets_orch.html import export_catalog, strip
from assets_orch.html.export import page_digest
from assets_orch.partitions.definition import PartitionsDef, TimeDim
from assets_orch.partitions.status import PartitionStatus, PState
from assets_orch.project import Project
from assets_orch.staleness import Reason

STALE_DAY = "2024-03-05"
__all__ = ["built_shop"]  # a fixture: the example project, materialized once per module


def segments(page: Page) -> list[dict[str, str]]:
    """The strip's blocks, left to right (the page paints urgent states last)."""
    found = [r for r in page.all("rect") if "seg" in r.get("class", "").split()]
    return sorted(found, key=lambda r: (r.get("data-static", ""), float(r["x"])))


def expected_blocks(ranges: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(state, count, span) of each range of `assets partitions NAME --json`."""
    return [
        (r["state"], r["count"], r["from"] if r["from"] == r["to"] else f"{r['from']} .. {r['to']}")
        for r in ranges
    ]


def check_strip(site: Path, report: dict[str, Any]) -> Page:
    """The page of ``report["name"]`` draws, counts and lists what the CLI reports."""
    page = parse(site / "assets" / f"{report['name']}.html")
    assert page.by_id("partition-strip") is not None
    drawn = [(s["data-state"], int(s["data-count"]), s["data-span"]) for s in segments(page)]
    assert drawn == expected_blocks(report["ranges"])
    legend = {
        a["data-state"]: int(a["data-count"])
        for a in page.all("span")
        if "legend-item" in a.get("class", "")
    }
    assert legend == report["counts"]
    assert f"{report['total']} partitions" in page.text_of("partition-counts")
    listed = [(r["data-state"], int(r["data-count"])) for r in page.all("tr") if "data-state" in r]
    assert listed == [(r["state"], r["count"]) for r in report["ranges"]]
    row = next(r for r in index_rows(site) if r["name"] == report["name"])
    assert row["parts"] == {k: v for k, v in report["counts"].items() if v}
    return page


def test_the_strip_matches_assets_partitions(built_shop: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    cli = Cli(built_shop)
    cli("catalog", "export", str(site))
    report = cli.json("partitions", "revenue_by_day")
    assert report["counts"]["fresh"] == 366
    page = check_strip(site, report)
    assert "day by order_date, 2024-01-01 .. 2024-12-31" in page.text_of("partition-span")
    ticks = [t for t in page.all("text") if "strip-tick" in t.get("class", "")]
    assert len(ticks) >= 2  # the time axis: first and last day at least
    # Its columns are those of its partitions, its history names each partition, and
    # no run link points at the aggregate of all partitions (it has no run).
    assert page.by_id("col-revenue") is not None
    assert "Partition" in page.text_of("history") and "2024-12-31" in page.text_of("history")
    assert all(a["href"] != "../runs.html#run-" for a in page.all("a"))
    # Unpartitioned assets have no strip and no counts in the index.
    assert parse(site / "assets" / "orders_daily.html").by_id("partitions") is None
    assert next(r for r in index_rows(site) if r["name"] == "orders_daily")["parts"] is None


def test_a_stale_day_rewrites_the_page_and_shows_stale(tmp_path: Path) -> None:
    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path / "shop")
    cli = Cli(root)
    cli("materialize")
    site = tmp_path / "site"
    cli("catalog", "export", str(site))
    page_file = site / "assets" / "revenue_by_day.html"
    before = page_file.read_bytes()
    # A late correction: the orders of one day were delivered, then cancelled.
    csv = root / "data" / "orders.csv"
    text = csv.read_text()
    edited = re.sub(rf"^(\d+,\d+,{STALE_DAY}),delivered$", r"\1,cancelled", text, flags=re.M)
    assert edited != text
    csv.write_text(edited)
    cli("materialize", "+int_orders_enriched")  # the day's upstream, not the day itself
    report = cli.json("partitions", "revenue_by_day")
    assert [r["from"] for r in report["ranges"] if r["state"] == "stale"] == [STALE_DAY]
    summary = cli.json("catalog", "export", str(site))
    assert summary["pages_written"] >= 1 and page_file.read_bytes() != before
    page = check_strip(site, report)
    stale = [s for s in segments(page) if s["data-state"] == "stale"]
    assert [s["data-span"] for s in stale] == [STALE_DAY]
    assert float(stale[0]["width"]) >= strip.MIN_WIDTH
    assert "upstream changed: int_orders_enriched" in page.text_of("partition-ranges")


def hourly(total: int) -> PartitionStatus:
    start = TimeDim.parse_index("hour", "2020-01-01T00:00")
    definition = PartitionsDef(TimeDim("at", "hour", start, start + total - 1))
    return PartitionStatus("events", definition, start, start + total - 1)


def test_100000_partitions_in_few_ranges_give_few_blocks() -> None:
    status = hourly(100_000)
    first = status.first
    stale = PState("stale", (Reason("upstream changed", "raw_events"),))
    status.rows[()] = [
        (first, first + 49_999, PState("fresh")),
        (first + 50_000, first + 50_000, stale),  # one hour among 100,000
        (first + 50_001, first + 89_999, PState("fresh")),
        (first + 90_000, first + 99_999, PState("missing")),
    ]
    made = strip.partition_strip(status)
    blocks = made.rows[0].blocks
    assert len(blocks) == 4 and made.total == 100_000
    assert dict(made.counts) == {"fresh": 89_999, "stale": 1, "missing": 10_000, "failed": 0}
    lone = next(b for b in blocks if b.state == "stale")
    assert lone.width == strip.MIN_WIDTH and lone.span == "2025-09-14T08:00"
    assert "upstream changed: raw_events" in lone.title
    missing = next(b for b in blocks if b.state == "missing")
    assert missing.width == pytest.approx(strip.WIDTH / 10)
    assert len(made.ranges) == made.range_count == 4


def test_100000_ranges_are_capped_and_the_lone_failure_stays_visible() -> None:
    status = hourly(100_000)
    first = status.first
    states = [PState("fresh"), PState("stale", (Reason("code changed"),))]
    rows = [(first + i, first + i, states[i % 2]) for i in range(100_000)]
    rows[70_001] = (first + 70_001, first + 70_001, PState("failed", (Reason("last run failed"),)))
    status.rows[()] = rows
    made = strip.partition_strip(status)
    blocks = made.rows[0].blocks
    assert len(blocks) <= strip.MAX_BLOCKS
    assert sum(b.count for b in blocks) == 100_000
    failed = [b for b in blocks if b.state == "failed"]
    assert len(failed) == 1 and failed[0].mixed and "1 failed" in failed[0].title
    assert len(made.ranges) == strip.RANGE_LIST_LIMIT and made.range_count == 100_000


def test_many_static_keys_draw_the_ones_that_need_attention() -> None:
    day = TimeDim.parse_index("day", "2024-01-01")
    regions = tuple(f"r{i:03d}" for i in range(100))
    definition = PartitionsDef(TimeDim("d", "day", day, day + 9), (("region", regions),))
    status = PartitionStatus("sales", definition, day, day + 9)
    for (region,) in definition.static_keys():
        state = "missing" if region in ("r050", "r099") else "fresh"
        status.rows[(region,)] = [(day, day + 9, PState(state))]
    made = strip.partition_strip(status)
    labels = [r.label for r in made.rows]
    assert len(labels) == strip.MAX_ROWS and labels == sorted(labels)
    assert {"region=r050", "region=r099"} <= set(labels)
    assert made.hidden_rows == 100 - strip.MAX_ROWS
    assert made.hidden_summary == f"{(100 - strip.MAX_ROWS) * 10} fresh"


def test_a_changed_strip_changes_the_page_hash(built_shop: Path) -> None:
    """The incremental export rewrites a page whose partition states changed, even
    when nothing else on it did."""
    project = Project.load(built_shop)
    judgement = project.judge()
    status = judgement.partitions["revenue_by_day"]
    from assets_orch.html import model

    pictures = model.Pictures(None, None)
    exported = {n: model.slug(n) for n in project.graph.specs}
    spec = project.graph.specs["revenue_by_day"]
    args = (project, spec, judgement.statuses["revenue_by_day"], judgement.statuses, exported)
    page = model.asset_page(*args, pictures, 0.0, status)
    moved = dataclasses.replace(status, rows={(): [(status.first, status.last, PState("stale"))]})
    other = dataclasses.replace(page, partitions=strip.partition_strip(moved))
    assert page_digest("shared", page) != page_digest("shared", other)
    assert page_digest("shared", page) == page_digest(
        "shared", model.asset_page(*args, pictures, 0.0, status)
    )


def test_static_keys_are_text_not_markup(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "p"\n')
    value = IMG_PAYLOAD.replace('"', "'")
    (root / "models" / "sales.sql").write_text(
        "-- partitioned_by: d\n-- grain: day\n-- start: 2024-01-01\n-- end: 2024-01-31\n"
        f'-- partitions: {{region: ["{value}", us]}}\n'
        "select $start::date as d, $region as region, 1 as n where $start < $end\n"
    )
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    page = parse(site / "assets" / "sales.html")
    assert not page.all("img")
    assert f"region={value}" in page.text_of("partition-strip")  # the label's tooltip
    assert f"region={value}" in page.text_of("partition-ranges")
    assert dict(next(r for r in index_rows(site))["parts"]) == {"missing": 62}


def test_rows_share_one_budget_of_blocks() -> None:
    day = TimeDim.parse_index("day", "2024-01-01")
    regions = tuple(f"r{i:02d}" for i in range(strip.MAX_ROWS))
    definition = PartitionsDef(TimeDim("d", "day", day, day + 399), (("region", regions),))
    status = PartitionStatus("sales", definition, day, day + 399)
    states = [PState("fresh"), PState("missing")]
    for key in definition.static_keys():
        status.rows[key] = [(day + i, day + i, states[i % 2]) for i in range(400)]
    made = strip.partition_strip(status)
    assert len(made.rows) == strip.MAX_ROWS and made.has_mixed
    assert sum(len(r.blocks) for r in made.rows) <= strip.MAX_BLOCKS_TOTAL
    assert all(sum(b.count for b in r.blocks) == 400 for r in made.rows)


def test_static_only_and_not_yet_started_assets(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "p"\n')
    (root / "models" / "by_region.sql").write_text(
        "-- partitions: {region: [eu, us, apac]}\nselect $region as region, 1 as n\n"
    )
    (root / "models" / "future.sql").write_text(
        "-- partitioned_by: d\n-- grain: day\n-- start: 2099-01-01\n"
        "select $start::date as d, 1 as n where $start < $end\n"
    )
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    page = parse(site / "assets" / "by_region.html")
    drawn = [(s["data-state"], s["data-span"]) for s in segments(page)]
    assert sorted(drawn) == [("missing", f"region={r}") for r in ("apac", "eu", "us")]
    assert "along time" not in page.text_of("partition-strip")
    future = parse(site / "assets" / "future.html")
    assert future.by_id("partition-strip") is None and future.by_id("partition-ranges") is None
    assert "No partition is complete yet" in future.text_of("partitions")
    assert {r["name"]: r["parts"] for r in index_rows(site)} == {
        "by_region": {"missing": 3},
        "future": {},
    }
