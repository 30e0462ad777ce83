-- Column lineage cases, read by tests/test_column_lineage.py.
--
-- Each case starts with a `-- title:` line, then directive lines:
--   -- schema: name(col type, ...); ...    assets the query reads (type default INTEGER)
--   -- table:  schema.name(col, ...)       external warehouse tables
--   -- file:   data/x.csv(col type, ...)   file sources (written as CSV/Parquet for DuckDB)
--   -- dialect: optional, default duckdb
--   -- unresolved: text the reason must contain (no columns then)
-- and one line per output column, in order:
--   -- NAME: value a.x, b.y | filter a.z      (`-` for none)
-- `filter` lists the columns that decide the rows (WHERE, JOIN, GROUP BY, HAVING, QUALIFY,
-- DISTINCT, ORDER BY under LIMIT) plus the column's own (aggregate FILTER, window
-- PARTITION BY / ORDER BY, a scalar subquery's conditions). Then the SQL.

-- title: plain projection
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter -
-- amount: value orders.amount | filter -
select id, amount from orders

-- title: expression and alias
-- schema: orders(id, amount double, tax double)
-- gross: value orders.amount, orders.tax | filter -
select amount + tax as gross from orders

-- title: where clause is a filter of every column
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter orders.status
-- amount: value orders.amount | filter orders.status
select id, amount from orders where status = 'paid'

-- title: select star
-- schema: orders(id, amount double)
-- id: value orders.id | filter -
-- amount: value orders.amount | filter -
select * from orders

-- title: select star through two ctes
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter orders.amount, orders.status
-- amount: value orders.amount | filter orders.amount, orders.status
-- status: value orders.status | filter orders.amount, orders.status
with paid as (select * from orders where status = 'paid'),
     big as (select * from paid where amount > 100)
select * from big

-- title: star exclude
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter -
-- amount: value orders.amount | filter -
select * exclude (status) from orders

-- title: star replace
-- schema: orders(id, amount double, tax double)
-- id: value orders.id | filter -
-- amount: value orders.amount, orders.tax | filter -
-- tax: value orders.tax | filter -
select * replace (amount + tax as amount) from orders

-- title: star rename
-- schema: orders(id, amount double)
-- order_id: value orders.id | filter -
-- amount: value orders.amount | filter -
select * rename (id as order_id) from orders

-- title: qualified star exclude and replace in a join
-- schema: orders(id, customer_id, amount double); customers(customer_id, name varchar)
-- id: value orders.id | filter customers.customer_id, orders.customer_id
-- amount: value orders.amount | filter customers.customer_id, orders.customer_id
-- customer_id: value customers.customer_id | filter customers.customer_id, orders.customer_id
-- name: value customers.name | filter customers.customer_id, orders.customer_id
select o.* exclude (customer_id), c.* replace (upper(c.name) as name)
from orders o join customers c on o.customer_id = c.customer_id

-- title: columns with a regular expression
-- schema: orders(id, amount double, amount_tax double, status varchar)
-- amount: value orders.amount | filter -
-- amount_tax: value orders.amount_tax | filter -
select columns('amount') from orders

-- title: columns with an alias pattern names each column from the regex groups
-- schema: quarterly(region varchar, q1 integer, q2 integer, xq3y integer, Q4 integer)
-- region: value quarterly.region | filter -
-- quarter_1: value quarterly.q1 | filter -
-- quarter_2: value quarterly.q2 | filter -
-- quarter_3: value quarterly.xq3y | filter -
select region, columns('q(\d)') as 'quarter_\1' from quarterly

-- title: columns alias pattern inside an aggregate with the whole name
-- schema: quarterly(region varchar, q1 integer, Q2 integer)
-- 1_q1: value quarterly.q1 | filter -
-- 2_Q2: value quarterly.Q2 | filter -
select max(columns('(?i)q(\d)')) as '\1_\0' from quarterly

-- title: columns star with an alias pattern
-- schema: orders(id, amount double)
-- c_id: value orders.id | filter -
-- c_amount: value orders.amount | filter -
select columns(*) as 'c_\0' from orders

