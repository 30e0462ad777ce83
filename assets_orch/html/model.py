"""Page data for the HTML catalog: plain frozen records built from Project + Catalog.

Nothing here knows HTML. Templates receive these records and escape every string;
the only pre-built markup is highlighted code (escaped by Pygments) and numbers.
Times are kept as epoch seconds and shown as absolute UTC, so that a page whose
asset did not change renders to the same bytes on the next export.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..durations import format_duration
from ..records import FAILURE_STATUSES
from ..staleness import FRESHNESS, UPSTREAM_CHANGED, UPSTREAM_STALE
from .strip import PartitionStrip, partition_strip

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..partitions.status import PartitionStatus
    from ..project import Project
    from ..records import MaterializationRecord, RunRecord
    from ..specs import AssetSpec
    from ..staleness import AssetStatus

STATES = ("fresh", "stale", "missing", "failed")
HISTORY_LIMIT = 20
RUNS_LIMIT = 50
# The hook for column lineage: when the catalog grows a method of this name taking an
# asset name and returning {column: [upstream refs]}, the column table shows it.
COLUMN_LINEAGE_READER = "column_lineage"

_SAFE_SLUG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,100}$")
_RESERVED = {"con", "prn", "aux", "nul", "index", "graph", "runs"}


def slug(name: str) -> str:
    """The file name (without ``.html``) of an asset's page: the name when it is safe
    in a URL and a file name, else a cleaned name plus a short hash.

    >>> slug("orders_daily")
    'orders_daily'
    >>> slug("a b/<c>")
    'a_b__c_-31d6100d'
    """
    if _SAFE_SLUG.match(name) and name.lower() not in _RESERVED and not name.endswith("."):
        return name
    clean = re.sub(r"[^A-Za-z0-9_\-]", "_", name)[:60] or "asset"
    return f"{clean}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC (for ``<time datetime>``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(ts: float | None) -> str:
    """Epoch seconds as a short absolute UTC time; ``never`` for None."""
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


@dataclass(frozen=True)
class Link:
    """A name and the relative URL of its page (None when it is not in the export)."""

    name: str
    href: str | None
    state: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReasonView:
    text: str
    kind: str
    link: Link | None = None


@dataclass(frozen=True)
class ColumnView:
    """One column of the latest materialization.

    ``lineage`` stays None until the catalog records column lineage; then it lists the
    upstream columns this one is computed from.
    """

    name: str
    type: str
    lineage: tuple[Link, ...] | None = None


@dataclass(frozen=True)
class CheckView:
    label: str
    severity: str
    status: str | None
    failing_rows: int | None
    message: str | None
    checked_at: float | None


@dataclass(frozen=True)
class HistoryRow:
    run_id: str
    status: str
    attempt: int
    started_at: float
    duration: float | None
    row_count: int | None
    error: str | None
    partition: str | None = None  # the partition an attempt built (partitioned assets)


@dataclass(frozen=True)
class Bar:
    """One bar of the run-duration chart, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    status: str
    label: str


@dataclass(frozen=True)
class FreshnessView:
    policy: str
    state: str  # ok, warn, overdue, unknown
    due_at: float | None


@dataclass(frozen=True)
class Pictures:
    """Paths of the lineage SVGs relative to the page, or why they are not drawn."""

    near: str | None
    wide: str | None
    note: str | None = None
    wide_note: str | None = None


@dataclass(frozen=True)
class AssetPage:
    name: str
    slug: str
    kind: str
    path: str
    line: int
    state: str
    reasons: tuple[ReasonView, ...]
    description: str | None
    owner: str | None
    tags: tuple[str, ...]
    materialized: str
    freshness: FreshnessView | None
    last: MaterializationRecord | None
    last_error: str | None
    upstreams: tuple[Link, ...]
    downstreams: tuple[Link, ...]
    sources: tuple[str, ...]
    columns: tuple[ColumnView, ...]
    checks: tuple[CheckView, ...]  # declared now, each with its latest result
    previous_checks: tuple[CheckView, ...]  # results of checks no longer declared
    history: tuple[HistoryRow, ...]
    chart: tuple[Bar, ...]
    code: str  # highlighted by the template
    language: str
    pictures: Pictures
    partitions: PartitionStrip | None = None  # partitioned assets only

    @property
    def href(self) -> str:
        """URL of the page from the site root."""
        return f"assets/{self.slug}.html"


@dataclass(frozen=True)
class RunView:
    run: RunRecord
    failures: tuple[tuple[Link, str], ...]  # (asset, first line of its error)


@dataclass(frozen=True)
class Site:
    """What every page of one export shares."""

    project: str
    generated_at: float
    counts: dict[str, int]
    total: int
    version: str


