"""Staleness per partition, computed on ranges: pure, no I/O.

For every partitioned asset, in lineage order, one sweep over its stored ranges, the
ranges of its partitioned upstreams mapped into its own partition space, and the
result of a source probe, gives segments of partitions with one state and one list
of reasons each. Cost grows with the number of ranges, never with the number of
partitions: a year or a century of daily partitions built in one backfill is one
range.

Mappings between a partitioned upstream ``U`` and a partitioned asset ``A``:

- time: the same grain maps partition to partition (identity); different grains map
  by time window (a month depends on its days, a day on its month);
- static dimensions: a dimension both have maps value to value; one only ``U`` has
  is aggregated (``A`` depends on every value); one only ``A`` has fans out;
- ``U`` without time, ``A`` with: every partition of ``A`` depends on ``U``'s; and
  the other way round, ``A``'s partition depends on all of ``U``'s time partitions.

An unpartitioned upstream is one whole: it is in the partition's consumed versions.
An unpartitioned downstream sees a partitioned asset as one version (see
:func:`aggregate_version`), which changes when any partition's data changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..records import INTERRUPTED, SUCCESS, AssetHistory, CatalogSnapshot, MaterializationRecord
from ..staleness import (
    CODE,
    DEPS,
    FAILED,
    FRESH,
    LAST_FAILED,
    MISSING,
    MISSING_R,
    SOURCE,
    STALE,
    UPSTREAM_CHANGED,
    UPSTREAM_STALE,
    AssetStatus,
    Reason,
    _state,
)
from .definition import NO_TIME, PartitionsDef
from .segments import clip, length, sweep
from .store import FAILED as RANGE_FAILED
from .store import RangeState

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from ..specs import AssetSpec
    from ..staleness import WarehouseView

STATES = (FRESH, STALE, MISSING, FAILED)
PARTITIONING_CHANGED = "partitioning changed"


@dataclass(frozen=True)
class PState:
    """The state of a stretch of partitions, and why."""

    state: str
    reasons: tuple[Reason, ...] = ()


Segments = list[tuple[int, int, PState]]


@dataclass
class PartitionStatus:
    """Every partition of one asset, as segments per static key."""

    name: str
    definition: PartitionsDef
    first: int
    last: int
    rows: dict[tuple[str, ...], Segments] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Partitions by state (fresh, stale, missing, failed)."""
        out = dict.fromkeys(STATES, 0)
        for segments in self.rows.values():
            for lo, hi, st in segments:
                out[st.state] += hi - lo + 1
        return out

    @property
    def total(self) -> int:
        return sum(length(s) for s in self.rows.values())

    def display(self) -> list[tuple[tuple[str, ...], int, int, str, tuple[Reason, ...]]]:
        """``(static, first, last, state, reasons)`` ranges, merged for people to read."""
        out = []
        for static, segments in self.rows.items():
            for lo, hi, st in segments:
                out.append((static, lo, hi, st.state, st.reasons))
        return out

    def describe(self) -> str:
        """The dimensions and span: ``day by order_date, 2024-01-01 .. 2024-12-31 × region:
        eu, us`` (what ``assets partitions`` and the HTML catalog print above the ranges)."""
        d = self.definition
        dims = []
        if d.time is not None:
            span = f"{d.time.key(self.first)} .. {d.time.key(self.last)}"
            if self.first > self.last:
                span = f"from {d.time.key(d.time.start)} (none complete yet)"
            dims.append(f"{d.time.grain} by {d.time.column}, {span}")
        for dim, values in d.static:
            dims.append(f"{dim}: {', '.join(values)}")
        return " × ".join(dims)

    def keys_in(self, static: tuple[str, ...], lo: int, hi: int) -> str:
        return self.definition.range_key(static, lo, hi)

    def to_json(self) -> dict[str, Any]:
        d = self.definition
        return {
            "name": self.name,
            "dimensions": list(d.dims),
            "grain": d.time.grain if d.time else None,
            "first": d.time.key(self.first) if d.time and self.first <= self.last else None,
            "last": d.time.key(self.last) if d.time and self.first <= self.last else None,
            "total": self.total,
            "counts": self.counts(),
            "ranges": [
                {
                    "static": dict(zip((n for n, _ in d.static), static, strict=True)),
                    "from": d.key(static, lo),
                    "to": d.key(static, hi),
                    "count": hi - lo + 1,
                    "state": state,
                    "reasons": [str(r) for r in reasons],
                }
                for static, lo, hi, state, reasons in self.display()
            ],
        }


