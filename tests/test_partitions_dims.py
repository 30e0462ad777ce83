"""Static partitions and several dimensions (day × region × channel), and incremental
(append-only) assets, through the real CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from conftest import Cli
from helpers import write_project

REGIONS = ("eu", "us", "apac")
CHANNELS = ("web", "shop")

BY_REGION = """
-- partitioned_by: sale_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-01-05
-- partitions: {region: [eu, us, apac]}
select sale_date, region, count(*) as sales, sum(amount) as amount
from read_csv('data/sales.csv', header = true)
where sale_date >= $start and sale_date < $end and region = $region
group by all
"""

BY_REGION_CHANNEL = """
-- partitioned_by: sale_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-01-05
-- partitions:
--   region: [eu, us]
--   channel: [web, shop]
select sale_date, region, channel, sum(amount) as amount
from read_csv('data/sales.csv', header = true)
where sale_date >= $start and sale_date < $end and region = $region and channel = $channel
group by all
"""

DAILY = """
-- partitioned_by: sale_date
-- grain: day
-- start: 2023-01-01
-- end: 2023-01-05
select sale_date, sum(amount) as amount
from sales_by_region
where sale_date >= $start and sale_date < $end
group by all
"""

EU_ONLY = """
-- partitions: {region: [eu]}
select region, sum(amount) as amount from sales_by_region where region = $region group by all
"""


def sales_csv(bump: tuple[str, str, str] | None = None) -> str:
    lines = ["sale_date,region,channel,amount"]
    for d in range(5):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=d)
        for i, region in enumerate(REGIONS):
            for j, channel in enumerate(CHANNELS):
                amount = 10 * d + 3 * i + j + 1
                if bump == (str(day), region, channel):
                    amount += 1000
                lines.append(f"{day},{region},{channel},{amount}")
    return "\n".join(lines) + "\n"


def built(result: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in result["assets"]:
        if a["status"] == "success":
            out.setdefault(a["name"], set()).add(a["partition"] or "*")
    return out


def fetch(root: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_day_by_region_partitions_build_report_and_go_stale_exactly(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "data/sales.csv": sales_csv(),
            "models/sales_by_region.sql": BY_REGION,
            "models/sales_by_rc.sql": BY_REGION_CHANNEL,
            "models/sales_daily.sql": DAILY,
            "models/sales_eu.sql": EU_ONLY,
        },
    )
    cli = Cli(root)
    result = cli.json("materialize")
    assert result["status"] == "success"
    assert sum(a["partitions"] or 0 for a in result["assets"] if a["name"] == "sales_by_rc") == 20
    report = cli.json("partitions", "sales_by_region")
    assert report["dimensions"] == ["time", "region"] and report["total"] == 15
    ranges = [(r["static"], r["from"], r["to"], r["count"], r["state"]) for r in report["ranges"]]
    assert ranges == [
        ({"region": r}, f"2023-01-01|region={r}", f"2023-01-05|region={r}", 5, "fresh")
        for r in REGIONS
    ]
    assert cli.json("partitions", "sales_by_rc")["counts"]["fresh"] == 20
    assert cli.json("partitions", "sales_eu")["total"] == 1
    expected = fetch(
        root,
        f"select sale_date, region, count(*), sum(amount) from read_csv('{root}/data/sales.csv') "
        "group by all order by all",
    )
    assert fetch(root, "select * from sales_by_region order by all") == expected
    assert fetch(root, "select count(*) from sales_by_rc") == [(20,)]

    # One sale of eu/web on 2023-01-03 changes: exactly what reads that slice goes stale.
    (root / "data/sales.csv").write_text(sales_csv(bump=("2023-01-03", "eu", "web")))
    stale = {
        name: [
            (r["from"], r["to"])
            for r in cli.json("partitions", name)["ranges"]
            if r["state"] != "fresh"
        ]
        for name in ("sales_by_region", "sales_by_rc", "sales_daily", "sales_eu")
    }
    assert stale == {
        "sales_by_region": [("2023-01-03|region=eu", "2023-01-03|region=eu")],
        "sales_by_rc": [("2023-01-03|region=eu|channel=web", "2023-01-03|region=eu|channel=web")],
        "sales_daily": [("2023-01-03", "2023-01-03")],
        "sales_eu": [("region=eu", "region=eu")],
    }
    assert built(cli.json("materialize", "--stale")) == {
        "sales_by_region": {"2023-01-03|region=eu"},
        "sales_by_rc": {"2023-01-03|region=eu|channel=web"},
        "sales_daily": {"2023-01-03"},
        "sales_eu": {"region=eu"},
    }
    assert all(s["state"] == "fresh" for s in cli.json("status"))

    # --partition narrows each dimension; values of one dimension add up.
    one = cli.json(
        "materialize", "sales_by_region", "--partition", "region=us", "--partition", "2023-01-02"
    )
    assert built(one) == {"sales_by_region": {"2023-01-02|region=us"}}
    two = cli.json(
        "materialize", "sales_by_rc", "--partition", "channel=shop", "--from", "2023-01-04"
    )
    assert built(two) == {
        "sales_by_rc": {
            f"2023-01-0{d}|region={r}|channel=shop" for d in (4, 5) for r in ("eu", "us")
        }
    }


INCREMENTAL = """
-- incremental: {cursor: updated_at}
-- checks:
--   - unique: [event_id]
select event_id, updated_at, kind, value * 2 as doubled
from read_csv('data/events.csv', header = true,
              columns = {'event_id': 'INTEGER', 'updated_at': 'TIMESTAMP',
                         'kind': 'VARCHAR', 'value': 'INTEGER'})
