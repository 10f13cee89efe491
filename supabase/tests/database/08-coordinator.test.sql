begin;
select plan(53);

-- A restaurant open 11:00–23:00 UTC with a 2-top, two adjacent movable 4-tops, a fixed 6, a lone 4-top
-- and a terrace 4.
select tests.create_restaurant() as rid \gset
insert into public.zones (restaurant_id, name) values (:'rid', 'Terrace');
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
select tests.add_table(:'rid', 'T4', 6) as t4 \gset
select tests.add_table(:'rid', 'T5', 4) as t5 \gset
select tests.add_table(:'rid', 'P1', 4, 'Terrace') as p1 \gset
update public.restaurant_tables set movable = false where id = :'t4';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t2', :'t3'), (:'rid', :'t3', :'t4');

-- Capacity verification really checks.
select tests.create_booking(:'rid', 2, '2030-01-07 09:00+00') as early \gset
select is(public.assignment_begin(:'early') ->> 'outcome', 'manual_review', 'a booking before opening is not assigned');
select alike((select manual_review_reason from public.bookings where id = :'early'), 'outside_service_hours: 09:00–10:30%',
  'and the reason says when it is');
select tests.create_booking(:'rid', 9, '2030-01-07 19:00+00') as huge \gset
select public.assignment_begin(:'huge');
select is((select manual_review_reason from public.bookings where id = :'huge'),
  'party_too_large: a party of 9 exceeds the largest possible arrangement (8 seats)', 'a party no arrangement fits is escalated');

-- Begin hands out a lease and a snapshot.
select tests.create_booking(:'rid', 7, '2030-01-07 19:00+00') as b \gset
select public.assignment_begin(:'b') as began \gset
select is((:'began'::jsonb) ->> 'outcome', 'ready', 'a seatable booking is ready to plan');
select is((select assignment_state from public.bookings where id = :'b'), 'assignment_in_progress', 'and is in progress');
select is(jsonb_array_length((:'began'::jsonb) -> 'snapshot' -> 'tables'), 6, 'the snapshot lists every usable table');

-- Every rule is checked again at commit, whatever the engine proposed.
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t2', :'t5', 'test'),
  '%not_adjacent%', 'tables that do not touch cannot be combined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t3', :'t4', 'test'),
  '%table_not_movable%', 'a fixed table is never joined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t3', :'p1', 'test'),
  '%zones_differ%', 'tables in different zones are never combined');
select throws_like(format('select public.assignment_commit(%L, %L, array[%L]::uuid[], %L)', :'b', (:'began'::jsonb) ->> 'lease_token', :'t4', 'test'),
  '%party_size_out_of_range%', 'a single table must fit the party');
select is(public.assignment_commit(:'b', gen_random_uuid(), array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome', 'lease_lost',
  'a commit without the current lease changes nothing');

-- A table taken meanwhile is a conflict to re-plan, not an error.
select tests.create_booking(:'rid', 4, '2030-01-07 19:30+00') as other \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during)
values (:'other', :'rid', :'t3', tstzrange('2030-01-07 19:30+00', '2030-01-07 21:00+00'));
select is(public.assignment_commit(:'b', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome',
  'conflict', 'a lost race is reported as a conflict');
delete from public.booking_table_assignments where booking_id = :'other';
select is(public.assignment_commit(:'b', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'t2', :'t3']::uuid[], 'test') ->> 'outcome',
  'confirmed', 'a valid free combination is confirmed');
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'with one confirmation queued');
select private.tell_guest(b) from public.bookings b where id = :'b';
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'queuing it again changes nothing');

-- The in-progress limit holds for every writer, not only assignment_begin.
select tests.create_restaurant('Busy') as busy \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x1 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x2 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x3 \gset
select tests.create_booking(:'busy', 2, '2030-01-07 19:00+00') as x4 \gset
select tests.force_state(x, 'assignment_in_progress') from unnest(array[:'x1', :'x2', :'x3']::uuid[]) x;
select throws_ok(format('select tests.force_state(%L, %L)', :'x4', 'assignment_in_progress'), 'AS006', null,
  'a fourth booking cannot be in progress at once, even written directly');

-- The sweeper escalates a booking the coordinator never picks up.
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as lost \gset
update public.bookings set dispatch_count = 12, next_attempt_at = now() - interval '1 second' where id = :'lost';
select is(private.sweep(now()) ->> 'escalated', '1', 'the sweeper escalates after max_dispatches');
select alike((select manual_review_reason from public.bookings where id = :'lost'), 'coordinator_unreachable:%',
  'with a reason naming the problem');

