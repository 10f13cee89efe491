-- A seated party's longer stay holds as much of it as is free, and the rest as soon as it frees
-- (20261227020000). The platform's changes are made as it makes them: plain UPDATEs through service_role.
begin;
select plan(7);

create function pg_temp.hold(p_booking uuid) returns tstzrange language sql as $$
  select a.during from public.booking_table_assignments a where a.booking_id = p_booking and a.released_at is null;
$$;
create function pg_temp.stay(p_booking uuid) returns tstzrange language sql as $$
  select private.blocked_window(b) from public.bookings b where b.id = p_booking;
$$;
create function pg_temp.free_for(p_booking uuid, p_table uuid) returns boolean language sql as $$
  select private.busy_tables(b, array[p_table]) is null from public.bookings b where b.id = p_booking;
$$;

select tests.create_restaurant('Long dinner') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-06 18:00+00', :'t1') as seated \gset
select tests.confirmed_on(:'rid', 2, '2030-06-06 22:00+00', :'t1') as next \gset
select tests.create_booking(:'rid', 2, '2030-06-06 20:45+00') as gap \gset
-- The gap booking is short enough to fit between the seated party's old end and the next booking.
update public.bookings set end_at = start_at + interval '15 minutes', buffer_before_minutes = 0,
                           buffer_after_minutes = 0 where id = :'gap';

set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
update public.bookings set end_at = '2030-06-06 23:00+00' where id = :'seated';
reset role;
select is(pg_temp.hold(:'seated'),
          tstzrange(lower(pg_temp.stay(:'seated')), lower(pg_temp.hold(:'next')), '[)'),
  'a stay grown into the next booking holds the table up to that booking');
select is((select count(*)::int from public.observability_events
            where booking_id = :'seated' and event_type = 'booking.seated_stay_overlaps'), 1,
  'and the overlap is recorded for an operator');
select ok(not pg_temp.free_for(:'gap', :'t1'), 'so no booking is seated in between while the party sits there');

-- The next booking is cancelled: its release frees the rest of the stay, which the seated party takes.
set local role service_role;
select ops.cancel_booking(:'next', 'guest called', 'ana');
reset role;
select is(pg_temp.hold(:'seated'), pg_temp.stay(:'seated'), 'the next booking gone, the party holds its whole stay');
select tests.create_booking(:'rid', 2, '2030-06-06 22:00+00') as later \gset
select ok(not pg_temp.free_for(:'later', :'t1'), 'so a new booking in the rest of that stay finds the table taken');
select is((select (ops.health() -> 'seated_stays_overlapping')::int), 0, 'and health sees no overlap left');

-- A release elsewhere in the room, or of a booking that does not meet the stay, changes nothing.
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-07 12:00+00', :'t2') as elsewhere \gset
select pg_temp.hold(:'seated') as held \gset
set local role service_role;
select ops.cancel_booking(:'elsewhere', 'guest called', 'ana');
reset role;
select is(pg_temp.hold(:'seated'), :'held'::tstzrange, 'a release on another table leaves the hold as it is');

select * from finish();
rollback;
