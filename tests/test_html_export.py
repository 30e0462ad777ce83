"""The HTML catalog export, checked by parsing what it writes (no string compares)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import Cli

from assets_orch.html import export_catalog
from assets_orch.html.model import slug
from assets_orch.html.svg import sanitize_svg
from assets_orch.project import Project

# The example project's assets (it may grow: tests compare with the loaded project).
SHOP_ASSETS = {
    "stg_customers", "stg_order_items", "stg_orders", "stg_payments", "stg_products",
    "int_order_items_priced", "int_orders_enriched", "int_customer_orders",
    "orders_daily", "customer_lifetime_value", "product_performance", "payments_by_method",
    "customer_segments", "segment_summary",
}  # fmt: skip

SCRIPT_PAYLOAD = "<script>window.__xss = 1</script>"
IMG_PAYLOAD = "<img src=x onerror=\"window.__xss = 2; alert('xss')\">"


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Page(HTMLParser):
    """The parts of one HTML page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.texts_by_id: dict[str, list[str]] = {}  # the text inside each element with an id
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of the open elements
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag not in VOID:
            self._open.append((tag, values.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for _, id_ in self._open:
            if id_:
                self.texts_by_id.setdefault(id_, []).append(data)

    def text_of(self, id_: str) -> str:
        """The text inside the element with this id ('' when there is none)."""
        return " ".join(" ".join(self.texts_by_id.get(id_, [])).split())

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag]

    def by_id(self, id_: str) -> tuple[str, dict[str, str]] | None:
        return next(((t, a) for t, a in self.elements if a.get("id") == id_), None)

    def local_refs(self) -> list[str]:
        """Every href/src/data URL that is not a fragment or a data: URL."""
        refs = []
        for _, attrs in self.elements:
            for key in ("href", "src", "data"):
                value = attrs.get(key)
                if value and not value.startswith(("#", "data:")):
                    refs.append(value)
        return refs

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def search_index(site: Path) -> dict[str, object]:
    text = (site / "search-index.js").read_text(encoding="utf-8")
    prefix, suffix = "window.ASSETS_INDEX = ", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    data: dict[str, object] = json.loads(text[len(prefix) : -len(suffix)])
    return data


def index_rows(site: Path) -> list[dict[str, object]]:
    data = search_index(site)
    fields = data["fields"]
    assert isinstance(fields, list) and isinstance(data["rows"], list)
    return [dict(zip(fields, row, strict=True)) for row in data["rows"]]


def resolve(page: Path, ref: str) -> Path:
    parts = urlsplit(ref)
    assert not parts.scheme and not parts.netloc, f"{page.name}: non-local URL {ref}"
    return (page.parent / unquote(parts.path)).resolve()


def svg_links(svg: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()
    return [
        el.attrib["{http://www.w3.org/1999/xlink}href"]
        for el in root.iter()
        if "{http://www.w3.org/1999/xlink}href" in el.attrib
    ]


def check_links(site: Path) -> int:
    """Every local link, script, style and picture of every page resolves; count them."""
    checked = 0
    for page in sorted(site.rglob("*.html")):
        for ref in parse(page).local_refs():
            target = resolve(page, ref)
            assert target.is_file(), f"{page.relative_to(site)} links to missing {ref}"
            assert site.resolve() in target.parents, f"{ref} leaves the site"
            checked += 1
    for svg in sorted(site.rglob("*.svg")):
        for ref in svg_links(svg):
            assert resolve(svg, ref).is_file(), f"{svg.name} links to missing {ref}"
            checked += 1
    return checked


@pytest.fixture(scope="module")
def built_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project, materialized once for the module."""
    from conftest import copy_project

    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path_factory.mktemp("shop") / "shop")
    Cli(root)("materialize")
    return root


@pytest.fixture(scope="module")
def shop_site(built_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site") / "catalog"
    result = Cli(built_shop).json("catalog", "export", str(site))
    assert result["assets"] == len(project_assets(built_shop))
    return site


def project_assets(root: Path) -> set[str]:
    names = set(Project.load(root, check_tables=False).graph.specs)
    assert names >= SHOP_ASSETS
    return names


def test_every_asset_has_a_page_and_an_index_row(built_shop: Path, shop_site: Path) -> None:
    expected = project_assets(built_shop)
    pages = {p.stem for p in (shop_site / "assets").glob("*.html")}
    assert pages == expected
    rows = index_rows(shop_site)
    assert {r["name"] for r in rows} == expected
    for row in rows:
        assert (shop_site / str(row["href"])).is_file()
        assert row["state"] == "fresh"
    daily = next(r for r in rows if r["name"] == "orders_daily")
    assert "revenue" in str(daily["cols"]).split()
    assert set(daily["tags"]) == {"marts", "finance"}  # type: ignore[arg-type]


def test_every_local_link_resolves(shop_site: Path) -> None:
    assert check_links(shop_site) > 100


def test_pages_allow_only_their_own_files(shop_site: Path) -> None:
    for page_path in shop_site.rglob("*.html"):
        page = parse(page_path)
        csp = [
            m["content"]
            for m in page.all("meta")
            if m.get("http-equiv") == "Content-Security-Policy"
        ]
        assert len(csp) == 1, page_path
        rules = dict(r.strip().split(" ", 1) for r in csp[0].split(";") if r.strip())
        assert rules["default-src"] == "'none'"
        assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
        assert all("unsafe" not in v and "http" not in v for v in rules.values())
        # Nothing inline for the CSP to block: no inline script, style or handler.
        assert all(s.get("src") for s in page.all("script")), page_path
        assert not page.all("style")
        for _, attrs in page.elements:
            assert "style" not in attrs and not any(k.startswith("on") for k in attrs)
        for ref in page.local_refs():
            assert not re.match(r"^[a-z]+:", ref) or ref.startswith("data:"), ref


def test_asset_page_shows_columns_checks_history_and_lineage(shop_site: Path) -> None:
    page = parse(shop_site / "assets" / "orders_daily.html")
    text = page.all_text
    assert page.by_id("col-revenue") is not None
    assert "DECIMAL(38,2)" in text
    assert "not_null(order_date)" in text and "passed" in text
    assert page.by_id("asset-state") is not None
    links = {a["href"] for a in page.all("a")}
    assert "int_orders_enriched.html" in links
    objects = {o["id"]: o["data"] for o in page.all("object")}
    assert objects["pic-near"] == "../lineage/orders_daily.1.svg"
    assert (shop_site / "lineage" / "orders_daily.1.svg").is_file()
    # The SVG is a real Graphviz drawing whose boxes link to asset pages.
    svg_refs = svg_links(shop_site / "lineage" / "orders_daily.1.svg")
    assert "../assets/int_orders_enriched.html" in svg_refs
    assert page.all("rect")  # the run-duration chart
    assert any("highlight" in p.get("class", "") for p in page.all("pre"))


def test_svgs_hold_no_style_script_or_handler(shop_site: Path) -> None:
    import xml.etree.ElementTree as ET

    for svg in shop_site.rglob("*.svg"):
        for el in ET.parse(svg).getroot().iter():
            assert not el.tag.endswith(("script", "style", "foreignObject")), svg
            assert "style" not in el.attrib
            assert not any(k.startswith("on") for k in el.attrib)


def test_sanitizer_drops_active_content() -> None:
    dirty = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<script>alert(1)</script><g onclick="alert(2)" style="fill:red">'
        b'<a xlink:href="javascript:alert(3)"><text>ok</text></a>'
        b'<a xlink:href="../assets/a.html" target="_top"><text>a</text></a></g></svg>'
    )
    clean = sanitize_svg(dirty).decode()
    assert "script" not in clean and "onclick" not in clean and "style" not in clean
    assert "javascript" not in clean and "../assets/a.html" in clean


def test_second_export_rewrites_nothing(built_shop: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    cli = Cli(built_shop)
    first = cli.json("catalog", "export", str(site))
    assert first["pictures_drawn"] > 0
    page = site / "assets" / "orders_daily.html"
    before = page.stat().st_mtime_ns
    again = cli.json("catalog", "export", str(site))
    assert again["pictures_drawn"] == 0 and again["pages_written"] == 0
    assert again["files_written"] <= 1  # index.html carries the export time
    assert page.stat().st_mtime_ns == before


def test_an_edit_redraws_only_what_it_touches(tmp_path: Path) -> None:
    from conftest import copy_project

    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path / "shop")
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    (root / "models" / "marts" / "payments_by_method.sql").unlink()
    summary = export_catalog(Project.load(root), site)
    assert not (site / "assets" / "payments_by_method.html").exists()
    assert summary.files_removed >= 2  # its page and its picture(s)
    assert not (site / "assets" / "orders_daily.html").stat().st_size == 0
    # stg_payments lost a downstream: its page and pictures change; far assets do not.
    assert summary.pictures_drawn < summary.pictures_reused


def test_select_exports_part_and_links_only_what_exists(built_shop: Path, tmp_path: Path) -> None:
    site = tmp_path / "part"
    Cli(built_shop)("catalog", "export", str(site), "--select", "orders_daily", "-s", "stg_orders")
    assert {p.stem for p in (site / "assets").glob("*.html")} == {"orders_daily", "stg_orders"}
    assert {r["name"] for r in index_rows(site)} == {"orders_daily", "stg_orders"}
    check_links(site)
    page = parse(site / "assets" / "orders_daily.html")
    assert "int_orders_enriched" in page.all_text  # named, but not linked
    assert "int_orders_enriched.html" not in {a.get("href") for a in page.all("a")}


def test_refuses_a_non_empty_folder_that_is_not_an_export(built_shop: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = Cli(built_shop)("catalog", "export", str(tmp_path), expect=2)
    assert "not empty" in result.output and "hint" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def interrupted_export(root: Path, site: Path, tmp_path: Path) -> None:
    """Start an export and kill it (SIGKILL) while it draws pictures: after it wrote
    its first files, before it finished. ``dot`` is a stand-in that waits forever."""
    from conftest import spawn_assets, wait_for

    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir(exist_ok=True)
    reached = tmp_path / "dot-started"
    fake = bin_dir / "dot"
    fake.write_text(
        f"#!/bin/sh\ntouch {reached}\nwhile kill -0 $PPID 2>/dev/null; do sleep 0.1; done\n"
    )
    fake.chmod(0o755)
    proc = spawn_assets(
        "catalog",
        "export",
        str(site),
        cwd=root,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    wait_for(reached.exists)
    proc.kill()
    proc.communicate(timeout=30)
    reached.unlink()


def test_an_interrupted_export_is_taken_up_by_the_next(built_shop: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    interrupted_export(built_shop, site, tmp_path)
    assert (site / "static" / "catalog.css").is_file()  # it had begun
    assert (site / ".assets-catalog.json").is_file()  # and said so first
    stray = site / "assets" / "orders_daily.html.assets-export.tmp"  # killed mid-write
    stray.parent.mkdir(exist_ok=True)
    stray.write_text("<half a page")
    result = Cli(built_shop).json("catalog", "export", str(site))
    assert result["assets"] == len(project_assets(built_shop))
    assert not [p for p in site.rglob("*") if p.name.endswith(".tmp")]
    assert "partial" not in json.loads((site / ".assets-catalog.json").read_text())
    check_links(site)
    # Over a finished export, an interrupted one leaves files whose recorded hashes may
    # be wrong: the next export rewrites every page instead of trusting them.
    for picture in (site / "lineage").glob("*.svg"):
        picture.unlink()  # so that this export draws, and is killed while it does
    interrupted_export(built_shop, site, tmp_path)
    again = Cli(built_shop).json("catalog", "export", str(site))
    assert again["pages_written"] == again["assets"] and again["files_unchanged"] == 0
    settled = Cli(built_shop).json("catalog", "export", str(site))
    assert settled["pages_written"] == 0 and settled["pictures_drawn"] == 0


def test_exports_while_a_writer_holds_the_lock_and_the_warehouse(
    built_shop: Path, tmp_path: Path
) -> None:
    """As during a materialization: the writer lock taken, DuckDB opened for writing."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; from pathlib import Path; "
            "from assets_orch.lock import WriterLock; "
            "WriterLock(Path(sys.argv[2]), run_id='held-by-test').acquire(); "
            "c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(built_shop / "warehouse.duckdb"),
            str(built_shop / ".assets" / "writer.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = Cli(built_shop).json("catalog", "export", str(tmp_path / "site"))
        assert result["assets"] == len(project_assets(built_shop))
        assert {r["state"] for r in index_rows(tmp_path / "site")} == {"fresh"}
    finally:
        holder.kill()
        holder.wait()


def test_no_secret_reaches_the_site(built_shop: Path, tmp_path: Path) -> None:
    marker = "sekret-value-do-not-export"
    with (built_shop / "assets.toml").open("a") as fh:
        fh.write(f"# token = {marker}\n")
    os.environ["ASSETS_TEST_SECRET"] = marker
    try:
        export_catalog(Project.load(built_shop), tmp_path / "site")
    finally:
        del os.environ["ASSETS_TEST_SECRET"]
    for file in (tmp_path / "site").rglob("*"):
        if file.is_file():
            assert marker not in file.read_text(encoding="utf-8", errors="replace"), file


def test_slugs_are_safe_file_names() -> None:
    assert slug("orders_daily") == "orders_daily"
    for name in ("a b", "../x", "<img>", "con", "index", "x?y#z", "dot."):
        made = slug(name)
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+", made) and made != name
    assert slug("a b") != slug("a_b")


def make_xss_project(root: Path) -> Path:
    """A project whose description, column name and error message carry payloads."""
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "xss"\n')
    (root / "models" / "evil.sql").write_text(
        f"-- description: {SCRIPT_PAYLOAD} and {IMG_PAYLOAD}\n"
        '-- tags: ["<b>tag</b>"]\n'
        f'select 1 as id, 2 as "{IMG_PAYLOAD.replace(chr(34), chr(39))}"\n'
    )
    (root / "models" / "broken.sql").write_text(
        "-- description: fails with a hostile message\n"
        f"select error('{SCRIPT_PAYLOAD} {IMG_PAYLOAD.replace(chr(39), chr(34))}') as x "
        "from evil\n"
    )
    Cli(root)("materialize", expect=1)
    return root


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_xss_project(tmp_path_factory.mktemp("xss") / "project")
    site = root.parent / "site"
    export_catalog(Project.load(root), site)
    return site


def test_payloads_are_text_not_markup(xss_site: Path) -> None:
    evil = parse(xss_site / "assets" / "evil.html")
    assert SCRIPT_PAYLOAD in evil.all_text  # shown, as text
    assert "<img src=x onerror='window.__xss = 2; alert(" in evil.all_text  # the column
    broken = parse(xss_site / "assets" / "broken.html")
    assert SCRIPT_PAYLOAD in broken.all_text  # the error message
    runs = parse(xss_site / "runs.html")
    assert SCRIPT_PAYLOAD in runs.all_text
    for page_path in xss_site.rglob("*.html"):
        page = parse(page_path)
        assert not page.all("img"), page_path
        assert all(s.get("src") for s in page.all("script")), page_path
        for _, attrs in page.elements:
            assert not any(k.startswith("on") for k in attrs), page_path
    # The index data is JSON inside a script file: the payload is a JSON string.
    assert any(SCRIPT_PAYLOAD in str(r["desc"]) for r in index_rows(xss_site))


@pytest.mark.slow
def test_big_generated_project_exports(tmp_path: Path) -> None:
    """1,000 generated assets export, every one with a page and an index row.

    The 10,000-asset timings live in benchmarks/html_export.py, not in a test.
    """
    root_dir = str(Path(__file__).parents[1])
    if root_dir not in sys.path:  # `pytest` run without `python -m`
        sys.path.insert(0, root_dir)
    from benchmarks.html_export import generate_project

    root = generate_project(tmp_path / "big", 1000)
    t0 = time.perf_counter()
    summary = export_catalog(Project.load(root), tmp_path / "site")
    assert time.perf_counter() - t0 < 240  # a hang guard, not a benchmark
    assert summary.assets == 1000 and not summary.whole_graph
    assert len(list((tmp_path / "site" / "assets").glob("*.html"))) == 1000
    assert len(index_rows(tmp_path / "site")) == 1000
    graph = parse(tmp_path / "site" / "graph.html")
    assert not graph.all("object")  # above the threshold: a message, not a picture


def test_sources_are_boxes_of_their_own(shop_site: Path) -> None:
    import xml.etree.ElementTree as ET

    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.parse(shop_site / "lineage" / "stg_orders.1.svg").getroot()
    nodes = {t.text for t in root.findall(".//svg:g[@class='node']/svg:title", ns)}
    edges = {t.text for t in root.findall(".//svg:g[@class='edge']/svg:title", ns)}
    assert "file/data/orders.csv" in nodes and "file" not in nodes
    assert "file/data/orders.csv->stg_orders" in edges


def test_column_lineage_appears_when_the_catalog_has_it(
    built_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets_orch.catalog import Catalog

    def column_lineage(self: Catalog, asset: str) -> dict[str, list[object]]:
        if asset != "orders_daily":
            return {}
        return {
            "order_date": ["int_orders_enriched.order_date"],
            "revenue": [("int_orders_enriched", "order_total"), {"asset": "x", "column": "y"}],
            "orders": [
                {"asset": "int_orders_enriched", "column": "is_cancelled", "edge": "filter"},
                {"asset": "raw.events", "column": "id", "kind": "table", "edge": "value"},
            ],
        }

    monkeypatch.setattr(Catalog, "column_lineage", column_lineage, raising=False)
    site = tmp_path / "site"
    export_catalog(Project.load(built_shop), site)
    page = parse(site / "assets" / "orders_daily.html")
    assert "Computed from" in page.all_text
    hrefs = {a["href"] for a in page.all("a")}
    assert "int_orders_enriched.html#col-order_date" in hrefs
    assert "int_orders_enriched.html#col-order_total" in hrefs
    assert "x.y" in page.all_text  # not an asset of the project: named, not linked
    assert "int_orders_enriched.html#col-is_cancelled" in hrefs and "filtered by" in page.all_text
    assert "raw.events.id" in page.all_text and "(table)" in page.all_text
    check_links(site)
    other = parse(site / "assets" / "stg_orders.html")
    assert "Computed from" not in other.all_text


def test_without_graphviz_the_error_says_how_to_fix_it(
    built_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assets_orch.html.svg as svg_module

    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    result = Cli(built_shop)("catalog", "export", str(tmp_path / "site"), expect=2)
    assert "Graphviz" in result.output and "apt-get install graphviz" in result.output


def test_an_empty_project_exports(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "empty"\n')
    summary = export_catalog(Project.load(root), tmp_path / "site")
    assert summary.assets == 0 and index_rows(tmp_path / "site") == []
    check_links(tmp_path / "site")


@pytest.mark.parametrize(
    "module", ["export", "highlight", "model", "search_index", "strip", "writer"]
)
def test_docstring_examples_hold(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"assets_orch.html.{module}"))
    assert result.failed == 0 and result.attempted > 0


def test_a_hub_is_listed_not_drawn(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "hub"\n')
    (root / "models" / "hub.sql").write_text("select 1 as id\n")
    for i in range(90):
        (root / "models" / f"leaf_{i:02d}.sql").write_text("select id from hub\n")
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    hub = parse(site / "assets" / "hub.html")
    assert not hub.all("object") and "too many to draw" in hub.all_text
    assert len([a for a in hub.all("a") if a["href"].startswith("leaf_")]) == 90
    leaf = parse(site / "assets" / "leaf_00.html")
    assert [o["id"] for o in leaf.all("object")] == ["pic-near"]
    widen = leaf.by_id("widen")
    assert widen is not None and "disabled" in widen[1]
    assert not (site / "lineage" / "hub.1.svg").exists()
    check_links(site)


def test_an_asset_page_shows_the_checks_declared_now(tmp_path: Path) -> None:
    """Removed checks leave the checks table; their last results are folded apart."""
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "p"\n')
    model = root / "models" / "orders.sql"
    header = (
        "-- checks:\n--   - not_null: id\n--   - unique: [id]\n"
        "--   - name: positive amounts\n--     expression: amount > 0\n"
    )
    model.write_text(header + "select 1 as id, 5 as amount\n")
    cli = Cli(root)
    cli("materialize")
    # `unique` and `positive amounts` are removed, `accepted_values` is new (never run).
    model.write_text(
        "-- checks:\n--   - not_null: id\n"
        "--   - accepted_values: {column: id, values: [1, 2]}\n"
        "select 1 as id, 5 as amount\n"
    )
    cli("catalog", "export", str(tmp_path / "site"))
    page = parse(tmp_path / "site" / "assets" / "orders.html")
    rows = page.text_of("checks").split("checks no longer declared")[0]
    assert "not_null(id)" in rows and "passed" in rows
    assert "accepted_values(id)" in rows and "not run yet" in rows
    assert "unique(id)" not in rows and "positive amounts" not in rows
    details = page.by_id("previous-checks")
    assert details is not None and details[0] == "details" and "open" not in details[1]
    previous = page.text_of("previous-checks")
    assert previous.startswith("2 checks no longer declared")
    assert "unique(id)" in previous and "positive amounts" in previous
    assert "not_null(id)" not in previous and "accepted_values" not in previous
    # Once every check is declared again, nothing is folded away.
    model.write_text(header + "select 1 as id, 5 as amount\n")
    cli("catalog", "export", str(tmp_path / "site"))
    page = parse(tmp_path / "site" / "assets" / "orders.html")
    assert page.by_id("previous-checks") is None
    assert "positive amounts" in page.text_of("checks")
