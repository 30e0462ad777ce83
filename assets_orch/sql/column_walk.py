"""The walk behind column lineage: a qualified query -> every output column's upstream
columns, split into *value* and *filter* edges, and code fingerprints.

The input is a query that sqlglot's ``qualify`` has rewritten so that every column is
``alias.column`` and every ``*`` is expanded; real tables and files carry placeholder
names (``__src_0``) whose schemas are known. The walk goes scope by scope, the way the
query is evaluated: CTEs in order (a recursive one to a fixed point), FROM and JOIN
items left to right (so a lateral item sees the earlier ones), then the clauses.

Value and filter, per output column:

- **value**: columns its value is computed from, through CTEs and subqueries;
  arguments of aggregates and window functions; ``CASE`` conditions; the ORDER BY of a
  ranking window function (``rank``, ``row_number``, ``ntile``, ...), whose value *is*
  the ordering.
- **filter**: columns that decide which rows exist or which rows feed the value:
  ``WHERE``, ``JOIN ... ON``/``USING``, ``GROUP BY`` (``GROUP BY ALL``: the non-aggregate
  projections), ``HAVING``, ``QUALIFY``, ``DISTINCT``/``DISTINCT ON``, ``ORDER BY`` under
  ``LIMIT``/``OFFSET``, the comparison columns of ``UNION``/``INTERSECT``/``EXCEPT``,
  subqueries in those clauses, and the rows of every source (a CTE's own ``WHERE``).
  Per column also: an aggregate's ``FILTER (WHERE ...)``, a window's ``PARTITION BY``
  and (for non-ranking functions) ``ORDER BY``, and a scalar subquery's row filters.

Fingerprints are structural hashes of the expressions, with each column reference
replaced by the fingerprint of what it resolves to, so they do not depend on aliases
or formatting, and a column's fingerprint changes only when something its value is
computed from changes. The row fingerprint covers everything that decides the rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

if TYPE_CHECKING:
    from assets_orch.sql.columns import SourceColumn, SourceSchema

RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.PercentRank, exp.CumeDist)
VOLATILE_NODES = (
    exp.Rand,
    exp.Uuid,
    exp.CurrentDate,
    exp.CurrentTime,
    exp.CurrentTimestamp,
    exp.CurrentDatetime,
    exp.TableSample,
)
VOLATILE_NAMES = frozenset(
    {
        "now",
        "today",
        "random",
        "uuid",
        "gen_random_uuid",
        "uuidv7",
        "nextval",
        "currval",
        "setseed",
        "get_current_time",
        "get_current_timestamp",
        "current_localtime",
        "current_localtimestamp",
        "transaction_timestamp",
    }
)
EMPTY: frozenset[SourceColumn] = frozenset()


class Unresolved(Exception):
    """Column lineage cannot be computed exactly; the message says why."""


def digest(*parts: str) -> str:
    """A short stable hash of ``parts``."""
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()


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
class _Source:
    """A FROM item as seen from the scope that reads it."""

    identity: str
    result: Result


class _Env:
    """The sources visible in a scope: alias -> source, then the enclosing scopes."""

    def __init__(self, parent: _Env | None = None) -> None:
        self.parent = parent
        self.sources: dict[str, _Source] = {}
        self.projections: dict[str, Deps] = {}  # output aliases (ORDER BY may name them)

    def find(self, alias: str) -> _Source | None:
        env: _Env | None = self
        while env is not None:
            found = env.sources.get(alias.lower())
            if found is not None:
                return found
            env = env.parent
        return None


def _union(deps: Iterable[Deps]) -> Deps:
    value: set[SourceColumn] = set()
    filt: set[SourceColumn] = set()
    volatile = False
    for d in deps:
        value |= d.value
        filt |= d.filter
        volatile = volatile or d.volatile
    return Deps(frozenset(value), frozenset(filt), "", volatile)


def _as_filter(d: Deps) -> Deps:
    return Deps(EMPTY, d.all, d.fp, d.volatile)


class Walker:
    """Computes :class:`Result` for a qualified query. ``sources`` maps placeholder
    table names to their schemas; ``ref`` builds a :class:`SourceColumn`."""

    def __init__(self, sources: dict[str, SourceSchema], ref: type[SourceColumn]) -> None:
        self.sources = sources
        self.ref = ref

    # ---- queries ----------------------------------------------------------------------

    def query(self, node: exp.Expr, ctes: dict[str, Result], outer: _Env | None) -> Result:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = self._ctes(with_, ctes, outer)
        if isinstance(node, exp.Subquery):
            inner = self.query(node.this, ctes, outer)
            return self._limited(node, inner, ctes, outer)
        if isinstance(node, exp.Select):
            return self._select(node, ctes, outer)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, ctes, outer)
        if isinstance(node, exp.Values):
            return self._values(node)
        raise Unresolved(f"{node.key.upper()} is not supported for column lineage")

    def _ctes(
        self, with_: exp.With, ctes: dict[str, Result], outer: _Env | None
    ) -> dict[str, Result]:
        ctes = dict(ctes)
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = cte.alias_or_name.lower()
            body = cte.this
            if recursive and isinstance(body, exp.Union):
                ctes[name] = self._recursive(name, body, ctes, outer)
            else:
                ctes[name] = _renamed(self.query(body, ctes, outer), cte.args.get("alias"))
        return ctes

    def _recursive(
        self, name: str, body: exp.Union, ctes: dict[str, Result], outer: _Env | None
    ) -> Result:
        """Grow the CTE's lineage from its anchor until a step adds no edge."""
        scoped = dict(ctes)
        scoped[name] = self.query(body.left, ctes, outer)
        result = scoped[name]
        for _ in range(8):
            result = self.query(body, scoped, outer)
            before = [(c.deps.value, c.deps.filter) for c in scoped[name].cols]
            after = [(c.deps.value, c.deps.filter) for c in result.cols]
            scoped[name] = result
            if before == after:
                return result
        raise Unresolved(f"recursive CTE {name} did not settle")

    def _values(self, node: exp.Values) -> Result:
        fp = digest("values", _structure(node))
        names = _alias_columns(node.args.get("alias"))
        width = len(node.expressions[0].expressions) if node.expressions else 0
        names = names or [f"col{i}" for i in range(width)]
        return Result(
            [Col(n, Deps(fp=digest(fp, str(i)))) for i, n in enumerate(names)], rows_fp=fp
        )

    def _set_operation(
        self, node: exp.SetOperation, ctes: dict[str, Result], outer: _Env | None
    ) -> Result:
        left = self.query(node.left, ctes, outer)
        right = self.query(node.right, ctes, outer)
        kind = node.key
        distinct = bool(node.args.get("distinct")) or not isinstance(node, exp.Union)
        if node.args.get("by_name"):
            names = [c.name for c in left.cols]
            names += [c.name for c in right.cols if c.name.lower() not in left.by_name]
            pairs = [(left.by_name.get(n.lower()), right.by_name.get(n.lower())) for n in names]
        else:
            if len(left.cols) != len(right.cols):
                raise Unresolved(f"{kind.upper()} branches have different numbers of columns")
            names = [c.name for c in left.cols]
            pairs = list(zip(left.cols, right.cols, strict=True))
        cols: list[Col] = []
        compared: set[SourceColumn] = set()
        for name, (lcol, rcol) in zip(names, pairs, strict=True):
            ldeps = lcol.deps if lcol else Deps()
            rdeps = rcol.deps if rcol else Deps()
            if isinstance(node, exp.Union):
                value = ldeps.value | rdeps.value
                filt = ldeps.filter | rdeps.filter
            else:  # INTERSECT / EXCEPT keep left rows; the right side only filters
                value = ldeps.value
                filt = ldeps.filter | rdeps.all
            compared |= ldeps.all | rdeps.all
            fp = digest(kind, ldeps.fp, rdeps.fp)
            cols.append(
                Col(name, Deps(value, filt, fp, ldeps.volatile or rdeps.volatile), _named(lcol))
            )
        rows = left.rows | right.rows | (frozenset(compared) if distinct else EMPTY)
        rows_fp = digest(
            kind,
            str(distinct),
            str(bool(node.args.get("by_name"))),
            left.rows_fp,
            right.rows_fp,
            *([c.deps.fp for c in cols] if distinct else []),
        )
        result = Result(cols, rows, rows_fp, left.rows_volatile or right.rows_volatile)
        return self._limited(node, result, ctes, outer)

    def _limited(
        self, node: exp.Expr, result: Result, ctes: dict[str, Result], outer: _Env | None
    ) -> Result:
        """Apply a set operation's or parenthesized query's own ORDER BY / LIMIT."""
        limit = node.args.get("limit") or node.args.get("offset")
        if not limit:
            return result
        env = _Env(outer)
        env.projections = {c.name.lower(): c.deps for c in result.cols}
        order = node.args.get("order")
        deps = [self.expr(order, env, ctes)] if order else []
        return Result(
            result.cols,
            result.rows | _union(deps).all,
            digest("limit", result.rows_fp, _structure(limit), *(d.fp for d in deps)),
            result.rows_volatile or not order,
        )

    # ---- SELECT -----------------------------------------------------------------------

    def _select(self, node: exp.Select, ctes: dict[str, Result], outer: _Env | None) -> Result:
        env = _Env(outer)
        rows: set[SourceColumn] = set()
        parts: list[str] = []
        volatile = False
        from_ = node.args.get("from_")
        items: list[tuple[exp.Join | None, exp.Expr]] = []
        if isinstance(from_, exp.From):
            items.append((None, from_.this))
        items += [(j, j.this) for j in node.args.get("joins") or []]
        for join, item in items:
            source = self._source(item, env, ctes)
            rows |= source.result.rows
            volatile = volatile or source.result.rows_volatile
            if join is None:
                parts.append(f"from:{source.identity}")
                continue
            kind = " ".join(str(join.args.get(k) or "") for k in ("method", "side", "kind")).strip()
            on = join.args.get("on")
            cond = self.expr(on, env, ctes) if on is not None else Deps()
            using = [self._using(u, env, join) for u in join.args.get("using") or []]
            cond = _union([cond, *using]) if using else cond
            rows |= cond.all
            volatile = volatile or cond.volatile
            parts.append(
                f"join:{kind}:{source.identity}:{self._fp(on, env, ctes)}:"
                + ",".join(d.fp for d in using)
            )
        cols: list[Col] = []
        aggregate = False
        for projection in node.selects:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
            ):
                raise Unresolved("a * could not be expanded (a source's columns are unknown)")
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            deps = self.expr(inner, env, ctes)
            aggregate = aggregate or _has_aggregate(inner)
            cols.append(Col(projection.alias_or_name, deps, _is_named(projection)))
            env.projections.setdefault(projection.alias_or_name.lower(), deps)
        for key in ("where", "having", "qualify"):
            clause = node.args.get(key)
            if clause is not None:
                deps = self.expr(clause, env, ctes)
                rows |= deps.all
                volatile = volatile or deps.volatile
                parts.append(f"{key}:{deps.fp}")
        group = node.args.get("group")
        if group is not None:
            if group.args.get("all"):
                keys = [
                    c.deps for c, p in zip(cols, node.selects, strict=True) if not _has_aggregate(p)
                ]
                deps = _union(keys)
                parts.append("group:all:" + ",".join(d.fp for d in keys))
            else:
                deps = self.expr(group, env, ctes)
                parts.append(f"group:{deps.fp}")
            rows |= deps.all
        elif aggregate:
            parts.append("aggregate")
        distinct = node.args.get("distinct")
        distinct_on = isinstance(distinct, exp.Distinct) and distinct.args.get("on") is not None
        if isinstance(distinct, exp.Distinct):
            on = distinct.args.get("on")
            if on is not None:
                deps = self.expr(on, env, ctes)
                parts.append(f"distinct-on:{deps.fp}")
            else:
                deps = _union(c.deps for c in cols)
                parts.append("distinct:" + ",".join(c.deps.fp for c in cols))
            rows |= deps.all
        limit = node.args.get("limit") or node.args.get("offset")
        if limit is not None or distinct_on:
            # ORDER BY decides which rows are kept under LIMIT or DISTINCT ON.
            order = node.args.get("order")
            deps = self.expr(order, env, ctes) if order is not None else Deps()
            rows |= deps.all
            volatile = volatile or order is None
            limit_text = _structure(limit) if limit is not None else ""
            parts.append(f"limit:{limit_text}:{deps.fp}")
        if node.find(exp.TableSample) is not None:
            volatile = True
        return Result(cols, frozenset(rows), digest("select", *parts), volatile)

    def _using(self, ident: exp.Expr, env: _Env, join: exp.Join) -> Deps:
        """A USING column left unconverted reads the column on both sides."""
        name = ident.name.lower()
        found = [
            s.result.by_name[name].deps for s in env.sources.values() if name in s.result.by_name
        ]
        if not found:
            raise Unresolved(f"USING column {ident.name} is in no source")
        merged = _union(found)
        return Deps(merged.value, merged.filter, digest("using", *(d.fp for d in found)))

    def _source(self, item: exp.Expr, env: _Env, ctes: dict[str, Result]) -> _Source:
        """Register a FROM/JOIN item under its alias; return it."""
        alias = item.alias_or_name
        if isinstance(item, exp.Table):
            source = self._table(item, env, ctes)
            pivots = item.args.get("pivots") or []
            for pivot in pivots:
                source = self._pivot(pivot, source, alias, env, ctes)
                alias = pivot.alias or alias
        elif isinstance(item, exp.Subquery):
            result = _renamed(self.query(item.this, ctes, env), item.args.get("alias"))
            result = self._limited(item, result, ctes, env) if item.this is not item else result
            source = _Source(f"derived:{result.rows_fp}", result)
        elif isinstance(item, exp.Unnest):
            source = self._unnest(item, env, ctes)
        elif isinstance(item, exp.Lateral):
            inner = item.this
            result = _renamed(
                self.query(inner.this if isinstance(inner, exp.Subquery) else inner, ctes, env),
                item.args.get("alias"),
            )
            source = _Source(f"lateral:{result.rows_fp}", result)
        elif isinstance(item, exp.Values):
            result = self._values(item)
            source = _Source(f"values:{result.rows_fp}", result)
        else:
            raise Unresolved(f"FROM item {item.sql(dialect='duckdb')[:60]} is not supported")
        env.sources[alias.lower()] = source
        return source

    def _table(self, item: exp.Table, env: _Env, ctes: dict[str, Result]) -> _Source:
        this = item.this
        if isinstance(this, exp.Identifier):
            name = this.name
            if not item.args.get("db") and not item.args.get("catalog"):
                schema = self.sources.get(name)
                if schema is not None:
                    return self._real(schema, item)
                if name.lower() in ctes:
                    return _Source(f"cte:{ctes[name.lower()].rows_fp}", ctes[name.lower()])
            raise Unresolved(f"table {item.sql(dialect='duckdb')} has no known schema")
        if isinstance(this, exp.Func):
            # A table function that reads no file (range, generate_series, ...): its
            # columns come from nothing upstream.
            fp = digest("function", _structure(this))
            names = _alias_columns(item.args.get("alias"))
            if not names:
                raise Unresolved(
                    f"table function {this.sql(dialect='duckdb')[:60]} has no column list"
                )
            cols = [Col(n, Deps(fp=digest(fp, n))) for n in names]
            return _Source(f"function:{fp}", Result(cols, rows_fp=fp))
        raise Unresolved(f"FROM item {item.sql(dialect='duckdb')[:60]} is not supported")

    def _real(self, schema: SourceSchema, item: exp.Table) -> _Source:
        cols = []
        renamed = _alias_columns(item.args.get("alias"))
        for i, column in enumerate(schema.columns):
            ref = self.ref(schema.kind, schema.name, column)
            name = renamed[i] if i < len(renamed) else column
            fp = digest("src", schema.kind, schema.name, column.lower())
            cols.append(Col(name, Deps(frozenset({ref}), EMPTY, fp)))
        rows_fp = digest("source", schema.kind, schema.name)
        return _Source(rows_fp, Result(cols, rows_fp=rows_fp))

    def _unnest(self, item: exp.Unnest, env: _Env, ctes: dict[str, Result]) -> _Source:
        args = [self.expr(e, env, ctes) for e in item.expressions]
        names = _alias_columns(item.args.get("alias")) or ["unnest"]
        if len(args) == 1 and len(names) > 1:
            args = args * len(names)  # unnesting a struct list into several columns
        if len(names) != len(args):
            raise Unresolved("UNNEST with a column list of another length")
        fp = digest("unnest", *(d.fp for d in args))
        cols = [
            Col(n, Deps(d.value, d.filter, digest(fp, n), d.volatile))
            for n, d in zip(names, args, strict=True)
        ]
        return _Source(f"unnest:{fp}", Result(cols, rows_fp=fp))

    def _pivot(
        self, pivot: exp.Pivot, source: _Source, alias: str, env: _Env, ctes: dict[str, Result]
    ) -> _Source:
        """``FROM t PIVOT (agg(x) FOR k IN (...))``: the other columns group the rows."""
        if pivot.unpivot:
            raise Unresolved("UNPIVOT is not supported for column lineage")
        inner = source.result
        outputs = pivot.output_columns([c.name for c in inner.cols])
        if not outputs:
            raise Unresolved("PIVOT without an IN list: its columns depend on the data")
        scope = _Env(env)
        scope.sources["__pivot_input"] = source
        scope.sources[alias.lower()] = source
        fields = [_qualified(f, "__pivot_input") for f in pivot.fields]
        keys = _union(
            self.expr(f.this if isinstance(f, exp.In) else f, scope, ctes) for f in fields
        )
        aggs = [_qualified(a, "__pivot_input") for a in pivot.expressions]
        values = _union(
            self.expr(a.this if isinstance(a, exp.Alias) else a, scope, ctes) for a in aggs
        )
        fp = digest("pivot", _structure(pivot))
        out: list[Col] = []
        group: list[Deps] = []
        for name, pre in outputs.items():
            kept = inner.by_name.get(pre.lower())
            if kept is not None:
                out.append(Col(name, kept.deps))
                group.append(kept.deps)
            else:
                deps = Deps(
                    values.value, values.filter | keys.all, digest(fp, pre), values.volatile
                )
                out.append(Col(name, deps))
        rows = inner.rows | _union(group).all
        return _Source(f"pivot:{fp}", Result(out, frozenset(rows), digest(fp, inner.rows_fp)))

    # ---- expressions ------------------------------------------------------------------

    def expr(self, node: exp.Expr, env: _Env, ctes: dict[str, Result]) -> Deps:
        """The columns ``node`` reads (not crossing into other scopes), with its fingerprint."""
        return self._walk(node, env, ctes, frozenset())

    def _fp(self, node: exp.Expr | None, env: _Env, ctes: dict[str, Result]) -> str:
        return "" if node is None else self.expr(node, env, ctes).fp

    def _walk(
        self, node: exp.Expr, env: _Env, ctes: dict[str, Result], lambdas: frozenset[str]
    ) -> Deps:
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise Unresolved("a * could not be expanded (a source's columns are unknown)")
            return self._column(node, env, lambdas)
        if isinstance(node, exp.Window):
            return self._window(node, env, ctes, lambdas)
        if isinstance(node, exp.Filter):
            agg = self._walk(node.this, env, ctes, lambdas)
            where = self._walk(node.expression, env, ctes, lambdas)
            return Deps(
                agg.value,
                agg.filter | where.all,
                digest("filter", agg.fp, where.fp),
                agg.volatile or where.volatile,
            )
        if isinstance(node, exp.Exists):
            sub = self.query(_query_of(node.this), ctes, env)
            return Deps(EMPTY, _all_of(sub), digest("exists", _fp_of(sub)), sub.rows_volatile)
        if isinstance(node, exp.Subquery) or isinstance(node, exp.Query):
            sub = self.query(node, ctes, env)
            value = frozenset().union(*(c.deps.value for c in sub.cols))
            filt = frozenset().union(*(c.deps.filter for c in sub.cols)) | sub.rows
            volatile = sub.rows_volatile or any(c.deps.volatile for c in sub.cols)
            return Deps(value, filt, digest("subquery", _fp_of(sub)), volatile)
        if isinstance(node, exp.Lambda):
            params = frozenset(e.name.lower() for e in node.expressions)
            body = self._walk(node.this, env, ctes, lambdas | params)
            return Deps(
                body.value, body.filter, digest("lambda", *sorted(params), body.fp), body.volatile
            )
        if isinstance(node, exp.Columns):
            raise Unresolved("COLUMNS(...) could not be expanded")
        children = [(k, v) for k, v in node.args.items() if v is not None]
        parts = [node.key]
        deps: list[Deps] = []
        volatile = isinstance(node, VOLATILE_NODES) or (
            isinstance(node, exp.Anonymous) and str(node.name).lower() in VOLATILE_NAMES
        )
        for key, value in children:
            if isinstance(value, exp.Expr):
                d = self._walk(value, env, ctes, lambdas)
                deps.append(d)
                parts.append(f"{key}={d.fp}")
            elif isinstance(value, list):
                items = [
                    self._walk(v, env, ctes, lambdas) for v in value if isinstance(v, exp.Expr)
                ]
                deps += items
                parts.append(f"{key}=[{','.join(d.fp for d in items)}]")
            else:
                parts.append(f"{key}={value!r}")
        merged = _union(deps)
        return Deps(merged.value, merged.filter, digest(*parts), merged.volatile or volatile)

    def _column(self, node: exp.Column, env: _Env, lambdas: frozenset[str]) -> Deps:
        table = node.table
        name = node.name.lower()
        if not table:
            if name in lambdas:
                return Deps(fp=digest("lambda-var", name))
            found = env.projections.get(name)
            if found is not None:  # ORDER BY an output alias
                return found
            raise Unresolved(f"column {node.name} could not be resolved")
        source = env.find(table)
        if source is None:
            raise Unresolved(f"column {node.sql(dialect='duckdb')} names no source")
        col = source.result.by_name.get(name)
        if col is None:
            raise Unresolved(f"column {node.sql(dialect='duckdb')} is not in its source")
        deps = col.deps
        parts = [p for p in node.parts[2:]] if len(node.parts) > 2 else []
        if parts:  # struct field access: a.b.c
            return Deps(
                deps.value, deps.filter, digest(deps.fp, *(p.name for p in parts)), deps.volatile
            )
        return deps

    def _window(
        self, node: exp.Window, env: _Env, ctes: dict[str, Result], lambdas: frozenset[str]
    ) -> Deps:
        func = self._walk(node.this, env, ctes, lambdas)
        partition = _union(
            self._walk(p, env, ctes, lambdas) for p in node.args.get("partition_by") or []
        )
        order_node = node.args.get("order")
        order = self._walk(order_node, env, ctes, lambdas) if order_node is not None else Deps()
        ranking = isinstance(node.this, RANKING)
        value = func.value | (order.value if ranking else EMPTY)
        filt = func.filter | partition.all | (order.filter if ranking else order.all)
        spec = node.args.get("spec")
        fp = digest(
            "window",
            func.fp,
            ",".join(
                self._walk(p, env, ctes, lambdas).fp for p in node.args.get("partition_by") or []
            ),
            order.fp,
            _structure(spec) if spec is not None else "",
        )
        volatile = func.volatile or partition.volatile or order.volatile
        return Deps(value, filt, fp, volatile)


