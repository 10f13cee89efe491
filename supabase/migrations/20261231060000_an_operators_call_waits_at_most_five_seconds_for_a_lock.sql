-- An operator's call waits at most five seconds for a lock.
--
-- The coordinator's calls have waited at most 5 s for a lock since 20261224000000; an operator's did not.
-- A call made in Studio (ops.assign_tables, ops.accept_alternative, ops.cancel_booking, a setting) behind
-- a transaction that holds its restaurant's lock or its booking's row (one left open in another tab, say)
-- waited as long as that transaction lasted, with nothing on screen to say why. Every ops call that writes
-- now waits at most 5 s for each lock, as the pipeline's calls do, and then fails with 55P03
-- (lock_not_available, "canceling statement due to lock timeout"): the call is one transaction, so nothing
-- of it is written, and it can be run again. The operators' docs say where to look when it keeps failing
-- so (pg_stat_activity). The bulk calls (ops.retry_bookings, ops.release_stuck) already skip a booking
-- whose lock another holds; the limit bounds their other waits. The read-only calls (ops.health, the
-- queues, the reports) wait as the session does.
--
-- A function's own SET clause costs no statement and holds for every lock the call waits for, nested
-- functions included. A later CREATE OR REPLACE of one of these functions without the clause would drop
-- it: pgTAP 127 lists them.

alter function ops.reset_circuit_breaker(uuid, text, text) set lock_timeout = '5s';
alter function ops.assign_tables(uuid, text[], text, text) set lock_timeout = '5s';
alter function ops.retry_booking(uuid, text) set lock_timeout = '5s';
alter function ops.cancel_booking(uuid, text, text) set lock_timeout = '5s';
alter function ops.release_stuck(integer, text) set lock_timeout = '5s';
alter function ops.set_default_mode(text, text, text) set lock_timeout = '5s';
alter function ops.set_rollout_percentage(integer, text, text) set lock_timeout = '5s';
alter function ops.set_restaurant_mode(uuid, text, text, text) set lock_timeout = '5s';
alter function ops.set_kill_switch(boolean, text, text) set lock_timeout = '5s';
alter function ops.set_max_parallel(integer, text, uuid, text) set lock_timeout = '5s';
alter function ops.set_reoptimization(boolean, text, uuid, text) set lock_timeout = '5s';
alter function ops.set_shadow_candidate(text, text, text) set lock_timeout = '5s';
alter function ops.set_retention(text, integer, text, text) set lock_timeout = '5s';
alter function ops.set_event_retention(integer, text, text) set lock_timeout = '5s';
alter function ops.resend_dead_messages(text, text, uuid) set lock_timeout = '5s';
alter function ops.retry_bookings(text, text, timestamptz, uuid, integer) set lock_timeout = '5s';
alter function ops.accept_alternative(uuid, text, text, text) set lock_timeout = '5s';
alter function ops.accept_alternative(uuid, timestamptz, text, text) set lock_timeout = '5s';
alter function ops.accept_alternative(uuid, timestamp, text, text) set lock_timeout = '5s';