@dataclass
class PartitionInputs:
    """What partition staleness reads: definitions, stored ranges, probes."""

    definitions: dict[str, PartitionsDef]
    ranges: dict[str, dict[str, list[tuple[int, int, RangeState]]]]
    signatures: dict[str, str | None]
    # asset -> the warehouse schema its ranges were written to (None: not recorded)
    schemas: dict[str, str | None] = field(default_factory=dict)
    schema: str | None = None  # the project's schema now
    summaries: dict[str, tuple[int, int, int, float | None]] = field(default_factory=dict)
    # asset -> static label -> indices whose query result changed (probe ran); absent: no probe
    probes: dict[str, dict[str, list[tuple[int, int, bool]]]] = field(default_factory=dict)
    # asset -> the current versions of the inputs the probes compared against
    current: dict[str, dict[str, str]] = field(default_factory=dict)

    def moved(self, name: str) -> str | None:
        """The schema ``name``'s ranges describe when it is not the project's schema now
        (``schema`` changed in assets.toml): then they say nothing of the table here."""
        built = self.schemas.get(name)
        return built if built is not None and self.schema not in (None, built) else None


def aggregate_version(summary: tuple[int, int, int, float | None]) -> str | None:
    """The one data version an unpartitioned downstream sees of a partitioned asset: it
    changes whenever the data of any partition changes (and only then)."""
    version, built, _, _ = summary
    return None if not built else f"partitions:{version}"


def overlay_snapshot(
    snapshot: CatalogSnapshot, graph: AssetGraph, inputs: PartitionInputs
) -> CatalogSnapshot:
    """``snapshot`` with each partitioned asset replaced by its aggregate history."""
    assets = dict(snapshot.assets)
    for name in inputs.definitions:
        assets[name] = aggregate_history(graph.specs[name], inputs.summaries.get(name))
    return CatalogSnapshot(assets)


def aggregate_history(
    spec: AssetSpec, summary: tuple[int, int, int, float | None] | None
) -> AssetHistory:
    version = aggregate_version(summary) if summary else None
    if version is None or summary is None:
        return AssetHistory(None, None)
    record = MaterializationRecord(
        id=f"partitions:{spec.name}",
        run_id="",
        asset=spec.name,
        status=SUCCESS,
        started_at=summary[3] or 0.0,
        ended_at=summary[3],
        row_count=summary[2],
        code_fingerprint=spec.fingerprint,
        data_version=version,
    )
    return AssetHistory(record, SUCCESS)


def compute(
    graph: AssetGraph,
    base: dict[str, AssetStatus],
    inputs: PartitionInputs,
    *,
    snapshot: CatalogSnapshot,
    source_versions: dict[str, str],
    warehouse: WarehouseView,
    now: float,
) -> tuple[dict[str, AssetStatus], dict[str, PartitionStatus]]:
    """Statuses of every asset with partitioned ones judged per partition.

    ``base`` is :func:`~assets_orch.staleness.compute_status` on the overlaid snapshot;
    unpartitioned assets keep their reasons, with ``upstream stale`` re-derived from
    the partition-aware verdicts of their upstreams.
    """
    result: dict[str, AssetStatus] = {}
    parts: dict[str, PartitionStatus] = {}
    for name in graph.order():
        spec = graph.specs[name]
        definition = inputs.definitions.get(name)
        if definition is None:
            st = base[name]
            changed = {r.subject for r in st.reasons if r.kind == UPSTREAM_CHANGED}
            kept = {r.subject for r in st.reasons if r.kind == UPSTREAM_STALE}
            reasons = [r for r in st.reasons if r.kind != UPSTREAM_STALE]
            for up in spec.upstreams:
                # A partitioned upstream is re-judged per partition, and so is one the
                # partition pass made stale; otherwise the base verdict stands (it may
                # have dropped a change that reaches no column this asset reads).
                counts = up in inputs.definitions or up in kept or not base[up].is_stale
                if counts and result[up].is_stale and up not in changed:
                    reasons.append(Reason(UPSTREAM_STALE, up))
            result[name] = replace(st, reasons=tuple(reasons), state=_state(reasons))
            continue
        judge = _Judge(spec, definition, inputs, snapshot, source_versions, warehouse, result)
        status = PartitionStatus(name, definition, *definition.span(now))
        for static in definition.static_keys():
            pieces = _upstream_pieces(spec, definition, static, inputs, parts, status)
            status.rows[static] = judge.segments(static, status.first, status.last, pieces)
        parts[name] = status
        result[name] = asset_status(status, inputs.summaries.get(name), spec)
    return result, parts


