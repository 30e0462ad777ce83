-- description: Customers, revenue and recency per RFM segment (reads the Python asset customer_segments).
-- owner: ds@shop.example
-- tags: [marts, customers]
-- checks:
--   - unique: [segment]
--   - expression: customers > 0
select
    segment,
    count(*) as customers,
    sum(net_revenue) as revenue,
    round(avg(net_revenue), 2) as avg_revenue,
    round(avg(order_count), 1) as avg_orders,
    round(median(recency_days)) as median_recency_days,
    round(sum(net_revenue) / sum(sum(net_revenue)) over (), 4) as revenue_share
from customer_segments
group by segment
order by revenue desc
