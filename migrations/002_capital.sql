-- pf.<agent>.capital: capital moved into or out of an agent's account by a rebalance, a
-- distribution (a profit sweep) or an allocation, in log order. One row per agent and cause:
-- a move resent past the log's dedup window is not a second move. The agent summary folds
-- them into its newest snapshot (the moves with a seq after the snapshot's), its Σ moved and
-- its high-water mark (the newest distribution's).
create table capital_moves (
    seq         bigint primary key,
    agent       text collate "C" not null,
    cause       text collate "C" not null,
    type        text not null check (type in ('rebalance', 'distribution', 'allocation')),
    amount      numeric not null,
    high_water  numeric not null default 0,
    reason      text not null default '',
    command_seq bigint not null default 0,
    equity      numeric not null,
    after_fills integer not null default 0,
    time        bigint not null,
    unique (agent, cause)
);
create index capital_moves_agent on capital_moves (agent, seq);
create index capital_moves_time on capital_moves (time, seq);

---- create above / drop below ----

drop table capital_moves;
