"""Benchmark of ``assets catalog export`` at 1,000 and 10,000 generated assets.

Prints a table: project load time, cold export, warm (nothing changed) export,
the index page's time to interactive in headless Chromium, and the site's size.
Time to interactive is measured from navigation start to the moment the index
script has filtered and drawn the first rows (``window.__catalogReady``), plus the
time one search keystroke takes to redraw the list.

    python benchmarks/html_export.py                 # 1,000 and 10,000 assets
    python benchmarks/html_export.py --sizes 500     # other sizes
    python benchmarks/html_export.py --materialize   # build the assets first (slow)
    python benchmarks/html_export.py --screenshot docs/images/catalog.png

Not a test: numbers depend on the machine. See docs/html-catalog.md for results.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAGS = ("finance", "marketing", "ops", "product", "risk", "growth", "core", "pii")
OWNERS = ("analytics@example.com", "finance@example.com", "ds@example.com", None)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def generate_project(root: Path, n: int, *, seed: int = 7, window: int = 150) -> Path:
    """Write a project of ``n`` SQL assets with a layered, local lineage.

    One asset in ten reads no other asset; the rest read one to three of the
    ``window`` assets before them, so neighbourhoods stay small (no hub reads
    everything) as in real projects split into domains.
    """
    rng = random.Random(seed)
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    (root / "assets.toml").write_text(f'name = "generated_{n}"\nwarehouse = "warehouse.duckdb"\n')
    names: list[str] = []
    for i in range(n):
        name = f"m{i:05d}_{rng.choice(('orders', 'users', 'events', 'revenue', 'stock'))}"
        tags = sorted(rng.sample(TAGS, rng.randint(0, 2)))
        owner = rng.choice(OWNERS)
        header = [f"-- description: Generated model number {i}, a {name.split('_')[1]} table."]
        if owner:
            header.append(f"-- owner: {owner}")
        if tags:
            header.append(f"-- tags: [{', '.join(tags)}]")
        if i < 10 or rng.random() < 0.1:
            body = f"select range as id, range * {i} as amount, 'x{i}' as label from range(10)"
        else:
            lo = max(0, i - window)
            ups = sorted({names[j] for j in rng.sample(range(lo, i), min(3, i - lo))})
            ups = ups[: rng.randint(1, 3)]
            joins = " ".join(f"join {u} using (id)" for u in ups[1:])
            body = f"select {ups[0]}.id, {ups[0]}.amount + 1 as amount, {ups[0]}.label " + (
                f"from {ups[0]} {joins}"
            )
        (models / f"{name}.sql").write_text("\n".join(header) + "\n" + body + "\n")
        names.append(name)
    return root


def time_to_interactive(index: Path) -> tuple[float, float]:
    """(ms to interactive, ms for one search keystroke) of ``index`` in Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page()
        page.goto(index.as_uri())
        page.wait_for_function("window.__catalogReady !== undefined")
        ready = page.evaluate("window.__catalogReady")
        search = page.evaluate(
            """() => {
                const q = document.getElementById('q');
                const t0 = performance.now();
                q.value = 'revenue 0042';
                q.dispatchEvent(new Event('input'));
                return performance.now() - t0;
            }"""
        )
        browser.close()
    return float(ready), float(search)


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def bench(n: int, materialize: bool) -> dict[str, float]:
    from assets_orch.html import export_catalog
    from assets_orch.project import Project

    with tempfile.TemporaryDirectory(prefix=f"bench-{n}-") as tmp:
        root = generate_project(Path(tmp) / "project", n)
        if materialize:
            subprocess.run(
                [sys.executable, "-m", "assets_orch", "materialize"], cwd=root, check=True
            )
        t0 = time.perf_counter()
        project = Project.load(root)
        load = time.perf_counter() - t0
        site = Path(tmp) / "site"
        cold = export_catalog(project, site)
        warm = export_catalog(Project.load(root), site)
        tti, search = time_to_interactive(site / "index.html")
        return {
            "assets": n,
            "load_s": load,
            "cold_s": cold.seconds,
            "pictures": cold.pictures_drawn,
            "pictures_s": cold.timings.get("pictures", 0.0),
            "pages_s": cold.timings.get("asset_pages", 0.0),
            "warm_s": warm.seconds,
            "warm_written": warm.files_written,
            "tti_ms": tti,
            "search_ms": search,
            "size_mb": size_mb(site),
        }


def screenshot(out: Path) -> None:
    """Export the example shop project, built then edited, and screenshot its index page."""
    from playwright.sync_api import sync_playwright

    from assets_orch.html import export_catalog
    from assets_orch.project import Project
    from assets_orch.template import init_project

    with tempfile.TemporaryDirectory(prefix="shot-") as tmp:
        root = init_project(Path(tmp) / "shop")
        subprocess.run(
            [sys.executable, "-m", "assets_orch", "materialize"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        # An edit after the build, so the picture shows stale assets and their reasons.
        with (root / "models" / "staging" / "stg_payments.sql").open("a") as fh:
            fh.write("where amount is not null\n")
        site = Path(tmp) / "site"
        export_catalog(Project.load(root), site)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1100, "height": 640})
            page.goto((site / "index.html").as_uri())
            page.wait_for_function("window.__catalogReady !== undefined")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), type="png")
            browser.close()
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--materialize", action="store_true", help="build assets first")
    parser.add_argument("--screenshot", type=Path, help="only write a screenshot here")
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return
    cols = (
        "assets",
        "load_s",
        "cold_s",
        "pictures",
        "pictures_s",
        "pages_s",
        "warm_s",
        "warm_written",
        "tti_ms",
        "search_ms",
        "size_mb",
    )
    print(" | ".join(f"{c:>12}" for c in cols))
    for n in args.sizes:
        row = bench(n, args.materialize)
        print(
            " | ".join(
                f"{row[c]:>12.2f}" if isinstance(row[c], float) else f"{row[c]:>12}" for c in cols
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
