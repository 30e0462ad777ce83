"""``python -m benchmarks run [--quick]`` and ``python -m benchmarks generate DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .generate import generate
from .report import markdown_table
from .run import run

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the benchmark and write benchmarks/results/")
    p_run.add_argument("--quick", action="store_true", help="small sizes: a sanity run")
    p_run.add_argument("--reps", type=int, help="repetitions (default 3, quick 2)")
    p_run.add_argument(
        "--workdir", type=Path, default=HERE / "work", help="where projects are generated"
    )
    p_run.add_argument(
        "--output",
        type=Path,
        help="where results go (default benchmarks/results/, quick: benchmarks/work/results/)",
    )
    p_run.add_argument(
        "--build-timeout",
        type=float,
        default=8.0,
        help="minutes allowed for the one build preparing the 10,000-model project",
    )
    p_gen = sub.add_parser("generate", help="write one generated project")
    p_gen.add_argument("directory", type=Path)
    p_gen.add_argument("--models", "-n", type=int, default=100, help="SQL models")
    p_gen.add_argument("--rows", "-r", type=int, default=10_000, help="rows in the largest source")
    p_gen.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "generate":
        plan = generate(args.directory, args.models, rows=args.rows, seed=args.seed)
        print(f"wrote {len(plan.models)} assets to {args.directory} (baseline: baseline.sql)")
        return 0
    output = args.output or (HERE / "work" / "results" if args.quick else HERE / "results")
    rows, _, notes = run(
        quick=args.quick,
        workdir=args.workdir,
        output=output,
        reps=args.reps,
        build_timeout=args.build_timeout * 60,
    )
    print()
    print(markdown_table(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"\nwritten to {output}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
