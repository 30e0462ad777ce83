-- description: Lifetime value of every customer who kept at least one order, ranked.
-- owner: analytics@shop.example
-- tags: [marts, customers]
-- freshness: 7d
-- checks:
--   - unique: [customer_id]
--   - not_null: lifetime_value
--   - expression: value_decile between 1 and 10
--   - sql: select * from customer_lifetime_value where first_order_date < signup_date
select
    customer_id,
    customer_name,
    country_code,
    signup_date,
    first_order_date,
    last_order_date,
    order_count,
    returned_count,
    net_revenue as lifetime_value,
    round(net_revenue / order_count, 2) as avg_order_value,
    date_diff('day', first_order_date, last_order_date) as active_days,
    rank() over (order by net_revenue desc) as value_rank,
    ntile(10) over (order by net_revenue desc, customer_id) as value_decile,
    round(net_revenue / sum(net_revenue) over (), 6) as revenue_share
from int_customer_orders
where order_count > 0
order by value_rank, customer_id