-- title: columns star inside an aggregate
-- schema: orders(id, amount double)
-- id: value orders.id | filter -
-- amount: value orders.amount | filter -
select max(columns(*)) from orders

-- title: columns with a list of names
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter -
-- status: value orders.status | filter -
select columns(['status', 'id']) from orders

-- title: columns with a lambda is not resolved
-- schema: orders(id, amount double)
-- unresolved: COLUMNS
select columns(lambda c: c like 'a%') from orders

-- title: using join star
-- schema: orders(id, customer_id, amount double); customers(customer_id, name varchar)
-- id: value orders.id | filter customers.customer_id, orders.customer_id
-- customer_id: value customers.customer_id, orders.customer_id | filter customers.customer_id, orders.customer_id
-- amount: value orders.amount | filter customers.customer_id, orders.customer_id
-- name: value customers.name | filter customers.customer_id, orders.customer_id
select * from orders join customers using (customer_id)

-- title: using join unqualified column
-- schema: orders(id, customer_id); customers(customer_id, name varchar)
-- customer_id: value customers.customer_id, orders.customer_id | filter customers.customer_id, orders.customer_id
-- name: value customers.name | filter customers.customer_id, orders.customer_id
select customer_id, name from orders left join customers using (customer_id)

-- title: natural join
-- schema: orders(id, customer_id); customers(customer_id, name varchar)
-- id: value orders.id | filter customers.customer_id, orders.customer_id
-- customer_id: value customers.customer_id, orders.customer_id | filter customers.customer_id, orders.customer_id
-- name: value customers.name | filter customers.customer_id, orders.customer_id
select * from orders natural join customers

-- title: join on condition
-- schema: orders(id, customer_id, amount double); customers(id, name varchar)
-- name: value customers.name | filter customers.id, orders.customer_id
-- amount: value orders.amount | filter customers.id, orders.customer_id
select c.name, o.amount from orders o join customers c on o.customer_id = c.id

-- title: semi join filters without projecting
-- schema: orders(id, customer_id); vip(customer_id)
-- id: value orders.id | filter orders.customer_id, vip.customer_id
select id from orders semi join vip using (customer_id)

-- title: anti join
-- schema: orders(id, customer_id); blocked(customer_id)
-- id: value orders.id | filter blocked.customer_id, orders.customer_id
select o.id from orders o anti join blocked b on o.customer_id = b.customer_id

-- title: union all branches
-- schema: web(id, amount double); shop(id, total double)
-- id: value shop.id, web.id | filter -
-- amount: value shop.total, web.amount | filter -
select id, amount from web
union all
select id, total from shop

-- title: union distinct compares every column
-- schema: web(id, amount double); shop(id, total double)
-- id: value shop.id, web.id | filter shop.id, shop.total, web.amount, web.id
-- amount: value shop.total, web.amount | filter shop.id, shop.total, web.amount, web.id
select id, amount from web
union
select id, total from shop

-- title: union branch filters stay with every column
-- schema: web(id, amount double, ok boolean); shop(id, total double)
-- id: value shop.id, web.id | filter shop.total, web.ok
select id from web where ok
union all
select id from shop where total > 0

-- title: union by name
-- schema: web(id, amount double); shop(id, channel varchar)
-- id: value shop.id, web.id | filter -
-- amount: value web.amount | filter -
-- channel: value shop.channel | filter -
select id, amount from web
union all by name
select id, channel from shop

-- title: except keeps the left values
-- schema: a(id); b(id)
-- id: value a.id | filter a.id, b.id
select id from a except select id from b

-- title: except all compares every column too
-- schema: a(id, v); b(id, v)
-- id: value a.id | filter a.id, a.v, b.id, b.v
-- v: value a.v | filter a.id, a.v, b.id, b.v
select id, v from a except all select id, v from b

-- title: intersect
-- schema: a(id); b(id)
-- id: value a.id | filter a.id, b.id
select id from a intersect select id from b

-- title: aggregate with group by
-- schema: orders(id, customer_id, amount double)
-- customer_id: value orders.customer_id | filter orders.customer_id
-- total: value orders.amount | filter orders.customer_id
-- n: value - | filter orders.customer_id
select customer_id, sum(amount) as total, count(*) as n from orders group by customer_id

