begin isolation level repeatable read;
-- pg_cron's run history, which this test empties and prunes, locked before the snapshot is taken: pg_cron writing
-- a sweeper run's end after it would make those deletes a serialization failure.
lock table cron.job_run_details in exclusive mode;
select plan(47);

-- A clean slate inside this transaction (rolled back at the end), then traffic whose numbers are known:
-- five bookings confirmed (one after an error and a retry), one escalated (too large), one cancelled,
-- and at a second restaurant one more confirmed booking. The dashboards read every event: the transaction reads
-- one snapshot (repeatable read), or what other sessions commit meanwhile would count too (the suite's second
-- pass runs on a database the integration tests filled, with the coordinator and the sweeper at work).
delete from public.observability_events;
delete from public.shadow_comparisons;
delete from public.pipeline_settings_audit;
delete from public.bookings;
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_restaurant('Elsewhere') as other \gset
select tests.add_table(:'other', 'E1', 4) as e1 \gset
create function pg_temp.confirm(p_booking uuid, p_table uuid) returns jsonb language sql as $$
  select public.assignment_commit(p_booking, (public.assignment_begin(p_booking) ->> 'lease_token')::uuid,
                                  array[p_table], 'optimal_fit', 12);
$$;
create temp table made (k int, id uuid);
insert into made select k, tests.create_booking(:'rid', 2, '2030-01-07 11:00+00'::timestamptz + make_interval(hours => 2 * k))
  from generate_series(1, 5) k;
select pg_temp.confirm(id, :'t1') from made where k <= 4 order by k;
-- Booking 5: an error first (a retry), then confirmed.
select public.assignment_fail(id, (public.assignment_begin(id) ->> 'lease_token')::uuid, 'error', 'error: test', 5)
  from made where k = 5;
select pg_temp.confirm(id, :'t1') from made where k = 5;
select tests.create_booking(:'rid', 9, '2030-01-07 19:00+00') as big \gset
select public.assignment_begin(:'big');
select tests.create_booking(:'rid', 2, '2030-01-07 22:00+00') as gone \gset
select public.cancel_booking(:'gone', 'guest called');
select pg_temp.confirm(tests.create_booking(:'other', 2, '2030-01-07 12:00+00'), :'e1');
-- Known latencies: booking k was made k × 100 ms before its confirmation.
update public.bookings b set created_at = now() - make_interval(secs => m.k / 10.0) from made m where m.id = b.id;
-- Known waits: every measured wait is 1 ms, and one legacy attempt waited 250 ms for its lock and 50 for a slot.
update public.observability_events
   set context = context || jsonb_build_object('lock_wait_ms', 1) || case when context ? 'slot_wait_ms'
                                                                     then '{"slot_wait_ms": 1}'::jsonb else '{}' end
 where context ? 'lock_wait_ms';
insert into public.observability_events (source, event_type, context, restaurant_id)
values ('assignment.coordinator', 'coordinator.retry', '{"reason": "rate_limited", "delay_ms": 250}', :'rid'),
       ('auto_assign', 'auto_assign.retry_scheduled', '{"reason": "rate_limited", "delayMs": 300}', :'rid'),
       ('auto_assign', 'auto_assign.attempt.start', '{"lock_wait_ms": 250, "slot_wait_ms": 50}', :'rid'),
       ('auto_assign', 'auto_assign.succeeded', '{"durationMs": 40}', :'rid'),
       ('auto_assign', 'auto_assign.summary', '{"result": "succeeded"}', :'rid'),
       ('auto_assign', 'auto_assign.summary', '{"result": "exhausted"}', :'rid'),
       ('auto_assign', 'auto_assign.circuit_opened', '{}', :'rid');
insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
                                       primary_decision, candidate_decision, primary_tables, candidate_tables,
                                       primary_ms, candidate_ms)
select id, :'rid', 'v3', 'first_fit', 'optimal_fit', 'assign', d, array[:'t1']::uuid[],
       case when d = 'assign' then array[:'t1']::uuid[] else '{}' end, 1.0, ms
  from made join (values (1, 'assign', 1.5), (2, 'escalate', 3.0)) v(booking, d, ms) on made.k = v.booking;

-- The rollout plan's SQL runs unchanged against these tables, and each view gives the same answer.
select results_eq($$select * from ops.state_event_volume_24h order by 1$$,
  $$SELECT event_type, COUNT(*) as count FROM observability_events
    WHERE source = 'assignment.state_machine' AND created_at > NOW() - INTERVAL '24 hours' GROUP BY event_type order by 1$$,
  'event volume by type');
