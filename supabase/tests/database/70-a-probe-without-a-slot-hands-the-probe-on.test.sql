-- A probe that finds no free slot hands the probe on (20261226030000). (What a held restaurant lock does to a
-- lease and its escalation needs two connections: supabase/tests/integration/lock_waits.test.ts.)
begin;
select plan(5);

create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;
grant execute on all functions in schema pg_temp to service_role;

-- One slot, taken by an attempt let in before the breaker opened.
select tests.create_restaurant('One slot') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select ops.set_max_parallel(1, 'ana', :'rid', 'test') is not null as set \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as early \gset
select tests.create_booking(:'rid', 2, '2030-06-03 20:00+00') as turned_away \gset
select tests.create_booking(:'rid', 2, '2030-06-03 21:00+00') as after \gset
set local role service_role;
select public.assignment_begin(:'early') as early_lease \gset
reset role;
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() - interval '1 minute');

-- After the cool-down the next booking turns the breaker half-open, but finds the slot taken.
set local role service_role;
select is(public.assignment_begin(:'turned_away') ->> 'outcome', 'rate_limited', 'the first booking after the cool-down finds no slot');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, null::uuid),
  'so it does not stay the probe: the breaker is half-open with no probe');

-- The early attempt ends (its result is not the probe's, so the breaker stays as it is) and frees the slot.
set local role service_role;
select public.assignment_commit(:'early', tests.lease_token(:'early_lease'), array[:'t1']::uuid[], 'test') ->> 'outcome' as early_outcome \gset
reset role;
select is((pg_temp.breaker(:'rid')).state, 'half_open', 'an attempt from before it opened does not close it');

-- The next booking to find the slot probes at once, without waiting for the first one's deferral.
set local role service_role;
select is(public.assignment_begin(:'after') ->> 'outcome', 'ready', 'the next booking that finds the slot runs');
reset role;
select is((pg_temp.breaker(:'rid')).probe_booking_id, :'after'::uuid, 'as the probe');

select * from finish();
rollback;
