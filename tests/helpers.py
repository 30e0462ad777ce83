"""Small helpers for tests that write their own tiny projects."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_project(root: Path, files: dict[str, str], config: str = 'name = "t"\n') -> Path:
    """Create a project at ``root`` with ``assets.toml`` and the given files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assets.toml").write_text(config)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def warehouse_objects(root: Path) -> dict[tuple[str, str], str | None]:
    """Every table and view of ``root``'s warehouse: (schema, name) -> COMMENT."""
    import duckdb

    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    finally:
        con.close()
    return {(schema, name): comment for schema, name, comment in rows}