select results_eq($$select * from ops.legacy_vs_coordinator_24h$$,
  $$SELECT 'legacy' as source, COUNT(*) FILTER (WHERE context->>'result' = 'succeeded') as successes, COUNT(*) as total,
      ROUND(100.0 * COUNT(*) FILTER (WHERE context->>'result' = 'succeeded') / COUNT(*), 2) as success_rate
    FROM observability_events WHERE event_type = 'auto_assign.summary' AND created_at > NOW() - INTERVAL '24 hours'
    UNION ALL
    SELECT 'coordinator_shadow', COUNT(*) FILTER (WHERE context->>'to' = 'confirmed'), COUNT(DISTINCT booking_id),
      ROUND(100.0 * COUNT(*) FILTER (WHERE context->>'to' = 'confirmed') / COUNT(DISTINCT booking_id), 2)
    FROM observability_events WHERE source = 'assignment.state_machine' AND created_at > NOW() - INTERVAL '24 hours'$$,
  'legacy vs coordinator success rates');
select results_eq($$select * from ops.confirmation_rate_hourly_48h$$,
  $$SELECT DATE_TRUNC('hour', created_at) as hour, COUNT(*) FILTER (WHERE status = 'confirmed') as confirmed, COUNT(*) as total,
      ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'confirmed') / COUNT(*), 2) as confirmation_rate
    FROM bookings WHERE created_at > NOW() - INTERVAL '48 hours' GROUP BY 1 ORDER BY 1 DESC$$,
  'confirmation rate per hour');
select results_eq($$select * from ops.assignment_states_48h order by 1$$,
  $$SELECT assignment_state, COUNT(*) as count, ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 2) as percentage
    FROM bookings WHERE created_at > NOW() - INTERVAL '48 hours' GROUP BY assignment_state order by 1$$,
  'bookings by assignment state');
select results_eq($$select * from ops.state_transitions_hourly_24h$$,
  $$SELECT event_type, context->>'from' as from_state, context->>'to' as to_state, COUNT(*) as transition_count,
      DATE_TRUNC('hour', created_at) as hour
    FROM observability_events WHERE source = 'assignment.state_machine' AND created_at > NOW() - INTERVAL '24 hours'
    GROUP BY 1, 2, 3, 5 ORDER BY 5 DESC, 4 DESC$$,
  'state transitions per hour');
select results_eq($$select * from ops.manual_review_count_24h$$,
  $$SELECT COUNT(*) as manual_review_count FROM bookings
    WHERE assignment_state = 'manual_review' AND created_at > NOW() - INTERVAL '24 hours'$$,
  'manual review queue growth');
select results_eq($$select * from ops.success_error_ratio_6h$$,
  $$select event_type, count(*) as total, count(*) filter (where context->>'reason' is null) as successes,
      count(*) filter (where context->>'reason' is not null) as failures
    from observability_events where source in ('assignment.coordinator', 'assignment.state_machine')
      and created_at >= now() - interval '6 hours' group by 1 order by 1$$,
  'success/error ratio');
select results_eq($$select * from ops.retry_reasons_24h$$,
  $$select context->>'reason' as reason, avg((context->>'delay_ms')::numeric) as avg_delay_ms, count(*)
    from observability_events where source = 'assignment.coordinator' and event_type = 'coordinator.retry'
      and created_at >= now() - interval '24 hours' group by 1 order by count(*) desc$$,
  'retry reasons and delays');
select results_eq($$select * from ops.manual_review_rate_by_restaurant_24h$$,
  $$select restaurant_id, count(*) filter (where event_type = 'coordinator.manual_review') as manual_reviews,
      count(*) filter (where event_type = 'coordinator.confirmed') as confirmed,
      round(100 * count(*) filter (where event_type = 'coordinator.manual_review')::numeric /
        nullif(count(*) filter (where event_type = 'coordinator.confirmed'), 0), 2) as percent_manual
    from observability_events where source = 'assignment.coordinator' and created_at >= now() - interval '24 hours'
    group by 1 order by manual_reviews desc$$,
  'manual review rate per restaurant');
