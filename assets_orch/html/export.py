"""``assets catalog export``: the static HTML catalog, as a list of steps.

Reads the project files and the catalog only (the warehouse is opened read-only by
``Project.load`` when it is free); never takes the writer lock, so it works while a
materialization runs. Writes are incremental: see :mod:`.writer` and :mod:`.svg`.

>>> import pathlib, tempfile
>>> from assets_orch.project import Project
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "assets.toml").write_text('name = "demo"')
>>> _ = (root / "models").mkdir()
>>> _ = (root / "models" / "one.sql").write_text("select 1 as x")
>>> summary = export_catalog(Project.load(root), root / "site")
>>> summary.assets, (root / "site" / "assets" / "one.html").is_file()
(1, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from . import model, pages, search_index, svg
from .writer import SiteWriter, content_hash, prepare_directory

if TYPE_CHECKING:
    from ..partitions.status import PartitionStatus
    from ..project import Project
    from ..staleness import AssetStatus

# Above this many assets the whole-graph page shows a message instead of a picture:
# dot's layout of thousands of boxes takes minutes and the SVG freezes the browser.
WHOLE_GRAPH_LIMIT = 300
STATIC_FILES = ("catalog.css", "catalog.js", "index.js", "asset.js")


@dataclass
class ExportSummary:
    """What one export did, for ``--json`` and the command's message."""

    directory: str
    assets: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    pages_written: int = 0
    pictures_drawn: int = 0
    pictures_reused: int = 0
    whole_graph: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "assets": self.assets,
            "files_written": self.files_written,
            "files_unchanged": self.files_unchanged,
            "files_removed": self.files_removed,
            "pages_written": self.pages_written,
            "pictures_drawn": self.pictures_drawn,
            "pictures_reused": self.pictures_reused,
            "whole_graph": self.whole_graph,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


@dataclass
class _Export:
    """The state passed from step to step."""

    project: Project
    writer: SiteWriter
    summary: ExportSummary
    now: float
    names: list[str] = field(default_factory=list)
    statuses: dict[str, AssetStatus] = field(default_factory=dict)
    partitions: dict[str, PartitionStatus] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    pictures: dict[str, model.Pictures] = field(default_factory=dict)
    pages: list[model.AssetPage] = field(default_factory=list)
    site: model.Site | None = None


def export_catalog(
    project: Project,
    directory: Path,
    *,
    select: tuple[str, ...] = (),
    now: float | None = None,
) -> ExportSummary:
    """Write the catalog of ``project`` (or of the ``select`` expressions) to ``directory``."""
    started = time.perf_counter()
    prepare_directory(directory)
    writer = SiteWriter(directory)
    writer.begin()
    state = _Export(
        project=project,
        writer=writer,
        summary=ExportSummary(str(directory)),
        now=now or time.time(),
    )
    state.names = project.graph.order(project.graph.select(select))
    for step in STEPS:
        t0 = time.perf_counter()
        step(state)
        state.summary.timings[step.__name__.strip("_")] = time.perf_counter() - t0
    summary = state.summary
    summary.assets = len(state.names)
    summary.files_written = len(state.writer.written)
    summary.files_unchanged = state.writer.unchanged
    summary.seconds = time.perf_counter() - started
    return summary


def _status(state: _Export) -> None:
    judgement = state.project.judge(now=state.now)
    state.statuses = judgement.statuses
    state.partitions = judgement.partitions
    state.slugs = {name: model.slug(name) for name in state.names}
    chosen = [state.statuses[n] for n in state.names]
    state.site = model.site(state.project, chosen, __version__, state.now)


def _static(state: _Export) -> None:
    folder = resources.files("assets_orch.html") / "static"
    for name in STATIC_FILES:
        state.writer.write(f"static/{name}", folder.joinpath(name).read_bytes())


