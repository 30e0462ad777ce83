"""Parse one asset file into exactly one sqlglot query, or say precisely why it is not one.

The file is tokenized once; tokens are split into statements at semicolons, so a second
statement or a non-query is refused (with its line) before the parser ever sees it.
Only the first statement is parsed. Every position reported points into the original
file text, comment header included.

>>> parsed = parse_query("-- owner: data team\\nselect 1 as one;", path="x.sql")
>>> parsed.query_text
'select 1 as one'
"""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from assets_orch.errors import SqlError

ONE_QUERY_HINT = "one SELECT per file; split it into two assets"
QUERY_HINT = (
    "an asset file holds one query (SELECT, WITH ... SELECT, FROM-first, VALUES or PIVOT); "
    "the tool creates and replaces the table itself"
)

# Tokens a query can start with. Anything else is refused before parsing (sqlglot would
# parse it as a Command).
_QUERY_START = frozenset(
    {
        TokenType.SELECT,
        TokenType.WITH,
        TokenType.FROM,
        TokenType.VALUES,
        TokenType.PIVOT,
        TokenType.UNPIVOT,
        TokenType.L_PAREN,
    }
)

# What a file may hold at the top: a query, a VALUES list or a DuckDB PIVOT/UNPIVOT statement.
_ALLOWED_ROOTS: tuple[type[exp.Expr], ...] = (exp.Query, exp.Values, exp.Pivot)

# Statements that must not hide inside a query (a CTE with INSERT ... RETURNING, SELECT INTO).
_FORBIDDEN_INSIDE: tuple[type[exp.Expr], ...] = (
    exp.DDL,
    exp.DML,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Into,
)

_KIND_WITH_OBJECT = frozenset({"CREATE", "DROP", "ALTER", "EXPORT", "IMPORT", "FORCE"})
_KIND_MODIFIERS = frozenset({"OR", "REPLACE", "TEMP", "TEMPORARY", "UNIQUE", "PERSISTENT"})
_NOT_KEYWORDS = frozenset({TokenType.STRING, TokenType.IDENTIFIER})
_MISSING_QUOTE = re.compile(r"Missing (\S+) from (\d+):\d+")


class Positions:
    """Maps character offsets of a text to 1-based (line, col)."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\n", text))

    def at(self, offset: int) -> tuple[int, int]:
        """``(line, col)`` of ``offset``, both 1-based."""
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


@dataclass(frozen=True, eq=False)
class ParsedQuery:
    """One parsed query and where it sits in its file."""

    expression: exp.Expr
    text: str  # the whole file
    query_text: str  # the statement as written, without surrounding comments and ';'
    dialect: Dialect
    tokens: list[Token]  # the statement's tokens
    positions: Positions = field(repr=False)

    @property
    def is_duckdb(self) -> bool:
        """True when the query is already written in DuckDB's dialect."""
        # Not ``Dialect.classes``: its first use imports every sqlglot dialect (~0.3 s).
        return type(self.dialect) is type(_dialect("duckdb"))

    @property
    def start(self) -> tuple[int, int]:
        """``(line, col)`` of the statement's first token."""
        return self.positions.at(self.tokens[0].start)


def known_dialects() -> list[str]:
    """Names sqlglot accepts as a dialect, sorted."""
    return sorted(d.value for d in Dialects if d.value)


@lru_cache(maxsize=32)
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


def get_dialect(name: str, *, path: str | None = None) -> Dialect:
    """The sqlglot dialect called ``name``, or a SqlError listing the known ones.

    >>> type(get_dialect("snowflake")).__name__
    'Snowflake'
    """
    try:
        return _dialect(name)
    except ValueError as e:
        raise SqlError(
            f"unknown SQL dialect {name!r}",
            path=path,
            hint="use one of: " + ", ".join(known_dialects()),
        ) from e


def parse_query(text: str, *, path: str, dialect: str = "duckdb") -> ParsedQuery:
    """Parse ``text`` (a whole asset file) into its single query.

    Raises SqlError when the file holds no query, more than one statement, a statement
    that is not a query, or SQL that does not parse.

    >>> parse_query("select * from orders", path="x.sql").expression.sql()
    'SELECT * FROM orders'
    """
    sqlglot_dialect = get_dialect(dialect, path=path)
    text = text.removeprefix(BOM)  # editors on Windows start UTF-8 files with one
    positions = Positions(text)
    tokens = _tokenize(text, sqlglot_dialect, path)
    statements = _split_statements(tokens)
    if not statements:
        raise SqlError(
            "no query in file",
            path=path,
            hint="write one SELECT after the comment header",
        )
    if len(statements) > 1:
        line, col = positions.at(statements[1][0].start)
        raise SqlError(
            "more than one SQL statement in file",
            path=path,
            line=line,
            col=col,
            hint=ONE_QUERY_HINT,
        )
    statement = statements[0]
    first = statement[0]
    if first.token_type not in _QUERY_START:
        _refuse(_token_kind(statement), first, positions, path)
    expression = _parse(statement, text, sqlglot_dialect, positions, path)
    if not isinstance(expression, _ALLOWED_ROOTS):
        _refuse(_node_kind(expression), _keyword_token(expression, statement), positions, path)
    inner = expression.find(*_FORBIDDEN_INSIDE)
    if inner is not None:
        _refuse(_node_kind(inner), _keyword_token(inner, statement), positions, path)
    query_text = text[first.start : statement[-1].end + 1]
    return ParsedQuery(expression, text, query_text, sqlglot_dialect, statement, positions)