def asset_page(
    project: Project,
    spec: AssetSpec,
    status: AssetStatus,
    statuses: Mapping[str, AssetStatus],
    exported: Mapping[str, str],
    pictures: Pictures,
    now: float,
    partitions: PartitionStatus | None = None,
) -> AssetPage:
    """Everything the page of ``spec`` shows. ``exported`` maps name -> slug;
    ``partitions``: the asset's partitions by state, when it is partitioned."""
    catalog = project.catalog
    history = catalog.history(spec.name, HISTORY_LIMIT)
    last = status.last

    def link(name: str) -> Link:
        target = exported.get(name)
        st = statuses.get(name)
        return Link(name, f"{target}.html" if target else None, st.state if st else None)

    # The error of the latest attempt, when that attempt failed (skips don't count).
    attempts = [m for m in history if m.status == "success" or m.status in FAILURE_STATUSES]
    last_error = attempts[0].error if attempts and attempts[0].status != "success" else None
    checks, previous_checks = _checks(spec, catalog.latest_checks(spec.name))
    # A partitioned asset's ``last`` stands for all its partitions (rows, data version,
    # when one last changed) and has no columns: they come from its newest partition.
    built = last
    if partitions is not None and last is not None and not last.columns:
        built = next((m for m in history if m.status == "success" and m.columns), last)
    return AssetPage(
        name=spec.name,
        slug=exported[spec.name],
        kind=spec.kind,
        path=spec.path,
        line=spec.line,
        state=status.state,
        reasons=tuple(_reason(r.kind, r.subject, link) for r in status.reasons),
        description=spec.meta.description,
        owner=spec.meta.owner,
        tags=spec.meta.tags,
        materialized=spec.meta.materialized,
        freshness=_freshness(spec, status, now),
        last=last,
        last_error=last_error,
        upstreams=tuple(link(u) for u in project.graph.upstreams[spec.name]),
        downstreams=tuple(link(d) for d in project.graph.downstreams[spec.name]),
        sources=spec.sources,
        columns=_columns(catalog, spec.name, built, link),
        checks=checks,
        previous_checks=previous_checks,
        history=tuple(_history_row(m) for m in history),
        chart=chart(history),
        code=_code(project, spec),
        language=spec.kind,
        pictures=pictures,
        partitions=partition_strip(partitions) if partitions is not None else None,
    )


def _reason(kind: str, subject: str | None, link: Callable[[str], Link]) -> ReasonView:
    text = f"{kind}: {subject}" if subject else kind
    if kind in (UPSTREAM_CHANGED, UPSTREAM_STALE) and subject:
        return ReasonView(text, kind, link(subject))
    return ReasonView(text, kind)


def _freshness(spec: AssetSpec, status: AssetStatus, now: float) -> FreshnessView | None:
    policy = spec.meta.freshness
    if policy is None:
        return None
    parts = []
    if policy.warn_after:
        parts.append(f"warn after {format_duration(policy.warn_after)}")
    if policy.error_after:
        parts.append(f"stale after {format_duration(policy.error_after)}")
    if policy.cron:
        parts.append(f"fresh by each '{policy.cron}' ({policy.timezone})")
    ended = status.last.ended_at if status.last else None
    due = ended + policy.error_after if ended is not None and policy.error_after else None
    if any(r.kind == FRESHNESS for r in status.reasons):
        state = "overdue"
    elif ended is None:
        state = "unknown"
    elif policy.warn_after and now - ended > policy.warn_after:
        state = "warn"
    else:
        state = "ok"
    return FreshnessView("; ".join(parts) or "none", state, due)


def column_lineage(catalog: Catalog, asset: str) -> dict[str, list[Any]] | None:
    """Column lineage of ``asset`` when the catalog records it, else None.

    Reads ``Catalog.column_lineage(asset)`` when the catalog has it: ``{column: [refs]}``
    or ``[(column, refs)]``, each ref ``"asset.column"``, ``(asset, column)`` or
    ``{"asset": ..., "column": ..., "kind": "asset" | "table" | "file",
    "edge": "value" | "filter"}``.
    """
    reader = getattr(catalog, COLUMN_LINEAGE_READER, None)
    if reader is None:
        return None
    found = reader(asset)
    return dict(found) if found else None


def _columns(
    catalog: Catalog,
    asset: str,
    last: MaterializationRecord | None,
    link: Callable[[str], Link],
) -> tuple[ColumnView, ...]:
    if last is None:
        return ()
    lineage = column_lineage(catalog, asset)
    out = []
    for name, type_ in last.columns:
        refs = None
        if lineage is not None:
            refs = tuple(_column_ref(r, link) for r in lineage.get(name, ()))
        out.append(ColumnView(name, type_, refs))
    return tuple(out)


