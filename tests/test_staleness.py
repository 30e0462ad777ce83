"""Pure staleness: each reason, transitive propagation, and the state it implies."""

from __future__ import annotations

from assets_orch.graph import AssetGraph
from assets_orch.metadata import AssetMeta, FreshnessPolicy
from assets_orch.records import AssetHistory, CatalogSnapshot, MaterializationRecord
from assets_orch.specs import AssetSpec
from assets_orch.staleness import WarehouseView, compute_status


def spec(
    name: str,
    *ups: str,
    files: tuple[str, ...] = (),
    fp: str = "fp",
    freshness: float | None = None,
) -> AssetSpec:
    meta = AssetMeta(freshness=FreshnessPolicy(error_after=freshness) if freshness else None)
    return AssetSpec(name, "sql", f"{name}.sql", 1, meta, fp, upstreams=ups, file_sources=files)


def built(
    name: str,
    *,
    fp: str = "fp",
    ups: dict[str, str] | None = None,
    srcs: dict[str, str] | None = None,
    version: str | None = None,
    ended: float = 100.0,
) -> MaterializationRecord:
    return MaterializationRecord(
        id=f"m-{name}",
        run_id="r",
        asset=name,
        status="success",
        started_at=ended - 1,
        ended_at=ended,
        code_fingerprint=fp,
        upstream_versions=ups or {},
        source_versions=srcs or {},
        data_version=version or f"v-{name}",
    )


def snapshot(*records: MaterializationRecord, failed: tuple[str, ...] = ()) -> CatalogSnapshot:
    assets = {r.asset: AssetHistory(r, "success") for r in records}
    for name in failed:
        prev = assets.get(name)
        assets[name] = AssetHistory(prev.last_success if prev else None, "failed")
    return CatalogSnapshot(assets)


GRAPH = AssetGraph([spec("a", files=("data/a.csv",)), spec("b", "a"), spec("c", "b"), spec("d")])
TABLES = WarehouseView({"a": "m-a", "b": "m-b", "c": "m-c", "d": "m-d"})
FRESH = snapshot(
    built("a", srcs={"data/a.csv": "s1"}),
    built("b", ups={"a": "v-a"}),
    built("c", ups={"b": "v-b"}),
    built("d"),
)


def reasons(status: dict, name: str) -> list[str]:  # type: ignore[type-arg]
    return [str(r) for r in status[name].reasons]


def test_all_fresh() -> None:
    status = compute_status(GRAPH, FRESH, {"data/a.csv": "s1"}, TABLES, 101.0)
    assert {s.state for s in status.values()} == {"fresh"}


def test_source_change_propagates_transitively() -> None:
    status = compute_status(GRAPH, FRESH, {"data/a.csv": "s2"}, TABLES, 101.0)
    assert reasons(status, "a") == ["source changed: data/a.csv"]
    assert reasons(status, "b") == ["upstream stale: a"]
    assert reasons(status, "c") == ["upstream stale: b"]
    assert reasons(status, "d") == []


def test_upstream_changed_uses_data_versions() -> None:
    snap = snapshot(
        built("a", srcs={"data/a.csv": "s1"}, version="v-new"),
        built("b", ups={"a": "v-a"}),
        built("c", ups={"b": "v-b"}),
        built("d"),
    )
    status = compute_status(GRAPH, snap, {"data/a.csv": "s1"}, TABLES, 101.0)
    assert reasons(status, "b") == ["upstream changed: a"]
    assert reasons(status, "c") == ["upstream stale: b"]
    assert status["a"].state == "fresh"


def test_missing_never_built_and_table_gone() -> None:
    status = compute_status(GRAPH, CatalogSnapshot(), {}, WarehouseView({}), 0.0)
    assert reasons(status, "a") == ["missing: never materialized"]
    assert status["a"].state == "missing"
    gone = WarehouseView({"b": "m-b", "c": "m-c", "d": "m-d"})
    status = compute_status(GRAPH, FRESH, {"data/a.csv": "s1"}, gone, 101.0)
    assert reasons(status, "a") == ["missing: table is gone from the warehouse"]
    assert reasons(status, "b") == ["upstream stale: a"]


def test_code_and_dependency_changes() -> None:
    graph = AssetGraph(
        [spec("a", files=("data/a.csv",)), spec("b", "a", "d", fp="new"), spec("c", "b"), spec("d")]
    )
    status = compute_status(graph, FRESH, {"data/a.csv": "s1"}, TABLES, 101.0)
    assert reasons(status, "b") == ["code changed", "dependencies changed: +d"]


def test_last_run_failed_and_freshness() -> None:
    graph = AssetGraph(
        [
            spec("a", files=("data/a.csv",)),
            spec("b", "a"),
            spec("c", "b"),
            spec("d", freshness=3600),
        ]
    )
    snap = snapshot(
        *(h.last_success for h in FRESH.assets.values()),  # type: ignore[arg-type]
        failed=("c",),
    )
    status = compute_status(graph, snap, {"data/a.csv": "s1"}, TABLES, 100.0 + 7200)
    assert reasons(status, "c") == ["last run failed"] and status["c"].state == "failed"
    assert reasons(status, "d") == ["freshness: older than 1h"]


def test_table_replaced_outside_the_tool() -> None:
    view = WarehouseView({"a": "m-a", "b": "other", "c": "m-c", "d": "m-d"})
    status = compute_status(GRAPH, FRESH, {"data/a.csv": "s1"}, view, 101.0)
    assert reasons(status, "b") == ["table changed outside assets_orch"]


def test_unknown_warehouse_trusts_the_catalog() -> None:
    status = compute_status(GRAPH, FRESH, {"data/a.csv": "s1"}, WarehouseView(None), 101.0)
    assert {s.state for s in status.values()} == {"fresh"}
