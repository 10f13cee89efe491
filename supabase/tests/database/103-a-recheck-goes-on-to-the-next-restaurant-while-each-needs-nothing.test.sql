-- A re-check goes on to the next restaurant while each needs nothing sent back (20261228110000): a change
-- pushed to many restaurants at once is re-checked in a few calls of the cron job's, not one restaurant a call.
-- The platform's writes go through the Data API's role; the job's call runs a minute on, as the cron job's
-- would once the floor plans have been left alone.
begin;
select plan(6);

-- Other restaurants' marks (the database may hold some) are out of the way for this file.
create temp table set_aside as select * from private.floor_plan_rechecks;
delete from private.floor_plan_rechecks;

create function pg_temp.restaurant(p_name text, p_start timestamptz) returns uuid language plpgsql as $$
declare
  rid uuid := tests.create_restaurant(p_name);
  booking uuid;
begin
  perform tests.add_table(rid, p_name || '1', 4);
  perform tests.add_table(rid, p_name || '2', 4);
  booking := tests.create_booking(rid, 2, p_start);
  perform ops.assign_tables(booking, array[p_name || '1'], 'ana');
  return rid;
end $$;
select pg_temp.restaurant('A', '2030-12-24 19:00+00') as a \gset
select pg_temp.restaurant('B', '2030-12-24 19:00+00') as b \gset
select pg_temp.restaurant('C', '2030-12-24 19:00+00') as c \gset
select pg_temp.restaurant('D', '2030-12-24 19:00+00') as d \gset
delete from private.floor_plan_rechecks;

-- Holiday hours pushed to all four: three still cover their bookings, one does not.
set local role service_role;
update public.service_periods set ends_at = '22:00'
 where restaurant_id in (:'a', :'b', :'c') and day_of_week = extract(dow from timestamptz '2030-12-24 19:00+00');
update public.service_periods set starts_at = '20:00' where restaurant_id = :'d';
reset role;
update private.floor_plan_rechecks set changed_at = clock_timestamp() - interval '1 minute' where restaurant_id = :'d';

-- D's change is the oldest: its pass sends its booking back and ends the call.
select private.recheck_floor_plans(clock_timestamp() + interval '1 minute') as first \gset
select is(array[(:'first'::jsonb ->> 'restaurants')::int, (:'first'::jsonb ->> 'replanned')::int], array[1, 1],
  'a pass that sends a booking back is the call''s last');
select is((select assignment_state from public.bookings where restaurant_id = :'d'), 'assignment_pending',
  'the booking the new hours no longer cover is planned again');
select is((select count(*)::int from private.floor_plan_rechecks where restaurant_id in (:'a', :'b', :'c')), 3,
  'the others wait for the next call');

select private.recheck_floor_plans(clock_timestamp() + interval '1 minute') as second \gset
select is((:'second'::jsonb ->> 'restaurants')::int, 3, 'which re-checks the three that need nothing, one after the other');
select is((select count(*)::int from private.floor_plan_rechecks), 0, 'so no restaurant waits');

-- Asked for one restaurant, it re-checks that one only.
set local role service_role;
update public.service_periods set ends_at = '21:30'
 where restaurant_id in (:'a', :'b') and day_of_week = extract(dow from timestamptz '2030-12-24 19:00+00');
reset role;
select is((private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', :'a')
            ->> 'restaurants')::int, 1, 'a call for one restaurant re-checks that one');

insert into private.floor_plan_rechecks select * from set_aside on conflict do nothing;
select * from finish();
rollback;
