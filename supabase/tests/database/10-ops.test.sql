begin;
-- One snapshot for the whole file, so sweeper runs pg_cron records meanwhile cannot change what health sees.
set transaction isolation level repeatable read;
-- The file empties the tables below for a clean health report. On a database other tests filled, the pipeline
-- may still be writing them (a guest message retried, a sweep): an update committed after this snapshot to a
-- row the file deletes would end it in a serialization failure. LOCK takes no snapshot, so holding the tables
-- first, in the order the pipeline takes them, keeps writers out until the file rolls back.
lock table public.bookings, public.notification_outbox, net._http_response, private.circuit_breakers in exclusive mode;
select plan(60);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t2', :'t3');
select tests.create_booking(:'rid', 6, '2030-01-07 19:00+00') as b \gset
select tests.force_state(:'b', 'manual_review', 'no_table_fits: test');

select is((select free_tables_that_fit from ops.manual_review_queue(:'rid') where booking_id = :'b'),
  '[["T2", "T3"]]'::jsonb, 'the review queue suggests the free arrangement that seats the party');
-- The queue offers every combination the engine may use, three tables in a row included, and only groups
-- in which every table is needed.
select tests.create_restaurant('Long Table') as long_rid \gset
select tests.add_table(:'long_rid', 'A1', 4) as a1 \gset
select tests.add_table(:'long_rid', 'A2', 4) as a2 \gset
select tests.add_table(:'long_rid', 'A3', 4) as a3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'long_rid', :'a1', :'a2'), (:'long_rid', :'a2', :'a3');
select tests.create_booking(:'long_rid', 10, '2030-01-07 19:00+00') as long_b \gset
select tests.force_state(:'long_b', 'manual_review', 'no_table_fits: test');
select is((select free_tables_that_fit from ops.manual_review_queue(:'long_rid') where booking_id = :'long_b'),
  '[["A1", "A2", "A3"]]'::jsonb, 'the review queue suggests a three-table group when only that seats the party');

select throws_ok(format($$select ops.assign_tables(%L, array['T1','T2'], 'ana')$$, :'b'), 'AS007', null,
  'manual assignment obeys the same rules as the engine (tables must touch)');
select throws_ok(format($$select ops.assign_tables(%L, array['T9'], 'ana')$$, :'b'), 'AS005', 'no table T9 in this restaurant',
  'unknown tables are named');
select throws_ok(format($$select ops.assign_tables(%L, array['T2','T3'], '')$$, :'b'), 'AS005', null,
  'an actor is required');
select is(ops.assign_tables(:'b', array['T2', 'T3'], 'ana', 'regular guest') ->> 'outcome', 'confirmed',
  'a valid manual assignment confirms the booking');
select is((select assignment_state from public.bookings where id = :'b'), 'confirmed', 'the booking is confirmed');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'b' and released_at is null and source = 'ops'),
  2, 'two tables are held, marked as an ops assignment');
select is((select array_agg(actor order by version) from public.booking_assignment_state_history
            where booking_id = :'b' and actor <> 'tests.force_state'),
  array['ana', 'ana'], 'the history records the operator on each step');
select is(ops.assign_tables(:'b', array['T3', 'T2'], 'ana') ->> 'outcome', 'unchanged',
  'asking again for the same tables changes nothing');
select is((select count(*)::int from public.booking_assignment_state_history
            where booking_id = :'b' and actor <> 'tests.force_state'), 2,
  'not even the history');
select is((select count(*)::int from public.notification_outbox where booking_id = :'b'), 1, 'one confirmation is queued');

select tests.create_booking(:'rid', 2, '2030-01-07 19:30+00') as other \gset
select throws_ok(format($$select ops.assign_tables(%L, array['T2'], 'ana')$$, :'other'), 'AS009',
  'already taken for this booking''s time: T2', 'a table already taken is refused by name');
select is(ops.assign_tables(:'other', array['T1'], 'ana') ->> 'outcome', 'confirmed',
  'a pending booking can be assigned by hand too');

-- Retry and cancel.
select throws_ok(format($$select ops.retry_booking(%L, 'ana')$$, :'b'), 'AS001', null,
  'only bookings in manual review can be retried');
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as r \gset
select tests.force_state(:'r', 'manual_review', 'attempts_exhausted: test');
select is(ops.retry_booking(:'r', 'ana') ->> 'outcome', 'queued', 'a reviewed booking goes back to the pipeline');
select is((select array[assignment_state, attempt_count::text] from public.bookings where id = :'r'),
  array['assignment_pending', '0'], 'with a fresh attempt budget');
select is(ops.cancel_booking(:'b', 'guest called', 'ana') ->> 'to', 'cancelled', 'ops can cancel');
select is(ops.cancel_booking(:'b', 'guest called', 'ana') ->> 'outcome', 'unchanged', 'cancelling twice is harmless');

-- An operator cannot act on a booking the coordinator holds right now.
select tests.create_booking(:'rid', 2, '2030-01-08 12:00+00') as running \gset
select public.assignment_begin(:'running') ->> 'lease_token' as running_lease \gset
select throws_ok(format($$select ops.assign_tables(%L, array['T1'], 'ana')$$, :'running'), 'AS008',
  format('booking %s is being assigned right now; try again in a few seconds', :'running'),
  'a booking being assigned right now is refused with AS008');
