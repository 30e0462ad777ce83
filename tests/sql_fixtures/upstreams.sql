-- Upstream inference cases, read by tests/test_sql_upstreams.py.
--
-- Each case starts with a `-- title:` line, then expectation lines:
--   -- tables: qualified names, comma separated (empty: none)
--   -- files:  file sources as written (empty: none)
--   -- dialect: optional, default duckdb
--   -- oracle: optional `no` when duckdb.get_table_names() must not be used as a cross-check
--               (with the reason after the word)
-- and then the SQL, which may hold its own comments, up to the next `-- title:` line.

-- title: plain select
-- tables: orders
-- files:
select id, amount from orders

-- title: schema qualified
-- tables: staging.orders
-- files:
select * from staging.orders

-- title: catalog qualified
-- tables: wh.staging.orders
-- files:
select * from wh.staging.orders

-- title: unquoted identifiers fold to lower case
-- tables: staging.orders
-- files:
SELECT * FROM Staging.ORDERS

-- title: quoted identifiers keep their case
-- tables: Staging.Orders, orders
-- files:
-- oracle: no (duckdb folds "Orders" and orders into one name)
select * from "Staging"."Orders" join orders using (id)

-- title: quoted lower-case name equals the unquoted one
-- tables: orders
-- files:
select * from "orders" o join orders p using (id)

-- title: simple cte is not a table
-- tables: orders
-- files:
with paid as (select * from orders where status = 'paid')
select * from paid

-- title: chain of ctes
-- tables: customers, orders
-- files:
with o as (select * from orders),
     c as (select * from customers),
     j as (select * from o join c using (customer_id))
select * from j

-- title: cte shadows the real table only outside its own definition
-- tables: orders
-- files:
with orders as (select * from orders where amount > 0)
select * from orders

-- title: later cte is not visible to an earlier one
-- tables: b
-- files:
with a as (select * from b), b as (select 1 as x)
select * from a, b

-- title: cte does not hide a schema-qualified table
-- tables: s2.customer
-- files:
with customer as (select 1 as id)
select * from s2.customer join customer using (id)

