-- An alternative whose time has passed by the clock is not offered or taken (20261231000000):
-- private.alternative_starts cuts its times at an instant, p_now, which is the clock when the caller names none
-- (an accept that waited for its locks, the queue, the re-seating probes). A test's transaction cannot wait 15
-- minutes for a grid time to pass, so the cut is shown at a named instant and the default is read from the
-- catalogue.
begin;
select plan(4);

select tests.create_restaurant('Clockwise') as rid \gset
select tests.create_booking(:'rid', 2, date_trunc('day', now()) + interval '3 days 19 hours') as bid \gset

select is((select array_agg(a.offset_minutes order by a.offset_minutes)
             from public.bookings b, private.alternative_starts(b) a where b.id = :'bid'),
  array[-90, -75, -60, -45, -30, -15, 15, 30, 45, 60, 75, 90],
  'three days ahead, every quarter hour within 90 minutes is offered');
select is((select array_agg(a.offset_minutes order by a.offset_minutes)
             from public.bookings b, private.alternative_starts(b, b.start_at - interval '20 minutes') a
            where b.id = :'bid'),
  array[-15, 15, 30, 45, 60, 75, 90],
  'at 20 minutes before the booking, the times before that instant are not offered');
select is((select array_agg(a.offset_minutes order by a.offset_minutes)
             from public.bookings b, private.alternative_starts(b, b.start_at - interval '15 minutes') a
            where b.id = :'bid'),
  array[15, 30, 45, 60, 75, 90],
  'a time that is that very instant is past too');
select matches(pg_get_function_arguments('private.alternative_starts(public.bookings, timestamptz)'::regprocedure),
  'p_now timestamp with time zone DEFAULT clock_timestamp\(\)',
  'named by no caller, the instant is the clock, not the start of the asking transaction');

select * from finish();
rollback;
