"""Lineage pictures for the catalog: DOT per asset, drawn in batches by Graphviz.

Starting ``dot`` costs about 14 ms; drawing a small neighbourhood costs under 1 ms.
So pictures are drawn by a few ``dot -Tsvg`` processes (one per CPU) that each read
hundreds of graphs on stdin and write as many SVGs to stdout. A picture whose inputs
(neighbourhood, states, links, drawing code) hash as in the last export is neither
written as DOT nor drawn again: the writer's manifest remembers the hash.

Every SVG is then checked against an allow-list of elements and attributes, and
rebuilt from the allowed parts if it fails: no script, no event handler, no style
attribute (the pages' CSP forbids inline styles), links only to relative ``.html``.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from xml.parsers import expat

from ..errors import ExportError
from ..lineage_view import STATE_COLORS, Neighbourhood, neighbourhood, to_dot
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
    """One SVG to draw: where it goes, what it shows, and how its boxes link.

    ``digest`` hashes the inputs (the neighbourhood, the states and links of its
    boxes, and the drawing code), so an unchanged picture is known without
    writing its DOT.
    """

    path: str
    hood: Neighbourhood
    states: tuple[tuple[str, str, str | None], ...]  # (asset, state, link) per box

    @property
    def digest(self) -> str:
        return content_hash(f"{_style_key()}\n{self.hood!r}\n{self.states!r}")

    def dot(self) -> str:
        """The DOT text; boxes of assets outside the export get no link."""
        states = {name: state for name, state, _ in self.states}
        links = {name: link for name, _, link in self.states}
        # to_dot reads only ``.state`` of each status; Graphviz drops None attributes.
        statuses = {name: _State(state) for name, state in states.items()}
        source: str = to_dot(self.hood, statuses, url_for=links.get).source  # type: ignore[arg-type]
        return source


@dataclass(frozen=True)
class _State:
    state: str


def picture(
    path: str,
    hood: Neighbourhood,
    statuses: Mapping[str, AssetStatus],
    url_for: Callable[[str], str | None],
) -> Picture:
    """The picture of ``hood`` at ``path``; boxes link to ``url_for(name)``."""
    states = tuple(
        (n, statuses[n].state if n in statuses else "missing", url_for(n)) for n in hood.nodes
    )
    return Picture(path, hood, states)


@cache
def _style_key() -> str:
    """Hash of the drawing code and this module's version: a change redraws everything."""
    return content_hash(RENDER_VERSION + inspect.getsource(to_dot) + repr(STATE_COLORS))


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


def render_pictures(pictures: list[Picture], *, jobs: int | None = None) -> dict[str, bytes]:
    """Draw every picture with Graphviz, in batches; path -> checked SVG bytes."""
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
    batches = [pictures[i : i + BATCH_SIZE] for i in range(0, len(pictures), BATCH_SIZE)]
    out: dict[str, bytes] = {}
    # Threads suffice: the work is in the dot processes (a process pool measured
    # slower, as the SVGs are copied back to this process).
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for batch, svgs in zip(batches, pool.map(lambda b: _draw(exe, b), batches), strict=True):
            out.update(zip((p.path for p in batch), svgs, strict=True))
    return out


def _draw(exe: str, batch: list[Picture]) -> list[bytes]:
    """Draw a batch with one ``dot`` process: many graphs in, many SVGs out, in order."""
    source = "\n".join(p.dot() for p in batch).encode()
    done = subprocess.run([exe, "-Tsvg"], input=source, capture_output=True, check=False)
    parts = [b"<?xml" + part for part in done.stdout.split(b"<?xml")[1:]]
    if done.returncode != 0 or len(parts) != len(batch):
        bad = next((p for p in batch if _draw_one(exe, p) is None), batch[0])
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(
            f"Graphviz failed to draw {bad.path}: {error[0] if error else 'no output'}",
            hint="this is a bug in the DOT the catalog wrote; please report it",
        )
    return [sanitize_svg(part) for part in parts]


def _draw_one(exe: str, pic: Picture) -> bytes | None:
    done = subprocess.run([exe, "-Tsvg"], input=pic.dot().encode(), capture_output=True)
    return done.stdout if done.returncode == 0 else None


def sanitize_svg(data: bytes) -> bytes:
    """A Graphviz SVG with nothing active in it: allowed elements and attributes only.

    The usual case is checked in one pass of expat and passed through minus comments
    and the DOCTYPE; anything unexpected (a script, an event handler, a style
    attribute, a link that is not a relative ``.html`` path) makes the SVG be rebuilt
    from the allowed parts only.
    """
    if _is_clean(data):
        return _COMMENT.sub(b"", data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ExportError(f"Graphviz wrote an SVG that cannot be read: {e}") from e
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ExportError("Graphviz wrote something that is not an SVG")
    _clean(root)
    text = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode()


_COMMENT = re.compile(rb"<!--.*?-->\s*|<!DOCTYPE[^>\[]*>\s*", re.S)
_EXPAT_TAGS = {t.replace("}", " ").lstrip("{") for t in _ALLOWED_TAGS}
_EXPAT_ATTRS = {a.replace("}", " ").lstrip("{") for a in _ALLOWED_ATTRS}
_EXPAT_HREF = f"{XLINK_NS} href"


class _Unsafe(Exception):
    pass


def _is_clean(data: bytes) -> bool:
    """True when ``data`` holds only allowed elements, attributes and links."""
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag not in _EXPAT_TAGS or not _EXPAT_ATTRS.issuperset(attrs):
            raise _Unsafe
        href = attrs.get(_EXPAT_HREF)
        if href is not None and not _SAFE_HREF.match(href):
            raise _Unsafe
        if attrs.get("target", "_top") != "_top":
            raise _Unsafe

    def refuse(*_: object) -> None:
        raise _Unsafe

    def doctype(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        if internal:
            raise _Unsafe

    parser.StartElementHandler = start
    parser.ProcessingInstructionHandler = refuse
    parser.StartCdataSectionHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except (_Unsafe, expat.ExpatError):
        return False
    return True


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
