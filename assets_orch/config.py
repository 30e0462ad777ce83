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
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .cron import check_cron
from .durations import parse_duration
from .errors import ConfigError
from .metadata import FreshnessPolicy
from .paths import CONFIG_FILE, STATE_DIR, find_project_root  # noqa: F401 - re-exported


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


class SourceConfig(_Strict):
    """A declared source: a file path or glob as the SQL writes it, or a warehouse table.

    Files are judged by their modification time; tables by ``loaded_at`` (a timestamp
    column) or ``query`` (SQL returning one timestamp).
    """

    description: str | None = None
    owner: str | None = None
    freshness: FreshnessPolicy | None = None
    loaded_at: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_way_to_date(self) -> SourceConfig:
        if self.loaded_at and self.query:
            raise ValueError("give either 'loaded_at' (a column) or 'query', not both")
        return self


class ScheduleConfig(_Strict):
    """``[[schedules]]``: build a selection at each tick of a cron expression."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    cron: str
    timezone: str = "UTC"
    select: tuple[str, ...] = ()
    stale_only: bool = True

    @field_validator("select", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        check_cron(value, None)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        check_cron(None, value)
        return value


AlertEvent = Literal[
    "run_failed",
    "asset_failed",
    "check_failed",
    "freshness_overdue",
    "source_late",
    "run_succeeded",
]


class AlertConfig(_Strict):
    """``[[alerts]]``: where to send which events. ``${VAR}`` is read at send time."""

    name: str | None = None
    events: tuple[AlertEvent, ...] = (
        "run_failed",
        "asset_failed",
        "check_failed",
        "freshness_overdue",
        "source_late",
    )
    url: str | None = None
    command: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    retries: int = Field(default=2, ge=0, le=10)
    timeout: float = 10.0

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @model_validator(mode="after")
    def _one_destination(self) -> AlertConfig:
        if bool(self.url) == bool(self.command):
            raise ValueError("an alert has exactly one destination: 'url' or 'command'")
        if self.url and not re.match(r"^(https?://|\$\{)", self.url):
            raise ValueError("'url' must start with http:// or https:// (or be '${VAR}')")
        return self


class DaemonConfig(_Strict):
    """``[daemon]``: how ``assets daemon`` ticks and who may trigger it over HTTP."""

    interval: float = Field(default=60.0, gt=0)
    http_token_env: str = Field(default="ASSETS_TRIGGER_TOKEN", pattern=r"^[A-Za-z_]\w*$")
    sensors: bool = True
    freshness: bool = True

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)


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
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    schedules: tuple[ScheduleConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = ()
    daemon: DaemonConfig = DaemonConfig()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("schedules")
    @classmethod
    def _unique_schedules(cls, value: tuple[ScheduleConfig, ...]) -> tuple[ScheduleConfig, ...]:
        seen: set[str] = set()
        for schedule in value:
            if schedule.name in seen:
                raise ValueError(f"two schedules are named '{schedule.name}'; names are unique")
            seen.add(schedule.name)
        return value


def database_name(warehouse: str) -> str:
    """The catalog name DuckDB gives a database file: its name up to the first dot.

    >>> database_name("data/warehouse.duckdb"), database_name("my.wh.db")
    ('warehouse', 'my')
    """
    return Path(warehouse).name.split(".")[0]


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
        config = ProjectConfig.model_validate(data)
    except ValidationError as e:
        raise _config_error(e, text) from e
    _check_dialect(config.dialect, text)
    _check_folders(config, root, text)
    return config


def _check_folders(config: ProjectConfig, root: Path, text: str) -> None:
    """Each folder of ``model_paths`` and ``python_paths`` must exist, except a default
    one (``models``, ``assets``): a project may well have no Python assets."""
    defaults = ProjectConfig()
    for key, folders, default in (
        ("model_paths", config.model_paths, defaults.model_paths),
        ("python_paths", config.python_paths, defaults.python_paths),
    ):
        for folder in folders:
            path = root / folder
            if path.is_dir() or (folder in default and not path.exists()):
                continue
            problem = "is not a folder" if path.exists() else "does not exist"
            import difflib

            here = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[0] != ".")
            close = difflib.get_close_matches(folder, here, n=1)
            raise ConfigError(
                f"'{folder}' in {key} {problem}",
                path=CONFIG_FILE,
                line=_line_of(text, key),
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + f"create the folder or remove it from {key} (folders are relative to "
                "the folder of assets.toml)",
            )


def _check_dialect(name: str, text: str) -> None:
    """A dialect sqlglot does not know is an error in assets.toml, not in the first model
    that happens to be parsed with it."""
    if name == "duckdb":
        return  # the default: no need to load sqlglot to know it
    from .errors import SqlError
    from .sql.parse import get_dialect, known_dialects

    try:
        get_dialect(name)
    except SqlError as e:
        import difflib

        close = difflib.get_close_matches(name, known_dialects(), n=1)
        raise ConfigError(
            f"unknown SQL dialect '{name}'",
            path=CONFIG_FILE,
            line=_line_of(text, "dialect"),
            hint=(f"did you mean '{close[0]}'? " if close else "")
            + "use one of: "
            + ", ".join(known_dialects()),
        ) from e


def _config_error(error: ValidationError, text: str) -> ConfigError:
    errors = error.errors()
    # A misspelt key also makes its right spelling "missing": report the typo first.
    first = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    loc = [str(p) for p in first.get("loc", ())]
    key = ".".join(loc) or "?"
    line = (_line_in_tables(text, loc) or _line_of(text, loc[-1])) if loc else None
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
        if field is None:  # a list index or a dict key (a source path): same model
            continue
        found = _inner_model(field.annotation)
        if found is not None:
            model = found
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None``, ``tuple[X, ...]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _line_in_tables(text: str, loc: list[str]) -> int | None:
    """The line of ``loc`` (e.g. ``schedules.1.cron``) inside ``[table]``/``[[array]]``.

    Finds the header whose path is the longest prefix of ``loc`` (the n-th ``[[x]]``
    for index n), then the first key of the rest of ``loc`` below it.
    """
    best: tuple[int, int, int] | None = None  # (prefix length, header line, body end)
    counts: dict[tuple[str, ...], int] = {}
    lines = text.splitlines()
    headers: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        match = re.match(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$", line)
        if not match:
            continue
        try:
            parsed = tomllib.loads(f"{match.group(2)} = 0")
        except tomllib.TOMLDecodeError:
            continue
        path: list[str] = []
        node: Any = parsed
        while isinstance(node, dict) and len(node) == 1:
            part, node = next(iter(node.items()))
            path.append(part)
        if match.group(1) == "[[":
            index = counts.get(tuple(path), 0)
            counts[tuple(path)] = index + 1
            path.append(str(index))
        headers.append((number, path))
    for i, (number, path) in enumerate(headers):
        end = headers[i + 1][0] if i + 1 < len(headers) else len(lines) + 1
        if loc[: len(path)] == path and (best is None or len(path) > best[0]):
            best = (len(path), number, end)
    if best is None:
        return None
    size, header, end = best
    for key in loc[size:]:
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|[{{,]\s*{re.escape(key)}\s*=")
        for number in range(header + 1, end):
            if pattern.search(lines[number - 1]):
                return number
    return header


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|^\s*\[+\s*{re.escape(key)}\s*\]+")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None