-- The plan's coordinator success query counts every event as a trial; it still runs unchanged.
select lives_ok($$SELECT DATE_TRUNC('hour', created_at) as hour,
      COUNT(*) FILTER (WHERE event_type LIKE '%success%') as successes,
      COUNT(*) FILTER (WHERE event_type LIKE '%error%' OR event_type LIKE '%failure%') as errors, COUNT(*) as total,
      ROUND(100.0 * COUNT(*) FILTER (WHERE event_type LIKE '%success%') / NULLIF(COUNT(*), 0), 2) as success_rate_pct
    FROM observability_events WHERE source LIKE 'assignment.%' AND created_at > NOW() - INTERVAL '24 hours'
    GROUP BY 1 ORDER BY 1 DESC$$, 'the coordinator success query runs unchanged');
-- The runbook's quick health check (inline), unchanged as the outer query's source: a confirmation names no
-- reason, an error always does.
select results_eq($$select event_type, success_pct from (
SELECT event_type, count(*), ROUND(100.0 * count(*) FILTER (WHERE context->>'reason' IS NULL) / NULLIF(count(*), 0), 2) AS success_pct
FROM observability_events
WHERE source = 'assignment.coordinator' AND created_at >= now() - INTERVAL '6 hours'
GROUP BY 1) q where event_type in ('coordinator.confirmed', 'coordinator.error') order by 1$$,
  $$values ('coordinator.confirmed', 100.00), ('coordinator.error', 0.00)$$,
  'the runbook''s quick health check runs unchanged: confirmations succeed, errors do not');
select columns_are('ops', 'coordinator_success_hourly_24h', array['hour', 'successes', 'errors', 'total', 'success_rate_pct'],
  'and its view keeps the same columns');
select is((select array[successes, errors] from ops.coordinator_success_hourly_24h), array[7, 1]::bigint[],
  'six V3 successes and the legacy one against the one error');

-- The views' numbers.
select is((select count from ops.state_event_volume_24h), 34::bigint,
  '34 transitions: five along each of six confirmed paths, two more for the retry, one to review, one to cancelled');
select is((select array[manual_reviews, confirmed] from ops.manual_review_rate_by_restaurant_24h where restaurant_id = :'rid'),
  array[1, 5]::bigint[], 'five V3 confirmations and one escalation at the first restaurant');
select is((select array[successes, total] from ops.legacy_vs_coordinator_24h where source = 'legacy'), array[1, 2]::bigint[],
  'one of two legacy summaries succeeded');

-- pipeline_metrics over the window, for the first restaurant. (Bookings made in this transaction are
-- stamped with its start, so the window reaches past it.)
create temp table m as
  select ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') as v;
select is((select v -> 'latency_ms' from m), '{"n": 5, "p50": 300.0, "p95": 480.0, "p99": 496.0}'::jsonb,
  'insert → confirmed latency: p50/p95/p99 of 100–500 ms');
select is((select (v ->> 'lock_wait_p95_ms')::numeric from m), 70.00,
  'lock/slot wait p95 over both paths: 17 waits of 1 ms (six starts × 2, five commits), then 50 and 250 ms → 70 ms');
select is((select array[v ->> 'bookings', v ->> 'confirmed', v ->> 'manual_review', v ->> 'cancelled'] from m),
  array['7', '5', '1', '1'], 'booking counts');
select is((select array[v ->> 'confirmation_rate_pct', v ->> 'manual_review_rate_pct', v ->> 'terminal_pct'] from m),
  array['83.33', '16.67', '100.00'], 'confirmation and manual review of the six not cancelled; all seven terminal');
select is((select array[v ->> 'attempts', v ->> 'success_rate_pct', v ->> 'error_rate_pct'] from m),
  array['6', '83.33', '16.67'], 'six attempts, one an error');
select is((select array[v ->> 'coordinator_errors', v ->> 'circuit_opens', v ->> 'rate_limited'] from m),
  array['1', '1', '2'], 'errors, breaker openings and rate limiting, counted on both paths');
select is((select v -> 'events' from m),
  '{"total": 56, "auto_assign": 6, "coordinator": 21, "state_transitions": 29, "bookings_with_transitions": 7}'::jsonb,
  'event volume by source (21 coordinator events: 6 starts, 5 confirmations and 5 successes, the error, its retry, '
  'the breaker closing again, the escalation and a rate-limited retry), and how many bookings have transitions');
select is((select v -> 'legacy_vs_coordinator' from m),
  '{"legacy": {"total": 2, "successes": 1, "success_rate": 50.00},
    "coordinator_shadow": {"total": 7, "successes": 5, "success_rate": 71.43}}'::jsonb,
  'the plan''s legacy vs coordinator comparison');