def _pictures(state: _Export) -> None:
    """Plan the one- and two-hop picture of every asset, then draw the changed ones."""
    graph = state.project.graph

    def url_for(name: str) -> str | None:
        target = state.slugs.get(name)
        return f"../assets/{target}.html" if target else None

    planned: list[svg.Picture] = []
    for name in state.names:
        slug = state.slugs[name]
        near, wide = svg.asset_neighbourhoods(graph, name)
        near_pic = wide_pic = None
        note = wide_note = None
        if svg.size(near) > svg.MAX_PICTURE_NODES:
            note = (
                f"{len(near.nodes) - 1} neighbours are too many to draw legibly; "
                "see the upstream and downstream lists."
            )
        else:
            near_pic = svg.picture(f"lineage/{slug}.1.svg", near, state.statuses, url_for)
            planned.append(near_pic)
            if set(wide.nodes) == set(near.nodes):
                wide_note = "Nothing more within two hops."
            elif svg.size(wide) > svg.MAX_PICTURE_NODES:
                wide_note = f"Two hops reach {len(wide.nodes) - 1} assets: too many to draw."
            else:
                wide_pic = svg.picture(f"lineage/{slug}.2.svg", wide, state.statuses, url_for)
                planned.append(wide_pic)
        state.pictures[name] = model.Pictures(
            f"../{near_pic.path}" if near_pic else None,
            f"../{wide_pic.path}" if wide_pic else None,
            note,
            wide_note,
        )
    if len(state.names) <= WHOLE_GRAPH_LIMIT and state.names:
        hood = svg.whole_graph(graph, state.names)

        def root_url(name: str) -> str | None:
            target = state.slugs.get(name)
            return f"assets/{target}.html" if target else None

        planned.append(svg.picture("graph.svg", hood, state.statuses, root_url))
        state.summary.whole_graph = True
    writer = state.writer
    todo = [p for p in planned if not writer.is_current(p.path, p.digest)]
    drawn = svg.render_pictures(todo)
    for pic in planned:
        if pic.path in drawn:
            writer.write(pic.path, drawn[pic.path], digest=pic.digest)
        else:
            writer.keep(pic.path, pic.digest)
    state.summary.pictures_drawn = len(drawn)
    state.summary.pictures_reused = len(planned) - len(drawn)


def _asset_pages(state: _Export) -> None:
    """Render the page of every asset whose inputs changed since the last export."""
    project = state.project
    assert state.site is not None
    shared = f"{pages.templates_key()}\n{state.site.project}\n{state.site.version}"
    for name in state.names:
        page = model.asset_page(
            project,
            project.graph.specs[name],
            state.statuses[name],
            state.statuses,
            state.slugs,
            state.pictures[name],
            state.now,
            state.partitions.get(name),
        )
        state.pages.append(page)
        digest = page_digest(shared, page)
        if state.writer.is_current(page.href, digest):
            state.writer.keep(page.href, digest)
            continue
        html = pages.render("asset.html", page=page, site=state.site, root="../", nav="assets")
        state.writer.write(page.href, html, digest=digest)
        state.summary.pages_written += 1


def page_digest(shared: str, page: model.AssetPage) -> str:
    """The input hash of an asset page: everything it shows (its record's ``repr``,
    partition strip included) plus ``shared`` (templates, project name, version)."""
    return content_hash(f"{shared}\n{page!r}")


def _index(state: _Export) -> None:
    rows = [search_index.index_row(p) for p in state.pages]
    state.writer.write("search-index.js", search_index.to_script(rows))
    tags = sorted({t for p in state.pages for t in p.tags})
    kinds = sorted({p.kind for p in state.pages})
    common = {"site": state.site, "root": ""}
    state.writer.write(
        "index.html", pages.render("index.html", tags=tags, kinds=kinds, nav="assets", **common)
    )
    graph_pic = "graph.svg" if state.summary.whole_graph else None
    state.writer.write(
        "graph.html",
        pages.render(
            "graph.html", picture=graph_pic, limit=WHOLE_GRAPH_LIMIT, nav="graph", **common
        ),
    )
    runs = model.runs(state.project.catalog, state.slugs)
    state.writer.write("runs.html", pages.render("runs.html", runs=runs, nav="runs", **common))


def _finish(state: _Export) -> None:
    state.summary.files_removed = len(state.writer.finish())


STEPS = (_status, _static, _pictures, _asset_pages, _index, _finish)
