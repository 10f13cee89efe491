-- Each dead message says why it died; a refusal is health's problem for the hour after it, not until the
-- booking begins; a guest without an address is recorded, not an error (20261221000000).
begin;
select plan(15);

-- Messages and events of this file only.
update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null
 where status <> 'sent';
delete from public.observability_events where event_type = 'notification.failed';

create function pg_temp.failed_event(p_booking uuid) returns text language sql as $$
  select (severity, context ->> 'dead_because')::text from public.observability_events
   where booking_id = p_booking and event_type = 'notification.failed' order by id desc limit 1;
$$;

select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 2, '2030-06-07 19:00+00') as refused \gset
select tests.create_booking(:'rid', 2, '2030-06-07 19:30+00') as phoned \gset
select tests.create_booking(:'rid', 2, '2030-06-07 20:00+00') as outage \gset
update public.bookings set customer_email = 'guest@example.com' where id in (:'refused', :'outage');
select tests.force_state(b, 'confirmed') from unnest(array[:'refused', :'phoned', :'outage']::uuid[]) b;
-- One claim takes all three, as a dispatcher would.
create temp table claimed as select c.id, c.lease_token, c.booking_id from public.notification_claim(100, 60000) c;

-- 1. Why each died, and how its event is recorded.
select id as r, lease_token as rl from claimed where booking_id = :'refused' \gset
select is(public.notification_complete(:r, :'rl', false, 'webhook refused the message (422)', now(), true), 'dead', 'refused');
select is((select dead_because from public.notification_outbox where id = :r), 'refused', 'dead because refused');
select is(pg_temp.failed_event(:'refused'), '(error,refused)', 'an error, saying so');
select id as p, lease_token as pl from claimed where booking_id = :'phoned' \gset
select is(public.notification_complete(:p, :'pl', false, 'no e-mail address: the booking has none to send to', now(), true),
  'dead', 'no address');
select is(pg_temp.failed_event(:'phoned'), '(info,no_address)', 'recorded at info: no fault of the pipeline''s');
select id as o, lease_token as ol from claimed where booking_id = :'outage' \gset
update public.notification_outbox set attempts = 16 where id = :o;
select is(public.notification_complete(:o, :'ol', false, 'webhook answered 503'), 'dead', 'the sixteenth failure');
select is(pg_temp.failed_event(:'outage'), '(error,retries_exhausted)', 'its retries ran out');
select is((select array_agg(dead_because order by booking_id = :'refused' desc, booking_id = :'phoned' desc)
             from ops.dead_messages(:'rid')), array['refused', 'no_address', 'retries_exhausted'], 'ops.dead_messages says why');

-- 2. Health: the outage's message is resendable; the refusal is a problem for an hour.
select is(ops.health() -> 'notifications' -> 'dead_resendable', '1'::jsonb, 'only the outage''s message is a standing alarm');
select is(ops.health() -> 'notifications' -> 'refused_last_hour', '1'::jsonb, 'the refusal is counted');
select ok(ops.health() -> 'problems' ? 'the mail sender refused 1 guest messages in the last hour, each dead at once: ops.dead_messages says why (an address it cannot take, or a change on its side); ops.resend_dead_messages sends them again once fixed',
  'and raised');
select is(ops.health(now() + interval '61 minutes') -> 'notifications' -> 'refused_last_hour', '0'::jsonb,
  'an hour later it is no longer a problem, though the message stays dead');

-- 3. A resend queues both messages with an address (and clears why they died, which a queued message may not
-- say: only_a_dead_notification_says_why would refuse the resend otherwise).
select is(ops.resend_dead_messages('ana', 'mailer and address fixed', :'rid'), '{"queued": 2, "still_dead": 1}'::jsonb,
  'the refused and the outage''s messages go again; the one without an address stays');

-- 4. Refused arguments and rows.
select throws_ok(format('select public.notification_complete(%s, %L, null)', :r, gen_random_uuid()), 'AS005',
  'p_ok must be true (sent) or false (failed)', 'an unknown result is refused');
select throws_ok(format('update public.notification_outbox set dead_because = %L where id = %s', 'refused', :r), '23514', null,
  'only a dead message says why it died');

select * from finish();
rollback;
