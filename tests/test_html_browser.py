"""The HTML catalog in real headless Chromium (Debian's ``chromium``, via Playwright).

Skipped with a reason when chromium or Playwright is missing, except in CI, where
missing them is a failure: CI must run these.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, copy_project
from test_html_export import make_xss_project

from assets_orch.html import export_catalog
from assets_orch.project import Project

ROOT = Path(__file__).parent.parent
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(ROOT))

from benchmarks.html_export import CHROMIUM_ARGS  # noqa: E402

pytestmark = pytest.mark.browser


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = None
    if exe is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright for Python is not installed (pip install playwright)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    assert exe is not None
    return exe


class Browser:
    """One page with listeners that collect console errors, dialogs and requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        outside = [u for u in self.requests if not u.startswith("file://")]
        assert outside == [], f"requests left file://: {outside}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Browser]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    # Any request that is not file:// is refused, as well as recorded.
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith("file://") else route.abort()
        ),
    )
    yield Browser(context.new_page())
    context.close()


@pytest.fixture(scope="module")
def shop_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path_factory.mktemp("shop") / "shop")
    Cli(root)("materialize")
    site = tmp_path_factory.mktemp("site") / "catalog"
    export_catalog(Project.load(root), site)
    return site


def picture_frame(page: Any, suffix: str) -> Any:
    """The frame of the <object> showing the SVG whose URL ends with ``suffix``."""
    page.wait_for_function(
        "s => [...document.querySelectorAll('object')].some("
        "o => o.data.endsWith(s) && o.contentDocument !== undefined)",
        arg=suffix,
    )
    for _ in range(50):
        frames = [f for f in page.frames if f.url.endswith(suffix)]
        if frames:
            frames[0].wait_for_selector("svg g.node")
            return frames[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"no frame shows {suffix}")


def node_names(frame: Any) -> list[str]:
    names: list[str] = frame.eval_on_selector_all(
        "g.node > title", "els => els.map(e => e.textContent)"
    )
    return names


def test_search_click_through_and_follow_the_lineage(shop_site: Path, browser: Browser) -> None:
    page = browser.page
    page.goto((shop_site / "index.html").as_uri())
    page.wait_for_selector("body[data-ready=true]")
    total = len(list((shop_site / "assets").glob("*.html")))
    assert total >= 14  # the example project's assets
    rows = page.locator("#rows tr")
    assert rows.count() == total
    assert f"{total} of {total}" in page.inner_text("#result-count")

    page.fill("#q", "orders_d")
    page.wait_for_function(f"document.querySelectorAll('#rows tr').length < {total}")
    names = page.locator("#rows tr td:first-child a").all_inner_texts()
    assert names[0] == "orders_daily"
    assert all("order" in n for n in names)

    # The state filter narrows the list further: nothing in the shop is failed.
    page.select_option("#state", "failed")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 0")
    page.select_option("#state", "")

    page.click("#rows a:text-is('orders_daily')")
    page.wait_for_url("**/assets/orders_daily.html")
    assert page.inner_text("#asset-name").startswith("orders_daily")

    frame = picture_frame(page, "lineage/orders_daily.1.svg")
    titles = node_names(frame)
    assert {"orders_daily", "int_orders_enriched"} <= set(titles)
    frame.locator("g.node:has(title:text-is('int_orders_enriched')) a").click()
    page.wait_for_url("**/assets/int_orders_enriched.html")
    assert page.inner_text("#asset-name").startswith("int_orders_enriched")

    # Widen by one hop: the two-hop picture replaces the one-hop picture.
    page.click("#widen")
    assert page.get_attribute("#widen", "aria-pressed") == "true"
    assert page.locator("#pic-near").is_hidden() and page.locator("#pic-wide").is_visible()
    wide = picture_frame(page, "lineage/int_orders_enriched.2.svg")
    near_count = len(titles)
    assert wide.locator("g.node").count() > near_count
    browser.assert_clean()


