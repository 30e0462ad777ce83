"""The benchmark runner: generate projects, time the ``assets`` command and the baseline.

Every measurement is a whole process (the real console script), repeated; the table
reports medians, the ratio to the plain-script baseline timed in the same invocation,
the peak memory, and the issue's target when there is one. The suite is data: a list
of :class:`Suite` rows, one per project size, saying which scenarios run on it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .generate import ProjectPlan, generate
from .measure import (
    CommandFailed,
    Sample,
    TimedOut,
    Timing,
    assets_command,
    machine,
    run_process,
)

HERE = Path(__file__).parent
BASELINE = HERE / "baseline.py"


@dataclass(frozen=True)
class Suite:
    """One generated project and the scenarios measured on it."""

    n_models: int
    rows: int
    build: bool = False  # full cold build vs baseline
    noop: bool = False  # materialize --stale with nothing stale
    changed: bool = False  # one model changed: its downstream closure vs baseline
    reads: bool = False  # list (cold/cached parse), status, lineage, catalog export
    max_reps: int | None = None  # fewer repetitions for the heaviest projects


FULL = (
    Suite(100, 10_000, build=True),
    Suite(500, 10_000, build=True, noop=True, changed=True),
    Suite(1_000, 10_000, build=True, noop=True, reads=True, max_reps=2),
    Suite(100, 2_000_000, build=True, changed=True, max_reps=2),
    Suite(10_000, 1_000, noop=True, reads=True, max_reps=2),
)
QUICK = (
    Suite(40, 2_000, build=True, noop=True, changed=True, reads=True),
    Suite(200, 1_000, noop=True, reads=True),
)


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    n_models: int | None
    rows: int | None
    assets: Timing
    baseline: Timing | None = None
    note: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.samples:
            return None
        return self.assets.median / self.baseline.median

    def to_json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "n_models": self.n_models,
            "rows": self.rows,
            "assets": self.assets.to_json() if self.assets.samples else None,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "ratio": round(self.ratio, 3) if self.ratio is not None else None,
            "target": self.target or None,
            "met": self.met,
            "note": self.note or None,
        }


def _target(row: Row) -> tuple[str, bool | None]:
    """The issue's target for this row, and whether it is met."""
    s, n, r = row.scenario, row.n_models, row.rows
    med, ratio, mem = row.assets.median, row.ratio, row.assets.peak_mib
    if s == "full build" and n == 500 and r == 10_000 and ratio is not None:
        return "<= 1.15x baseline", ratio <= 1.15
    if s == "full build" and r == 2_000_000 and ratio is not None:
        return "<= 1.05x baseline", ratio <= 1.05
    if s == "no-op --stale" and n == 500:
        return "< 0.3 s", med < 0.3
    if s == "no-op --stale" and n == 1_000:
        return "< 1 s (issue title)", med < 1.0
    if s == "no-op --stale" and n == 10_000:
        return "< 1 s, < 1 GiB", med < 1.0 and mem < 1024
    if s.startswith("full build") and n == 10_000:
        return "< 1 GiB", mem < 1024
    if s == "one model changed" and row.baseline is not None:
        return "<= baseline + 0.3 s", med <= row.baseline.median + 0.3
    if s == "status" and n == 10_000:
        return "< 2 s, < 1 GiB", med < 2.0 and mem < 1024
    if s.startswith("lineage") and n == 10_000:
        return "< 1 s, < 1 GiB", med < 1.0 and mem < 1024
    if s == "catalog export" and n == 10_000:
        return "< 60 s, < 1 GiB", med < 60 and mem < 1024
    if s == "assets --help":
        return "< 0.15 s", med < 0.15
    return "", None


