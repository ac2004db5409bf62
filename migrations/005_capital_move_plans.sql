-- A capital move carries its decision's plan (every move of a rebalance or distribution), so
-- the read model answers capital_moves as the in-memory one does. Null for a move without one.
alter table capital_moves add column plan jsonb;

---- create above / drop below ----

alter table capital_moves drop column plan;
