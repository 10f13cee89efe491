-- A floor-plan change sends the confirmed bookings ahead whose tables it breaks back to be planned, and leaves
-- the rest alone (20261210140000). The platform's writes go through the Data API, so they run here as
-- service_role.
begin;
select plan(16);

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

select pg_temp.confirmed_on(:'rid', 2, '2030-10-07 18:00+00', array['R1']) as ahead \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-07 18:00+00', array['R2']) as elsewhere \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-08 18:00+00', array['R1']) as seated \gset
select pg_temp.confirmed_on(:'rid', 7, '2030-10-09 18:00+00', array['R3', 'R4']) as joined \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select count(*)::int as messages from public.notification_outbox where status = 'pending' and restaurant_id = :'rid' \gset

-- A change that breaks nothing (the table's number) re-plans nothing.
set local role service_role;
update public.restaurant_tables set table_number = 'R1a' where id = :'r1';
reset role;
select is(pg_temp.state(:'ahead'), 'confirmed', 'renaming a table re-plans nothing');

-- R1 out of service: the booking ahead on it is planned again; the one elsewhere and the seated party stay.
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'r1';
reset role;
select is(pg_temp.state(:'ahead'), 'assignment_pending', 'a booking ahead on a table taken out of service is planned again');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'ahead' and released_at is null), 0,
  'its table released');
select ok((select reason from public.booking_assignment_state_history where booking_id = :'ahead' order by version desc limit 1)
  like 'rule_changed: a table changed%', 'the history says why');
select is(pg_temp.state(:'elsewhere'), 'confirmed', 'a booking on another table stays');
select is((select array[assignment_state, status] from public.bookings where id = :'seated'), array['confirmed', 'checked_in'],
  'a party already seated stays at its table');
select is((select count(*)::int from public.notification_outbox where status = 'pending' and restaurant_id = :'rid'), :messages,
  'no guest is told anything yet');

-- A lowered party range breaks R2 for a party of two.
set local role service_role;
update public.restaurant_tables set min_party_size = 3 where id = :'r2';
reset role;
select is(pg_temp.state(:'elsewhere'), 'assignment_pending', 'a party range that no longer fits the party re-plans it');

-- Joined tables no longer adjacent: the party of seven on R3+R4 is planned again.
set local role service_role;
delete from public.table_adjacency where restaurant_id = :'rid';
reset role;
select is(pg_temp.state(:'joined'), 'assignment_pending', 'tables no longer adjacent re-plan the party they seated');

-- Service hours moved away from a booking's stay.
select pg_temp.confirmed_on(:'rid', 2, '2030-10-10 12:00+00', array['R3']) as lunch \gset
select pg_temp.confirmed_on(:'rid', 2, '2030-10-10 19:00+00', array['R4']) as dinner \gset
set local role service_role;
update public.service_periods set starts_at = '17:00' where restaurant_id = :'rid';
reset role;
select is(pg_temp.state(:'lunch'), 'assignment_pending', 'a booking the service hours no longer cover is planned again');
select is(pg_temp.state(:'dinner'), 'confirmed', 'one they still cover stays');

-- The time zone moves every stay's local time.
set local role service_role;
update public.restaurants set timezone = 'Pacific/Kiritimati' where id = :'rid';
reset role;
select is(pg_temp.state(:'dinner'), 'assignment_pending', 'a time zone that puts the stay outside service re-plans it');

-- A table bookings have held cannot be deleted (the check runs at commit: forced here).
set local role service_role;
select throws_ok(format($$delete from public.restaurant_tables where id = %L; set constraints all immediate$$, :'r4'),
  '23503', null, 'a table bookings have held cannot be deleted (it is deactivated instead)');
reset role;
set constraints all deferred;

-- Deleting the restaurant takes its floor plan and bookings with it, with nothing to re-plan
-- (20261210150000).
select lives_ok($$delete from public.restaurants where name = 'Rearranged'$$, 'and a restaurant can still be deleted with all of it');
select is((select count(*)::int from public.bookings where restaurant_id = :'rid'), 0, 'its bookings gone with it');
select lives_ok('set constraints all immediate', 'and nothing refers to what was deleted');

select * from finish();
rollback;
