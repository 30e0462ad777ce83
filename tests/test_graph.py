"""Graph order, cycles and the selection grammar, on a real fixture project."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets_orch.errors import GraphError, SelectionError
from assets_orch.graph import AssetGraph
from assets_orch.metadata import AssetMeta
from assets_orch.project import Project
from assets_orch.specs import AssetSpec


def spec(name: str, *ups: str, tags: tuple[str, ...] = (), kind: str = "sql") -> AssetSpec:
    return AssetSpec(
        name,
        kind,
        f"models/{name}.sql",
        1,
        AssetMeta(tags=tags),
        "fp",  # type: ignore[arg-type]
        upstreams=ups,
    )


@pytest.fixture
def graph() -> AssetGraph:
    return AssetGraph(
        [
            spec("raw"),
            spec("stg", "raw", tags=("staging",)),
            spec("mart", "stg", tags=("m",)),
            spec("other", "raw"),
            spec("py", "mart", kind="python"),
            spec("lonely"),
        ]
    )


CASES = [
    ("stg", {"stg"}),
    ("+stg", {"raw", "stg"}),
    ("stg+", {"stg", "mart", "py"}),
    ("+mart+", {"raw", "stg", "mart", "py"}),
    ("1+mart", {"stg", "mart"}),
    ("raw+1", {"raw", "stg", "other"}),
    ("tag:staging", {"stg"}),
    ("kind:python", {"py"}),
    ("path:models/mart.sql", {"mart"}),
    ("st*", {"stg"}),
    ("STG", {"stg"}),
    ("stg lonely", {"stg", "lonely"}),
]


@pytest.mark.parametrize(("expr", "expected"), CASES, ids=[c[0] for c in CASES])
def test_selection(graph: AssetGraph, expr: str, expected: set[str]) -> None:
    assert graph.select([expr]) == expected


@pytest.mark.parametrize("expr", ["nope", "tag:nope", "x*", "bogus:1", "++a"])
def test_bad_selection(graph: AssetGraph, expr: str) -> None:
    with pytest.raises(SelectionError):
        graph.select([expr])


def test_order_is_lineage_order_and_deterministic(graph: AssetGraph) -> None:
    order = graph.order()
    for name, ups in graph.upstreams.items():
        assert all(order.index(u) < order.index(name) for u in ups)
    assert order == AssetGraph(reversed(list(graph.specs.values()))).order()


def test_cycle_names_the_cycle() -> None:
    with pytest.raises(GraphError, match=r"dependency cycle: (\w+ -> ){3}\w+"):
        AssetGraph([spec("a", "c"), spec("b", "a"), spec("c", "b"), spec("d")])


def test_fixture_project_loads(fixture_project) -> None:  # type: ignore[no-untyped-def]
    project = Project.load(fixture_project("basic"))
    g = project.graph
    assert g.order()[0] == "raw_events"
    assert g.upstreams["totals"] == ("clicks",)  # CTE `clicks` reads main.clicks
    assert g.upstreams["enriched"] == ("clicks",)
    assert g.specs["raw_events"].file_sources == ("data/events.csv",)
    assert g.specs["raw_events"].meta.description == "Raw events from the CSV export."


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 19), max_size=4), min_size=1, max_size=20))
def test_random_dags_order_and_closure(edges: list[list[int]]) -> None:
    specs = [spec(f"n{i}", *sorted({f"n{j}" for j in ups if j < i})) for i, ups in enumerate(edges)]
    g = AssetGraph(specs)
    order = g.order()
    assert sorted(order) == sorted(s.name for s in specs)
    for name in order:
        down = g.descendants(name)
        assert all(order.index(d) > order.index(name) for d in down)
        assert g.select([name + "+"]) == down | {name}
