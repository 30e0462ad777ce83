-- description: One row per product in the catalogue, with its category and list price.
-- owner: analytics@shop.example
-- tags: [staging, products]
-- checks:
--   - not_null: product_id
--   - unique: [product_id]
--   - accepted_values: {column: category, values: [electronics, home, kitchen, books, outdoor, beauty]}
--   - expression: unit_price > 0
select
    product_id,
    trim(name) as product_name,
    lower(trim(category)) as category,
    unit_price
from read_csv(
    'data/products.csv',
    header = true,
    columns = {
        'product_id': 'INTEGER',
        'name': 'VARCHAR',
        'category': 'VARCHAR',
        'unit_price': 'DECIMAL(10, 2)'
    }
)
