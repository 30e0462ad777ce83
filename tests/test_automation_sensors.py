"""Sensors and late sources, on real projects: files dropped in data/, upstreams rebuilt by
hand, a source that is late while the rest of the shop keeps being built."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from conftest import Cli
from helpers import write_project

from assets_orch.automation.daemon import Daemon, TickReport
from assets_orch.catalog import Catalog
from assets_orch.project import Project


def tick(root: Path, now: float | None = None) -> TickReport:
    daemon = Daemon(root, env={})
    try:
        return daemon.tick(now)
    finally:
        daemon.close()


def built_in(root: Path, report: TickReport) -> set[str]:
    """Assets materialized by the runs of one tick, read back from the catalog."""
    catalog = Catalog(root / ".assets/catalog.sqlite")
    return {
        m.asset
        for run in report.runs
        for m in catalog.materializations_of_run(run.run_id)
        if m.status == "success"
    }


def stale_plan(root: Path) -> set[str]:
    return {a["name"] for a in Cli(root).json("materialize", "--stale", "--dry-run")["assets"]}


def events_project(root: Path) -> Path:
    return write_project(
        root,
        {
            "data/events/2024-01-01.csv": "id,kind\n1,view\n2,buy\n",
            "data/prices.csv": "sku,price\na,1\n",
            "models/events.sql": "select * from read_csv('data/events/*.csv')",
            "models/event_counts.sql": "select kind, count(*) as n from events group by kind",
            "models/prices.sql": "select * from read_csv('data/prices.csv')",
            "models/constant.sql": "select 42 as answer",
            "models/report.sql": "select * from event_counts, prices",
        },
    )


def test_a_new_csv_triggers_a_run_of_exactly_the_stale_assets_downstream(tmp_path: Path) -> None:
    root = events_project(tmp_path / "p")
    Cli(root)("materialize")
    assert tick(root).runs == []  # baseline: nothing changed, nothing runs

    (root / "data/events/2024-01-02.csv").write_text("id,kind\n3,view\n")
    expected = stale_plan(root)
    assert expected == {"events", "event_counts", "report"}

    report = tick(root)
    [run] = report.runs
    assert run.status == "success"
    assert built_in(root, report) == expected
    assert Catalog(root / ".assets/catalog.sqlite").runs()[0].trigger == "sensor:files"
    assert ("sensor", "data/events/*.csv", "changed") in [
        (d.kind, d.subject, d.action) for d in report.decisions
    ]
    assert tick(root).runs == []  # and then all is fresh again


def test_a_changed_file_in_the_shop_rebuilds_its_downstream_only(shop: Path) -> None:
    Cli(shop)("materialize")
    tick(shop)
    with (shop / "data/payments.csv").open("a") as fh:
        fh.write("9999,4000,credit_card,10.00,2024-12-31 14:00:00\n")
    expected = stale_plan(shop)
    assert "stg_payments" in expected and "stg_products" not in expected
    report = tick(shop)
    assert len(report.runs) == 1
    assert built_in(shop, report) <= expected
    assert "stg_payments" in built_in(shop, report)


def test_a_file_that_appears_triggers_its_readers(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/arrivals.sql": "select * from read_csv('data/arrivals.csv')",
            "models/arrivals_total.sql": "select count(*) as n from arrivals",
            "models/other.sql": "select 1 as x",
        },
    )
    Cli(root)("materialize", expect=1)  # the file is not there yet: arrivals fails
    first = tick(root)
    assert first.runs == []  # a failed asset is not retried again and again on the same input

    (root / "data").mkdir()
    (root / "data/arrivals.csv").write_text("id\n1\n2\n")
    report = tick(root)
    assert [(d.subject, d.action) for d in report.decisions if d.kind == "sensor"] == [
        ("data/arrivals.csv", "appeared")
    ]
    assert built_in(root, report) == {"arrivals", "arrivals_total"}


def test_an_upstream_rebuilt_by_hand_triggers_downstream_that_opted_in(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/base.sql": "select 1 as x",
            "models/follows_too.sql": "-- on: [upstream]\nselect y * 2 as z from follows",
            "assets/follow.py": """
            from assets_orch import asset


            @asset(on=["upstream"])
            def follows(base):
                return base.project("x + 1 as y")
            """,
            "models/ignores.sql": "select x * 10 as w from base",
        },
    )
    Cli(root)("materialize")
    tick(root)
    (root / "models/base.sql").write_text("select 2 as x")
    Cli(root)("materialize", "base")  # by hand, outside the downstream's selection

    report = tick(root)
    assert built_in(root, report) == {"follows", "follows_too"}
    assert Catalog(root / ".assets/catalog.sqlite").runs()[0].trigger == "sensor:upstream"
    status = {s["name"]: s["state"] for s in Cli(root).json("status")}
    assert status["ignores"] == "stale"  # did not opt in: waits for a schedule or a person


LATE_SHOP = """
[sources."data/payments.csv"]
description = "Payments from the payment provider (the 'NetSuite' of this shop)."
owner = "finance@shop.example"
freshness = "24h"

