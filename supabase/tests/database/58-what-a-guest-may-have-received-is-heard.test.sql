-- What a guest may have received counts as heard, even once a newer message replaced it; a message a claim
-- rewords goes out under a key of its own, which it keeps (20261222000000).
begin;
select plan(15);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

create function pg_temp.claimed(p_booking uuid, p_at timestamptz)
returns table (id bigint, lease_token uuid, kind text, dedupe_key text, payload_kind text)
language sql as $$
  select c.id, c.lease_token, c.kind, c.dedupe_key, c.payload ->> 'kind'
    from public.notification_claim(100, 60000, p_at) c where c.booking_id = p_booking order by c.id;
$$;
create function pg_temp.statuses(p_booking uuid) returns text[] language sql as $$
  select array_agg(kind || ' ' || status order by seq) from public.notification_outbox where booking_id = p_booking;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- 1. The confirmation is handed to a sender that does not report back in time; meanwhile the booking changes.
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as b \gset
select tests.force_state(:'b', 'confirmed');
select id as confirmation, lease_token as confirmation_lease from pg_temp.claimed(:'b', now()) \gset
update public.bookings set start_at = '2030-02-07 19:30+00' where id = :'b';
select tests.force_state(:'b', 'confirmed');

-- Its lease runs out: the confirmation no longer describes the booking, so it is dropped, but it may have
-- arrived, so the change is tried as a change.
select id as change, lease_token as change_lease, dedupe_key as first_key
  from pg_temp.claimed(:'b', now() + interval '1 hour') where kind = 'booking_changed' \gset
select is(:'first_key', :'b' || ':2', 'the change is tried as a change, under its own dedupe key');
select is((select (status, lease_token = :'confirmation_lease', lease_expires_at is not null)::text
             from public.notification_outbox where id = :confirmation), '(superseded,t,t)',
  'the confirmation it replaces is dropped, keeping the lease of the send still out');
select is(public.notification_complete(:change, :'change_lease', false, 'webhook answered 503'), 'pending',
  'the change fails for the moment');
select is((select array[kind, dedupe_key] from pg_temp.claimed(:'b', now() + interval '2 hours')),
  array['booking_changed', :'b' || ':2'],
  'its next try is still a change under the same key: the guest may have the confirmation');

-- 2. The confirmation's sender reports late.
select lease_token as change_lease from public.notification_outbox where id = :change \gset
select is(public.notification_complete(:change, :'change_lease', false, 'webhook answered 503'), 'pending',
  'the change fails again');
select is(public.notification_complete(:confirmation, :'confirmation_lease', true), 'superseded',
  'a late success of the dropped confirmation is taken, not refused as lease_lost');
select is((select kind from pg_temp.claimed(:'b', now() + interval '3 hours')), 'booking_changed',
  'and it still counts as received');
select lease_token as change_lease from public.notification_outbox where id = :change \gset
select public.notification_complete(:change, :'change_lease', false, 'webhook answered 503') as failed \gset
select is(public.notification_complete(:confirmation, :'confirmation_lease', false, 'webhook answered 503'),
  'superseded', 'a late failure is taken too');
select ok((select lease_expires_at is null from public.notification_outbox where id = :confirmation),
  'and the dropped confirmation no longer counts as received');

-- 3. The guest received nothing: the change's next try confirms, under a key no send used for another wording.
select kind, payload_kind, dedupe_key as second_key, lease_token as second_lease
  from pg_temp.claimed(:'b', now() + interval '4 hours') \gset
select is(array[:'kind', :'payload_kind'], array['booking_confirmed', 'booking_confirmed'],
  'the change now goes out as the confirmation');
select is(:'second_key', :'b' || ':2:booking_confirmed', 'under a key of its own');
select public.notification_complete(:change, :'second_lease', false, 'webhook answered 503') as failed_again \gset
select is((select dedupe_key from pg_temp.claimed(:'b', now() + interval '5 hours')), :'second_key',
  'which its later tries keep');
select is((select dedupe_key from public.notification_outbox where id = :change), :'second_key',
  'as the outbox row does');

-- 4. A booking changed back to what a confirmation still out said is owed nothing more.
select tests.create_booking(:'rid', 2, '2030-02-08 19:00+00') as back \gset
select tests.force_state(:'back', 'confirmed');
select id as first from pg_temp.claimed(:'back', now()) \gset
update public.bookings set start_at = '2030-02-08 19:30+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select id as moved, lease_token as moved_lease
  from pg_temp.claimed(:'back', now() + interval '1 hour') where kind = 'booking_changed' \gset
select public.notification_complete(:moved, :'moved_lease', false, 'webhook answered 503') as failed \gset
update public.bookings set start_at = '2030-02-08 19:00+00' where id = :'back';
select tests.force_state(:'back', 'confirmed');
select is(pg_temp.statuses(:'back'), array['booking_confirmed superseded', 'booking_changed superseded'],
  'the change is dropped and no second confirmation is queued: the first may have arrived');
select is((select count(*)::int from pg_temp.claimed(:'back', now() + interval '2 hours')), 0, 'nothing is sent');

select * from finish();
rollback;