def _upstream_pieces(
    spec: AssetSpec,
    definition: PartitionsDef,
    static: tuple[str, ...],
    inputs: PartitionInputs,
    parts: dict[str, PartitionStatus],
    status: PartitionStatus,
) -> list[tuple[int, int, tuple[str, Any]]]:
    pieces: list[tuple[int, int, tuple[str, Any]]] = []
    for up in spec.upstreams:
        up_status = parts.get(up)
        if up_status is None:
            continue
        for up_static, segments in up_status.rows.items():
            if not compatible(definition, static, up_status.definition, up_static):
                continue
            for a, b, st in segments:
                lo, hi = map_into(up_status.definition, definition, a, b, status.first, status.last)
                pieces.append((lo, hi, ("u", (up, st.state != FRESH))))
    return pieces


def compatible(
    down: PartitionsDef, static: tuple[str, ...], up: PartitionsDef, up_static: tuple[str, ...]
) -> bool:
    """Whether upstream static key ``up_static`` feeds downstream static key ``static``."""
    mine = dict(zip((n for n, _ in down.static), static, strict=True))
    for (name, _), value in zip(up.static, up_static, strict=True):
        if name in mine and mine[name] != value:
            return False
    return True


def map_into(
    up: PartitionsDef, down: PartitionsDef, a: int, b: int, first: int, last: int
) -> tuple[int, int]:
    """Upstream time indices ``a..b`` as downstream indices (``first..last``: its span)."""
    if up.time is not None and down.time is not None:
        return up.time.map_range(down.time, a, b)
    if down.time is not None:
        return first, last  # an upstream without time feeds every time partition
    return NO_TIME, NO_TIME


@dataclass
class _Judge:
    """Combines what is known of one stretch of partitions into its state and reasons."""

    spec: AssetSpec
    definition: PartitionsDef
    inputs: PartitionInputs
    snapshot: CatalogSnapshot
    source_versions: dict[str, str]
    warehouse: WarehouseView
    verdicts: dict[str, AssetStatus]
    upstream_stale: Callable[[str], bool] | None = None

    def __post_init__(self) -> None:
        name = self.spec.name
        signature = self.inputs.signatures.get(name)
        self.moved = self.inputs.moved(name)
        self.reset = self.moved is not None or (
            signature is not None and signature != self.definition.signature
        )
        self.gone = self.warehouse.has(name) is False
        self.partitioned = {u for u in self.spec.upstreams if u in self.inputs.definitions}
        self.whole = [u for u in self.spec.upstreams if u not in self.partitioned]
        self.expected = set(self.spec.upstreams) | set(self.spec.sources)
        self.versions = {u: self.snapshot.data_version(u) for u in self.whole}

    def segments(
        self,
        static: tuple[str, ...],
        first: int,
        last: int,
        upstream: list[tuple[int, int, tuple[str, Any]]],
    ) -> Segments:
        label = self.definition.static_label(static)
        stored = [] if self.reset else self.inputs.ranges.get(self.spec.name, {}).get(label, [])
        items: list[tuple[int, int, tuple[str, Any]]] = [
            (a, b, ("s", st)) for a, b, st in clip(stored, first, last)
        ]
        items += upstream
        probe = self.inputs.probes.get(self.spec.name, {}).get(label)
        probed = probe is not None
        items += [(a, b, ("p", True)) for a, b, _ in probe or ()]
        return sweep(items, first, last, lambda values: self.combine(values, probed))

    def combine(self, values: list[tuple[str, Any]], probed: bool) -> PState:
        stored: RangeState | None = None
        probe_changed = False
        ups: dict[str, bool] = {}  # partitioned upstream -> a partition read is not fresh
        for tag, value in values:
            if tag == "s":
                stored = value
            elif tag == "p":
                probe_changed = True
            else:
                up, not_fresh = value
                ups[up] = ups.get(up, False) or not_fresh
        failed = stored is not None and stored.status == RANGE_FAILED
        # A batch interrupted by a crash says so (recovery records "interrupted").
        last_failed = Reason(
            LAST_FAILED, INTERRUPTED if stored is not None and stored.error == INTERRUPTED else None
        )
        if stored is None or not stored.built or self.gone:
            subject = (
                f"last built in schema {self.moved}"
                if self.moved is not None
                else PARTITIONING_CHANGED
                if self.reset
                else "table is gone from the warehouse"
                if self.gone and stored is not None and stored.built
                else "never materialized"
            )
            reasons = [Reason(MISSING_R, subject)]
            if failed:
                reasons.append(last_failed)
            return PState(FAILED if failed else MISSING, tuple(reasons))
        reasons = []
        if failed:
            reasons.append(last_failed)
        if stored.fingerprint != self.spec.fingerprint:
            reasons.append(Reason(CODE))
        consumed = stored.consumed_map()
        if set(consumed) != self.expected:
            added = sorted(self.expected - set(consumed))
            removed = sorted(set(consumed) - self.expected)
            detail = " ".join([f"+{a}" for a in added] + [f"-{r}" for r in removed])
            reasons.append(Reason(DEPS, detail))
        changed = set()
        # The probe ran the query on the inputs as they are now and found the result the
        # partition holds: inputs that changed since do not make it stale. Only inputs
        # still at the version the probe saw count (an upstream rebuilt later does not).
        verified = probed and not probe_changed
        seen = self.inputs.current.get(self.spec.name, {})
        for up in self.whole:
            was, now = consumed.get(up), self.versions.get(up)
            if was is None or now is None or was == now:
                continue
            if not (verified and seen.get(up) == now):
                changed.add(up)
        changed.update(u for u in stored.dirty_names if u in self.partitioned)
        reasons += [Reason(UPSTREAM_CHANGED, up) for up in sorted(changed)]
        for src in self.spec.file_sources:
            was = consumed.get(src)
            if was is None or self.source_versions.get(src, was) == was:
                continue
            if not (verified and seen.get(src) == self.source_versions.get(src)):
                reasons.append(Reason(SOURCE, src))
        for up in self.spec.upstreams:
            if up in changed:
                continue
            if ups.get(up):
                reasons.append(Reason(UPSTREAM_STALE, up))
            elif up in self.whole and self._whole_stale(up):
                reasons.append(Reason(UPSTREAM_STALE, up))
        state = FAILED if failed else STALE if reasons else FRESH
        return PState(state, tuple(reasons))

    def _whole_stale(self, up: str) -> bool:
        if self.upstream_stale is not None:
            return self.upstream_stale(up)
        verdict = self.verdicts.get(up)
        return bool(verdict and verdict.is_stale)


