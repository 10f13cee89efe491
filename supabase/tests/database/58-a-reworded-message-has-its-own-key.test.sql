-- A message a claim rewords from "changed" to "confirmed" goes out under a key of its own, and keeps it
-- (20261222000000).
begin;
select plan(7);

-- Messages of this file only: everything else already waiting counts as sent.
update public.notification_outbox set status = 'sent', sent_at = now() where status in ('pending', 'sending');

create function pg_temp.claimed(p_booking uuid, p_at timestamptz)
returns table (id bigint, lease_token uuid, kind text, dedupe_key text, payload_kind text)
language sql as $$
  select c.id, c.lease_token, c.kind, c.dedupe_key, c.payload ->> 'kind'
    from public.notification_claim(100, 60000, p_at) c where c.booking_id = p_booking order by c.id;
$$;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- The confirmation is handed to a sender that never reports back; meanwhile the booking changes.
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as b \gset
select tests.force_state(:'b', 'confirmed');
select id as confirmation from pg_temp.claimed(:'b', now()) \gset
update public.bookings set start_at = '2030-02-07 19:30+00' where id = :'b';
select tests.force_state(:'b', 'confirmed');

-- Its lease runs out: the confirmation may have arrived, so the change is tried as a change (and the
-- confirmation, which no longer describes the booking, is dropped).
select id as change, lease_token as change_lease, dedupe_key as first_key
  from pg_temp.claimed(:'b', now() + interval '1 hour') where kind = 'booking_changed' \gset
select is(:'first_key', :'b' || ':2', 'the change is first tried under its own dedupe key');
select is((select status from public.notification_outbox where id = :confirmation), 'superseded',
  'the confirmation it replaces is dropped');
select is(public.notification_complete(:change, :'change_lease', false, 'webhook answered 503'), 'pending',
  'the change fails for the moment');

-- Nothing is sent or on its way any more: the change's next try confirms, under a key no send used for
-- another wording.
select kind, payload_kind, dedupe_key as second_key, lease_token as second_lease
  from pg_temp.claimed(:'b', now() + interval '2 hours') \gset
select is(array[:'kind', :'payload_kind'], array['booking_confirmed', 'booking_confirmed'],
  'the change now goes out as the confirmation');
select is(:'second_key', :'b' || ':2:booking_confirmed', 'under a key of its own');
select public.notification_complete(:change, :'second_lease', false, 'webhook answered 503') as failed_again \gset
select is((select dedupe_key from pg_temp.claimed(:'b', now() + interval '3 hours')), :'second_key',
  'which its later tries keep');
select is((select dedupe_key from public.notification_outbox where id = :change), :'second_key',
  'as the outbox row does');

select * from finish();
rollback;
