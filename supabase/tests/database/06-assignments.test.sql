begin;
select plan(10);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as a \gset
select tests.create_booking(:'rid', 2, '2030-01-07 20:00+00') as b \gset
select tests.create_booking(:'rid', 2, '2030-01-07 21:00+00') as c \gset

create function pg_temp.assign(p_booking uuid, p_table uuid, p_from text, p_to text)
returns void language sql as $$
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during)
  select id, restaurant_id, p_table, tstzrange(p_from::timestamptz, p_to::timestamptz) from public.bookings where id = p_booking;
$$;

select lives_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 19:00+00', '2030-01-07 20:45+00')$$, :'a', :'t1'),
  'a table can be assigned');
select throws_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 20:00+00', '2030-01-07 21:45+00')$$, :'b', :'t1'),
  '23P01', null, 'another booking cannot take the same table for an overlapping window');
select throws_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 20:00+00', '2030-01-07 21:00+00')$$, :'a', :'t1'),
  '23P01', null, 'nor can the same booking hold the same table twice at once');
select lives_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 20:00+00', '2030-01-07 21:45+00')$$, :'b', :'t2'),
  'an overlapping booking can take a different table');
select lives_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 20:45+00', '2030-01-07 22:30+00')$$, :'c', :'t1'),
  'back-to-back windows (end = start) share a table');

-- Cancelling releases the tables in the same transaction; released rows stay as history.
select tests.force_state(:'a', 'confirmed');
select lives_ok(format('select public.cancel_booking(%L, %L)', :'a', 'guest cancelled'), 'a confirmed booking can be cancelled');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'a' and released_at is null), 0,
  'cancelling released its tables');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'a'), 1,
  'the released assignment stays as history');
select lives_ok(format($$select pg_temp.assign(%L, %L, '2030-01-07 19:00+00', '2030-01-07 20:45+00')$$, :'b', :'t1'),
  'a released table can be booked again for that window');

-- A confirmed booking that changes goes back to assignment_pending and gives up its tables.
select tests.force_state(:'c', 'confirmed');
select public.transition_assignment_state(:'c', 'assignment_pending', tests.version_of(:'c'), 'party size changed');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'c' and released_at is null), 0,
  'confirmed → assignment_pending released the tables for re-assignment');

select * from finish();
rollback;
