"""What the engine asks about partitions while a run goes on.

The engine (execution.py) knows units of work — a whole asset, or a batch of
partitions of one asset — and nothing of ranges. This object answers its questions:
is this batch still stale now that its upstreams ran (early cutoff), how is a batch's
outcome stored (ranges; marks on the downstream partitions that read changed data),
what version does a partitioned upstream have now.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..staleness import SOURCE, UPSTREAM_CHANGED
from .segments import merge
from .status import PartitionInputs, aggregate_history, compatible, map_into, unit_reasons
from .store import PartitionStore, consumed_json, failed, marked, succeeded, verified

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from ..records import CatalogSnapshot
    from ..staleness import WarehouseView
    from ..units import Unit
    from ..warehouse import Warehouse
    from .definition import PartitionsDef
    from .store import Update
    from .tables import BatchResult

EVERYWHERE = (-(2**40), 2**40)  # an index range covering any stored partition


@dataclass
class PartitionRuntime:
    """Partition bookkeeping for one run (thread-safe: workers call it)."""

    store: PartitionStore
    inputs: PartitionInputs
    graph: AssetGraph
    source_versions: dict[str, str]
    warehouse_view: WarehouseView
    run_id: str
    warehouse: Warehouse | None = None
    # (asset, static label) -> the span of its batches in this run, for in-run probes
    planned: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _probed: dict[tuple[str, str], set[int] | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def definitions(self) -> dict[str, PartitionsDef]:
        return self.inputs.definitions

    def still_stale(self, unit: Unit, snapshot: CatalogSnapshot) -> bool:
        """Early cutoff for a batch about to run.

        When all that is left are newer versions of unpartitioned upstreams rebuilt in
        this run, or of sources, one probe of the asset's query over the span of its
        batches tells which partitions' results really change; the others are recorded
        as built from the new versions and not rebuilt.
        """
        spec = self.graph.specs[unit.asset]
        definition = self.definitions[unit.asset]
        assert unit.first is not None and unit.last is not None
        inputs = PartitionInputs(
            self.definitions,
            {unit.asset: self.store.ranges(unit.asset)},
            self.inputs.signatures,
            schemas=self.inputs.schemas,
            schema=self.inputs.schema,
            probes=self.inputs.probes,
            current=self.inputs.current,
        )
        reasons = unit_reasons(
            spec,
            definition,
            inputs,
            snapshot=snapshot,
            source_versions=self.source_versions,
            warehouse=self.warehouse_view,
            static=unit.static,
            first=unit.first,
            last=unit.last,
        )
        whole = {u for u in spec.upstreams if u not in self.definitions}
        if not reasons:
            return False
        if not all(
            r.kind == SOURCE or (r.kind == UPSTREAM_CHANGED and r.subject in whole) for r in reasons
        ):
            return True
        label = definition.static_label(unit.static)
        changed = self._probe(unit, label)
        if changed is None or any(unit.first <= i <= unit.last for i in changed):
            return True
        current = {u: snapshot.data_version(u) or "unknown" for u in whole}
        current.update({f: self.source_versions.get(f, "absent") for f in spec.file_sources})
        self.store.update(unit.asset, [(label, unit.first, unit.last, verified(current))])
        return False

    def _probe(self, unit: Unit, label: str) -> set[int] | None:
        """Indices of the asset's planned span whose query result changed (cached)."""
        import duckdb

        from .tables import probe_changed

        key = (unit.asset, label)
        with self._lock:
            if key in self._probed:
                return self._probed[key]
        span = self.planned.get(key)
        found: set[int] | None = None
        if self.warehouse is not None and span is not None:
            try:
                found = probe_changed(
                    self.warehouse,
                    name=unit.asset,
                    sql=self.graph.specs[unit.asset].sql or "",
                    definition=self.definitions[unit.asset],
                    static=unit.static,
                    first=span[0],
                    last=span[1],
                )
            except duckdb.Error:
                found = None
        with self._lock:
            self._probed[key] = found
        return found

    def consumed(self, unit: Unit, snapshot: CatalogSnapshot) -> dict[str, str]:
        """Versions a batch consumes: unpartitioned upstreams, sources (``*``: partitioned)."""
        spec = self.graph.specs[unit.asset]
        out = {
            u: "*" if u in self.definitions else snapshot.data_version(u) or "unknown"
            for u in spec.upstreams
        }
        out.update({t: "external" for t in spec.external_tables})
        out.update({f: self.source_versions.get(f, "absent") for f in spec.file_sources})
        return out

    def record_success(
        self, unit: Unit, result: BatchResult, consumed: dict[str, str], snapshot: CatalogSnapshot
    ) -> None:
        """Store a committed batch, and mark what reads the partitions whose data changed."""
        spec = self.graph.specs[unit.asset]
        definition = self.definitions[unit.asset]
        label = definition.static_label(unit.static)
        update = succeeded(fingerprint=spec.fingerprint, consumed=consumed_json(consumed))
        changed = [
            (lo, hi)
            for lo, hi, flag in merge(
                (w.index, w.index, w.previous != w.data_version) for w in result.partitions
            )
            if flag
        ]
        self.store.update(
            unit.asset,
            [(label, unit.first or 0, unit.last or 0, update)],
            rows_delta=sum(w.row_count - w.previous_rows for w in result.partitions),
            data_changed=bool(changed),
            marks=self._marks(unit, changed),
        )
        self.refresh(unit.asset, snapshot)

    def _marks(
        self, unit: Unit, changed: list[tuple[int, int]]
    ) -> list[tuple[str, str, int, int, Update]]:
        """Downstream partitions that read ``changed`` partitions of ``unit``'s asset."""
        if not changed:
            return []
        up = self.definitions[unit.asset]
        out: list[tuple[str, str, int, int, Update]] = []
        for down in self.graph.downstreams[unit.asset]:
            down_def = self.definitions.get(down)
            if down_def is None:
                continue
            for static in down_def.static_keys():
                if not compatible(down_def, static, up, unit.static):
                    continue
                label = down_def.static_label(static)
                for lo, hi in changed:
                    a, b = map_into(up, down_def, lo, hi, *EVERYWHERE)
                    out.append((down, label, a, b, marked(unit.asset)))
        return out

    def record_failure(self, unit: Unit, error: str | None) -> None:
        definition = self.definitions[unit.asset]
        assert unit.first is not None and unit.last is not None
        label = definition.static_label(unit.static)
        self.store.update(unit.asset, [(label, unit.first, unit.last, failed(error))])

    def refresh(self, name: str, snapshot: CatalogSnapshot) -> None:
        """Update the aggregate version an unpartitioned downstream will record."""
        summary = self.store.summary(name)
        snapshot.assets[name] = aggregate_history(self.graph.specs[name], summary)
