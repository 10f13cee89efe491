-- The rollout gates of a partial phase judge the V3 restaurants (20261227140000): ops.pipeline_metrics with
-- p_mode counts the bookings decided in that mode, the events about them, and the events about no booking of
-- their restaurants; called as the verification script's service_role calls it.
begin;
select plan(9);

-- Both restaurants run V3 now, whatever earlier tests left: no deployment's flags heard, the fresh install's
-- rollout (the legacy restaurant's bookings were decided before it changed).
select tests.run_v3();
select tests.create_restaurant('On V3') as v3r \gset
select tests.create_restaurant('On legacy') as legr \gset
select tests.add_table(:'v3r', 'T1', 4);
select tests.add_table(:'legr', 'T1', 4);
-- V3 sent one of its two to review; legacy confirmed its three.
select tests.create_booking(:'v3r', 2, '2030-05-03 19:00+00') as v1 \gset
select tests.create_booking(:'v3r', 2, '2030-05-03 20:00+00') as v2 \gset
select tests.create_booking(:'legr', 2, '2030-05-03 19:00+00') as l1 \gset
select tests.create_booking(:'legr', 2, '2030-05-03 20:00+00') as l2 \gset
select tests.create_booking(:'legr', 2, '2030-05-03 21:00+00') as l3 \gset
select tests.force_state(:'v1', 'confirmed');
select tests.force_state(:'v2', 'manual_review', 'no_table_fits: no table or combination of tables seats the party');
select tests.force_state(id, 'confirmed') from public.bookings where id in (:'l1', :'l2', :'l3');
update public.bookings set assignment_mode = 'v3' where id in (:'v1', :'v2');
update public.bookings set assignment_mode = 'legacy' where id in (:'l1', :'l2', :'l3');
-- A breaker opening at each restaurant (an event about no booking), and an error about a legacy booking.
select private.record_event('assignment.coordinator', 'coordinator.circuit_opened', 'error', '{}'::jsonb, :'v3r', null);
select private.record_event('auto_assign', 'auto_assign.circuit_opened', 'error', '{}'::jsonb, :'legr', null);
select private.record_event('auto_assign', 'auto_assign.attempt_error', 'error', '{}'::jsonb, :'legr', :'l1');

set local role service_role;
-- The window of this transaction alone (its rows are made at now(), those of other tests before it).
select ops.pipeline_metrics(now(), now() + interval '1 second') as fleet \gset
select ops.pipeline_metrics(now(), now() + interval '1 second', p_mode => 'v3') as v3 \gset

select is(array[(:'fleet'::jsonb ->> 'bookings')::int, (:'v3'::jsonb ->> 'bookings')::int], array[5, 2],
  'with p_mode, only the bookings decided in that mode count');
select is((:'v3'::jsonb ->> 'manual_review_rate_pct')::numeric, 50.00,
  'and their rates are their own: V3 sent half to review');
select is((:'fleet'::jsonb ->> 'manual_review_rate_pct')::numeric, 20.00, 'where the fleet reads a fifth');
select is((:'v3'::jsonb ->> 'circuit_opens')::int, 1,
  'an event about no booking counts for the mode of the restaurant''s bookings');
select is((:'v3'::jsonb ->> 'coordinator_errors')::int, 0, 'an event about another mode''s booking does not');
select is(:'v3'::jsonb ->> 'mode', 'v3', 'the answer says which bookings it measured');
select is((ops.pipeline_metrics(now(), now() + interval '1 second', :'legr', 'legacy')
           ->> 'coordinator_errors')::int, 1, 'one restaurant in one mode');
-- A booking no attempt reached (the sweeper escalated it) counts for the mode its restaurant runs now.
reset role;
select tests.create_booking(:'v3r', 2, '2030-05-03 21:00+00') as unreached \gset
select tests.force_state(:'unreached', 'manual_review', 'coordinator_unreachable: dispatched 12 times');
update public.bookings set assignment_mode = null where id = :'unreached';
set local role service_role;
select is((ops.pipeline_metrics(now(), now() + interval '1 second', p_mode => 'v3') ->> 'bookings')::int, 3,
  'a booking no attempt reached counts for the mode its restaurant runs now');
select throws_like($$ select ops.pipeline_metrics(now() - interval '1 hour', now(), null, 'V3') $$,
  'mode must be one of off, legacy, shadow, v3%', 'an unknown mode is refused, not read as no bookings');

select * from finish();
rollback;
