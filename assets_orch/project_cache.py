"""The discovered project, cached whole: an unchanged project loads in one read.

Discovery of 10,000 asset files (list them, confirm each against the parse cache,
validate each header's metadata, resolve every table a query reads) costs about 0.8 s
even when every query is in the parse cache. Its result depends only on what it reads,
so when none of that changed, the result of the last discovery is the answer:

- the asset files: the relative path and stat key (size, mtime, ctime, inode; see
  :func:`~assets_orch.sources.stat_key`) of every ``.sql`` file under ``model_paths``
  and every ``.py`` file under ``python_paths``, so an added, removed or edited file
  changes the key;
- ``assets.toml`` (its bytes);
- what a query's table can resolve to besides an asset: the warehouse's tables and
  the tables this tool built for assets that are gone (left-overs, see
  :mod:`assets_orch.leftovers`), minus the tables of the project's own assets (a name
  that is an asset resolves to it whatever the warehouse holds, so a first build keeps
  the cache valid), and whether these checks are on;
- the versions of assets_orch, sqlglot and Python, and the parse cache's format.

Nothing is stored while a file was modified within
:data:`~assets_orch.sources.RACY_SECONDS` (a write in the same timestamp tick would
leave the stat key as it was), and a failed discovery stores nothing, so its error is
raised afresh.

Python modules are imported at every load all the same (what a module does when
imported is never taken from the cache): the project uses the cached specs only when
the Python files define the same assets as then (name, place, fingerprint, parameters,
metadata), with the functions imported now (see ``Project.load``).

The cache is ``.assets/project_cache.pickle``; a missing, damaged or outdated file is
ignored.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> listing = list_files(root, ["models"], ["assets"])
>>> listing
[]
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .files import skipped, walk
from .sources import RACY_SECONDS, StatKey, stat_key

if TYPE_CHECKING:
    from .specs import AssetSpec

CACHE_FILE = "project_cache.pickle"
FORMAT = 2

Listing = list[tuple[str, StatKey]]


def list_files(root: Path, model_paths: Iterable[str], python_paths: Iterable[str]) -> Listing:
    """Every asset file (relative path) with its stat key, sorted."""
    found: Listing = []
    base = str(root)
    for folders, suffix in ((model_paths, ".sql"), (python_paths, ".py")):
        for folder in folders:
            top = os.path.join(base, folder)
            if any(skipped(p) for p in Path(folder).parts) or not os.path.isdir(top):
                continue
            cut = len(base) + 1  # relative paths by slicing: os.path.relpath is ~18 us each
            for path in walk(top, suffix):
                try:
                    found.append((path[cut:], stat_key(os.stat(path))))
                except OSError:
                    continue
    found.sort()
    return found


def key_of(listing: Listing, config_bytes: bytes, *, checks: tuple[bool, bool]) -> str:
    """The digest of the files discovery reads (see the module docstring); ``checks``
    says whether tables and left-overs are checked."""
    from .parse_cache import cache_key

    digest = hashlib.sha256()
    digest.update(repr((FORMAT, cache_key(), sys.version_info[:2], checks)).encode())
    digest.update(config_bytes)
    digest.update(repr(listing).encode())
    return digest.hexdigest()


def context_of(
    specs: list[AssetSpec],
    tables: Iterable[str] | None,
    leftovers: Iterable[str] | None,
    schema: str,
) -> str:
    """The digest of the warehouse tables (and left-over tables) that are not the tables
    of the project's own assets: what a query's table can resolve to besides an asset.

    The tables of the assets themselves are left out, since a query's table that names
    an asset is that asset whatever the warehouse holds: so the first build of a project,
    which adds every asset's table, leaves the cache valid.

    >>> context_of([], ["raw.orders"], None, "main") == context_of([], ["raw.orders"], None, "main")
    True
    """
    own = {s.key for s in specs}
    own |= {f"{schema.lower()}.{name}" for name in own}
    digest = hashlib.sha256()
    for part in (tables, leftovers):
        names = "\n".join(sorted(set(part) - own)).encode() if part is not None else b"-"
        digest.update(b"\0" + names)
    return digest.hexdigest()


def load(path: Path, key: str, context: Callable[[list[AssetSpec]], str]) -> list[AssetSpec] | None:
    """The specs stored under ``key`` when ``context(specs)`` is the context they were
    stored with, or None (the key is read first: a changed project does not pay for
    unpickling the old one)."""
    try:
        with path.open("rb") as fh:
            if fh.readline().rstrip(b"\n") != key.encode():
                return None
            stored_context, specs = pickle.load(fh)
    except Exception:  # noqa: BLE001 - missing, damaged or from another version: rediscover
        return None
    if not isinstance(specs, list) or stored_context != context(specs):
        return None
    return specs


def save(path: Path, key: str, specs: list[AssetSpec], listing: Listing, context: str) -> bool:
    """Store ``specs`` under ``key`` and ``context`` unless a file is too recent to be
    trusted by stat; False when not stored."""
    racy = time.time_ns() - int(RACY_SECONDS * 1e9)
    if any(max(mtime, ctime) >= racy for _, (_, mtime, ctime, _) in listing):
        return False
    stored = [replace(s, func=None) if s.func is not None else s for s in specs]
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            fh.write(key.encode() + b"\n")
            pickle.dump((context, stored), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only project: discovery runs each time
        return False
    return True
