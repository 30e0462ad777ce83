"""Pure SQL analysis: parse an asset file, infer its upstreams, fingerprint its code.

Importing this package does not import sqlglot; ``analyze_sql`` does, on first call.
"""

from __future__ import annotations

from assets_orch.sql.analysis import SqlAnalysis, TableRef, analyze_sql

__all__ = ["SqlAnalysis", "TableRef", "analyze_sql"]
