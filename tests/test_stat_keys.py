"""Edits that keep a file's size and restore its mtime are still seen.

``touch -r``, ``cp -p``, ``rsync -t``, ``tar x`` and ``git checkout`` of an old version
can give a changed file its old size and modification time. The parse cache and the
source observations trust a file unread only while its whole stat key (size, mtime,
ctime, inode) is unchanged; the ctime cannot be set from user space.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import Cli
from helpers import write_project

from assets_orch.config import STATE_DIR, load_config
from assets_orch.discovery import discover
from assets_orch.parse_cache import CACHE_FILE, ParseCache
from assets_orch.sources import PreviousObservation, observe, stat_key

MODEL = "select id, amount * 2 as doubled from read_csv('data/raw.csv')\n"
CSV = "id,amount\n1,10\n2,20\n"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = write_project(
        tmp_path / "p",
        {"models/doubled.sql": MODEL, "models/total.sql": "select sum(doubled) as s from doubled"},
    )
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text(CSV)
    past = time.time() - 3600  # long before anything is observed: outside any racy window
    for path in [root / "models/doubled.sql", root / "models/total.sql", root / "data/raw.csv"]:
        os.utime(path, (past, past))
    Cli(root)("materialize")
    assert _reasons(root) == {"doubled": [], "total": []}
    return root


def _reasons(root: Path) -> dict[str, list[str]]:
    return {row["name"]: row["reasons"] for row in Cli(root).json("status")}


def _edit_keeping_size_and_mtime(path: Path, old: str, new: str, *, how: str) -> None:
    """Replace ``old`` with ``new`` (same length) and give the file its old mtime back."""
    assert len(old) == len(new)
    original = path.stat()
    reference = path.with_name(path.name + ".orig")
    shutil.copy2(path, reference)  # like `cp -p`: the mtime travels with the copy
    path.write_text(path.read_text().replace(old, new))
    if how == "touch -r":
        subprocess.run(["touch", "-r", str(reference), str(path)], check=True)
    elif how == "cp -p":  # an edited copy, put back with its old times
        edited = path.read_bytes()
        path.write_bytes(reference.read_bytes())
        reference.write_bytes(edited)
        os.utime(reference, ns=(original.st_atime_ns, original.st_mtime_ns))
        subprocess.run(["cp", "-p", str(reference), str(path)], check=True)
    else:
        os.utime(path, ns=(original.st_atime_ns, original.st_mtime_ns))
    reference.unlink()
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (original.st_size, original.st_mtime_ns)


@pytest.mark.parametrize("how", ["touch -r", "os.utime", "cp -p"])
def test_a_model_edit_with_size_and_mtime_restored_is_a_code_change(built: Path, how: str) -> None:
    _edit_keeping_size_and_mtime(built / "models/doubled.sql", "* 2", "* 3", how=how)
    reasons = _reasons(built)
    assert reasons["doubled"] == ["code changed"]
    assert reasons["total"] == ["upstream stale: doubled"]
    Cli(built)("materialize", "--stale")
    assert all(not row["stale"] for row in Cli(built).json("status"))


@pytest.mark.parametrize("how", ["touch -r", "os.utime", "cp -p"])
def test_a_csv_edit_with_size_and_mtime_restored_is_a_source_change(built: Path, how: str) -> None:
    _edit_keeping_size_and_mtime(built / "data/raw.csv", "2,20", "2,21", how=how)
    reasons = _reasons(built)
    assert reasons["doubled"] == ["source changed: data/raw.csv"]
    assert reasons["total"] == ["upstream stale: doubled"]


def test_the_parse_cache_compares_the_whole_stat_key(tmp_path: Path) -> None:
    """Outside the racy window too: a cache saved after the edit still sees it."""
    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as id\n"})
    path = root / "models/a.sql"
    cache_file = root / STATE_DIR / CACHE_FILE
    discover(root, load_config(root), cache=ParseCache.open(cache_file))
    stored = ParseCache.open(cache_file)._old
    assert stored["models/a.sql"].stat == stat_key(path.stat())
    _edit_keeping_size_and_mtime(path, "1 as", "2 as", how="os.utime")
    # As if the cache had been written long after the edit: only the key can tell.
    late = ParseCache(cache_file, stored, time.time_ns() + 3600 * 10**9)
    (spec,) = discover(root, load_config(root), cache=late)
    assert spec.sql == "select 2 as id"
    assert (late.hits, late.misses) == (0, 1)
    # An untouched file with the same key is trusted unread.
    again = ParseCache(cache_file, ParseCache.open(cache_file)._old, time.time_ns() + 10**12)
    discover(root, load_config(root), cache=again)
    assert (again.hits, again.misses) == (1, 0)


def test_source_observations_compare_the_whole_stat_key(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    csv = root / "data/raw.csv"
    csv.write_text(CSV)
    versions, seen = observe(root, ["data/raw.csv"], {}, now=time.time())
    (first,) = seen
    later = time.time() + 3600  # observed long after any write: no racy re-read
    previous = {first.path: PreviousObservation(first.key, first.content_hash, None, later)}
    assert observe(root, ["data/raw.csv"], previous, now=time.time()) == (versions, [])
    _edit_keeping_size_and_mtime(csv, "2,20", "2,21", how="os.utime")
    changed, again = observe(root, ["data/raw.csv"], previous, now=time.time())
    assert changed != versions and [o.path for o in again] == ["data/raw.csv"]
    assert again[0].key == stat_key(csv.stat()) and again[0].key != first.key


def test_a_rewrite_with_equal_bytes_keeps_the_version(built: Path) -> None:
    csv = built / "data/raw.csv"
    csv.write_bytes(csv.read_bytes())  # new mtime, ctime and maybe inode: bytes equal
    assert _reasons(built) == {"doubled": [], "total": []}
