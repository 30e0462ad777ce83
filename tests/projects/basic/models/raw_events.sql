-- Raw events from the CSV export.
-- tags: [raw]
select * from read_csv('data/events.csv')