select throws_ok(format($$select ops.cancel_booking(%L, 'guest called', 'ana')$$, :'running'), 'AS008', null,
  'cancelling it too');

-- Stuck bookings: one waiting, one running (its worker gone quiet), one left in "assigned".
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as stuck \gset
select tests.force_state(:'stuck', 'assignment_pending');
select tests.create_booking(:'rid', 2, '2030-01-08 15:00+00') as half \gset
select tests.force_state(:'half', 'assigned');
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
select b.id, b.restaurant_id, :'t2', private.blocked_window(b), 'auto', 'test' from public.bookings b where b.id = :'half';
alter table public.bookings disable trigger touch_updated_at;
update public.bookings set updated_at = now() - interval '1 hour' where id in (:'stuck', :'running', :'half');
-- The running one's worker went quiet an hour ago: its lease ran out long since.
update public.bookings set lease_expires_at = now() - interval '59 minutes' where id = :'running';
alter table public.bookings enable trigger touch_updated_at;
select set_eq(format($$select booking_id from ops.stuck_bookings where booking_id in (%L, %L, %L)$$, :'stuck', :'running', :'half'),
  array[:'stuck', :'running', :'half']::uuid[], 'all three show as stuck');
select is(ops.release_stuck(30, 'ana'),
  '{"escalated": 1, "redispatched": 1, "joined_queue": 0, "skipped_busy": 0, "released_leases": 1, "left": 0}'::jsonb,
  'release_stuck releases the running one, dispatches the waiting one and escalates the assigned one');
select is((select count(*)::int from ops.stuck_bookings where booking_id in (:'stuck', :'running', :'half')), 0,
  'none of them is stuck any more');
select is((select array[assignment_state, (lease_token is null)::text] from public.bookings where id = :'running'),
  array['assignment_pending', 'true'], 'the running one is back in the queue without its lease');
select is((select array[result, split_part(reason, ':', 1)] from public.booking_assignment_attempts where booking_id = :'running'),
  array['retry', 'released_by_ops'], 'its attempt is recorded as released by ops, not as an error');
select is((select actor from public.booking_assignment_state_history where booking_id = :'running' order by version desc limit 1),
  'ana', 'with the operator in its history');
select is((select count(*)::int from private.circuit_breakers where restaurant_id = :'rid' and consecutive_failures > 0), 0,
  'an operator''s release does not count toward the circuit breaker');
select is(public.assignment_commit(:'running', :'running_lease', array[:'t1']::uuid[], 'optimal_fit') ->> 'outcome', 'lease_lost',
  'a worker that wakes up with the old lease writes nothing');
select is((select array[assignment_state, split_part(manual_review_reason, ':', 1)] from public.bookings where id = :'half'),
  array['manual_review', 'stuck_before_confirmation'], 'the assigned one goes to an operator');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'half' and released_at is null), 0,
  'with its tables released');
select throws_ok($$select ops.release_stuck(0, 'ana')$$, 'AS005', 'p_older_than_minutes must be at least 1',
  'release_stuck needs a positive age');

-- Concurrency: the database setting is the limit; a function's FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL
-- (p_max_parallel) only lowers it for the bookings it handles.
select tests.create_restaurant('Busy') as busy \gset
select tests.add_table(:'busy', 'B1', 4);
create temp table busy_bookings as
  select g, tests.create_booking(:'busy', 2, '2030-01-09 11:00+00'::timestamptz + make_interval(mins => 20 * g)) as id
    from generate_series(1, 8) g;
select is(ops.set_max_parallel(5, 'ana') - 'function_cap_last_15_min' - 'effective_max_parallel',
  '{"restaurant_id": null, "max_parallel": 5, "global_max_parallel": 5, "restaurant_override": null}'::jsonb,
  'the global limit can be raised above 3');
select is((select array_agg(public.assignment_begin(id) ->> 'outcome' order by g) from busy_bookings where g <= 6),
  array['ready', 'ready', 'ready', 'ready', 'ready', 'rate_limited'], 'and five bookings of one restaurant then run at once');
select is(public.assignment_begin((select id from busy_bookings where g = 7), p_max_parallel => 7) ->> 'outcome', 'rate_limited',
  'a function cap above the database limit does not raise it');
select is(ops.set_max_parallel(7, 'ana', :'busy', 'big night') - 'function_cap_last_15_min' - 'effective_max_parallel',
  jsonb_build_object('restaurant_id', :'busy', 'max_parallel', 7, 'global_max_parallel', 5, 'restaurant_override', 7),
  'one restaurant can get its own limit');
select is(public.assignment_begin((select id from busy_bookings where g = 7), p_max_parallel => 2) ->> 'outcome', 'rate_limited',
  'a function with a cap of 2 defers a booking the database would let run');
select is(public.assignment_begin((select id from busy_bookings where g = 8)) ->> 'outcome', 'ready',
  'while one without a cap runs it');
