begin;
select plan(17);

-- While a breaker is open or half-open, an attempt let in before it opened leaves it as it is; only the
-- probe's result moves it. The attempts report as the coordinator does, through the Data API's role.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as a \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as c \gset
create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;
create function pg_temp.token(p jsonb) returns uuid language sql as $$ select (p ->> 'lease_token')::uuid $$;
grant execute on all functions in schema pg_temp to service_role;

-- Three attempts in progress; four errors counted already.
select public.assignment_begin(:'a') as la \gset
select public.assignment_begin(:'b') as lb \gset
select public.assignment_begin(:'c') as lc \gset
insert into private.circuit_breakers (restaurant_id, consecutive_failures) values (:'rid', 4);

set local role service_role;
select public.assignment_fail(:'a', pg_temp.token(:'la'), 'error', 'error: the fifth');
reset role;
select is((pg_temp.breaker(:'rid')).state, 'open', 'the fifth error opens the breaker');
select (pg_temp.breaker(:'rid')).opened_at as opened \gset

set local role service_role;
select is(public.assignment_commit(:'c', pg_temp.token(:'lc'), array[:'t3']::uuid[], 'test') ->> 'outcome', 'confirmed',
  'an attempt let in before it opened still commits');
reset role;
select is((pg_temp.breaker(:'rid')).state, 'open', 'but its success does not close the breaker');
select is((pg_temp.breaker(:'rid')).opened_at, :'opened'::timestamptz, 'nor restart its cool-down');
select is((select count(*)::int from public.observability_events where restaurant_id = :'rid'
            and event_type = 'coordinator.circuit_closed'), 0, 'and no circuit_closed is recorded');

set local role service_role;
select public.assignment_fail(:'b', pg_temp.token(:'lb'), 'error', 'error: an older attempt');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).consecutive_failures), ('open'::text, 5),
  'an older attempt''s error is not counted while it is open');

-- Half-open: two attempts from before it opened, then the probe.
update private.circuit_breakers set state = 'closed', consecutive_failures = 0, opened_at = null where restaurant_id = :'rid';
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as e \gset
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as f \gset
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as d \gset
select public.assignment_begin(:'e') as le \gset
select public.assignment_begin(:'f') as lf \gset
update private.circuit_breakers set state = 'open', consecutive_failures = 5, opened_at = now() - interval '16 seconds'
 where restaurant_id = :'rid';
select public.assignment_begin(:'d') as ld \gset
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, :'d'::uuid),
  'after the cool-down the next booking probes');

set local role service_role;
select public.assignment_commit(:'e', pg_temp.token(:'le'), array[:'t1']::uuid[], 'test');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, :'d'::uuid),
  'an older attempt''s success leaves it half-open with its probe');
set local role service_role;
select public.assignment_fail(:'f', pg_temp.token(:'lf'), 'error', 'error: an older attempt');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, :'d'::uuid),
  'and its error does not open it again');

-- Another booking waits for the probe's report, not a second at a time: 5 s at most (the probe's lease has 30 s
-- left); the report wakes it.
select tests.create_booking(:'rid', 2, '2030-01-08 21:00+00') as w \gset
select public.assignment_begin(:'w') as lw \gset
select is((:'lw'::jsonb ->> 'outcome', (:'lw'::jsonb ->> 'delay_ms')::int), ('circuit_open'::text, 5000),
  'a booking that is not the probe waits 5 s, not 1');
select is((public.assignment_begin(:'w', p_now => now() + interval '28 seconds') ->> 'delay_ms')::int, 2000,
  'and no longer than until the probe could be replaced');
set local role service_role;
select public.assignment_commit(:'d', pg_temp.token(:'ld'), array[:'t2']::uuid[], 'test');
reset role;
select is((select next_attempt_at from public.bookings where id = :'w'), now(), 'and is woken by the probe''s report');
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).consecutive_failures), ('closed'::text, 0),
  'the probe''s success closes it');
select is((select count(*)::int from public.observability_events where restaurant_id = :'rid'
            and event_type = 'coordinator.circuit_closed' and booking_id = :'d'), 1, 'recorded on the probe');

-- A failed probe opens it again; a probe replaced as stale no longer counts.
select tests.create_booking(:'rid', 2, '2030-01-09 19:00+00') as g \gset
select tests.create_booking(:'rid', 2, '2030-01-09 19:00+00') as h \gset
update private.circuit_breakers set state = 'open', consecutive_failures = 5, opened_at = now() - interval '16 seconds'
 where restaurant_id = :'rid';
select public.assignment_begin(:'g') as lg \gset
-- A lease (30 s) later, g has not reported: h takes over as the probe.
select public.assignment_begin(:'h', p_now => now() + interval '31 seconds') as lh \gset
select is((pg_temp.breaker(:'rid')).probe_booking_id, :'h'::uuid, 'a probe silent for a lease is replaced');
set local role service_role;
select public.assignment_fail(:'g', pg_temp.token(:'lg'), 'error', 'error: the replaced probe');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, :'h'::uuid),
  'the replaced probe''s late error does not open it');
set local role service_role;
select public.assignment_fail(:'h', pg_temp.token(:'lh'), 'error', 'error: still broken');
reset role;
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).opened_at), ('open'::text, now()),
  'the probe''s error opens it again, with a fresh cool-down');

select * from finish();
rollback;
