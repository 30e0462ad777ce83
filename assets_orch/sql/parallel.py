"""Analyzing many SQL files on every core: the first load of a large project.

sqlglot holds the interpreter lock, so threads do not help; forked processes do. The
calling process analyzes one share itself while forked children analyze the others
and send back their :class:`~assets_orch.sql.analysis.SqlAnalysis` values (small,
picklable). Used only when it pays (many files, more than one core), and only where
forking is safe: a POSIX ``fork`` start method and no other Python thread running.

A file that fails to analyze is left out of the answer: the caller analyzes it again
in order, so its error is raised exactly as without this module.

>>> found = analyze_many([("select 1 as x", f"m{i}.sql", "duckdb") for i in range(200)])
>>> len(found) in (0, 200)  # none on a single core
True
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis import SqlAnalysis

Item = tuple[str, str, str]  # text, path, dialect
MIN_PER_PROCESS = 32  # below this a fork costs more than it saves


def analyze_many(items: Sequence[Item]) -> dict[str, SqlAnalysis]:
    """path -> analysis of each item that analyzes cleanly."""
    processes = min(os.cpu_count() or 1, len(items) // MIN_PER_PROCESS)
    if processes < 2 or not _fork_is_safe():
        return {}  # the caller analyzes each file in order
    import sqlglot  # noqa: F401 - imported once here, inherited by the children

    shares = [list(items[i::processes]) for i in range(processes)]
    context = multiprocessing.get_context("fork")
    found: dict[str, SqlAnalysis] = {}
    with ProcessPoolExecutor(max_workers=processes - 1, mp_context=context) as pool:
        futures = [pool.submit(_analyze, share) for share in shares[1:]]
        found.update(_analyze(shares[0]))
        for future in futures:
            try:
                found.update(future.result())
            except Exception:  # noqa: BLE001 - a broken child: its files are analyzed again
                continue
    return found


def _fork_is_safe() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _analyze(items: Sequence[Item]) -> list[tuple[str, SqlAnalysis]]:
    from ..errors import AssetsError
    from .analysis import analyze_sql

    out = []
    for text, path, dialect in items:
        try:
            out.append((path, analyze_sql(text, path=path, dialect=dialect)))
        except (AssetsError, RecursionError):
            continue
    return out