MAX_NESTING = 256  # parentheses; real queries stay far below
BOM = "\ufeff"  # a UTF-8 byte order mark, read as the first character of the text


def too_deep_error(path: str, start: tuple[int, int]) -> SqlError:
    """sqlglot recurses once per nesting level; past Python's limit we give up politely."""
    return SqlError(
        "query is nested too deeply to analyze",
        path=path,
        line=start[0],
        col=start[1],
        hint="flatten nested subqueries into CTEs",
    )


def _tokenize(text: str, dialect: Dialect, path: str) -> list[Token]:
    try:
        return dialect.tokenize(text)
    except TokenError as e:
        # The cause says "Missing ' from 3:21" for an unclosed quote; an unclosed /* comment
        # surfaces as an IndexError with nothing useful to show.
        # (the compiled sqlglotc chains it as the context, pure Python as the cause)
        match = _MISSING_QUOTE.search(str(e.__cause__ or e.__context__))
        if match:
            message, line = f"cannot read SQL: unclosed {match.group(1)}", int(match.group(2))
        else:
            message, line = "cannot read SQL: it ends inside a quote or /* comment", None
        raise SqlError(
            message, path=path, line=line, hint="look for an unclosed quote or /* comment"
        ) from e


def _split_statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def _nesting(statement: list[Token]) -> int:
    """The deepest parenthesis nesting of a statement."""
    depth = deepest = 0
    for token in statement:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    return deepest


def _parse(
    statement: list[Token], text: str, dialect: Dialect, positions: Positions, path: str
) -> exp.Expr:
    # Refused before parsing: the compiled parser (sqlglotc) can overflow the C stack on
    # thousands of nested subqueries instead of raising RecursionError.
    if _nesting(statement) > MAX_NESTING:
        raise too_deep_error(path, positions.at(statement[0].start))
    try:
        with quiet_sqlglot():
            expressions = dialect.parser().parse(statement, text)
    except ParseError as e:
        raise _parse_error(e, statement, text, positions, path) from e
    except RecursionError as e:
        raise too_deep_error(path, positions.at(statement[0].start)) from e
    except (TypeError, ValueError, AttributeError, IndexError) as e:
        # sqlglot bugs on odd input (the compiled parser type-checks what the pure one
        # let through): still the user's SQL that does not parse, never a crash.
        line, col = positions.at(statement[0].start)
        raise SqlError(
            f"cannot parse this query: {type(e).__name__}: {e}",
            path=path,
            line=line,
            col=col,
            hint="check the syntax near the operators of this query",
        ) from e
    if not expressions or expressions[0] is None:
        raise SqlError("no query in file", path=path)
    return expressions[0]


class _QuietSqlglot(logging.Filter):
    """Drops sqlglot's log records emitted by a thread inside :func:`quiet_sqlglot`."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "depth", 0)


_QUIET = _QuietSqlglot()
logging.getLogger("sqlglot").addFilter(_QUIET)


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's logger (it warns on stderr: "Cannot traverse scope ...", the
    fallback to a Command) while this thread analyzes SQL: library code never prints,
    and what matters is reported as an error or a stated lineage gap."""
    local = _QUIET.local
    local.depth = getattr(local, "depth", 0) + 1
    try:
        yield
    finally:
        local.depth -= 1


def _parse_error(
    error: ParseError, statement: list[Token], text: str, positions: Positions, path: str
) -> SqlError:
    details = error.errors[0] if error.errors else {}
    description = details.get("description") or str(error).split("\n")[0]
    highlight = details.get("highlight") or ""
    line, col = details.get("line"), details.get("col")
    # sqlglot reports the column where the offending token ends; point at its start instead.
    for token in statement:
        if token.line == line and token.col == col:
            line, col = positions.at(token.start)
            break
    source_line = text.splitlines()[line - 1].strip() if line else ""
    message = f"invalid SQL: {description}"
    if highlight:
        message += f" at {highlight!r}"
    if source_line:
        message += f" in: {source_line[:120]}"
    return SqlError(message, path=path, line=line, col=col)


def _refuse(kind: str, token: Token, positions: Positions, path: str) -> None:
    line, col = positions.at(token.start)
    raise SqlError(
        f"only a SELECT query is allowed in an asset file; found {kind}",
        path=path,
        line=line,
        col=col,
        hint=QUERY_HINT,
    )


def _token_kind(statement: list[Token]) -> str:
    words = [statement[0].text.upper()]
    # Name the object kind too where it helps: CREATE OR REPLACE VIEW, EXPORT DATABASE.
    if words[0] in _KIND_WITH_OBJECT:
        for token in statement[1:]:
            words.append(token.text.upper())
            if words[-1] not in _KIND_MODIFIERS:
                break
    return " ".join(words)


def _node_kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Into):
        return "SELECT INTO"
    return node.key.upper()


def _keyword_token(node: exp.Expr, statement: list[Token]) -> Token:
    """The first token of the statement spelling ``node``'s keyword (INSERT, UPDATE, ...)."""
    keyword = "INTO" if isinstance(node, exp.Into) else _node_kind(node).split()[0]
    for token in statement:
        if token.text.upper() == keyword and token.token_type not in _NOT_KEYWORDS:
            return token
    return statement[0]
