begin;
select plan(17);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

-- Deliver every message of one booking the dispatcher would hand out now; returns how many went out.
create function pg_temp.deliver(p_booking uuid) returns integer language sql as $$
  select count(public.notification_complete(c.id, c.lease_token, true))::integer
    from public.notification_claim(100, 60000) c where c.booking_id = p_booking;
$$;
create function pg_temp.sent(p_booking uuid) returns text[] language sql as $$
  select array_agg(kind || ' ' || to_char((payload ->> 'start_at')::timestamptz at time zone 'UTC', 'HH24:MI')
                   || ' x' || (payload ->> 'party_size') order by seq)
    from public.notification_outbox where booking_id = p_booking and status = 'sent';
$$;
-- Confirm a booking the legitimate way, through the state machine, at whatever time it now has.
create function pg_temp.confirm(p_booking uuid) returns void language sql as $$
  select tests.force_state(p_booking, 'confirmed');
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset

-- 1. A booking moved 19:00 → 19:30 → 19:00 → 19:30 hears of every move, and the last message is right.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as moved \gset
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
update public.bookings set start_at = '2030-01-07 19:30+00' where id = :'moved';
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
update public.bookings set start_at = '2030-01-07 19:00+00' where id = :'moved';
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
update public.bookings set start_at = '2030-01-07 19:30+00' where id = :'moved';
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
select is(pg_temp.sent(:'moved'),
  array['booking_confirmed 19:00 x2', 'booking_changed 19:30 x2', 'booking_changed 19:00 x2', 'booking_changed 19:30 x2'],
  'a booking moved back and forth hears of every move, and its last message says where it is');
select is((select array_agg(dedupe_key order by seq) from public.notification_outbox where booking_id = :'moved'),
  array[:'moved' || ':1', :'moved' || ':2', :'moved' || ':3', :'moved' || ':4'],
  'each message has its own idempotency key: the booking and its place in the sequence');

-- Two changes of the end time alone are two messages.
update public.bookings set end_at = '2030-01-07 21:30+00' where id = :'moved';
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
update public.bookings set end_at = '2030-01-07 22:00+00' where id = :'moved';
select pg_temp.confirm(:'moved');
select pg_temp.deliver(:'moved');
select is((select array_agg(to_char((payload ->> 'end_at')::timestamptz at time zone 'UTC', 'HH24:MI') order by seq)
             from public.notification_outbox where booking_id = :'moved' and seq > 4),
  array['21:30', '22:00'], 'two changes of the end time alone are two messages');

-- 2. Confirmed while the functions were down, then cancelled: the guest was never told, so hears nothing.
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as quiet \gset
select pg_temp.confirm(:'quiet');
select public.cancel_booking(:'quiet', 'guest called', 'ana');
select is(pg_temp.deliver(:'quiet'), 0, 'a confirmation still waiting when the booking is cancelled is not delivered');
select is((select array_agg(status order by seq) from public.notification_outbox where booking_id = :'quiet'),
  array['superseded'], 'it is superseded, and no cancellation is owed to a guest who never heard of the booking');

-- Cancelling a booking the guest was told about sends one booking_cancelled.
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as told \gset
select pg_temp.confirm(:'told');
select pg_temp.deliver(:'told');
select public.cancel_booking(:'told', 'guest called', 'ana');
select is(pg_temp.deliver(:'told'), 1, 'cancelling a booking the guest heard of owes one message');
select is(pg_temp.sent(:'told'), array['booking_confirmed 13:00 x2', 'booking_cancelled 13:00 x2'],
  'the guest hears the confirmation, then the cancellation');
select is((select payload ->> 'status' from public.notification_outbox where booking_id = :'told' and kind = 'booking_cancelled'),
  'cancelled', 'the cancellation says so in its payload');

-- 3. Moving a booking to other tables tells the guest nothing: they do not see tables.
select tests.create_booking(:'rid', 2, '2030-01-07 15:00+00') as tabled \gset
select ops.assign_tables(:'tabled', array['T1'], 'ana');
select pg_temp.deliver(:'tabled');
select ops.assign_tables(:'tabled', array['T2'], 'ana');
select is(pg_temp.deliver(:'tabled'), 0, 'moving a confirmed booking to other tables owes the guest nothing');
select is(pg_temp.sent(:'tabled'), array['booking_confirmed 15:00 x2'], 'the guest heard of it once');

-- A confirmation that waits while the booking changes is checked under the claim and not sent.
select tests.create_booking(:'rid', 2, '2030-01-07 16:00+00') as stale \gset
select pg_temp.confirm(:'stale');
update public.bookings set party_size = 3 where id = :'stale';
select is(pg_temp.deliver(:'stale'), 0, 'a message that no longer describes its booking is not handed to a sender');
select is((select status from public.notification_outbox where booking_id = :'stale'), 'superseded',
  'the dispatcher marks it superseded');
select pg_temp.confirm(:'stale');
select is(pg_temp.deliver(:'stale'), 1, 'once confirmed again, the guest gets the newest state');
select is(pg_temp.sent(:'stale'), array['booking_confirmed 16:00 x3'], 'as their first message: they never heard of the old one');

-- A booking's messages go out in order: the next waits while an earlier one is on its way.
select tests.create_booking(:'rid', 2, '2030-01-07 17:00+00') as ordered \gset
select pg_temp.confirm(:'ordered');
create temporary table first_claim as
  select c.id, c.lease_token from public.notification_claim(100, 60000) c where c.booking_id = :'ordered';
update public.bookings set start_at = '2030-01-07 17:30+00' where id = :'ordered';
select pg_temp.confirm(:'ordered');
select is((select count(*)::int from public.notification_claim(100, 60000) c where c.booking_id = :'ordered'), 0,
  'the change is not handed out while the confirmation is still being sent');
select public.notification_complete(id, lease_token, true) from first_claim;
select is(pg_temp.deliver(:'ordered'), 1, 'once that is done, the change goes out');
select is(pg_temp.sent(:'ordered'), array['booking_confirmed 17:00 x2', 'booking_changed 17:30 x2'],
  'in the order the guest must read them');

select * from finish();
rollback;
