"""Lineage as data, as a text tree and as Graphviz pictures.

Everything is sorted, so DOT and JSON output compare exactly between runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import LineageError

if TYPE_CHECKING:
    from .graph import AssetGraph
    from .staleness import AssetStatus

STATE_COLORS = {
    "fresh": "#2e7d32",
    "stale": "#f9a825",
    "missing": "#9e9e9e",
    "failed": "#c62828",
    "source": "#1565c0",
}


@dataclass(frozen=True)
class Neighbourhood:
    """The part of the graph around one asset: nodes and (upstream, downstream) edges."""

    focus: str
    nodes: tuple[str, ...]  # asset names
    sources: tuple[tuple[str, str], ...]  # (asset, source) with source "file:x" / "table:x"
    edges: tuple[tuple[str, str], ...]  # (upstream, downstream)

    def to_json(self, statuses: dict[str, AssetStatus] | None = None) -> dict[str, Any]:
        return {
            "focus": self.focus,
            "nodes": [
                {"name": n, "state": statuses[n].state if statuses else None} for n in self.nodes
            ],
            "sources": [{"asset": a, "source": s} for a, s in self.sources],
            "edges": [{"upstream": u, "downstream": d} for u, d in self.edges],
        }


def neighbourhood(
    graph: AssetGraph,
    focus: str,
    *,
    upstream: bool = True,
    downstream: bool = True,
    depth: int | None = None,
) -> Neighbourhood:
    """The assets within ``depth`` hops of ``focus`` upstream and/or downstream."""
    nodes = {focus}
    if upstream:
        nodes |= graph.ancestors(focus, depth)
    if downstream:
        nodes |= graph.descendants(focus, depth)
    ups = graph.ancestors(focus, depth) | {focus} if upstream else {focus}
    edges = sorted((u, d) for d in nodes for u in graph.upstreams[d] if u in nodes)
    sources = sorted(
        (n, f"{kind}:{s}")
        for n in ups
        for kind, items in (
            ("table", graph.specs[n].external_tables),
            ("file", graph.specs[n].file_sources),
        )
        for s in items
    )
    return Neighbourhood(focus, tuple(graph.order(nodes)), tuple(sources), tuple(edges))


def to_dot(
    hood: Neighbourhood,
    statuses: dict[str, AssetStatus],
    *,
    url_for: Any = None,
) -> Any:
    """A ``graphviz.Digraph`` of the neighbourhood, nodes coloured by state.

    ``url_for(name)`` may give each node a link (used by the HTML catalog).
    """
    import graphviz

    dot = graphviz.Digraph(
        "lineage",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica", "bgcolor": "transparent"},
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": "Helvetica",
            "fontsize": "11",
            "fillcolor": "white",
        },
    )
    for name in hood.nodes:
        state = statuses[name].state if name in statuses else "missing"
        attrs = {
            "color": STATE_COLORS.get(state, "#9e9e9e"),
            "penwidth": "2",
            "tooltip": f"{name} ({state})",
        }
        if name == hood.focus:
            attrs["fillcolor"] = "#e3f2fd"
        if url_for is not None:
            attrs["URL"] = url_for(name)
            attrs["target"] = "_top"
        dot.node(name, f"{name}\n[{state}]", **attrs)
    for asset, source in hood.sources:
        # No colon in the id: Graphviz would read "file:x" in an edge as node "file", port x.
        node_id = source.replace(":", "/", 1)
        kind, _, label = source.partition(":")
        dot.node(
            node_id,
            label,
            shape="note" if kind == "file" else "cylinder",
            color=STATE_COLORS["source"],
            fillcolor="#f5f9ff",
            tooltip=source,
        )
        dot.edge(node_id, asset, style="dashed")
    for up, down in hood.edges:
        dot.edge(up, down)
    return dot


def render(dot: Any, fmt: str) -> bytes:
    """Draw a DOT graph as ``svg`` or ``png`` with Graphviz's ``dot`` program."""
    import graphviz

    try:
        data: bytes = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise LineageError(
            "Graphviz's 'dot' program is not installed, so no picture can be drawn",
            hint="install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
            "install graphviz), or use --format text / --format dot",
        ) from e
    except graphviz.CalledProcessError as e:
        raise LineageError(f"Graphviz failed to draw the graph: {e}") from e
    return data


def text_tree(
    graph: AssetGraph,
    focus: str,
    statuses: dict[str, AssetStatus],
    *,
    upstream: bool = True,
    downstream: bool = True,
    depth: int | None = None,
) -> list[tuple[int, str, str, str]]:
    """Rows ``(indent, direction, name, state)`` of the lineage tree, depth-first.

    Shared ancestors appear once in full; later occurrences are marked ``(see above)``.
    """
    rows: list[tuple[int, str, str, str]] = []

    def walk(name: str, level: int, direction: str, seen: set[str]) -> None:
        edges = graph.upstreams if direction == "upstream" else graph.downstreams
        children = list(edges[name])
        if direction == "upstream":
            spec = graph.specs[name]
            for table in spec.external_tables:
                rows.append((level, direction, f"table {table}", "source"))
            for file in spec.file_sources:
                rows.append((level, direction, f"file {file}", "source"))
        for child in children:
            state = statuses[child].state if child in statuses else "?"
            if child in seen:
                rows.append((level, direction, f"{child} (see above)", state))
                continue
            seen.add(child)
            rows.append((level, direction, child, state))
            if depth is None or level < depth:
                walk(child, level + 1, direction, seen)

    if upstream:
        walk(focus, 1, "upstream", set())
    if downstream:
        walk(focus, 1, "downstream", set())
    return rows
