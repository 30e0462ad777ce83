-- Fingerprint cases, read by tests/test_sql_fingerprint.py: two versions of one query.
--
-- Each case starts with a `-- title:` line, then directive lines:
--   -- schema: name(col type, ...); ...   what the queries read (as in columns.sql)
--   -- dialect: optional, default duckdb
--   -- changes: what must differ between the two versions:
--        `nothing`: a formatting change; the code fingerprint, the row fingerprint and
--                   every column fingerprint stay the same;
--        `code`: the same meaning written differently; only the code fingerprint differs;
--        `rows` and/or output column names: exactly those fingerprints differ (and the
--                   code fingerprint does).
-- then the first version, a `-- versus:` line and the second version.
-- A downstream asset is fresh when the fingerprints it reads stay the same, so a
-- change that decides rows or values must change one: these cases pin that down.

-- title: partition of a named window
-- schema: trades(sym varchar, ex varchar, ts timestamp, qty integer)
-- changes: cum_qty
select sym, sum(qty) over w as cum_qty from trades window w as (partition by ex order by ts)
-- versus:
select sym, sum(qty) over w as cum_qty from trades window w as (partition by sym order by ts)

-- title: order of a named window
-- schema: trades(sym varchar, ex varchar, ts timestamp, qty integer)
-- changes: cum_qty
select sym, sum(qty) over w as cum_qty from trades window w as (partition by ex order by ts)
-- versus:
select sym, sum(qty) over w as cum_qty from trades window w as (partition by ex order by ts desc)

-- title: a frame over a named window
-- schema: trades(sym varchar, ts timestamp, price double)
-- changes: ma
select avg(price) over (w rows between 6 preceding and current row) as ma
from trades window w as (partition by sym order by ts)
-- versus:
select avg(price) over (w rows between 2 preceding and current row) as ma
from trades window w as (partition by sym order by ts)

-- title: a named window built on another one
-- schema: trades(sym varchar, ex varchar, ts timestamp, qty integer)
-- changes: r
select rank() over w2 as r from trades window w as (partition by ex), w2 as (w order by ts)
-- versus:
select rank() over w2 as r from trades window w as (partition by sym), w2 as (w order by ts)

-- title: a named window written inline
-- schema: trades(sym varchar, ts timestamp, qty integer)
-- changes: code
select sum(qty) over w as cum_qty from trades window w as (partition by sym order by ts)
-- versus:
select sum(qty) over (partition by sym order by ts) as cum_qty from trades

-- title: rows frame versus range frame
-- schema: daily(day date, revenue double)
-- changes: r7
select sum(revenue) over (order by day rows between 6 preceding and current row) as r7 from daily
-- versus:
select sum(revenue) over (order by day range between 6 preceding and current row) as r7 from daily

-- title: frame exclusion
-- schema: daily(day date, revenue double)
-- changes: r7
select sum(revenue) over (order by day rows between 6 preceding and current row) as r7 from daily
-- versus:
select sum(revenue) over (order by day rows between 6 preceding and current row exclude current row) as r7
from daily

-- title: offset under a limit
-- schema: t(k integer, v integer)
-- changes: rows
select k, v from t order by v limit 5 offset 10
-- versus:
select k, v from t order by v limit 5 offset 20

-- title: offset added under a limit
-- schema: t(k integer, v integer)
-- changes: rows
select k, v from t order by v limit 5
-- versus:
select k, v from t order by v limit 5 offset 5

-- title: offset of a set operation
-- schema: a(k integer); b(k integer)
-- changes: rows
(select k from a union all select k from b) order by k limit 3 offset 1
-- versus:
(select k from a union all select k from b) order by k limit 3 offset 2

-- title: except all keeps duplicates that except removes
-- schema: a(k integer); b(k integer)
-- changes: rows
select k from a except select k from b
-- versus:
select k from a except all select k from b

-- title: intersect all keeps duplicates that intersect removes
-- schema: a(k integer); b(k integer)
-- changes: rows
select k from a intersect select k from b
-- versus:
select k from a intersect all select k from b

-- title: union all versus union
-- schema: a(k integer); b(k integer)
-- changes: rows
select k from a union select k from b
-- versus:
select k from a union all select k from b

-- title: order direction under a limit
-- schema: t(k integer, v integer)
-- changes: rows
select k from t order by v limit 3
-- versus:
select k from t order by v desc limit 3

-- title: nulls first under a limit
-- schema: t(k integer, v integer)
-- changes: rows
select k from t order by v nulls first limit 3
-- versus:
select k from t order by v nulls last limit 3

-- title: order by all under a limit
-- schema: t(k integer, v integer)
-- changes: rows
select k, v from t order by all limit 3
-- versus:
select k, v from t order by all desc limit 3

-- title: order by alone decides nothing
-- schema: t(k integer, v integer)
-- changes: code
select k from t order by v
-- versus:
select k from t order by v desc

-- title: distinct on columns
-- schema: t(k integer, g integer, v integer)
-- changes: rows
select distinct on (k) k, v from t order by k, v
-- versus:
select distinct on (g) k, v from t order by g, v

-- title: distinct on ordering
-- schema: t(k integer, v integer)
-- changes: rows
select distinct on (k) k, v from t order by k, v
-- versus:
select distinct on (k) k, v from t order by k, v desc

