"""assets_orch: asset-centric data lineage orchestrator on DuckDB.

Declare assets as SQL files or ``@asset`` Python functions; the tool infers lineage,
explains staleness and materializes only what is stale.

``asset`` is imported lazily so that ``assets --help`` does not pay for pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .python_assets import asset

__all__ = ["__version__", "asset"]


def __getattr__(name: str) -> Any:
    if name == "asset":
        from .python_assets import asset

        return asset
    raise AttributeError(f"module 'assets_orch' has no attribute {name!r}")
