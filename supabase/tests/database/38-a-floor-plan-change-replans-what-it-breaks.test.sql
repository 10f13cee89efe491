-- A floor-plan change marks its restaurant, and the sweeper's re-check sends the confirmed bookings that have
-- not started and whose tables the change breaks back to be planned, leaving the rest alone
-- (20261210140000). The platform's writes go through the Data API, so they run here as service_role; the
-- re-check runs as the sweeper runs it, a minute on (the floor plan must have been left alone for 10 s).
begin;
select plan(21);

select tests.create_restaurant('Rearranged') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.add_table(:'rid', 'R2', 4) as r2 \gset
select tests.add_table(:'rid', 'R3', 4) as r3 \gset
select tests.add_table(:'rid', 'R4', 4) as r4 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'r3', :'r4');

create function pg_temp.state(p_booking uuid) returns text language sql as $$
  select assignment_state from public.bookings where id = p_booking;
$$;
create function pg_temp.confirmed_on(p_restaurant uuid, p_party integer, p_start timestamptz, p_tables text[]) returns uuid
language plpgsql as $$
declare id uuid := tests.create_booking(p_restaurant, p_party, p_start);
begin
  perform ops.assign_tables(id, p_tables, 'ana');
  return id;
end $$;
select set_config('tests.rid', :'rid', true) as rid_set \gset
create function pg_temp.recheck() returns jsonb language sql as $$
  select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds',
                                     current_setting('tests.rid')::uuid);
$$;

select pg_temp.confirmed_on(:'rid', 2, '2030-10-07 18:00+00', array['R1']) as ahead \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-07 18:00+00', array['R2']) as elsewhere \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-08 18:00+00', array['R1']) as seated \gset
select pg_temp.confirmed_on(:'rid', 7, '2030-10-09 18:00+00', array['R3', 'R4']) as joined \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select pg_temp.recheck() ->> 'replanned' as settled \gset
select count(*)::int as messages from public.notification_outbox where status = 'pending' and restaurant_id = :'rid' \gset

-- A change that breaks nothing (the table's number) re-plans nothing.
set local role service_role;
update public.restaurant_tables set table_number = 'R1a' where id = :'r1';
reset role;
select is(pg_temp.recheck() ->> 'replanned', '0', 'renaming a table re-plans nothing');

-- R1 out of service: nothing moves until the re-check; then the booking ahead on it is planned again, and the
-- one elsewhere and the seated party stay.
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'r1';
reset role;
select is(private.recheck_floor_plans(clock_timestamp(), interval '10 seconds', :'rid') ->> 'restaurants', '0',
  'a floor plan changed a moment ago is not judged yet');
select is(pg_temp.state(:'ahead'), 'confirmed', 'so the booking is as it was');
select is(pg_temp.recheck() ->> 'replanned', '1', 'once left alone, the re-check re-plans one booking');
select is(pg_temp.state(:'ahead'), 'assignment_pending', 'the booking ahead on the table taken out of service');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'ahead' and released_at is null), 0,
  'its table released');
select ok((select reason from public.booking_assignment_state_history where booking_id = :'ahead' order by version desc limit 1)
  like 'rule_changed: the floor plan changed%', 'the history says why');
select is(pg_temp.state(:'elsewhere'), 'confirmed', 'a booking on another table stays');
select is((select array[assignment_state, status] from public.bookings where id = :'seated'), array['confirmed', 'checked_in'],
  'a party already seated stays at its table');
select is((select count(*)::int from public.notification_outbox where status = 'pending' and restaurant_id = :'rid'), :messages,
  'no guest is told anything yet');
select is((select count(*)::int from private.floor_plan_rechecks where restaurant_id = :'rid'), 0, 'the restaurant is checked');

-- A lowered party range breaks R2 for a party of two.
set local role service_role;
update public.restaurant_tables set min_party_size = 3 where id = :'r2';
reset role;
select pg_temp.recheck() ->> 'replanned' as ignored \gset
select is(pg_temp.state(:'elsewhere'), 'assignment_pending', 'a party range that no longer fits the party re-plans it');

-- Adjacency replaced in two requests (removed, then put back) is judged whole: the joined party stays.
set local role service_role;
delete from public.table_adjacency where restaurant_id = :'rid';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'r3', :'r4');
reset role;
select pg_temp.recheck() ->> 'replanned' as ignored \gset
select is(pg_temp.state(:'joined'), 'confirmed', 'an adjacency removed and put back before the re-check moves nobody');
set local role service_role;
delete from public.table_adjacency where restaurant_id = :'rid';
reset role;
select pg_temp.recheck() ->> 'replanned' as ignored \gset
select is(pg_temp.state(:'joined'), 'assignment_pending', 'tables no longer adjacent re-plan the party they seated');

-- Service hours replaced, then the time zone changed.
select pg_temp.confirmed_on(:'rid', 2, '2030-10-10 12:00+00', array['R3']) as lunch \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-10 19:00+00', array['R4']) as dinner \gset
set local role service_role;
delete from public.service_periods where restaurant_id = :'rid';
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
select :'rid', 'Dinner', d, '17:00', '23:00' from generate_series(0, 6) d;
reset role;
select pg_temp.recheck() ->> 'replanned' as ignored \gset
select is(pg_temp.state(:'lunch'), 'assignment_pending', 'a booking the new service hours do not cover is planned again');
select is(pg_temp.state(:'dinner'), 'confirmed', 'one they still cover stays');
set local role service_role;
update public.restaurants set timezone = 'Pacific/Kiritimati' where id = :'rid';
reset role;
select pg_temp.recheck() ->> 'replanned' as ignored \gset
select is(pg_temp.state(:'dinner'), 'assignment_pending', 'a time zone that puts the stay outside service re-plans it');

-- A table bookings have held cannot be deleted (refused at once since 20261226080000; the holds' own check
-- would have refused it at commit).
set local role service_role;
select throws_ok(format($$delete from public.restaurant_tables where id = %L; set constraints all immediate$$, :'r4'),
  'AS005', null, 'a table bookings have held cannot be deleted (it is deactivated instead)');
reset role;
set constraints all deferred;

-- Deleting the restaurant takes its floor plan and bookings with it (20261210150000).
select lives_ok($$delete from public.restaurants where name = 'Rearranged'$$, 'a restaurant can be deleted with all of it');
select is((select count(*)::int from public.bookings where restaurant_id = :'rid'), 0, 'its bookings gone with it');
select lives_ok('set constraints all immediate', 'and nothing refers to what was deleted');

select * from finish();
rollback;
