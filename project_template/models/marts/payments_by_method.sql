-- description: Payments per method and month, with each method's share of the month.
-- owner: finance@shop.example
-- tags: [marts, finance]
-- checks:
--   - unique: [paid_month, payment_method]
--   - accepted_values: {column: payment_method, values: [credit_card, paypal, bank_transfer, gift_card]}
--   - expression: share_of_month between 0 and 1
from stg_payments
select
    date_trunc('month', paid_at)::date as paid_month,
    payment_method,
    count(*) as payments,
    count(distinct order_id) as orders,
    sum(amount) as amount,
    round(avg(amount), 2) as avg_amount,
    round(sum(amount) / sum(sum(amount)) over (partition by paid_month), 4) as share_of_month
group by paid_month, payment_method
order by paid_month, payment_method
