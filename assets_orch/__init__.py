"""assets_orch: asset-centric data lineage orchestrator on DuckDB.

Declare assets as SQL files or ``@asset`` Python functions; the tool infers lineage,
explains staleness and materializes only what is stale.
"""

from __future__ import annotations

from ._version import __version__
from .python_assets import asset

__all__ = ["__version__", "asset"]
