"""Load what partition staleness needs for a project, and judge every asset.

:func:`project_status` is what ``Project.status()`` calls: without partitioned assets it
is exactly :func:`~assets_orch.staleness.compute_status`; with them, partitioned assets
are judged per partition (status.py) and unpartitioned ones see each partitioned
upstream as one aggregate version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import MetadataError, WarehouseError
from ..staleness import AssetStatus, compute_status
from .definition import PartitionsDef
from .params import check_params
from .segments import runs
from .status import PartitionInputs, PartitionStatus, compute, overlay_snapshot
from .store import PartitionStore, RangeState, verified

if TYPE_CHECKING:
    from ..graph import AssetGraph
    from ..project import Project
    from ..records import CatalogSnapshot
    from ..warehouse import Warehouse

STORE_FILE = "catalog.sqlite"  # the ranges live beside the catalog's tables


def definitions(graph: AssetGraph) -> dict[str, PartitionsDef]:
    """The partitioned assets of ``graph``, validated (and incremental queries checked)."""
    out: dict[str, PartitionsDef] = {}
    for name, spec in graph.specs.items():
        definition = PartitionsDef.from_meta(spec.meta, path=spec.path)
        if definition is None and spec.meta.incremental is None:
            continue
        if spec.kind != "sql":
            raise MetadataError(
                f"@asset '{name}': partitioned and incremental assets are SQL assets",
                path=spec.path,
                line=spec.line,
                hint="write the asset as a .sql file with $start / $end, or drop the keys",
            )
        check_params(spec, definition)
        if definition is not None:
            out[name] = definition
    return out


@dataclass
class Judgement:
    """Statuses of every asset, partition statuses, and the inputs they came from."""

    statuses: dict[str, AssetStatus]
    partitions: dict[str, PartitionStatus]
    inputs: PartitionInputs | None
    snapshot: CatalogSnapshot
    source_versions: dict[str, str]
    probe_notes: list[str]


def open_store(project: Project) -> PartitionStore:
    return PartitionStore(project.state_dir / STORE_FILE)


def load_inputs(
    store: PartitionStore, defs: dict[str, PartitionsDef], schema: str | None = None
) -> PartitionInputs:
    return PartitionInputs(
        definitions=defs,
        ranges={n: store.ranges(n) for n in defs},
        signatures={n: store.signature(n) for n in defs},
        schemas={n: store.schema(n) for n in defs},
        schema=schema,
        summaries={n: store.summary(n) for n in defs},
    )


def project_status(
    project: Project,
    *,
    now: float | None = None,
    warehouse: Warehouse | None = None,
    probe: bool = True,
    only: set[str] | None = None,
) -> Judgement:
    """Judge every asset of ``project`` (partitioned ones per partition).

    ``warehouse``: an open warehouse (the writer's); otherwise it is opened read-only
    for source probes when free. ``probe=False`` skips probes: a changed source file
    then makes every partition built from its old version stale.
    """
    now = now or time.time()
    graph = project.graph
    defs = definitions(graph)
    if defs:
        only = None  # partitions are judged across the project (mappings, probes)
    snapshot = project.snapshot(only)
    sources = project.source_versions(now=now, only=only)
    if not defs:
        statuses = compute_status(graph, snapshot, sources, project.warehouse_view, now, only=only)
        return Judgement(statuses, {}, None, snapshot, sources, [])
    store = open_store(project)
    try:
        inputs = load_inputs(store, defs, project.config.schema_name)
    finally:
        store.close()
    overlaid = overlay_snapshot(snapshot, graph, inputs)
    notes: list[str] = []
    if probe:
        current = _inputs_now(graph, inputs, sources, overlaid)
        notes = run_probes(project, inputs, current, warehouse)
    base = compute_status(graph, overlaid, sources, project.warehouse_view, now)
    # Upstream changes that reach no column a partitioned asset reads are dropped first,
    # so its partitions are judged on what really changed (docs/column-lineage.md).
    from ..column_versions import refine_statuses

    base = refine_statuses(
        project, base, snapshot=overlaid, source_versions=sources, warehouse=warehouse
    )
    statuses, parts = compute(
        graph,
        base,
        inputs,
        snapshot=overlaid,
        source_versions=sources,
        warehouse=project.warehouse_view,
        now=now,
    )
    return Judgement(statuses, parts, inputs, overlaid, sources, notes)


def _inputs_now(
    graph: AssetGraph,
    inputs: PartitionInputs,
    sources: dict[str, str],
    snapshot: CatalogSnapshot,
) -> dict[str, dict[str, str]]:
    """Per partitioned asset: the current version of each file source and unpartitioned
    upstream it reads (what a probe compares the consumed versions with)."""
    out = {}
    for name in inputs.definitions:
        spec = graph.specs[name]
        now = {f: sources.get(f, "absent") for f in spec.file_sources}
        for up in spec.upstreams:
            version = snapshot.data_version(up)
            if up not in inputs.definitions and version is not None:
                now[up] = version
        out[name] = now
    return out


def _probe_targets(
    inputs: PartitionInputs, current: dict[str, dict[str, str]]
) -> list[tuple[str, str, int, int]]:
    """(asset, static label, first, last) spans with partitions built from inputs that
    changed since (file sources, unpartitioned upstreams)."""
    targets = []
    for name, definition in inputs.definitions.items():
        now = current.get(name, {})
        if not now or inputs.signatures.get(name) not in (None, definition.signature):
            continue
        if inputs.moved(name) is not None:
            continue  # its ranges describe a table in another schema: all missing here
        verdicts: dict[RangeState, bool] = {}  # states are shared: judge each once
        for label, segments in inputs.ranges.get(name, {}).items():
            old = [(a, b) for a, b, st in segments if _outdated(st, now, verdicts)]
            if old:
                targets.append((name, label, old[0][0], old[-1][1]))
    return targets


def _outdated(st: RangeState, now: dict[str, str], seen: dict[RangeState, bool]) -> bool:
    """Whether a built range consumed an input version other than the current one."""
    found = seen.get(st)
    if found is None:
        consumed = st.consumed_map()
        found = seen[st] = st.built and any(
            consumed.get(k) not in (None, v) for k, v in now.items()
        )
    return found


def run_probes(
    project: Project,
    inputs: PartitionInputs,
    current: dict[str, dict[str, str]],
    warehouse: Warehouse | None,
) -> list[str]:
    """Find which partitions changed inputs really change (see tables.py)."""
    import duckdb

    from .tables import probe_changed

    inputs.current = current
    targets = _probe_targets(inputs, current)
    if not targets:
        return []
    own = None
    if warehouse is None:
        own = project.open_warehouse()
        try:
            own.connect(read_only=True)
        except WarehouseError:
            return ["the warehouse is busy: changed sources are not probed per partition"]
        warehouse = own
    notes = []
    try:
        for name, label, first, last in targets:
            definition = inputs.definitions[name]
            spec = project.graph.specs[name]
            try:
                changed = probe_changed(
                    warehouse,
                    name=name,
                    sql=spec.sql or "",
                    definition=definition,
                    static=definition.parse_static_label(label),
                    first=first,
                    last=last,
                )
            except duckdb.Error as e:
                notes.append(f"{name}: cannot probe its sources ({str(e).splitlines()[0]})")
                continue
            inputs.probes.setdefault(name, {})[label] = [(a, b, True) for a, b in runs(changed)]
    finally:
        if own is not None:
            own.close()
    return notes


def save_verified(store: PartitionStore, judgement: Judgement, graph: AssetGraph) -> None:
    """Record that probed partitions whose result did not change consumed the new sources.

    Called by the writer, so that the next status does not probe them again.
    """
    inputs = judgement.inputs
    if inputs is None:
        return
    for name, labels in inputs.probes.items():
        current = inputs.current.get(name, {})
        changes = []
        for label, changed in labels.items():
            changed_set = [(a, b) for a, b, _ in changed]
            for a, b, st in inputs.ranges.get(name, {}).get(label, []):
                if not st.built:
                    continue
                for lo, hi in _minus(a, b, changed_set):
                    changes.append((label, lo, hi, verified(current)))
        if changes:
            store.update(name, changes)


def _minus(a: int, b: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``a..b`` without the (sorted) ``holes``."""
    out = []
    position = a
    for lo, hi in holes:
        if hi < position or lo > b:
            continue
        if lo > position:
            out.append((position, lo - 1))
        position = max(position, hi + 1)
    if position <= b:
        out.append((position, b))
    return out