-- title: cte does not hide main-qualified table
-- tables: main.customer
-- files:
-- oracle: no (duckdb's parser drops nothing, but the catalog lookup is ours to do)
with customer as (select 1 as id)
select * from main.customer, customer

-- title: cte name matches case-insensitively
-- tables:
-- files:
with "Foo" as (select 1 as x), Bar as (select 2 as y)
select * from foo, bar

-- title: recursive cte reads itself
-- tables: employees
-- files:
with recursive chain as (
    select id, manager_id, 1 as depth from employees where manager_id is null
    union all
    select e.id, e.manager_id, chain.depth + 1 from employees e join chain on e.manager_id = chain.id
)
select * from chain

-- title: recursive keyword on a non-union cte still reads the table
-- tables: orders
-- files:
with recursive orders as (select * from orders)
select * from orders

-- title: cte visible in subqueries of the main query
-- tables: orders, refunds
-- files:
with big as (select * from orders where amount > 100)
select * from refunds r
where exists (select 1 from big where big.id = r.order_id)
  and r.order_id in (select id from big)

-- title: cte defined inside a subquery is not visible outside
-- tables: orders, x
-- files:
select *
from (with x as (select * from orders) select * from x) as sub
join x using (id)

-- title: nested with inside a cte body
-- tables: payments
-- files:
with outer_cte as (
    with inner_cte as (select * from payments)
    select * from inner_cte
)
select * from outer_cte

-- title: inner cte shadows an outer cte
-- tables: a_table, b_table
-- files:
with x as (select * from a_table)
select * from x
union all
select * from (with x as (select * from b_table) select * from x)

-- title: materialized cte
-- tables: orders
-- files:
with m as materialized (select * from orders)
select * from m

-- title: subquery in from
-- tables: orders
-- files:
select * from (select * from (select * from orders) as a) as b

-- title: subqueries in select where having
-- tables: limits, orders, payments, refunds
-- files:
select customer_id,
       (select max(amount) from payments p where p.customer_id = o.customer_id) as max_paid
from orders o
where customer_id in (select customer_id from refunds)
group by customer_id
having count(*) > (select min(n) from limits)

-- title: exists and not exists
-- tables: customers, orders, vip
-- files:
select * from customers c
where exists (select 1 from orders o where o.customer_id = c.id)
  and not exists (select 1 from vip where vip.id = c.id)

-- title: union all
-- tables: orders_2023, orders_2024
-- files:
select * from orders_2023
union all
select * from orders_2024

-- title: intersect and except
-- tables: a, b, c
-- files:
select id from a intersect select id from b except select id from c

-- title: union by name
-- tables: eu.orders, us.orders
-- files:
select * from us.orders union all by name select * from eu.orders

-- title: cte shared by union branches
-- tables: orders
-- files:
with o as (select * from orders)
select id from o where amount > 10
union
select id from o where amount < 0

-- title: with inside a parenthesized union branch does not leak
-- tables: orders, x
-- files:
-- oracle: no (duckdb refuses to bind the outer x; the name still counts as an upstream)
(with x as (select * from orders) select * from x)
union all
select * from x

-- title: lateral subquery
-- tables: items, orders
-- files:
select * from orders o,
lateral (select * from items i where i.order_id = o.id limit 1) as first_item

-- title: cross join lateral unnest is not a table
-- tables: orders
-- files:
select o.id, i.item
from orders o cross join lateral unnest(o.items) as i(item)

-- title: pivot statement
-- tables: sales
-- files:
-- oracle: no (get_table_names cannot parse a PIVOT statement)
pivot sales on year using sum(amount) group by country

-- title: unpivot statement
-- tables: monthly
-- files:
-- oracle: no (get_table_names cannot parse an UNPIVOT statement)
unpivot monthly on jan, feb, mar into name month value amount

-- title: pivot statement over a cte
-- tables: sales
-- files:
-- oracle: no (get_table_names cannot parse a PIVOT statement)
with s as (select * from sales)
pivot s on year using sum(amount)

-- title: pivot in from clause
-- tables: sales
-- files:
select * from sales pivot (sum(amount) for year in (2023, 2024)) as p

-- title: unpivot in from clause
-- tables: monthly
-- files:
select * from monthly unpivot (amount for month in (jan, feb)) as u

-- title: pivot over a subquery
-- tables: sales
-- files:
select * from (pivot sales on year using sum(amount)) as p

-- title: from-first
-- tables: orders
-- files:
from orders

-- title: from-first with select and where
-- tables: orders
-- files:
from orders o select o.id where o.amount > 1

-- title: read_csv
-- tables:
-- files: data/orders.csv
select * from read_csv('data/orders.csv')

-- title: read_csv_auto with options
-- tables:
-- files: data/orders.csv
select * from read_csv_auto('data/orders.csv', header = true, delim = ',')

-- title: read_csv with a list of files
-- tables:
-- files: data/a.csv, data/b.csv
select * from read_csv(['data/a.csv', 'data/b.csv'], union_by_name = true)

-- title: read_parquet glob
-- tables:
-- files: data/events/*.parquet
select * from read_parquet('data/events/*.parquet', hive_partitioning = true)

-- title: json readers
-- tables:
-- files: data/a.json, data/b.json, data/c.ndjson
select * from read_json('data/a.json')
union all by name select * from read_json_auto('data/b.json')
union all by name select * from read_ndjson('data/c.ndjson')

-- title: read_text and read_blob
-- tables:
-- files: docs/*.md, images/logo.png
select filename from read_text('docs/*.md')
union all
select filename from read_blob('images/logo.png')

-- title: single-quoted file in from
-- tables:
-- files: data/x.parquet
select * from 'data/x.parquet'

-- title: single-quoted glob in from
-- tables:
-- files: data/*.csv
from 'data/*.csv'

-- title: double-quoted file in from
-- tables:
-- files: data/x.csv
select * from "data/x.csv"

-- title: file without a directory
-- tables:
-- files: orders.csv.gz
select * from 'orders.csv.gz'

-- title: file url
-- tables:
-- files: s3://bucket/raw/orders.parquet
select * from read_parquet('s3://bucket/raw/orders.parquet')

-- title: single-quoted plain name is a table
-- tables: orders
-- files:
select * from 'orders'

-- title: files and tables together
-- tables: customers
-- files: data/a.csv, data/b.csv
with raw as (select * from read_csv('data/a.csv'))
select * from raw join customers using (id)
union all
select * from 'data/b.csv' join customers using (id)

-- title: other table functions are neither tables nor files
-- tables:
-- files:
select * from range(10) r
cross join generate_series(1, 3) g
cross join unnest([1, 2, 3]) u
cross join duckdb_tables() d

-- title: subquery inside a table function argument
-- tables: limits
-- files:
select * from range((select max(n) from limits))

-- title: values in from
-- tables:
-- files:
select * from (values (1, 'a'), (2, 'b')) as v(id, name)

-- title: top-level values
-- tables:
-- files:
values (1, 'a'), (2, 'b')

-- title: comments mention tables
-- tables: orders
-- files:
-- this reads from secret_table and data/secret.csv
select id /* join other_table on true */
from orders -- , not_a_table
/* from 'data/nope.csv' */

-- title: string literals mention tables
-- tables: orders
-- files:
select 'select * from customers' as q, 'data/x.csv' as f
from orders
where note <> 'from payments'

-- title: named window and qualify
-- tables: orders
-- files:
select id, row_number() over w as rn
from orders
window w as (partition by customer_id order by created_at)
qualify rn = 1

-- title: asof join
-- tables: prices, trades
-- files:
select * from trades t asof join prices p on t.symbol = p.symbol and t.ts >= p.ts

-- title: positional join
-- tables: left_part, right_part
-- files:
select * from left_part positional join right_part

-- title: comma join
-- tables: t1, t2
-- files:
select * from t1, t2 where t1.id = t2.id

-- title: semi and anti joins
-- tables: a, b, c
-- files:
select * from a semi join b using (id) anti join c using (id)

-- title: table aliases equal to other table names
-- tables: customers, orders
-- files:
select * from orders as customers join customers as orders on customers.id = orders.id

-- title: alias of a cte equal to a real table name
-- tables: orders
-- files:
with c as (select 1 as id)
select * from c as orders join orders as c2 using (id)

-- title: using sample
-- tables: events
-- files:
select * from events using sample 10%

-- title: column named like a table
-- tables: customers
-- files:
select orders, customers.payments, struct_pack(orders := 1) from customers

-- title: struct field access is not a table
-- tables: orders
-- files:
select o.customer.name, o.customer.address.city from orders o

-- title: deeply nested subqueries
-- tables: deep
-- files:
select * from (select * from (select * from (select * from (select * from deep) a) b) c) d

-- title: join to a subquery that has its own cte
-- tables: customers, payments
-- files:
select * from customers c
left join (with p as (select * from payments) select customer_id, sum(amount) as total from p group by 1) s
  on s.customer_id = c.id

-- title: duplicate references are reported once
-- tables: orders
-- files:
select * from orders a join orders b on a.id = b.parent_id join orders c on c.id = b.parent_id

-- title: snowflake upper-case names fold and iff transpiles
-- dialect: snowflake
-- tables: analytics.orders
-- files:
-- oracle: no (not duckdb syntax)
SELECT IFF(AMOUNT > 10, 'big', 'small') AS SIZE FROM ANALYTICS.ORDERS
QUALIFY ROW_NUMBER() OVER (PARTITION BY CUSTOMER_ID ORDER BY CREATED_AT) = 1

-- title: bigquery backticks keep case and split the parts
-- dialect: bigquery
-- tables: my-project.Sales.orders
-- files:
-- oracle: no (not duckdb syntax)
select `id` from `my-project.Sales.orders` where amount > 0

-- title: query_table reads the table it names
-- tables: orders
-- files:
select order_id from query_table('orders')

-- title: query_table with a list of names and a cte among them
-- tables: raw.orders
-- files:
-- oracle: no (get_table_names binds the list)
with recent as (select 1 as order_id)
select * from query_table(['recent', 'Raw.Orders'], true)

-- title: query reads the tables and files of its string
-- tables: customers, orders
-- files: data/refunds.csv
select * from query('select o.order_id, c.name from orders o join customers c using (customer_id)
                     where o.order_id not in (select order_id from read_csv(''data/refunds.csv''))')

-- title: query sees the ctes around it
-- tables: payments
-- files:
with paid as (select * from payments where status = 'paid')
select * from query('select * from paid')

-- title: dollar-quoted file path
-- tables:
-- files: data/items.json
select id, name from read_json_auto($$data/items.json$$)

-- title: show tables in from reads no table
-- tables:
-- files:
select * from (show tables)

-- title: show of a table describes it
-- tables: orders
-- files:
select column_name from (show orders)

-- title: snowflake identifier names a table in a string
-- dialect: snowflake
-- tables: raw.orders
-- files:
-- oracle: no (not duckdb syntax)
SELECT o.ID FROM IDENTIFIER('raw.orders') AS o

-- title: quoted names with odd characters, a dot and a reserved word
-- tables: Finance Dept.GL Entries, line-items, select, sales.2024
-- files:
-- oracle: no (duckdb returns such names quoted and folds case)
select i."unit #", g.account, s.total, w."from"
from "line-items" i, "Finance Dept"."GL Entries" g, "sales.2024" s, "select" w

-- title: bigquery separately quoted parts
-- dialect: bigquery
-- tables: lake.raw.clicks
-- files:
-- oracle: no (not duckdb syntax)
SELECT `url` FROM `lake`.`raw`.`clicks` AS c

-- title: postgres schema-qualified table behind a cte with within group and filter
-- dialect: postgres
-- tables: analytics.sessions
-- files:
-- oracle: no (not duckdb syntax)
WITH s AS (SELECT user_id, EXTRACT(EPOCH FROM ended_at - started_at) AS seconds
           FROM analytics.sessions)
SELECT user_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
       count(*) FILTER (WHERE seconds > 600) AS long_sessions
FROM s GROUP BY user_id

-- title: recursive cte with using key reads the edges
-- tables: graph_edges
-- files:
with recursive reach(node, dist) using key (node) as (
    select 1, 0.0
    union
    select e.dst, r.dist + e.weight from reach r join graph_edges e on e.src = r.node
)
select node from reach
