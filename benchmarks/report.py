"""The results table: printed, and written as markdown and JSON for the history in git."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import Row

HEADER = (
    "scenario",
    "N",
    "rows",
    "runs",
    "assets (s)",
    "baseline (s)",
    "ratio",
    "CPU s (ratio)",
    "peak MiB",
    "target",
)


def _cells(row: Row) -> tuple[str, ...]:
    met = {True: "met", False: "MISSED", None: ""}[row.met]
    base = row.baseline
    if not row.assets.samples:
        size = (f"{row.n_models:,}", f"{row.rows:,}") if row.n_models and row.rows else ("", "")
        return (f"{row.scenario} ({row.note})", *size, "0", "-", "", "", "", "", "")
    return (
        row.scenario + (f" ({row.note})" if row.note else ""),
        f"{row.n_models:,}" if row.n_models else "",
        f"{row.rows:,}" if row.rows else "",
        str(len(row.assets.samples)),
        f"{row.assets.median:.3f}",
        f"{base.median:.3f}" if base and base.samples else "",
        f"{row.ratio:.2f}x" if row.ratio is not None else "",
        _cpu(row),
        f"{row.assets.peak_mib:.0f}" + (f" / {base.peak_mib:.0f}" if base and base.samples else ""),
        f"{row.target} {met}".strip(),
    )


def _cpu(row: Row) -> str:
    text = f"{row.assets.cpu_median:.2f}"
    base = row.baseline
    if base and base.samples and base.cpu_median > 0:
        text += f" ({row.assets.cpu_median / base.cpu_median:.2f}x)"
    return text


def markdown_table(rows: list[Row]) -> str:
    """The rows as a GitHub markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def markdown(
    rows: list[Row], info: dict[str, object], notes: list[str], *, quick: bool, reps: int
) -> str:
    """The whole report: machine, table, notes."""
    mode = "quick" if quick else "full"
    machine = ", ".join(f"{k} {v}" for k, v in info.items())
    text = [
        f"# Benchmark results ({mode}, {info.get('date')})",
        "",
        f"Machine: {machine}.",
        "",
        f"Medians of {reps} runs (fewer where the runs column says so), each a whole "
        "process (`assets ...` or the baseline script under `python`). "
        "Ratio = assets / baseline measured in the same invocation (wall time); CPU s = "
        "median user + system time of the process, and its ratio to the baseline's. "
        "Peak MiB = max resident set of the process (assets / baseline).",
        "",
        markdown_table(rows),
        "",
    ]
    if notes:
        text += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(text)


def write_report(
    output: Path,
    rows: list[Row],
    info: dict[str, object],
    notes: list[str],
    *,
    quick: bool,
    reps: int,
) -> tuple[Path, Path]:
    """Write ``<stamp>-<mode>.md`` and ``.json`` in ``output``; return both paths."""
    output.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M", time.gmtime())
    base = output / f"{stamp}-{'quick' if quick else 'full'}"
    md = base.with_suffix(".md")
    md.write_text(markdown(rows, info, notes, quick=quick, reps=reps))
    js = base.with_suffix(".json")
    payload = {
        "mode": "quick" if quick else "full",
        "repetitions": reps,
        "machine": info,
        "rows": [r.to_json() for r in rows],
        "notes": notes,
    }
    js.write_text(json.dumps(payload, indent=2) + "\n")
    return md, js
