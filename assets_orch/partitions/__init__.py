"""Partitioned and incremental assets: definitions, ranges, state, staleness, plans.

See docs/partitions.md. Importing this package is cheap: modules load on use.
"""

from __future__ import annotations