-- The largest arrangement is a real one: a connected group of at most max_tables (3) joinable tables.
-- In a chain 6 – 2 – 2 – 6 the three largest joinable tables seat 14, but no connected three seat more than 10.
select tests.create_restaurant('Chain') as chain \gset
select tests.add_table(:'chain', 'A', 6) as ca \gset
select tests.add_table(:'chain', 'B', 2) as cb \gset
select tests.add_table(:'chain', 'C', 2) as cc \gset
select tests.add_table(:'chain', 'D', 6) as cd \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
values (:'chain', :'ca', :'cb'), (:'chain', :'cb', :'cc'), (:'chain', :'cc', :'cd');
select is(private.largest_combination(:'chain', 3), 10, 'the largest connected group of three seats 10');
select is(private.largest_combination(:'chain', 2), 8, 'of two, 8');
select is(private.largest_combination(:'chain', 4), 16, 'of four, all of them');
select tests.create_booking(:'chain', 12, '2030-01-07 19:00+00') as twelve \gset
select is(public.assignment_begin(:'twelve') ->> 'outcome', 'manual_review', 'a party of 12 cannot be seated at verification');
select is((select manual_review_reason from public.bookings where id = :'twelve'),
  'party_too_large: a party of 12 exceeds the largest possible arrangement (10 seats)',
  'and the reason gives the real largest arrangement');
select tests.create_booking(:'chain', 10, '2030-01-07 19:00+00') as ten \gset
select is(public.assignment_begin(:'ten') ->> 'outcome', 'ready', 'a party of 10 fits three connected tables');
-- Tables in another zone never join the group, even when adjacent.
insert into public.zones (restaurant_id, name) values (:'chain', 'Bar');
select tests.add_table(:'chain', 'E', 4, 'Bar') as ce \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'chain', :'cd', :'ce');
select is(private.largest_combination(:'chain', 3), 10, 'an adjacent table in another zone adds nothing');

-- Capacity is verified on every begin, not only the first: a booking sent back by ops is checked again.
select ops.retry_booking(:'twelve', 'ana');
select is(public.assignment_begin(:'twelve') ->> 'outcome', 'manual_review', 'a retried booking that still cannot fit is escalated again');
select is((select count(*)::int from public.booking_assignment_state_history where booking_id = :'twelve' and to_state = 'assignment_in_progress'),
  0, 'without ever being planned');

-- A confirmed booking moved outside service hours is not seated again there.
select tests.create_booking(:'rid', 2, '2030-01-07 20:00+00') as moved \gset
select public.assignment_begin(:'moved') as moved_began \gset
select is(public.assignment_commit(:'moved', ((:'moved_began'::jsonb) ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test') ->> 'outcome',
  'confirmed', 'the booking is confirmed at 20:00');
update public.bookings set start_at = '2030-01-08 03:00+00' where id = :'moved';
select is((select assignment_state from public.bookings where id = :'moved'), 'assignment_pending', 'moving it to 03:00 re-queues it');
select is(public.assignment_begin(:'moved') ->> 'outcome', 'manual_review', 'and the next attempt verifies it again');
select alike((select manual_review_reason from public.bookings where id = :'moved'), 'outside_service_hours: 03:00–04:30 local time on Tuesday%',
  'with a reason that says when it is');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'moved' and released_at is null), 0,
  'holding no tables');

