-- Health raises guest messages nobody takes and messages that keep failing, long before they are dead
-- (20261221000000).
begin;
-- One snapshot for the file, taken once the outbox is held: on a database other tests filled, a message the
-- pipeline queued while this file ran would be due too, and counted (LOCK takes no snapshot).
set transaction isolation level repeatable read;
lock table public.notification_outbox in exclusive mode;
select plan(13);

-- Messages of this file only.
update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null where status <> 'sent';

create function pg_temp.problem_like(p_now timestamptz, p_pattern text) returns boolean language sql as $$
  select exists (select 1 from jsonb_array_elements_text(ops.health(p_now) -> 'problems') p where p like p_pattern);
$$;

select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 2, '2030-05-07 19:00+00') as waiting \gset
update public.bookings set customer_email = 'guest@example.com' where id = :'waiting';
select tests.force_state(:'waiting', 'confirmed');
select id as n from public.notification_outbox where booking_id = :'waiting' \gset

-- 1. Nobody takes a due message.
select is(ops.health() -> 'notifications' -> 'oldest_due_seconds', '0'::jsonb, 'a message just queued is due now');
select ok(not pg_temp.problem_like(now() + interval '2 minutes', 'guest messages have been due for over 2 minutes%'),
  'two minutes is not yet a problem (the sweeper asks the dispatcher every 5 s)');
select is(ops.health(now() + interval '3 minutes') -> 'notifications' -> 'oldest_due_seconds', '180'::jsonb,
  'three minutes later it has waited 180 s');
select ok(pg_temp.problem_like(now() + interval '3 minutes',
  'guest messages have been due for over 2 minutes: if notifications.pending does not fall, nothing is sending them (is the notification-dispatcher function deployed with a usable NOTIFICATION_SENDER?%'),
  'and health says what to check');
select is(ops.health(now() + interval '3 minutes') ->> 'status', 'degraded', 'degraded, not down: bookings are still seated');

-- A claim whose lease ran out is due again from when it ran out.
update public.notification_outbox set status = 'sending', lease_token = gen_random_uuid(), attempts = 1,
       lease_expires_at = now() + interval '1 minute', next_attempt_at = now() where id = :n;
select is(ops.health(now() + interval '4 minutes') -> 'notifications' -> 'oldest_due_seconds', '180'::jsonb,
  'a lost claim counts from its lease''s end');

-- 2. A sender that keeps failing: six failures, about a minute of them.
update public.notification_outbox set status = 'pending', lease_token = null, lease_expires_at = null, attempts = 5,
       last_error = 'webhook answered 503', next_attempt_at = now() + interval '32 seconds' where id = :n;
select is(ops.health() -> 'notifications' -> 'failing', '0'::jsonb, 'five failures (31 s of them) are a blip, not a failing sender');
update public.notification_outbox set attempts = 6, next_attempt_at = now() + interval '64 seconds' where id = :n;
select is(ops.health() -> 'notifications' -> 'failing', '1'::jsonb, 'six are');
-- A second message failing for longer, whose latest failure came before the first's: the error shown is the
-- latest failure's, not the longest-failing message's.
select tests.create_booking(:'rid', 2, '2030-05-08 19:00+00') as older \gset
select tests.force_state(:'older', 'confirmed');
-- Its eighth failure 10 s ago: the next try comes its backoff after, 2^8 s (as notification_complete sets it).
update public.notification_outbox set attempts = 8, last_error = 'webhook answered 401',
       next_attempt_at = now() - interval '10 seconds' + interval '256 seconds' where booking_id = :'older';
select is(ops.health() -> 'notifications' -> 'failing', '2'::jsonb, 'both count');
select is(ops.health() -> 'notifications' ->> 'latest_error', 'webhook answered 503',
  'the latest error is the latest failure''s (the 503 came after the 401)');
select ok(pg_temp.problem_like(now(),
  'guest messages keep failing to send (2 waiting after six tries or more, the latest error: webhook answered 503); they are retried for about five hours, then dead'),
  'which health raises, saying what to look at');
update public.notification_outbox set status = 'sending', lease_token = gen_random_uuid(),
       lease_expires_at = now() + interval '1 minute' where booking_id = :'older';
select is(ops.health() -> 'notifications' -> 'failing', '1'::jsonb, 'a message being tried again is not counted as waiting');
select ok(not pg_temp.problem_like(now(), 'guest messages have been due for over 2 minutes%'),
  'a message waiting out its backoff is not one nobody takes');

select * from finish();
rollback;
