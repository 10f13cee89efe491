-- A party larger than every single table is too large only when no group of up to max_tables_per_booking
-- joinable tables seats it (private.capacity_problem): in a row of three joined 4-tops, a restaurant that allows
-- pairs lets a party of eight begin and sends one of nine to review saying the largest arrangement seats 8; allowing
-- three tables lets the nine begin; allowing one table sends a party of five to review saying 4. Leases as the
-- coordinator makes them, through service_role.
begin;
select plan(5);
select tests.run_v3();

select tests.create_restaurant('A row of 4-tops') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.add_table(:'rid', 'R2', 4) as r2 \gset
select tests.add_table(:'rid', 'R3', 4) as r3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'r1', :'r2'), (:'rid', :'r2', :'r3');
select ops.set_max_parallel(5, 'ana', :'rid', 'test') is not null as set \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_tables_per_booking) values (:'rid', 2)
on conflict (restaurant_id) do update set max_tables_per_booking = 2;

select tests.create_booking(:'rid', 8, '2030-06-03 12:00+00') as eight \gset
select tests.create_booking(:'rid', 9, '2030-06-03 15:00+00') as nine \gset
set local role service_role;
select is(public.assignment_begin(:'eight') ->> 'outcome', 'ready',
  'pairs allowed: a party of eight, more than any one table, begins (two joined 4-tops seat it)');
select is(public.assignment_begin(:'nine') ->> 'reason',
  'party_too_large: a party of 9 exceeds the largest possible arrangement (8 seats)',
  'a party of nine is too large for any pair, and goes to review saying so');
reset role;
select is((select assignment_state from public.bookings where id = :'nine'), 'manual_review', 'in review');

select tests.create_booking(:'rid', 9, '2030-06-03 19:00+00') as nine_of_three \gset
select tests.create_booking(:'rid', 5, '2030-06-03 21:00+00') as five_alone \gset
update private.restaurant_pipeline_settings set max_tables_per_booking = 3 where restaurant_id = :'rid';
set local role service_role;
select is(public.assignment_begin(:'nine_of_three') ->> 'outcome', 'ready', 'three tables allowed: the nine begin');
reset role;
update private.restaurant_pipeline_settings set max_tables_per_booking = 1 where restaurant_id = :'rid';
set local role service_role;
select is(public.assignment_begin(:'five_alone') ->> 'reason',
  'party_too_large: a party of 5 exceeds the largest possible arrangement (4 seats)',
  'single tables only: a party of five is too large');
reset role;

select * from finish();
rollback;
