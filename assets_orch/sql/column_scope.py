"""The values the column-lineage walk passes around: what an expression reads
(:class:`Deps`), a scope's output columns (:class:`Result`) and the sources a scope sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from assets_orch.sql.columns import digest

if TYPE_CHECKING:
    from assets_orch.sql.columns import SourceColumn

__all__ = ["digest"]  # re-exported for the walk

EMPTY: frozenset[SourceColumn] = frozenset()


class Unresolved(Exception):
    """Column lineage cannot be computed exactly; the message says why."""


@dataclass(frozen=True)
class Deps:
    """What an expression reads: value and filter columns, its fingerprint, volatility."""

    value: frozenset[SourceColumn] = EMPTY
    filter: frozenset[SourceColumn] = EMPTY
    fp: str = ""
    volatile: bool = False

    @property
    def all(self) -> frozenset[SourceColumn]:
        return self.value | self.filter


@dataclass
class Col:
    """One output column of a scope."""

    name: str
    deps: Deps
    named: bool = True  # the name was written (alias, column, star), not generated
    type: str | None = None  # DuckDB's type, known for a source's column passed through


@dataclass
class Result:
    """The lineage of one scope (a SELECT, a set operation, VALUES)."""

    cols: list[Col]
    rows: frozenset[SourceColumn] = EMPTY
    rows_fp: str = ""
    rows_volatile: bool = False
    by_name: dict[str, Col] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for col in self.cols:
            self.by_name.setdefault(col.name.lower(), col)


@dataclass
class Source:
    """A FROM item as seen from the scope that reads it."""

    identity: str
    result: Result


class Env:
    """The sources visible in a scope: alias -> source, then the enclosing scopes."""

    def __init__(self, parent: Env | None = None) -> None:
        self.parent = parent
        self.sources: dict[str, Source] = {}
        self.projections: dict[str, Deps] = {}  # output aliases (ORDER BY may name them)
        self.windows: dict[str, exp.Window] = {}  # the SELECT's WINDOW clause, by name
        self.positions: list[Col] | None = None  # the columns #1, #2, ... name

    def find(self, alias: str) -> Source | None:
        env: Env | None = self
        while env is not None:
            found = env.sources.get(alias.lower())
            if found is not None:
                return found
            env = env.parent
        return None


def union(deps: Iterable[Deps]) -> Deps:
    value: set[SourceColumn] = set()
    filt: set[SourceColumn] = set()
    volatile = False
    for d in deps:
        value |= d.value
        filt |= d.filter
        volatile = volatile or d.volatile
    return Deps(frozenset(value), frozenset(filt), "", volatile)


def structure(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb", normalize=True, comments=False)


# Meta keys: an output name as the query writes it (qualify lower-cases names, DuckDB
# keeps them as written), on an Alias; a column list as written, on what it renames.
WRITTEN = "assets_orch.written"
WRITTEN_COLUMNS = "assets_orch.written_columns"


def alias_columns(alias: exp.Expr | None) -> list[str]:
    """The column list of a FROM item or CTE (``t(a, b)``), as written."""
    if not isinstance(alias, exp.TableAlias):
        return []
    written = alias.parent.meta.get(WRITTEN_COLUMNS) if alias.parent is not None else None
    # qualify moves a derived table's or CTE's list into its projections: still renames
    return list(written) if written else [c.name for c in alias.columns]


def renamed(result: Result, alias: exp.Expr | None) -> Result:
    names = alias_columns(alias)
    if not names:
        return result
    cols = [
        Col(names[i] if i < len(names) else c.name, c.deps, c.named or i < len(names), c.type)
        for i, c in enumerate(result.cols)
    ]
    return Result(cols, result.rows, result.rows_fp, result.rows_volatile)
