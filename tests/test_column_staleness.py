"""Sharper staleness: a change reaches only the downstream assets that read what changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.graph import AssetGraph
from assets_orch.metadata import AssetMeta
from assets_orch.specs import AssetSpec
from assets_orch.staleness import (
    AssetStatus,
    ColumnVerdict,
    Reason,
    apply_column_verdicts,
)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def project(shop: Path) -> Cli:
    # revenue_by_day is partitioned: its partitions are judged by their own pass
    # (docs/partitions.md), which this test does not exercise.
    (shop / "models" / "marts" / "revenue_by_day.sql").unlink()
    cli = Cli(shop)
    cli("materialize")
    return cli


def states(cli: Cli) -> dict[str, tuple[str, list[str], list[str]]]:
    return {s["name"]: (s["state"], s["reasons"], s["notes"]) for s in cli.json("status")}


def stale(cli: Cli) -> set[str]:
    return {name for name, (state, _, _) in states(cli).items() if state != "fresh"}


def test_adding_a_column_leaves_downstream_fresh(project: Cli) -> None:
    staging = project.project / "models" / "staging" / "stg_orders.sql"  # type: ignore[operator]
    edit(
        staging,
        "lower(trim(status)) as status",
        "lower(trim(status)) as status,\n    status as raw_status",
    )
    found = states(project)
    assert stale(project) == {"stg_orders"}
    assert found["stg_orders"][1] == ["code changed"]
    for reader in ("int_orders_enriched", "product_performance"):
        assert found[reader][2] == ["non-breaking: stg_orders added columns raw_status"]
    plan = project.json("materialize", "--stale", "--dry-run")
    assert [a["name"] for a in plan["assets"]] == ["stg_orders"]
    result = project.json("materialize", "--stale")
    assert {a["name"]: a["status"] for a in result["assets"]} == {"stg_orders": "success"}
    # Built: the downstream consumed the old table, and still need nothing.
    after = states(project)
    assert stale(project) == set()
    assert after["int_orders_enriched"][2] == ["non-breaking: stg_orders added columns raw_status"]
    columns = project.json("columns", "stg_orders")
    assert [c["name"] for c in columns["columns"]][-1] == "raw_status"


def test_removing_a_column_makes_exactly_its_readers_stale(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    # customer_id of stg_orders is read by int_orders_enriched only (not product_performance).
    edit(root / "models" / "staging" / "stg_orders.sql", "    customer_id,\n", "")
    # Its check goes with it (a check naming a column the query lost is a load error).
    edit(root / "models" / "staging" / "stg_orders.sql", "--   - not_null: customer_id\n", "")
    found = states(project)
    assert found["int_orders_enriched"][0] == "stale"
    assert found["product_performance"][0] == "fresh"
    assert found["product_performance"][2] == [
        "non-breaking: stg_orders changed customer_id (not read here)"
    ]
    readers = {"stg_orders", "int_orders_enriched"}
    # What reads int_orders_enriched cannot be proven fresh: its new code no longer
    # resolves (customer_id is gone), so its future columns are unknown.
    downstream = {
        "int_customer_orders",
        "orders_daily",
        "customer_lifetime_value",
        "customer_segments",
        "segment_summary",
    }
    assert stale(project) == readers | downstream


def test_a_column_nobody_reads_can_go(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    edit(
        root / "models" / "staging" / "stg_payments.sql",
        ",\n    cast(paid_at as date) as paid_date",
        "",
    )
    assert stale(project) == {"stg_payments"}


def test_changing_a_column_makes_stale_only_what_depends_on_it(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    edit(
        root / "models" / "staging" / "stg_payments.sql",
        "    paid_at,\n",
        "    paid_at + interval 1 hour as paid_at,\n",
    )
    # first_paid_at of int_orders_enriched changes; nothing downstream reads it. paid_date
    # is cast from the file's paid_at, not from the new expression: it does not change.
    assert stale(project) == {"stg_payments", "int_orders_enriched", "payments_by_method"}
    result = project.json("materialize", "--stale")
    built = {a["name"]: a["status"] for a in result["assets"]}
    assert built == {
        "stg_payments": "success",
        "int_orders_enriched": "success",
        "payments_by_method": "success",
    }
    assert stale(project) == set()
    notes = states(project)["orders_daily"][2]
    assert notes == ["non-breaking: int_orders_enriched changed first_paid_at (not read here)"]


def test_changed_rows_reach_every_column(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    path = root / "models" / "staging" / "stg_products.sql"
    path.write_text(re.sub(r"\)\s*$", ")\nwhere unit_price > 1\n", path.read_text()))
    found = stale(project)
    # A WHERE decides which rows exist: every reader of stg_products is affected.
    assert {"stg_products", "int_order_items_priced", "product_performance"} <= found


def test_volatile_columns_are_never_proven_unchanged(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    edit(
        root / "models" / "staging" / "stg_orders.sql",
        "lower(trim(status)) as status",
        "lower(trim(status)) as status,\n    random() as noise",
    )
    found = states(project)
    assert found["int_orders_enriched"][0] == "fresh"  # noise is not read downstream
    result = project.json("materialize", "--stale")
    assert [a["name"] for a in result["assets"]] == ["stg_orders"]


def _spec(name: str, *ups: str) -> AssetSpec:
    return AssetSpec(name, "sql", f"{name}.sql", 1, AssetMeta(), "f", upstreams=ups)


def test_apply_column_verdicts_is_pure_and_propagates() -> None:
    graph = AssetGraph([_spec("a"), _spec("b", "a"), _spec("c", "b"), _spec("d", "a")])
    statuses = {
        "a": AssetStatus("a", "stale", (Reason("code changed"),)),
        "b": AssetStatus("b", "stale", (Reason("upstream stale", "a"),)),
        "c": AssetStatus("c", "stale", (Reason("upstream stale", "b"),)),
        "d": AssetStatus("d", "stale", (Reason("upstream stale", "a"),)),
    }
    verdicts = {
        "b": ColumnVerdict(True, "non-breaking: a added columns x"),
        "d": ColumnVerdict(False),
    }
    out = apply_column_verdicts(graph, statuses, verdicts)
    assert out["a"].is_stale and out["d"].is_stale
    assert not out["b"].is_stale and out["b"].notes == ("non-breaking: a added columns x",)
    assert not out["c"].is_stale and out["c"].notes == ()  # b is not rebuilt at all
    assert apply_column_verdicts(graph, statuses, {}) == statuses
    kept = apply_column_verdicts(graph, statuses, verdicts, keep={"b"})
    assert kept["b"] is statuses["b"] and kept["c"].is_stale


def test_an_added_column_reaches_a_star_and_an_ambiguous_name(project: Cli) -> None:
    root: Path = project.project  # type: ignore[assignment]
    marts = root / "models" / "marts"
    (marts / "orders_copy.sql").write_text("select * from stg_orders\n")
    (marts / "order_payments.sql").write_text(
        "select order_id, status, amount\nfrom stg_orders join stg_payments using (order_id)\n"
    )
    project("materialize")
    edit(
        root / "models" / "staging" / "stg_payments.sql",
        "    amount,\n",
        "    amount,\n    'x' as status,\n",
    )
    edit(
        root / "models" / "staging" / "stg_orders.sql",
        "lower(trim(status)) as status",
        "lower(trim(status)) as status,\n    1 as one",
    )
    found = states(project)
    assert found["orders_copy"][0] == "stale"  # its * now has one column more
    assert found["order_payments"][0] == "stale"  # 'status' is now in both tables
    assert found["int_orders_enriched"][0] == "fresh"  # reads neither new column
    unresolved = project.json("columns", "order_payments")["unresolved"]
    assert unresolved is not None and "status" in unresolved


def test_a_partitioned_downstream_stays_fresh_after_an_added_column(shop: Path) -> None:
    cli = Cli(shop)  # the whole template, revenue_by_day (daily partitions) included
    cli("materialize")
    staging = shop / "models" / "staging" / "stg_orders.sql"
    edit(
        staging,
        "lower(trim(status)) as status",
        "lower(trim(status)) as status,\n    status as raw_status",
    )
    assert stale(cli) == {"stg_orders"}
    assert cli.json("partitions", "revenue_by_day")  # still reported
    result = cli.json("materialize", "--stale")
    assert {a["name"] for a in result["assets"]} == {"stg_orders"}
    # A change that reaches the partitioned asset still makes its partitions stale.
    edit(staging, "lower(trim(status)) as status", "upper(trim(status)) as status")
    assert "revenue_by_day" in stale(cli)


# An upstream edit that changes which rows or values a column has must make its readers
# stale; where one exists, an edit that reaches nothing they read leaves them fresh first.
ROWS = """
select * from (values ('a', 'x', 1, 5), ('a', 'y', 2, 7), ('b', 'x', 3, 1), ('b', 'y', 4, 2),
                      ('c', 'x', 5, 9), ('c', 'y', 6, 4)) as t(sym, ex, ts, qty)