def _column_ref(ref: Any, link: Callable[[str], Link]) -> Link:
    note = None
    if isinstance(ref, Mapping):
        asset, column = str(ref.get("asset") or ""), str(ref.get("column") or "")
        kind = ref.get("kind") or "asset"
        note = "filter" if ref.get("edge") == "filter" else None
        if kind != "asset":  # an outside table or a file: named, not linked
            return Link(f"{asset}.{column}" if column else asset, None, None, note or kind)
    elif isinstance(ref, tuple | list) and len(ref) == 2:
        asset, column = str(ref[0]), str(ref[1])
    else:
        asset, _, column = str(ref).rpartition(".")
    target = link(asset) if asset else Link("", None)
    href = f"{target.href}#col-{column}" if target.href else None
    return Link(f"{asset}.{column}" if asset else column, href, None, note)


def _checks(
    spec: AssetSpec, results: list[dict[str, Any]]
) -> tuple[tuple[CheckView, ...], tuple[CheckView, ...]]:
    """The checks declared now, in declaration order, each with its latest result (by
    label) and its declared severity; then the latest results of checks that are no
    longer declared, newest first (the page shows them apart, folded)."""
    by_name = {r["check"]: r for r in results}
    declared = []
    for check in spec.meta.checks:
        r = by_name.pop(check.label, None)
        declared.append(_check_view(check.label, check.severity, r))
    gone = sorted(by_name.items(), key=lambda item: -(item[1].get("checked_at") or 0))
    previous = [_check_view(name, r.get("severity") or "error", r) for name, r in gone]
    return tuple(declared), tuple(previous)


def _check_view(label: str, severity: str, r: dict[str, Any] | None) -> CheckView:
    if r is None:
        return CheckView(label, severity, None, None, None, None)
    return CheckView(
        label, severity, r["status"], r.get("failing_rows"), r.get("message"), r.get("checked_at")
    )


def _history_row(m: MaterializationRecord) -> HistoryRow:
    first = (m.error or "").strip().splitlines()
    return HistoryRow(
        m.run_id,
        m.status,
        m.attempt,
        m.started_at,
        m.duration,
        m.row_count,
        first[0][:300] if first else None,
        m.partition,
    )


def chart(
    history: Iterable[MaterializationRecord], width: float = 240, height: float = 48
) -> tuple[Bar, ...]:
    """Bars of attempt durations, oldest left, scaled to the longest."""
    items = [m for m in history if m.duration is not None][::-1]
    if not items:
        return ()
    longest = max(m.duration or 0.0 for m in items) or 1.0
    step = width / max(len(items), 12)
    bars = []
    for i, m in enumerate(items):
        h = max(2.0, (m.duration or 0.0) / longest * (height - 2))
        label = f"{when(m.started_at)}: {m.status}, {duration(m.duration)}"
        bars.append(
            Bar(
                round(i * step, 1),
                round(height - h, 1),
                round(step * 0.8, 1),
                round(h, 1),
                m.status,
                label,
            )
        )
    return tuple(bars)


def _code(project: Project, spec: AssetSpec) -> str:
    if spec.source_text is not None:
        return spec.source_text
    if spec.sql is not None:
        return spec.sql
    from ..python_assets import function_source

    # The function's name in its file: the asset's name unless @asset(name=...) set it.
    func_name = getattr(spec.func, "__name__", spec.name)
    return function_source(project.root, spec.path, func_name)


def runs(catalog: Catalog, exported: Mapping[str, str], limit: int = RUNS_LIMIT) -> list[RunView]:
    """Recent runs, newest first, each with its failed assets and their first error line."""
    out = []
    for run in catalog.runs(limit):
        failures = []
        if run.status != "success":
            for m in catalog.materializations_of_run(run.run_id):
                if m.status in FAILURE_STATUSES:
                    first = (m.error or m.status).strip().splitlines()
                    target = exported.get(m.asset)
                    href = f"assets/{target}.html" if target else None
                    failures.append((Link(m.asset, href), first[0][:300] if first else ""))
        out.append(RunView(run, tuple(failures)))
    return out


def site(
    project: Project, statuses: Iterable[AssetStatus], version: str, now: float | None = None
) -> Site:
    chosen = list(statuses)
    counts = {s: 0 for s in STATES}
    for st in chosen:
        counts[st.state] = counts.get(st.state, 0) + 1
    return Site(project.config.name, now or time.time(), counts, len(chosen), version)
