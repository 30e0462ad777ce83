"""What the CLI prints, read the way scripts and people read it: piped, in full."""

from __future__ import annotations

from pathlib import Path

from conftest import run_assets
from helpers import write_project

LONG = "int_order_items_priced_with_discounts_and_taxes_by_region_and_channel_v2"


def test_piped_output_is_never_cut_or_wrapped(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            f"models/{LONG}.sql": "select 1 as x",
            "models/downstream_of_the_long_one.sql": f"select x from {LONG}",
        },
    )
    # A pipe, not a terminal; a narrow $COLUMNS must not cut anything either.
    narrow = {"COLUMNS": "40"}
    built = run_assets("materialize", cwd=root, env=narrow)
    assert built.returncode == 0, built.stderr
    header = built.stdout.splitlines()[0]
    assert header.startswith("materializing 2 asset(s), run ")  # the run id on its line
    run_id = header.rsplit(" ", 1)[1]

    listed = run_assets("list", cwd=root, env=narrow).stdout
    assert "…" not in listed
    assert [LONG, "sql", f"models/{LONG}.sql"] in [line.split() for line in listed.splitlines()]

    runs = run_assets("runs", cwd=root, env=narrow).stdout
    assert "…" not in runs and run_id in runs.splitlines()[1]

    (root / f"models/{LONG}.sql").write_text("select 2 as x")
    stale = run_assets("status", "--stale", cwd=root, env=narrow).stdout
    assert "…" not in stale
    rows = {line.split()[0]: line for line in stale.splitlines()[1:3]}
    assert f"upstream stale: {LONG}" in rows["downstream_of_the_long_one"]
    assert "code changed" in rows[LONG]


def test_runs_show_folds_only_partitions_that_are_next_to_each_other() -> None:
    from assets_orch.cli.run_rows import attempt_rows
    from assets_orch.records import MaterializationRecord

    def attempt(asset: str, key: str | None, status: str = "success") -> MaterializationRecord:
        return MaterializationRecord(key or asset, "r", asset, status, 0.0, 1.0, partition=key)

    records = [
        attempt("sales", "2024-03-01|region=eu"),
        attempt("sales", "2024-03-01|region=us"),
        attempt("sales", "2024-03-02|region=eu"),
        attempt("sales", "2024-03-03|region=eu", "failed"),
        attempt("sales", "2024-03-04|region=eu"),
        attempt("plain", None),
        attempt("by_region", "region=eu"),
        attempt("by_region", "region=us"),
        attempt("monthly", "2024-03-05"),  # written when it was daily: not a month's key
        attempt("monthly", "2024-04"),
        attempt("monthly", "2024-05"),
    ]
    grains = {"sales": "day", "monthly": "month"}
    assert [row.label for row in attempt_rows(records, grains)] == [
        "sales[2024-03-01..2024-03-02|region=eu] (2 partitions)",
        "sales[2024-03-01|region=us]",
        "sales[2024-03-03|region=eu]",
        "sales[2024-03-04|region=eu]",
        "plain",
        "by_region[region=eu]",
        "by_region[region=us]",
        "monthly[2024-03-05]",
        "monthly[2024-04..2024-05] (2 partitions)",
    ]


def test_an_ambiguous_run_id_prefix_names_the_runs_it_matches(tmp_path: Path) -> None:
    from conftest import Cli

    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})
    cli = Cli(root)
    ids = [cli.json("materialize")["run_id"] for _ in range(7)]
    common = ids[0][:4]  # the year: every run starts with it
    assert all(i.startswith(common) for i in ids)
    for args in (("runs", "show", common), ("retry", common)):
        result = cli(*args, expect=2)
        assert f"error: run id '{common}' is ambiguous: 7 runs start with it (" in result.output
        assert ", ".join(reversed(ids[2:])) + " and 2 more)" in result.output
    assert "no run id starts with 'zz'" in cli("runs", "show", "zz", expect=2).output
    assert cli.json("runs", "show", ids[3][:-1])["run_id"] == ids[3]


def test_lineage_with_both_direction_flags_shows_both_directions(tmp_path: Path) -> None:
    from conftest import Cli

    root = write_project(
        tmp_path / "p",
        {
            "models/a.sql": "select 1 as x",
            "models/b.sql": "select x from a",
            "models/c.sql": "select x from b",
        },
    )
    cli = Cli(root)
    cli("materialize")
    for target in ("b", "b.x"):
        default = cli.json("lineage", target)
        assert cli.json("lineage", target, "--upstream", "--downstream") == default
        assert cli.json("lineage", target, "--downstream", "--upstream") == default
        both = cli("lineage", target, "--upstream", "--downstream").output
        assert "upstream" in both and "downstream" in both and "a" in both and "c" in both
        up = cli("lineage", target, "--upstream").output
        assert "downstream" not in up and "c" not in up.replace("upstream", "")
