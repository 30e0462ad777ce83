"""What the warehouse holds, remembered between commands so that most never open it.

Opening a DuckDB file of 10,000 tables and listing them costs about half a second, and
a writer holds the file for the whole of a run. So every command that lists the tables
(a writer at the end of its run, a reader that could open the file) remembers the list
in the catalog with the file's identity: size, modification and change times in
nanoseconds, and inode. The next command compares the file's identity with the
remembered one and reuses the list when they are equal and no ``.wal`` file is beside
it (DuckDB keeps uncheckpointed writes there). Any writer, this tool, the duckdb CLI or
a notebook, changes at least the modification and change times, and the change time
cannot be set back (``touch -r`` and ``cp -p`` set only the modification time).

While another process holds the file, readers use the last remembered list as it is
(``trusted`` is then False: it may be behind the writer's work).

>>> identity_of(Path("/nonexistent/warehouse.duckdb")) is None
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Catalog
    from .warehouse import Warehouse

META_KEY = "warehouse_state"
Identity = tuple[int, int, int, int]


@dataclass(frozen=True)
class WarehouseState:
    """The COMMENT of each table and view of the project schema (by lower-cased name)
    and every table or view name (``name`` in the project schema and ``schema.name``,
    lower-cased)."""

    comments: dict[str, str | None]
    names: frozenset[str]
    trusted: bool = True
    ids: dict[str, str | None] | None = None  # parsed from the comments, when remembered

    @classmethod
    def read(cls, warehouse: Warehouse) -> WarehouseState:
        """List an open (or openable) warehouse."""
        return cls(warehouse.table_comments(), frozenset(warehouse.table_names()))

    @property
    def tables(self) -> dict[str, str | None]:
        """Tables of the project schema: name -> the materialization id in its COMMENT."""
        if self.ids is not None:
            return self.ids
        from .warehouse import parse_comment

        return {name: parse_comment(comment) for name, comment in self.comments.items()}


def identity_of(path: Path) -> Identity | None:
    """The file's identity, or None when it is missing or has a write-ahead log."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if os.path.exists(f"{path}.wal"):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def remembered(
    catalog: Catalog, path: Path, schema: str, *, trust: bool = True
) -> WarehouseState | None:
    """The remembered state when the file is unchanged since (``trust``), or the last
    remembered state whatever happened since (``trust=False``, for a busy warehouse)."""
    raw = catalog.meta_value(META_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        saved = tuple(data["identity"]) if data.get("identity") else None
        if data["path"] != str(path) or data["schema"] != schema:
            return None
        state = WarehouseState(
            {str(k): v for k, v in data["comments"].items()},
            frozenset(data["names"]),
            trusted=trust,
            ids=data["ids"],
        )
    except (ValueError, KeyError, TypeError):
        return None  # written by another version
    if trust and (saved is None or saved != identity_of(path)):
        return None
    return state


def remember(
    catalog: Catalog, path: Path, schema: str, state: WarehouseState, identity: Identity | None
) -> None:
    """Store ``state`` with the identity the file had when it was read (None: the file
    may change, as at the start of a run; then it serves only while the file is busy)."""
    catalog.set_meta(
        META_KEY,
        json.dumps(
            {
                "path": str(path),
                "schema": schema,
                "identity": list(identity) if identity else None,
                "comments": state.comments,
                "ids": state.tables,
                "names": sorted(state.names),
            }
        ),
    )
