-- Moves say who made them and why they failed, and a race neither closes nor opens a breaker (20261226000000).
begin;
select plan(20);

create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;
grant execute on all functions in schema pg_temp to service_role;

-- A 2-top and a 4-top; a couple the pipeline seated on the 4-top 19:00–20:45, and four guests in review at
-- 19:00 whom only a re-seating can place: at 19:15, once the couple moves to the 2-top.
select tests.create_restaurant('Moves') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
select jsonb_build_object('booking_id', :'couple'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                          'to_table_ids', jsonb_build_array(:'t1'::uuid)) as move \gset
set local role service_role;
select public.review_offer_reseating(:'four', :'key', jsonb_build_array(jsonb_build_object(
  'start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid), 'moves', jsonb_build_array(:'move'::jsonb))));
reset role;

-- The 2-top goes out of service after the offer was found: the offer is gone, not wrong.
update public.restaurant_tables set out_of_service = true where id = :'t1';
set local role service_role;
select throws_ok(format($$select ops.accept_alternative(%L, '2030-06-03 19:15+00', 'ana')$$, :'four'), 'AS009',
  'the re-seating this alternative needs is no longer possible: a proposed move breaks a rule: table_unavailable: T1 is inactive or out of service',
  'a stored move that breaks a rule since the room changed is no longer possible (AS009), not the offer''s fault (AS007)');
reset role;
select is(array[tests.tables_held(:'couple'), (select assignment_state from public.bookings where id = :'four')],
  array['T2', 'manual_review'], 'and nothing moved');

-- Back in service, the operator accepts: the couple's move is the operator's.
update public.restaurant_tables set out_of_service = false where id = :'t1';
set local role service_role;
select is(ops.accept_alternative(:'four', '2030-06-03 19:15+00', 'ana') ->> 'moved_bookings', '1', 'accepted, moving the couple');
reset role;
select is((select array_agg(e.source || ' ' || e.event_type || ' for ' || (e.context ->> 'for_booking'))
             from public.observability_events e where e.booking_id = :'couple' and e.event_type like '%booking_moved'),
  array['assignment.ops ops.booking_moved for ' || :'four'], 'the move is recorded as the operator''s: ops.booking_moved');
select is((select string_agg(distinct a.source || ' by ' || a.assigned_by, ', ') from public.booking_table_assignments a
            where a.booking_id = :'couple' and a.released_at is null), 'auto by ana',
  'its new hold names the operator from the start, and stays one the engine may move');

-- A commit whose moves no longer match the room re-plans, and says so.
select ops.set_reoptimization(true, 'ana', :'rid', 'test') ->> 'reoptimize' as reopt \gset
select tests.create_booking(:'rid', 4, '2030-06-04 19:00+00') as five \gset
select tests.confirmed_on(:'rid', 2, '2030-06-04 19:00+00', :'t2') as pair \gset
set local role service_role;
select public.assignment_begin(:'five') as lease \gset
select is(public.assignment_commit(:'five', tests.lease_token(:'lease'), array[:'t2']::uuid[], 'scarcity_fit',
            p_moves => jsonb_build_array(jsonb_build_object('booking_id', :'pair'::uuid,
                         'from_table_ids', jsonb_build_array(:'t1'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))
          ->> 'reason', 'a booking to move changed since the snapshot', 'a move from tables the booking no longer holds is a conflict');
reset role;
select is((select e.context - 'lock_wait_ms' from public.observability_events e
            where e.booking_id = :'five' and e.event_type = 'coordinator.commit_conflict'),
  jsonb_build_object('mode', 'v3', 'cause', 'moves_stale', 'reason', 'moves_stale', 'detail', 'a booking to move changed since the snapshot',
                     'attempt', 1, 'moved_bookings', 1),
  'recorded as coordinator.commit_conflict with cause moves_stale, as its other lost races are');
select is(tests.tables_held(:'pair'), 'T2', 'and nobody moved');

-- A malformed move is refused with AS005 before anything reads it, never with Postgres's own error.
create temp table bad_moves (why text, moves jsonb);
insert into bad_moves values
  ('not a list', '{"booking_id": 1}'),
  ('a number', '[1]'),
  ('a booking id that is not a uuid', jsonb_build_array(jsonb_set(:'move'::jsonb, '{booking_id}', '"x"'))),
  ('no booking id', jsonb_build_array(:'move'::jsonb - 'booking_id')),
  ('a null booking id', jsonb_build_array(jsonb_set(:'move'::jsonb, '{booking_id}', 'null'))),
  ('no tables to move to', jsonb_build_array(jsonb_set(:'move'::jsonb, '{to_table_ids}', '[]'))),
  ('tables that are not a list', jsonb_build_array(jsonb_set(:'move'::jsonb, '{from_table_ids}', to_jsonb(:'t2'::text)))),
  ('a table named twice', jsonb_build_array(jsonb_set(:'move'::jsonb, '{to_table_ids}', jsonb_build_array(:'t1'::uuid, :'t1'::uuid)))),
  ('a null table', jsonb_build_array(jsonb_set(:'move'::jsonb, '{to_table_ids}', '[null]'))),
  ('a table id that is not a uuid', jsonb_build_array(jsonb_set(:'move'::jsonb, '{from_table_ids}', '["T2"]')));
grant select on bad_moves to service_role;
set local role service_role;
select is((select string_agg(m.why || ': ' || coalesce(tests.sqlstate_of(format(
              'select public.assignment_commit(%L, %L, array[%L]::uuid[], %L, p_moves => %L)',
              :'five', tests.lease_token(:'lease'), :'t2', 'scarcity_fit', m.moves)), 'accepted'), ', ' order by m.why)
             from bad_moves m where tests.sqlstate_of(format(
              'select public.assignment_commit(%L, %L, array[%L]::uuid[], %L, p_moves => %L)',
              :'five', tests.lease_token(:'lease'), :'t2', 'scarcity_fit', m.moves)) is distinct from 'AS005'),
  null, 'every malformed move list is refused with AS005');
select is(public.assignment_commit(:'five', tests.lease_token(:'lease'), array[:'t2']::uuid[], 'scarcity_fit',
            p_moves => jsonb_build_array(jsonb_build_object('booking_id', :'pair'::uuid,
                         'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))
          ->> 'outcome', 'confirmed', 'a well-formed one still commits');
reset role;
-- A restaurant on legacy or shadow moves nobody, whatever a caller proposes.
select tests.create_booking(:'rid', 4, '2030-06-05 19:00+00') as six \gset
select tests.confirmed_on(:'rid', 2, '2030-06-05 19:00+00', :'t2') as other \gset
select ops.set_restaurant_mode(:'rid', 'shadow', 'ana', 'test') ->> 'mode' as mode \gset
set local role service_role;
select public.assignment_begin(:'six') as shadow_lease \gset
select throws_ok(format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'first_fit', p_moves => %L)$$,
  :'six', tests.lease_token(:'shadow_lease'), :'t2', jsonb_build_array(jsonb_build_object('booking_id', :'other'::uuid,
    'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid)))),
  'AS005', 'moves are made only for a booking on V3: legacy and shadow move nobody',
  'a shadow booking''s commit may not move another booking');
reset role;
select is(tests.tables_held(:'other'), 'T2', 'which keeps its table');
set local role service_role;
select is(public.assignment_commit(:'six', gen_random_uuid(), array[:'t2']::uuid[], 'scarcity_fit',
            p_moves => jsonb_build_array(jsonb_build_object('booking_id', :'other'::uuid,
              'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))
          ->> 'outcome', 'lease_lost', 'a commit with moves from a lease no longer held is told lease_lost, not refused');
reset role;
select is((select proconfig from pg_proc
            where oid = 'public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz)'::regprocedure),
  array['search_path=""', 'lock_timeout=5s'], 'the commit still waits at most 5 s for a lock');

-- The breaker: a probe whose attempt ends in a conflict neither closes nor re-opens it, and hands the probe on.
select tests.create_restaurant('Probe') as prid \gset
select tests.add_table(:'prid', 'P1', 4) as p1 \gset
select tests.create_booking(:'prid', 2, '2030-06-03 19:00+00') as probe \gset
select tests.create_booking(:'prid', 2, '2030-06-03 19:00+00') as next \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'prid', 'open', 5, now() - interval '1 minute');
set local role service_role;
select public.assignment_begin(:'probe') as probe_lease \gset
reset role;
select is(((pg_temp.breaker(:'prid')).state, (pg_temp.breaker(:'prid')).probe_booking_id), ('half_open'::text, :'probe'::uuid),
  'after the cool-down a booking probes');
set local role service_role;
select public.assignment_fail(:'probe', tests.lease_token(:'probe_lease'), 'conflict',
  'conflict: canceling statement due to lock timeout');
reset role;
select is(((pg_temp.breaker(:'prid')).state, (pg_temp.breaker(:'prid')).probe_booking_id,
           (pg_temp.breaker(:'prid')).consecutive_failures), ('half_open'::text, null::uuid, 5),
  'a probe that lost a race leaves the breaker half-open, its failures counted, and gives up the probe');
select is((select count(*)::int from public.observability_events where restaurant_id = :'prid'
            and event_type in ('coordinator.circuit_closed', 'coordinator.circuit_opened')), 0,
  'neither closed nor opened');
set local role service_role;
select is(public.assignment_begin(:'next') ->> 'outcome', 'ready', 'the next booking runs as the probe');
reset role;

-- Closed, with failures counted: a conflict neither adds one nor resets them.
update private.circuit_breakers set state = 'closed', consecutive_failures = 3, opened_at = null, probe_booking_id = null,
       probe_started_at = null where restaurant_id = :'prid';
set local role service_role;
select public.assignment_begin(:'probe') as again \gset
select public.assignment_fail(:'probe', tests.lease_token(:'again'), 'conflict', 'conflict: deadlock detected');
reset role;
select is(((pg_temp.breaker(:'prid')).state, (pg_temp.breaker(:'prid')).consecutive_failures), ('closed'::text, 3),
  'a conflict while closed leaves the count as it was');

-- The trip itself counts as a failure in the rollout plan's success/error query (an event with a reason).
update private.circuit_breakers set consecutive_failures = 4 where restaurant_id = :'prid';
set local role service_role;
select public.assignment_begin(:'probe') as third \gset
select public.assignment_fail(:'probe', tests.lease_token(:'third'), 'error', 'error: connection reset');
reset role;
select is((select context ->> 'reason' from public.observability_events where restaurant_id = :'prid'
            and event_type = 'coordinator.circuit_opened'), 'circuit_opened',
  'coordinator.circuit_opened carries a reason, so the plan''s query counts the trip as a failure');

select * from finish();
rollback;
