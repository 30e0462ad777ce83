"""The prebuilt search index of the catalog: one row per asset, as a script.

The index page loads ``search-index.js``, which assigns ``window.ASSETS_INDEX``: a
script tag works from ``file://`` where ``fetch()`` of a JSON file does not. Rows are
arrays (field names once, in ``fields``) to keep the file small at 10,000 assets.

>>> from assets_orch.html.search_index import to_script
>>> print(to_script([["a", "assets/a.html"]], fields=("name", "href")), end="")
window.ASSETS_INDEX = {"fields":["name","href"],"rows":[["a","assets/a.html"]]};
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .model import AssetPage

FIELDS = (
    "name",
    "href",
    "kind",
    "state",
    "why",
    "tags",
    "owner",
    "last",
    "rows",
    "desc",
    "cols",
    "parts",
)
DESCRIPTION_CHARS = 240


def index_row(page: AssetPage) -> list[Any]:
    """One asset as a row of ``FIELDS``."""
    last = page.last
    return [
        page.name,
        page.href,
        page.kind,
        page.state,
        "; ".join(r.text for r in page.reasons)[:DESCRIPTION_CHARS],
        list(page.tags),
        page.owner or "",
        round(last.ended_at) if last and last.ended_at is not None else None,
        last.row_count if last else None,
        (page.description or "")[:DESCRIPTION_CHARS],
        " ".join(c.name for c in page.columns),
        _partition_counts(page),
    ]


def _partition_counts(page: AssetPage) -> dict[str, int] | None:
    """A partitioned asset's partitions by state (states with none left out); None
    for other assets."""
    if page.partitions is None:
        return None
    return {state: n for state, n in page.partitions.counts if n}


def to_script(rows: Sequence[Sequence[Any]], fields: Sequence[str] = FIELDS) -> str:
    """The JavaScript text of the index.

    JSON is valid JavaScript here because ``ensure_ascii`` escapes U+2028/U+2029, and
    the file is loaded by ``<script src>``, never inlined, so ``</script>`` in a
    description cannot end a script element.
    """
    data = {"fields": list(fields), "rows": [list(r) for r in rows]}
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return f"window.ASSETS_INDEX = {text};\n"