[[schedules]]
name = "hourly"
cron = "0 * * * *"
"""


def test_with_one_source_late_the_rest_is_built_and_the_others_wait(shop: Path) -> None:
    with (shop / "assets.toml").open("a") as fh:
        fh.write(LATE_SHOP)
    three_days_ago = time.time() - 3 * 86400
    os.utime(shop / "data/payments.csv", (three_days_ago, three_days_ago))

    project = Project.load(shop)
    readers = {n for n, s in project.graph.specs.items() if "data/payments.csv" in s.file_sources}
    held = readers | project.graph.descendants_of(readers)
    assert held and held != set(project.graph.specs)

    now = (time.time() // 3600 + 1) * 3600  # the next full hour: the schedule is due
    report = tick(shop, now)
    [run] = report.runs
    assert run.status == "success"
    assert set(run.outcomes) == set(project.graph.specs) - held
    assert built_in(shop, report) == set(project.graph.specs) - held
    waiting = {d.subject for d in report.decisions if d.kind == "waiting"}
    assert waiting == held
    assert ("source", "data/payments.csv", "late") in [
        (d.kind, d.subject, d.action) for d in report.decisions
    ]

    sources = {s["name"]: s for s in Cli(shop).json("sources")}
    assert sources["data/payments.csv"]["late"] is True
    assert sources["data/payments.csv"]["owner"] == "finance@shop.example"
    assert sources["data/orders.csv"]["late"] is False

    # The payments arrive: what waited is built on the next tick, without waiting for 06:00.
    with (shop / "data/payments.csv").open("a") as fh:
        fh.write("9999,4000,credit_card,10.00,2024-12-31 14:00:00\n")
    arrived = tick(shop, now + 60)
    assert built_in(shop, arrived) == held
    assert ("source", "data/payments.csv", "back on time") in [
        (d.kind, d.subject, d.action) for d in arrived.decisions
    ]


def test_a_table_source_loaded_again_rebuilds_what_reads_it(tmp_path: Path) -> None:
    import duckdb

    root = write_project(
        tmp_path / "p",
        {"models/orders_clean.sql": "select * from raw.orders where id > 0"},
        'name = "t"\n\n[sources."raw.orders"]\nloaded_at = "_loaded_at"\nfreshness = "1d"\n',
    )
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create schema raw")
    con.execute("create table raw.orders as select 1 as id, now() as _loaded_at")
    con.close()
    Cli(root)("materialize")
    [source] = Cli(root).json("sources")
    assert source["kind"] == "table" and source["state"] == "ok"
    assert tick(root).runs == []

    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("insert into raw.orders select 2, now() + interval 1 second")
    con.close()
    report = tick(root)
    assert built_in(root, report) == {"orders_clean"}
    assert json.loads(json.dumps([d.to_json() for d in report.decisions]))[0]["action"] == "loaded"


def test_a_build_interrupted_by_a_crash_is_retried_by_the_sensors(tmp_path: Path) -> None:
    """'not retried on the same input' is about failures, not crashes."""
    from assets_orch.automation.sensors import file_targets, upstream_targets
    from assets_orch.graph import AssetGraph
    from assets_orch.staleness import LAST_FAILED, SOURCE, UPSTREAM_CHANGED, AssetStatus, Reason

    root = write_project(
        tmp_path / "p",
        {
            "data/v.csv": "v\n1\n",
            "models/stg.sql": "select v from read_csv('data/v.csv')",
            "models/down.sql": "-- on: [upstream]\nselect v from stg",
        },
    )
    graph: AssetGraph = Project.load(root, check_tables=False).graph

    def statuses(last_failed: str | None) -> dict[str, AssetStatus]:
        failed = Reason(LAST_FAILED, last_failed)
        return {
            "stg": AssetStatus("stg", "failed", (Reason(SOURCE, "data/v.csv"), failed)),
            "down": AssetStatus("down", "failed", (Reason(UPSTREAM_CHANGED, "stg"), failed)),
        }

    crashed = statuses("interrupted")
    assert set(file_targets(graph, crashed, {})) == {"stg", "down"}
    assert set(upstream_targets(graph, crashed)) == {"down"}
    failed = statuses(None)
    assert "stg" not in file_targets(graph, failed, {})
    assert upstream_targets(graph, failed) == {}
