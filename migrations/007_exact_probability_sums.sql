-- A signal summary's sum of probabilities is exact (numeric, each probability counted to 12
-- decimals): the same log gives the same sums whatever batches the projector folded it in (a
-- float sum depends on the order of its additions).
alter table signal_summaries drop column mean_probability;
alter table signal_summaries alter column probability_sum type numeric using round(probability_sum::numeric, 12);
alter table signal_summaries add column mean_probability double precision generated always as
    (case when probabilities > 0 then (probability_sum / probabilities)::double precision end) stored;

---- create above / drop below ----

alter table signal_summaries drop column mean_probability;
alter table signal_summaries alter column probability_sum type double precision using probability_sum::double precision;
alter table signal_summaries add column mean_probability double precision generated always as
    (case when probabilities > 0 then probability_sum / probabilities end) stored;
