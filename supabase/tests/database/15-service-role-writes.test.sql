-- Every write a platform makes through the Data API, made as PostgREST makes it: the login role
-- `authenticator` switches to `service_role` for one transaction with the request's claims. Nothing runs as a
-- superuser before these writes: PL/pgSQL keeps the plan in which a trigger resolved a name for the rest of
-- the session, so a write `postgres` made first would hide a privilege `service_role` lacks.
begin;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true) as claims \gset
select plan(22);

select is(current_user::text, 'service_role', 'these writes run as service_role');
select gen_random_uuid() as rid, gen_random_uuid() as zid, gen_random_uuid() as t1, gen_random_uuid() as t2,
       gen_random_uuid() as bid \gset

-- The floor plan.
select lives_ok(format($$insert into public.restaurants (id, name, timezone) values (%L, 'API Bistro', 'UTC')$$, :'rid'),
  'service_role adds a restaurant');
select lives_ok(format($$insert into public.zones (id, restaurant_id, name) values (%L, %L, 'Main')$$, :'zid', :'rid'),
  'a zone');
select lives_ok(format($$insert into public.restaurant_tables (id, restaurant_id, zone_id, table_number, capacity, max_party_size)
                         values (%L, %L, %L, 'A1', 2, 2), (%L, %L, %L, 'A2', 4, 4)$$,
                       :'t1', :'rid', :'zid', :'t2', :'rid', :'zid'),
  'tables');
select lives_ok(format($$insert into public.table_adjacency (restaurant_id, table_a, table_b) values (%L, %L, %L)$$,
                       :'rid', greatest(:'t1'::uuid, :'t2'::uuid), least(:'t1'::uuid, :'t2'::uuid)),
  'an adjacency, given in either order');
select lives_ok(format($$insert into public.turn_time_policies (restaurant_id, min_party_size, max_party_size, dining_minutes,
                                                               buffer_after_minutes)
                         values (%L, 1, 2, 90, 15), (%L, 3, 4, 120, 15)$$, :'rid', :'rid'),
  'turn times');
select lives_ok(format($$update public.restaurant_tables set capacity = 3, max_party_size = 3 where id = %L$$, :'t1'),
  'and changes a table');

-- A booking: inserted, confirmed through the coordinator's RPCs, changed, cancelled.
select lives_ok(format($$insert into public.bookings (id, restaurant_id, party_size, start_at, notes)
                         values (%L, %L, 2, '2031-03-04 19:00+00', 'window')$$, :'bid', :'rid'),
  'service_role inserts a booking');
select is((select (end_at, buffer_after_minutes, assignment_state)::text from public.bookings where id = :'bid'),
  '("2031-03-04 20:30:00+00",15,created)', 'which gets its turn time and buffer from the policy, due for tables');
select public.assignment_begin(:'bid', 'api') ->> 'lease_token' as lease \gset
select is(public.assignment_commit(:'bid', :'lease', array[:'t1']::uuid[], 'optimal_fit') ->> 'outcome', 'confirmed',
  'the coordinator''s RPCs confirm it as service_role');
select lives_ok(format($$update public.bookings set start_at = '2031-03-04 20:00+00' where id = %L$$, :'bid'),
  'service_role changes the time of a confirmed booking');
select is((select (end_at, assignment_state)::text from public.bookings where id = :'bid'),
  '("2031-03-04 21:30:00+00",assignment_pending)', 'which moves the stay and sends it back for tables');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'bid' and released_at is null),
  0, 'with its table released');
select lives_ok(format($$update public.bookings set party_size = 4 where id = %L$$, :'bid'),
  'service_role changes the party size');
select is((select end_at from public.bookings where id = :'bid'), '2031-03-04 22:00+00'::timestamptz,
  'and the stay follows the larger party''s turn time');
select lives_ok(format($$update public.bookings set buffer_before_minutes = 10, buffer_after_minutes = 20 where id = %L$$, :'bid'),
  'service_role changes the buffers');
select lives_ok(format($$update public.bookings set notes = 'high chair' where id = %L$$, :'bid'),
  'and the notes');
select is((select (buffer_before_minutes, buffer_after_minutes, notes)::text from public.bookings where id = :'bid'),
  '(10,20,"high chair")', 'and they are stored');
select is(public.cancel_booking(:'bid', 'guest called') ->> 'to', 'cancelled', 'service_role cancels it');

-- The Data API's other roles can do none of it.
reset role;
set local role anon;
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 2, '2031-03-04 19:00+00')$$, :'rid'),
  '42501', null, 'anon cannot insert a booking');
reset role;
set local role authenticated;
select throws_ok(format($$update public.bookings set notes = 'forged' where id = %L$$, :'bid'),
  '42501', null, 'authenticated cannot change one');
select throws_ok(format($$select public.cancel_booking(%L, 'forged')$$, :'bid'),
  '42501', null, 'nor cancel one');
reset role;

select * from finish();
rollback;
