"""Timing whole processes: wall time and peak memory of one child, medians, the machine.

Each command runs as its own process, started by ``launch.py``, which reports that
process's own wall time, CPU time and peak resident set (``os.wait4``); a measurement is
never polluted by an earlier one, nor by the runner's own memory.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

LAUNCH = Path(__file__).parent / "launch.py"


class CommandFailed(RuntimeError):
    """A measured command exited non-zero: the numbers would be meaningless."""


class TimedOut(CommandFailed):
    """A command ran past its time limit and was stopped (SIGTERM, then SIGKILL)."""


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    seconds: float
    max_rss_mib: float
    cpu_seconds: float = 0.0  # user + system: less sensitive than wall time to a busy machine


@dataclass
class Timing:
    """Repeated runs of one command: median wall time and the peak memory seen."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def peak_mib(self) -> float:
        return max(s.max_rss_mib for s in self.samples)

    def to_json(self) -> dict[str, object]:
        return {
            "median_s": round(self.median, 4),
            "runs_s": [round(s.seconds, 4) for s in self.samples],
            "cpu_median_s": round(self.cpu_median, 4),
            "peak_rss_mib": round(self.peak_mib, 1),
        }


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Sample:
    """Run ``argv`` to completion through ``launch.py``; stdout and stderr go to ``log``.

    Raises CommandFailed on a non-zero exit, TimedOut past ``timeout`` seconds.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    report = log.with_suffix(".json")
    report.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", str(LAUNCH), str(report)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            launcher + argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a time-out stops the command too
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise TimedOut(
                f"{' '.join(argv)} (in {cwd}) ran past {timeout:.0f} s and was stopped"
            ) from None
    if proc.returncode != 0 or not report.exists():
        tail = log.read_text(errors="replace")[-2000:]
        raise CommandFailed(f"{' '.join(argv)} (in {cwd}) exited {proc.returncode}:\n{tail}")
    data = json.loads(report.read_text())
    # Linux reports ru_maxrss in KiB.
    return Sample(data["seconds"], data["max_rss_kib"] / 1024, data["cpu_seconds"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's group (a run cancels cleanly), SIGKILL a minute later."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def assets_command() -> list[str]:
    """The ``assets`` console script of this interpreter (not a shell shim in front of it)."""
    beside = Path(sys.executable).parent / "assets"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("assets")
    if found is None:
        raise CommandFailed("the 'assets' command is not installed: pip install -e .")
    return [found]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": pkg("duckdb"),
        "sqlglot": pkg("sqlglot"),
        "pydantic": pkg("pydantic"),
        "assets_orch": pkg("assets_orch"),
        "commit": _git_commit(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "../assets_orch"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # The working tree may hold other work in progress: name the files it touches.
    files = sorted({line[3:].split("/")[-1] for line in dirty.splitlines() if line.strip()})
    return head + (f"+uncommitted({', '.join(files)})" if files else "")
