"""Translating a query written in another dialect to the DuckDB SQL that runs.

sqlglot generates the DuckDB text, refusing what it knows DuckDB cannot express; then
DuckDB's own parser reads it, since sqlglot sometimes writes SQL DuckDB does not parse
(Snowflake's ``LATERAL FLATTEN(...)`` becomes a comma before ``CROSS JOIN``). Either
refusal is a SqlError at the construct responsible, found by translating the query's
parts on their own, innermost first.

>>> from assets_orch.sql.parse import parse_query
>>> print(to_duckdb(parse_query("select iff(a > 1, 'x', 'y') as b from t", path="x.sql",
...                             dialect="snowflake"), "x.sql"))
SELECT
  CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS b
FROM t
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from assets_orch.errors import SqlError

if TYPE_CHECKING:
    from assets_orch.sql.parse import ParsedQuery

HINT = (
    "rewrite that construct with functions DuckDB supports, or write the file in the duckdb dialect"
)


def to_duckdb(parsed: ParsedQuery, path: str) -> str:
    """The DuckDB SQL of ``parsed``, checked by DuckDB's parser."""
    prefix = f"cannot translate this {type(parsed.dialect).__name__} SQL to DuckDB"
    try:
        sql = _generate(parsed.expression, pretty=True)
    except UnsupportedError as e:
        node = _culprit(parsed.expression, _unsupported)
        raise _error(parsed, path, node, prefix, str(e)) from e
    problem = _duckdb_refuses(sql)
    if problem is not None:
        node = _culprit(parsed.expression, _refused_by_duckdb)
        text = _generate(node, pretty=False).lstrip(", ") if node is not None else ""
        becomes = f"it becomes {_short(text)!r}, which" if text else "the result"
        raise _error(parsed, path, node, prefix, f"{becomes} DuckDB cannot parse ({problem})")
    return sql


def _generate(node: exp.Expr, *, pretty: bool) -> str:
    return node.sql(
        dialect="duckdb", unsupported_level=ErrorLevel.RAISE, pretty=pretty, comments=False
    )


def _duckdb_refuses(sql: str) -> str | None:
    """DuckDB's parser error for ``sql`` (first line), or None when it parses."""
    import duckdb

    try:
        duckdb.extract_statements(sql)
    except duckdb.Error as e:
        lines = str(e).strip().splitlines()
        return lines[0] if lines else type(e).__name__
    return None


# ---- finding the construct ------------------------------------------------------------


def _culprit(root: exp.Expr, fails: Callable[[exp.Expr], bool]) -> exp.Expr | None:
    """The innermost, first written part of ``root`` for which ``fails`` holds."""
    for node in _innermost_first(root):
        if node is not root and fails(node):
            return node
    return None


def _innermost_first(node: exp.Expr) -> Iterator[exp.Expr]:
    for child in node.iter_expressions():
        yield from _innermost_first(child)
    yield node


def _unsupported(node: exp.Expr) -> bool:
    try:
        _generate(node, pretty=False)
    except UnsupportedError:
        return True
    except Exception:  # noqa: BLE001 - a part that cannot stand alone is not the culprit
        return False
    return False


def _refused_by_duckdb(node: exp.Expr) -> bool:
    """Whether DuckDB refuses the translation of ``node`` in a query made for its role
    (a FROM item, a join, a projection or another expression); other parts: False."""
    parent = node.parent
    if isinstance(node, exp.Join):
        template = "SELECT 1 FROM t {}"
    elif isinstance(parent, exp.From):
        template = "SELECT 1 FROM {}"
    elif isinstance(node, (exp.Func, exp.Binary, exp.Cast)) or (
        isinstance(parent, exp.Select) and node in parent.expressions
    ):
        template = "SELECT {}"
    else:
        return False
    try:
        text = _generate(node, pretty=False)
    except Exception:  # noqa: BLE001
        return False
    return _duckdb_refuses(template.format(text)) is not None


def _error(
    parsed: ParsedQuery, path: str, node: exp.Expr | None, message: str, why: str
) -> SqlError:
    """``message: <the construct as written>: why``, at the construct."""
    span = _span(node)
    line, col = parsed.positions.at(span[0]) if span else parsed.start
    written = _written(parsed, span) if span else ""
    where = f": {_short(written)}" if written else ""
    return SqlError(f"{message}{where}: {why}", path=path, line=line, col=col, hint=HINT)


def _span(node: exp.Expr | None) -> tuple[int, int] | None:
    """First and last character of ``node`` in the file, as far as sqlglot placed its
    tokens (names, literals, function names; not every keyword)."""
    placed = [n.meta for n in node.walk() if "start" in n.meta] if node is not None else []
    if not placed:
        return None
    return min(int(m["start"]) for m in placed), max(int(m["end"]) for m in placed)


def _written(parsed: ParsedQuery, span: tuple[int, int]) -> str:
    """The file's text from ``span``'s start to its end, closing the parentheses opened."""
    depth, end = 0, span[1]
    for token in parsed.tokens:
        if token.start < span[0]:
            continue
        if token.end > span[1] and depth <= 0:
            break
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        end = token.end
    return parsed.text[span[0] : end + 1]


def _short(text: str | None, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
