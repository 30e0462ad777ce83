"""Partitioned assets end to end, through the real CLI on real DuckDB files: backfills,
--stale, one changed day, failures and --retry-failed, time-window mappings."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.catalog import Catalog

DAILY = """
-- partitioned_by: order_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-12-31
-- batch_size: {batch}
-- checks:
--   - row_count: {{min: 1}}
select order_date, count(*) as orders, sum(amount) as revenue
from read_csv('data/orders.csv', header = true,
              columns = {{'order_id': 'INTEGER', 'order_date': 'DATE', 'amount': 'INTEGER'}})
where order_date >= $start and order_date < $end
group by order_date
"""

ROLLUP = """
-- partitioned_by: order_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-12-31
-- batch_size: {batch}
select order_date, revenue / orders as avg_order
from orders_daily
where order_date >= $start and order_date < $end
"""

WEEKLY = """
-- partitioned_by: week
-- grain: week
-- start: 2023-01-02
-- end: 2023-12-25
select date_trunc('week', order_date)::date as week, sum(orders) as orders
from orders_daily
where order_date >= $start and order_date < $end
group by 1
"""

TOTAL = "select sum(revenue) as revenue, count(*) as days from orders_daily"


def orders_csv(days: int, skip: frozenset[int] = frozenset()) -> str:
    start = dt.date(2023, 1, 1)
    lines = ["order_id,order_date,amount"]
    oid = 0
    for d in range(days):
        if d in skip:
            continue
        for k in range(2):
            oid += 1
            lines.append(f"{oid},{start + dt.timedelta(days=d)},{(d * 7 + k * 3) % 50 + 1}")
    return "\n".join(lines) + "\n"


def year_project(root: Path, batch: int = 73) -> Path:
    return write_project(
        root,
        {
            "data/orders.csv": orders_csv(365),
            "models/orders_daily.sql": DAILY.format(batch=batch),
            "models/orders_rollup.sql": ROLLUP.format(batch=batch),
            "models/orders_weekly.sql": WEEKLY,
            "models/orders_total.sql": TOTAL,
        },
    )


def query(root: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def partition_mats(root: Path, asset: str) -> list[tuple[str, str]]:
    catalog = Catalog(root / ".assets/catalog.sqlite")
    rows = catalog._read(
        "SELECT partition, status FROM materializations WHERE asset = ? AND partition IS NOT NULL",
        (asset,),
    )
    return [(str(p), str(s)) for p, s in rows]


def built(result: dict) -> dict[str, list[str]]:
    """asset -> partition keys (or ["*"]) built by a run, from materialize --json."""
    out: dict[str, list[str]] = {}
    for a in result["assets"]:
        if a["status"] == "success":
            out.setdefault(a["name"], []).append(a["partition"] or "*")
    return out


def stale_ranges(cli: Cli, name: str) -> list[tuple[str, str, str]]:
    data = cli.json("partitions", name)
    return [(r["from"], r["to"], r["state"]) for r in data["ranges"] if r["state"] != "fresh"]


def test_year_backfill_then_nothing_then_exactly_one_changed_day(tmp_path: Path) -> None:
    root = year_project(tmp_path / "p")
    cli = Cli(root)
    result = cli.json("materialize", "--from", "2023-01-01", "--to", "2023-12-31")
    assert result["status"] == "success"
    daily = [a for a in result["assets"] if a["name"] == "orders_daily"]
    assert sum(a["partitions"] for a in daily) == 365 and len(daily) == 5  # 5 batches of 73
    mats = partition_mats(root, "orders_daily")
    assert len(mats) == 365 and len({p for p, _ in mats}) == 365
    assert {s for _, s in mats} == {"success"}
    assert query(root, "select count(*), sum(orders) from orders_daily") == [(365, 730)]
    assert cli.json("partitions", "orders_daily")["counts"] == {
        "fresh": 365,
        "stale": 0,
        "missing": 0,
        "failed": 0,
    }
    weekly = cli.json("partitions", "orders_weekly")
    assert weekly["total"] == 52 and weekly["counts"]["fresh"] == 52
    # runs show folds each asset's partitions into ranges; its JSON keeps them all.
    shown = cli("runs", "show", result["run_id"]).output.splitlines()
    labels = [line.split("  ")[0] for line in shown[2:]]
    assert sorted(labels) == [
        "orders_daily[2023-01-01..2023-12-31] (365 partitions)",
        "orders_rollup[2023-01-01..2023-12-31] (365 partitions)",
        "orders_total",
        "orders_weekly[2023-01-02..2023-12-25] (52 partitions)",  # weeks, as the layout says
    ]
    assert len(cli.json("runs", "show", result["run_id"])["materializations"]) == 365 * 2 + 53

    again = cli.json("materialize", "--from", "2023-01-01", "--to", "2023-12-31", "--stale")
    assert again["assets"] == [] and again["run_id"] is None
    assert all(s["state"] == "fresh" for s in cli.json("status"))

    # One day's rows change in the CSV: only that day, and what reads it, is stale.
    csv = root / "data/orders.csv"
    lines = [line + ("0" if ",2023-03-05," in line else "") for line in csv.read_text().split()]
    csv.write_text("\n".join(lines) + "\n")  # that day's amounts grow tenfold
    assert stale_ranges(cli, "orders_daily") == [("2023-03-05", "2023-03-05", "stale")]
    assert stale_ranges(cli, "orders_rollup") == [("2023-03-05", "2023-03-05", "stale")]
    assert stale_ranges(cli, "orders_weekly") == [("2023-02-27", "2023-02-27", "stale")]
    daily_range = cli.json("partitions", "orders_daily")["ranges"][1]
    assert daily_range["reasons"] == ["source changed: data/orders.csv"]
    status = {s["name"]: s for s in cli.json("status")}
    assert status["orders_daily"]["partitions"]["stale"] == 1
    assert status["orders_total"]["state"] == "stale"

    result = cli.json("materialize", "--stale")
    assert built(result) == {
        "orders_daily": ["2023-03-05"],
        "orders_rollup": ["2023-03-05"],
        "orders_weekly": ["2023-02-27"],
        "orders_total": ["*"],
    }
    assert all(s["state"] == "fresh" for s in cli.json("status"))
    expected = query(
        root,
        f"select order_date, count(*), sum(amount) from read_csv('{root}/data/orders.csv') "
        "group by all order by 1",
    )
    assert query(root, "select * from orders_daily order by 1") == expected


def test_failed_partition_does_not_stop_the_backfill_and_retry_rebuilds_it(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "p",
        {
            # 2023-01-10 has no rows yet: its row_count check fails, the others publish.
            "data/orders.csv": orders_csv(31, skip=frozenset({9})),
            "models/orders_daily.sql": DAILY.format(batch=1),
            "models/orders_rollup.sql": ROLLUP.format(batch=1),
        },
    )
    cli = Cli(root)
    result = cli(
        "materialize", "--from", "2023-01-01", "--to", "2023-01-31", "-t", "2", "--json", expect=1
    )
    data = json.loads(result.stdout)
    outcome = {(a["name"], a["partition"]): a for a in data["assets"]}
    assert outcome[("orders_daily", "2023-01-10")]["status"] == "failed"
    assert "row_count" in outcome[("orders_daily", "2023-01-10")]["error"]
    assert outcome[("orders_rollup", "2023-01-10")]["status"] == "skipped"
    ok = [k for k, a in outcome.items() if a["status"] == "success"]
    assert len(ok) == 60  # 30 days of both assets
    ranges = cli.json("partitions", "orders_daily", "--state", "failed")["ranges"]
    assert [(r["from"], r["to"]) for r in ranges] == [("2023-01-10", "2023-01-10")]
    assert "orders_daily: 365 partitions: 30 fresh, 334 missing, 1 failed" in cli("status").output
    shown = cli("runs", "show", data["run_id"]).output
    lines = shown.split("\nerrors\n")[0].splitlines()[2:]
    assert sorted(re.split(r"\s{2,}", line)[:2] for line in lines) == [
        ["orders_daily[2023-01-01..2023-01-09] (9 partitions)", "success"],
        ["orders_daily[2023-01-10]", "failed"],
        ["orders_daily[2023-01-11..2023-01-31] (21 partitions)", "success"],
        ["orders_rollup[2023-01-01..2023-01-09] (9 partitions)", "success"],
        ["orders_rollup[2023-01-10]", "skipped"],
        ["orders_rollup[2023-01-11..2023-01-31] (21 partitions)", "success"],
    ]
    assert "  orders_daily[2023-01-10] (attempt 1, failed):\n    check row_count" in shown
    history = cli("history", "orders_daily", "--limit", "100").output.splitlines()
    assert history[0].split()[:3] == ["started", "run", "partition"]
    assert [line.split()[3:5] for line in history[1:] if "2023-01-10" in line] == [
        ["2023-01-10", "failed"]
    ]

    (root / "data/orders.csv").write_text(orders_csv(31))  # the missing day arrived
    result = cli.json("materialize", "--retry-failed")
    assert built(result) == {"orders_daily": ["2023-01-10"], "orders_rollup": ["2023-01-10"]}
    counts = cli.json("partitions", "orders_daily")["counts"]
    assert counts["fresh"] == 31 and counts["failed"] == 0
    assert query(root, "select count(*) from orders_rollup where order_date <= '2023-01-31'") == [
        (31,)
    ]


def test_single_partition_and_missing_upstream_partition(tmp_path: Path) -> None:
    root = year_project(tmp_path / "p", batch=1)
    cli = Cli(root)
    result = cli.json("materialize", "orders_daily", "--partition", "2023-06-01")
    assert built(result) == {"orders_daily": ["2023-06-01"]}
    assert query(root, "select order_date from orders_daily") == [(dt.date(2023, 6, 1),)]
    # The rollup of a day whose upstream partition is missing is skipped, naming it.
    out = json.loads(
        cli("materialize", "orders_rollup", "--partition", "2023-06-02", "--json", expect=1).stdout
    )
    [skipped] = out["assets"]
    assert skipped["status"] == "skipped"
    assert "orders_daily[2023-06-02] is missing" in skipped["skipped_because"]
    ok = cli.json("materialize", "orders_rollup", "--partition", "2023-06-01")
    assert built(ok) == {"orders_rollup": ["2023-06-01"]}
    plan = cli.json(
        "materialize",
        "--from",
        "2023-06-01",
        "--to",
        "2023-06-03",
        "--stale",
        "--dry-run",
        "orders_daily",
    )
    [item] = plan["assets"]
    assert item["partitions"] == ["2023-06-02", "2023-06-03"]  # batch_size 1


def test_partition_options_are_checked(tmp_path: Path) -> None:
    root = year_project(tmp_path / "p")
    cli = Cli(root)
    out = cli("materialize", "orders_total", "--partition", "2023-01-01", expect=2)
    assert "need a partitioned asset" in out.output
    out = cli("materialize", "orders_daily", "--partition", "region=eu", expect=2)
    assert "no selected asset is partitioned by 'region'" in out.output
    out = cli("materialize", "orders_daily", "--from", "yesterday", expect=2)
    assert "is not a date" in out.output
    # Options that select nothing are mistakes, not "nothing to do", with or without --json.
    out = cli("materialize", "orders_daily", "--partition", "2024-03-05", "--json", expect=2)
    assert out.stdout == ""
    assert (
        "--partition 2024-03-05 selects no partition of orders_daily (2023-01-01 .. 2023-12-31)"
    ) in out.output
    assert "see 'assets partitions orders_daily'" in out.output
    out = cli("materialize", "orders_daily", "--from", "2022-01-01", "--to", "2022-12-31", expect=2)
    assert "--from 2022-01-01 --to 2022-12-31 selects no partition of orders_daily" in out.output
    out = cli("materialize", "orders_daily", "--from", "2023-03-10", "--to", "2023-03-01", expect=2)
    assert "--from 2023-03-10 is after --to 2023-03-01" in out.output
    assert "swap them: --from 2023-03-01 --to 2023-03-10" in out.output
    out = cli("materialize", "orders_daily", "--partition", "2024-03-05", "--dry-run", expect=2)
    assert "selects no partition" in out.output
    # A range that overlaps the asset's builds the overlap.
    plan = cli.json(
        "materialize", "orders_daily", "--from", "2023-12-31", "--to", "2024-02-01", "--dry-run"
    )
    assert plan["assets"][0]["partitions"] == ["2023-12-31"]
    assert Catalog(root / ".assets/catalog.sqlite").runs() == []  # nothing ran
    out = cli("partitions", "orders_total", expect=2)
    assert "is not partitioned" in out.output


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("-- grain: day\n", "'grain' needs 'partitioned_by"),
        ("-- partitioned_by: d\n-- grain: day\n", "needs 'grain' (hour, day, week, month) and"),
        ("-- partitioned_by: d\n-- grain: year\n-- start: 2024-01-01\n", "grain"),
        ("-- partitioned_by: d\n-- grain: day\n-- start: soon\n", "is not a date"),
    ],
    ids=["grain-alone", "no-start", "bad-grain", "bad-start"],
)
def test_bad_partition_headers_name_the_problem(tmp_path: Path, header: str, message: str) -> None:
    root = write_project(
        tmp_path / "p", {"models/x.sql": header + "select 1 as d where d >= $start and d < $end"}
    )
    out = Cli(root)("status", expect=2)
    assert message in out.output and "models/x.sql" in out.output


def test_query_must_use_its_bounds(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/x.sql": "-- partitioned_by: d\n-- grain: day\n-- start: 2024-01-01\nselect 1"},
    )
    out = Cli(root)("status", expect=2)
    assert "does not use $start, $end" in out.output
    assert "order_date >= $start" in out.output


def test_rows_outside_the_partition_are_refused(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/x.sql": "-- partitioned_by: d\n-- grain: day\n-- start: 2024-01-01\n"
            "-- end: 2024-01-02\n"
            "select DATE '2024-01-01' as d where $start is not null and $end is not null"
        },
    )
    cli = Cli(root)
    out = cli("materialize", "--partition", "2024-01-02", "--json", expect=1)  # 2024-01-01 rows
    cli_out = json.loads(out.stdout)["assets"][0]
    assert cli_out["status"] == "failed"
    assert "fall outside partition 2024-01-02" in cli_out["error"]


def test_python_assets_read_partitioned_tables_but_are_not_partitioned(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "assets/py.py": "from assets_orch import asset\n\n\n"
            "@asset(partitioned_by='d', grain='day', start='2024-01-01')\n"
            "def py():\n    return None\n",
        },
    )
    out = Cli(root)("status", expect=2)
    assert "partitioned and incremental assets are SQL assets" in out.output
    root = write_project(
        tmp_path / "q",
        {
            "data/orders.csv": orders_csv(10),
            "models/orders_daily.sql": DAILY.format(batch=5).replace("2023-12-31", "2023-01-10"),
            "assets/summary.py": "from assets_orch import asset\n\n\n"
            "@asset\ndef summary(orders_daily):\n"
            "    return orders_daily.aggregate('count(*) as days, sum(orders) as orders')\n",
        },
    )
    cli = Cli(root)
    result = cli.json("materialize")
    assert built(result) == {
        "orders_daily": ["2023-01-01..2023-01-05", "2023-01-06..2023-01-10"],
        "summary": ["*"],
    }
    assert query(root, "select * from summary") == [(10, 20)]


STAGED = """
select order_id, order_date, amount
from read_csv('data/orders.csv', header = true,
              columns = {'order_id': 'INTEGER', 'order_date': 'DATE', 'amount': 'INTEGER'})
