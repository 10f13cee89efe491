-- A floor plan written again and again is still re-checked (20261231180000): a mark comes due a minute after
-- the oldest change it waits for, however often the platform writes, unless a failed re-check is backing off.
-- The platform's writes go through the Data API, so they run here as service_role; the re-check runs as the
-- sweeper runs it, on the clock.
begin;
select plan(6);

select tests.create_restaurant('Synced Every Few Seconds') as rid \gset
select tests.add_table(:'rid', 'S1', 4) as s1 \gset
select tests.add_table(:'rid', 'S2', 4) as s2 \gset
select tests.confirmed_on(:'rid', 2, '2030-11-05 19:00+00', :'s1') as broken \gset

-- A table taken out of service, its change first waiting two minutes ago; the platform has written its floor
-- plan every few seconds since, the last a moment ago: not judged in the middle of a write.
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'s1';
update public.restaurant_tables set table_number = 'S2b' where id = :'s2';
reset role;
update private.floor_plan_rechecks set pending_since = clock_timestamp() - interval '2 minutes',
                                       changed_at = clock_timestamp()
 where restaurant_id = :'rid';
select is(private.recheck_floor_plans(clock_timestamp(), interval '10 seconds', :'rid') ->> 'restaurants', '0',
  'a floor plan written a moment ago is not judged, however long its change has waited');

-- Its last write 3 s ago, well short of the 10 s it never gets.
update private.floor_plan_rechecks set changed_at = clock_timestamp() - interval '3 seconds' where restaurant_id = :'rid';
select is((private.recheck_floor_plans(clock_timestamp(), interval '10 seconds', :'rid') ->> 'replanned')::int, 1,
  'a floor plan never left alone for 10 s is re-checked a minute after its change');
select is((select assignment_state from public.bookings where id = :'broken'), 'assignment_pending',
  'and the booking the change broke is planned again');
select is((select count(*)::int from private.floor_plan_rechecks where restaurant_id = :'rid'), 0,
  'the mark is gone once the re-check is done');

-- The next write marks it again, waiting from now: not due before it settles or its minute is up.
set local role service_role;
update public.restaurant_tables set out_of_service = false where id = :'s1';
reset role;
select is(array[(select count(*)::int from private.floor_plan_rechecks where restaurant_id = :'rid'),
                (private.recheck_floor_plans(clock_timestamp(), interval '10 seconds', :'rid') ->> 'restaurants')::int],
  array[1, 0], 'a write after the re-check marks the restaurant again, waiting from now');

-- A failed re-check backing off is not hurried by the minute.
update private.floor_plan_rechecks set pending_since = clock_timestamp() - interval '5 minutes',
                                       changed_at = clock_timestamp() + interval '1 minute', failures = 2
 where restaurant_id = :'rid';
select is(private.recheck_floor_plans(clock_timestamp(), interval '10 seconds', :'rid') ->> 'restaurants', '0',
  'a re-check backing off after a failure waits out its back-off');

select * from finish();
rollback;
