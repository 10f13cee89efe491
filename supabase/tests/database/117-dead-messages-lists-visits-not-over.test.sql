-- ops.dead_messages lists the messages about bookings whose visit is not over unless asked for every one
-- (20261230010000): a year of messages about visits long over, which no resend can send, no longer comes before
-- the one an operator can still act on.
begin;
select plan(7);

update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null where status <> 'sent';

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
-- Three visits over (the oldest a booking may be when inserted is a day), none with an address; one under way;
-- one ahead, whose message died in an outage.
select tests.create_booking(:'rid', 2, date_trunc('hour', now()) - make_interval(hours => h)) from unnest(array[5, 10, 20]) h;
select tests.create_booking(:'rid', 2, date_trunc('minute', now()) - interval '30 minutes') as under_way \gset
select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as ahead \gset
update public.bookings set customer_email = 'guest@example.com' where id = :'ahead';
select tests.force_state(b.id, 'confirmed') from public.bookings b where b.restaurant_id = :'rid';
update public.notification_outbox o set status = 'dead', attempts = 16, last_error = 'webhook answered 503',
       dead_because = case when o.booking_id = :'ahead' then 'retries_exhausted' else 'no_address' end
 where o.restaurant_id = :'rid';
select ok((select bool_and(end_at < now()) from public.bookings
            where restaurant_id = :'rid' and id not in (:'under_way', :'ahead')), 'three visits are over');

set local role service_role;
select is((select array_agg(booking_id order by starts_local) from ops.dead_messages(:'rid')),
  array[:'under_way', :'ahead']::uuid[], 'by default the visit under way and the booking ahead, none over');
select is((select array_agg(booking_id order by starts_local) from ops.dead_messages()),
  array[:'under_way', :'ahead']::uuid[], 'the same across restaurants');
select is((select count(*)::int from ops.dead_messages(:'rid', p_include_ended => true)), 5,
  'p_include_ended => true lists every one');
select is((select count(*)::int from ops.dead_messages(:'rid', true) where not_resendable_because = 'the booking has begun'), 4,
  'each begun one says why it cannot go');
select is((select count(*)::int from ops.dead_messages(:'rid', null)), 2, 'a null for the flag is the default');
select is((select count(*)::int from ops.dead_messages() where resendable),
  (ops.resend_dead_messages('ana', 'mail provider back') ->> 'queued')::int,
  'what it lists as resendable is still what a resend queues');

select * from finish();
rollback;
