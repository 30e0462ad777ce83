"""Column versions: what changed in a table, column by column, so that a change makes
stale only the downstream assets that read what changed.

Every successful build of a SQL asset records a version per output column and one for
its rows (``*rows``), each a hash of

- the column's code fingerprint (its expression through CTEs, not its alias or format),
- the versions of the upstream columns it reads (value and filter edges), and of
  every file it reads (a file's version covers all its columns),
- the version of the rows (which rows exist: joins, WHERE, GROUP BY, ...).

Equal versions mean equal data, since the same code over the same inputs gives the same
result; a column with ``random()`` or ``now()`` gets a version of its own at each build.
What cannot be proven (Python assets, unresolved lineage, partitioned or incremental
assets) gets one version for every column: its table's data version (``*``).

An asset whose recorded versions equal the ones its current code would produce from
its upstreams' versions is fresh, whatever else changed upstream: "non-breaking".
Before a run, the versions of an asset that will be rebuilt are predicted the same way.

>>> versions_equal({"a": "1", "*rows": "2"}, {"*rows": "2", "a": "1"})
True
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .column_lineage import AssetColumns, LineageStore, ProjectColumns
from .sql.columns import digest
from .staleness import UPSTREAM_CHANGED, UPSTREAM_STALE, AssetStatus, ColumnVerdict

if TYPE_CHECKING:
    from .catalog import Catalog
    from .graph import AssetGraph
    from .project import Project
    from .records import CatalogSnapshot, MaterializationRecord
    from .specs import AssetSpec
    from .sql.columns import SourceColumn
    from .warehouse import Warehouse

ROWS = "*rows"
ALL = "*"
UNKNOWN = "?"
Versions = dict[str, str]
Lookup = Callable[[str], "Versions | None"]


def versions_equal(a: Versions | None, b: Versions | None) -> bool:
    return a is not None and b is not None and a == b


def provable(spec: AssetSpec) -> bool:
    """Whether column versions can be derived from code for ``spec`` at all."""
    meta = spec.meta
    partitioned = meta.partitioned_by is not None or bool(meta.partitions)
    return spec.kind == "sql" and not partitioned and meta.incremental is None


def column_versions(
    spec: AssetSpec,
    columns: AssetColumns,
    upstream: Lookup,
    file_versions: dict[str, str],
    seed: str | None,
) -> Versions | None:
    """Versions of ``spec``'s columns from its lineage and its inputs' versions, or None
    when its code cannot tell (Python, unresolved, partitioned, incremental).

    ``upstream(asset)`` gives an upstream's versions. What cannot be known (a volatile
    column, an input without a version) is ``seed`` when recording a build (a
    materialization id: equal to nothing else) and ``?`` when predicting one (a version
    no build records), so that it can never prove two versions equal.
    """
    if not provable(spec) or columns.unresolved is not None or not columns.columns:
        return None
    unknown = seed or UNKNOWN

    def files(name: str) -> str:
        found = [file_versions.get(p) for p in name.split(", ")]
        return unknown if None in found else digest(*(f or "" for f in found))

    def source(ref: SourceColumn) -> str:
        if ref.kind == "asset":
            versions = upstream(ref.source) or {}
            return versions.get(ref.column.lower()) or versions.get(ALL) or unknown
        return files(ref.source) if ref.kind == "file" else "external"

    def rows_of(kind: str, name: str) -> str:
        if kind == "asset":
            versions = upstream(name) or {}
            return versions.get(ROWS) or versions.get(ALL) or unknown
        return files(name) if kind == "file" else "external"

    def collect(refs: Any) -> list[str]:
        return sorted(f"{r.kind}:{r.source}.{r.column.lower()}={source(r)}" for r in refs)

    rows = digest(
        columns.rows_fingerprint,
        unknown if columns.rows_volatile else "",
        *collect(columns.rows),
        *sorted(f"{k}:{n}={rows_of(k, n)}" for k, n in columns.sources),
    )
    out: Versions = {ROWS: rows}
    for col in columns.columns:
        out[col.name.lower()] = digest(
            col.fingerprint or unknown,
            unknown if col.volatile else "",
            rows,
            *collect(set(col.value) | set(col.filter)),
        )
    return out


def fallback(record: MaterializationRecord) -> Versions | None:
    """Every column's version is the table's data version."""
    return {ALL: record.data_version} if record.data_version else None


def _changes(old: Versions, new: Versions) -> tuple[list[str], list[str]]:
    """(added, changed or removed) column names between two version maps."""
    if ALL in old or ALL in new:
        return [], ["*"]
    added = sorted(k for k in new if k not in old and k != ROWS)
    changed = sorted(k for k in old if k != ROWS and new.get(k) != old[k])
    return added, changed


class Judge:
    """Decides, per asset, whether its columns are provably unchanged (a verdict)."""

    def __init__(
        self,
        columns: ProjectColumns,
        stored: Callable[[str], dict[str, Any] | None],
        source_versions: dict[str, str],
        predict: set[str] | None = None,
    ) -> None:
        self.columns = columns
        self.stored = stored
        self.source_versions = source_versions
        self.predict = predict or set()
        self._expected: dict[str, Versions | None] = {}

    def recorded(self, name: str) -> Versions | None:
        """Versions recorded with ``name``'s last successful build."""
        last = self.columns.snapshot.history(name).last_success
        if last is None:
            return None
        saved = self.stored(last.id)
        if saved is not None and isinstance(saved.get("columns"), dict):
            return dict(saved["columns"])
        return fallback(last)

    def expected(self, name: str) -> Versions | None:
        """Versions ``name`` has after this run: recorded, or predicted if it rebuilds."""
        if name in self._expected:
            return self._expected[name]
        self._expected[name] = None  # guards against cycles
        if name in self.predict:
            spec = self.columns.graph.specs[name]
            found = column_versions(
                spec, self.columns.of(name), self.expected, self.source_versions, None
            )
        else:
            found = self.recorded(name)
        self._expected[name] = found
        return found

    def verdict(self, name: str) -> ColumnVerdict:
        """Fresh when the current code over the upstreams' versions gives the versions
        recorded at the last build; the note says what changed upstream instead."""
        spec = self.columns.graph.specs[name]
        last = self.columns.snapshot.history(name).last_success
        saved = self.stored(last.id) if last is not None else None
        if last is None or saved is None or last.code_fingerprint != spec.fingerprint:
            return ColumnVerdict(False)
        consumed = saved.get("consumed") or {}
        for up in spec.check_upstreams:
            # Its checks read it: any change means they must run again (check_inputs.py).
            old, new = consumed.get(up), self.expected(up)
            if old is None or new is None or old != new:
                return ColumnVerdict(False)
        current = column_versions(
            spec, self.columns.of(name), self.expected, self.source_versions, None
        )
        if not versions_equal(current, saved.get("columns")):
            return ColumnVerdict(False)
        notes = []
        for up in spec.upstreams:
            old, new = consumed.get(up), self.expected(up)
            if old is None or new is None or old == new:
                continue
            added, changed = _changes(old, new)
            if added and not changed:
                notes.append(f"{up} added columns {', '.join(added)}")
            elif changed != ["*"]:
                items = [f"changed {', '.join(changed)}"] if changed else []
                items += [f"added {', '.join(added)}"] if added else []
                notes.append(f"{up} {' and '.join(items)} (not read here)")
        note = "non-breaking: " + (
            "; ".join(notes) if notes else "upstream changes do not reach its columns"
        )
        return ColumnVerdict(True, note)


