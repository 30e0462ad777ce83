-- description: One row per order with its item totals, payments and a payment status.
-- owner: analytics@shop.example
-- tags: [intermediate, finance]
-- checks:
--   - unique: [order_id]
--   - not_null: order_total
--   - accepted_values: {column: payment_status, values: [unpaid, partially_paid, paid, overpaid]}
--   - name: no order is charged more than its total
--     expression: paid_amount <= order_total
--     severity: warn
with orders as (
    select * from stg_orders
),

item_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(line_amount) as order_total
    from int_order_items_priced
    group by order_id
),

payments as (
    select
        order_id,
        count(*) as payment_count,
        sum(amount) as paid_amount,
        min(paid_at) as first_paid_at,
        -- the method that carried most of the amount
        arg_max(payment_method, amount) as main_payment_method
    from stg_payments
    group by order_id
)

select
    orders.order_id,
    orders.customer_id,
    orders.order_date,
    orders.status,
    orders.status = 'cancelled' as is_cancelled,
    orders.status = 'returned' as is_returned,
    coalesce(item_totals.line_count, 0) as line_count,
    coalesce(item_totals.item_count, 0) as item_count,
    coalesce(item_totals.order_total, 0) as order_total,
    coalesce(payments.payment_count, 0) as payment_count,
    coalesce(payments.paid_amount, 0) as paid_amount,
    payments.main_payment_method,
    payments.first_paid_at,
    case
        when payments.paid_amount is null then 'unpaid'
        when payments.paid_amount < item_totals.order_total then 'partially_paid'
        when payments.paid_amount = item_totals.order_total then 'paid'
        else 'overpaid'
    end as payment_status
from orders
left join item_totals on orders.order_id = item_totals.order_id
left join payments on orders.order_id = payments.order_id