-- title: group by all
-- schema: orders(id, customer_id, status varchar, amount double)
-- customer_id: value orders.customer_id | filter orders.customer_id, orders.status
-- status: value orders.status | filter orders.customer_id, orders.status
-- total: value orders.amount | filter orders.customer_id, orders.status
select customer_id, status, sum(amount) as total from orders group by all

-- title: aggregate without group by
-- schema: orders(id, amount double)
-- total: value orders.amount | filter -
-- orders: value - | filter -
select sum(amount) as total, count(*) as orders from orders

-- title: count distinct
-- schema: orders(id, customer_id)
-- customers: value orders.customer_id | filter -
select count(distinct customer_id) as customers from orders

-- title: having
-- schema: orders(id, customer_id, amount double)
-- customer_id: value orders.customer_id | filter orders.amount, orders.customer_id
select customer_id from orders group by customer_id having sum(amount) > 100

-- title: aggregate filter clause is the column's own filter
-- schema: orders(id, status varchar, amount double)
-- paid: value orders.amount | filter orders.status
-- all_orders: value - | filter -
select sum(amount) filter (where status = 'paid') as paid, count(*) as all_orders from orders

-- title: case expression conditions are values
-- schema: orders(id, amount double, status varchar)
-- bucket: value orders.amount, orders.status | filter -
select case when status = 'void' then null when amount > 100 then 'big' else 'small' end as bucket
from orders

-- title: coalesce and arithmetic
-- schema: orders(id, amount double, discount double)
-- net: value orders.amount, orders.discount | filter -
select coalesce(amount, 0) - coalesce(discount, 0) as net from orders

-- title: window aggregate partition and order are filters
-- schema: orders(id, customer_id, order_date date, amount double)
-- running: value orders.amount | filter orders.customer_id, orders.order_date
select sum(amount) over (partition by customer_id order by order_date) as running from orders

-- title: ranking window values come from its order
-- schema: orders(id, customer_id, amount double)
-- rnk: value orders.amount | filter orders.customer_id
-- rn: value orders.id | filter -
select rank() over (partition by customer_id order by amount desc) as rnk,
       row_number() over (order by id) as rn
from orders

-- title: window with a frame
-- schema: daily(day date, revenue double)
-- day: value daily.day | filter -
-- revenue_7d: value daily.revenue | filter daily.day
select day, sum(revenue) over (order by day rows between 6 preceding and current row) as revenue_7d
from daily

-- title: lag reads the ordering as a filter
-- schema: daily(day date, revenue double)
-- previous: value daily.revenue | filter daily.day
select lag(revenue) over (order by day) as previous from daily

-- title: named window partition and order are filters
-- schema: trades(sym varchar, ex varchar, ts timestamp, qty integer, price double)
-- sym: value trades.sym | filter -
-- cum_qty: value trades.qty | filter trades.ex, trades.ts
-- ma7: value trades.price | filter trades.ex, trades.ts
select sym, sum(qty) over w as cum_qty,
       avg(price) over (w rows between 6 preceding and current row) as ma7
from trades
window w as (partition by ex order by ts)

-- title: named window built on another named window
-- schema: trades(sym varchar, ex varchar, ts timestamp, qty integer)
-- r: value trades.ts | filter trades.ex
-- n: value - | filter trades.ex
select rank() over w2 as r, count(*) over w as n
from trades
window w as (partition by ex), w2 as (w order by ts)

-- title: qualify decides rows
-- schema: orders(id, order_date date, status varchar)
-- id: value orders.id | filter orders.id, orders.order_date
-- status: value orders.status | filter orders.id, orders.order_date
select id, status from orders
qualify row_number() over (partition by id order by order_date) = 1

-- title: scalar subquery
-- schema: orders(id, customer_id, amount double); customers(id, name varchar)
-- id: value customers.id | filter -
-- biggest: value orders.amount | filter customers.id, orders.customer_id
select c.id, (select max(o.amount) from orders o where o.customer_id = c.id) as biggest
from customers c

