"""What an asset's checks read, and whether they name columns the asset has.

A ``sql:`` or ``expression:`` check may read other tables (``not exists (select 1 from
customers ...)``): those tables are inputs of the asset like the ones its query reads.
Discovery resolves them the same way (an unknown table is an error naming the file and
the check's line), and the graph orders them before the asset, so that the checks of a
run see the tables that run built. A change in them makes the asset stale, so that its
checks run again (they run inside the build: write-audit-publish).

Checks are validated at load: a check whose SQL does not parse, and a ``not_null``,
``unique`` or ``accepted_values`` check naming a column the asset's query does not
produce (when the query names all its columns), are errors before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .errors import MetadataError, SqlError
from .header import closest_name

if TYPE_CHECKING:
    from .parse_cache import ParseCache
    from .specs import AssetSpec
    from .sql import TableRef

COLUMN_KINDS = ("not_null", "unique", "accepted_values")


@dataclass(frozen=True)
class CheckInputs:
    """Tables (each with the label of the check that reads it, placed at that check's
    line in the asset's file) and files the checks of one asset read."""

    tables: tuple[tuple[str, TableRef], ...] = ()
    files: tuple[str, ...] = ()


def check_inputs(spec: AssetSpec, cache: ParseCache | None = None) -> CheckInputs:
    """Parse the SQL of ``spec``'s checks and collect what they read.

    Raises SqlError at the check's line when its SQL is not a query (``sql``) or not
    one expression (``expression``).
    """
    tables: list[tuple[str, TableRef]] = []
    files: set[str] = set()
    for index, check in enumerate(spec.meta.checks):
        if check.kind not in ("sql", "expression") or not check.sql:
            continue
        try:
            if cache is not None:
                reads = cache.check_reads(check.kind, check.sql)
            else:
                from .sql.check_sql import check_reads

                reads = check_reads(check.kind, check.sql)
        except SqlError as e:
            raise SqlError(
                f"check {check.label}: {e.message}",
                path=spec.path,
                line=check_line(spec, index),
                hint=e.hint,
            ) from e
        line = check_line(spec, index) if reads.tables else None
        tables += [(check.label, replace(t, line=line, col=None)) for t in reads.tables]
        files.update(reads.files)
    return CheckInputs(tuple(tables), tuple(sorted(files)))


def check_columns(spec: AssetSpec, columns: tuple[str, ...] | None) -> None:
    """Refuse a column check that names a column the asset does not produce.

    ``columns`` are the query's output names (lower-cased), or None when the query does
    not name them all (``SELECT *``, unnamed expressions): then nothing is refused.
    """
    if columns is None:
        return
    for index, check in enumerate(spec.meta.checks):
        if check.kind not in COLUMN_KINDS:
            continue
        for column in check.columns:
            if column is None or str(column).lower() in columns:
                continue
            close = closest_name(str(column).lower(), list(columns))
            raise MetadataError(
                f"check {check.label} names column '{column}', which {spec.name} does not "
                f"produce (its columns: {', '.join(columns)})",
                path=spec.path,
                line=check_line(spec, index),
                hint=(f"did you mean '{close}'? " if close else "")
                + "a check names a column of the asset's own output",
            )


def check_line(spec: AssetSpec, index: int) -> int:
    """The line of ``spec``'s check number ``index`` (0-based) in its file: the ``- ``
    item of the ``checks:`` list, else the ``checks:`` line, else the asset's line."""
    if spec.kind != "sql" or not spec.source_text:
        return spec.line
    from .header import item_lines, parse_header

    key_line = parse_header(spec.source_text, path=spec.path).key_lines.get("checks")
    if key_line is None:
        return spec.line
    items = item_lines(spec.source_text, key_line)
    return items[index] if index < len(items) else key_line
