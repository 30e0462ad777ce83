-- description: One row per order line (an order holds each product at most once).
-- owner: analytics@shop.example
-- tags: [staging, products]
-- checks:
--   - not_null: order_id
--   - not_null: product_id
--   - unique: [order_id, product_id]
--   - expression: quantity between 1 and 100
select
    order_id,
    product_id,
    quantity
from read_csv(
    'data/order_items.csv',
    header = true,
    columns = {
        'order_id': 'INTEGER',
        'product_id': 'INTEGER',
        'quantity': 'INTEGER'
    }
)
