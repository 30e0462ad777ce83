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
  and (for non-ranking functions) ``ORDER BY``, inline or from the ``WINDOW`` clause,
  and a scalar subquery's row filters.

Fingerprints are structural hashes of the expressions, with each column reference
replaced by the fingerprint of what it resolves to, so they do not depend on aliases
or formatting, and a column's fingerprint changes only when something its value is
computed from changes. The row fingerprint covers everything that decides the rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from assets_orch.sql.column_scope import (
    EMPTY,
    Col,
    Deps,
    Env,
    Result,
    Unresolved,
    alias_columns,
    digest,
    renamed,
    structure,
    union,
)
from assets_orch.sql.column_select import (
    is_all,
    limits,
    one_column,
    output_name,
    positional,
    positions,
    samples,
    source_col,
    window_definition,
)
from assets_orch.sql.column_sources import from_item, using_column

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


class Walker:
    """Computes :class:`Result` for a qualified query. ``sources`` maps placeholder
    table names to their schemas; ``ref`` builds a :class:`SourceColumn`."""

    def __init__(self, sources: dict[str, SourceSchema], ref: type[SourceColumn]) -> None:
        self.sources = sources
        self.ref = ref

    # ---- queries ----------------------------------------------------------------------

    def query(self, node: exp.Expr, ctes: dict[str, Result], outer: Env | None) -> Result:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = self._ctes(with_, ctes, outer)
        if isinstance(node, exp.Subquery):
            inner = self.query(node.this, ctes, outer)
            return self.limited(node, inner, ctes, outer)
        if isinstance(node, exp.Select):
            return self._select(node, ctes, outer)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, ctes, outer)
        if isinstance(node, exp.Values):
            return self.values(node)
        if isinstance(node, exp.Pivot) and not node.unpivot:  # the rewrite left it
            raise Unresolved("PIVOT without an IN list: its columns depend on the data")
        if isinstance(node, exp.Table):  # FROM (SHOW TABLES), as sqlglot reads it
            raise Unresolved("FROM (SHOW ...) reads the catalog: not supported for column lineage")
        raise Unresolved(f"{node.key.upper()} is not supported for column lineage")

    def _ctes(
        self, with_: exp.With, ctes: dict[str, Result], outer: Env | None
    ) -> dict[str, Result]:
        ctes = dict(ctes)
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = cte.alias_or_name.lower()
            body = cte.this
            if recursive and isinstance(body, exp.Union):
                ctes[name] = self._recursive(name, body, ctes, outer)
            else:
                ctes[name] = renamed(self.query(body, ctes, outer), cte.args.get("alias"))
        return ctes

    def _recursive(
        self, name: str, body: exp.Union, ctes: dict[str, Result], outer: Env | None
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

    def values(self, node: exp.Values) -> Result:
        fp = digest("values", structure(node))
        names = alias_columns(node.args.get("alias"))
        width = len(node.expressions[0].expressions) if node.expressions else 0
        names = names or [f"col{i}" for i in range(width)]
        return Result(
            [Col(n, Deps(fp=digest(fp, str(i)))) for i, n in enumerate(names)], rows_fp=fp
        )

    def _set_operation(
        self, node: exp.SetOperation, ctes: dict[str, Result], outer: Env | None
    ) -> Result:
        left = self.query(node.left, ctes, outer)
        right = self.query(node.right, ctes, outer)
        kind = node.key
        distinct = bool(node.args.get("distinct"))  # UNION / EXCEPT / INTERSECT without ALL
        compared_rows = distinct or not isinstance(node, exp.Union)
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
        rows = left.rows | right.rows | (frozenset(compared) if compared_rows else EMPTY)
        rows_fp = digest(
            kind,
            str(distinct),
            str(bool(node.args.get("by_name"))),
            left.rows_fp,
            right.rows_fp,
            *([c.deps.fp for c in cols] if compared_rows else []),
        )
        result = Result(cols, rows, rows_fp, left.rows_volatile or right.rows_volatile)
        return self.limited(node, result, ctes, outer)

    def limited(
        self, node: exp.Expr, result: Result, ctes: dict[str, Result], outer: Env | None
    ) -> Result:
        """Apply a set operation's or parenthesized query's own ORDER BY / LIMIT / OFFSET."""
        if not limits(node):
            return result
        env = Env(outer)
        env.projections = {c.name.lower(): c.deps for c in result.cols}
        order = node.args.get("order")
        deps = self._order(order, env, ctes, result.cols) if order is not None else Deps()
        return Result(
            result.cols,
            result.rows | deps.all,
            digest("limit", result.rows_fp, limits(node), deps.fp),
            result.rows_volatile or order is None,
        )

    def _order(self, order: exp.Expr, env: Env, ctes: dict[str, Result], cols: list[Col]) -> Deps:
        """What an ORDER BY reads; ``ORDER BY ALL`` orders by every output column."""
        if not any(is_all(o) for o in order.expressions):
            return self.expr(order, env, ctes)
        parts = []
        deps = []
        for ordered in order.expressions:
            if is_all(ordered):
                d = union(c.deps for c in cols)
                d = Deps(d.value, d.filter, digest("all", *(c.deps.fp for c in cols)), d.volatile)
            else:
                d = self.expr(ordered.this, env, ctes)
            flags = (ordered.args.get(k) for k in ("desc", "nulls_first"))
            parts.append(digest(d.fp, *map(repr, flags)))
            deps.append(d)
        merged = union(deps)
        return Deps(merged.value, merged.filter, digest("order", *parts), merged.volatile)

    # ---- SELECT -----------------------------------------------------------------------

    def _select(self, node: exp.Select, ctes: dict[str, Result], outer: Env | None) -> Result:
        env = Env(outer)
        rows: set[SourceColumn] = set()
        parts: list[str] = []
        volatile = False
        from_ = node.args.get("from_")
        items: list[tuple[exp.Join | None, exp.Expr]] = []
        if isinstance(from_, exp.From):
            items.append((None, from_.this))
        items += [(j, j.this) for j in node.args.get("joins") or []]
        for join, item in items:
            source = from_item(self, item, env, ctes)
            rows |= source.result.rows
            volatile = volatile or source.result.rows_volatile
            if join is None:
                parts.append(f"from:{source.identity}")
                continue
            kind = " ".join(str(join.args.get(k) or "") for k in ("method", "side", "kind")).strip()
            on = join.args.get("on")
            cond = self.expr(on, env, ctes) if on is not None else Deps()
            using = [using_column(self, u, env, join) for u in join.args.get("using") or []]
            cond = union([cond, *using]) if using else cond
            rows |= cond.all
            volatile = volatile or cond.volatile
            parts.append(
                f"join:{kind}:{source.identity}:{self._fp(on, env, ctes)}:"
                + ",".join(d.fp for d in using)
            )
        env.windows = {w.name.lower(): w for w in node.args.get("windows") or []}
        cols: list[Col] = []
        aggregate = False
        env.positions = positions(env)
        for projection in node.selects:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
            ):
                raise Unresolved("a * could not be expanded (a source's columns are unknown)")
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            passed = source_col(inner, env)
            if passed is not None:  # a source's column as it is (stars expand to these)
                deps = passed.deps
            else:
                one_column(inner, env)
                deps = self.expr(inner, env, ctes)
                aggregate = aggregate or _has_aggregate(inner)
            name, named = output_name(projection, inner, env, passed)
            cols.append(Col(name, deps, named, passed.type if passed is not None else None))
            env.projections.setdefault(name.lower(), deps)
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
                deps = union(keys)
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
                deps = union(c.deps for c in cols)
                parts.append("distinct:" + ",".join(c.deps.fp for c in cols))
            rows |= deps.all
        cut = limits(node)
        if cut or distinct_on:
            # ORDER BY decides which rows are kept under LIMIT/OFFSET or DISTINCT ON.
            order = node.args.get("order")
            deps = self._order(order, env, ctes, cols) if order is not None else Deps()
            rows |= deps.all
            volatile = volatile or order is None
            parts.append(f"limit:{cut}:{deps.fp}")
        sample = samples(node)
        if sample:
            volatile = True  # a sample is random, even with a seed (it depends on threads)
            parts.append(f"sample:{sample}")
        return Result(cols, frozenset(rows), digest("select", *parts), volatile)

    # ---- expressions ------------------------------------------------------------------

    def expr(self, node: exp.Expr, env: Env, ctes: dict[str, Result]) -> Deps:
        """The columns ``node`` reads (not crossing into other scopes), with its fingerprint."""
        return self._walk(node, env, ctes, frozenset())

    def _fp(self, node: exp.Expr | None, env: Env, ctes: dict[str, Result]) -> str:
        return "" if node is None else self.expr(node, env, ctes).fp

    def _walk(
        self, node: exp.Expr, env: Env, ctes: dict[str, Result], lambdas: frozenset[str]
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
            # Whether a row exists depends on what decides the subquery's rows (its WHERE,
            # joins, grouping, set operations), never on the columns it selects.
            sub = self.query(node.this, ctes, env)
            return Deps(EMPTY, sub.rows, digest("exists", sub.rows_fp), sub.rows_volatile)
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
        if isinstance(node, exp.PositionalColumn):
            return positional(node, env).deps
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
        merged = union(deps)
        return Deps(merged.value, merged.filter, digest(*parts), merged.volatile or volatile)

    def _column(self, node: exp.Column, env: Env, lambdas: frozenset[str]) -> Deps:
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
        self, node: exp.Window, env: Env, ctes: dict[str, Result], lambdas: frozenset[str]
    ) -> Deps:
        func = self._walk(node.this, env, ctes, lambdas)
        partition_by, order_node, spec = window_definition(node, env)
        partitions = [self._walk(p, env, ctes, lambdas) for p in partition_by]
        partition = union(partitions)
        order = self._walk(order_node, env, ctes, lambdas) if order_node is not None else Deps()
        ranking = isinstance(node.this, RANKING)
        value = func.value | (order.value if ranking else EMPTY)
        filt = func.filter | partition.all | (order.filter if ranking else order.all)
        fp = digest(
            "window",
            func.fp,
            ",".join(p.fp for p in partitions),
            order.fp,
            structure(spec) if spec is not None else "",
        )
        volatile = func.volatile or partition.volatile or order.volatile
        return Deps(value, filt, fp, volatile)


# ---- helpers --------------------------------------------------------------------------


def _named(col: Col | None) -> bool:
    return col.named if col is not None else True


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


def _fp_of(result: Result) -> str:
    return digest(result.rows_fp, *(c.deps.fp for c in result.cols))
