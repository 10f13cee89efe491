-- A floor-plan re-check leaves at its tables a stay that began while the re-check waited, and tells an
-- operator (20261231200000). The wait is the second the re-check may spend on the restaurant lock; here the
-- re-check is called with the moment it began (now()) after a stay has begun since.
begin;
select plan(6);

select tests.create_restaurant('Begun while it waited') as rid \gset
select tests.add_table(:'rid', 'W1', 4) as w1 \gset
select tests.add_table(:'rid', 'W2', 4) as w2 \gset
-- Open at every hour, so the test runs whenever it is run.
delete from public.service_periods where restaurant_id = :'rid';
select tests.create_booking(:'rid', 2, now() + interval '1 second') as soon \gset
select ops.assign_tables(:'soon', array['W1'], 'ana') is not null as seated_soon \gset
select tests.create_booking(:'rid', 2, now() + interval '1 day') as ahead \gset
select ops.assign_tables(:'ahead', array['W1'], 'ana') is not null as seated_ahead \gset
-- W1 goes out of service: neither booking's tables seat it under the rules any more.
update public.restaurant_tables set out_of_service = true where id = :'w1';
-- The first booking's stay begins while the re-check waits.
select pg_sleep(1.5);
select private.replan_broken_holds(:'rid', now()) as done \gset

select is((select assignment_state from public.bookings where id = :'soon'), 'confirmed',
  'a stay begun since the re-check was called is not sent back to be planned');
select is((select count(*)::int from public.booking_table_assignments
            where booking_id = :'soon' and released_at is null), 1,
  'it keeps the table its guests may be walking in to');
select is((select count(*)::int from public.observability_events
            where booking_id = :'soon' and event_type = 'floor_plan.stay_under_way_breaks_rules'), 1,
  'an operator is told of it');
select cmp_ok((select created_at from public.observability_events
                where booking_id = :'soon' and event_type = 'floor_plan.stay_under_way_breaks_rules'),
  '>=', (select start_at from public.bookings where id = :'soon'),
  'stamped when it was judged under way, after it began');
select is((select assignment_state from public.bookings where id = :'ahead'), 'assignment_pending',
  'the booking still ahead is sent back to be planned');
select is((:'done'::jsonb ->> 'replanned')::int, 1, 'one booking is sent back');

select * from finish();
rollback;