select is((ops.set_max_parallel(7, 'ana', :'busy') ->> 'function_cap_last_15_min')::int, 2,
  'set_max_parallel reports the lowest cap functions used lately');
select is((ops.set_max_parallel(7, 'ana', :'busy') ->> 'effective_max_parallel')::int, 2,
  'and the effective limit it implies');
select is((ops.set_max_parallel(null, 'ana', :'busy') -> 'restaurant_override'), 'null'::jsonb,
  'null clears a restaurant''s own limit');
select throws_ok(format($$select ops.set_max_parallel(3, 'ana', %L)$$, gen_random_uuid()), 'AS005', null,
  'an unknown restaurant is refused');

-- Retention settings.
select is((ops.set_event_retention(7, 'ana', 'small disk') ->> 'event_retention_days')::int, 7, 'event retention can be changed');
select is((ops.set_retention('shadow_comparisons', 14, 'ana') ->> 'shadow_retention_days')::int, 14, 'so can the shadow comparisons''');
select is((ops.set_retention('pipeline_settings_audit', 800, 'ana') ->> 'audit_retention_days')::int, 800, 'and the settings audit''s');
select throws_ok($$select ops.set_event_retention(0, 'ana')$$, 'AS005', 'retention must be between 1 and 3650 days',
  'retention stays within 1–3650 days');
select throws_ok($$select ops.set_retention('bookings', 30, 'ana')$$, 'AS005', null, 'only the pruned tables have a retention');
select is((select array[event_retention_days, shadow_retention_days, audit_retention_days] from private.rollout_settings),
  array[7, 14, 800], 'refused changes left the retention alone');

-- Health: its keys, and ok / degraded / down.
select is((select array_agg(k order by k) from jsonb_object_keys(ops.health()) k),
  array['checked_at', 'dispatch', 'due_now', 'exact_solver_failed', 'floor_plan_recheck_pending', 'in_progress', 'in_progress_by_restaurant', 'lock_waits_last_15_min', 'manual_review', 'manual_review_last_hour', 'mode',
        'notifications', 'oldest_due_seconds', 'open_breakers', 'problems', 'queue_depth', 'retention', 'seated_stays_overlapping', 'status',
        'stays_under_way_breaking_rules', 'stuck', 'sweeper'],
  'health reports every part of the pipeline');
select is((select array_agg(k order by k) from jsonb_object_keys(ops.health() -> 'sweeper') k),
  array['active', 'alive', 'last_start', 'last_status', 'schedule', 'scheduled', 'seconds_since_last_start'],
  'and the sweeper''s liveness in detail');
-- A clean slate for the rest (rolled back at the end): nothing in progress, no breaker open, no refused
-- dispatch, no nudge of the pipeline's waiting in pg_net (the ids of this file's own, which would look old to
-- a health read ahead), no lock waited out by other files' tests, and a sweep that started as this
-- transaction did (so it is the latest run this file's snapshot can see).
delete from public.bookings;
delete from net._http_response;
delete from private.pipeline_requests;
delete from public.observability_events where event_type like '%.lock_contention';
delete from public.notification_outbox;
delete from private.circuit_breakers;
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
select jobid, command, 'succeeded', now(), now() from cron.job where jobname = 'assignment-sweeper';
select is(ops.health() -> 'problems', '[]'::jsonb, 'with the worker up, dispatch configured and a recent sweep, nothing is wrong');
select is(ops.health() ->> 'status', 'ok', 'the status is ok');
select is(ops.health() -> 'sweeper' ->> 'alive', 'true', 'and the sweeper is alive');
select is(ops.health(now() + interval '10 minutes') -> 'sweeper' ->> 'alive', 'false',
  'a sweeper that last started 10 minutes ago is not alive, however its last run ended');
-- (This file's floor-plan edits are marked for a re-check the sweeper cannot see yet: not this check's.)
delete from private.floor_plan_rechecks;
select is(ops.health(now() + interval '10 minutes') -> 'problems', '["sweeper has not started for 600 s"]'::jsonb,
  'and health says so');
select is(ops.health(now() + interval '10 minutes') ->> 'status', 'degraded', 'degraded');
update cron.job set active = false where jobname = 'assignment-sweeper';
select is(ops.health() -> 'problems', '["sweeper is not scheduled (cron job assignment-sweeper missing or inactive)"]'::jsonb,
  'a stopped sweeper job is reported, although its last run succeeded');
update cron.job set active = true where jobname = 'assignment-sweeper';
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
select jobid, command, 'failed', now() + interval '1 second', now() + interval '1 second' from cron.job where jobname = 'assignment-sweeper';
select is(ops.health(now() + interval '1 second') -> 'problems', '["sweeper''s last run failed (see cron.job_run_details)"]'::jsonb,
  'so is a failed run');
delete from vault.secrets where name = 'assignment_functions_url';
select is(ops.health() ->> 'status', 'down', 'without the dispatch URL in Vault the pipeline is down');
select ok(ops.health() -> 'problems' ? 'dispatch URL/secret missing from Vault', 'and health says what is missing');

select * from finish();
rollback;
