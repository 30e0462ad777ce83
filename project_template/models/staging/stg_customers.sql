-- description: One row per customer, with a trimmed lower-case email and an ISO country code.
-- owner: analytics@shop.example
-- tags: [staging, customers]
-- checks:
--   - not_null: customer_id
--   - unique: [customer_id]
--   - unique: [email]
--   - not_null: signup_date
--   - expression: email like '%_@_%'
--   - accepted_values: {column: country_code, values: [DE, FR, GB, NL, ES, IT, SE, PL, US, DK, PT]}
select
    customer_id,
    trim(name) as customer_name,
    lower(trim(email)) as email,
    upper(trim(country)) as country_code,
    signup_date
from read_csv(
    'data/customers.csv',
    header = true,
    columns = {
        'customer_id': 'INTEGER',
        'name': 'VARCHAR',
        'email': 'VARCHAR',
        'country': 'VARCHAR',
        'signup_date': 'DATE'
    }
)
