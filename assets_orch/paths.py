"""Where a project keeps its files: the root (the nearest ``assets.toml``) and the
state folder ``.assets/``.

Light on purpose (no pydantic, no DuckDB): the CLI finds the root and checks the
writer lock before it imports the rest.

>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / CONFIG_FILE).write_text('name = "demo"')
>>> (root / "models").mkdir()
>>> find_project_root(root / "models") == root.resolve()
True
"""

from __future__ import annotations

from pathlib import Path

from .errors import ProjectNotFoundError

CONFIG_FILE = "assets.toml"
STATE_DIR = ".assets"
LOCK_FILE = "writer.lock"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` that holds ``assets.toml``.

    Raises ProjectNotFoundError with a hint when there is none.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no {CONFIG_FILE} found in {here} or any parent directory",
        hint="run inside a project, pass --project DIR, or create one with 'assets init DIR'",
    )