where $cursor is null or updated_at > $cursor
"""


def events_csv(start: int, count: int) -> list[str]:
    base = dt.datetime(2023, 1, 1)
    return [
        f"{i},{base + dt.timedelta(minutes=i)},{('click', 'view')[i % 2]},{i % 17}"
        for i in range(start, start + count)
    ]


def test_incremental_appends_only_new_rows_and_equals_a_full_rebuild(tmp_path: Path) -> None:
    header = "event_id,updated_at,kind,value"
    root = write_project(
        tmp_path / "p",
        {
            "data/events.csv": "\n".join([header, *events_csv(0, 100)]) + "\n",
            "models/events.sql": INCREMENTAL,
            "models/kinds.sql": "select kind, count(*) as n from events group by kind",
        },
    )
    cli = Cli(root)
    first = {a["name"]: a for a in cli.json("materialize")["assets"]}
    assert first["events"]["appended"] == 100 and first["events"]["row_count"] == 100

    csv = root / "data/events.csv"
    csv.write_text(csv.read_text() + "\n".join(events_csv(100, 7)) + "\n")
    status = {s["name"]: s for s in cli.json("status")}
    assert status["events"]["reasons"] == ["source changed: data/events.csv"]
    second = {a["name"]: a for a in cli.json("materialize", "--stale")["assets"]}
    assert second["events"]["appended"] == 7 and second["events"]["row_count"] == 107
    assert second["kinds"]["status"] == "success"
    appended_version = cli.json("history", "events")[0]["data_version"]
    table = fetch(root, "select * from events order by event_id")
    full = fetch(
        root,
        "select event_id, updated_at, kind, value * 2 from read_csv("
        f"'{root}/data/events.csv', header = true, columns = {{'event_id': 'INTEGER', "
        "'updated_at': 'TIMESTAMP', 'kind': 'VARCHAR', 'value': 'INTEGER'}) order by 1",
    )
    assert table == full

    # Append-only: a row edited in place (not past the cursor) needs --full-refresh.
    lines = csv.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",99"
    csv.write_text("\n".join(lines) + "\n")
    third = {a["name"]: a for a in cli.json("materialize", "--stale")["assets"]}
    assert third["events"]["appended"] == 0
    refreshed = cli.json("materialize", "events", "--full-refresh")
    [events] = refreshed["assets"]
    assert events["appended"] == 107 and events["row_count"] == 107
    assert fetch(root, "select doubled from events where event_id = 0") == [(198,)]

    # Without that edit, the appended table and a full rebuild have the same data version.
    lines[1] = lines[1].rsplit(",", 1)[0] + ",0"
    csv.write_text("\n".join(lines) + "\n")
    cli.json("materialize", "events", "--full-refresh")
    assert cli.json("history", "events")[0]["data_version"] == appended_version


def test_incremental_query_must_use_the_cursor(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p", {"models/e.sql": "-- incremental: {cursor: t}\nselect 1 as t"}
    )
    out = Cli(root)("status", expect=2)
    assert "incremental asset 'e' does not use $cursor" in out.output


def test_a_changed_layout_rebuilds_the_table(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {"data/sales.csv": sales_csv(), "models/sales_by_region.sql": BY_REGION},
    )
    cli = Cli(root)
    cli.json("materialize")
    path = root / "models/sales_by_region.sql"
    path.write_text(path.read_text().replace("[eu, us, apac]", "[eu, us]"))
    # Values are not the layout: dropping one keeps the other partitions fresh.
    assert cli.json("partitions", "sales_by_region")["counts"]["fresh"] == 10
    path.write_text(
        path.read_text()
        .replace("-- partitions: {region: [eu, us]}\n", "")
        .replace(" and region = $region", "")
        .replace("-- grain: day", "-- grain: month")
        .replace("2023-01-05", "2023-01-31")
    )
    report = cli.json("partitions", "sales_by_region")
    assert report["counts"]["missing"] == 1
    assert report["ranges"][0]["reasons"] == ["missing: partitioning changed"]
    result = cli("materialize", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "success"
    assert fetch(root, "select count(*) from sales_by_region") == [(15,)]  # 5 days x 3 regions


DAYS = "select DATE '2024-01-01' + i::INTEGER as d, i from range(3) t(i)"


def test_a_table_turned_partitioned_or_dropped_is_rebuilt_from_scratch(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/days.sql": DAYS})
    cli = Cli(root)
    cli.json("materialize")
    assert fetch(root, "select count(*) from days") == [(3,)]
    (root / "models/days.sql").write_text(
        "-- partitioned_by: d\n-- grain: day\n-- start: 2024-01-01\n-- end: 2024-01-02\n"
        f"select * from ({DAYS}) where d >= $start and d < $end\n"
    )
    result = cli("materialize", "--json")
    assert "days: rebuilt from scratch (its partitioning changed)" in result.output
    assert fetch(root, "select count(*) from days") == [(2,)]  # the old third day is gone
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("DROP TABLE days")
    con.close()
    report = cli.json("partitions", "days")
    assert report["counts"]["missing"] == 2
    assert report["ranges"][0]["reasons"] == ["missing: table is gone from the warehouse"]
    built_now = built(cli.json("materialize", "--stale"))
    assert built_now == {"days": {"2024-01-01", "2024-01-02"}}
    assert cli.json("partitions", "days")["counts"]["fresh"] == 2
