"""The benchmark generator: deterministic, and its projects build the same tables as the
plain-script baseline, through the real command line. No timing is asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate, plan  # noqa: E402
from benchmarks.run import compare_row_counts  # noqa: E402


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", 30, rows=500, seed=7)
    generate(tmp_path / "b", 30, rows=500, seed=7)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
    assert any(name.endswith(".parquet") for name in a)
    assert any(name.endswith(".csv") for name in a)


def test_another_seed_other_models(tmp_path: Path) -> None:
    one = generate(tmp_path / "a", 30, rows=500, seed=1)
    two = generate(tmp_path / "b", 30, rows=500, seed=2)
    assert [m.sql for m in one.models] != [m.sql for m in two.models]


@pytest.mark.parametrize("n", [8, 20, 150, 1000], ids=lambda n: f"n{n}")
def test_plan_shape(n: int) -> None:
    project = plan(n, seed=3)
    sql = [m for m in project.models if m.kind == "sql"]
    assert len(sql) == n
    assert len({m.name for m in project.models}) == len(project.models)
    seen: set[str] = set()
    for model in project.models:  # lineage order: every dependency comes first
        assert set(model.deps) <= seen, model.name
        seen.add(model.name)
    layers = {m.name.split("_")[0] for m in project.models}
    assert layers == {"stg", "int", "mart", "py"}


def test_downstream_closure_in_lineage_order() -> None:
    project = plan(60, seed=0)
    first = project.models[2].name  # a staging fact model
    closure = project.downstream_closure(first)
    assert closure[0] == first
    order = [m.name for m in project.models]
    assert closure == sorted(closure, key=order.index)
    for name in closure[1:]:
        deps = project.by_name()[name].deps
        assert any(d in closure for d in deps)


@pytest.mark.slow
def test_generated_project_builds_like_the_baseline(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    project = generate(root, 20, rows=2_000, seed=5)
    built = subprocess.run(
        [sys.executable, "-m", "assets_orch", "--project", str(root), "materialize", "--json"],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    baseline = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "baseline.py"),
            str(root / "base.duckdb"),
            str(root / "baseline.sql"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert baseline.returncode == 0, baseline.stderr
    assert compare_row_counts(root / "warehouse.duckdb", root / "base.duckdb", project) == []
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        counts = {
            m.name: con.execute(f"SELECT count(*) FROM {m.name}").fetchone()[0]  # type: ignore[index]
            for m in project.models
        }
    finally:
        con.close()
    assert len(counts) == len(project.models) == 23
    assert all(c > 0 for c in counts.values()), counts
    stale = subprocess.run(
        [sys.executable, "-m", "assets_orch", "--project", str(root), "materialize", "--stale"],
        capture_output=True,
        text=True,
    )
    assert stale.returncode == 0, stale.stderr
    assert "nothing to do" in stale.stdout
