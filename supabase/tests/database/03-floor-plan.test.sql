begin;
select plan(11);

select tests.create_restaurant('Floor') as rid \gset
select tests.create_restaurant('Other') as other \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 2) as t2 \gset
select tests.add_table(:'other', 'X1', 4) as x1 \gset

select throws_ok(format($$insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
                         values (%L, tests.zone_id(%L), 'T0', 0, 0)$$, :'rid', :'rid'),
  '23514', null, 'a table needs a positive capacity');
select throws_ok(format($$insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, min_party_size, max_party_size)
                         values (%L, tests.zone_id(%L), 'T9', 4, 3, 2)$$, :'rid', :'rid'),
  '23514', null, 'a table''s party range cannot be inverted');
select throws_ok(format($$insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
                         values (%L, tests.zone_id(%L), 'T8', 4, 6)$$, :'rid', :'rid'),
  '23514', null, 'a table cannot seat more than its capacity');
select throws_ok(format($$insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
                         values (%L, tests.zone_id(%L), 'T7', 4, 4)$$, :'rid', :'other'),
  '23503', null, 'a table cannot sit in another restaurant''s zone');

select lives_ok(format($$insert into public.table_adjacency (restaurant_id, table_a, table_b) values (%L, %L, %L)$$,
                       :'rid', greatest(:'t1'::uuid, :'t2'::uuid), least(:'t1'::uuid, :'t2'::uuid)),
  'adjacency can be given higher id first');
select is((select count(*)::int from public.table_adjacency where table_a = least(:'t1'::uuid, :'t2'::uuid)), 1,
  'and is stored once, lower id first');
select throws_ok(format($$insert into public.table_adjacency (restaurant_id, table_a, table_b) values (%L, %L, %L)$$,
                        :'rid', :'t1', :'t2'),
  '23505', null, 'the same edge in the other direction is a duplicate');
select throws_ok(format($$insert into public.table_adjacency (restaurant_id, table_a, table_b) values (%L, %L, %L)$$,
                        :'rid', :'t1', :'t1'),
  '23514', null, 'a table is not adjacent to itself');
select throws_ok(format($$insert into public.table_adjacency (restaurant_id, table_a, table_b) values (%L, %L, %L)$$,
                        :'rid', :'t1', :'x1'),
  '23503', null, 'tables of different restaurants are never adjacent');

select throws_ok(format($$insert into public.turn_time_policies (restaurant_id, min_party_size, max_party_size, dining_minutes)
                         values (%L, 3, 6, 100)$$, :'rid'),
  '23P01', null, 'turn-time bands of one restaurant cannot overlap');
select throws_ok($$insert into public.restaurants (name, timezone) values ('Nowhere', 'Mars/Olympus_Mons')$$,
  '23514', null, 'a restaurant needs a real time zone');

select * from finish();
rollback;
