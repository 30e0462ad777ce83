"""A seeded generator of realistic layered projects, and the same work as one SQL script.

A project of ``n_models`` SQL models is split into domains of about 100 models. Each
domain has four raw files in ``data/dNNN/`` (events as Parquet with ``rows`` rows,
payments as Parquet, customers and products as CSV) and models in three layers:

- staging (~20%): one raw file each, typed and deduplicated with a window function;
- intermediate (~55%, three sub-layers): joins with CTE pre-aggregations, window
  functions, dimension joins and unions, sometimes reading another domain's facts;
- marts (~25%): GROUP BY over an intermediate model.

A few ``@asset`` Python functions summarize marts. Every choice comes from
``random.Random(seed)`` and the data is computed by integer arithmetic in DuckDB (one
thread), so the same arguments give the same files, byte for byte.

The baseline (``baseline.sql`` at the project root) is the same models as plain
``CREATE OR REPLACE TABLE ... AS`` statements in lineage order, Python assets included
as their SQL equivalent.

>>> spec = plan(20, seed=1)
>>> len([m for m in spec.models if m.kind == "sql"]), spec.models[0].name
(20, 'stg_d000_000_customers')
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

DOMAIN_SIZE = 100
PYTHON_ASSETS = 3
CHANNELS = ("web", "app", "store", "partner")
METHODS = ("card", "transfer", "wallet", "voucher")
SEGMENTS = ("consumer", "smb", "enterprise", "public")
REGIONS = ("north", "south", "east", "west", "central")
CATEGORIES = ("books", "garden", "toys", "food", "tools", "music")
# Columns of every fact model (staging facts and intermediates), in this order.
FACT_COLUMNS = ("customer_id", "product_id", "event_day", "channel", "amount", "quantity")


@dataclass(frozen=True)
class Model:
    """One asset of a generated project: its SQL body and what it reads."""

    name: str
    kind: str  # "sql" or "python"
    folder: str  # models/staging/d000, or assets
    sql: str  # the query (for Python assets: the equivalent SQL of the baseline)
    deps: tuple[str, ...]
    files: tuple[str, ...] = ()
    header: str = ""

    @property
    def path(self) -> str:
        suffix = ".sql" if self.kind == "sql" else ".py"
        return f"{self.folder}/{self.name}{suffix}"


@dataclass
class ProjectPlan:
    """Every model of a generated project, in lineage order."""

    n_models: int
    rows: int
    seed: int
    domains: int
    models: list[Model] = field(default_factory=list)

    def by_name(self) -> dict[str, Model]:
        return {m.name: m for m in self.models}

    def downstream_closure(self, name: str) -> list[str]:
        """``name`` and everything that reads it, directly or not, in lineage order."""
        affected = {name}
        for model in self.models:  # lineage order: one pass is enough
            if any(d in affected for d in model.deps):
                affected.add(model.name)
        return [m.name for m in self.models if m.name in affected]

    def baseline_sql(self, names: list[str] | None = None) -> str:
        """The plain script: CREATE OR REPLACE TABLE statements in lineage order."""
        wanted = None if names is None else set(names)
        parts = [
            f"CREATE OR REPLACE TABLE {m.name} AS\n{m.sql.strip()};\n"
            for m in self.models
            if wanted is None or m.name in wanted
        ]
        return "\n".join(parts)


# ---- planning ---------------------------------------------------------------------------


def plan(n_models: int, *, rows: int = 10_000, seed: int = 0) -> ProjectPlan:
    """Decide every model (no I/O). ``n_models`` counts SQL models; Python assets are extra."""
    if n_models < 8:
        raise ValueError("a generated project needs at least 8 SQL models")
    rng = random.Random(seed)
    domains = max(1, round(n_models / DOMAIN_SIZE))
    sizes = [n_models // domains + (1 if d < n_models % domains else 0) for d in range(domains)]
    project = ProjectPlan(n_models, rows, seed, domains)
    facts_by_domain: list[list[str]] = []
    marts: list[str] = []
    for d, size in enumerate(sizes):
        facts, domain_marts = _plan_domain(project, rng, d, size, facts_by_domain)
        facts_by_domain.append(facts)
        marts += domain_marts
    for i, mart in enumerate(_spread(marts, PYTHON_ASSETS)):
        project.models.append(
            Model(
                name=f"py_summary_{i}",
                kind="python",
                folder="assets",
                sql=f"SELECT count(*) AS n_groups, round(sum(revenue), 2) AS revenue FROM {mart}",
                deps=(mart,),
            )
        )
    return project


def _spread(items: list[str], k: int) -> list[str]:
    if not items:
        return []
    step = max(1, len(items) // k)
    return items[::step][:k]


def _plan_domain(
    project: ProjectPlan,
    rng: random.Random,
    d: int,
    size: int,
    earlier_facts: list[list[str]],
) -> tuple[list[str], list[str]]:
    n_staging = max(4, round(size * 0.2))
    n_marts = max(1, round(size * 0.25))
    n_int = size - n_staging - n_marts
    dom = f"d{d:03d}"
    counter = iter(range(size))

    def name(layer: str, desc: str = "") -> str:
        return f"{layer}_{dom}_{next(counter):03d}" + (f"_{desc}" if desc else "")

    def add(model: Model) -> str:
        project.models.append(model)
        return model.name

    staging = f"models/staging/{dom}"
    customers = add(_stg_customers(name("stg", "customers"), staging, dom))
    products = add(_stg_products(name("stg", "products"), staging, dom))
    facts: list[str] = []
    for i in range(n_staging - 2):
        if i % 3 == 2:
            facts.append(add(_stg_payments(name("stg", "payments"), staging, dom, i)))
        else:
            facts.append(add(_stg_events(name("stg", "events"), staging, dom, i)))
    layers: list[list[str]] = [list(facts)]
    sublayer_sizes = [n_int - 2 * (n_int // 3), n_int // 3, n_int // 3]
    folder = f"models/intermediate/{dom}"
    for size_of_layer in sublayer_sizes:
        readable = [f for layer in layers for f in layer]
        new: list[str] = []
        for _ in range(size_of_layer):
            main = rng.choice(layers[-1] if rng.random() < 0.7 else readable)
            other_pool = readable
            if earlier_facts and rng.random() < 0.15:  # another team's facts
                other_pool = rng.choice(earlier_facts)
            other = rng.choice(other_pool)
            model = _intermediate(
                name("int"), folder, rng, main, other, customers, products, readable
            )
            new.append(add(model))
        if new:
            layers.append(new)
    ints = [f for layer in layers[1:] for f in layer] or facts
    marts = []
    folder = f"models/marts/{dom}"
    for _ in range(n_marts):
        source = rng.choice(ints[len(ints) // 2 :])
        marts.append(add(_mart(name("mart"), folder, rng, source, customers, products)))
    return [f for layer in layers for f in layer], marts


def _sql(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def _stg_customers(name: str, folder: str, dom: str) -> Model:
    path = f"data/{dom}/customers.csv"
    sql = _sql(
        f"""
        select
            customer_id,
            trim(name) as name,
            lower(region) as region,
            segment,
            signup_date
        from read_csv('{path}', header = true)
        where customer_id is not null
        """
    )
    return Model(name, "sql", folder, sql, (), (path,), _header("Customers, cleaned.", "staging"))


def _stg_products(name: str, folder: str, dom: str) -> Model:
    path = f"data/{dom}/products.csv"
    sql = _sql(
        f"""
        select
            product_id,
            category,
            cast(price as decimal(10, 2)) as price
        from read_csv('{path}', header = true)
        """
    )
    return Model(name, "sql", folder, sql, (), (path,), _header("Product catalogue.", "staging"))


def _stg_events(name: str, folder: str, dom: str, i: int) -> Model:
    path = f"data/{dom}/events.parquet"
    channel = CHANNELS[i % len(CHANNELS)]
    where = "" if i % 4 == 0 else f"\nwhere channel <> '{channel}'"
    sql = _sql(
        f"""
        select
            customer_id,
            product_id,
            cast(event_ts as date) as event_day,
            channel,
            round(amount, 2) as amount,
            quantity
        from read_parquet('{path}'){where}
        -- the export repeats some events: keep the first of each
        qualify row_number() over (partition by event_id order by event_ts) = 1
        """
    )
    return Model(name, "sql", folder, sql, (), (path,), _header("Events, deduplicated.", "staging"))


def _stg_payments(name: str, folder: str, dom: str, i: int) -> Model:
    path = f"data/{dom}/payments.parquet"
    sql = _sql(
        f"""
        select
            customer_id,
            product_id,
            cast(paid_at as date) as event_day,
            method as channel,
            amount,
            1 as quantity
        from read_parquet('{path}')
        where amount > {i % 5}
        """
    )
    return Model(name, "sql", folder, sql, (), (path,), _header("Payments.", "staging"))


def _intermediate(
    name: str,
    folder: str,
    rng: random.Random,
    main: str,
    other: str,
    customers: str,
    products: str,
    readable: list[str],
) -> Model:
    kind = rng.choice(("totals", "totals", "window", "window", "products", "union"))
    if kind == "totals":
        segment = rng.choice(SEGMENTS)
        sql = _sql(
            f"""
            with facts as (
                select * from {main}
            ),

            customer_totals as (
                select customer_id, count(*) as n_rows, sum(amount) as total_amount
                from {other}
                group by customer_id
            )

            select
                facts.customer_id,
                facts.product_id,
                facts.event_day,
                facts.channel,
                round(facts.amount * (1 + 0.01 * least(coalesce(customer_totals.n_rows, 0), 10)), 2)
                    as amount,
                facts.quantity
            from facts
            join {customers} as customers on customers.customer_id = facts.customer_id
            left join customer_totals on customer_totals.customer_id = facts.customer_id
            where customers.segment <> '{segment}'
            """
        )
        deps: tuple[str, ...] = (main, other, customers)
    elif kind == "window":
        keep = rng.choice((5, 20, 50))
        sql = _sql(
            f"""
            with ranked as (
                select
                    *,
                    row_number() over (
                        partition by customer_id order by event_day desc, product_id, amount
                    ) as recency_rank,
                    sum(amount) over (
                        partition by customer_id order by event_day, product_id, amount
                        rows between 6 preceding and current row
                    ) as amount_7
                from {main}
            )

            select customer_id, product_id, event_day, channel, round(amount_7 / 7, 2) as amount,
                quantity
            from ranked
            where recency_rank <= {keep}
            """
        )
        deps = (main,)
    elif kind == "products":
        category = rng.choice(CATEGORIES)
        sql = _sql(
            f"""
            select
                f.customer_id,
                f.product_id,
                f.event_day,
                f.channel,
                round(f.quantity * p.price, 2) as amount,
                f.quantity
            from {main} as f
            join {products} as p on p.product_id = f.product_id
            where p.category <> '{category}'
            """
        )
        deps = (main, products)
    else:
        second = rng.choice([r for r in readable if r != main] or [main])
        sql = _sql(
            f"""
            select * from {main} where event_day < date '2024-07-01'
            union all
            select * from {second} where event_day >= date '2024-07-01'
            """
        )
        deps = (main, second)
    header = _header(f"Intermediate facts ({kind}).", "intermediate") if rng.random() < 0.5 else ""
    return Model(name, "sql", folder, sql, tuple(dict.fromkeys(deps)), (), header)


def _mart(
    name: str, folder: str, rng: random.Random, source: str, customers: str, products: str
) -> Model:
    kind = rng.choice(("region", "channel", "category"))
    if kind == "region":
        sql = _sql(
            f"""
            select
                customers.region,
                date_trunc('month', f.event_day) as month,
                count(*) as events,
                count(distinct f.customer_id) as customers,
                round(sum(f.amount), 2) as revenue,
                sum(f.quantity) as units
            from {source} as f
            join {customers} as customers on customers.customer_id = f.customer_id
            group by 1, 2
            order by 1, 2
            """
        )
        deps: tuple[str, ...] = (source, customers)
    elif kind == "channel":
        sql = _sql(
            f"""
            select
                channel,
                event_day,
                count(*) as events,
                round(sum(amount), 2) as revenue,
                round(avg(amount), 2) as avg_amount
            from {source}
            group by channel, event_day
            order by channel, event_day
            """
        )
        deps = (source,)
    else:
        sql = _sql(
            f"""
            select
                p.category,
                count(*) as events,
                round(sum(f.amount), 2) as revenue,
                max(f.event_day) as last_day
            from {source} as f
            join {products} as p on p.product_id = f.product_id
            group by p.category
            having count(*) > 0
            order by p.category
            """
        )
        deps = (source, products)
    return Model(name, "sql", folder, sql, deps, (), _header(f"Mart by {kind}.", "marts"))


def _header(description: str, tag: str) -> str:
    return f"-- description: {description}\n-- tags: [{tag}, benchmark]\n"


# ---- writing ----------------------------------------------------------------------------


def write(root: Path, project: ProjectPlan) -> Path:
    """Write the project (config, models, Python assets, data, ``baseline.sql``) to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assets.toml").write_text(
        f"# Generated by benchmarks/generate.py: {project.n_models} SQL models, "
        f"{project.rows} rows, seed {project.seed}.\n"
        f'name = "bench_{project.n_models}"\n'
        'warehouse = "warehouse.duckdb"\n'
        'model_paths = ["models"]\n'
        'python_paths = ["assets"]\n'
    )
    for model in project.models:
        if model.kind != "sql":
            continue
        path = root / model.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model.header + model.sql)
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "summaries.py").write_text(_python_assets(project))
    (root / "baseline.sql").write_text(project.baseline_sql())
    write_data(root, project)
    return root


