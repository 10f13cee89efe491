begin;
select plan(21);

-- A clean slate inside this transaction (rolled back at the end), then some traffic to look at: a confirmed
-- booking, a reviewed one, a retry, a legacy summary.
delete from public.observability_events;
delete from public.bookings;
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as ok_booking \gset
select (public.assignment_begin(:'ok_booking')) ->> 'lease_token' as lease \gset
select public.assignment_commit(:'ok_booking', :'lease', array[:'t1']::uuid[], 'optimal_fit', 12);
select tests.create_booking(:'rid', 9, '2030-01-07 19:00+00') as big \gset
select public.assignment_begin(:'big');
insert into public.observability_events (source, event_type, context, restaurant_id)
values ('assignment.coordinator', 'coordinator.retry', '{"reason": "rate_limited", "delay_ms": 250}', :'rid'),
       ('auto_assign', 'auto_assign.succeeded', '{"durationMs": 40}', :'rid'),
       ('auto_assign', 'auto_assign.summary', '{"result": "succeeded"}', :'rid');

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
select columns_are('ops', 'coordinator_success_hourly_24h', array['hour', 'successes', 'errors', 'total', 'success_rate_pct'],
  'and its view keeps the same columns');
select is((select successes from ops.coordinator_success_hourly_24h), 2::bigint,
  'counting the V3 success and the legacy success as successes');

-- Numbers behave.
select is((select count from ops.state_event_volume_24h), 6::bigint,
  'six transitions so far (five along the confirmed path, one to manual review)');
select is((select confirmed from ops.manual_review_rate_by_restaurant_24h where restaurant_id = :'rid'), 1::bigint,
  'one coordinator confirmation');
select is((select manual_reviews from ops.manual_review_rate_by_restaurant_24h where restaurant_id = :'rid'), 1::bigint,
  'one coordinator escalation');

-- (Bookings made in this transaction are stamped with its start, so the window must reach past it.)
select ok(ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second') -> 'latency_ms' ? 'p95',
  'pipeline_metrics reports latency');
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second') ->> 'confirmed')::int, 1,
  'and the confirmed count');
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second') ->> 'duplicate_confirmations')::int, 0,
  'and no duplicate confirmations');
select is((select count(*)::int from ops.stuck_bookings), 0, 'nothing is stuck');

-- Retention prunes old events only.
update public.observability_events set created_at = now() - interval '40 days' where event_type = 'auto_assign.summary';
select is(private.prune_events(), 1, 'events older than the retention are pruned');
select ok(exists (select 1 from public.observability_events where event_type = 'coordinator.confirmed'), 'recent ones stay');

select * from finish();
rollback;
