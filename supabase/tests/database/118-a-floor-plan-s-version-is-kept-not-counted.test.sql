-- A restaurant's floor-plan version is kept as a number beside the change log, raised by the statement that
-- appends to it (20261230020000): it is what counting the log gave, every kind of change moves it, a write that
-- changes nothing does not, and the log's old rows could be pruned without moving it back. Written as the Data
-- API writes, through service_role. Writers racing each other: floor_plan_version.test.ts.
begin;
select plan(12);

select tests.create_restaurant('Kept') as r \gset
select tests.create_restaurant('Other') as other \gset
select tests.add_table(:'r', 'K1', 4) as k1 \gset
select tests.add_table(:'r', 'K2', 4) as k2 \gset
select tests.create_booking(:'r', 2, '2030-06-07 19:00+00') as b \gset
select set_config('tests.r', :'r', true) is not null as r_set \gset
create function pg_temp.logged() returns bigint language sql as $$
  select count(*) from private.floor_plan_changes where restaurant_id = current_setting('tests.r')::uuid;
$$;
create function pg_temp.digest(p_booking uuid) returns text language sql as $$
  select private.rules_digest(b, private.settings_for(b.restaurant_id)) from public.bookings b where b.id = p_booking;
$$;

select is(private.floor_plan_version(:'r'), pg_temp.logged(), 'a new restaurant''s version is its changes so far');
select private.floor_plan_version(:'r') as v0 \gset
select pg_temp.digest(:'b') as d0 \gset

set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'k1';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'r', :'k1', :'k2');
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at) values (:'r', 'Late', 5, '22:00', '23:30');
update public.restaurants set timezone = 'Europe/Madrid' where id = :'r';
delete from public.table_adjacency where restaurant_id = :'r';
reset role;
select is(private.floor_plan_version(:'r'), (:v0 + 5)::bigint, 'each of five statements that change the floor plan raises it by one');
select is(private.floor_plan_version(:'r'), pg_temp.logged(), 'as counting the log would');
select isnt(pg_temp.digest(:'b'), :'d0', 'and moves the digest a lease keeps');
select ok(pg_temp.digest(:'b') like '%/' || private.floor_plan_version(:'r'), 'which ends with the kept version');

set local role service_role;
update public.restaurant_tables set capacity = capacity where restaurant_id = :'r';
reset role;
select is(private.floor_plan_version(:'r'), (:v0 + 5)::bigint, 'a write that changes nothing leaves it');

-- One statement over both restaurants' tables: one change for each.
select tests.add_table(:'other', 'O1', 4) as o1 \gset
select private.floor_plan_version(:'other') as other_v \gset
set local role service_role;
update public.restaurant_tables set out_of_service = not out_of_service where restaurant_id in (:'r', :'other');
reset role;
select is(array[private.floor_plan_version(:'r'), private.floor_plan_version(:'other')],
  array[:v0 + 6, :other_v + 1]::bigint[], 'a statement changing two restaurants raises each by one');

-- The log pruned: the version stays, so nothing kept for it (a digest, seating options) reads as current
-- for an older floor plan.
delete from private.floor_plan_changes where restaurant_id = :'r';
select is(private.floor_plan_version(:'r'), (:v0 + 6)::bigint, 'pruning the log moves no version back');
set local role service_role;
update public.restaurant_tables set capacity = 6, max_party_size = 6 where id = :'k2';
reset role;
select is(private.floor_plan_version(:'r'), (:v0 + 7)::bigint, 'and the next change still raises it');

select is(private.floor_plan_version(gen_random_uuid()), 0::bigint, 'a restaurant never seen is at version 0');
delete from public.restaurants where id = :'other';
select ok(not exists (select 1 from private.floor_plan_versions where restaurant_id = :'other'),
  'a deleted restaurant''s version goes with it');

-- Postgres fires a statement's triggers by name: on every floor-plan table the log's (which take the version
-- row) come before the re-check's, so no two writers take a restaurant's two rows in opposite orders.
select is((select array_agg(c.relname::text order by c.relname) from pg_trigger t join pg_class c on c.oid = t.tgrelid
            where not t.tgisinternal and t.tgfoid = 'private.mark_floor_plan_changed'::regproc
              and t.tgname < (select max(l.tgname) from pg_trigger l
                               where l.tgrelid = t.tgrelid and l.tgfoid = 'private.record_floor_plan_change'::regproc)),
  null, 'on every floor-plan table the log''s triggers fire before the re-check''s');

select * from finish();
rollback;