def _python_assets(project: ProjectPlan) -> str:
    lines = [
        '"""Generated Python assets: one summary row per mart."""',
        "",
        "from assets_orch import asset",
    ]
    for model in project.models:
        if model.kind != "python":
            continue
        (mart,) = model.deps
        lines += [
            "",
            "",
            f'@asset(description="Summary of {mart}.", tags=["benchmark"])',
            f"def {model.name}({mart}):",
            f"    return {mart}.aggregate(",
            '        "count(*) AS n_groups, round(sum(revenue), 2) AS revenue"',
            "    )",
        ]
    return "\n".join(lines) + "\n"


def write_data(root: Path, project: ProjectPlan) -> None:
    """The raw files of every domain, computed deterministically in DuckDB."""
    import duckdb

    rows = project.rows
    n_customers = max(100, rows // 20)
    n_products = max(50, rows // 100)
    con = duckdb.connect(config={"threads": 1})
    try:
        for d in range(project.domains):
            folder = root / "data" / f"d{d:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            seed = project.seed * 1000 + d
            for name, query, fmt in _data_queries(seed, rows, n_customers, n_products):
                target = (folder / f"{name}.{fmt}").as_posix()
                options = "FORMAT parquet" if fmt == "parquet" else "HEADER, DELIMITER ','"
                con.execute(f"COPY ({query}) TO '{target}' ({options})")
    finally:
        con.close()


def _pick(options: tuple[str, ...], h: str) -> str:
    items = ", ".join(f"'{o}'" for o in options)
    return f"[{items}][1 + ({h}) % {len(options)}]"


def _data_queries(
    seed: int, rows: int, n_customers: int, n_products: int
) -> list[tuple[str, str, str]]:
    # A cheap integer hash: deterministic across runs and platforms.
    def h(k: int) -> str:
        return f"((i * 1103515245 + {k * 7919 + seed * 104729}) % 2147483647)"

    events = (
        "SELECT CASE WHEN i % 101 = 100 THEN i - 1 ELSE i END AS event_id, "
        f"1 + {h(1)} % {n_customers} AS customer_id, 1 + {h(2)} % {n_products} AS product_id, "
        f"TIMESTAMP '2024-01-01' + to_seconds({h(3)} % 31536000) AS event_ts, "
        f"{_pick(CHANNELS, h(4))} AS channel, ({h(5)} % 100000) / 100.0 AS amount, "
        f"1 + {h(6)} % 5 AS quantity FROM range({rows}) t(i) ORDER BY i"
    )
    payments = (
        f"SELECT i AS payment_id, 1 + {h(7)} % {n_customers} AS customer_id, "
        f"1 + {h(8)} % {n_products} AS product_id, "
        f"TIMESTAMP '2024-01-01' + to_seconds({h(9)} % 31536000) AS paid_at, "
        f"{_pick(METHODS, h(10))} AS method, ({h(11)} % 50000) / 100.0 AS amount "
        f"FROM range({max(1, rows // 4)}) t(i) ORDER BY i"
    )
    customers = (
        "SELECT i + 1 AS customer_id, 'customer ' || (i + 1) AS name, "
        f"upper({_pick(REGIONS, h(12))}) AS region, {_pick(SEGMENTS, h(13))} AS segment, "
        f"DATE '2020-01-01' + CAST({h(14)} % 1500 AS INTEGER) AS signup_date "
        f"FROM range({n_customers}) t(i) ORDER BY i"
    )
    products = (
        f"SELECT i + 1 AS product_id, {_pick(CATEGORIES, h(15))} AS category, "
        f"round(1 + ({h(16)} % 20000) / 100.0, 2) AS price FROM range({n_products}) t(i) ORDER BY i"
    )
    return [
        ("events", events, "parquet"),
        ("payments", payments, "parquet"),
        ("customers", customers, "csv"),
        ("products", products, "csv"),
    ]


def generate(root: Path, n_models: int, *, rows: int = 10_000, seed: int = 0) -> ProjectPlan:
    """Plan and write a project at ``root``; returns the plan (models in lineage order)."""
    project = plan(n_models, rows=rows, seed=seed)
    write(root, project)
    return project
