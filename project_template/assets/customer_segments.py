"""RFM customer segments, computed in DuckDB from the int_customer_orders asset.

Each customer who kept at least one order gets three scores from 1 (worst) to 4 (best):
recency (how recently they ordered), frequency (how many orders) and monetary value (net
revenue). The scores are quartiles over the customers who ordered; the segment is a rule
over the three scores. Customers who never kept an order are "prospects".

Recency is measured against the newest order in the data, not today's date, so the
asset gives the same answer whenever it is rebuilt from the same data.
"""

from assets_orch import asset

SEGMENT_RULES = """
    case
        when order_count = 0 then 'prospect'
        when r_score >= 3 and f_score >= 3 and m_score >= 3 then 'champion'
        when r_score >= 3 and f_score >= 2 then 'loyal'
        when r_score >= 3 then 'promising'
        when r_score = 2 and (f_score >= 3 or m_score >= 3) then 'needs_attention'
        when f_score >= 3 or m_score >= 3 then 'at_risk'
        else 'hibernating'
    end
"""


@asset(
    description="RFM-style customer segments (recency, frequency, monetary quartiles).",
    tags=["customers", "python"],
    owner="ds@shop.example",
    checks=[
        {"unique": ["customer_id"]},
        {"not_null": "segment"},
        {
            "accepted_values": {
                "column": "segment",
                "values": [
                    "champion",
                    "loyal",
                    "promising",
                    "needs_attention",
                    "at_risk",
                    "hibernating",
                    "prospect",
                ],
            }
        },
    ],
)
def customer_segments(int_customer_orders):
    """One row per customer with R, F and M scores and a segment name."""
    # `int_customer_orders` is a duckdb.DuckDBPyRelation over the upstream table; the query
    # below runs inside DuckDB and the result is returned as a (lazy) relation.
    return int_customer_orders.query(
        "customers",
        f"""
        with scored as (
            select
                customer_id,
                customer_name,
                country_code,
                order_count,
                net_revenue,
                last_order_date,
                date_diff('day', last_order_date, max(last_order_date) over ())
                    as recency_days,
                -- quartiles among customers who ordered; ties broken by id for stability
                case when order_count > 0 then ntile(4) over (
                    partition by order_count > 0
                    order by last_order_date, customer_id
                ) end as r_score,
                case when order_count > 0 then ntile(4) over (
                    partition by order_count > 0
                    order by order_count, customer_id
                ) end as f_score,
                case when order_count > 0 then ntile(4) over (
                    partition by order_count > 0
                    order by net_revenue, customer_id
                ) end as m_score
            from customers
        )
        select
            *,
            {SEGMENT_RULES} as segment
        from scored
        order by customer_id
        """,
    )