@dataclass
class Runner:
    """Runs suites in ``workdir`` with ``reps`` repetitions and collects rows."""

    workdir: Path
    reps: int
    say: Callable[[str], None] = print
    build_timeout: float = 480.0  # the one build preparing the 10,000-model project
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.assets = assets_command()
        self.env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
        self.env.pop("ASSETS_DEBUG", None)
        # As on a user's machine: compiled modules are cached in __pycache__ (a sandbox
        # setting PYTHONDONTWRITEBYTECODE would add ~0.1 s of compiling to every command).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self._logs = self.workdir / "logs"
        self._log_n = 0

    # ---- plumbing ---------------------------------------------------------------------

    def _run(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Sample:
        self._log_n += 1
        log = self._logs / f"{self._log_n:04d}.log"
        return run_process(argv, cwd=cwd, log=log, env=env or self.env, timeout=timeout)

    def _add_missing(self, scenario: str, suite: Suite) -> None:
        row = Row(scenario, suite.n_models, suite.rows, Timing(), note="not finished")
        self.rows.append(row)

    def _cli(
        self,
        project: Path,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Sample:
        return self._run([*self.assets, *args], project, env, timeout)

    def _baseline(self, project: Path, db: Path, script: Path) -> Sample:
        return self._run([sys.executable, str(BASELINE), str(db), str(script)], project)

    def _add(self, row: Row) -> None:
        row.target, row.met = _target(row)
        self.rows.append(row)
        ratio = f"  {row.ratio:.2f}x baseline" if row.ratio is not None else ""
        size = f" N={row.n_models}" if row.n_models else ""
        self.say(f"  {row.scenario}{size}: {row.assets.median:.3f} s{ratio}")

    # ---- scenarios --------------------------------------------------------------------

    def suite(self, suite: Suite) -> None:
        name = f"n{suite.n_models}_r{suite.rows}"
        root = self.workdir / name
        self.say(f"project {name}: generating")
        if root.exists():
            shutil.rmtree(root)
        plan = generate(root, suite.n_models, rows=suite.rows, seed=0)
        reps = self.reps
        if suite.max_reps is not None:
            self.reps = min(self.reps, suite.max_reps)
        try:
            self._suite(suite, plan, root)
        finally:
            self.reps = reps
        if not os.environ.get("BENCHMARKS_KEEP"):
            shutil.rmtree(root, ignore_errors=True)

    def _suite(self, suite: Suite, plan: ProjectPlan, root: Path) -> None:
        if suite.build:
            self.full_build(suite, plan, root)
        else:
            self.say("  building once (not compared with the baseline)")
            self._clean(root)
            try:
                once = Timing([self._cli(root, "materialize", timeout=self.build_timeout)])
            except TimedOut:
                self.notes.append(
                    f"N={suite.n_models}: the build that prepares the project did not finish "
                    f"in {self.build_timeout / 60:.1f} min and was cancelled; the N="
                    f"{suite.n_models} rows are measured on the partly built project and the "
                    "no-op row is left out (it would not be a no-op)"
                )
                self._add_missing("full build, 1 run", suite)
                if suite.reads:
                    self.reads(suite, plan, root)
                return
            self._add(
                Row("full build, 1 run", suite.n_models, suite.rows, once, note="prepares the rest")
            )
        if suite.noop:
            self.noop(suite, root)
        if suite.reads:
            self.reads(suite, plan, root)
        if suite.changed:
            self.changed(suite, plan, root)

    @staticmethod
    def _clean(root: Path) -> None:
        shutil.rmtree(root / ".assets", ignore_errors=True)
        for f in ("warehouse.duckdb", "warehouse.duckdb.wal", "base.duckdb", "base.duckdb.wal"):
            (root / f).unlink(missing_ok=True)

    def full_build(self, suite: Suite, plan: ProjectPlan, root: Path) -> None:
        ours, base = Timing(), Timing()
        for _ in range(self.reps):  # interleaved, so that drift hits both alike
            self._clean(root)
            ours.samples.append(self._cli(root, "materialize"))
            base.samples.append(self._baseline(root, root / "base.duckdb", root / "baseline.sql"))
        self._check_counts(plan, root)
        self._add(
            Row("full build", suite.n_models, suite.rows, ours, base, f"{len(plan.models)} assets")
        )

    def noop(self, suite: Suite, root: Path) -> None:
        timing = Timing([self._cli(root, "materialize", "--stale") for _ in range(self.reps)])
        log = (self._logs / f"{self._log_n:04d}.log").read_text()
        if "nothing to do" not in log:
            raise CommandFailed(f"materialize --stale was not a no-op:\n{log[-1000:]}")
        self._add(Row("no-op --stale", suite.n_models, suite.rows, timing))

    def reads(self, suite: Suite, plan: ProjectPlan, root: Path) -> None:
        n, r = suite.n_models, suite.rows
        cold, warm = Timing(), Timing()
        for _ in range(self.reps):
            env = self._cold_parse_env(root)
            # --json: the load itself, not the layout of a 10,000-row table.
            cold.samples.append(self._cli(root, "list", "--json", env=env))
            warm.samples.append(self._cli(root, "list", "--json", env=env))
        note = "" if self._has_parse_cache(root) else "no parse cache found: both runs parse"
        self._add(Row("load: list --json (first run, parse cache cleared)", n, r, cold, note=note))
        self._add(Row("load: list --json (second run)", n, r, warm, note=note))
        status = Timing([self._cli(root, "status") for _ in range(self.reps)])
        self._add(Row("status", n, r, status))
        focus = _middle_model(plan)
        lineage = Timing([self._cli(root, "lineage", focus) for _ in range(self.reps)])
        self._add(Row("lineage NAME", n, r, lineage, note=focus))
        self.catalog_export(suite, root)

    def catalog_export(self, suite: Suite, root: Path) -> None:
        try:
            self._cli(root, "catalog", "export", "--help")
        except CommandFailed:
            note = "skipped: 'assets catalog export' does not exist in this version"
            if note not in self.notes:
                self.notes.append(note)
            return
        help_text = (self._logs / f"{self._log_n:04d}.log").read_text()
        out = self.workdir / "site"
        args = ["catalog", "export"]
        if "DIRECTORY" in help_text.splitlines()[0]:
            args.append(str(out))
        elif "--output" in help_text:
            args += ["--output", str(out)]
        timing = Timing()
        for _ in range(self.reps):
            shutil.rmtree(out, ignore_errors=True)
            timing.samples.append(self._cli(root, *args))
        self._add(Row("catalog export", suite.n_models, suite.rows, timing))

    def changed(self, suite: Suite, plan: ProjectPlan, root: Path) -> None:
        target, closure = _changed_target(plan)
        model = plan.by_name()[target]
        path = root / model.path
        original = path.read_text()
        assert "round(amount, 2) as amount" in original
        ours, base = Timing(), Timing()
        for rep in range(self.reps):
            factor = f"{1 + (rep + 1) / 100:.2f}"
            edited = original.replace("round(amount, 2)", f"round(amount * {factor}, 2)")
            path.write_text(edited)
            ours.samples.append(self._cli(root, "materialize", "--stale"))
            script = root / "closure.sql"
            sql = {m.name: m.sql for m in plan.models}
            sql[target] = model.sql.replace("round(amount, 2)", f"round(amount * {factor}, 2)")
            script.write_text(
                "\n".join(
                    f"CREATE OR REPLACE TABLE {name} AS\n{sql[name].strip()};\n" for name in closure
                )
            )
            base.samples.append(self._baseline(root, root / "base.duckdb", script))
        path.write_text(original)
        self._add(
            Row(
                "one model changed",
                suite.n_models,
                suite.rows,
                ours,
                base,
                f"{target}: {len(closure)} assets downstream (incl. itself)",
            )
        )

    def startup(self) -> None:
        timing = Timing([self._cli(self.workdir, "--help") for _ in range(max(5, self.reps))])
        self._add(Row("assets --help", None, None, timing))

    # ---- helpers ----------------------------------------------------------------------

    def _cold_parse_env(self, root: Path) -> dict[str, str]:
        """Forget any parse cache: in .assets/ and in a per-project XDG cache folder."""
        state = root / ".assets"
        if state.is_dir():
            for entry in state.iterdir():
                if "cache" in entry.name.lower():
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        xdg = self.workdir / "xdg-cache"
        shutil.rmtree(xdg, ignore_errors=True)
        xdg.mkdir(parents=True)
        return {**self.env, "XDG_CACHE_HOME": str(xdg)}

    def _has_parse_cache(self, root: Path) -> bool:
        state = root / ".assets"
        in_state = state.is_dir() and any("cache" in e.name.lower() for e in state.iterdir())
        xdg = self.workdir / "xdg-cache"
        return in_state or (xdg.is_dir() and any(xdg.iterdir()))

    def _check_counts(self, plan: ProjectPlan, root: Path) -> None:
        """The orchestrator built the same tables, with the same row counts, as the script."""
        mismatched = compare_row_counts(root / "warehouse.duckdb", root / "base.duckdb", plan)
        if mismatched:
            raise CommandFailed(f"row counts differ from the baseline: {mismatched[:5]}")


def compare_row_counts(ours: Path, base: Path, plan: ProjectPlan) -> list[str]:
    """Names of the models whose row counts differ between two warehouses."""
    import duckdb

    a = duckdb.connect(str(ours), read_only=True)
    b = duckdb.connect(str(base), read_only=True)
    try:
        bad = []
        for m in plan.models:
            q = f"SELECT count(*) FROM {m.name}"
            if a.execute(q).fetchone() != b.execute(q).fetchone():
                bad.append(m.name)
        return bad
    finally:
        a.close()
        b.close()


def _middle_model(plan: ProjectPlan) -> str:
    ints = [m.name for m in plan.models if m.name.startswith("int_")]
    return ints[len(ints) // 2]


def _changed_target(plan: ProjectPlan) -> tuple[str, list[str]]:
    """A staging events model whose downstream closure is closest to a tenth of the project."""
    goal = max(2, len(plan.models) // 10)
    best: tuple[int, str, list[str]] | None = None
    for m in plan.models:
        if not m.name.endswith("_events"):
            continue
        closure = plan.downstream_closure(m.name)
        score = abs(len(closure) - goal)
        if best is None or score < best[0]:
            best = (score, m.name, closure)
    assert best is not None
    return best[1], best[2]


def run(
    *,
    quick: bool,
    workdir: Path,
    output: Path,
    reps: int | None = None,
    build_timeout: float = 480.0,
    say: Callable[[str], None] = print,
) -> tuple[list[Row], dict[str, object], list[str]]:
    """Run the whole benchmark; write markdown and JSON to ``output``; return the rows."""
    from .report import write_report

    workdir.mkdir(parents=True, exist_ok=True)
    runner = Runner(workdir, reps or (2 if quick else 3), say, build_timeout=build_timeout)
    info = machine()
    say(f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB")
    for suite in QUICK if quick else FULL:
        runner.suite(suite)
    runner.startup()
    runner.notes += _peers()
    runner.notes.append(
        "load average (1, 5, 15 min) at the start: "
        f"{info.get('load_average')}, at the end: {[round(x, 2) for x in os.getloadavg()]}"
    )
    write_report(output, runner.rows, info, runner.notes, quick=quick, reps=runner.reps)
    return runner.rows, info, runner.notes


def _peers() -> list[str]:
    import importlib.util

    notes = []
    for module, label in (("dbt.adapters.duckdb", "dbt-duckdb"), ("sqlmesh", "SQLMesh")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            notes.append(f"peer {label}: skipped (not installed in this environment)")
        else:
            notes.append(f"peer {label}: installed, but no runner for it yet (skipped)")
    return notes
