"""The parse cache never changes a result: cached and cold loads agree, at 1,000 models."""

from __future__ import annotations

import os
import pickle
import random
import time
from pathlib import Path

import pytest

from assets_orch.config import STATE_DIR, load_config
from assets_orch.discovery import discover
from assets_orch.errors import SqlError
from assets_orch.parse_cache import CACHE_FILE, ParseCache
from assets_orch.project import Project


def generate(root: Path, n: int, *, seed: int = 0) -> Path:
    """A project of ``n`` SQL models in layers, with headers, CTEs, files and dialects."""
    rnd = random.Random(seed)
    (root / "models" / "staging").mkdir(parents=True)
    (root / "models" / "marts").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "assets.toml").write_text('name = "generated"\n')
    (root / "data" / "raw.csv").write_text("id,amount,status\n1,2.5,a\n2,3.5,b\n")
    for i in range(n):
        name = f"m{i:04d}"
        if i < 20:
            body = (
                f"-- description: staging model {i}\n-- tags: [staging]\n"
                f"-- checks:\n--   - not_null: id\n--   - accepted_values: "
                f"{{column: status, values: [a, b, 2024-01-0{1 + i % 9}]}}\n"
                f"select id, amount * {i} as amount, status, {i} as k\n"
                f"from read_csv('data/raw.csv')\n"
            )
            (root / "models" / "staging" / f"{name}.sql").write_text(body)
            continue
        a, b = rnd.randrange(i), rnd.randrange(i)
        kind = i % 4
        if kind == 0:
            body = (
                f"-- Model {i}, prose description.\n-- owner: team{i % 7}\n"
                f"with x as (select * from m{a:04d}), y as (select id, amount from m{b:04d} "
                f"where amount > {i})\n"
                "select x.id, x.amount + y.amount as amount, x.status, x.k,\n"
                "       count(*) over (partition by x.status) as c\n"
                "from x join y on x.id = y.id where x.status <> 'z'\n"
            )
        elif kind == 1:
            body = (
                f"-- dialect: snowflake\n-- freshness: 24h\n"
                f"select id, iff(amount > {i}, amount, 0) as amount, status, k\n"
                f"from m{a:04d}\nqualify row_number() over (partition by id order by k) = 1\n"
            )
        elif kind == 2:
            body = (
                f"select * exclude (k), {i} as k from m{a:04d}\n"
                f"union all by name\nselect * from m{b:04d};\n"
            )
        else:
            body = f"-- materialized: view\r\nfrom m{a:04d} select id, amount, status, k\r\n"
        folder = "marts" if i % 2 else "staging"
        (root / "models" / folder / f"{name}.sql").write_text(body)
    past = time.time() - 60  # outside the racy window, so that stats are trusted
    for path in (root / "models").rglob("*.sql"):
        os.utime(path, (past, past))
    return root


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("cache") / "big", 1000)


def cache_path(root: Path) -> Path:
    return root / STATE_DIR / CACHE_FILE


def test_cached_load_of_1000_models_equals_a_cold_load(big: Path) -> None:
    cache_path(big).unlink(missing_ok=True)
    config = load_config(big)
    cold = discover(big, config)  # no cache at all
    first = ParseCache.open(cache_path(big))
    filled = discover(big, config, cache=first)
    assert (first.hits, first.misses) == (0, 1000)
    second = ParseCache.open(cache_path(big))
    assert len(second) == 1000
    cached = discover(big, config, cache=second)
    assert (second.hits, second.misses) == (1000, 0)
    assert cold == filled == cached
    # Everything a spec carries, field by field (AssetSpec equality skips nothing here).
    for a, b in zip(cold, cached, strict=True):
        assert a.meta.model_dump() == b.meta.model_dump()
        assert (a.sql, a.source_text, a.fingerprint) == (b.sql, b.source_text, b.fingerprint)


def test_project_load_uses_the_cache(big: Path) -> None:
    Project.load(big)
    before = cache_path(big).stat().st_mtime_ns
    project = Project.load(big)
    assert len(project.specs) == 1000
    assert cache_path(big).stat().st_mtime_ns == before, "an unchanged load rewrites nothing"


def small(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "assets.toml").write_text('name = "p"\n')
    (root / "models" / "a.sql").write_text("-- tags: [x]\nselect 1 as id\n")
    (root / "models" / "b.sql").write_text("select id from a\n")
    return root


def load(root: Path) -> tuple[list[object], ParseCache]:
    cache = ParseCache.open(cache_path(root))
    return discover(root, load_config(root), cache=cache), cache  # type: ignore[return-value]


@pytest.mark.parametrize(
    "content",
    [b"not a pickle", b"", pickle.dumps(("old key", 0, {})), pickle.dumps([1, 2, 3])],
    ids=["garbage", "empty", "old-key", "wrong-shape"],
)
def test_a_corrupted_or_old_cache_is_ignored(tmp_path: Path, content: bytes) -> None:
    root = small(tmp_path)
    cold, _ = load(root)
    cache_path(root).write_bytes(content)
    again, cache = load(root)
    assert again == cold
    assert cache.misses == 2
    assert ParseCache.open(cache_path(root)).path is not None
    assert len(ParseCache.open(cache_path(root))) == 2, "the cache was rewritten"


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    root = small(tmp_path)
    load(root)
    path = root / "models" / "b.sql"
    stat = path.stat()
    # Same size, same mtime: only the content hash can tell (the racy window forces it).
    assert stat.st_size == len("select 420 as id\n")
    path.write_text("select 420 as id\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    specs, cache = load(root)
    b = next(s for s in specs if s.name == "b")  # type: ignore[attr-defined]
    assert b.upstreams == ()
    assert cache.misses == 1


def test_a_touched_but_unchanged_file_is_a_hit(tmp_path: Path) -> None:
    root = small(tmp_path)
    load(root)
    path = root / "models" / "a.sql"
    os.utime(path, (time.time() + 5, time.time() + 5))
    _, cache = load(root)
    assert (cache.hits, cache.misses) == (2, 0)


def test_the_project_dialect_is_part_of_the_key(tmp_path: Path) -> None:
    root = small(tmp_path)
    (root / "models" / "c.sql").write_text("select iff(id > 0, 1, 2) as x from a\n")
    specs, _ = load(root)
    duck = next(s for s in specs if s.name == "c")  # type: ignore[attr-defined]
    (root / "assets.toml").write_text('name = "p"\ndialect = "snowflake"\n')
    specs, cache = load(root)
    assert cache.misses == 3
    snow = next(s for s in specs if s.name == "c")  # type: ignore[attr-defined]
    assert duck.sql == "select iff(id > 0, 1, 2) as x from a"
    assert snow.sql != duck.sql and "iff" not in (snow.sql or "").lower()


def test_a_file_that_fails_is_never_cached(tmp_path: Path) -> None:
    root = small(tmp_path)
    (root / "models" / "bad.sql").write_text("select from where\n")
    for _ in range(2):
        with pytest.raises(SqlError, match="bad.sql"):
            load(root)
    assert "models/bad.sql" not in ParseCache.open(cache_path(root))._old


def test_deleted_files_leave_the_cache(tmp_path: Path) -> None:
    root = small(tmp_path)
    load(root)
    (root / "models" / "b.sql").unlink()
    load(root)
    assert len(ParseCache.open(cache_path(root))) == 1