select is((select v -> 'shadow' -> 'v3' from m) - 'primary_avg_ms' - 'candidate_avg_ms',
  '{"comparisons": 2, "attempts_compared": 2, "same_tables_pct": 50.00, "candidate_errors": 0, "primary_assign_pct": 100.00,
    "candidate_assign_pct": 50.00, "primary_escalate_pct": 0.00, "candidate_escalate_pct": 50.00,
    "different_decision_pct": 50.00}'::jsonb,
  'shadow comparison rates');
select is((select array[v -> 'shadow' -> 'v3' ->> 'primary_avg_ms', v -> 'shadow' -> 'v3' ->> 'candidate_avg_ms'] from m),
  array['1.000', '2.250'], 'and average planning times');
select is((select array[v ->> 'stuck', v ->> 'duplicate_confirmations'] from m), array['0', '0'],
  'nothing stuck, no duplicate confirmations');
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second') ->> 'bookings')::int, 8,
  'without a restaurant, the window covers both');
select is((ops.pipeline_metrics(now() + interval '1 hour', now() + interval '2 hours', :'rid') -> 'latency_ms'),
  '{"n": 0, "p50": null, "p95": null, "p99": null}'::jsonb, 'an empty window has no latency, rather than zero');
select is((ops.pipeline_metrics(now() + interval '1 hour', now() + interval '2 hours', :'rid') -> 'confirmation_rate_pct'),
  'null'::jsonb, 'and no confirmation rate');

-- The shadow report, per restaurant and overall.
select results_eq($$select restaurant_id, experiment, comparisons, same_tables_pct, different_decision_pct, ms_diff_p50, ms_diff_p95
                      from ops.shadow_report(now() - interval '1 hour', now() + interval '1 second') order by restaurant_id nulls first$$,
  format($$values (null::uuid, 'v3', 2::bigint, 50.00, 50.00, 1.250, 1.925), (%L::uuid, 'v3', 2::bigint, 50.00, 50.00, 1.250, 1.925)$$, :'rid'),
  'shadow_report: match rates and the spread of candidate − primary durations');
select is((select count(*)::int from ops.stuck_bookings), 0, 'nothing is stuck');

-- Indexes: every foreign key of the events table is backed by an index that leads with it.
select is((select array_agg(a.attname::text order by a.attname)
             from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
            where c.conrelid = 'public.observability_events'::regclass and c.contype = 'f'
              and exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])),
  array['booking_id', 'restaurant_id'], 'events by booking and by restaurant are indexed');

-- Retention prunes events, shadow comparisons and the settings audit, each after its own number of days, and
-- the history of every cron job of this pipeline after a day, never another job's.
delete from cron.job_run_details;
select cron.schedule('someone-elses-job', '0 0 * * *', 'select 1');
-- The 5-second jobs exist only where pg_cron runs jobs every few seconds (1.5 and later); named here otherwise.
select cron.schedule(n, '0 0 * * *', 'select 1')
  from unnest(array['assignment-floor-plan-recheck', 'assignment-reseating-nudge']) n
 where not exists (select 1 from cron.job j where j.jobname = n);
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
select j.jobid, 'select 1', 'succeeded', now() - v.age, now() - v.age
  from cron.job j, (values (interval '2 days'), (interval '1 hour')) v(age)
 where j.jobname in ('assignment-sweeper', 'assignment-retention', 'assignment-floor-plan-recheck',
                     'assignment-reseating-nudge', 'someone-elses-job');
update public.observability_events set created_at = now() - interval '40 days' where event_type = 'auto_assign.summary';
update public.shadow_comparisons set created_at = now() - interval '100 days' where candidate_decision = 'escalate';
insert into public.pipeline_settings_audit (changed_at, actor, database_role, scope, setting, old_value, new_value)
values (now() - interval '400 days', 'ana', 'postgres', 'global', 'max_attempts', '5', '6'),
       (now() - interval '10 days', 'ana', 'postgres', 'global', 'max_attempts', '6', '5');
-- (The pipeline's pg_net request ids a day old are 94's.)
select is(private.prune_old_rows() - 'pipeline_requests',
  '{"observability_events": 2, "shadow_comparisons": 1, "pipeline_settings_audit": 1, "cron_job_runs": 4}'::jsonb,
  'rows older than 30, 90 and 365 days are pruned, and the pipeline''s cron job runs older than a day');