"""

BY_DAY = """
-- partitioned_by: order_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-03-31
-- batch_size: 30
select order_date, sum(amount) as revenue from stg_orders
where order_date >= $start and order_date < $end group by all
"""


def test_a_rebuilt_unpartitioned_upstream_rebuilds_only_the_batches_it_changes(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "data/orders.csv": orders_csv(90),
            "models/stg_orders.sql": STAGED,
            "models/by_day.sql": BY_DAY,
        },
    )
    cli = Cli(root)
    cli.json("materialize")
    csv = root / "data/orders.csv"
    lines = [line + ("0" if ",2023-02-14," in line else "") for line in csv.read_text().split()]
    csv.write_text("\n".join(lines) + "\n")
    before = cli.json("partitions", "by_day")["ranges"]
    assert [(r["count"], r["reasons"]) for r in before] == [(90, ["upstream stale: stg_orders"])]
    result = cli.json("materialize", "--stale")
    outcome = {(a["name"], a["partition"]): a["status"] for a in result["assets"]}
    assert outcome == {
        ("stg_orders", None): "success",
        ("by_day", "2023-01-01..2023-01-30"): "unchanged",
        ("by_day", "2023-01-31..2023-03-01"): "success",  # holds 2023-02-14
        ("by_day", "2023-03-02..2023-03-31"): "unchanged",
    }
    assert cli.json("partitions", "by_day")["counts"]["fresh"] == 90
    assert all(s["state"] == "fresh" for s in cli.json("status"))
    assert query(root, "select * from by_day order by 1") == query(
        root,
        f"select order_date, sum(amount) from read_csv('{root}/data/orders.csv') "
        "group by all order by 1",
    )
