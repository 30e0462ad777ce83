-- description: >-
--   Units and revenue per product over kept orders (not cancelled, not returned), ranked
--   within their category.
-- owner: analytics@shop.example
-- tags: [marts, products]
-- checks:
--   - unique: [product_id]
--   - not_null: rank_in_category
--   - expression: units_sold >= 0
--   - row_count: {min: 1, max: 10000}
with int_order_items_priced as (
    -- This CTE shadows the upstream table on purpose: below it, only lines of kept orders
    -- exist. The `from int_order_items_priced` just below still reads the real table.
    select lines.*
    from int_order_items_priced as lines
    join stg_orders as orders
        on lines.order_id = orders.order_id
    where orders.status not in ('cancelled', 'returned')
),

sales as (
    select
        product_id,
        count(distinct order_id) as orders,
        sum(quantity) as units_sold,
        sum(line_amount) as revenue
    from int_order_items_priced
    group by product_id
)

select
    products.product_id,
    products.product_name,
    products.category,
    products.unit_price,
    coalesce(sales.orders, 0) as orders,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.revenue, 0) as revenue,
    rank() over (
        partition by products.category
        order by coalesce(sales.revenue, 0) desc
    ) as rank_in_category,
    round(
        coalesce(sales.revenue, 0)
        / sum(coalesce(sales.revenue, 0)) over (partition by products.category),
        4
    ) as share_of_category
from stg_products as products
left join sales on products.product_id = sales.product_id
order by products.category, rank_in_category
