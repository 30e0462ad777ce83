"""The static HTML catalog (``assets catalog export DIR``).

Stages, one module each: :mod:`.model` (page data from Project + Catalog),
:mod:`.svg` (lineage pictures drawn in batches by Graphviz), :mod:`.search_index`
(the index page's prebuilt search data), :mod:`.pages` (Jinja2 templates, autoescaped),
:mod:`.writer` (incremental writes), driven by :func:`.export.export_catalog`.
"""

from __future__ import annotations

from .export import ExportSummary, export_catalog

__all__ = ["ExportSummary", "export_catalog"]