def refine_statuses(
    project: Project,
    statuses: dict[str, AssetStatus],
    *,
    snapshot: CatalogSnapshot,
    source_versions: dict[str, str],
    keep: set[str] | None = None,
    warehouse: Warehouse | None = None,
) -> dict[str, AssetStatus]:
    """Statuses where upstream changes that do not reach an asset's columns are
    dropped (with a note). Returns ``statuses`` itself when nothing can change."""
    from .staleness import apply_column_verdicts

    keep = keep or set()
    candidates = [
        name
        for name, st in statuses.items()
        if name not in keep
        and any(r.kind in (UPSTREAM_CHANGED, UPSTREAM_STALE) for r in st.reasons)
        and not any(r.kind not in (UPSTREAM_CHANGED, UPSTREAM_STALE) for r in st.reasons)
    ]
    if not candidates:
        return statuses
    columns = ProjectColumns.for_project(
        project, warehouse=warehouse, snapshot=snapshot, source_versions=source_versions
    )
    try:
        judge = Judge(
            columns,
            _stored_reader(project.catalog, snapshot),
            source_versions,
            predict={n for n, st in statuses.items() if st.is_stale},
        )
        verdicts = {}
        for name in project.graph.order(candidates):
            try:
                verdicts[name] = judge.verdict(name)
            except Exception:  # noqa: BLE001 - lineage must never break status
                verdicts[name] = ColumnVerdict(False)
    finally:
        columns.close()
    return apply_column_verdicts(project.graph, statuses, verdicts, keep=keep)


def _stored_reader(
    catalog: Catalog, snapshot: CatalogSnapshot
) -> Callable[[str], dict[str, Any] | None]:
    """Column versions of every last success, read in one query."""
    ids = [h.last_success.id for h in snapshot.assets.values() if h.last_success is not None]
    saved = catalog.column_versions(ids)
    extra: dict[str, dict[str, Any] | None] = {}

    def read(mid: str) -> dict[str, Any] | None:
        if mid in saved:
            return saved[mid]
        if mid not in extra:
            extra[mid] = catalog.column_versions([mid]).get(mid)
        return extra[mid]

    return read


