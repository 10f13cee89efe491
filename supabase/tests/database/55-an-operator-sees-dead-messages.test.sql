-- ops.dead_messages lists the dead guest messages with why they died and what stands in the way of a resend,
-- agreeing with what ops.resend_dead_messages does, and never shows an address (20261221000000); a blank
-- address is none (20261221000000). Every one is asked for here, visits that are over too (20261230010000).
begin;
select plan(12);

-- Messages of this file only.
update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null where status <> 'sent';

create function pg_temp.dead(p_booking uuid, p_error text) returns void language sql as $$
  update public.notification_outbox set status = 'dead', attempts = 16, last_error = p_error where booking_id = p_booking;
$$;

select tests.create_restaurant() as rid \gset
select tests.create_restaurant() as other \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as outage \gset
select tests.create_booking(:'rid', 2, '2030-03-07 18:00+00') as phoned \gset
select tests.create_booking(:'rid', 2, date_trunc('hour', now()) - interval '2 hours') as past \gset
select tests.create_booking(:'other', 2, '2030-03-07 20:00+00') as elsewhere \gset
update public.bookings set customer_email = 'guest@example.com' where id in (:'outage', :'past', :'elsewhere');
select tests.force_state(b, 'confirmed') from unnest(array[:'outage', :'phoned', :'past', :'elsewhere']::uuid[]) b;
select pg_temp.dead(:'outage', 'webhook answered 503');
select pg_temp.dead(:'phoned', 'no e-mail address: the booking has none to send to');
select pg_temp.dead(:'past', 'webhook answered 503');
select pg_temp.dead(:'elsewhere', 'webhook answered 503');

select is((select array_agg(booking_id order by ordinality) from ops.dead_messages(:'rid', p_include_ended => true) with ordinality),
  array[:'past', :'phoned', :'outage']::uuid[], 'one restaurant''s dead messages, soonest booking first');
select is((select (kind, attempts, last_error, has_address, resendable, not_resendable_because)::text
             from ops.dead_messages(:'rid') where booking_id = :'outage'),
  '(booking_confirmed,16,"webhook answered 503",t,t,)', 'an outage''s message can be resent');
select is((select (has_address, resendable, not_resendable_because)::text from ops.dead_messages(:'rid') where booking_id = :'phoned'),
  '(f,f,"the booking has no e-mail address")', 'a guest with no address: say so');
select is((select (resendable, not_resendable_because)::text from ops.dead_messages(:'rid', true) where booking_id = :'past'),
  '(f,"the booking has begun")', 'a booking already begun: nothing to resend');
select is((select count(*)::int from ops.dead_messages(p_include_ended => true)), 4, 'every restaurant''s without a restaurant');

-- A change since: the message no longer describes the booking.
update public.bookings set party_size = 3 where id = :'elsewhere';
select is((select (resendable, not_resendable_because)::text from ops.dead_messages(:'other')),
  '(f,"the booking changed since: a newer message or none is due")', 'a message the booking outgrew');

-- What it calls resendable is what a resend queues.
select is((select count(*)::int from ops.dead_messages() where resendable),
  (ops.resend_dead_messages('ana', 'mail provider back') ->> 'queued')::int, 'resendable is what a resend queues');

-- The Data API's role reads it; no address is shown.
set local role service_role;
select is((select count(*)::int from ops.dead_messages(:'rid', true)), 2, 'service_role reads it (the queued one has left)');
reset role;
select ok(not exists (select 1 from ops.dead_messages(p_include_ended => true) d where d::text like '%@%'), 'and no row shows an address');

-- A blank address is none, as the webhook sender takes it: not resendable, not health's alarm.
select tests.create_booking(:'rid', 2, '2030-03-08 19:00+00') as blank \gset
update public.bookings set customer_email = E' \t\n\r\f\x0b ' where id = :'blank';
select tests.force_state(:'blank', 'confirmed');
select pg_temp.dead(:'blank', 'no e-mail address: the booking has none to send to');
select is((select (has_address, resendable, not_resendable_because)::text from ops.dead_messages(:'rid') where booking_id = :'blank'),
  '(f,f,"the booking has no e-mail address")', 'white space only is no address');
select is(ops.health() -> 'notifications' -> 'dead_resendable', '0'::jsonb, 'and health does not ask for its resend');

-- The same six characters the webhook sender calls blank (senders.test.ts).
select is((select array_agg(c order by c) from generate_series(1, 127) c
            where not private.has_address(jsonb_populate_record(null::public.bookings, jsonb_build_object('customer_email', chr(c))))),
  array[9, 10, 11, 12, 13, 32], 'blank is tab, line feed, vertical tab, form feed, carriage return and space');

select * from finish();
rollback;
