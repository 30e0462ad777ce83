"""Staleness, explained: for every asset, the list of reasons it must be rebuilt.

Pure: (graph, catalog snapshot, current source versions, warehouse tables, now) ->
status per asset. No I/O. Reasons propagate through the whole downstream graph:
an asset whose upstream will be rebuilt is ``upstream stale: X``.

Reasons, as printed:
``missing`` · ``code changed`` · ``upstream changed: X`` · ``upstream stale: X`` ·
``source changed: data/orders.csv`` · ``dependencies changed: +x -y`` ·
``freshness: older than 24h`` (or ``freshness: missed the 2026-03-02 06:00 deadline
(0 6 * * 1-5)``) · ``last run failed`` · ``table changed outside assets_orch``
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .automation.freshness import evaluate as evaluate_freshness
from .graph import AssetGraph
from .records import FAILURE_STATUSES, SUCCESS, CatalogSnapshot, MaterializationRecord
from .specs import AssetSpec

FRESH, STALE, MISSING, FAILED = "fresh", "stale", "missing", "failed"

MISSING_R = "missing"
CODE = "code changed"
UPSTREAM_CHANGED = "upstream changed"
UPSTREAM_STALE = "upstream stale"
SOURCE = "source changed"
DEPS = "dependencies changed"
FRESHNESS = "freshness"
LAST_FAILED = "last run failed"
TABLE_CHANGED = "table changed outside assets_orch"


@dataclass(frozen=True)
class Reason:
    """One cause of staleness; ``subject`` names the upstream, file or detail."""

    kind: str
    subject: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}" if self.subject else self.kind


@dataclass(frozen=True)
class AssetStatus:
    """The verdict on one asset: its state and why."""

    name: str
    state: str
    reasons: tuple[Reason, ...] = ()
    last: MaterializationRecord | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_stale(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "stale": self.is_stale,
            "reasons": [str(r) for r in self.reasons],
            "last_materialized": self.last.ended_at if self.last else None,
            "row_count": self.last.row_count if self.last else None,
            "data_version": self.last.data_version if self.last else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ColumnVerdict:
    """Whether an asset's columns are provably untouched by its upstreams' changes
    (column versions, see column_versions.py); ``note`` says what changed instead."""

    fresh: bool
    note: str | None = None


@dataclass(frozen=True)
class WarehouseView:
    """What staleness needs to know of the warehouse: table name -> materialization id.

    ``tables`` is None when the warehouse could not be read (another process holds it);
    then tables are assumed to be as the catalog last recorded them.
    """

    tables: dict[str, str | None] | None = None
    schema: str | None = None  # the project's schema (None: not told)

    def has(self, name: str) -> bool | None:
        return None if self.tables is None else name.lower() in self.tables

    def materialization_id(self, name: str) -> str | None:
        return None if self.tables is None else self.tables.get(name.lower())


def asset_reasons(
    spec: AssetSpec,
    snapshot: CatalogSnapshot,
    source_versions: dict[str, str],
    warehouse: WarehouseView,
    now: float,
) -> list[Reason]:
    """The reasons ``spec`` is stale on its own account (not counting upstream staleness)."""
    history = snapshot.history(spec.name)
    last = history.last_success
    reasons: list[Reason] = []
    if history.last_status in FAILURE_STATUSES:
        word = "timed out" if history.last_status == "timed_out" else history.last_status
        reasons.append(Reason(LAST_FAILED, None if word == "failed" else word))
    if last is None:
        return [Reason(MISSING_R, "never materialized"), *reasons]
    exists = warehouse.has(spec.name)
    if exists is False:
        subject = "table is gone from the warehouse"
        if last.schema and warehouse.schema and last.schema.lower() != warehouse.schema.lower():
            subject = f"last built in schema {last.schema}"  # `schema` changed in assets.toml
        return [Reason(MISSING_R, subject), *reasons]
    found_id = warehouse.materialization_id(spec.name)
    if exists and found_id != last.id:
        reasons.append(Reason(TABLE_CHANGED))
    if last.code_fingerprint != spec.fingerprint:
        reasons.append(Reason(CODE))
    detail = _dependency_changes(last, spec)
    if detail:
        reasons.append(Reason(DEPS, detail))
    for up in spec.upstreams:
        consumed = last.upstream_versions.get(up)
        now_version = snapshot.data_version(up)
        if consumed is not None and now_version is not None and consumed != now_version:
            reasons.append(Reason(UPSTREAM_CHANGED, up))
    for src in spec.file_sources:
        consumed = last.source_versions.get(src)
        if consumed is not None and source_versions.get(src, consumed) != consumed:
            reasons.append(Reason(SOURCE, src))
    policy = spec.meta.freshness
    if policy and (policy.error_after or policy.cron) and last.ended_at is not None:
        verdict = evaluate_freshness(policy, last=last.ended_at, now=now)
        if verdict.overdue:
            reasons.append(Reason(FRESHNESS, verdict.detail))
    return reasons


def _dependency_changes(last: MaterializationRecord, spec: AssetSpec) -> str | None:
    """``+added -removed ~name (asset -> table)``, or None when the inputs are the same.

    A name that stays but changes kind counts: an asset's left-over table declared as an
    external source (``asset -> table``) is no longer refreshed by anything, and a table
    that became an asset (``table -> asset``) now has versions to compare.
    """
    was_assets, was_other = set(last.upstream_versions), set(last.source_versions)
    assets, other = set(spec.upstreams), set(spec.sources)
    recorded, current = was_assets | was_other, assets | other
    moved = sorted((was_assets & (other - assets)) | (was_other & (assets - other)))
    if recorded == current and not moved:
        return None
    parts = [f"+{a}" for a in sorted(current - recorded)]
    parts += [f"-{r}" for r in sorted(recorded - current)]
    parts += [f"~{m} ({'asset -> table' if m in was_assets else 'table -> asset'})" for m in moved]
    return " ".join(parts)


def held_elsewhere(snapshot: CatalogSnapshot, warehouse: WarehouseView) -> dict[str, str]:
    """Assets whose table names (in its COMMENT) a materialization other than the
    asset's last success: name -> the id the table holds.

    After ``schema`` changed in ``assets.toml`` and back, or a warehouse file restored
    from a backup, a table holds an earlier build of its asset.
    """
    if warehouse.tables is None:
        return {}
    out = {}
    for name, history in snapshot.assets.items():
        last = history.last_success
        held = warehouse.materialization_id(name)
        if last is not None and held is not None and held != last.id:
            out[name] = held
    return out


def with_held_builds(
    snapshot: CatalogSnapshot, held: dict[str, MaterializationRecord]
) -> CatalogSnapshot:
    """``snapshot`` judging each asset in ``held`` by the build its table holds.

    ``held`` maps an asset to the record of the id its table's COMMENT names (see
    :func:`held_elsewhere`). Only a successful, whole-table build of that same asset
    counts; any other id leaves the asset as it was, and then staleness says ``table
    changed outside assets_orch``. Staleness compares code, upstream versions and
    sources with what built the table that is really there, so switching back to an
    earlier schema needs no rebuild when nothing changed since.
    """
    if not held:
        return snapshot
    assets = dict(snapshot.assets)
    for name, record in held.items():
        history = assets.get(name)
        if (
            history is not None
            and record.status == SUCCESS
            and record.partition is None
            and record.asset.lower() == name.lower()
        ):
            assets[name] = replace(history, last_success=record)
    return CatalogSnapshot(assets)


def compute_status(
    graph: AssetGraph,
    snapshot: CatalogSnapshot,
    source_versions: dict[str, str],
    warehouse: WarehouseView,
    now: float,
    *,
    only: set[str] | None = None,
) -> dict[str, AssetStatus]:
    """Status of every asset in the graph (of ``only``, which holds the upstreams of
    each of its assets, when given), in lineage order.

    >>> from assets_orch.metadata import AssetMeta
    >>> from assets_orch.specs import AssetSpec
    >>> g = AssetGraph([AssetSpec("a", "sql", "a.sql", 1, AssetMeta(), "f")])
    >>> compute_status(g, CatalogSnapshot(), {}, WarehouseView(), 0.0)["a"].state
    'missing'
    """
    result: dict[str, AssetStatus] = {}
    for name in graph.order(only):
        spec = graph.specs[name]
        reasons = asset_reasons(spec, snapshot, source_versions, warehouse, now)
        changed = {r.subject for r in reasons if r.kind == UPSTREAM_CHANGED}
        for up in spec.upstreams:
            if result[up].is_stale and up not in changed:
                reasons.append(Reason(UPSTREAM_STALE, up))
        history = snapshot.history(name)
        result[name] = AssetStatus(
            name=name,
            state=_state(reasons),
            reasons=tuple(reasons),
            last=history.last_success,
        )
    return result


def apply_column_verdicts(
    graph: AssetGraph,
    statuses: dict[str, AssetStatus],
    verdicts: dict[str, ColumnVerdict],
    *,
    keep: set[str] | frozenset[str] = frozenset(),
) -> dict[str, AssetStatus]:
    """Statuses with upstream reasons dropped where a verdict proves them harmless.

    In lineage order: an asset with a fresh verdict loses its ``upstream changed`` and
    ``upstream stale`` reasons (the verdict's note is kept instead), and an ``upstream
    stale: X`` reason goes when X turned out fresh. Assets in ``keep`` (judged by
    another pass, such as partitions) are left as they are.
    """
    out: dict[str, AssetStatus] = {}
    for name in graph.order(statuses):  # a judgement of a selection holds only it
        st = statuses[name]
        if name in keep:
            out[name] = st
            continue
        # An upstream that turned out fresh will not be rebuilt: not a reason any more.
        reasons = [
            r
            for r in st.reasons
            if not (r.kind == UPSTREAM_STALE and r.subject in out and not out[r.subject].is_stale)
        ]
        verdict = verdicts.get(name)
        notes = st.notes
        upstream = [r for r in reasons if r.kind in (UPSTREAM_CHANGED, UPSTREAM_STALE)]
        if upstream and verdict is not None and verdict.fresh:
            reasons = [r for r in reasons if r not in upstream]
            if verdict.note:
                notes = (*notes, verdict.note)
        if len(reasons) == len(st.reasons):
            out[name] = st
        else:
            out[name] = AssetStatus(name, _state(reasons), tuple(reasons), st.last, notes)
    return out


def _state(reasons: list[Reason]) -> str:
    # A failed last attempt wins over a missing table: an asset whose only build failed
    # is failed (as a partition is), not merely missing.
    kinds = {r.kind for r in reasons}
    if LAST_FAILED in kinds:
        return FAILED
    if MISSING_R in kinds:
        return MISSING
    return STALE if reasons else FRESH
