-- description: One row per day with order counts, revenue and payments.
-- owner: analytics@shop.example
-- tags: [marts, finance]
-- freshness: 24h
-- checks:
--   - not_null: order_date
--   - unique: [order_date]
--   - expression: revenue >= 0
--   - expression: cancelled_orders <= orders
--   - row_count: {min: 1}
with daily as (
    select
        order_date,
        count(*) as orders,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_returned) as returned_orders,
        count(distinct customer_id) as customers,
        coalesce(sum(item_count) filter (where not is_cancelled), 0) as items_sold,
        -- revenue counts orders that were neither cancelled nor returned
        coalesce(sum(order_total) filter (where not is_cancelled and not is_returned), 0)
            as revenue,
        sum(paid_amount) as paid_amount
    from int_orders_enriched
    group by order_date
)

select
    order_date,
    orders,
    cancelled_orders,
    returned_orders,
    customers,
    items_sold,
    revenue,
    paid_amount,
    round(revenue / nullif(orders - cancelled_orders - returned_orders, 0), 2)
        as avg_order_value,
    round(cancelled_orders / orders, 4) as cancellation_rate,
    sum(revenue) over (
        order by order_date
        rows between 6 preceding and current row
    ) as revenue_7d
from daily
order by order_date
