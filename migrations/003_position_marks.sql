-- Positions valued at the market, not at their last fill: an agent's equity snapshot
-- (pf.<agent>.equity) carries the marks of its open positions. position_marks keeps the newest
-- per position (by the snapshot's mark_time; a tie goes to the later snapshot), positions the
-- time of their newest fill; the positions query takes whichever price is newer (the mark on
-- a tie). The ORD and PF streams are projected apart, in any order between them: the answer
-- does not depend on it.
alter table positions add column fill_time bigint not null default 0;

create table position_marks (
    agent  text collate "C" not null,
    venue  text collate "C" not null,
    symbol text collate "C" not null,
    mark   numeric not null,
    time   bigint not null,
    seq    bigint not null,
    primary key (agent, venue, symbol)
);

---- create above / drop below ----

drop table position_marks;
alter table positions drop column fill_time;
