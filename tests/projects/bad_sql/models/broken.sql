-- description: a typo in the query
select id,
       amount
from read_csv('x.csv') wher id > 1 group by
