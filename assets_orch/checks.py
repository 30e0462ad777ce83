"""Data checks as SQL: each check becomes a query that returns the failing rows.

>>> from assets_orch.metadata import CheckSpec
>>> failing_rows_sql(CheckSpec.model_validate({"not_null": "id"}), '"orders"')
'SELECT * FROM "orders" WHERE "id" IS NULL'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .metadata import CheckSpec

SAMPLE_ROWS = 5


def quote(name: str) -> str:
    """A DuckDB-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def failing_rows_sql(check: CheckSpec, table: str) -> str:
    """The query whose rows are the violations of ``check`` on ``table`` (quoted)."""
    cols = [quote(c) for c in check.columns]
    if check.kind == "not_null":
        return f"SELECT * FROM {table} WHERE " + " OR ".join(f"{c} IS NULL" for c in cols)
    if check.kind == "unique":
        keys = ", ".join(cols)
        return (
            f"SELECT {keys}, count(*) AS duplicates FROM {table} "
            f"GROUP BY {keys} HAVING count(*) > 1"
        )
    if check.kind == "accepted_values":
        from sqlglot import exp  # here: a run with no accepted_values check never needs it

        values = ", ".join(exp.convert(v).sql("duckdb") for v in check.values) or "NULL"
        return f"SELECT * FROM {table} WHERE {cols[0]} IS NOT NULL AND {cols[0]} NOT IN ({values})"
    if check.kind == "row_count":
        conditions = []
        if check.min is not None:
            conditions.append(f"count(*) < {int(check.min)}")
        if check.max is not None:
            conditions.append(f"count(*) > {int(check.max)}")
        having = " OR ".join(conditions) or "false"
        return f"SELECT count(*) AS row_count FROM {table} HAVING {having}"
    if check.kind == "expression":
        return f"SELECT * FROM {table} WHERE NOT ({check.sql})"
    return str(check.sql)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one table."""

    check: CheckSpec
    status: str  # passed | failed | error
    failing_rows: int
    sample: list[dict[str, Any]]
    message: str | None = None

    @property
    def blocking(self) -> bool:
        """True when this result must stop the data from being published."""
        return self.status != "passed" and self.check.severity == "error"

    def summary(self) -> str:
        if self.status == "error":
            return f"check {self.check.label} could not run: {self.message}"
        return f"check {self.check.label} failed: {self.failing_rows} failing row(s)"
