"""Query parameters of partitioned and incremental assets: ``$start``, ``$end``, ``$region``,
``$cursor``.

They are DuckDB named prepared-statement parameters, so an asset file stays one valid
query for sqlglot (which reads ``$start`` as a placeholder) and for DuckDB (which binds
it). ``@start`` would not do: sqlglot's DuckDB dialect reads ``@x`` as ``abs(x)``.

>>> sorted(placeholders("select * from t where d >= $start and d < $end"))
['end', 'start']
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import MetadataError

if TYPE_CHECKING:
    from ..specs import AssetSpec
    from .definition import PartitionsDef


@lru_cache(maxsize=1024)
def placeholders(sql: str) -> frozenset[str]:
    """The names of the ``$name`` parameters ``sql`` (DuckDB) uses."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return frozenset()
    return frozenset(str(p.this) for p in tree.find_all(exp.Placeholder) if p.this)


def check_params(spec: AssetSpec, definition: PartitionsDef | None) -> None:
    """Refuse a partitioned or incremental asset whose query ignores its parameters.

    A time-partitioned query must filter on ``$start`` and ``$end`` (otherwise every
    partition would receive every row); a static dimension ``region`` needs
    ``$region``; an incremental asset needs ``$cursor``. Unknown ``$names`` are errors.
    """
    used = placeholders(spec.sql or "")
    expected: tuple[str, ...] = ()
    if definition is not None:
        expected = definition.params
    elif spec.meta.incremental is not None:
        expected = ("cursor",)
    hint = "see docs/partitions.md for the parameters a partitioned or incremental query gets"
    missing = [p for p in expected if p not in used]
    if missing:
        names = ", ".join(f"${p}" for p in missing)
        what = "incremental" if spec.meta.incremental is not None else "partitioned"
        raise MetadataError(
            f"{what} asset '{spec.name}' does not use {names} in its query",
            path=spec.path,
            line=spec.line,
            hint="filter the rows of each partition, e.g. "
            "'where order_date >= $start and order_date < $end'"
            if "start" in missing
            else hint,
        )
    unknown = sorted(used - set(expected))
    if unknown:
        raise MetadataError(
            f"query of '{spec.name}' uses unknown parameter ${unknown[0]}",
            path=spec.path,
            line=spec.line,
            hint=f"known here: {', '.join('$' + p for p in expected) or 'none'}; " + hint,
        )