-- title: sample size
-- schema: t(k integer)
-- changes: rows
select k from t using sample 10 percent (bernoulli)
-- versus:
select k from t using sample 20 percent (bernoulli)

-- title: tablesample of a joined table
-- schema: t(k integer); u(k integer)
-- changes: rows
select t.k from t join u tablesample 10% on t.k = u.k
-- versus:
select t.k from t join u tablesample 50% on t.k = u.k

-- title: qualify condition
-- schema: t(k integer, v integer)
-- changes: rows
select k from t qualify row_number() over (partition by k order by v) = 1
-- versus:
select k from t qualify row_number() over (partition by k order by v desc) = 1

-- title: rollup versus cube
-- schema: t(a integer, b integer, v integer)
-- changes: rows
select a, b, sum(v) as s from t group by rollup (a, b)
-- versus:
select a, b, sum(v) as s from t group by cube (a, b)

-- title: grouping sets versus plain grouping
-- schema: t(a integer, b integer, v integer)
-- changes: rows
select a, b, sum(v) as s from t group by grouping sets ((a), (a, b))
-- versus:
select a, b, sum(v) as s from t group by a, b

-- title: aggregate filter clause
-- schema: t(a integer, v integer)
-- changes: s
select a, sum(v) filter (where v > 0) as s from t group by a
-- versus:
select a, sum(v) filter (where v >= 0) as s from t group by a

-- title: join kind
-- schema: t(k integer); u(k integer, v integer)
-- changes: rows
select t.k, u.v from t left join u on t.k = u.k
-- versus:
select t.k, u.v from t join u on t.k = u.k

-- title: asof join
-- schema: t(k integer, ts integer); u(k integer, ts integer, v integer)
-- changes: rows
select t.k, u.v from t asof join u on t.k = u.k and t.ts >= u.ts
-- versus:
select t.k, u.v from t join u on t.k = u.k and t.ts >= u.ts

-- title: parentheses that group are meaning
-- schema: t(a integer, b integer, c integer)
-- changes: x
select (a + b) * c as x from t
-- versus:
select a + b * c as x from t

-- title: parentheses around or inside and are meaning
-- schema: t(a integer, b integer, c integer)
-- changes: rows
select a from t where (a > 1 or b > 1) and c > 1
-- versus:
select a from t where a > 1 or b > 1 and c > 1

-- title: interval unit in any case
-- schema: t(d date)
-- changes: nothing
select d + interval 1 day as e from t
-- versus:
select d + INTERVAL 1 DAY as e from t

-- title: keywords and identifiers in any case
-- schema: t(k integer, v integer)
-- changes: nothing
select k, sum(v) as s from t where v > 0 group by k having count(*) > 1
-- versus:
SELECT K, SUM(V) AS S FROM T WHERE V > 0 GROUP BY K HAVING COUNT(*) > 1

-- title: string literal case is meaning
-- schema: t(k integer, s varchar)
-- changes: rows
select k from t where s = 'paid'
-- versus:
select k from t where s = 'PAID'
-- title: window frame keywords in any case
-- schema: trades(sym varchar, ts timestamp, qty integer)
-- changes: nothing
select sym, sum(qty) over (partition by sym order by ts rows between unbounded preceding and current row) as q
from trades
-- versus:
SELECT sym, SUM(qty) OVER (PARTITION BY sym ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS q
FROM trades

-- title: range frame with an interval in any case
-- schema: events(u integer, ts timestamp)
-- changes: nothing
select count(*) over (partition by u order by ts range between interval 1 hour preceding and current row exclude current row) as n
from events
-- versus:
select count(*) over (partition by u order by ts RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) as n
from events

-- title: redundant parentheses around conditions
-- schema: orders(id integer, customer_id integer, amount double); customers(id integer, country varchar)
-- changes: nothing
select o.id, c.country
from orders o join customers c on (o.customer_id = c.id)
where (o.amount > 10) and ((c.country = 'DE'))
-- versus:
select o.id, c.country
from orders o join customers c on o.customer_id = c.id
where o.amount > 10 and c.country = 'DE'

-- title: redundant parentheses around values
-- schema: t(a integer, b integer, c integer)
-- changes: nothing
select ((a)) + (b * c) as x, (a) as y from t where (a) in ((b), c)
-- versus:
select a + b * c as x, a as y from t where a in (b, c)

-- title: unknown function name in any case
-- schema: trades(sym varchar, qty integer)
-- changes: nothing
select sym, histogram(qty) as h from trades group by sym
-- versus:
select sym, HISTOGRAM(qty) as h from trades group by sym


-- title: the select list inside exists is not meaning
-- schema: c(id integer); o(cid integer, amount double)
-- changes: code
select id from c where exists (select * from o where o.cid = c.id)
-- versus:
select id from c where exists (select 1 from o where o.cid = c.id)

-- title: column list case of a table function
-- changes: nothing
select n * 2 as d from range(5) as r(n)
-- versus:
SELECT N * 2 AS D FROM RANGE(5) AS R(N)

-- title: column list case of unnest in from
-- schema: events(id integer, tags varchar[])
-- changes: nothing
select e.id, t.tag from events e, unnest(e.tags) as t(tag)
-- versus:
select E.ID, T.TAG from EVENTS E, UNNEST(E.TAGS) as T(TAG)
