"""The CLI's fast printing paths write exactly what rich would have written.

Progress lines and big tables skip rich's layout when the result is plain text that
fits; these tests compare both, character for character, on the cases that matter:
fits, too wide (rich wraps), markup-like text, non-ASCII names, empty tables.
"""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console
from rich.text import Text

from assets_orch.cli import render
from assets_orch.outcomes import AssetOutcome, Event
from assets_orch.records import MaterializationRecord
from assets_orch.staleness import AssetStatus, Reason


def _console(width: int, *, terminal: bool = False) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        highlight=False,
        soft_wrap=False,
        force_terminal=terminal,
        color_system="truecolor" if terminal else None,
    )


def _statuses(n: int, *, long_reason: bool = False) -> list[AssetStatus]:
    now = time.time()
    out = []
    for i in range(n):
        last = (
            None
            if i % 3 == 0
            else MaterializationRecord(
                id="m",
                run_id="r",
                asset="a",
                status="success",
                started_at=now - 100,
                ended_at=now - 50,
                attempt=1,
                row_count=(None, 5, 12_345)[i % 3],
            )
        )
        reasons: tuple[Reason, ...] = () if i % 2 else (Reason("code changed"),)
        if long_reason:
            reasons += (Reason("upstream stale", "x" * 70),)
        name = ("orders", "b[x]", "ünïcode", "stg_d000_002_events")[i % 4] + str(i)
        state = ("fresh", "stale", "missing", "failed")[i % 4]
        out.append(AssetStatus(name=name, state=state, reasons=reasons, last=last))
    return out


def _rich_table(grid: render.Grid, console: Console) -> str:
    console.print(grid.table())
    return console.file.getvalue()  # type: ignore[attr-defined]


def _fast(grid: render.Grid, console: Console) -> str:
    grid.print(console)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [30, 80, 200], ids=lambda w: f"width{w}")
@pytest.mark.parametrize(
    ("n", "long_reason"), [(0, False), (7, False), (7, True)], ids=["empty", "short", "long"]
)
def test_status_grid_prints_what_rich_prints(width: int, n: int, long_reason: bool) -> None:
    grid = render.status_grid(_statuses(n, long_reason=long_reason))
    assert _fast(grid, _console(width)) == _rich_table(grid, _console(width))


@pytest.mark.parametrize("width", [40, 120], ids=lambda w: f"width{w}")
def test_status_grid_on_a_terminal_shows_the_same_text(width: int) -> None:
    grid = render.status_grid(_statuses(9))
    fast = _fast(grid, _console(width, terminal=True))
    slow = _rich_table(grid, _console(width, terminal=True))
    assert Text.from_ansi(fast).plain == Text.from_ansi(slow).plain
    assert "\x1b[" in fast  # still coloured


def test_grid_right_aligns_and_pads_like_rich() -> None:
    grid = render.Grid(("name", "n"), right=("n",))
    grid.add_row("a", "1,000")
    grid.add_row(("long name", "green"), "-")
    assert grid.lines(80) is not None
    text = _fast(grid, _console(80))
    assert text == _rich_table(grid, _console(80))
    assert text.splitlines()[2] == "long name      -"


def _outcomes() -> list[AssetOutcome]:
    return [
        AssetOutcome("a", "success", 1, 0.0, 0.012, row_count=7431),
        AssetOutcome("b[x]", "failed", 2, 0.0, 3.5, error="Boom: [bad] thing\nmore"),
        AssetOutcome("c", "skipped", skipped_because="upstream a failed"),
        AssetOutcome("d" * 90, "success", 1, 0.0, 1.0, row_count=1),
        AssetOutcome("e", "unchanged", 1, 0.0, 0.5, row_count=0),
        AssetOutcome("f", "timed_out", 1, 0.0, 10, error="timed out after 10s"),
        AssetOutcome("g", "not_started"),
        AssetOutcome("h", "failed", 1, 0.0, 0.1, error="x" * 200),
    ]


def test_progress_lines_are_what_rich_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(plain: bool) -> str:
        console = _console(80)
        monkeypatch.setattr(render, "out", console)
        progress = render.Progress(8)
        progress._plain = plain
        for o in _outcomes():
            progress(Event("started", o.name))
            progress(Event("finished", o.name, outcome=o))
        progress.stop()
        return console.file.getvalue()  # type: ignore[attr-defined]

    fast, slow = run(True), run(False)
    assert fast == slow
    assert "  ✓ [1/8] a  success  7,431 rows" in fast


def test_progress_asks_the_console_its_size_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    class Counting(Console):
        @property
        def size(self):  # type: ignore[no-untyped-def,override]
            asked.append(1)
            return super().size

    console = Counting(file=io.StringIO(), width=80, highlight=False, soft_wrap=False)
    monkeypatch.setattr(render, "out", console)
    progress = render.Progress(500)
    for i in range(500):
        o = AssetOutcome(f"a{i}", "success", 1, 0.0, 0.01, row_count=i)
        progress(Event("finished", o.name, outcome=o))
    progress.stop()
    assert console.file.getvalue().count("\n") == 500  # type: ignore[attr-defined]
    assert len(asked) <= 2  # not once per line (a few system calls each, on a terminal)


def test_stdout_is_unbounded_when_piped() -> None:
    piped = render._Stdout(file=io.StringIO(), highlight=False, soft_wrap=False)
    grid = render.Grid(("asset", "why"))
    grid.add_row("n" * 150, "upstream stale: " + "u" * 150)
    grid.print(piped)
    line = piped.file.getvalue().splitlines()[1]  # type: ignore[attr-defined]
    assert line == "n" * 150 + "  upstream stale: " + "u" * 150