"""
DOWNSTREAM_CASES = {
    "named window": (
        "select sym, ts, sum(qty) over w as cum_qty from trades\n"
        "window w as (partition by ex order by ts)\n",
        "select sym, max(cum_qty) as top from a group by sym\n",
        ("select sym, ts,", "select sym, ts, qty as unread,"),
        ("partition by ex", "partition by sym"),
    ),
    "offset under a limit": (
        "select sym, qty from trades order by qty limit 2 offset 1\n",
        "select sum(qty) as total from a\n",
        ("select sym, qty", "select sym, qty, ex as unread"),
        ("offset 1", "offset 3"),
    ),
    "except all": (
        "select ex from trades except select ex from trades where qty > 8\n",
        "select count(*) as n from a\n",
        None,
        ("except select", "except all select"),
    ),
}


@pytest.mark.parametrize(
    ("upstream", "reader", "neutral", "change"),
    DOWNSTREAM_CASES.values(),
    ids=DOWNSTREAM_CASES.keys(),
)
def test_an_edit_that_changes_rows_or_values_makes_the_reader_stale(
    tmp_path: Path,
    upstream: str,
    reader: str,
    neutral: tuple[str, str] | None,
    change: tuple[str, str],
) -> None:
    root = write_project(
        tmp_path / "p",
        {"models/trades.sql": ROWS, "models/a.sql": upstream, "models/b.sql": reader},
    )
    cli = Cli(root)
    cli("materialize")
    if neutral is not None:
        edit(root / "models" / "a.sql", *neutral)
        assert stale(cli) == {"a"}, "a column b does not read was added: b stays fresh"
        cli("materialize", "--stale")
    edit(root / "models" / "a.sql", *change)
    assert stale(cli) == {"a", "b"}
    result = cli.json("materialize", "--stale")
    assert {a["name"] for a in result["assets"]} == {"a", "b"}
