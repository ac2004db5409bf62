-- Each stream's offset also names the event it points at (a fingerprint of its subject and
-- data), so that a database projected from another log is found even where that log is
-- longer than this one: at start the projector reads the event at last_seq and compares.
-- Empty for offsets written before.
alter table projector_offsets add column last_event text not null default '';

---- create above / drop below ----

alter table projector_offsets drop column last_event;
