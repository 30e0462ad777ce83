"""Jinja2 rendering of the catalog pages, with autoescaping on for every template.

Templates live in ``templates/``; each page extends ``base.html``, which sets the
Content-Security-Policy: scripts, styles, images and embedded SVGs only from the
site's own files, nothing inline, no network.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from .highlight import highlight
from .model import duration, iso, when
from .writer import content_hash

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'"
)


@cache
def environment() -> Environment:
    """The template environment (autoescape on for all templates, strict undefined)."""
    env = Environment(
        loader=PackageLoader("assets_orch.html", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(csp=CSP)
    env.filters.update(iso=iso, when=when, duration=duration, number=_number, highlight=highlight)
    return env


@cache
def templates_key() -> str:
    """Hash of every template: part of each page's input hash, so that a new
    version of the templates rewrites the pages."""
    folder = resources.files("assets_orch.html") / "templates"
    parts = sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".html"))
    return content_hash(repr(parts))


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
