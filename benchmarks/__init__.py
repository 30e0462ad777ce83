"""Benchmarks of assets_orch against the same SQL run as one plain DuckDB script.

See benchmarks/README.md; run with ``python -m benchmarks run [--quick]``.
"""