def asset_status(
    status: PartitionStatus,
    summary: tuple[int, int, int, float | None] | None,
    spec: AssetSpec,
) -> AssetStatus:
    """One verdict for a partitioned asset: counts by state and the reasons, counted."""
    counts = status.counts()
    total = sum(counts.values())
    tally: dict[tuple[str, str | None], int] = {}
    for segments in status.rows.values():
        for lo, hi, st in segments:
            for reason in st.reasons:
                key = (reason.kind, reason.subject)
                tally[key] = tally.get(key, 0) + hi - lo + 1
    reasons = []
    for (kind, subject), n in tally.items():
        count = f"{n} partition{'s' if n != 1 else ''}"
        if kind == MISSING_R and subject == "never materialized":
            reasons.append(Reason(kind, count))
        else:
            reasons.append(Reason(kind, f"{subject} ({count})" if subject else count))
    if total == 0:
        state = FRESH
    elif counts[FAILED]:
        state = FAILED
    elif counts[MISSING] == total:
        state = MISSING
    else:
        state = STALE if reasons else FRESH
    note = ", ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
    history = aggregate_history(spec, summary)
    return AssetStatus(
        name=status.name,
        state=state,
        reasons=tuple(reasons),
        last=history.last_success,
        notes=(f"{total} partitions: {note or 'none yet'}",),
    )


def unit_reasons(
    spec: AssetSpec,
    definition: PartitionsDef,
    inputs: PartitionInputs,
    *,
    snapshot: CatalogSnapshot,
    source_versions: dict[str, str],
    warehouse: WarehouseView,
    static: tuple[str, ...],
    first: int,
    last: int,
) -> set[Reason]:
    """Why a batch about to run is stale on its own account, given what the run has
    built so far: ``upstream stale`` does not count (an upstream partition that changed
    its data has marked this one, see store.py). Empty: early cutoff."""
    judge = _Judge(
        spec,
        definition,
        inputs,
        snapshot,
        source_versions,
        warehouse,
        {},
        upstream_stale=lambda up: False,
    )
    return {
        r
        for _, _, verdict in judge.segments(static, first, last, [])
        for r in verdict.reasons
        if r.kind != UPSTREAM_STALE
    }