-- title: exists subquery filters rows
-- schema: orders(id, customer_id); customers(id, name varchar)
-- name: value customers.name | filter customers.id, orders.customer_id
select name from customers c where exists (select 1 from orders o where o.customer_id = c.id)

-- title: exists with select star filters by the correlated columns only
-- schema: orders(id, customer_id, amount double, note varchar); customers(id, name varchar)
-- name: value customers.name | filter customers.id, orders.amount, orders.customer_id
select name from customers c
where exists (select * from orders o where o.customer_id = c.id and o.amount > 0)

-- title: not exists of a set operation filters by its compared columns
-- schema: a(id, v); b(id, v); c(id)
-- id: value c.id | filter a.id, b.id, c.id
select id from c where not exists (select a.id from a where a.id = c.id except select id from b)

-- title: in subquery filters rows
-- schema: orders(id, customer_id, status varchar); customers(id, name varchar)
-- name: value customers.name | filter customers.id, orders.customer_id, orders.status
select name from customers where id in (select customer_id from orders where status = 'paid')

-- title: derived table with a column list
-- schema: orders(id, amount double)
-- order_id: value orders.id | filter -
-- value: value orders.amount | filter -
select * from (select id, amount from orders) as t(order_id, value)

-- title: cte with a column list
-- schema: orders(id, amount double)
-- n: value orders.id | filter orders.amount
with t(n, a) as (select id, amount from orders) select n from t where a > 0

-- title: cte shadows the real table it reads
-- schema: orders(id, status varchar)
-- id: value orders.id | filter orders.status
with orders as (select * from orders where status <> 'void') select id from orders

-- title: distinct makes every column a filter
-- schema: orders(id, customer_id, status varchar)
-- customer_id: value orders.customer_id | filter orders.customer_id, orders.status
-- status: value orders.status | filter orders.customer_id, orders.status
select distinct customer_id, status from orders

-- title: distinct on
-- schema: orders(id, customer_id, order_date date)
-- customer_id: value orders.customer_id | filter orders.customer_id, orders.order_date
-- id: value orders.id | filter orders.customer_id, orders.order_date
select distinct on (customer_id) customer_id, id from orders order by customer_id, order_date desc

-- title: order by without limit decides nothing
-- schema: orders(id, amount double)
-- id: value orders.id | filter -
select id from orders order by amount

-- title: order by with limit decides the rows
-- schema: orders(id, amount double)
-- id: value orders.id | filter orders.amount
select id from orders order by amount desc limit 10

-- title: order by all under limit decides the rows by every column
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter orders.amount, orders.id
-- amount: value orders.amount | filter orders.amount, orders.id
select id, amount from orders order by all desc limit 10 offset 5

-- title: offset without limit decides the rows by its order
-- schema: orders(id, amount double)
-- id: value orders.id | filter orders.amount
select id from orders order by amount offset 5

-- title: order by an output alias under limit
-- schema: orders(id, amount double)
-- id: value orders.id | filter orders.amount
-- doubled: value orders.amount | filter orders.amount
select id, amount * 2 as doubled from orders order by doubled limit 3

-- title: csv file source
-- file: data/orders.csv(order_id integer, amount double)
-- order_id: value data/orders.csv.order_id | filter -
-- amount: value data/orders.csv.amount | filter -
select order_id, amount from read_csv('data/orders.csv')

-- title: csv file source with declared columns and star
-- file: data/customers.csv(customer_id integer, name varchar)
-- customer_id: value data/customers.csv.customer_id | filter -
-- name: value data/customers.csv.name | filter -
select * from read_csv('data/customers.csv', header = true,
                       columns = {'customer_id': 'INTEGER', 'name': 'VARCHAR'})

-- title: quoted parquet path
-- file: data/events.parquet(id integer, kind varchar)
-- kind: value data/events.parquet.kind | filter data/events.parquet.id
select kind from 'data/events.parquet' where id > 3

