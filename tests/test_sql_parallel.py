"""Analyzing a large project's SQL on every core gives exactly the serial answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_project

from assets_orch.config import load_config
from assets_orch.discovery import discover
from assets_orch.errors import SqlError
from assets_orch.sql import parallel


def many_models(root: Path, broken: int | None = None) -> Path:
    files = {"models/m000.sql": "select range as id from range(10)"}
    for i in range(1, 120):
        sql = f"select id, id * {i} as v{i} from m{i - 1:03d} where id > {i % 7}"
        if i == broken:
            sql = "select id, from from"
        files[f"models/m{i:03d}.sql"] = f"-- description: model {i}\n{sql}"
    return write_project(root, files)


def load(root: Path, monkeypatch: pytest.MonkeyPatch, *, processes: bool) -> list[dict]:
    monkeypatch.setattr(parallel, "MIN_PER_PROCESS", 8 if processes else 10**9)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    # pytest-xdist runs helper threads; the forked children only analyze SQL.
    monkeypatch.setattr(parallel, "_fork_is_safe", lambda: True)
    analyzed: list[int] = []
    real = parallel.analyze_many

    def spy(items: list) -> dict:
        found = real(items)
        analyzed.append(len(found))
        return found

    monkeypatch.setattr(parallel, "analyze_many", spy)
    try:
        specs = discover(root, load_config(root), warehouse_tables=None)
    finally:
        assert (analyzed[0] > 100) == processes  # the processes really did the work
    return [{**s.to_json(), "sql": s.sql, "upstreams": s.upstreams} for s in specs]


def test_processes_give_the_serial_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = many_models(tmp_path / "p")
    assert load(root, monkeypatch, processes=True) == load(root, monkeypatch, processes=False)


def test_an_error_is_the_serial_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = many_models(tmp_path / "p", broken=57)
    errors = []
    for processes in (True, False):
        with pytest.raises(SqlError) as info:
            load(root, monkeypatch, processes=processes)
        errors.append(str(info.value))
    assert errors[0] == errors[1] and "m057.sql" in errors[0]
