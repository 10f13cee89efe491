-- A seated party's longer stay holds its tables, and the bookings not yet arrived that held them then are
-- planned again (20261227020000). The platform's changes are made as it makes them: plain UPDATEs through
-- service_role.
begin;
select plan(16);

create function pg_temp.free_for(p_booking uuid, p_table uuid) returns boolean language sql as $$
  select private.busy_tables(b, array[p_table]) is null from public.bookings b where b.id = p_booking;
$$;
create function pg_temp.overlaps_recorded(p_booking uuid) returns integer language sql as $$
  select count(*)::int from public.observability_events
   where booking_id = p_booking and event_type = 'booking.seated_stay_overlaps';
$$;

select tests.create_restaurant('Long dinner') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-06 18:00+00', :'t1') as seated \gset
select tests.confirmed_on(:'rid', 2, '2030-06-06 22:00+00', :'t1') as next \gset
select tests.confirmed_on(:'rid', 2, '2030-06-07 18:00+00', :'t1') as tomorrow \gset

set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
update public.bookings set end_at = '2030-06-06 23:00+00' where id = :'seated';
reset role;
select is(tests.hold_of(:'seated'), tests.stay_of(:'seated'), 'a stay grown into the next booking holds the table for all of it');
select is((select array[assignment_state, status] from public.bookings where id = :'next'), array['assignment_pending', 'pending'],
  'the next booking, not yet arrived, is planned again');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'next' and released_at is null), 0,
  'its table released');
select is((select split_part(reason, ':', 1) from public.booking_assignment_state_history
            where booking_id = :'next' order by version desc limit 1), 'seated_stay_needs_table', 'saying why');
select is(pg_temp.overlaps_recorded(:'seated'), 0, 'nothing overlaps, so nothing is left for an operator');
select is((select assignment_state from public.bookings where id = :'tomorrow'), 'confirmed',
  'a booking of the table outside the stay keeps it');
select tests.create_booking(:'rid', 2, '2030-06-06 20:45+00') as short \gset
update public.bookings set end_at = start_at + interval '15 minutes', buffer_before_minutes = 0,
                           buffer_after_minutes = 0 where id = :'short';
select ok(not pg_temp.free_for(:'short', :'t1'), 'and a new booking, however short, finds the table taken during the stay');

-- A party on two tables: each is held for the stay, and what was in the way on either is planned again.
select tests.add_table(:'rid', 'T2', 2) as t2 \gset
select tests.add_table(:'rid', 'T3', 2) as t3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t2', :'t3');
select tests.create_booking(:'rid', 4, '2030-06-08 18:00+00') as group \gset
select ops.assign_tables(:'group', array['T2', 'T3'], 'ana') ->> 'outcome' as confirmed \gset
select tests.confirmed_on(:'rid', 2, '2030-06-08 22:00+00', :'t3') as after_group \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'group';
update public.bookings set end_at = '2030-06-08 23:00+00' where id = :'group';
reset role;
select is((select count(*)::int from public.booking_table_assignments
            where booking_id = :'group' and released_at is null and during = tests.stay_of(:'group')), 2,
  'a party on two tables holds both for its stay');
select is((select assignment_state from public.bookings where id = :'after_group'), 'assignment_pending',
  'and the booking in its way on one of them is planned again');

-- Where a party already seated holds part of that stay, no one can move: nothing changes, and an operator is told.
select tests.add_table(:'rid', 'T4', 4) as t4 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-09 18:00+00', :'t4') as first \gset
select tests.confirmed_on(:'rid', 2, '2030-06-09 20:30+00', :'t4') as between \gset
select tests.confirmed_on(:'rid', 2, '2030-06-09 23:00+00', :'t4') as also_seated \gset
select tests.hold_of(:'first') as first_hold \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id in (:'first', :'also_seated');
update public.bookings set end_at = '2030-06-09 23:30+00' where id = :'first';
reset role;
select is(tests.hold_of(:'first'), :'first_hold'::tstzrange, 'a stay running into another seated party keeps the hold it had');
select is((select assignment_state from public.bookings where id = :'between'), 'confirmed',
  'and the booking between them is left where it is, as all of it is');
select is(pg_temp.overlaps_recorded(:'first'), 1, 'the overlap is recorded for an operator');

-- A booking an operator placed there is the operator's to move: nothing changes, and the operator is told.
select tests.add_table(:'rid', 'T5', 4) as t5 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-10 18:00+00', :'t5') as before_staff \gset
select tests.create_booking(:'rid', 2, '2030-06-10 21:00+00') as placed \gset
select ops.assign_tables(:'placed', array['T5'], 'ana') ->> 'outcome' as confirmed \gset
select tests.hold_of(:'before_staff') as before_staff_hold \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'before_staff';
update public.bookings set end_at = '2030-06-10 21:30+00' where id = :'before_staff';
reset role;
select is(tests.hold_of(:'before_staff'), :'before_staff_hold'::tstzrange,
  'a stay running into a booking an operator placed keeps the hold it had');
select is((select assignment_state from public.bookings where id = :'placed'), 'confirmed', 'and that booking its table');
select is(pg_temp.overlaps_recorded(:'before_staff'), 1, 'the overlap is recorded for the operator');

-- One statement that lengthens the stay and changes the booking in its way as well (a platform shifting an
-- evening's bookings) goes through.
select tests.add_table(:'rid', 'T6', 4) as t6 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-11 18:00+00', :'t6') as early \gset
select tests.confirmed_on(:'rid', 2, '2030-06-11 21:00+00', :'t6') as late \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'early';
-- A note written on the later booking after the check-in puts its row after the seated party's, so the
-- statement below meets the seated party first, and the later booking's own trigger finds it already sent back.
update public.bookings set notes = 'window seat, if possible' where id = :'late';
update public.bookings
   set end_at = case when id = :'early' then '2030-06-11 21:30+00'::timestamptz else end_at + interval '15 minutes' end
 where id in (:'early', :'late');
reset role;
select is((select array_agg(assignment_state order by start_at) from public.bookings where id in (:'early', :'late')),
  array['confirmed', 'assignment_pending'], 'the party holds its stay and the other booking is planned again');

select * from finish();
rollback;