def test_graph_and_runs_pages_load_cleanly(shop_site: Path, browser: Browser) -> None:
    page = browser.page
    page.goto((shop_site / "graph.html").as_uri())
    frame = picture_frame(page, "graph.svg")
    assert frame.locator("g.node").count() >= len(list((shop_site / "assets").glob("*.html")))
    page.goto((shop_site / "runs.html").as_uri())
    assert page.locator("table.runs tbody tr").count() == 1
    page.goto((shop_site / "index.html").as_uri() + "#state=fresh&q=stg")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#rows tr").count() == 5
    assert page.input_value("#q") == "stg"
    browser.assert_clean()


def test_hostile_text_is_shown_and_never_runs(tmp_path: Path, browser: Browser) -> None:
    root = make_xss_project(tmp_path / "project")
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    page = browser.page
    for rel in ("index.html", "assets/evil.html", "assets/broken.html", "runs.html"):
        page.goto((site / rel).as_uri())
        page.wait_for_load_state("load")
        if rel == "index.html":
            page.wait_for_selector("body[data-ready=true]")
        page.wait_for_timeout(200)  # time for an injected onerror to fire
        assert page.evaluate("window.__xss") is None, rel
        assert page.locator("img").count() == 0, rel
        assert page.locator("script:not([src])").count() == 0, rel
    page.goto((site / "index.html").as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert "<script>window.__xss = 1</script>" in page.inner_text("#rows")
    page.goto((site / "assets" / "evil.html").as_uri())
    assert "<script>window.__xss = 1</script>" in page.inner_text(".description")
    assert "onerror" in page.inner_text("#columns")
    page.goto((site / "assets" / "broken.html").as_uri())
    assert "<script>window.__xss = 1</script>" in page.inner_text("#status")
    assert not any(u.endswith("/x") for u in browser.requests)
    browser.assert_clean()


def test_search_finds_stale_reasons_and_columns(tmp_path: Path, browser: Browser) -> None:
    from assets_orch.template import template_dir

    root = copy_project(template_dir(), tmp_path / "shop")
    Cli(root)("materialize")
    with (root / "models" / "staging" / "stg_payments.sql").open("a") as fh:
        fh.write("where amount is not null\n")
    site = tmp_path / "site"
    export_catalog(Project.load(root), site)
    page = browser.page
    page.goto((site / "index.html").as_uri())
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#q", "code changed")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.inner_text("#rows a") == "stg_payments"
    page.fill("#q", "cancellation_rate")  # a column of orders_daily only
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.inner_text("#rows a") == "orders_daily"
    page.fill("#q", "")
    page.click("a.count[data-state=stale]")
    page.wait_for_function("document.getElementById('state').value === 'stale'")
    total = len(list((site / "assets").glob("*.html")))
    stale = page.locator("#rows tr").count()
    assert 1 < stale < total
    assert f"{stale} of {total}" in page.inner_text("#result-count")
    browser.assert_clean()


def test_the_partition_strip_renders_within_the_csp(shop_site: Path, browser: Browser) -> None:
    page = browser.page
    # Injected by the browser itself, so the page's CSP does not apply to this script.
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto((shop_site / "assets" / "revenue_by_day.html").as_uri())
    strip = page.locator("#partition-strip")
    strip.wait_for()
    box = strip.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 10
    blocks = page.locator("#partition-strip rect.seg")
    assert blocks.count() == 1  # a year of days built in one backfill: one block
    block = blocks.first.bounding_box()
    assert block is not None and block["width"] == pytest.approx(box["width"], abs=2)
    # The stylesheet colours the block by state (a CSS class, not an inline style).
    assert blocks.first.evaluate("e => getComputedStyle(e).fill") == "rgb(46, 125, 50)"
    assert "366 partitions" in (blocks.first.locator("title").text_content() or "")
    assert page.locator("#partition-strip text.strip-tick").count() >= 2
    assert "fresh 366" in page.inner_text("#partition-counts")
    assert page.locator("#partition-ranges tr.range").count() == 1
    assert page.evaluate("window.__violations") == []
    # The index shows the partition counts under the state of the partitioned asset.
    page.goto((shop_site / "index.html").as_uri() + "#q=partitioned")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#rows tr").count() == 1
    assert page.inner_text("#rows tr .parts") == "366 fresh"
    assert page.get_attribute("#rows tr .parts", "title") == "366 partitions: 366 fresh"
    assert page.evaluate("window.__violations") == []
    browser.assert_clean()
