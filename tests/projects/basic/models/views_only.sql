select id from raw_events where kind = 'view'
