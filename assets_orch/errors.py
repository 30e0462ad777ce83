"""Typed errors: one base class, one subclass per stage of the flow.

Library code raises these; only ``cli.py`` turns them into messages and exit codes.
Every error can carry the file, line and column it is about, and a hint saying how
to fix it, so that the message reads ``models/x.sql:3:14: unknown table 'ordrs'``.

>>> str(SqlError("unknown table 'ordrs'", path="models/x.sql", line=3, col=14))
"models/x.sql:3:14: unknown table 'ordrs'"
"""

from __future__ import annotations


class AssetsError(Exception):
    """Base of every error the tool raises on purpose.

    ``exit_code`` is what the CLI exits with: 2 for project and usage errors
    (the user must fix an input), 1 for failed runs.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        self.hint = hint
        super().__init__(self.__str__())

    @property
    def location(self) -> str | None:
        """``path:line:col`` with the parts that are known, or None."""
        if self.path is None:
            return None
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        loc = self.location
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(AssetsError):
    """assets.toml is missing, unreadable or invalid."""


class ProjectNotFoundError(ConfigError):
    """No assets.toml in the current directory or any parent."""


class MetadataError(AssetsError):
    """An asset's metadata (SQL comment header or @asset arguments) is invalid."""


class SqlError(AssetsError):
    """A SQL asset cannot be parsed, is not a single query, or reads an unknown table."""


class PythonAssetError(AssetsError):
    """A Python asset module cannot be imported or an @asset function is invalid."""


class DiscoveryError(AssetsError):
    """Project layout problems: duplicate asset names, unreadable files."""


class GraphError(AssetsError):
    """The lineage graph is invalid (a cycle) or a selection matches nothing."""


class SelectionError(GraphError):
    """A selection expression is malformed or names an unknown asset."""


class WarehouseError(AssetsError):
    """DuckDB refused an operation (file locked, query failed)."""

    exit_code = 1


class RunCancelledError(AssetsError):
    """A run was cancelled (Ctrl-C, SIGTERM); what finished is kept. Exit 130, as for
    any interrupted command."""

    exit_code = 130


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse file (DuckDB allows one writer, no reader)."""


class WarehouseFileError(WarehouseError):
    """The warehouse file cannot be opened: not a DuckDB database, written by another
    DuckDB version, damaged or unreadable. The user must fix or move the file."""

    exit_code = 2


class CatalogError(AssetsError):
    """The catalog store cannot be opened or is inconsistent."""


class LockError(AssetsError):
    """Another process holds the project's writer lock."""

    exit_code = 1


class RunFailedError(AssetsError):
    """A run finished with at least one failed asset."""

    exit_code = 1


class LineageError(AssetsError):
    """A lineage picture cannot be drawn (e.g. Graphviz's dot is missing)."""


class ExportError(AssetsError):
    """The HTML catalog cannot be written."""


class AutomationError(AssetsError):
    """Schedules, sensors, alerts or the daemon are misconfigured."""
