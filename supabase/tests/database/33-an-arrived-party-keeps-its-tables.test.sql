-- A party that has arrived keeps its tables whatever the platform changes (20261210040000). The platform's
-- writes go through the Data API, so they run here as service_role.
begin;
select plan(10);

select tests.create_restaurant('Seated') as rid \gset
select tests.add_table(:'rid', 'S1', 4) as s1 \gset
select tests.create_booking(:'rid', 2, '2030-06-03 18:00+00') as seated \gset
select ops.assign_tables(:'seated', array['S1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select count(*)::int as messages from public.notification_outbox where booking_id = :'seated' \gset

-- The party grows and stays longer: same tables, held for the longer stay.
set local role service_role;
update public.bookings set party_size = 3, end_at = '2030-06-03 20:30+00' where id = :'seated';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'seated'), array['confirmed', 'checked_in'],
  'a checked-in party whose booking changes stays confirmed and checked in');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'seated' and a.released_at is null), array['S1'], 'at its table');
select is((select upper(during) from public.booking_table_assignments where booking_id = :'seated' and released_at is null),
  '2030-06-03 20:45+00'::timestamptz, 'held for the longer stay and its buffer');
select is((select count(*)::int from public.notification_outbox where booking_id = :'seated'), :messages,
  'and the guest, at the table, is told nothing');

-- The next booking, placed there by an operator, already holds the table from 21:00: a stay stretched past it
-- keeps its hold and says so (a booking the pipeline placed would be planned again: 20261227020000).
select tests.create_booking(:'rid', 2, '2030-06-03 21:00+00') as next \gset
select ops.assign_tables(:'next', array['S1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set end_at = '2030-06-03 21:30+00' where id = :'seated';
reset role;
select is((select upper(during) from public.booking_table_assignments where booking_id = :'seated' and released_at is null),
  '2030-06-03 20:45+00'::timestamptz, 'a stay that would overlap the next booking keeps the hold it had');
select is((select context ->> 'reason' from public.observability_events
            where booking_id = :'seated' and event_type = 'booking.seated_stay_overlaps'), 'seated_stay_overlaps',
  'and an operator is told the next booking on its tables is at risk');
select is((select array[assignment_state, status] from public.bookings where id = :'next'), array['confirmed', 'confirmed'],
  'the next booking keeps its table');

-- A finished booking is left as it is.
set local role service_role;
update public.bookings set status = 'completed' where id = :'seated';
reset role;
set local role service_role;
update public.bookings set party_size = 4 where id = :'seated';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'seated'), array['confirmed', 'completed'],
  'a completed booking changed afterwards stays completed');

-- A booking not yet arrived is planned again, as before.
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as ahead \gset
select ops.assign_tables(:'ahead', array['S1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set party_size = 4 where id = :'ahead';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'ahead'), array['assignment_pending', 'pending'],
  'a confirmed booking whose party grows before arriving waits for tables again');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'ahead' and released_at is null), 0,
  'its tables released');

select * from finish();
rollback;
