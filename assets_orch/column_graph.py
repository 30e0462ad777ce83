"""The lineage of one column as a graph: its upstream columns down to files and tables,
its downstream readers, as data, a text tree and a Graphviz picture.

Value edges (the value is computed from) are drawn solid; filter edges (they decide
which rows exist or feed the value) dashed. Everything is sorted, so DOT and JSON
compare exactly between runs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .column_lineage import FILTER, VALUE

if TYPE_CHECKING:
    from .column_lineage import ProjectColumns

SOURCE_COLORS = {"asset": "#37474f", "file": "#1565c0", "table": "#1565c0"}


@dataclass(frozen=True, order=True)
class ColumnNode:
    """``asset.column``, or a file's or external table's column (``kind`` says which)."""

    kind: str  # asset, file, table
    source: str
    column: str

    @property
    def label(self) -> str:
        return f"{self.source}.{self.column}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "source": self.source, "column": self.column}


@dataclass(frozen=True)
class ColumnGraph:
    """The neighbourhood of one column: nodes, (upstream, downstream, edge) edges, and
    the assets whose lineage is unknown (so the picture may be incomplete there)."""

    focus: ColumnNode
    nodes: tuple[ColumnNode, ...]
    edges: tuple[tuple[ColumnNode, ColumnNode, str], ...]
    gaps: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "focus": self.focus.to_json(),
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [
                {"upstream": u.to_json(), "downstream": d.to_json(), "edge": e}
                for u, d, e in self.edges
            ],
            "unresolved": [{"asset": a, "reason": r} for a, r in self.gaps],
        }


def column_graph(
    columns: ProjectColumns,
    asset: str,
    column: str,
    *,
    upstream: bool = True,
    downstream: bool = True,
    depth: int | None = None,
) -> ColumnGraph:
    """The columns ``asset.column`` reads (to its sources) and that read it."""
    focus = ColumnNode("asset", asset, column)
    nodes = {focus}
    edges: set[tuple[ColumnNode, ColumnNode, str]] = set()
    gaps: dict[str, str] = {}
    if upstream:
        queue = deque([(focus, 0)])
        seen = {focus}
        while queue:
            node, level = queue.popleft()
            if node.kind != "asset" or (depth is not None and level >= depth):
                continue
            info = columns.of(node.source)
            if info.unresolved is not None:
                gaps[node.source] = info.unresolved
                continue
            col = info.column(node.column)
            if col is None:
                continue
            for edge, refs in ((VALUE, col.value), (FILTER, col.filter)):
                for ref in refs:
                    up = ColumnNode(ref.kind, ref.source, ref.column)
                    edges.add((up, node, edge))
                    nodes.add(up)
                    if up not in seen:
                        seen.add(up)
                        queue.append((up, level + 1))
    if downstream:
        queue = deque([(focus, 0)])
        seen = {focus}
        while queue:
            node, level = queue.popleft()
            if depth is not None and level >= depth:
                continue
            for down, down_col, edge in columns.readers(node.source, node.column):
                target = ColumnNode("asset", down, down_col)
                edges.add((node, target, edge))
                nodes.add(target)
                if target not in seen:
                    seen.add(target)
                    queue.append((target, level + 1))
        for name, reason in columns.unresolved_downstream(asset):
            gaps.setdefault(name, reason)
    edge_list = sorted(edges, key=lambda e: (e[0], e[1], e[2]))
    return ColumnGraph(focus, tuple(sorted(nodes)), tuple(edge_list), tuple(sorted(gaps.items())))


def text_rows(graph: ColumnGraph, direction: str) -> list[tuple[int, str, str, bool]]:
    """Rows ``(indent, label, edge, repeated)`` of the tree in ``direction``, depth first."""
    children: dict[ColumnNode, list[tuple[ColumnNode, str]]] = {}
    for up, down, edge in graph.edges:
        if direction == "upstream":
            children.setdefault(down, []).append((up, edge))
        else:
            children.setdefault(up, []).append((down, edge))
    rows: list[tuple[int, str, str, bool]] = []
    seen: set[ColumnNode] = set()

    def walk(node: ColumnNode, level: int, path: frozenset[ColumnNode]) -> None:
        # Value edges first: "computed from" reads before "filtered by".
        ordered = sorted(children.get(node, ()), key=lambda c: (c[1] != VALUE, c[0]))
        for child, edge in ordered:
            if child in path:
                continue
            repeated = child in seen and bool(children.get(child))
            rows.append((level, _label(child), edge, repeated))
            if repeated:
                continue
            seen.add(child)
            walk(child, level + 1, path | {child})

    walk(graph.focus, 1, frozenset({graph.focus}))
    return rows


def _label(node: ColumnNode) -> str:
    prefix = {"file": "file ", "table": "table "}.get(node.kind, "")
    return f"{prefix}{node.label}"


def to_dot(graph: ColumnGraph) -> Any:
    """A ``graphviz.Digraph``: one box per asset (or file, table) holding its columns."""
    import graphviz

    dot = graphviz.Digraph(
        "column_lineage",
        graph_attr={
            "rankdir": "LR",
            "fontname": "Helvetica",
            "bgcolor": "transparent",
            "compound": "true",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": "Helvetica",
            "fontsize": "10",
            "fillcolor": "white",
        },
        edge_attr={"arrowsize": "0.7"},
    )
    groups: dict[tuple[str, str], list[ColumnNode]] = {}
    for node in graph.nodes:
        groups.setdefault((node.kind, node.source), []).append(node)
    for index, ((kind, source), members) in enumerate(sorted(groups.items())):
        with dot.subgraph(name=f"cluster_{index}") as sub:
            title = {"file": f"file {source}", "table": f"table {source}"}.get(kind, source)
            sub.attr(
                label=title,
                style="rounded",
                color=SOURCE_COLORS.get(kind, "#37474f"),
                fontname="Helvetica",
                fontsize="11",
            )
            for node in members:
                attrs = {"tooltip": node.label}
                if node == graph.focus:
                    attrs["fillcolor"] = "#e3f2fd"
                    attrs["penwidth"] = "2"
                sub.node(_node_id(node), node.column, **attrs)
    for up, down, edge in graph.edges:
        style = {"style": "dashed", "color": "#9e9e9e"} if edge == FILTER else {}
        dot.edge(_node_id(up), _node_id(down), tooltip=edge, **style)
    return dot


def _node_id(node: ColumnNode) -> str:
    # No colon: Graphviz reads "a:b" in an edge as node a, port b.
    return f"{node.kind}/{node.source}/{node.column}"
