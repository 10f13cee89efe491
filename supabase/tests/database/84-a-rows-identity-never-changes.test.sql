-- A row's identity never changes (20261227090000): written as a platform writes, through service_role, with the
-- upsert a Data API client sends (on_conflict=…, merge-duplicates) that would give a row a new id and hand its
-- old id to a new row in the same statement.
begin;
select plan(10);

select tests.create_restaurant() as rid \gset
select tests.create_restaurant('Elsewhere') as other \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-05-03 19:00+00') as booking \gset
select tests.force_state(:'booking', 'confirmed');
select reference from public.bookings where id = :'booking' \gset
select array_agg(a.table_id::text || ' ' || lower(a.during)::text) as held from public.booking_table_assignments a
 where a.booking_id = :'booking' and a.released_at is null \gset
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
  values (:'rid', 'Dinner', 5, '17:00', '23:00') returning id as period \gset

set local role service_role;
select is(tests.sqlstate_of(format($$
  insert into public.bookings (id, reference, restaurant_id, party_size, start_at)
  values (gen_random_uuid(), %L, %L, 2, '2030-05-03 19:00+00'), (%L, 'ZZZZ000001', %L, 2, '2030-05-04 19:00+00')
  on conflict (reference) do update set id = excluded.id$$, :'reference', :'rid', :'booking', :'rid')), 'AS005',
  'an upsert cannot give a booking a new id and its old id to a new booking');
select is(tests.sqlstate_of(format('update public.bookings set id = gen_random_uuid() where id = %L', :'booking')),
  'AS005', 'nor can a plain update give a booking a new id');
select is(tests.sqlstate_of(format($$
  insert into public.restaurant_tables (id, restaurant_id, table_number, capacity, max_party_size, zone_id)
  values (gen_random_uuid(), %L, 'T1', 4, 4, %L)
  on conflict (restaurant_id, table_number) do update set id = excluded.id$$, :'rid', tests.zone_id(:'rid'))), 'AS005',
  'an upsert cannot give a table a new id, which would leave its holds behind');
select is(tests.sqlstate_of(format('update public.service_periods set id = gen_random_uuid() where id = %L', :'period')),
  'AS005', 'a service period keeps its id');
select is(tests.sqlstate_of(format('update public.restaurants set id = gen_random_uuid() where id = %L', :'rid')),
  'AS005', 'a restaurant keeps its id');
select is(tests.sqlstate_of(format('update public.zones set restaurant_id = %L where restaurant_id = %L', :'other', :'rid')),
  'AS005', 'a zone stays with its restaurant');
select is(tests.sqlstate_of(format('update public.service_periods set restaurant_id = %L where id = %L', :'other', :'period')),
  'AS005', 'a service period stays with its restaurant');
select throws_like(format('update public.restaurant_tables set id = gen_random_uuid() where id = %L', :'t2'),
  '%a row''s id, and the restaurant a part of its floor plan belongs to, never change%',
  'the refusal says so');
select is(tests.sqlstate_of(format('update public.restaurant_tables set capacity = 6 where id = %L', :'t2')), null,
  'an ordinary change goes through');
reset role;
select is((select array_agg(a.table_id::text || ' ' || lower(a.during)::text) from public.booking_table_assignments a
            where a.booking_id = :'booking' and a.released_at is null), :'held'::text[],
  'the booking holds what it held, under the same ids');

select * from finish();
rollback;