# ---- helpers --------------------------------------------------------------------------


def _structure(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb", normalize=True, comments=False)


def _alias_columns(alias: exp.Expr | None) -> list[str]:
    if isinstance(alias, exp.TableAlias):
        return [c.name for c in alias.columns]
    return []


def _renamed(result: Result, alias: exp.Expr | None) -> Result:
    names = _alias_columns(alias)
    if not names:
        return result
    cols = [
        Col(names[i] if i < len(names) else c.name, c.deps, c.named or i < len(names))
        for i, c in enumerate(result.cols)
    ]
    return Result(cols, result.rows, result.rows_fp, result.rows_volatile)


def _named(col: Col | None) -> bool:
    return col.named if col is not None else True


def _is_named(projection: exp.Expr) -> bool:
    if isinstance(projection, exp.Alias):
        # qualify aliases unnamed expressions as _col_N; DuckDB names them otherwise.
        return not (
            projection.alias.startswith("_col_") and not isinstance(projection.this, exp.Column)
        )
    return isinstance(projection, exp.Column)


def _has_aggregate(node: exp.Expr) -> bool:
    for found in node.find_all(exp.AggFunc):
        if not _inside(found, exp.Window, node) and not _inside(found, exp.Query, node):
            return True
    return False


def _inside(node: exp.Expr, kind: type[exp.Expr], stop: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop:
        if isinstance(parent, kind):
            return True
        parent = parent.parent
    return False


def _query_of(node: exp.Expr) -> exp.Expr:
    return node


def _all_of(result: Result) -> frozenset[SourceColumn]:
    return result.rows.union(*(c.deps.all for c in result.cols))


def _fp_of(result: Result) -> str:
    return digest(result.rows_fp, *(c.deps.fp for c in result.cols))


def _qualified(node: exp.Expr, alias: str) -> exp.Expr:
    """A copy of ``node`` whose unqualified columns name ``alias``."""
    copy = node.copy()
    for column in list(copy.find_all(exp.Column)):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return copy


def iter_columns(result: Result) -> Iterator[Col]:
    yield from result.cols
