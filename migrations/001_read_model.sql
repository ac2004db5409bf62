-- The Postgres read model: orders, fills, positions, equity, agent states, model deployments
-- and signal summaries, projected from the log by portfolio/postgres. Everything here is
-- derived: dropping these tables and projecting the log again gives the same rows.
--
-- Money and quantities are numeric (exact, written and read as the decimal strings the log
-- carries, scale kept); times are epoch milliseconds (bigint); seq is the stream sequence of
-- the last event that changed a row. IDs and names compare byte-wise (collate "C"), as the
-- in-memory read model sorts them.

-- The last sequence of each stream the projector folded in, committed in the same
-- transaction as the rows that sequence changed.
create table projector_offsets (
    stream     text primary key,
    last_seq   bigint not null default 0 check (last_seq >= 0),
    updated_at timestamptz not null default now()
);

-- Orders, folded by portfolio.Order.Apply from ord.<agent>.<venue>.<symbol>.<type>.
create table orders (
    client_order_id text collate "C" primary key,
    venue_order_id  text not null default '',
    agent           text collate "C" not null,
    venue           text collate "C" not null,
    symbol          text collate "C" not null,
    side            text not null,
    type            text not null,
    qty             numeric not null,
    price           numeric not null,
    reduce_only     boolean not null default false,
    status          text not null,
    filled          numeric not null,
    notional        numeric not null,
    fees            numeric not null,
    reason          text not null default '',
    created         bigint not null,
    updated         bigint not null,
    fills           integer not null default 0,
    seq             bigint not null
) with (fillfactor = 70);
-- No index names a column an order's events change (status, filled, ...): its updates stay
-- HOT (heap-only, in the room fillfactor leaves), so they touch no index. Filters on status
-- ride on the created-time indexes.
create index orders_created on orders (created desc, client_order_id desc);
create index orders_agent_created on orders (agent, created desc, client_order_id desc);
create index orders_symbol_created on orders (symbol, venue, created desc);

-- Fills an order applied (a repeated trade ID is not a second fill).
create table fills (
    client_order_id text collate "C" not null,
    trade_id        text collate "C" not null,
    agent           text collate "C" not null,
    venue           text collate "C" not null,
    symbol          text collate "C" not null,
    side            text not null,
    qty             numeric not null,
    price           numeric not null,
    fee             numeric not null,
    maker           boolean not null default false,
    time            bigint not null,
    seq             bigint not null,
    primary key (client_order_id, trade_id)
);
create index fills_time on fills (time desc, client_order_id desc, trade_id desc);
create index fills_agent_time on fills (agent, time desc);
create index fills_symbol_time on fills (symbol, venue, time desc);
-- The fills of one position in log order: the projector replays them through
-- portfolio.Account.Fill to restore a position after a restart.
create index fills_position on fills (agent, venue, symbol, seq);

-- Positions, as portfolio.Account keeps them (qty signed: negative is short).
create table positions (
    agent    text collate "C" not null,
    venue    text collate "C" not null,
    symbol   text collate "C" not null,
    qty      numeric not null,
    cost     numeric not null,
    realized numeric not null,
    fees     numeric not null,
    mark     numeric not null,
    fills    integer not null,
    seq      bigint not null,
    primary key (agent, venue, symbol)
) with (fillfactor = 70);

-- pf.<agent>.equity: an agent's account at the first mark of each hour of market time.
create table equity_snapshots (
    agent      text collate "C" not null,
    time       bigint not null,
    capital    numeric not null,
    cash       numeric not null,
    equity     numeric not null,
    exposure   numeric not null,
    realized   numeric not null,
    unrealized numeric not null,
    fees       numeric not null,
    drawdown   numeric not null,
    seq        bigint not null,
    primary key (agent, time)
);

-- pf.<agent>.state: every change of an agent's trading state, and the latest one per agent.
create table agent_state_events (
    seq         bigint primary key,
    agent       text collate "C" not null,
    state       text not null,
    previous    text not null default '',
    reason      text not null default '',
    equity      numeric not null,
    drawdown    numeric not null,
    time        bigint not null,
    cause       text not null default '',
    command_seq bigint not null default 0
);
create index agent_state_events_agent on agent_state_events (agent, seq);

create table agent_states (
    agent       text collate "C" primary key,
    state       text not null,
    previous    text not null default '',
    reason      text not null default '',
    equity      numeric not null,
    drawdown    numeric not null,
    time        bigint not null,
    cause       text not null default '',
    command_seq bigint not null default 0,
    seq         bigint not null
);

-- pf.risk.killswitch: the global kill switch turned on or off.
create table killswitch_events (
    seq         bigint primary key,
    switched_on boolean not null,
    reason      text not null default '',
    cause       text not null default '',
    command_seq bigint not null default 0,
    time        bigint not null
);

-- cmd.models.deploy, cmd.models.promote, cmd.models.retire_shadow, in log order. The model
-- version is the card's, which only the engine reads: the command says where it came from.
create table model_deployments (
    seq        bigint primary key,
    command_id text not null,
    action     text not null check (action in ('deploy', 'promote', 'retire_shadow')),
    model      text collate "C" not null,
    dir        text not null default '',
    mode       text not null default '',
    issuer     text not null default '',
    time       bigint not null
);
create index model_deployments_model on model_deployments (model, seq);

-- Signals per model, venue, symbol and hour of feature time. Probabilities are model
-- outputs (floats), not money; only signals carrying a "probability" enter the mean.
create table signal_summaries (
    model             text collate "C" not null,
    shadow            boolean not null,
    venue             text collate "C" not null,
    symbol            text collate "C" not null,
    hour              bigint not null,
    signals           bigint not null,
    probabilities     bigint not null,
    probability_sum   double precision not null,
    mean_probability  double precision generated always as
        (case when probabilities > 0 then probability_sum / probabilities end) stored,
    last_version      text not null,
    last_feature_time bigint not null,
    last_prediction   jsonb not null,
    last_confidence   double precision not null,
    last_latency_us   bigint not null,
    seq               bigint not null,
    primary key (model, shadow, venue, symbol, hour)
);
create index signal_summaries_symbol on signal_summaries (symbol, venue, hour desc);

---- create above / drop below ----

drop table signal_summaries;
drop table model_deployments;
drop table killswitch_events;
drop table agent_states;
drop table agent_state_events;
drop table equity_snapshots;
drop table positions;
drop table fills;
drop table orders;
drop table projector_offsets;
