-- description: One row per payment. An order may be unpaid, or paid in two parts (gift card + card).
-- owner: finance@shop.example
-- tags: [staging, finance]
-- checks:
--   - not_null: payment_id
--   - unique: [payment_id]
--   - not_null: order_id
--   - accepted_values: {column: payment_method, values: [credit_card, paypal, bank_transfer, gift_card]}
--   - expression: amount > 0
select
    payment_id,
    order_id,
    lower(trim(method)) as payment_method,
    amount,
    paid_at,
    cast(paid_at as date) as paid_date
from read_csv(
    'data/payments.csv',
    header = true,
    columns = {
        'payment_id': 'INTEGER',
        'order_id': 'INTEGER',
        'method': 'VARCHAR',
        'amount': 'DECIMAL(10, 2)',
        'paid_at': 'TIMESTAMP'
    }
)
