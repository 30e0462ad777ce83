"""Syntax highlighting of asset code with Pygments, as CSS classes (no inline styles).

Pygments escapes the code it tokenizes, so its output is safe to insert as markup;
the token classes are styled by ``static/catalog.css``. Without Pygments the code is
shown plain (escaped by the template).

>>> html = highlight("select '<b>' as x", "sql")
>>> "&lt;b&gt;" in html and "<b>" not in html
True
"""

from __future__ import annotations

from markupsafe import Markup, escape


def highlight(code: str, language: str) -> Markup:
    """``code`` as escaped HTML with Pygments token classes (``sql`` or ``python``)."""
    try:
        from pygments import highlight as pyg_highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer, SqlLexer
    except ImportError:  # pragma: no cover - pygments comes with rich
        return escape(code)
    lexer = SqlLexer() if language == "sql" else PythonLexer()
    formatter = HtmlFormatter(nowrap=True)
    return Markup(pyg_highlight(code, lexer, formatter))
