"""``assets.toml`` -> validated project configuration.

Unknown keys are errors naming the file, the line and the closest known key.

>>> cfg = ProjectConfig.model_validate({"name": "shop"})
>>> cfg.warehouse, cfg.dialect, cfg.model_paths
('warehouse.duckdb', 'duckdb', ('models',))
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .durations import parse_duration
from .errors import ConfigError, ProjectNotFoundError

CONFIG_FILE = "assets.toml"
STATE_DIR = ".assets"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Project-wide defaults that each asset may override in its metadata."""

    retries: int = Field(default=0, ge=0)
    retry_delay: float = 1.0
    timeout: float | None = None
    threads: int | None = Field(default=None, ge=1)

    @field_validator("retry_delay", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)


class ProjectConfig(_Strict):
    """The whole of ``assets.toml``."""

    name: str = "project"
    warehouse: str = "warehouse.duckdb"
    dialect: str = "duckdb"
    schema_name: str = Field(default="main", alias="schema")
    model_paths: tuple[str, ...] = ("models",)
    python_paths: tuple[str, ...] = ("assets",)
    content_hash: bool = True
    defaults: Defaults = Defaults()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


def load_config(root: Path) -> ProjectConfig:
    """Read and validate ``root/assets.toml``."""
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {CONFIG_FILE}: {e.strerror}", path=str(path)) from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        raise ConfigError(f"invalid TOML: {e}", path=CONFIG_FILE, line=line) from e
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as e:
        raise _config_error(e, text) from e


def _config_error(error: ValidationError, text: str) -> ConfigError:
    first = error.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    key = ".".join(loc) or "?"
    line = _line_of(text, loc[-1]) if loc else None
    if first.get("type") == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = sorted(f.alias or name for name, f in parent.model_fields.items())
        import difflib

        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = (f"did you mean '{close[0]}'? " if close else "") + "known keys: " + ", ".join(known)
        return ConfigError(f"unknown key '{key}'", path=CONFIG_FILE, line=line, hint=hint)
    return ConfigError(
        f"invalid value for '{key}': {first.get('msg')}", path=CONFIG_FILE, line=line
    )


def _model_at(loc: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = ProjectConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None) if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return model


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|^\s*\[+\s*{re.escape(key)}\s*\]+")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None