-- title: file joined with an asset
-- schema: customers(id, name varchar)
-- file: data/orders.csv(order_id integer, customer_id integer)
-- order_id: value data/orders.csv.order_id | filter customers.id, data/orders.csv.customer_id
-- name: value customers.name | filter customers.id, data/orders.csv.customer_id
select o.order_id, c.name from read_csv('data/orders.csv') o join customers c on c.id = o.customer_id

-- title: query_table reads its table
-- schema: z_base(id, amount double)
-- id: value z_base.id | filter z_base.amount
select id from query_table('z_base') q where q.amount > 0

-- title: query reads what its string reads
-- schema: orders(order_id, amount double, status varchar)
-- order_id: value orders.order_id | filter orders.status
-- amount: value orders.amount | filter orders.status
select * from query('select order_id, amount from orders where status = ''paid''')

-- title: dollar-quoted json file
-- file: data/items.json(id integer, name varchar)
-- name: value data/items.json.name | filter data/items.json.id
select name from read_json_auto($$data/items.json$$) where id > 1

-- title: external warehouse table
-- table: raw.events(id, kind varchar)
-- kind: value raw.events.kind | filter -
select kind from raw.events

-- title: unnest a list column
-- schema: orders(id, tags varchar[])
-- id: value orders.id | filter -
-- tag: value orders.tags | filter -
select o.id, t.tag from orders o, unnest(o.tags) as t(tag)

-- title: lateral subquery
-- schema: orders(id, amount double)
-- id: value orders.id | filter -
-- doubled: value orders.amount | filter -
select o.id, l.doubled from orders o, lateral (select o.amount * 2 as doubled) l

-- title: pivot with an in list
-- schema: sales(region varchar, quarter varchar, amount double)
-- region: value sales.region | filter sales.region
-- q1: value sales.amount | filter sales.quarter, sales.region
-- q2: value sales.amount | filter sales.quarter, sales.region
select * from sales pivot (sum(amount) for quarter in ('q1', 'q2'))

-- title: pivot statement without in list depends on the data
-- schema: sales(region varchar, quarter varchar, amount double)
-- unresolved: PIVOT without an IN list
pivot sales on quarter using sum(amount)

-- title: pivot statement with an in list and a group by
-- schema: sales(region varchar, product varchar, month varchar, amount double)
-- region: value sales.region | filter sales.region
-- jan_s: value sales.amount | filter sales.month, sales.region
-- jan_n: value - | filter sales.month, sales.region
-- feb_s: value sales.amount | filter sales.month, sales.region
-- feb_n: value - | filter sales.month, sales.region
pivot sales on month in ('jan', 'feb') using sum(amount) as s, count(*) as n group by region

-- title: pivot statement without using counts and groups by the other columns
-- schema: sales(region varchar, month varchar, amount double)
-- region: value sales.region | filter sales.amount, sales.region
-- amount: value sales.amount | filter sales.amount, sales.region
-- jan: value - | filter sales.amount, sales.month, sales.region
pivot sales on month in ('jan')

-- title: pivot statement used as a subquery
-- schema: sales(region varchar, month varchar, amount double)
-- region: value sales.region | filter sales.amount, sales.month, sales.region
-- jan: value sales.amount | filter sales.amount, sales.month, sales.region
select p.region, p.jan
from (pivot sales on month in ('jan', 'feb') using sum(amount) group by region) as p
where p.jan > 0

-- title: pivot statement inside a cte
-- schema: sales(region varchar, month varchar, amount double)
-- region: value sales.region | filter sales.region
-- jan_feb: value sales.amount | filter sales.month, sales.region
with p as (pivot sales on month in ('jan', 'feb') using sum(amount) group by region)
select region, jan + feb as jan_feb from p

-- title: standard pivot over a derived table with two for lists
-- schema: sales(region varchar, month varchar, yr integer, amount double)
-- region: value sales.region | filter sales.region
-- jan_2020: value sales.amount | filter sales.month, sales.region, sales.yr
-- jan_2021: value sales.amount | filter sales.month, sales.region, sales.yr
select * from (select region, month, yr, amount from sales)
pivot (sum(amount) for month in ('jan') yr in (2020, 2021))

