"""``assets init``: copy the bundled example project into a new directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import ConfigError

_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".assets", "warehouse.duckdb*", "site", "*.duckdb", "*.duckdb.wal"
)


def template_dir() -> Path:
    """The example project: inside the installed package, or the source checkout's."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_template", here.parent / "project_template"):
        if (candidate / "assets.toml").is_file():
            return candidate
    raise ConfigError(
        "the example project is missing from this installation",
        hint="reinstall assets_orch (pip install --force-reinstall assets_orch)",
    )


def init_project(dest: Path) -> Path:
    """Copy the example project to ``dest`` (which must not exist or be empty).

    >>> import tempfile, pathlib
    >>> d = init_project(pathlib.Path(tempfile.mkdtemp()) / "shop")
    >>> (d / "assets.toml").is_file()
    True
    """
    hint = "choose a new directory name; init never overwrites files"
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"{dest} is a file, not a directory", hint=hint)
    if dest.is_dir() and any(dest.iterdir()):
        raise ConfigError(f"{dest} already exists and is not empty", hint=hint)
    blocking = next((p for p in dest.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"cannot create {dest}: {blocking} is a file, not a directory", hint=hint)
    source = template_dir()
    try:
        shutil.copytree(source, dest, ignore=_IGNORE, dirs_exist_ok=True)
    except (OSError, shutil.Error) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(
            f"cannot create the project in {dest}: {reason}",
            hint="choose a directory you can write to",
        ) from e
    return dest
