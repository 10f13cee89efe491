-- A visit checked in again holds its tables for the stay it now has (20261226040000). The platform's changes
-- are made as it makes them: plain UPDATEs through service_role.
begin;
select plan(7);

select tests.create_restaurant('Late guest') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t1') as late \gset
select tests.hold_of(:'late') as missed_stay \gset

-- Marked a no-show; the guest calls to say they are coming at 21:30 after all. A visit missed is left as it is.
set local role service_role;
update public.bookings set status = 'no_show' where id = :'late';
update public.bookings set start_at = '2030-06-03 21:30+00' where id = :'late';
reset role;
select is(tests.hold_of(:'late'), :'missed_stay'::tstzrange, 'a no-show whose time changes is left as it is');

-- The guest arrives: seated, and the table is held for the stay they are having.
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'late';
reset role;
select is(tests.hold_of(:'late'), tests.stay_of(:'late'), 'checked in again, it holds its table for the stay it now has');
select tests.create_booking(:'rid', 2, '2030-06-03 22:00+00') as next \gset
select ok(private.busy_tables(b, array[:'t1']::uuid[]) is not null, 'so a booking during that stay finds the table taken')
  from public.bookings b where b.id = :'next';
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as walk_in \gset
select ok(private.busy_tables(b, array[:'t1']::uuid[]) is null, 'and one during the stay it missed finds it free')
  from public.bookings b where b.id = :'walk_in';

-- A completed visit checked in again (a correction) holds its stay as it is.
select tests.confirmed_on(:'rid', 2, '2030-06-04 12:00+00', :'t1') as lunch \gset
set local role service_role;
update public.bookings set status = 'completed' where id = :'lunch';
update public.bookings set status = 'checked_in' where id = :'lunch';
reset role;
select is(tests.hold_of(:'lunch'), tests.stay_of(:'lunch'), 'a completed visit checked in again keeps the hold of its stay');

-- Where the later stay's table was taken meanwhile by a booking not yet arrived, that booking is planned again
-- (20261227020000) and the visit holds its stay.
select tests.confirmed_on(:'rid', 2, '2030-06-05 19:00+00', :'t1') as missed \gset
select tests.confirmed_on(:'rid', 2, '2030-06-05 21:30+00', :'t1') as taker \gset
set local role service_role;
update public.bookings set status = 'no_show' where id = :'missed';
update public.bookings set start_at = '2030-06-05 21:30+00' where id = :'missed';
update public.bookings set status = 'checked_in' where id = :'missed';
reset role;
select is(tests.hold_of(:'missed'), tests.stay_of(:'missed'), 'a stay whose table was taken meanwhile is held');
select is((select assignment_state from public.bookings where id = :'taker'), 'assignment_pending',
  'and the booking that took it, not yet arrived, is planned again');

select * from finish();
rollback;
