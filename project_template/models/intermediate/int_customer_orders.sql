-- description: >-
--   One row per customer (including those who never ordered) with order counts, first
--   and last order dates and net revenue (cancelled and returned orders excluded).
-- owner: analytics@shop.example
-- tags: [intermediate, customers]
-- checks:
--   - unique: [customer_id]
--   - expression: net_revenue >= 0
--   - expression: order_count = 0 or first_order_date <= last_order_date
with kept_orders as (
    select *
    from int_orders_enriched
    where not is_cancelled
)

select
    customers.customer_id,
    customers.customer_name,
    customers.country_code,
    customers.signup_date,
    count(kept_orders.order_id) as order_count,
    count(kept_orders.order_id) filter (where kept_orders.is_returned) as returned_count,
    min(kept_orders.order_date) as first_order_date,
    max(kept_orders.order_date) as last_order_date,
    coalesce(sum(kept_orders.order_total) filter (where not kept_orders.is_returned), 0)
        as net_revenue,
    coalesce(sum(kept_orders.paid_amount), 0) as total_paid
from stg_customers as customers
left join kept_orders on customers.customer_id = kept_orders.customer_id
group by all
