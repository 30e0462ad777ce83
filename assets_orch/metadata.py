"""Asset metadata: what a SQL comment header or ``@asset(...)`` arguments may say.

The same pydantic model validates both, with unknown keys refused, so a typo such as
``tgas:`` fails loudly instead of being ignored.

>>> meta = AssetMeta.model_validate({"tags": ["finance"], "freshness": "24h"})
>>> meta.freshness.error_after
86400.0
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import parse_duration

CHECK_KINDS = ("not_null", "unique", "accepted_values", "row_count", "expression", "sql")
Severity = Literal["error", "warn"]


class Strict(BaseModel):
    """Base for metadata models: unknown keys are errors, values are immutable."""

    # defer_build: a model's validator is built when it first validates; a project loaded
    # from the project cache only unpickles metadata (~0.1 s of every command saved).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CheckSpec(Strict):
    """One data check, run on the new data before it is published.

    Written as a one-key mapping: ``{not_null: order_id}``, ``{unique: [a, b]}``,
    ``{accepted_values: {column: status, values: [a, b]}}``, ``{row_count: {min: 1}}``,
    ``{expression: "amount >= 0"}`` or ``{sql: "select * from x where ..."}`` (returns
    the failing rows), plus optional ``severity: warn`` and ``name:``.
    """

    kind: Literal["not_null", "unique", "accepted_values", "row_count", "expression", "sql"]
    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    min: int | None = None
    max: int | None = None
    sql: str | None = None
    severity: Severity = "error"
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_short_form(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" in data:
            return data
        data = dict(data)
        kinds = [k for k in data if k in CHECK_KINDS]
        if len(kinds) != 1:
            raise ValueError(
                f"a check names exactly one of {', '.join(CHECK_KINDS)}; got {sorted(data)}"
            )
        kind = kinds[0]
        arg = data.pop(kind)
        out: dict[str, Any] = {"kind": kind, **data}
        if kind in ("not_null", "unique"):
            out["columns"] = [arg] if isinstance(arg, str) else list(arg)
        elif kind == "accepted_values":
            if not isinstance(arg, dict):
                raise ValueError("accepted_values takes {column: NAME, values: [...]}")
            out["columns"] = [arg.get("column")]
            out["values"] = arg.get("values", [])
            extra = set(arg) - {"column", "values"}
            if extra:
                raise ValueError(f"accepted_values: unknown keys {sorted(extra)}")
        elif kind == "row_count":
            if not isinstance(arg, dict):
                raise ValueError("row_count takes {min: N, max: M}")
            out.update(arg)
        else:
            out["sql"] = str(arg)
        return out

    @property
    def label(self) -> str:
        """Stable readable name, e.g. ``not_null(order_id)``."""
        if self.name:
            return self.name
        if self.kind in ("not_null", "unique"):
            return f"{self.kind}({', '.join(self.columns)})"
        if self.kind == "accepted_values":
            return f"accepted_values({self.columns[0]})"
        if self.kind == "row_count":
            limits = (("min", self.min), ("max", self.max))
            bounds = [f"{k}={v}" for k, v in limits if v is not None]
            return f"row_count({', '.join(bounds)})"
        return f"{self.kind}({self.sql})"


class FreshnessPolicy(Strict):
    """How old an asset may get. ``freshness: 24h`` means ``error_after: 24h``."""

    warn_after: float | None = None
    error_after: float | None = None
    cron: str | None = Field(default=None, description="deadline: fresh by each cron tick")
    timezone: str = "UTC"

    @model_validator(mode="before")
    @classmethod
    def _from_short_form(cls, data: Any) -> Any:
        if isinstance(data, str | int | float):
            return {"error_after": data}
        return data

    @field_validator("warn_after", "error_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _valid_deadline(self) -> FreshnessPolicy:
        from .cron import check_cron

        check_cron(self.cron, self.timezone)
        return self


class IncrementalPolicy(Strict):
    """``incremental: {cursor: updated_at}``: append only rows past the table's max cursor."""

    cursor: str


