begin;
select plan(32);

-- A restaurant whose breaker has just come out of its cooldown (opened 16 s ago after five errors).
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4);
select tests.add_table(:'rid', 'T2', 4);
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p2 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p3 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p4 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p5 \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() - interval '16 seconds');
create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;

-- One probe runs; the others wait for it.
select public.assignment_begin(:'p1') as probe \gset
select is((:'probe'::jsonb) ->> 'outcome', 'ready', 'after the cooldown one booking runs as the probe');
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).probe_booking_id), ('half_open'::text, :'p1'::uuid),
  'the breaker is half-open with that probe');
select is(public.assignment_begin(:'p2') ->> 'outcome', 'circuit_open', 'another booking waits while the probe runs');

-- A failed probe opens the breaker again.
select public.assignment_fail(:'p1', ((:'probe'::jsonb) ->> 'lease_token')::uuid, 'error', 'error: still broken');
select is((pg_temp.breaker(:'rid')).state, 'open', 'a failed probe re-opens the breaker');
select is((pg_temp.breaker(:'rid')).opened_at, now(), 'with a fresh cooldown');
select is((pg_temp.breaker(:'rid')).probe_booking_id, null, 'and no probe');
select is((select context ->> 'from' from public.observability_events where restaurant_id = :'rid'
            and event_type = 'coordinator.circuit_opened' order by id desc limit 1), 'half_open',
  'recorded as coordinator.circuit_opened from half_open');
select is(public.assignment_begin(:'p2') ->> 'outcome', 'circuit_open', 'everyone waits out the new cooldown');

-- A probe cancelled while it runs hands the probe on.
update private.circuit_breakers set opened_at = now() - interval '16 seconds' where restaurant_id = :'rid';
select is(public.assignment_begin(:'p2') ->> 'outcome', 'ready', 'after the cooldown the next booking probes');
select is(public.assignment_begin(:'p3') ->> 'outcome', 'circuit_open', 'while it runs, the others wait');
select public.cancel_booking(:'p2', 'guest cancelled');
select is(public.assignment_begin(:'p3') ->> 'outcome', 'ready', 'once the probe is cancelled, the next booking becomes the probe');
select is((pg_temp.breaker(:'rid')).probe_booking_id, :'p3'::uuid, 'and the breaker knows it');
select is((select context ->> 'why' from public.observability_events where booking_id = :'p3'
            and event_type = 'coordinator.circuit_probe_replaced'), 'probe_left_the_queue', 'recorded with why');

-- A probe assigned by hand is no probe either.
select ops.assign_tables(:'p1', array['T2'], 'ana');
update private.circuit_breakers set probe_booking_id = :'p1' where restaurant_id = :'rid';
select is(public.assignment_begin(:'p4') ->> 'outcome', 'ready', 'a probe an operator assigned by hand is replaced');
select public.cancel_booking(:'p3');
select public.cancel_booking(:'p4');

-- A probe that was picked but never ran (rate limited, its dispatch lost) is replaced after a lease.
update private.circuit_breakers set probe_booking_id = :'p5', probe_started_at = now() - interval '5 seconds' where restaurant_id = :'rid';
select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as p6 \gset
select is(public.assignment_begin(:'p6') ->> 'outcome', 'circuit_open', 'a probe picked 5 s ago still has its turn');
update private.circuit_breakers set probe_started_at = now() - interval '31 seconds' where restaurant_id = :'rid';
select is(public.assignment_begin(:'p6') ->> 'outcome', 'ready', 'one that has not run for a lease (30 s) is replaced');
select is((select context ->> 'why' from public.observability_events where booking_id = :'p6'
            and event_type = 'coordinator.circuit_probe_replaced'), 'probe_idle_for_a_lease', 'recorded with why');
select public.cancel_booking(:'p6');

-- A deleted probe is replaced too.
update private.circuit_breakers set probe_booking_id = gen_random_uuid(), probe_started_at = now() where restaurant_id = :'rid';
select is(public.assignment_begin(:'p5') ->> 'outcome', 'ready', 'a probe that no longer exists is replaced');
select public.cancel_booking(:'p5');

-- Waiting on an open breaker is bounded: after max_deferral_seconds the booking goes to an operator.
select tests.create_booking(:'rid', 2, '2030-01-09 19:00+00') as waiting \gset
update private.circuit_breakers set state = 'open', probe_booking_id = null, opened_at = now() + interval '1 hour'
 where restaurant_id = :'rid';
select is(public.assignment_begin(:'waiting') ->> 'outcome', 'circuit_open', 'an open breaker defers the booking');
select is((select deferred_since from public.bookings where id = :'waiting'), now(), 'from now');
select is(public.assignment_begin(:'waiting', p_now => now() + interval '599 seconds') ->> 'outcome', 'circuit_open',
  'still deferred just before the bound');
select is(public.assignment_begin(:'waiting', p_now => now() + interval '600 seconds') ->> 'outcome', 'manual_review',
  'escalated at the bound (10 minutes)');
select alike((select manual_review_reason from public.bookings where id = :'waiting'),
  'circuit_open: this booking waited 10 min for tables while automatic assignment at this restaurant is paused by its circuit breaker%lease_expired%ops.reset_circuit_breaker() and ops.retry_bookings(''circuit_open'', ...)',
  'with a reason that says what to do, and claims no more than it knows: how long the booking waited');
select is((select context ->> 'reason' from public.observability_events where booking_id = :'waiting'
            and event_type = 'coordinator.manual_review'), 'circuit_open', 'and a coordinator.manual_review event');

-- Operators can close a breaker by hand, saying who and why.
select throws_ok(format('select ops.reset_circuit_breaker(%L, null, %L)', :'rid', 'fixed'), 'AS005', null, 'the actor is required');
select throws_ok(format('select ops.reset_circuit_breaker(%L, %L, %L)', :'rid', 'ana', ' '), 'AS005', null, 'so is the reason');
select throws_ok(format('select ops.reset_circuit_breaker(%L, %L, %L)', gen_random_uuid(), 'ana', 'fixed'), 'AS005', null,
  'an unknown restaurant is an error');
select is(ops.reset_circuit_breaker(:'rid', 'ana', 'database failover finished') ->> 'outcome', 'closed', 'the breaker is closed');
select is(((pg_temp.breaker(:'rid')).state, (pg_temp.breaker(:'rid')).consecutive_failures), ('closed'::text, 0), 'with its failures reset');
select is((select (actor, setting, reason) from ops.rollout_log where setting = 'circuit_breaker' limit 1),
  ('ana'::text, 'circuit_breaker'::text, 'database failover finished'::text), 'the reset is in the rollout log');
select is(ops.reset_circuit_breaker(:'rid', 'ana', 'again') ->> 'outcome', 'unchanged', 'resetting a closed breaker changes nothing');
select ok(not has_function_privilege('anon', 'ops.reset_circuit_breaker(uuid, text, text)', 'execute')
          and not has_function_privilege('authenticated', 'ops.reset_circuit_breaker(uuid, text, text)', 'execute')
          and has_function_privilege('service_role', 'ops.reset_circuit_breaker(uuid, text, text)', 'execute'),
  'only service_role (and postgres) may reset a breaker');

select * from finish();
rollback;
