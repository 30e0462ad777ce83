-- description: Order lines with the product's name, category and price, and the line amount.
-- owner: analytics@shop.example
-- tags: [intermediate, products]
-- materialized: view
-- checks:
--   - name: every line has a known product
--     not_null: unit_price
--   - expression: line_amount = quantity * unit_price
select
    items.order_id,
    items.product_id,
    products.product_name,
    products.category,
    items.quantity,
    products.unit_price,
    items.quantity * products.unit_price as line_amount
from stg_order_items as items
left join stg_products as products
    on items.product_id = products.product_id