def _moment(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    from .partitions.definition import parse_moment

    parse_moment(str(value))  # a ValueError names the expected forms
    return str(value)


_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AssetMeta(Strict):
    """Everything an asset may declare about itself besides its query or function."""

    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    materialized: Literal["table", "view"] = "table"
    dialect: str | None = None
    deps: tuple[str, ...] = ()
    freshness: FreshnessPolicy | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_delay: float | None = None
    timeout: float | None = None
    checks: tuple[CheckSpec, ...] = ()
    on: tuple[Literal["upstream"], ...] = ()
    # Partitions (docs/partitions.md): a time column with a grain and a span, and/or
    # static dimensions {column: [values]}; or an incremental cursor for appends.
    partitioned_by: str | None = None
    grain: Literal["hour", "day", "week", "month"] | None = None
    start: str | None = None
    end: str | None = None
    partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    batch_size: int | None = Field(default=None, ge=1)
    incremental: IncrementalPolicy | None = None
    # Python assets only (SQL lineage is inferred): {output column: ["upstream.column"]},
    # the columns each output column's value is computed from (docs/column-lineage.md).
    column_lineage: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @field_validator("start", "end", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        return _moment(value)

    @field_validator("partitions", mode="before")
    @classmethod
    def _static_dims(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = []
        for name, values in value.items():
            if not _DIMENSION.match(str(name)):
                raise ValueError(f"dimension '{name}' must be a column name")
            items = values if isinstance(values, list | tuple) else [values]
            if not items:
                raise ValueError(f"dimension '{name}' has no values")
            texts = [str(v) for v in items]
            if len(set(texts)) != len(texts):
                raise ValueError(f"dimension '{name}' lists a value twice")
            out.append((str(name), tuple(texts)))
        return out

    @model_validator(mode="after")
    def _partitioning(self) -> AssetMeta:
        if self.partitioned_by is None:
            stray = [k for k in ("grain", "start", "end") if getattr(self, k) is not None]
            if stray:
                raise ValueError(f"'{stray[0]}' needs 'partitioned_by: <time column>'")
        elif self.grain is None or self.start is None:
            raise ValueError("partitioned_by needs 'grain' (hour, day, week, month) and 'start'")
        partitioned = self.partitioned_by is not None or bool(self.partitions)
        if partitioned and self.incremental is not None:
            raise ValueError("an asset is either partitioned or incremental, not both")
        if (partitioned or self.incremental) and self.materialized == "view":
            raise ValueError("partitioned and incremental assets are tables, not views")
        if self.batch_size is not None and not partitioned:
            raise ValueError("'batch_size' applies to partitioned assets")
        return self

    @field_validator("column_lineage", mode="before")
    @classmethod
    def _column_lineage(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = []
        for column, refs in value.items():
            items = [refs] if isinstance(refs, str) else list(refs or ())
            for ref in items:
                if not isinstance(ref, str) or "." not in ref.strip(".") or " " in ref:
                    raise ValueError(
                        f"column_lineage['{column}']: '{ref}' must name an upstream column "
                        "as 'asset.column'"
                    )
            out.append((str(column), tuple(items)))
        return out

    @field_validator("tags", "deps", "on", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("retry_delay", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    def output_fingerprint(self) -> str:
        """Hash of the metadata that can change the data an asset publishes.

        Description, owner and tags are left out: editing them never makes an asset stale.
        """
        relevant: dict[str, Any] = {
            "materialized": self.materialized,
            "checks": [c.model_dump(mode="json") for c in self.checks],
        }
        # Only when set, so that unpartitioned assets keep their fingerprints.
        if self.partitioned_by is not None or self.partitions:
            relevant["partitioning"] = [
                self.partitioned_by,
                self.grain,
                [name for name, _ in self.partitions],
            ]
        if self.incremental is not None:
            relevant["incremental"] = self.incremental.cursor
        blob = json.dumps(relevant, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


METADATA_KEYS = tuple(AssetMeta.model_fields)