-- title: standard pivot with its own group by
-- schema: sales(region varchar, product varchar, month varchar, amount double)
-- region: value sales.region | filter sales.region
-- jan: value sales.amount | filter sales.month, sales.region
select * from sales pivot (sum(amount) for month in ('jan') group by region)

-- title: standard unpivot
-- schema: quarterly(region varchar, q1 integer, q2 integer)
-- region: value quarterly.region | filter quarterly.q1, quarterly.q2
-- quarter: value - | filter quarterly.q1, quarterly.q2
-- revenue: value quarterly.q1, quarterly.q2 | filter quarterly.q1, quarterly.q2
select * from quarterly unpivot (revenue for quarter in (q1, q2)) as u

-- title: unpivot include nulls keeps every row
-- schema: quarterly(region varchar, q1 integer, q2 integer)
-- region: value quarterly.region | filter -
-- quarter: value - | filter -
-- revenue: value quarterly.q1, quarterly.q2 | filter -
select * from quarterly unpivot include nulls (revenue for quarter in (q1 as a, q2))

-- title: unpivot statement in a cte then aggregated
-- schema: quarterly(region varchar, q1 integer, q2 integer)
-- quarter: value - | filter quarterly.q1, quarterly.q2
-- revenue: value quarterly.q1, quarterly.q2 | filter quarterly.q1, quarterly.q2
with long as (unpivot quarterly on q1, q2 into name quarter value revenue)
select quarter, sum(revenue) as revenue from long group by quarter

-- title: unpivot statement on columns of a table with default names
-- schema: quarterly(region varchar, q1 integer, q2 integer)
-- region: value quarterly.region | filter quarterly.q1, quarterly.q2
-- name: value - | filter quarterly.q1, quarterly.q2
-- value: value quarterly.q1, quarterly.q2 | filter quarterly.q1, quarterly.q2
unpivot quarterly on columns(* exclude (region))

-- title: implicit lateral derived table
-- schema: customers(customer_id, name varchar); orders(order_id, customer_id)
-- customer_id: value customers.customer_id | filter customers.customer_id, orders.customer_id
-- n: value - | filter customers.customer_id, orders.customer_id
select c.customer_id, x.n
from customers c, (select count(*) as n from orders o where o.customer_id = c.customer_id) x

-- title: range without an alias is one column named range
-- doubled: value - | filter -
select range * 2 as doubled from range(5)

-- title: postgres generate_series alias names its column
-- dialect: postgres
-- schema: orders(order_id, order_date date)
-- day: value - | filter orders.order_date
-- orders: value - | filter orders.order_date
SELECT d::date AS day, coalesce(x.n, 0) AS orders
FROM generate_series(DATE '2024-01-01', DATE '2024-01-31', INTERVAL '1 day') AS d
LEFT JOIN LATERAL (SELECT count(*) AS n FROM orders o WHERE o.order_date = d::date) x ON true

-- title: recursive cte
-- schema: employees(id, manager_id)
-- id: value employees.id | filter employees.id, employees.manager_id
-- depth: value - | filter employees.id, employees.manager_id
with recursive chain as (
    select id, 1 as depth from employees where manager_id is null
    union all
    select e.id, chain.depth + 1 from employees e join chain on e.manager_id = chain.id
)
select id, depth from chain

-- title: values and table functions read nothing upstream
-- v: value - | filter -
-- i: value - | filter -
select v, i from (values (1), (2)) as t(v), range(3) as r(i)

-- title: struct field access reads the struct column
-- schema: events(id, payload struct(kind varchar, n integer))
-- kind: value events.payload | filter -
select payload.kind as kind from events

-- title: a struct star is a stated gap
-- schema: events(id, payload struct(kind varchar, n integer))
-- unresolved: expands a struct
select id, payload.* from events

-- title: unnest of a list column in the select list
-- schema: events(id, tags varchar[])
-- id: value events.id | filter -
-- tag: value events.tags | filter -
select id, unnest(tags) as tag from events

-- title: unnest of a split string in the select list
-- schema: events(id, csv varchar)
-- part: value events.csv | filter -
select unnest(string_split(csv, ',')) as part from events

