-- description: Click events only.
-- tags: [core]
-- checks:
--   - not_null: id
select id, amount from raw_events where kind = 'click'
