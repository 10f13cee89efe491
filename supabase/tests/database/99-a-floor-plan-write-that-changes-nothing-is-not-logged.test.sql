-- A floor-plan write that changes nothing is not logged as a change, nor queues a re-check (20261228070000): a
-- platform that synchronises its floor plan on a timer must not grow the log every lease and snapshot counts,
-- nor re-check the restaurant's bookings each time. Written as the Data API writes, through service_role.
begin;
select plan(9);

select tests.create_restaurant('Synchronised') as r \gset
select tests.add_table(:'r', 'S1', 4) as s1 \gset
select tests.add_table(:'r', 'S2', 4) as s2 \gset
select tests.add_table(:'r', 'S3', 4) as s3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'r', :'s1', :'s2');
select tests.create_booking(:'r', 2, '2030-06-07 19:00+00') as b \gset
select set_config('tests.r', :'r', true) is not null as r_set \gset
create function pg_temp.logged() returns integer language sql as $$
  select count(*)::int from private.floor_plan_changes where restaurant_id = current_setting('tests.r')::uuid;
$$;
create function pg_temp.digest(p_booking uuid) returns text language sql as $$
  select private.rules_digest(b, private.settings_for(b.restaurant_id)) from public.bookings b where b.id = p_booking;
$$;
select pg_temp.logged() as before \gset
select pg_temp.digest(:'b') as digest \gset
delete from private.floor_plan_rechecks where restaurant_id = :'r';

set local role service_role;
-- A synchronisation that finds nothing new: every table written back as it is, as an update and as an upsert,
-- and the adjacency and service hours likewise.
update public.restaurant_tables set capacity = capacity, table_number = table_number where restaurant_id = :'r';
insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
select restaurant_id, zone_id, table_number, capacity, max_party_size from public.restaurant_tables where restaurant_id = :'r'
on conflict (restaurant_id, table_number) do update set capacity = excluded.capacity, max_party_size = excluded.max_party_size;
update public.table_adjacency set table_a = table_a where restaurant_id = :'r';
update public.service_periods set ends_at = ends_at where restaurant_id = :'r';
reset role;
select is(pg_temp.logged(), :before, 'writes that change no value log nothing');
select is(pg_temp.digest(:'b'), :'digest', 'so the digest a lease keeps stays as it was');
select ok(not exists (select 1 from private.floor_plan_rechecks where restaurant_id = :'r'),
  'nor queue a re-check of the restaurant''s bookings');

set local role service_role;
update public.restaurant_tables set capacity = 6, max_party_size = 6 where id = :'s1';
reset role;
select is(pg_temp.logged(), :before + 1, 'a value changed is logged');
select isnt(pg_temp.digest(:'b'), :'digest', 'and moves the digest');
set local role service_role;
update public.restaurant_tables set table_number = 'S1a' where id = :'s1';
reset role;
select is(pg_temp.logged(), :before + 2, 'a rename is a change too (seating options name their tables)');
-- One statement that changes one table and writes another back as it is: one change, of this restaurant.
set local role service_role;
update public.restaurant_tables set out_of_service = (id = :'s2') where restaurant_id = :'r';
reset role;
select is(pg_temp.logged(), :before + 3, 'a statement that changes some of the rows it writes is one change');
set local role service_role;
update public.service_periods set ends_at = '22:30' where restaurant_id = :'r' and day_of_week = 1;
reset role;
select is(pg_temp.logged(), :before + 4, 'service hours moved are logged');

delete from private.floor_plan_rechecks where restaurant_id = :'r';
set local role service_role;
update public.table_adjacency set table_a = least(:'s1'::uuid, :'s3'::uuid), table_b = greatest(:'s1'::uuid, :'s3'::uuid)
 where restaurant_id = :'r';
reset role;
select ok(exists (select 1 from private.floor_plan_rechecks where restaurant_id = :'r'),
  'a pair changed into another queues a re-check, as before');

select * from finish();
rollback;