-- A plan for a booking that moved outside service hours during its attempt is refused at commit.
select tests.create_booking(:'rid', 2, '2030-01-09 20:00+00') as drifting \gset
select public.assignment_begin(:'drifting') as drifting_began \gset
update public.bookings set start_at = '2030-01-10 03:00+00', end_at = '2030-01-10 04:00+00' where id = :'drifting';
-- The rule changed under the plan (the booking moved after its snapshot was taken): a re-plan, not an error.
select public.assignment_commit(:'drifting', ((:'drifting_began'::jsonb) ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'test')
  as drifting_commit \gset
select is(:'drifting_commit'::jsonb ->> 'outcome', 'conflict', 'commit refuses tables outside service hours');
select alike(:'drifting_commit'::jsonb ->> 'reason', 'rule_changed: %outside_service_hours: 03:00–04:00%',
  'as a conflict whose reason names the rule that changed under the plan');

-- The coordinator's events carry what the rollout plan's dashboards read.
select is((select context ->> 'mode' from public.observability_events where booking_id = :'b' and event_type = 'coordinator.start'),
  'v3', 'coordinator.start records the mode');
select ok((select (context ->> 'lock_wait_ms')::numeric >= 0 and (context ->> 'slot_wait_ms')::numeric >= 0
             from public.observability_events where booking_id = :'b' and event_type = 'coordinator.start'),
  'and the lock and slot waits in ms');
select ok((:'began'::jsonb) ?& array['lock_wait_ms', 'slot_wait_ms'], 'begin returns both waits too');
select is((select context - 'lock_wait_ms' - 'table_count' - 'moved_bookings'
             from public.observability_events where booking_id = :'b' and event_type = 'coordinator.confirmed'),
  '{"strategy": "test", "attempts": 1, "duration_ms": null}'::jsonb, 'coordinator.confirmed records strategy, attempts and duration_ms');
select tests.create_booking(:'rid', 2, '2030-01-11 19:00+00') as timed \gset
select public.assignment_begin(:'timed') as timed_began \gset
select public.assignment_commit(:'timed', ((:'timed_began'::jsonb) ->> 'lease_token')::uuid, array[:'t1']::uuid[], 'optimal_fit', 42);
select is((select (context ->> 'duration_ms')::int from public.observability_events where booking_id = :'timed' and event_type = 'coordinator.confirmed'),
  42, 'with the duration the coordinator measured');
select tests.create_booking(:'rid', 2, '2030-01-12 19:00+00') as twice \gset
select public.assignment_begin(:'twice') as twice_began \gset
select is(public.assignment_begin(:'twice') ->> 'outcome', 'busy', 'a second begin while the lease runs is turned away');
select is((select context ->> 'lock' from public.observability_events where booking_id = :'twice' and event_type = 'coordinator.lock_contention'),
  'lease', 'as coordinator.lock_contention on the lease');
select public.assignment_fail(:'twice', ((:'twice_began'::jsonb) ->> 'lease_token')::uuid, 'error', 'error: planner crashed for ada@example.com');
select is((select context from public.observability_events where booking_id = :'twice' and event_type = 'coordinator.error'),
  '{"mode": "v3", "message": "error: planner crashed for [email]", "attempts": 1, "kind": "error", "reason": "error", "counts_toward_breaker": true}'::jsonb,
  'an error is recorded as coordinator.error with the path''s mode, scrubbed, its kind as the reason');

-- The calling function's max_parallel can lower the database's limit, never raise it.
select tests.create_restaurant('Capped') as capped \gset
select tests.add_table(:'capped', 'K1', 4);
select tests.create_booking(:'capped', 2, '2030-01-07 19:00+00') as k1 \gset
select tests.create_booking(:'capped', 2, '2030-01-07 19:00+00') as k2 \gset
select tests.create_booking(:'capped', 2, '2030-01-07 19:00+00') as k3 \gset
select is(public.assignment_begin(:'k1', p_max_parallel => 1) ->> 'outcome', 'ready', 'the first booking runs');
select is(public.assignment_begin(:'k2', p_max_parallel => 1) ->> 'outcome', 'rate_limited',
  'a function limited to 1 defers the second (the database allows 3)');
select is(public.assignment_begin(:'k2') ->> 'outcome', 'ready', 'a function without that limit runs it');
select ops.set_max_parallel(2, 'ana', :'capped');
select is(public.assignment_begin(:'k3', p_max_parallel => 10) ->> 'outcome', 'rate_limited',
  'a function asking for 10 still gets the database''s 2');

-- Waiting is bounded: a booking rate limited for longer than max_deferral_seconds goes to an operator.
select ok((select deferred_since = now() from public.bookings where id = :'k3'), 'the deferral start is recorded');
select is(public.assignment_begin(:'k3', p_now => now() + interval '9 minutes') ->> 'outcome', 'rate_limited',
  'nine minutes later it is still deferred');
select is(public.assignment_begin(:'k3', p_now => now() + interval '10 minutes') ->> 'outcome', 'manual_review',
  'after ten minutes it is escalated');
select alike((select manual_review_reason from public.bookings where id = :'k3'),
  format('rate_limited: waited 10 min in the restaurant''s queue for one of its 2 assignment slots; 2 in progress and 0 waiting ahead of it now; bookings that stay in progress are stuck: release them (ops.release_stuck(10, ''<you>'', %L))%%ops.set_max_parallel()%%ops.retry_bookings(''rate_limited'', ''<you>'', <since>, %L)',
         :'capped', :'capped'),
  'with a reason that says what to do, for this restaurant');
select is((select deferred_since from public.bookings where id = :'k3'), null, 'and the stretch of waiting is over');
-- Waiting for a slot, even past the limit, says nothing about the restaurant's health: its breaker never hears
-- of it (the first implementation counted rate-limit rejections as failures and tripped its breaker).
select is((select coalesce(max(consecutive_failures), 0) from private.circuit_breakers where restaurant_id = :'capped'), 0,
  'deferrals and the escalation of a wait leave the breaker at no failures');

-- No personal data: a reason with an e-mail address is scrubbed before it is stored.
select is(private.scrub_personal_data('failed for ada@example.com at +44 20 7946 0000'), 'failed for [email] at [number]',
  'free text is scrubbed of e-mail addresses and phone numbers');

select * from finish();
rollback;
