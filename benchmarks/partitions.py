"""Benchmark: reporting the state of 100,000 partitions.

Builds small projects whose partitioned assets have 100,000 partitions each, fills the
range store with a given fragmentation (written directly: this measures reporting, not
building), and times what ``assets partitions NAME`` and ``assets status`` do:

- ``read``: load the ranges of the assets from SQLite;
- ``judge``: per-partition staleness of every asset (``Project.judge()``: catalog
  snapshot, sources, the range sweep, an identity-mapped downstream asset);
- ``partitions --json``: the whole command, in-process, output included.

Scenarios (100,000 partitions per asset):

- ``hours, 1 range``: 11.4 years of hours, built by one backfill or by 100,000 hourly
  runs (ranges merge either way: nothing in a range says when it was built);
- ``hours, 1,000 ranges``: every 200th partition marked by a changed upstream;
- ``hours, 100,000 ranges``: the worst case, no two neighbours alike (alternate
  partitions marked); it bounds the cost, it is not a shape seen in practice;
- ``hours + downstream``: a second, identity-mapped hourly asset reading the first
  (200,000 partitions in the project), both with 1,000 ranges;
- ``days x 100 regions``: 1,000 days for each of 100 static keys, 1 range per key.

    python benchmarks/partitions.py            # the table (medians of 5)
    python benchmarks/partitions.py --reps 9

Not a test: numbers depend on the machine. Results are in docs/partitions.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

N = 100_000

HOURLY = """-- partitioned_by: ts
-- grain: hour
-- start: 2014-01-01T00:00
-- end: {end}
select ts, 1 as n from read_csv('data/events.csv') where ts >= $start and ts < $end
"""

CLEAN = """-- partitioned_by: ts
-- grain: hour
-- start: 2014-01-01T00:00
-- end: {end}
select ts, n from events where ts >= $start and ts < $end
"""

REGIONAL = """-- partitioned_by: day
-- grain: day
-- start: 2020-01-01
-- end: 2022-09-26
-- partitions: {{region: [{regions}]}}
select day, region, 1 as n from read_csv('data/sales.csv')
where day >= $start and day < $end and region = $region
"""


def _project(root: Path, scenario: str) -> tuple[Path, list[str]]:
    from assets_orch.partitions.definition import TimeDim

    (root / "models").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "assets.toml").write_text('name = "bench"\n')
    (root / "data/events.csv").write_text("ts\n2014-01-01 00:00:00\n")
    (root / "data/sales.csv").write_text("day,region\n2020-01-01,r000\n")
    if scenario.startswith("day"):
        regions = ", ".join(f"r{i:03d}" for i in range(100))
        (root / "models/sales.sql").write_text(REGIONAL.format(regions=regions))
        names = ["sales"]
    else:
        start = TimeDim.parse_index("hour", "2014-01-01T00:00")
        end = TimeDim("ts", "hour", start, None).key(start + N - 1)
        (root / "models/events.sql").write_text(HOURLY.format(end=end))
        names = ["events"]
        if "downstream" in scenario:
            (root / "models/events_clean.sql").write_text(CLEAN.format(end=end))
            names.append("events_clean")
    return root, names


def _fill(root: Path, scenario: str, names: list[str]) -> int:
    """Write the ranges the scenario describes straight into the store; returns rows."""
    import duckdb

    from assets_orch.partitions.context import definitions, open_store
    from assets_orch.partitions.definition import NO_TIME
    from assets_orch.project import Project

    con = duckdb.connect(str(root / "warehouse.duckdb"))
    for name in names:
        con.execute(f"CREATE TABLE {name} (x INTEGER)")
    con.close()
    project = Project.load(root)
    defs = definitions(project.graph)
    sources = project.source_versions()
    store = open_store(project)
    for name in names:
        store.ensure(name, defs[name].signature)
    store.close()
    rows = []
    for name in names:
        spec = project.graph.specs[name]
        d = defs[name]
        consumed = {u: "*" for u in spec.upstreams}
        consumed.update({f: sources[f] for f in spec.file_sources})
        blob = json.dumps(consumed, sort_keys=True, separators=(",", ":"))
        first, last = d.span(time.time())
        for static in d.static_keys():
            label = d.static_label(static)
            # A piece's flag: 1 = fresh, 2 = changed upstream data marked it (dirty).
            if "1,000 ranges" in scenario:
                pieces = []
                for cut in range(first, last + 1, 200):  # every 200th partition is dirty
                    pieces.append((cut, cut, 2))
                    if cut + 1 <= min(cut + 199, last):
                        pieces.append((cut + 1, min(cut + 199, last), 1))
            elif "100,000 ranges" in scenario:
                pieces = [(i, i, 1 + (i % 2)) for i in range(first, last + 1)]
            else:
                pieces = [(first, last if d.time else NO_TIME, 1)]
            up = spec.upstreams[0] if spec.upstreams else "x"
            for lo, hi, flag in pieces:
                dirty = up if flag == 2 else ""
                rows.append((name, label, lo, hi, "success", spec.fingerprint, blob, dirty, None))
    conn = sqlite3.connect(root / ".assets/catalog.sqlite")
    conn.executemany("INSERT INTO partition_ranges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(rows)


def _median(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(scenario: str, reps: int) -> dict[str, object]:
    from click.testing import CliRunner

    from assets_orch.cli import cli
    from assets_orch.partitions.context import definitions, load_inputs, open_store
    from assets_orch.project import Project

    with tempfile.TemporaryDirectory() as tmp:
        root, names = _project(Path(tmp) / "p", scenario)
        Project.load(root)  # creates the catalog
        ranges = _fill(root, scenario, names)
        project = Project.load(root)
        defs = definitions(project.graph)
        judgement = project.judge()
        total = sum(judgement.partitions[n].total for n in names)

        def read() -> None:
            store = open_store(project)
            load_inputs(store, defs)
            store.close()

        def command() -> None:
            with redirect_stdout(io.StringIO()):
                result = CliRunner().invoke(
                    cli, ["--project", str(root), "partitions", names[-1], "--json"]
                )
            assert result.exit_code == 0, result.output

        size = os.path.getsize(root / ".assets/catalog.sqlite")
        return {
            "scenario": scenario,
            "partitions": total,
            "ranges": ranges,
            "read": _median(read, reps),
            "judge": _median(lambda: project.judge(), reps),
            "command": _median(command, reps),
            "catalog": size,
        }


SCENARIOS = (
    "hours, 1 range",
    "hours, 1,000 ranges",
    "hours, 100,000 ranges",
    "hours + downstream, 1,000 ranges",
    "days x 100 regions",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"{'scenario':<34} {'partitions':>10} {'ranges':>8} {'read':>8} {'judge':>8} "
        f"{'partitions --json':>18} {'catalog':>9}"
    )
    for scenario in SCENARIOS:
        r = measure(scenario, args.reps)
        print(
            f"{r['scenario']:<34} {r['partitions']:>10,} {r['ranges']:>8,} "
            f"{r['read'] * 1000:>6.0f}ms {r['judge'] * 1000:>6.0f}ms "
            f"{r['command'] * 1000:>16.0f}ms {r['catalog'] / 1024:>7.0f}KB",
            flush=True,
        )
    print("\npartitions: of all assets in the project; ranges: rows in partition_ranges;")
    print("judge: Project.judge() (every asset's status); medians of", args.reps, "runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
