"""The project cache: an unchanged project loads from one file; any change to what
discovery reads (files, config, warehouse tables) is a new discovery."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from conftest import Cli
from helpers import write_project

from assets_orch import project_cache
from assets_orch.errors import AssetsError
from assets_orch.project import Project

PY_ASSET = """
from assets_orch import asset


@asset(description="doubles")
def doubled(a):
    return a.project("x * 2 as x")
"""


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # Files written by a test are seconds old at most: trust them at once.
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 0)


def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        {
            "models/a.sql": "select 1 as x",
            "models/b.sql": "-- description: reads a\nselect x + 1 as y from a",
            "assets/doubled.py": PY_ASSET,
        },
    )


def cached(root: Path) -> Path:
    return root / ".assets" / project_cache.CACHE_FILE


def names(root: Path) -> list[str]:
    loaded = Project.load(root)
    loaded.catalog.close()
    return [s.name for s in loaded.specs]


def test_an_unchanged_project_loads_from_the_cache(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = Project.load(root)
    first.catalog.close()
    assert cached(root).exists()
    (root / ".assets" / "parse_cache.pickle").unlink()  # the cache alone must answer
    second = Project.load(root)
    second.catalog.close()
    assert [s.to_json() for s in second.specs] == [s.to_json() for s in first.specs]
    assert not (root / ".assets" / "parse_cache.pickle").exists()
    python = second.graph.specs["doubled"]
    assert callable(python.func) and python.params == ("a",)  # imported at load


def test_a_python_asset_from_the_cache_runs(tmp_path: Path) -> None:
    root = project(tmp_path)
    names(root)  # fills the cache
    Cli(root)("materialize")
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    assert con.execute("select x from doubled").fetchall() == [(2,)]
    con.close()


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path) -> None:
    root = project(tmp_path)
    names(root)
    path = root / "models/b.sql"
    before = os.stat(path)
    path.write_text(path.read_text().replace("x + 1", "x + 2"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    loaded = Project.load(root)
    loaded.catalog.close()
    assert "x + 2" in (loaded.graph.specs["b"].sql or "")


def test_added_and_removed_files_are_seen(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert names(root) == ["a", "b", "doubled"]
    (root / "models/c.sql").write_text("select y from b")
    assert names(root) == ["a", "b", "c", "doubled"]
    (root / "models/c.sql").unlink()
    assert names(root) == ["a", "b", "doubled"]


def test_a_new_warehouse_table_changes_what_resolves(tmp_path: Path) -> None:
    root = project(tmp_path)
    Cli(root)("materialize", "a")
    (root / "models/ext.sql").write_text("select * from raw_orders")
    with pytest.raises(AssetsError, match="raw_orders"):
        names(root)  # errors are not cached
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create table raw_orders as select 1 as id")
    con.close()
    loaded = Project.load(root)
    loaded.catalog.close()
    assert loaded.graph.specs["ext"].external_tables == ("raw_orders",)


def test_a_config_change_is_a_new_discovery(tmp_path: Path) -> None:
    root = project(tmp_path)
    names(root)
    (root / "assets.toml").write_text('name = "t"\nmodel_paths = ["models"]\npython_paths = []\n')
    assert names(root) == ["a", "b"]


def test_recent_files_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 60)
    root = project(tmp_path)
    names(root)
    assert not cached(root).exists()


def test_a_discovery_too_recent_to_cache_is_cached_at_the_end_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path)
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 3600)  # every file is "recent"
    loaded = Project.load(root)
    assert not cached(root).exists()
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 0)  # a run later: settled
    loaded.settle_cache()
    loaded.catalog.close()
    assert cached(root).exists()


def test_files_changed_during_the_run_are_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path)
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 3600)
    loaded = Project.load(root)
    (root / "models/c.sql").write_text("select 1 as z")  # edited while it ran
    monkeypatch.setattr(project_cache, "RACY_SECONDS", 0)
    loaded.settle_cache()
    loaded.catalog.close()
    assert not cached(root).exists()


def test_a_build_adding_the_assets_own_tables_keeps_the_cache(tmp_path: Path) -> None:
    root = project(tmp_path)
    names(root)
    stamp = os.stat(cached(root)).st_mtime_ns
    Cli(root)("materialize")  # the warehouse now holds a, b and doubled
    names(root)
    assert os.stat(cached(root)).st_mtime_ns == stamp  # not rediscovered, not rewritten


FACTORY = """
from pathlib import Path

from assets_orch import asset


def _make(name):
    def build(a):
        return a.project(f"x as {name}")

    build.__name__ = name
    return asset(name=name)(build)


for _name in Path(__file__).with_name("tables.txt").read_text().split():
    globals()[_name] = _make(_name)
del _name
"""


def test_assets_a_module_builds_from_another_file_are_seen(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "assets/tables.txt").write_text("t1 t2")
    (root / "assets/factory.py").write_text(FACTORY)
    assert names(root) == ["a", "b", "doubled", "t1", "t2"]
    (root / "assets/tables.txt").write_text("t1 t3")  # not an asset file: same cache key
    assert names(root) == ["a", "b", "doubled", "t1", "t3"]


def test_a_module_that_no_longer_imports_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    names(root)
    (root / "assets/helper_flag.txt").write_text("x")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "gone_later.py").write_text("VALUE = 1\n")
    (root / "assets/uses_lib.py").write_text(
        "import gone_later\nfrom assets_orch import asset\n\n\n"
        "@asset()\ndef uses_lib(a):\n    return a\n"
    )
    import sys

    sys.path.insert(0, str(lib))
    try:
        assert "uses_lib" in names(root)
    finally:
        sys.path.remove(str(lib))
        sys.modules.pop("gone_later", None)
    (lib / "gone_later.py").unlink()
    with pytest.raises(AssetsError, match="gone_later"):
        names(root)


def test_the_run_executes_the_source_that_was_fingerprinted(tmp_path: Path) -> None:
    # An edit of the same size with its old mtime: Python's own loader would run the
    # cached .pyc of the old text.
    root = project(tmp_path)
    path = root / "assets/doubled.py"
    env_bytecode = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        Cli(root)("materialize")
        import py_compile

        py_compile.compile(str(path))  # a .pyc of the old text, as a normal import writes
        before = os.stat(path)
        path.write_text(path.read_text().replace("x * 2", "x * 3"))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        Cli(root)("materialize", "--stale")
    finally:
        if env_bytecode is not None:
            os.environ["PYTHONDONTWRITEBYTECODE"] = env_bytecode
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    assert con.execute("select x from doubled").fetchall() == [(3,)]
    con.close()
