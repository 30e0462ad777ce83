"""Models in other SQL dialects run on DuckDB with the same data and the same lineage."""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import Cli

RAW = (
    "id,customer,amount,status,seq\n"
    "1,a,5.0,paid,1\n2,a,50.0,paid,2\n3,b,20.0,void,1\n4,,7.5,paid,1\n"
)

DUCKDB = """\
select
    id,
    if(amount > 10, 'big', 'small') as size,
    coalesce(customer, '?') as customer,
    amount / nullif(seq, 0) as per_seq
from raw_orders
where status = 'paid'
qualify row_number() over (partition by customer order by seq desc) = 1
"""

SNOWFLAKE = """\
-- dialect: snowflake
SELECT
    ID,
    IFF(AMOUNT > 10, 'big', 'small') AS SIZE,
    NVL(CUSTOMER, '?') AS CUSTOMER,
    AMOUNT / NULLIF(SEQ, 0) AS PER_SEQ
FROM RAW_ORDERS
WHERE STATUS = 'paid'
QUALIFY ROW_NUMBER() OVER (PARTITION BY CUSTOMER ORDER BY SEQ DESC) = 1
"""

BIGQUERY = """\
-- dialect: bigquery
select
    `id`,
    if(amount > 10, 'big', 'small') as size,
    ifnull(customer, '?') as customer,
    safe_divide(amount, seq) as per_seq
from `raw_orders`
where status = 'paid'
qualify row_number() over (partition by customer order by seq desc) = 1
"""


def make(tmp_path: Path, models: dict[str, str], dialect: str | None = None) -> Path:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "data").mkdir()
    toml = 'name = "p"\n' + (f'dialect = "{dialect}"\n' if dialect else "")
    (root / "assets.toml").write_text(toml)
    (root / "data" / "orders.csv").write_text(RAW)
    (root / "models" / "raw_orders.sql").write_text(
        "-- dialect: duckdb\nselect * from read_csv('data/orders.csv')\n"
    )
    for name, text in models.items():
        (root / "models" / f"{name}.sql").write_text(text)
    return root


def rows(root: Path, table: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)
    finally:
        con.close()


def edges(cli: Cli, name: str) -> list[tuple[str, list[str], list[str]]]:
    data = cli.json("columns", name)
    assert data["unresolved"] is None, data["unresolved"]
    return [
        (
            c["name"].lower(),
            [f"{v['source']}.{v['column']}" for v in c["value"]],
            [f"{f['source']}.{f['column']}" for f in c["filter"]],
        )
        for c in data["columns"]
    ]


def test_snowflake_and_bigquery_models_equal_their_duckdb_twin(tmp_path: Path) -> None:
    root = make(tmp_path, {"duck": DUCKDB, "snow": SNOWFLAKE, "bq": BIGQUERY})
    cli = Cli(root)
    cli("materialize")
    expected = rows(root, "duck")
    assert expected == sorted([(2, "big", "a", 25.0), (4, "small", "?", 7.5)], key=repr)
    assert rows(root, "snow") == expected
    assert rows(root, "bq") == expected
    lineage = edges(cli, "duck")
    assert edges(cli, "snow") == lineage
    assert edges(cli, "bq") == lineage
    assert lineage[1] == (
        "size",
        ["raw_orders.amount"],
        ["raw_orders.customer", "raw_orders.seq", "raw_orders.status"],
    )


def test_a_project_written_in_snowflake(tmp_path: Path) -> None:
    snow = SNOWFLAKE.replace("-- dialect: snowflake\n", "")
    root = make(tmp_path, {"snow": snow}, dialect="snowflake")
    cli = Cli(root)
    cli("materialize")
    assert rows(root, "snow") == sorted([(2, "big", "a", 25.0), (4, "small", "?", 7.5)], key=repr)
    assert [name for name, _, _ in edges(cli, "snow")] == ["id", "size", "customer", "per_seq"]


def test_an_untranslatable_construct_names_file_line_and_construct(tmp_path: Path) -> None:
    bad = "-- dialect: snowflake\nselect id,\n       soundex(customer) as s\nfrom raw_orders\n"
    root = make(tmp_path, {"bad": bad})
    result = Cli(root)("list", expect=2)
    assert "models/bad.sql:3:8" in result.output
    assert "SOUNDEX" in result.output and "Snowflake" in result.output