select is((select array_agg(j.jobname || ' ' || (d.start_time < now() - interval '1 day') order by j.jobname, d.start_time)
             from cron.job_run_details d join cron.job j on j.jobid = d.jobid
            where j.jobname in ('assignment-sweeper', 'assignment-retention', 'assignment-floor-plan-recheck',
                                'assignment-reseating-nudge', 'someone-elses-job') and d.command = 'select 1'),
  array['assignment-floor-plan-recheck false', 'assignment-reseating-nudge false', 'assignment-retention false',
        'assignment-sweeper false', 'someone-elses-job true', 'someone-elses-job false'],
  'the pipeline''s recent runs and every run of another job stay');
select ok(exists (select 1 from public.observability_events where event_type = 'coordinator.confirmed'), 'recent events stay');
select is((select count(*)::int from public.shadow_comparisons), 1, 'the recent comparison stays');
select is((select count(*)::int from public.pipeline_settings_audit where changed_at > now() - interval '11 days'), 1,
  'the recent audit row stays');
select is((select context - 'pipeline_requests' from public.observability_events where event_type = 'retention.pruned'),
  '{"observability_events": 2, "shadow_comparisons": 1, "pipeline_settings_audit": 1, "cron_job_runs": 4}'::jsonb,
  'pruning leaves an event saying what it removed');
select ops.set_retention('shadow_comparisons', 7, 'ana', 'test');
-- (The rollout log keeps at least 90 days: 20261224000000.)
insert into public.pipeline_settings_audit (changed_at, actor, database_role, scope, setting, old_value, new_value)
values (now() - interval '100 days', 'ana', 'postgres', 'global', 'max_attempts', '4', '5');
select ops.set_retention('pipeline_settings_audit', 90, 'ana', 'test');
update public.shadow_comparisons set created_at = now() - interval '8 days';
select is(private.prune_old_rows() - 'observability_events' - 'pipeline_requests',
  '{"shadow_comparisons": 1, "pipeline_settings_audit": 1, "cron_job_runs": 0}'::jsonb, 'a shorter retention prunes sooner');
select is((select count(*)::int from public.pipeline_settings_audit where setting = 'shadow_retention_days'), 1,
  'the audit of the retention change itself is kept');
select is((select count(*)::int from cron.job where jobname = 'assignment-retention' and schedule = '17 3 * * *'), 1,
  'retention runs nightly');

-- The gates measure what the plan means (20261210050000): success is an attempt that seated its booking (a
-- lost race is not one), the event volume counts only the window's bookings, the plan's own confirmation
-- rate is reported, and the plan's failure events carry a reason.
select tests.create_restaurant('Gates') as gid \gset
select tests.add_table(:'gid', 'G1', 2) as g1 \gset
select tests.create_booking(:'gid', 2, '2030-01-09 19:00+00') as g \gset
select public.assignment_fail(:'g', (public.assignment_begin(:'g') ->> 'lease_token')::uuid, 'conflict',
                              'conflict: lost the race', 5) is not null as lost \gset
select pg_temp.confirm(:'g', :'g1') is not null as confirmed \gset
select ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'gid') as gm \gset
select is(array[:'gm'::jsonb ->> 'attempts', :'gm'::jsonb ->> 'success_rate_pct', :'gm'::jsonb ->> 'error_rate_pct'],
  array['2', '50.00', '0.00'], 'a lost race, then a success: half the attempts seated the booking, none failed');
select is(:'gm'::jsonb ->> 'confirmation_rate_plan_pct', '100.00', 'the plan''s confirmation rate is reported too');
select private.record_event('assignment.state_machine', 'booking.assignment_state_transition', 'info', '{"to": "cancelled"}',
                            :'gid', :'g', now() + interval '1 hour');
select is((ops.pipeline_metrics(now() + interval '30 minutes', now() + interval '2 hours', :'gid') -> 'events'
           ->> 'bookings_with_transitions')::int, 0,
  'a transition of a booking made before the window does not count toward the window''s bookings');
select is((select context ->> 'reason' from public.observability_events
            where event_type = 'coordinator.error' and restaurant_id = :'rid'), 'error',
  'coordinator.error carries its kind as the reason the plan''s success/error query looks for');
select is((select count(*)::int from public.observability_events
            where source = 'assignment.coordinator' and event_type = 'coordinator.error' and restaurant_id = :'rid'
              and context ->> 'reason' is null), 0, 'so the plan''s query counts it as a failure');

select * from finish();
rollback;
