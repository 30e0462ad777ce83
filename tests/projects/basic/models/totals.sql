-- tags: [core, report]
with clicks as (select * from main.clicks)
select count(*) as n, sum(amount) as total from clicks