-- title: unnest of a struct column gives its fields so it is a stated gap
-- schema: events(id, payload struct(kind varchar, n integer))
-- unresolved: expands a struct
select id, unnest(payload) as p from events

-- title: recursive unnest is a stated gap
-- schema: events(id, items struct(k varchar)[])
-- unresolved: expands structs
select unnest(items, recursive := true) from events

-- title: lambda parameters are not columns
-- schema: orders(id, items integer[])
-- doubled: value orders.items | filter -
select list_transform(items, lambda x: x * 2) as doubled from orders

-- title: aliases keep their case quoted or not and columns keep their source's
-- schema: orders(order_id, Amount double)
-- order_id: value orders.order_id | filter -
-- Revenue: value orders.Amount | filter -
-- Gross: value orders.Amount | filter -
-- Amount: value orders.Amount | filter -
select ORDER_ID, amount as "Revenue", amount * 2 as Gross, amount from orders

-- title: column lists keep their case through a star
-- schema: orders(id, amount double)
-- Big: value orders.amount | filter -
-- N: value orders.id | filter -
with t(Big, N) as (select amount, id from orders) select * from (select * from t) s

-- title: unaliased casts are named by duckdb once built
-- schema: orders(order_id, amount double, status varchar)
-- order_id: value orders.order_id | filter -
-- amount: value orders.amount | filter -
-- status: value orders.status | filter -
select order_id::varchar, cast(amount as decimal(10, 2)), status from orders

-- title: positional references read the columns of the from clause
-- schema: orders(order_id, status varchar, amount double); customers(order_id, name varchar)
-- order_id: value orders.order_id | filter customers.order_id, orders.amount, orders.order_id
-- order_id_2: value customers.order_id | filter customers.order_id, orders.amount, orders.order_id
-- name: value customers.name | filter customers.order_id, orders.amount, orders.order_id
select #1, #4 as order_id_2, #5 from orders join customers using (order_id) where #3 > 0

-- title: unnamed expression gets duckdb's name once built
-- schema: orders(id, amount double)
-- _col_0: value - | filter -
select count(*) from orders

-- title: unknown schema is a stated gap
-- schema: orders(id)
-- unresolved: schema unknown: customers
select * from orders join customers using (id)

-- title: an unknown column is a stated gap
-- schema: orders(id, amount double)
-- unresolved: could not be resolved
select id from orders where status = 'paid'

-- title: an unknown column of a named table is a stated gap
-- schema: orders(id, amount double)
-- unresolved: Unknown column: status
select o.status from orders o

-- title: ambiguous column is a stated gap
-- schema: orders(id, amount double); customers(id, name varchar)
-- unresolved: could not be resolved
select id from orders join customers on orders.id = customers.id

-- title: snowflake model gives the duckdb lineage
-- dialect: snowflake
-- schema: orders(id, amount double, status varchar)
-- id: value orders.id | filter orders.status
-- big: value orders.amount | filter orders.status
select id, iff(amount > 100, amount, 0) as big from orders where status = 'paid'

-- title: bigquery model gives the duckdb lineage
-- dialect: bigquery
-- schema: orders(id, amount double, status varchar)
-- status: value orders.status | filter orders.status
-- total: value orders.amount | filter orders.status
select status, sum(safe_cast(amount as numeric)) as total from orders group by status

-- title: asof join reads both sides of its condition
-- schema: trades(symbol varchar, ts timestamp, price double); quotes(symbol varchar, ts timestamp, bid double, ask double)
-- price: value trades.price | filter quotes.symbol, quotes.ts, trades.symbol, trades.ts
-- slippage: value quotes.ask, quotes.bid, trades.price | filter quotes.symbol, quotes.ts, trades.symbol, trades.ts
select t.price, t.price - (q.bid + q.ask) / 2 as slippage
from trades t asof left join quotes q on t.symbol = q.symbol and t.ts >= q.ts

-- title: asof join with using
-- schema: trades(symbol varchar, ts timestamp, price double); quotes(symbol varchar, ts timestamp, bid double)
-- symbol: value quotes.symbol, trades.symbol | filter quotes.symbol, quotes.ts, trades.symbol, trades.ts
-- bid: value quotes.bid | filter quotes.symbol, quotes.ts, trades.symbol, trades.ts
select symbol, bid from trades asof join quotes using (symbol, ts)

