-- description: >-
--   Revenue per day and payment status, one partition per day of 2024. A late correction
--   to the orders of one day rebuilds that day only: see `assets partitions revenue_by_day`.
-- owner: analytics@shop.example
-- tags: [marts, finance, partitioned]
-- partitioned_by: order_date
-- grain: day
-- start: 2024-01-01
-- end: 2024-12-31
-- batch_size: 31
-- checks:
--   - not_null: payment_status
--   - expression: revenue >= 0
select
    order_date,
    payment_status,
    count(*) as orders,
    coalesce(sum(order_total) filter (where not is_cancelled and not is_returned), 0) as revenue,
    sum(paid_amount) as paid_amount
from int_orders_enriched
-- $start and $end are the bounds of each partition: [2024-03-05, 2024-03-06) for one day
where order_date >= $start and order_date < $end
group by order_date, payment_status
