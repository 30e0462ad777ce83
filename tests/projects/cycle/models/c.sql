select 1 as x from a