class ColumnTracker:
    """The engine's side: record versions and lineage after each build, and judge an
    asset whose upstreams changed during the run (early cutoff by columns).

    One :class:`ProjectColumns` serves the whole run; a build forgets what was computed
    for the asset and its descendants (their inputs' columns may have changed).

    Recording is sqlglot work (parse, qualify, lineage) that no build waits for: builds
    hand it to one background thread (:meth:`record_later`), which works through it in
    the order the builds finished (upstreams before their readers) while the next
    queries run in DuckDB. :meth:`fresh` and :meth:`finish` wait for it to catch up. A
    build whose versions were never recorded (a crash, a cancelled run) falls back to
    its table's data version: stale rather than wrongly fresh.
    """

    def __init__(
        self,
        graph: AssetGraph,
        catalog: Catalog,
        warehouse: Warehouse,
        source_versions: dict[str, str],
        schema_name: str,
    ) -> None:
        self.graph = graph
        self.catalog = catalog
        self.warehouse = warehouse
        self.source_versions = source_versions
        self.schema_name = schema_name
        self.store = LineageStore(catalog)
        self._lock = threading.Lock()
        self._columns: ProjectColumns | None = None
        self._saved: dict[str, dict[str, Any] | None] = {}  # materialization id -> versions
        self._queue: queue.Queue[tuple[AssetSpec, MaterializationRecord, CatalogSnapshot]] = (
            queue.Queue()
        )
        self._recorder: threading.Thread | None = None
        self._dropping = False

    def _stored(self, mid: str) -> dict[str, Any] | None:
        # Versions of a materialization never change once written: cache them.
        if mid not in self._saved:
            self._saved[mid] = self.catalog.column_versions([mid]).get(mid)
        return self._saved[mid]

    def _project(self, snapshot: CatalogSnapshot) -> ProjectColumns:
        if self._columns is None or self._columns.snapshot is not snapshot:
            self._columns = ProjectColumns(
                graph=self.graph,
                catalog=self.catalog,
                snapshot=snapshot,
                source_versions=self.source_versions,
                warehouse=self.warehouse,
                store=self.store,
                schema_name=self.schema_name,
            )
        return self._columns

    def record(
        self, spec: AssetSpec, record: MaterializationRecord, snapshot: CatalogSnapshot
    ) -> None:
        """Store the lineage and column versions of a successful build. Never raises."""
        try:
            with self._lock:
                columns = self._project(snapshot)
                columns.forget([spec.name, *self.graph.descendants(spec.name)])
                built = columns.record_built(spec.name, record.id)
                judge = Judge(columns, self._stored, self.source_versions)
                versions = column_versions(
                    spec, built, judge.expected, self.source_versions, record.id
                )
                consumed = {up: judge.expected(up) for up in spec.upstreams}
                saved = {"columns": versions or fallback(record), "consumed": consumed}
                self.catalog.save_column_versions(record.id, spec.name, saved)
                self._saved[record.id] = saved
                self.store.flush()
        except Exception:  # noqa: BLE001 - lineage must never fail a build
            return

    def record_later(
        self, spec: AssetSpec, record: MaterializationRecord, snapshot: CatalogSnapshot
    ) -> None:
        """:meth:`record` on the background thread, after what was queued before."""
        self.start()
        self._queue.put((spec, record, snapshot))

    def start(self) -> None:
        """Start the background thread (at the start of a run: its first task, importing
        sqlglot's optimizer, ~0.2 s, then overlaps the first builds)."""
        with self._lock:
            if self._recorder is None:
                self._recorder = threading.Thread(
                    target=self._record_queued, name="column-recorder", daemon=True
                )
                self._recorder.start()

    def _record_queued(self) -> None:
        from .sql import column_prepare  # noqa: F401 - imports sqlglot's optimizer passes

        while True:
            spec, record, snapshot = self._queue.get()
            try:
                if not self._dropping:
                    self.record(spec, record, snapshot)
            finally:
                self._queue.task_done()

    def finish(self, *, drop: bool = False) -> None:
        """Wait until every queued build is recorded; ``drop`` skips what is left (a
        cancelled run ends at once; those builds fall back to their data versions)."""
        self._dropping = drop
        self._queue.join()
        self._dropping = False

    def fresh(self, spec: AssetSpec, snapshot: CatalogSnapshot) -> ColumnVerdict:
        """Whether ``spec``'s columns are unchanged by what its upstreams just rebuilt."""
        self.finish()  # its upstreams' builds must be recorded first
        try:
            with self._lock:
                columns = self._project(snapshot)
                return Judge(columns, self._stored, self.source_versions).verdict(spec.name)
        except Exception:  # noqa: BLE001
            return ColumnVerdict(False)
