"""Lineage pictures for the catalog: DOT per asset, drawn in batches by Graphviz.

Starting ``dot`` costs about 14 ms; drawing a small neighbourhood costs under 1 ms.
So pictures are written as DOT files into a scratch folder and drawn by a few
``dot -Tsvg -O a.dot b.dot ...`` processes (one per CPU), each drawing hundreds of
graphs. Pictures whose DOT source is unchanged since the last export are not drawn
again (the writer's manifest remembers the hash of the DOT source).

Every SVG is then rebuilt from an allow-list of elements and attributes: no script,
no event handler, no style attribute (the pages' CSP forbids inline styles), and
links only to relative ``.html`` pages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..lineage_view import Neighbourhood, neighbourhood, to_dot
from .writer import content_hash

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from ..staleness import AssetStatus

# Bump when the drawing or the sanitizer changes, so cached pictures are redrawn.
RENDER_VERSION = "1"
# Above this many boxes a neighbourhood is listed, not drawn: dot's layout time grows
# fast and a picture of hundreds of boxes is unreadable at page width.
MAX_PICTURE_NODES = 80
# Graphs per dot process: large enough to amortise its start, small enough to spread
# the work over the CPUs.
BATCH_SIZE = 250

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

_ALLOWED_TAGS = {
    f"{{{SVG_NS}}}{t}"
    for t in ("svg", "g", "title", "path", "polygon", "polyline", "ellipse", "text", "a")
}
_ALLOWED_ATTRS = {
    "id",
    "class",
    "width",
    "height",
    "viewBox",
    "transform",
    "fill",
    "stroke",
    "stroke-width",
    "stroke-dasharray",
    "d",
    "points",
    "cx",
    "cy",
    "rx",
    "ry",
    "x",
    "y",
    "text-anchor",
    "font-family",
    "font-size",
    "font-weight",
    "target",
    f"{{{XLINK_NS}}}title",
    f"{{{XLINK_NS}}}href",
}
_SAFE_HREF = re.compile(r"^(?:\.\./)?[A-Za-z0-9_.\-/%]+\.html$")


@dataclass(frozen=True)
class Picture:
    """One SVG to draw: where it goes and the DOT source it is drawn from."""

    path: str
    dot: str

    @property
    def digest(self) -> str:
        return content_hash(f"{RENDER_VERSION}\n{self.dot}")


def whole_graph(graph: AssetGraph, names: Iterable[str]) -> Neighbourhood:
    """Every asset in ``names`` with the edges among them and their sources."""
    nodes = set(names)
    edges = sorted((u, d) for d in nodes for u in graph.upstreams[d] if u in nodes)
    sources = sorted(
        (n, f"{kind}:{s}")
        for n in nodes
        for kind, items in (
            ("table", graph.specs[n].external_tables),
            ("file", graph.specs[n].file_sources),
        )
        for s in items
    )
    return Neighbourhood("", tuple(graph.order(nodes)), tuple(sources), tuple(edges))


def asset_neighbourhoods(graph: AssetGraph, name: str) -> tuple[Neighbourhood, Neighbourhood]:
    """The one-hop and two-hop neighbourhoods of ``name`` (the widen-by-one-hop pair)."""
    return neighbourhood(graph, name, depth=1), neighbourhood(graph, name, depth=2)


def size(hood: Neighbourhood) -> int:
    """Boxes in the picture of ``hood``: assets plus distinct sources."""
    return len(hood.nodes) + len({s for _, s in hood.sources})


def dot_source(
    hood: Neighbourhood,
    statuses: dict[str, AssetStatus],
    url_for: Callable[[str], str | None],
) -> str:
    """DOT text of ``hood``; nodes link to ``url_for(name)`` when it gives a path."""
    # url_for gives None for assets outside the export (see --select): Graphviz drops
    # a None attribute, so those boxes get no link rather than a dead one.
    source: str = to_dot(hood, statuses, url_for=url_for).source
    return source


def render_pictures(pictures: list[Picture], *, jobs: int | None = None) -> dict[str, bytes]:
    """Draw every picture with Graphviz, in batches; path -> sanitized SVG bytes."""
    if not pictures:
        return {}
    exe = shutil.which("dot")
    if exe is None:
        raise ExportError(
            "Graphviz's 'dot' program is not installed, so lineage pictures cannot be drawn",
            hint="install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
            "install graphviz)",
        )
    jobs = jobs or max(1, min(os.cpu_count() or 1, 8))
    with tempfile.TemporaryDirectory(prefix="assets-svg-") as tmp:
        folder = Path(tmp)
        files = []
        for i, pic in enumerate(pictures):
            file = folder / f"{i}.dot"
            file.write_text(pic.dot, encoding="utf-8")
            files.append(file)
        batches = [files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE)]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            failures = [f for f in pool.map(lambda b: _draw(exe, b), batches) if f]
        if failures:
            index = int(Path(failures[0]).stem)
            raise ExportError(
                f"Graphviz failed to draw {pictures[index].path}: {_first_error(exe, failures[0])}",
                hint="this is a bug in the DOT the catalog wrote; please report it",
            )
        return {
            pic.path: sanitize_svg((folder / f"{i}.dot.svg").read_bytes())
            for i, pic in enumerate(pictures)
        }


def _draw(exe: str, batch: list[Path]) -> str | None:
    """Draw one batch; the first file that failed, or None."""
    done = subprocess.run([exe, "-Tsvg", "-O", *map(str, batch)], capture_output=True, check=False)
    if done.returncode == 0:
        return None
    for file in batch:
        if not Path(str(file) + ".svg").is_file():
            return str(file)
    return str(batch[0])


def _first_error(exe: str, file: str) -> str:
    done = subprocess.run([exe, "-Tsvg", file], capture_output=True, check=False)
    return done.stderr.decode(errors="replace").strip().splitlines()[0] if done.stderr else "?"


def sanitize_svg(data: bytes) -> bytes:
    """Rebuild a Graphviz SVG from allowed elements and attributes only.

    Drops comments, scripts, event handlers, style attributes and links that are
    not relative ``.html`` paths.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ExportError(f"Graphviz wrote an SVG that cannot be read: {e}") from e
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ExportError("Graphviz wrote something that is not an SVG")
    _clean(root)
    root.set("class", "lineage")
    text = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode()


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if child.tag not in _ALLOWED_TAGS:
            element.remove(child)
            continue
        _clean(child)
    for attr in list(element.attrib):
        if attr not in _ALLOWED_ATTRS:
            del element.attrib[attr]
    href = element.get(f"{{{XLINK_NS}}}href")
    if href is not None and not _SAFE_HREF.match(href):
        del element.attrib[f"{{{XLINK_NS}}}href"]
    if element.get("target") not in (None, "_top"):
        del element.attrib["target"]
    if element.tail is not None:
        element.tail = None if not element.tail.strip() else element.tail
    if element.text is not None and element.tag != f"{{{SVG_NS}}}text" and not element.text.strip():
        element.text = None
