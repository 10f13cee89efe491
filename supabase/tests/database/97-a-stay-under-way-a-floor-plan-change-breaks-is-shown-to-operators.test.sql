-- A stay under way whose party has not arrived, on tables a floor-plan change no longer allows, is left where
-- it is but shown to an operator (20261228050000): the re-check records it, and ops.health counts it until it
-- is given other tables, its party is checked in, or the stay ends. The platform's writes and health run
-- through the Data API's role; the re-check runs as the sweeper runs it, half an hour into the stays.
begin;
select plan(15);

select tests.create_restaurant('Broken mid-service') as rid \gset
select tests.add_table(:'rid', 'U1', 4) as u1 \gset
select tests.add_table(:'rid', 'U2', 4) as u2 \gset
select tests.add_table(:'rid', 'U3', 4) as u3 \gset
select tests.add_table(:'rid', 'U4', 4) as u4 \gset
select tests.add_table(:'rid', 'U5', 4) as u5 \gset
create function pg_temp.confirmed_on(p_restaurant uuid, p_start timestamptz, p_table text) returns uuid
language plpgsql as $$
declare id uuid := tests.create_booking(p_restaurant, 2, p_start);
begin
  perform ops.assign_tables(id, array[p_table], 'ana');
  return id;
end $$;
-- Parties of two stay 90 minutes and 15 of buffer: 18:00 to 19:45.
select pg_temp.confirmed_on(:'rid', '2030-11-05 18:00+00', 'U1') as walking_in \gset
select pg_temp.confirmed_on(:'rid', '2030-11-05 18:00+00', 'U2') as late \gset
select pg_temp.confirmed_on(:'rid', '2030-11-05 18:00+00', 'U3') as seated \gset
select pg_temp.confirmed_on(:'rid', '2030-11-05 18:00+00', 'U4') as untouched \gset
select pg_temp.confirmed_on(:'rid', '2030-11-05 21:00+00', 'U1') as ahead \gset
create function pg_temp.flagged(p_booking uuid) returns integer language sql as $$
  select count(*)::int from public.observability_events
   where booking_id = p_booking and event_type = 'floor_plan.stay_under_way_breaks_rules';
$$;
create function pg_temp.health(p_now timestamptz) returns jsonb language plpgsql as $$
declare h jsonb;
begin
  set local role service_role;
  h := ops.health(p_now);
  reset role;
  return h;
end $$;

set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
update public.restaurant_tables set out_of_service = true where id in (:'u1', :'u2', :'u3');
reset role;
select private.recheck_floor_plans('2030-11-05 18:30+00', interval '10 seconds', :'rid') ->> 'replanned' as replanned \gset

select is(:'replanned'::text, '1', 'the booking ahead on a broken table is sent back to be planned, as before');
select is((select array_agg(assignment_state order by start_at, id) from public.bookings
            where id in (:'walking_in', :'late', :'seated')), array['confirmed', 'confirmed', 'confirmed'],
  'the stays under way are left where they are');
select is(array[pg_temp.flagged(:'walking_in'), pg_temp.flagged(:'late')], array[1, 1],
  'each stay under way whose party has not arrived is recorded for an operator');
select is((select context from public.observability_events
            where booking_id = :'walking_in' and event_type = 'floor_plan.stay_under_way_breaks_rules'),
  '{"reason": "stay_under_way"}'::jsonb, 'with nothing about the guest');
select is(array[pg_temp.flagged(:'seated'), pg_temp.flagged(:'untouched'), pg_temp.flagged(:'ahead')], array[0, 0, 0],
  'not a party seated there, a stay whose tables still hold it, or a booking sent back');

select pg_temp.health('2030-11-05 18:31+00') as h \gset
select is((:'h'::jsonb ->> 'stays_under_way_breaking_rules')::int, 2, 'health counts the two stays');
select ok(exists (select 1 from jsonb_array_elements_text(:'h'::jsonb -> 'problems') p
                   where p like '2 bookings whose stay has begun%ops.assign_tables%'),
  'and calls them a problem, saying what to do');
select is(pg_temp.health('2030-11-05 19:50+00') ->> 'stays_under_way_breaking_rules', '0', 'once the stays are over, none');

-- Judged again while the restaurant still waits for its re-check (a pass that had more to do): recorded once;
-- judged in a later wait (another change), recorded again.
insert into private.floor_plan_rechecks (restaurant_id, changed_at) values (:'rid', clock_timestamp());
select private.replan_broken_holds(:'rid', '2030-11-05 18:32+00') is not null as again \gset
select is(pg_temp.flagged(:'walking_in'), 1, 'a stay is recorded once while its restaurant waits');
update private.floor_plan_rechecks set pending_since = '2030-11-05 18:32:30+00' where restaurant_id = :'rid';
select private.replan_broken_holds(:'rid', '2030-11-05 18:33+00') is not null as later_wait \gset
select is(pg_temp.flagged(:'walking_in'), 2, 'and once more in a later wait');
delete from private.floor_plan_rechecks where restaurant_id = :'rid';

-- Given another table, the party walks in to it.
select is(ops.assign_tables(:'walking_in', array['U5'], 'ana') ->> 'outcome', 'confirmed', 'an operator moves one');
select is(pg_temp.health('2030-11-05 18:34+00') ->> 'stays_under_way_breaking_rules', '1', 'it is no longer counted');
-- The other party arrives and is seated where the host sees fit.
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'late';
reset role;
select pg_temp.health('2030-11-05 18:35+00') as h2 \gset
select is(:'h2'::jsonb ->> 'stays_under_way_breaking_rules', '0', 'nor one whose party is checked in');
select ok(not exists (select 1 from jsonb_array_elements_text(:'h2'::jsonb -> 'problems') p where p like '%stay has begun%'),
  'and the problem is gone');

-- A change made while nobody's stay is under way records nothing: the evening's booking on the table is sent
-- back to be planned, not shown as a stay under way.
select pg_temp.confirmed_on(:'rid', '2030-11-06 19:00+00', 'U5') as evening \gset
select count(*)::int as recorded from public.observability_events
 where restaurant_id = :'rid' and event_type = 'floor_plan.stay_under_way_breaks_rules' \gset
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'u5';
reset role;
select private.recheck_floor_plans('2030-11-06 12:00+00', interval '10 seconds', :'rid') ->> 'replanned' as later \gset
select is(array[:'later'::text, (select count(*)::text from public.observability_events
                                  where restaurant_id = :'rid' and event_type = 'floor_plan.stay_under_way_breaks_rules')],
  array['1', :'recorded'::text],
  'a re-check with no stay under way sends the booking ahead back and records no stay under way');

select * from finish();
rollback;
