-- description: >-
--   One row per order. Statuses are normalised (the order system exports them in mixed
--   case, sometimes with trailing spaces) and orders exported twice are kept once.
-- owner: analytics@shop.example
-- tags: [staging, finance]
-- checks:
--   - not_null: order_id
--   - unique: [order_id]
--   - not_null: customer_id
--   - not_null: order_date
--   - accepted_values: {column: status, values: [placed, shipped, delivered, cancelled, returned]}
select
    order_id,
    customer_id,
    order_date,
    lower(trim(status)) as status
from read_csv(
    'data/orders.csv',
    header = true,
    columns = {
        'order_id': 'INTEGER',
        'customer_id': 'INTEGER',
        'order_date': 'DATE',
        'status': 'VARCHAR'
    }
)
-- a handful of orders appear twice in the export: keep one row per order
qualify row_number() over (partition by order_id order by order_date) = 1
