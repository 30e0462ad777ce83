"""Column lineage of the example project: columns, impact, the column graph, the catalog."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path

import pytest
from conftest import Cli, copy_project

from assets_orch.catalog import Catalog
from assets_orch.config import STATE_DIR

UNIT_PRICE_READERS = [
    ("int_order_items_priced", "line_amount", "value"),
    ("int_order_items_priced", "unit_price", "value"),
    ("int_orders_enriched", "order_total", "value"),
    ("int_orders_enriched", "payment_status", "value"),
    ("product_performance", "rank_in_category", "value"),
    ("product_performance", "revenue", "value"),
    ("product_performance", "share_of_category", "value"),
    ("product_performance", "unit_price", "value"),
    ("int_customer_orders", "net_revenue", "value"),
    ("orders_daily", "avg_order_value", "value"),
    ("orders_daily", "revenue", "value"),
    ("orders_daily", "revenue_7d", "value"),
    ("revenue_by_day", "order_date", "filter"),
    ("revenue_by_day", "orders", "filter"),
    ("revenue_by_day", "paid_amount", "filter"),
    ("revenue_by_day", "payment_status", "value"),
    ("revenue_by_day", "revenue", "value"),
    ("customer_lifetime_value", "avg_order_value", "value"),
    ("customer_lifetime_value", "lifetime_value", "value"),
    ("customer_lifetime_value", "revenue_share", "value"),
    ("customer_lifetime_value", "value_decile", "value"),
    ("customer_lifetime_value", "value_rank", "value"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path_factory.mktemp("columns") / "shop")
    Cli(root)("materialize")
    return root


def test_impact_of_a_staging_column_lists_exactly_its_dependent_columns(built: Path) -> None:
    report = Cli(built).json("impact", "stg_products.unit_price")
    found = [(i["asset"], i["column"], i["edge"]) for i in report["impacted"]]
    assert found == UNIT_PRICE_READERS
    assert report["column"] == "stg_products.unit_price"
    # Built, the Python asset's columns are known but its lineage is not declared.
    assert [g["asset"] for g in report["unresolved"]] == ["customer_segments"]


def test_impact_of_a_column_read_only_as_a_filter(built: Path) -> None:
    report = Cli(built).json("impact", "stg_payments.payment_method")
    found = {(i["asset"], i["column"], i["edge"]) for i in report["impacted"]}
    assert ("int_orders_enriched", "main_payment_method", "value") in found
    assert ("payments_by_method", "payment_method", "value") in found
    assert ("payments_by_method", "amount", "filter") in found  # it groups the rows
    assert {a for a, _, _ in found} == {"int_orders_enriched", "payments_by_method"}


def test_impact_needs_an_existing_column(built: Path) -> None:
    result = Cli(built)("impact", "stg_orders.amount", expect=2)
    assert "stg_orders has no column 'amount'" in result.output
    assert "assets columns stg_orders" in result.output
    result = Cli(built)("impact", "stg_orders", expect=2)
    assert "ASSET.COLUMN" in result.output


def test_columns_of_a_built_model(built: Path) -> None:
    data = Cli(built).json("columns", "orders_daily")
    assert data["built"] and data["unresolved"] is None
    by_name = {c["name"]: c for c in data["columns"]}
    revenue = by_name["revenue"]
    assert revenue["type"].startswith("DECIMAL")
    assert [(v["source"], v["column"]) for v in revenue["value"]] == [
        ("int_orders_enriched", "order_total")
    ]
    assert {(f["source"], f["column"]) for f in revenue["filter"]} == {
        ("int_orders_enriched", "is_cancelled"),
        ("int_orders_enriched", "is_returned"),
        ("int_orders_enriched", "order_date"),
    }
    assert [(r["source"], r["column"]) for r in data["rows"]] == [
        ("int_orders_enriched", "order_date")
    ]
    text = Cli(built)("columns", "orders_daily").output
    assert "rows decided by: int_orders_enriched.order_date" in text
    assert "int_orders_enriched.is_cancelled, int_orders_enriched.is_returned" in text


def test_columns_of_a_staging_model_reach_the_file(built: Path) -> None:
    data = Cli(built).json("columns", "stg_customers")
    name = next(c for c in data["columns"] if c["name"] == "customer_name")
    assert name["value"] == [{"kind": "file", "source": "data/customers.csv", "column": "name"}]


def test_python_asset_columns_are_recorded(built: Path) -> None:
    data = Cli(built).json("columns", "customer_segments")
    assert data["kind"] == "python" and data["built"]
    assert "segment" in [c["name"] for c in data["columns"]]
    assert all(c["value"] == [] for c in data["columns"])


def test_catalog_stores_lineage_for_other_tools(built: Path) -> None:
    catalog = Catalog(built / STATE_DIR / "catalog.sqlite")
    lineage = dict(catalog.column_lineage("orders_daily"))
    assert lineage["revenue"][0] == {
        "asset": "int_orders_enriched",
        "column": "order_total",
        "kind": "asset",
        "edge": "value",
    }
    assert {r["edge"] for r in lineage["revenue"][1:]} == {"filter"}
    assert list(lineage)[:2] == ["order_date", "orders"]  # output order
    info = catalog.column_lineage_info("orders_daily")
    assert info is not None and info["materialization_id"]
    assert catalog.column_lineage("nope") == []


def test_column_lineage_text_tree(built: Path) -> None:
    out = Cli(built)("lineage", "orders_daily.revenue", "--upstream").output
    lines = out.splitlines()
    assert lines[0] == "orders_daily.revenue"
    assert "      int_orders_enriched.order_total  value" in lines
    assert "          int_order_items_priced.line_amount  value" in lines
    assert any(line.strip() == "int_orders_enriched.is_cancelled  filter" for line in lines)
    assert "file data/order_items.csv.quantity  value" in out  # down to the files
    down = Cli(built)("lineage", "stg_products.unit_price", "--downstream", "--depth", "1")
    assert "int_order_items_priced.line_amount  value" in down.output
    assert "orders_daily" not in down.output


def test_column_lineage_dot_draws_filter_edges_dashed(built: Path) -> None:
    dot = Cli(built)("lineage", "orders_daily.revenue", "--upstream", "--format", "dot").output
    value = '"asset/int_orders_enriched/order_total" -> "asset/orders_daily/revenue"'
    filt = '"asset/int_orders_enriched/is_cancelled" -> "asset/orders_daily/revenue"'
    assert next(line for line in dot.splitlines() if value in line).count("dashed") == 0
    assert "dashed" in next(line for line in dot.splitlines() if filt in line)
    assert "cluster" in dot and "file data/orders.csv" in dot
    again = Cli(built)("lineage", "orders_daily.revenue", "--upstream", "--format", "dot").output
    assert again == dot


def test_column_lineage_svg_and_json(built: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    target = tmp_path / "revenue.svg"
    Cli(built)("lineage", "orders_daily.revenue", "--format", "svg", "-o", str(target))
    root = ET.parse(target).getroot()
    assert root.tag.endswith("svg")
    data = Cli(built).json("lineage", "orders_daily.revenue")
    assert data["focus"] == {"kind": "asset", "source": "orders_daily", "column": "revenue"}
    edges = {(e["upstream"]["source"], e["upstream"]["column"], e["edge"]) for e in data["edges"]}
    assert ("int_orders_enriched", "order_total", "value") in edges


def test_asset_lineage_still_works_for_names_without_a_dot(built: Path) -> None:
    out = Cli(built)("lineage", "orders_daily").output
    assert "int_orders_enriched" in out and "upstream" in out


def test_declared_python_lineage(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "assets.toml").write_text('name = "p"\n')
    (root / "models" / "base.sql").write_text("select 1 as id, 2.5 as amount")
    (root / "assets" / "py.py").write_text(
        "from assets_orch import asset\n\n"
        "@asset(column_lineage={'doubled': ['base.amount'], 'id': 'base.id'})\n"
        "def doubled(base):\n"
        "    return base.project('id, amount * 2 as doubled')\n"
    )
    cli = Cli(root)
    before = cli.json("columns", "doubled")
    assert before["unresolved"] and before["declared"]
    cli("materialize")
    data = cli.json("columns", "doubled")
    assert data["declared"] and data["built"]
    by_name = {c["name"]: c["value"] for c in data["columns"]}
    assert by_name["doubled"] == [{"kind": "asset", "source": "base", "column": "amount"}]
    impact = cli.json("impact", "base.amount")
    assert [(i["asset"], i["column"]) for i in impact["impacted"]] == [("doubled", "doubled")]


def test_declared_python_lineage_is_not_part_of_the_fingerprint() -> None:
    from assets_orch.metadata import AssetMeta

    plain = AssetMeta()
    declared = AssetMeta.model_validate({"column_lineage": {"a": ["up.x"]}})
    assert plain.output_fingerprint() == declared.output_fingerprint()
    with pytest.raises(ValueError, match="asset.column"):
        AssetMeta.model_validate({"column_lineage": {"a": ["nodot"]}})


def test_unbuilt_upstream_is_a_stated_gap(shop: Path) -> None:
    data = Cli(shop).json("columns", "segment_summary")
    assert data["unresolved"] == "upstream customer_segments is not built yet"
    assert data["columns"] == []
    # SQL upstreams need no build: their columns come from their own lineage.
    data = Cli(shop).json("columns", "orders_daily")
    assert data["unresolved"] is None and not data["built"]
    assert all(c["type"] is None for c in data["columns"])


@pytest.mark.parametrize(
    "module",
    [
        "sql.columns",
        "sql.column_rewrite",
        "sql.fingerprint",
        "sql.translate",
        "sql.upstreams",
        "column_lineage",
        "column_versions",
        "parse_cache",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"assets_orch.{module}"))
    assert result.failed == 0 and result.attempted > 0


def test_json_is_stable(built: Path) -> None:
    a = Cli(built)("columns", "int_orders_enriched", "--json").output
    b = Cli(built)("columns", "int_orders_enriched", "--json").output
    assert a == b and json.loads(a)["asset"] == "int_orders_enriched"


def test_files_are_described_while_the_warehouse_is_busy(shop: Path) -> None:
    from assets_orch.column_lineage import ProjectColumns
    from assets_orch.project import Project

    columns = ProjectColumns.for_project(Project.load(shop))
    columns.tables_readable = False  # as when a run holds the warehouse file
    try:
        found = columns.of("stg_orders")
    finally:
        columns.close()
    assert found.unresolved is None
    assert found.column("status") is not None


def test_unnest_in_the_select_list_resolves_once_its_argument_type_is_known(
    tmp_path: Path,
) -> None:
    """unnest() of a struct gives one column per field, of a list one column: until the
    upstream is built its type is unknown, and the lineage says so."""
    from helpers import write_project

    root = write_project(
        tmp_path / "p",
        {
            "models/a.sql": "select 1 as id, ['x', 'y'] as tags, {'k': 1} as s",
            "models/b.sql": "select id, unnest(tags) as tag from a",
            "models/c.sql": "select id, unnest(s) from a",
        },
    )
    cli = Cli(root)
    assert "known once the type of its argument is" in cli.json("columns", "b")["unresolved"]
    cli("materialize")
    b = cli.json("columns", "b")
    assert b["unresolved"] is None
    assert [(c["name"], c["type"]) for c in b["columns"]] == [("id", "INTEGER"), ("tag", "VARCHAR")]
    # Built, c has its real columns (k, not the one lineage cannot name): a stated gap.
    assert "expands a STRUCT" in cli.json("columns", "c")["unresolved"]


def test_external_tables_whose_names_need_quoting_are_described(tmp_path: Path) -> None:
    import duckdb
    from helpers import write_project

    root = write_project(
        tmp_path / "p",
        {
            "models/report.sql": (
                'select i."line #", g.account, s.total, w."from"\n'
                'from "order-items" i, "Finance Dept"."GL Entries" g, "sales.2024" s, "select" w'
            )
        },
    )
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute(
        'create table "order-items" ("line #" int); create schema "Finance Dept";'
        'create table "Finance Dept"."GL Entries" (account int);'
        'create table "sales.2024" (total int); create table "select" ("from" int)'
    )
    con.close()
    data = Cli(root).json("columns", "report")
    assert data["unresolved"] is None
    sources = [[r["source"] for r in c["value"]] for c in data["columns"]]
    assert sources == [["order-items"], ["finance dept.gl entries"], ["sales.2024"], ["select"]]


def test_a_pivot_statement_in_a_subquery_has_lineage_and_so_has_its_reader(
    tmp_path: Path,
) -> None:
    """sqlglot cannot scope a PIVOT statement: columns, lineage and impact exited 3."""
    from helpers import write_project

    root = write_project(
        tmp_path / "p",
        {
            "models/sales.sql": (
                "select * from (values ('eu', 'jan', 2.0), ('us', 'feb', 3.0))"
                " as t(region, month, amount)"
            ),
            "models/p.sql": (
                "select p.region, p.jan, p.feb\n"
                "from (pivot sales on month in ('jan', 'feb') using sum(amount) group by region)"
                " as p\nwhere p.jan > 0\n"
            ),
            "models/q.sql": "select region, jan from p",
        },
    )
    cli = Cli(root)
    jan = {c["name"]: c for c in cli.json("columns", "p")["columns"]}["jan"]
    assert [r["column"] for r in jan["value"]] == ["amount"]
    assert cli.json("columns", "q")["unresolved"] is None
    impact = cli.json("impact", "sales.month")
    assert {(i["asset"], i["column"]) for i in impact["impacted"]} >= {("q", "jan")}
    cli("lineage", "q.jan")
