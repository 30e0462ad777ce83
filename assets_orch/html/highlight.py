"""Syntax highlighting of asset code with Pygments, as CSS classes (no inline styles).

Pygments escapes the code it tokenizes, so its output is safe to insert as markup;
the token classes are styled by ``static/catalog.css``. Without Pygments the code is
shown plain (escaped by the template).

>>> html = highlight("select '<b>' as x", "sql")
>>> "&lt;b&gt;" in html and "<b>" not in html
True
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markupsafe import Markup, escape


def highlight(code: str, language: str) -> Markup:
    """``code`` as escaped HTML with Pygments token classes (``sql`` or ``python``)."""
    tools = _tools()
    if tools is None:  # pragma: no cover - pygments comes with rich
        return escape(code)
    lexers, formatter, pyg_highlight = tools
    return Markup(pyg_highlight(code, lexers["sql" if language == "sql" else "python"], formatter))


@cache
def _tools() -> tuple[dict[str, Any], Any, Any] | None:
    # Made once: a formatter builds its token stylesheet on creation (about 0.5 ms).
    try:
        from pygments import highlight as pyg_highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer, SqlLexer
    except ImportError:  # pragma: no cover
        return None
    return {"sql": SqlLexer(), "python": PythonLexer()}, HtmlFormatter(nowrap=True), pyg_highlight