-- title: positional join pairs rows by position
-- schema: left_part(a, b); right_part(c, d)
-- a: value left_part.a | filter -
-- d: value right_part.d | filter -
select a, d from left_part positional join right_part

-- title: parenthesized union with its own order and limit
-- schema: orders(order_id, amount double); old_orders(id, amount_cents integer)
-- order_id: value old_orders.id, orders.order_id | filter old_orders.amount_cents, orders.amount
-- amount: value old_orders.amount_cents, orders.amount | filter old_orders.amount_cents, orders.amount
(select order_id, amount from orders)
union all
(select id, amount_cents / 100.0 from old_orders)
order by amount desc
limit 10

-- title: top-level values
-- col0: value - | filter -
-- col1: value - | filter -
values (1, 'a'), (2, 'b')

-- title: materialized cte joined to itself
-- schema: events(id, ts timestamp)
-- day: value events.ts | filter events.ts
-- prev_n: value - | filter events.ts
with daily as materialized (select date_trunc('day', ts) as day, count(*) as n from events group by all)
select d1.day, d2.n as prev_n
from daily d1 left join daily d2 on d2.day = d1.day - interval 1 day

-- title: json extraction operators read the json column
-- schema: events(id, properties json)
-- campaign: value events.properties | filter -
-- utm: value events.properties | filter -
select properties->>'$.campaign' as campaign, properties->'$.utm' as utm from events

-- title: cast shorthand and try_cast
-- schema: orders(id, status varchar, amount_cents integer)
-- order_key: value orders.id | filter -
-- status_code: value orders.status | filter -
-- amount: value orders.amount_cents | filter -
select id::varchar as order_key, try_cast(status as integer) as status_code,
       amount_cents::decimal(12, 2) / 100 as amount
from orders

-- title: list comprehension and lambdas read the list
-- schema: events(id, tags varchar[])
-- loud: value events.tags | filter -
-- numbered: value events.tags | filter -
select [t || '!' for t in tags if t <> ''] as loud,
       list_apply(tags, lambda t, i: t || i::varchar) as numbered
from events

-- title: grouping sets with grouping_id
-- schema: sales(yr integer, category varchar, state varchar, paid double)
-- yr: value sales.yr | filter sales.category, sales.state, sales.yr
-- gid: value sales.category, sales.state, sales.yr | filter sales.category, sales.state, sales.yr
-- net_paid: value sales.paid | filter sales.category, sales.state, sales.yr
select yr, grouping_id(yr, category, state) as gid, sum(paid) as net_paid
from sales
group by grouping sets ((yr, category), (yr, state), (yr), ())

-- title: from-first with select and where
-- schema: events(user_id, event_type varchar, amount double)
-- user_id: value events.user_id | filter events.amount
-- amount: value events.amount | filter events.amount
from events select user_id, amount where amount > 0

-- title: bigquery cross join unnest
-- dialect: bigquery
-- schema: events(event_id, tags varchar[], amount double)
-- event_id: value events.event_id | filter -
-- tag: value events.tags | filter -
SELECT e.event_id, tag FROM events AS e CROSS JOIN UNNEST(e.tags) AS tag

-- title: postgres distinct on keeps the latest row
-- dialect: postgres
-- schema: events(user_id, ts timestamp, event_type varchar)
-- user_id: value events.user_id | filter events.ts, events.user_id
-- event_type: value events.event_type | filter events.ts, events.user_id
SELECT DISTINCT ON (user_id) user_id, event_type FROM events ORDER BY user_id, ts DESC

-- title: recursive cte with using key
-- schema: graph_edges(src, dst, weight double)
-- node: value graph_edges.dst | filter graph_edges.dst, graph_edges.src, graph_edges.weight
with recursive reach(node, dist) using key (node) as (
    select 1, 0.0
    union
    select e.dst, r.dist + e.weight
    from reach r join graph_edges e on e.src = r.node
    where r.dist + e.weight < 100
)
select node from reach
