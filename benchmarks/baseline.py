"""The baseline: run a plain SQL script with the DuckDB Python API, in a fresh process.

    python benchmarks/baseline.py WAREHOUSE.duckdb SCRIPT.sql

Run with the project root as the working directory, so that ``read_csv('data/...')``
finds its files exactly as the orchestrator's queries do. Nothing else is imported:
this is the engine's own time plus the unavoidable process start and DuckDB import.
"""

import sys

import duckdb


def main(warehouse: str, script: str) -> None:
    with open(script, encoding="utf-8") as fh:
        sql = fh.read()
    con = duckdb.connect(warehouse)
    try:
        con.execute(sql)
    finally:
        con.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
