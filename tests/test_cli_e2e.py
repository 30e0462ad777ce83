"""End to end through the real CLI on a copy of the example project."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import write_project

ALL = {
    "stg_customers",
    "stg_order_items",
    "stg_orders",
    "stg_payments",
    "stg_products",
    "int_order_items_priced",
    "int_orders_enriched",
    "int_customer_orders",
    "orders_daily",
    "customer_lifetime_value",
    "product_performance",
    "payments_by_method",
    "customer_segments",
    "segment_summary",
    "revenue_by_day",  # partitioned by day: 366 partitions in 12 batches
}


def built(result_json: dict) -> set[str]:
    return {a["name"] for a in result_json["assets"] if a["status"] == "success"}


def stale_names(cli: Cli) -> set[str]:
    return {s["name"] for s in cli.json("status") if s["stale"]}


@pytest.fixture
def built_shop(shop: Path) -> Cli:
    cli = Cli(shop)
    result = cli.json("materialize")
    assert result["status"] == "success"
    assert built(result) == ALL
    return cli


def test_materialize_all_then_nothing(built_shop: Cli, shop: Path) -> None:
    again = built_shop.json("materialize", "--stale")
    assert again["assets"] == [] and again["run_id"] is None
    assert built_shop("status", "--stale").output == "nothing stale: all 15 asset(s) are fresh\n"
    assert built_shop("status", "--stale", "tag:marts").output.startswith("nothing stale: all ")
    assert all(s["state"] == "fresh" for s in built_shop.json("status"))
    con = duckdb.connect(str(shop / "warehouse.duckdb"), read_only=True)
    try:
        tables = dict(
            con.execute(
                "select table_name, comment from duckdb_tables() union all "
                "select view_name, comment from duckdb_views() where not internal"
            ).fetchall()
        )
        assert {t.lower() for t in tables} >= ALL
        assert all(tables[t].startswith("assets_orch:") for t in ALL)
        assert con.execute("select count(*) from orders_daily").fetchone()[0] > 300
    finally:
        con.close()


def test_formatting_only_edit_changes_nothing(built_shop: Cli, shop: Path) -> None:
    path = shop / "models/staging/stg_orders.sql"
    lines = path.read_text().splitlines()
    n_header = next(i for i, line in enumerate(lines) if not line.startswith("--"))
    header, body = lines[:n_header], lines[n_header:]
    code = " ".join(line for line in body if not line.strip().startswith("--"))
    code = re.sub(r"\s+", " ", code)
    for word in ("select", "from", "as", "over", "partition", "by", "order", "qualify", "true"):
        code = re.sub(rf"\b{word}\b", word.upper(), code)
    reformatted = "\n".join(header) + "\n-- a new comment\n" + code.replace(",", " ,\n\t") + "\n"
    path.write_text(reformatted)
    assert stale_names(built_shop) == set(), built_shop("status").output
    assert built_shop.json("materialize", "--stale")["assets"] == []


def test_logic_edit_makes_exactly_the_downstream_closure_stale(built_shop: Cli, shop: Path) -> None:
    path = shop / "models/staging/stg_customers.sql"
    text = path.read_text()
    assert "from read_csv" in text
    path.write_text(text.rstrip().rstrip(";") + "\nlimit 400\n")
    expected = {
        "stg_customers",
        "int_customer_orders",
        "customer_lifetime_value",
        "customer_segments",
        "segment_summary",
    }
    status = {s["name"]: s for s in built_shop.json("status")}
    assert {n for n, s in status.items() if s["stale"]} == expected
    assert status["stg_customers"]["reasons"] == ["code changed"]
    assert status["int_customer_orders"]["reasons"] == ["upstream stale: stg_customers"]
    plan = built_shop.json("materialize", "--stale", "--dry-run")
    assert {a["name"] for a in plan["assets"]} == expected
    result = built_shop.json("materialize", "--stale")
    assert built(result) == expected
    assert stale_names(built_shop) == set()


def test_changed_csv_makes_exactly_its_downstream_stale(built_shop: Cli, shop: Path) -> None:
    csv = shop / "data/products.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("unit_price")] = "999.99"
    csv.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    expected = {
        "stg_products",
        "int_order_items_priced",
        "int_orders_enriched",
        "product_performance",
        "int_customer_orders",
        "orders_daily",
        "customer_lifetime_value",
        "customer_segments",
        "segment_summary",
        "revenue_by_day",
    }
    status = {s["name"]: s for s in built_shop.json("status")}
    assert {n for n, s in status.items() if s["stale"]} == expected
    assert status["stg_products"]["reasons"] == ["source changed: data/products.csv"]
    assert built(built_shop.json("materialize", "--stale")) == expected


def test_touching_a_csv_without_changing_it_keeps_things_fresh(built_shop: Cli, shop: Path) -> None:
    csv = shop / "data/orders.csv"
    csv.write_bytes(csv.read_bytes())  # new mtime, same bytes
    assert stale_names(built_shop) == set()


def test_list_json_shape(built_shop: Cli) -> None:
    items = {a["name"]: a for a in built_shop.json("list")}
    assert set(items) == ALL
    for item in items.values():
        assert {"name", "kind", "path", "upstreams", "sources", "tags", "description"} <= set(item)
    assert items["stg_orders"]["sources"] == ["data/orders.csv"]
    assert items["stg_orders"]["kind"] == "sql"
    assert items["stg_orders"]["path"] == "models/staging/stg_orders.sql"
    assert items["customer_segments"]["kind"] == "python"
    assert items["customer_segments"]["upstreams"] == ["int_customer_orders"]
    assert items["segment_summary"]["upstreams"] == ["customer_segments"]
    # a CTE named like a real asset does not hide it, nor create a false edge
    assert "int_order_items_priced" in items["product_performance"]["upstreams"]


def test_lineage_text_dot_svg_png(built_shop: Cli, shop: Path, tmp_path: Path) -> None:
    text = built_shop("lineage", "orders_daily").output
    assert "upstream" in text and "int_orders_enriched" in text and "data/orders.csv" in text
    down = built_shop("lineage", "stg_orders", "--downstream", "--depth", "1").output
    assert "int_orders_enriched" in down and "orders_daily" not in down
    dot = built_shop("lineage", "orders_daily", "--format", "dot").output
    assert dot.strip().startswith("digraph") and "stg_orders -> int_orders_enriched" in dot
    assert dot == built_shop("lineage", "orders_daily", "--format", "dot").output  # stable
    svg = tmp_path / "l.svg"
    built_shop("lineage", "orders_daily", "--format", "svg", "-o", str(svg))
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    titles = {el.text for el in root.iter() if el.tag.endswith("title")}
    assert {"orders_daily", "stg_orders"} <= titles
    png = tmp_path / "l.png"
    built_shop("lineage", "orders_daily", "--format", "png", "-o", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = built_shop.json("lineage", "orders_daily")
    assert data["focus"] == "orders_daily"
    assert {"upstream": "stg_orders", "downstream": "int_orders_enriched"} in data["edges"]


def test_history_and_runs(built_shop: Cli) -> None:
    hist = built_shop.json("history", "orders_daily")
    assert len(hist) == 1 and hist[0]["status"] == "success" and hist[0]["row_count"] > 0
    assert [c[0] for c in hist[0]["columns"]][0] == "order_date"
    runs = built_shop.json("runs")
    # 14 assets, and revenue_by_day's 366 daily partitions written in 12 monthly batches
    assert len(runs) == 1 and runs[0]["counts"] == {"success": 14 + 12}
    shown = built_shop.json("runs", "show", runs[0]["run_id"][:15])
    assert len(shown["materializations"]) == 14 + 366


def test_selection_grammar_through_cli(built_shop: Cli) -> None:
    plan = built_shop.json("materialize", "+orders_daily", "--dry-run")
    names = [a["name"] for a in plan["assets"]]
    assert names[-1] == "orders_daily" and "stg_orders" in names and "stg_customers" not in names
    assert names.index("stg_orders") < names.index("int_orders_enriched")
    plan = built_shop.json("materialize", "tag:marts", "--dry-run")
    assert {a["name"] for a in plan["assets"]} >= {"orders_daily", "segment_summary"}
    result = built_shop("materialize", "no_such_asset", expect=2)
    assert "no asset named 'no_such_asset'" in result.output
    assert "Traceback" not in result.output


def test_status_json_is_parseable_and_complete(built_shop: Cli) -> None:
    status = built_shop.json("status")
    assert {s["name"] for s in status} == ALL
    for s in status:
        assert s["state"] == "fresh" and s["reasons"] == [] and s["last_materialized"]
    json.dumps(status)


def test_status_exit_code_gates_on_freshness(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})
    cli = Cli(root)
    cli("status", "--exit-code", expect=1)  # never built
    cli("materialize")
    cli("status", "--exit-code", expect=0)
    cli("status", "--exit-code", "--json", expect=0)
    (root / "models/a.sql").write_text("select 2 as x")
    [row] = json.loads(cli("status", "a", "--exit-code", "--json", expect=1).stdout)
    assert row["state"] == "stale" and row["reasons"] == ["code changed"]


def test_status_and_lineage_of_a_selection_with_a_stale_upstream(tmp_path: Path) -> None:
    # Judging only a selection and its upstreams must cope with a stale upstream whose
    # other readers are not judged (a project without partitions takes this path).
    root = write_project(
        tmp_path / "p",
        {
            "models/a.sql": "select range as id from range(5)",
            "models/b.sql": "select id, id * 2 as v from a",
            "models/c.sql": "select sum(v) as total from b",
            "models/other.sql": "select id from a where id > 2",
        },
    )
    cli = Cli(root)
    cli("materialize")
    (root / "models/a.sql").write_text("select range as id from range(6)")
    assert "c stale" in cli("lineage", "c").output
    [row] = json.loads(cli("status", "c", "--json").stdout)
    assert row["state"] == "stale" and row["reasons"] == ["upstream stale: b"]
    cli("status", "c", "--exit-code", expect=1)
    nodes = {n["name"]: n["state"] for n in cli.json("lineage", "b")["nodes"]}
    assert nodes == {"a": "stale", "b": "stale", "c": "stale"}
