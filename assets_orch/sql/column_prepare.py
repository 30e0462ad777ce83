"""Preparing and qualifying a query for column lineage (imports sqlglot; see columns.py).

Real tables and files are replaced by placeholder names before sqlglot qualifies the
query, so that files (``read_csv(...)``) and tables of any qualification depth share one
flat schema. ``COLUMNS(...)`` is expanded scope by scope, innermost first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError

from assets_orch.sql.column_rewrite import rewrite
from assets_orch.sql.column_scope import WRITTEN, WRITTEN_COLUMNS, Result, Unresolved, digest
from assets_orch.sql.column_walk import Walker
from assets_orch.sql.columns import (
    LINEAGE_VERSION,
    OutputColumn,
    QueryLineage,
    SourceColumn,
    SourceRef,
    SourceSchema,
)
from assets_orch.sql.fingerprint import canonicalize
from assets_orch.sql.parse import quiet_sqlglot
from assets_orch.sql.upstreams import FILE_FUNCTIONS, literal_paths, looks_like_file

PLACEHOLDER = "__src_{}"
_PLACEHOLDER = re.compile(r"__src_\d+")
_COLUMNS_ROUNDS = 8


@dataclass
class Prepared:
    """A parsed DuckDB query with its real tables and files replaced by placeholders."""

    expression: exp.Expr | None
    refs: tuple[SourceRef, ...]
    placeholders: dict[str, SourceRef] = field(default_factory=dict)
    error: str | None = None
    source: str | None = None  # the SQL it was prepared from
    _used: bool = False  # the expression was qualified in place by a first lineage

    def _tree(self) -> exp.Expr:
        """A tree to qualify in place: the prepared one the first time, then a fresh
        parse (with sqlglotc, parsing a query costs a third of copying its tree)."""
        assert self.expression is not None
        if not self._used or self.source is None:
            self._used = True
            return self.expression if self.source is not None else self.expression.copy()
        again = _prepare(self.source).expression
        assert again is not None
        return again

    def lineage(self, schemas: Mapping[str, SourceSchema]) -> QueryLineage:
        """The lineage against ``schemas`` (by :attr:`SourceRef.key`)."""
        if self.expression is None:
            return QueryLineage.gap(self.error or "the query could not be parsed")
        missing = [r.key for r in self.refs if r.key not in schemas]
        if missing:
            return QueryLineage.gap("schema unknown: " + ", ".join(sorted(missing)))
        by_placeholder = {p: schemas[r.key] for p, r in self.placeholders.items()}
        try:
            with _QUALIFY_LOCK, quiet_sqlglot():
                qualified = _qualify(self._tree(), by_placeholder)
                result = Walker(by_placeholder, SourceColumn).query(qualified, {}, None)
        except Unresolved as e:
            return self._gap(str(e))
        except OptimizeError as e:
            return self._gap(_first_line(e))
        except (SqlglotError, RecursionError) as e:
            return self._gap(f"cannot analyze: {_first_line(e)}")
        except Exception as e:  # noqa: BLE001 - sqlglot's own assertions on shapes it
            # does not know (a PIVOT statement in a subquery): a gap, never a crash
            return self._gap(f"cannot analyze: {type(e).__name__}: {_first_line(e)[:120]}")
        sources = tuple(sorted({(s.kind, s.name) for s in by_placeholder.values()}))
        return _lineage(result, sources)

    def _gap(self, reason: str) -> QueryLineage:
        """A gap whose reason names tables as written, not by their placeholders."""
        return QueryLineage.gap(_PLACEHOLDER.sub(lambda m: self._written(m.group(0)), reason))

    def _written(self, placeholder: str) -> str:
        ref = self.placeholders.get(placeholder)
        return placeholder if ref is None else ref.key


def prepare_query(sql: str) -> Prepared:
    """Parse DuckDB ``sql`` and list the tables and files whose schemas lineage needs."""
    try:
        with quiet_sqlglot():
            return _prepare(sql)
    except (ParseError, SqlglotError, RecursionError) as e:
        return Prepared(None, (), error=f"cannot parse: {_first_line(e)}")
    except Exception as e:  # noqa: BLE001 - lineage never crashes (see Prepared.lineage)
        error = f"cannot parse: {type(e).__name__}: {_first_line(e)[:120]}"
        return Prepared(None, (), error=error)


def _prepare(sql: str) -> Prepared:
    import sqlglot

    # Canonical like code fingerprints: formatting never changes a column's fingerprint.
    expression = rewrite(canonicalize(sqlglot.parse_one(sql, read="duckdb")))
    _keep_written_names(expression)
    refs: dict[str, SourceRef] = {}
    placeholders: dict[str, SourceRef] = {}
    for table in _real_tables(expression):
        ref, alias = _source_ref(table)
        if ref is None:
            continue
        refs.setdefault(ref.key, ref)
        name = PLACEHOLDER.format(len(placeholders))
        placeholders[name] = ref
        table.set("this", exp.to_identifier(name))
        table.set("db", None)
        table.set("catalog", None)
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    ordered = tuple(sorted(refs.values(), key=lambda r: (r.kind, r.key)))
    return Prepared(expression, ordered, placeholders, source=sql)


# ---- preparing ------------------------------------------------------------------------


def _keep_written_names(expression: exp.Expr) -> None:
    """Remember output names as written: qualify lower-cases every name, while DuckDB
    names a column as its alias or column list spells it (``AS "Revenue"``, ``AS Gross``)."""
    for node in expression.find_all(exp.Alias, exp.TableAlias):
        if isinstance(node, exp.Alias):
            if node.alias:
                node.meta[WRITTEN] = node.alias
        elif isinstance(node, exp.TableAlias) and node.columns and node.parent is not None:
            node.parent.meta[WRITTEN_COLUMNS] = [c.name for c in node.columns]


def _real_tables(expression: exp.Expr) -> list[exp.Table]:
    """FROM items that read a real table or a file (CTE references excluded)."""
    from assets_orch.sql.upstreams import table_nodes

    return [t for t, is_cte in table_nodes(expression) if not is_cte]


def _source_ref(table: exp.Table) -> tuple[SourceRef | None, str]:
    this = table.this
    if isinstance(this, exp.Func):
        name = _function_name(this)
        if name not in FILE_FUNCTIONS:
            return None, ""
        paths = literal_paths(this)
        item = table.copy()
        item.set("alias", None)
        item.set("pivots", None)
        return SourceRef("file", item.sql(dialect="duckdb"), paths), name
    if not isinstance(this, exp.Identifier):
        return None, ""
    parts = [table.args.get("catalog"), table.args.get("db"), this]
    names = [p.name if p.quoted else p.name.lower() for p in parts if isinstance(p, exp.Identifier)]
    if len(names) == 1 and this.quoted and looks_like_file(this.name):
        stem = re.split(r"[\\/]", this.name)[-1].split(".")[0]
        return SourceRef("file", _quote_literal(this.name), (this.name,)), stem
    return SourceRef("table", ".".join(names).lower(), parts=tuple(names)), this.name


def _function_name(func: exp.Func) -> str:
    if isinstance(func, exp.Anonymous):
        return str(func.name).lower()
    return func.sql_name().lower()


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---- qualifying -----------------------------------------------------------------------

# sqlglot's optimizer keeps no global state we rely on, but a lock keeps memory bounded
# when worker threads compute lineage at the same time.
_QUALIFY_LOCK = threading.Lock()


def _qualify(expression: exp.Expr, schemas: Mapping[str, SourceSchema]) -> exp.Expr:
    """Qualify every column and expand every star, COLUMNS(...) included."""
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    mapping = MappingSchema(
        {name: {c: "UNKNOWN" for c in s.columns} for name, s in schemas.items()},
        dialect="duckdb",
        normalize=True,
    )
    _expand_unpivot_columns(expression, schemas)
    for _ in range(_COLUMNS_ROUNDS):
        marked = _mark_columns(expression)
        # ``expression`` is the caller's own copy: qualify it in place unless a
        # COLUMNS(...) must be expanded in it afterwards.
        qualified = qualify(
            expression.copy() if marked else expression,
            schema=mapping,
            dialect="duckdb",
            # The walk refuses a column qualify could not resolve (an unknown or
            # ambiguous name); sqlglot's own check costs a third of qualify.
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        if not marked:
            return qualified
        if not _expand_first_columns(expression, qualified, mapping, schemas):
            raise Unresolved("COLUMNS(...) could not be expanded")
    raise Unresolved("COLUMNS(...) nested too deeply")


def _expand_unpivot_columns(expression: exp.Expr, schemas: Mapping[str, SourceSchema]) -> None:
    """``UNPIVOT t ON COLUMNS(* EXCLUDE (k))``: the columns of a table are known."""
    for node in list(expression.find_all(exp.Columns)):
        pivot = node.find_ancestor(exp.Pivot)
        table = pivot.parent if pivot is not None else None
        if not (pivot is not None and pivot.unpivot and isinstance(table, exp.Table)):
            continue
        schema = schemas.get(table.name)
        if schema is None:
            continue
        available = [("", c.lower(), c) for c in schema.columns]
        columns = [exp.column(c) for _, _, c in _match_columns(node, available)]
        parent = node.parent
        if isinstance(parent, exp.In) and columns:
            index = parent.expressions.index(node)
            parent.set(
                "expressions",
                parent.expressions[:index] + columns + parent.expressions[index + 1 :],
            )


def _mark_columns(expression: exp.Expr) -> bool:
    found = False
    for index, node in enumerate(expression.find_all(exp.Columns)):
        node.meta["columns_id"] = index
        found = True
    return found


def _expand_first_columns(
    original: exp.Expr, qualified: exp.Expr, mapping: Any, schemas: Mapping[str, SourceSchema]
) -> bool:
    """Expand the COLUMNS(...) of the innermost scope that has one, in ``original``.

    In the qualified copy, that scope's sources are fully expanded (any COLUMNS below it
    would have come first), so the columns it can see are exact.
    """
    from sqlglot.optimizer.scope import traverse_scope

    for scope in traverse_scope(qualified):
        if not isinstance(scope.expression, exp.Select):
            continue
        select = scope.expression
        targets = [p for p in select.selects if p.find(exp.Columns)]
        if not targets:
            continue
        available = _visible_columns(scope, mapping, schemas)
        originals = {n.meta.get("columns_id"): n for n in original.find_all(exp.Columns)}
        for projection in targets:
            target = projection.find(exp.Columns)
            assert target is not None
            source = originals.get(target.meta.get("columns_id"))
            outer: exp.Expr | None = source
            while (
                outer is not None
                and outer.parent is not None
                and not isinstance(outer.parent, exp.Select)
            ):
                outer = outer.parent
            if source is None or outer is None:
                return False
            owner = outer.parent
            assert isinstance(owner, exp.Select)
            chosen = _match_columns(target, available)
            expanded: list[exp.Expr] = []
            for table, column, written in chosen:
                ref = exp.column(column, table=table)
                if isinstance(outer, exp.Columns):
                    expanded.append(exp.alias_(ref, column))
                    continue
                replacement = outer.copy()
                for found in list(replacement.find_all(exp.Columns)):
                    found.replace(ref.copy())
                if isinstance(replacement, exp.Alias):
                    # DuckDB reads the alias as a pattern: \0 the column, \1 a group
                    name = _columns_alias(replacement.alias, target.this, written)
                    replacement.set("alias", exp.to_identifier(name, quoted=True))
                else:
                    name = written  # max(COLUMNS(*)) is named by each column
                    replacement = exp.alias_(replacement, column)
                replacement.meta[WRITTEN] = name
                expanded.append(replacement)
            position = owner.expressions.index(outer)
            owner.set(
                "expressions",
                owner.expressions[:position] + expanded + owner.expressions[position + 1 :],
            )
        return True
    return False


def _visible_columns(
    scope: Any, mapping: Any, schemas: Mapping[str, SourceSchema]
) -> list[tuple[str, str, str]]:
    """(alias, column, name as written) of every column a ``*`` in ``scope`` would
    produce, in order: qualify lower-cases names, DuckDB matches COLUMNS('regex') and
    names its columns with their own case."""
    from sqlglot.optimizer.resolver import Resolver

    resolver = Resolver(scope, mapping)
    out: list[tuple[str, str, str]] = []
    for alias in scope.selected_sources:
        source = scope.sources.get(alias)
        written: dict[str, str] = {}
        if isinstance(source, exp.Table) and source.name in schemas:
            written = {c.lower(): c for c in schemas[source.name].columns}
        elif isinstance(getattr(source, "expression", None), exp.Select):
            for projection in source.expression.selects:
                name = projection.meta.get(WRITTEN)
                if name is not None and name.lower() == projection.alias_or_name.lower():
                    written[name.lower()] = name
        for column in resolver.get_source_columns(alias):
            out.append((alias, column, written.get(column.lower(), column)))
    return out


_BACKREFERENCE = re.compile(r"\\(\d|\\)")


def _columns_alias(template: str, pattern: exp.Expr, column: str) -> str:
    r"""The name DuckDB gives ``COLUMNS(...) AS 'template'`` for ``column``: ``\0`` is
    the column's name, ``\1``... the groups of a regular expression, ``\\`` a backslash.

    >>> _columns_alias("quarter_\\1", exp.Literal.string("q(\\d)"), "q3")
    'quarter_3'
    >>> _columns_alias("c_\\0", exp.Star(), "Q4"), _columns_alias("total", exp.Star(), "q1")
    ('c_Q4', 'total')
    """
    regex = pattern.this if isinstance(pattern, exp.Literal) and pattern.is_string else None
    match = re.search(regex, column) if regex is not None else None

    def group(found: re.Match[str]) -> str:
        token = found.group(1)
        if token == "\\":
            return "\\"
        if token == "0":
            return column
        if match is None or int(token) > (match.re.groups or 0):
            raise Unresolved(f"COLUMNS(...) AS '{template}' names a group that does not exist")
        return match.group(int(token)) or ""

    return _BACKREFERENCE.sub(group, template)


def _match_columns(
    node: exp.Columns, available: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    pattern = node.this
    if isinstance(pattern, exp.Star):
        excluded = {e.name.lower() for e in pattern.args.get("except_") or []}
        return [a for a in available if a[1].lower() not in excluded]
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        regex = re.compile(pattern.this)  # case-sensitive, as in DuckDB
        return [a for a in available if regex.search(a[2])]
    if isinstance(pattern, exp.Array):
        wanted = {e.name.lower() for e in pattern.expressions}
        return [a for a in available if a[1].lower() in wanted]
    raise Unresolved(f"COLUMNS({pattern.sql(dialect='duckdb')}) cannot be expanded statically")


# ---- result ---------------------------------------------------------------------------


def _lineage(result: Result, sources: tuple[tuple[str, str], ...]) -> QueryLineage:
    rows = result.rows
    sorted_rows = _sorted(rows)
    columns = []
    for col in result.cols:
        deps = col.deps
        # Most filters are the rows' (a WHERE, the grouping): sort those once.
        filt = sorted_rows if deps.filter <= rows else _sorted(deps.filter | rows)
        columns.append(
            OutputColumn(
                name=col.name,
                value=_sorted(deps.value),
                filter=filt,
                fingerprint=digest(LINEAGE_VERSION, deps.fp),
                volatile=deps.volatile,
                named=col.named,
            )
        )
    return QueryLineage(
        columns=tuple(columns),
        rows=sorted_rows,
        rows_fingerprint=digest(LINEAGE_VERSION, result.rows_fp),
        rows_volatile=result.rows_volatile,
        sources=sources,
    )


_ORDER = attrgetter("kind", "source", "column")  # SourceColumn's order, compared in C


def _sorted(refs: frozenset[SourceColumn]) -> tuple[SourceColumn, ...]:
    return tuple(sorted(refs, key=_ORDER))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
