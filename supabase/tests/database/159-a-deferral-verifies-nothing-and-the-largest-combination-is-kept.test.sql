-- A lease that only defers a queued booking verifies nothing; a booking is verified when it comes in and when
-- its attempt begins, and one the floor plan no longer fits goes to review then, giving back the breaker's
-- probe; the largest combination is kept per floor-plan version (20261231390000). Leases as the coordinator
-- makes them, through service_role.
begin;
select plan(13);
-- Function calls counted for this transaction (pg_stat_get_xact_function_calls).
set local track_functions = 'all';
create function pg_temp.verified() returns bigint language sql security definer as $$
  select coalesce(pg_stat_get_xact_function_calls('private.capacity_problem(public.bookings, integer)'::regprocedure), 0)
$$;
create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;
grant execute on all functions in schema pg_temp to service_role;
select tests.run_v3();

-- One slot; a row of three joined 2-tops seats six.
select tests.create_restaurant('Deferrals') as rid \gset
select tests.add_table(:'rid', 'A1', 2) as a1 \gset
select tests.add_table(:'rid', 'A2', 2) as a2 \gset
select tests.add_table(:'rid', 'A3', 2) as a3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'a1', :'a2'), (:'rid', :'a2', :'a3');
select ops.set_max_parallel(1, 'ana', :'rid', 'test') is not null as set \gset
select tests.create_booking(:'rid', 2, '2030-06-03 12:00+00') as first \gset
select tests.create_booking(:'rid', 6, '2030-06-03 19:00+00') as six \gset

set local role service_role;
select public.assignment_begin(:'first') as first_lease \gset
select pg_temp.verified() as before \gset
select is(public.assignment_begin(:'six') ->> 'outcome', 'rate_limited', 'a party of six coming in finds the slot taken');
select is(pg_temp.verified() - :before, 1::bigint, 'and is verified as it comes in, before it is queued');
select is((select assignment_state from public.bookings where id = :'six'), 'assignment_pending', 'queued');
select pg_temp.verified() as before \gset
select is(public.assignment_begin(:'six') ->> 'outcome', 'rate_limited', 'leased again while the slot is taken');
select is(pg_temp.verified() - :before, 0::bigint, 'a lease that only defers it verifies nothing');
reset role;

-- While it waits, the row is broken up: no combination seats six any more. The breaker is open and cooled down,
-- so the next booking to find the free slot is handed the probe.
delete from public.table_adjacency where restaurant_id = :'rid';
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() - interval '1 minute');
set local role service_role;
select public.assignment_commit(:'first', tests.lease_token(:'first_lease'), array[:'a1']::uuid[], 'test') ->> 'outcome' as done \gset
select pg_temp.verified() as before \gset
select is(public.assignment_begin(:'six') ->> 'reason',
  'party_too_large: a party of 6 exceeds the largest possible arrangement (2 seats)',
  'when its attempt would begin it is verified again, and goes to review');
select is(pg_temp.verified() - :before, 1::bigint, 'verified once');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, null::uuid),
  'the probe it was handed is given back for the next booking');
select tests.create_booking(:'rid', 2, '2030-06-03 20:00+00') as next \gset
set local role service_role;
select is(public.assignment_begin(:'next') ->> 'outcome', 'ready', 'which runs');
reset role;
select is((pg_temp.breaker(:'rid')).probe_booking_id, :'next'::uuid, 'as the probe');

-- The largest combination, kept per floor-plan version: the same answer as the search, worked out again when
-- the floor plan changes, never kept under a newer version than it was worked out on.
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'a1', :'a2');
select is(private.largest_combination_kept(:'rid', 3), private.largest_combination(:'rid', 3),
  'kept: the search''s answer (a pair, 4 seats)');
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'a2', :'a3');
select is(private.largest_combination_kept(:'rid', 3), 6, 'after a change of the floor plan it is worked out again');
select is((select (floor_plan_version, seats) from private.largest_combinations where restaurant_id = :'rid' and max_tables = 3),
  (private.floor_plan_version(:'rid'), 6), 'and kept under that version');

select * from finish();
rollback;
