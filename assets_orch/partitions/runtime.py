"""What the engine asks about partitions while a run goes on.

The engine (execution.py) knows units of work — a whole asset, or a batch of
partitions of one asset — and nothing of ranges. This object answers its questions:
is this batch still stale now that its upstreams ran (early cutoff), how is a batch's
outcome stored (ranges, revisions), what version does a partitioned upstream have now.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .segments import merge
from .status import PartitionInputs, aggregate_history, unit_still_stale
from .store import PartitionStore, consumed_json, failed, succeeded

if TYPE_CHECKING:
    from ..execution import Unit
    from ..graph import AssetGraph
    from ..records import CatalogSnapshot
    from ..staleness import WarehouseView
    from .definition import PartitionsDef
    from .tables import BatchResult


@dataclass
class PartitionRuntime:
    """Partition bookkeeping for one run (thread-safe: workers call it)."""

    store: PartitionStore
    inputs: PartitionInputs
    graph: AssetGraph
    source_versions: dict[str, str]
    warehouse_view: WarehouseView
    run_id: str
    full_refresh: frozenset[str] = frozenset()
    _rev: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def definitions(self) -> dict[str, PartitionsDef]:
        return self.inputs.definitions

    def revision(self) -> int:
        """This run's revision, taken when the first partition is written."""
        with self._lock:
            if self._rev is None:
                self._rev = self.store.new_revision(self.run_id)
            return self._rev

    def still_stale(self, unit: Unit, snapshot: CatalogSnapshot) -> bool:
        spec = self.graph.specs[unit.asset]
        definition = self.definitions[unit.asset]
        assert unit.first is not None and unit.last is not None
        inputs = PartitionInputs(
            self.definitions,
            {unit.asset: self.store.ranges(unit.asset)},
            self.inputs.signatures,
            probes=self.inputs.probes,
        )
        ups = {u: self.store.ranges(u) for u in spec.upstreams if u in self.definitions}
        return unit_still_stale(
            spec,
            definition,
            inputs,
            snapshot=snapshot,
            source_versions=self.source_versions,
            warehouse=self.warehouse_view,
            static=unit.static,
            first=unit.first,
            last=unit.last,
            upstream_ranges=ups,
        )

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
        """Store a committed batch: partitions whose data changed get this revision."""
        spec = self.graph.specs[unit.asset]
        definition = self.definitions[unit.asset]
        rev = self.revision()
        blob = consumed_json(consumed)
        label = definition.static_label(unit.static)
        runs = merge((w.index, w.index, w.previous != w.data_version) for w in result.partitions)
        delta = sum(w.row_count - w.previous_rows for w in result.partitions)
        fp = spec.fingerprint
        self.store.update(
            unit.asset,
            [
                (label, lo, hi, succeeded(fingerprint=fp, rev=rev, changed=changed, consumed=blob))
                for lo, hi, changed in runs
            ],
            rows_delta=delta,
        )
        self.refresh(unit.asset, snapshot)

    def record_failure(self, unit: Unit, error: str | None) -> None:
        definition = self.definitions[unit.asset]
        assert unit.first is not None and unit.last is not None
        label = definition.static_label(unit.static)
        self.store.update(unit.asset, [(label, unit.first, unit.last, failed(error))])

    def refresh(self, name: str, snapshot: CatalogSnapshot) -> None:
        """Update the aggregate version an unpartitioned downstream will record."""
        summary = self.store.summary(name)
        snapshot.assets[name] = aggregate_history(self.graph.specs[name], summary)
