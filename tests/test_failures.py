"""A failing asset is recorded with its error; downstream skipped; other branches built."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli
from helpers import write_project

from assets_orch.catalog import Catalog


def failing_project(root: Path) -> Path:
    return write_project(
        root,
        {
            "models/base.sql": "select range as id from range(10)",
            "models/after_boom.sql": "select * from boom",
            "models/after_after.sql": "select count(*) as n from after_boom",
            "models/independent.sql": "select id * 2 as x from base",
            "assets/boom.py": """
            from assets_orch import asset


            def helper(rel):
                raise ValueError("bad input: no rows for 2024-01-01\\nsecond line")


            @asset(description="always fails", retries=0)
            def boom(base):
                return helper(base)
        """,
        },
    )


def test_python_failure_is_isolated(tmp_path: Path) -> None:
    root = failing_project(tmp_path / "p")
    cli = Cli(root)
    result = cli("materialize", "--json", expect=1)
    import json

    data = json.loads(result.stdout)
    status = {a["name"]: a for a in data["assets"]}
    assert status["boom"]["status"] == "failed"
    assert status["boom"]["error"] == "ValueError: bad input: no rows for 2024-01-01"
    assert status["after_boom"]["status"] == "skipped"
    assert status["after_boom"]["skipped_because"] == "upstream boom failed"
    assert status["after_after"]["status"] == "skipped"
    assert status["base"]["status"] == "success"
    assert status["independent"]["status"] == "success"
    assert "Traceback" not in result.stderr

    catalog = Catalog(root / ".assets/catalog.sqlite")
    [record] = catalog.history("boom")
    assert record.status == "failed"
    assert record.traceback and "Traceback" in record.traceback and "helper" in record.traceback
    runs = catalog.runs()
    assert runs[0].status == "failed"
    assert runs[0].counts == {"failed": 1, "skipped": 2, "success": 2}

    # The terminal shows the first line of the error, briefly.
    text = cli("materialize", "--stale", expect=1).output
    assert "ValueError: bad input: no rows for 2024-01-01" in text
    assert "second line" not in text
    status_rows = {s["name"]: s for s in cli.json("status")}
    # Never built and its only build failed: failed (not missing), in status and HTML.
    assert status_rows["boom"]["state"] == "failed"
    assert status_rows["boom"]["reasons"] == ["missing: never materialized", "last run failed"]
    assert status_rows["after_boom"]["state"] == "missing"  # skipped, never tried
    rows = [line.split()[:2] for line in cli("status").output.splitlines()]
    assert ["boom", "failed"] in rows and ["after_boom", "missing"] in rows
    site = root / "site"
    cli("catalog", "export", str(site))
    from test_html_export import index_rows, parse

    states = {r["name"]: r["state"] for r in index_rows(site)}
    assert states["boom"] == "failed" and states["after_boom"] == "missing"
    page = parse(site / "assets" / "boom.html")
    _, attrs = page.by_id("asset-state") or ("", {})
    assert "state-failed" in attrs.get("class", "")
    assert status_rows["independent"]["state"] == "fresh"


def test_fixing_the_failure_then_retry_failed(tmp_path: Path) -> None:
    root = failing_project(tmp_path / "p")
    cli = Cli(root)
    cli("materialize", expect=1)
    (root / "assets/boom.py").write_text(
        "from assets_orch import asset\n\n\n@asset\ndef boom(base):\n    return base\n"
    )
    result = cli.json("materialize", "--retry-failed")
    assert {a["name"]: a["status"] for a in result["assets"]} == {
        "boom": "success",
        "after_boom": "success",
        "after_after": "success",
    }


def test_sql_runtime_error_names_the_asset(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/bad_cast.sql": "select 'abc'::integer as x",
            "models/ok.sql": "select 1 as x",
        },
    )
    result = Cli(root)("materialize", expect=1)
    assert "bad_cast" in result.output and "Conversion Error" in result.output
    assert "Traceback" not in result.output


def test_runs_show_prints_whole_errors_and_tracebacks_on_request(tmp_path: Path) -> None:
    root = failing_project(tmp_path / "p")
    # DuckDB's CSV sniffer puts what went wrong on the second line of its message.
    (root / "data").mkdir()
    (root / "data/bad.csv").write_text('a;b\n1;2\n"x;3\n4,5,6,7\n\x00\x01\n')
    (root / "models/sniffed.sql").write_text(
        "select * from read_csv('data/bad.csv', header=true, columns={'a': 'INT', 'b': 'INT'})"
    )
    cli = Cli(root)
    run_id = json.loads(cli("materialize", "--json", expect=1).stdout)["run_id"]

    text = cli("runs", "show", run_id).output
    table, _, errors = text.partition("\nerrors\n")
    assert "ValueError: bad input: no rows for 2024-01-01" in table
    assert "second line" not in table  # the table keeps to first lines
    assert "  boom (attempt 1, failed):\n" in errors
    assert "    ValueError: bad input: no rows for 2024-01-01\n    second line\n" in errors
    assert "  sniffed (attempt 1, failed):\n" in errors
    assert "It was not possible to automatically detect the CSV parsing dialect" in errors
    assert "Traceback" not in text and "1 Python traceback(s) not shown: add -v" in text

    verbose = cli("runs", "show", run_id[:15], "-v").output
    assert "Traceback (most recent call last):" in verbose and "in helper" in verbose

    shown = cli.json("runs", "show", run_id)
    by_asset = {m["asset"]: m for m in shown["materializations"]}
    assert "in helper" in by_asset["boom"]["traceback"]
    assert by_asset["boom"]["error"].endswith("second line")
    assert by_asset["sniffed"]["traceback"] is None  # a DuckDB error: the message says it all
    [attempt] = cli.json("history", "boom")
    assert attempt["traceback"] == by_asset["boom"]["traceback"]


def test_a_sql_error_points_at_the_line_of_the_asset_file(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/bad.sql": """
            -- description: reads a column that is not there
            select
              range as id,
              amount
            from range(3)
            """
        },
    )
    cli = Cli(root)
    cli("materialize", expect=1)
    [run] = cli.json("runs")
    error = cli.json("runs", "show", run["run_id"])["materializations"][0]["error"]
    lines = error.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("models/bad.sql:4: "))
    assert lines[at + 1].index("^") == lines[at].index("amount")
