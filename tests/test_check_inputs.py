"""Tables a check reads are inputs of its asset; checks are validated at load.

A ``sql:`` check that reads ``zzz_new`` runs after ``zzz_new`` is built in the same run
(it failed with "Table zzz_new does not exist" when built in name order), and a change
of ``zzz_new`` makes the asset stale so that its checks run again. Bad check SQL and
column checks naming a column the asset does not produce are errors before any run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli
from helpers import write_project

REFCHECK = """
-- description: rows whose id is in zzz_new
-- checks:
--   - not_null: id
--   - name: every id is in zzz_new
--     sql: >
--       select * from refcheck r
--       where not exists (select 1 from zzz_new n where n.id = r.id)
select 1 as id
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p", {"models/refcheck.sql": REFCHECK, "models/zzz_new.sql": "select 1 as id"}
    )


def reasons(cli: Cli) -> dict[str, list[str]]:
    return {r["name"]: r["reasons"] for r in cli.json("status")}


def test_a_table_a_check_reads_is_built_first(project: Path) -> None:
    cli = Cli(project)
    items = {a["name"]: a for a in cli.json("list")}
    assert items["refcheck"]["upstreams"] == ["zzz_new"]
    assert "zzz_new" in cli("lineage", "refcheck", "--upstream").output
    run = cli.json("materialize")
    order = [a["name"] for a in run["assets"]]
    assert order == ["zzz_new", "refcheck"]
    assert {a["status"] for a in run["assets"]} == {"success"}
    assert all(not r for r in reasons(cli).values())


def test_a_change_in_it_runs_the_checks_again(project: Path) -> None:
    cli = Cli(project)
    cli("materialize")
    (project / "models/zzz_new.sql").write_text("select 2 as id")
    assert reasons(cli) == {"zzz_new": ["code changed"], "refcheck": ["upstream stale: zzz_new"]}
    run = json.loads(cli("materialize", "--stale", "--json", expect=1).stdout)
    outcome = {a["name"]: a["status"] for a in run["assets"]}
    assert outcome == {"zzz_new": "success", "refcheck": "failed"}, run
    failed = cli("runs", "show", run["run_id"], expect=None).output
    assert "every id is in zzz_new" in failed
    # Fixed: the check passes again and everything is fresh.
    (project / "models/refcheck.sql").write_text(
        REFCHECK.replace("select 1 as id", "select 2 as id")
    )
    cli("materialize", "--stale")
    assert all(not r for r in reasons(cli).values())


def test_an_unchanged_rebuild_of_it_keeps_the_asset_fresh(project: Path) -> None:
    cli = Cli(project)
    cli("materialize")
    (project / "models/zzz_new.sql").write_text("select 1 as id -- same data\n")
    cli("materialize", "zzz_new")
    assert reasons(cli)["refcheck"] == []


@pytest.mark.parametrize(
    ("check", "line", "says"),
    [
        ("--   - expression: this is not sql ((", 3, "invalid SQL expression"),
        ("--   - expression: 1) or (1 = 1", 3, "invalid SQL expression"),
        ("--   - sql: delete from zzz_new", 3, "only a SELECT query is allowed"),
        ("--   - sql: select * from nowhere", 3, "reads table 'nowhere', which is neither"),
        ("--   - not_null: idd", 3, "names column 'idd', which bad does not produce"),
        ("--   - unique: [id, nme]", 3, "names column 'nme'"),
        ("--   - accepted_values: {column: kind, values: [a]}", 3, "names column 'kind'"),
    ],
    ids=["garbage", "unbalanced", "not-a-query", "unknown-table", "not-null", "unique", "values"],
)
def test_bad_checks_are_load_errors_naming_the_line(
    project: Path, check: str, line: int, says: str
) -> None:
    (project / "models/bad.sql").write_text(
        f"-- checks:\n--   - not_null: id\n{check}\n-- owner: me\nselect 1 as id, 'x' as name\n"
    )
    cli = Cli(project)
    for args in (["status"], ["materialize"]):
        result = cli(*args, expect=2)
        first = result.output.splitlines()[0]
        assert first.startswith(f"error: models/bad.sql:{line}: check "), result.output
        assert says in first, result.output
        assert "Traceback" not in result.output
    assert cli.json("runs") == [], "nothing ran"


def test_column_checks_are_not_judged_when_the_columns_are_unknown(project: Path) -> None:
    (project / "models/star.sql").write_text(
        "-- checks:\n--   - not_null: idd\nselect * from zzz_new\n"
    )
    run = json.loads(Cli(project)("materialize", "--json", expect=1).stdout)
    outcome = {a["name"]: a["status"] for a in run["assets"]}
    assert outcome["star"] == "failed"  # DuckDB says so when the check runs


def test_a_check_reading_its_own_asset_adds_no_upstream(project: Path) -> None:
    (project / "models/self.sql").write_text(
        "-- checks:\n--   - sql: select * from main.self where id is null\nselect 1 as id\n"
    )
    items = {a["name"]: a for a in Cli(project).json("list")}
    assert items["self"]["upstreams"] == [] and items["self"]["sources"] == []


def test_a_check_that_closes_a_cycle_is_a_cycle(project: Path) -> None:
    (project / "models/zzz_new.sql").write_text("select id from refcheck")
    result = Cli(project)("status", expect=2)
    assert "cycle" in result.output and "refcheck" in result.output


def test_python_asset_checks_read_tables_too(project: Path) -> None:
    (project / "assets").mkdir()
    (project / "assets/py.py").write_text(
        "from assets_orch import asset\n\n"
        "@asset(checks=[{'sql': 'select * from py where id not in (select id from zzz_new)'}])\n"
        "def py():\n"
        "    import duckdb\n"
        "    return duckdb.sql('select 1 as id').arrow()\n"
    )
    cli = Cli(project)
    assert {a["name"]: a["upstreams"] for a in cli.json("list")}["py"] == ["zzz_new"]
    run = cli.json("materialize")
    order = [a["name"] for a in run["assets"]]
    assert order.index("zzz_new") < order.index("py")


def test_a_cached_load_does_not_parse_checks_again(project: Path) -> None:
    Cli(project)("list")  # fills the parse cache, check SQL included
    code = (
        "import sys; from pathlib import Path; from assets_orch.project import Project; "
        f"p = Project.load(Path({str(project)!r})); "
        "print(p.graph.specs['refcheck'].upstreams, 'sqlglot' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "('zzz_new',) False"
