
-- Dashboards. Each view answers one query of the rollout plan with the same columns (the plan's own SQL
-- also runs unchanged against these tables), plus the alerts and latency figures its checklist asks for.
-- ops.pipeline_metrics(from, to) gathers everything for a verification report over any window.

create view ops.state_event_volume_24h with (security_invoker = true) as
  select event_type, count(*) as count
    from public.observability_events
   where source = 'assignment.state_machine' and created_at > now() - interval '24 hours'
   group by event_type;
comment on view ops.state_event_volume_24h is 'Event volume by type, last 24 h (rollout plan: "Event volume by type").';

create view ops.legacy_vs_coordinator_24h with (security_invoker = true) as
  select 'legacy' as source,
         count(*) filter (where context ->> 'result' = 'succeeded') as successes,
         count(*) as total,
         round(100.0 * count(*) filter (where context ->> 'result' = 'succeeded') / nullif(count(*), 0), 2) as success_rate
    from public.observability_events
   where event_type = 'auto_assign.summary' and created_at > now() - interval '24 hours'
  union all
  select 'coordinator_shadow',
         count(*) filter (where context ->> 'to' = 'confirmed'),
         count(distinct booking_id),
         round(100.0 * count(*) filter (where context ->> 'to' = 'confirmed') / nullif(count(distinct booking_id), 0), 2)
    from public.observability_events
   where source = 'assignment.state_machine' and created_at > now() - interval '24 hours';
comment on view ops.legacy_vs_coordinator_24h is 'Legacy vs coordinator success rates, last 24 h ("Compare success rates").';

create view ops.confirmation_rate_hourly_48h with (security_invoker = true) as
  select date_trunc('hour', created_at) as hour,
         count(*) filter (where status = 'confirmed') as confirmed,
         count(*) as total,
         round(100.0 * count(*) filter (where status = 'confirmed') / count(*), 2) as confirmation_rate
    from public.bookings
   where created_at > now() - interval '48 hours'
   group by 1 order by 1 desc;
comment on view ops.confirmation_rate_hourly_48h is 'Booking confirmation rate per hour, last 48 h ("Booking confirmation rate").';

create view ops.assignment_states_48h with (security_invoker = true) as
  select assignment_state, count(*) as count,
         round(100.0 * count(*) / sum(count(*)) over (), 2) as percentage
    from public.bookings
   where created_at > now() - interval '48 hours'
   group by assignment_state;
comment on view ops.assignment_states_48h is 'Bookings by assignment state, last 48 h ("Bookings by assignment state").';

create view ops.state_transitions_hourly_24h with (security_invoker = true) as
  select event_type, context ->> 'from' as from_state, context ->> 'to' as to_state, count(*) as transition_count,
         date_trunc('hour', created_at) as hour
    from public.observability_events
   where source = 'assignment.state_machine' and created_at > now() - interval '24 hours'
   group by 1, 2, 3, 5 order by 5 desc, 4 desc;
comment on view ops.state_transitions_hourly_24h is 'State transitions per hour, last 24 h.';

-- The plan's "coordinator success rate" counted every event as a trial; here a trial is one finished
-- attempt: a success (assignment.success / auto_assign.succeeded) or an error. Same columns.
create view ops.coordinator_success_hourly_24h with (security_invoker = true) as
  select date_trunc('hour', created_at) as hour,
         count(*) filter (where event_type like '%success%' or event_type = 'auto_assign.succeeded') as successes,
         count(*) filter (where event_type like '%error%' or event_type like '%failure%') as errors,
         count(*) as total,
         round(100.0 * count(*) filter (where event_type like '%success%' or event_type = 'auto_assign.succeeded')
               / nullif(count(*), 0), 2) as success_rate_pct
    from public.observability_events
   where (source like 'assignment.%' or source = 'auto_assign')
     and created_at > now() - interval '24 hours'
     and (event_type like '%success%' or event_type like '%succeeded' or event_type like '%error%' or event_type like '%failure%')
   group by 1 order by 1 desc;
comment on view ops.coordinator_success_hourly_24h is
  'Successful vs failed attempts per hour, last 24 h ("Coordinator Success Rate", counting attempts rather than all events).';

create view ops.manual_review_count_24h with (security_invoker = true) as
  select count(*) as manual_review_count
    from public.bookings
   where assignment_state = 'manual_review' and created_at > now() - interval '24 hours';
comment on view ops.manual_review_count_24h is 'Manual review queue growth, last 24 h.';

create view ops.success_error_ratio_6h with (security_invoker = true) as
  select event_type, count(*) as total,
         count(*) filter (where context ->> 'reason' is null) as successes,
         count(*) filter (where context ->> 'reason' is not null) as failures
    from public.observability_events
   where source in ('assignment.coordinator', 'assignment.state_machine') and created_at >= now() - interval '6 hours'
   group by 1 order by 1;
comment on view ops.success_error_ratio_6h is 'Success/error ratio by event type, last 6 h (runbook).';

create view ops.retry_reasons_24h with (security_invoker = true) as
  select context ->> 'reason' as reason, avg((context ->> 'delay_ms')::numeric) as avg_delay_ms, count(*) as count
    from public.observability_events
   where source = 'assignment.coordinator' and event_type = 'coordinator.retry' and created_at >= now() - interval '24 hours'
   group by 1 order by count(*) desc;
comment on view ops.retry_reasons_24h is 'Retry reasons and average delays, last 24 h (runbook).';

create view ops.manual_review_rate_by_restaurant_24h with (security_invoker = true) as
  select restaurant_id,
         count(*) filter (where event_type = 'coordinator.manual_review') as manual_reviews,
         count(*) filter (where event_type = 'coordinator.confirmed') as confirmed,
         round(100 * count(*) filter (where event_type = 'coordinator.manual_review')::numeric /
               nullif(count(*) filter (where event_type = 'coordinator.confirmed'), 0), 2) as percent_manual
    from public.observability_events
   where source = 'assignment.coordinator' and created_at >= now() - interval '24 hours'
   group by 1 order by manual_reviews desc;
comment on view ops.manual_review_rate_by_restaurant_24h is 'Manual review rate per restaurant, last 24 h (runbook).';

-- Alert: bookings that made no progress for 10 minutes while not in a terminal state. Should be empty.
create view ops.stuck_bookings with (security_invoker = true) as
  select id as booking_id, restaurant_id, assignment_state, attempt_count, dispatch_count, next_attempt_at, updated_at,
         round(extract(epoch from now() - updated_at) / 60, 1) as minutes_without_progress
    from public.bookings
   where private.is_unsettled(assignment_state)
     and updated_at < now() - interval '10 minutes'
   order by updated_at;
comment on view ops.stuck_bookings is 'ALERT when not empty: non-terminal bookings with no progress for 10 minutes.';

-- Everything the verification checklist measures, for any window and optionally one restaurant.
create function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours', p_to timestamptz default now(),
                                     p_restaurant_id uuid default null)
returns jsonb language sql stable security definer set search_path = '' as $$
  with b as (
    select * from public.bookings
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)),
  e as (
    select * from public.observability_events
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)),
  latency as (
    select extract(epoch from c.created_at - b.created_at) * 1000 as ms
      from b join public.booking_assignment_state_history c on c.booking_id = b.id and c.to_state = 'confirmed'
     where c.version = (select min(h.version) from public.booking_assignment_state_history h
                         where h.booking_id = b.id and h.to_state = 'confirmed')),
  -- Lock and slot waits, as begin (start) and commit (confirmation) measured them, on either path.
  waits as (
    select (e.context ->> k)::numeric as ms
      from e, pg_catalog.unnest(array['lock_wait_ms', 'slot_wait_ms']) k
     where e.context ? k
       and e.event_type in ('coordinator.start', 'coordinator.confirmed', 'auto_assign.attempt.start', 'auto_assign.succeeded')),
  attempts as (
    select a.result from public.booking_assignment_attempts a join b on b.id = a.booking_id),
  shadow as (
    select c.experiment, count(*) as comparisons,
           round(100.0 * count(*) filter (where c.primary_decision = 'assign') / count(*), 2) as primary_assign_pct,
           round(100.0 * count(*) filter (where c.candidate_decision = 'assign') / count(*), 2) as candidate_assign_pct,
           round(100.0 * count(*) filter (where c.primary_decision = 'escalate') / count(*), 2) as primary_escalate_pct,
           round(100.0 * count(*) filter (where c.candidate_decision = 'escalate') / count(*), 2) as candidate_escalate_pct,
           round(100.0 * count(*) filter (where c.match = 'same_tables') / count(*), 2) as same_tables_pct,
           round(100.0 * count(*) filter (where c.match = 'different_decision') / count(*), 2) as different_decision_pct,
           count(*) filter (where c.candidate_decision = 'error') as candidate_errors,
           round(avg(c.primary_ms), 3) as primary_avg_ms, round(avg(c.candidate_ms), 3) as candidate_avg_ms
      from public.shadow_comparisons c
     where c.created_at >= p_from and c.created_at < p_to and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
     group by c.experiment)
  select pg_catalog.jsonb_build_object(
    'from', p_from, 'to', p_to, 'restaurant_id', p_restaurant_id,
    'bookings', (select count(*) from b),
    'cancelled', (select count(*) from b where assignment_state = 'cancelled'),
    'confirmed', (select count(*) from b where status in ('confirmed', 'checked_in', 'completed')),
    'manual_review', (select count(*) from b where assignment_state = 'manual_review'),
    'confirmation_rate_pct', (select round(100.0 * count(*) filter (where status in ('confirmed', 'checked_in', 'completed'))
                                            / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    'manual_review_rate_pct', (select round(100.0 * count(*) filter (where assignment_state = 'manual_review')
                                             / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    'terminal_pct', (select round(100.0 * count(*) filter (where assignment_state in ('confirmed', 'manual_review', 'cancelled'))
                                   / nullif(count(*), 0), 2) from b),
    'attempts', (select count(*) from attempts),
    'success_rate_pct', (select round(100.0 * count(*) filter (where result <> 'error') / nullif(count(*), 0), 2) from attempts),
    'error_rate_pct', (select round(100.0 * count(*) filter (where result = 'error') / nullif(count(*), 0), 2) from attempts),
    'latency_ms', (select pg_catalog.jsonb_build_object(
        'p50', round(pg_catalog.percentile_cont(0.5) within group (order by ms)::numeric, 1),
        'p95', round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 1),
        'p99', round(pg_catalog.percentile_cont(0.99) within group (order by ms)::numeric, 1),
        'n', count(*)) from latency),
    'lock_wait_p95_ms', (select round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 2) from waits),
    'stuck', (select count(*) from ops.stuck_bookings s where p_restaurant_id is null or s.restaurant_id = p_restaurant_id),
    'duplicate_confirmations', (select count(*) from (
        select o.booking_id from public.notification_outbox o join b on b.id = o.booking_id
         where o.kind = 'booking_confirmed' group by o.booking_id having count(*) > 1) d),
    'notifications_sent', (select count(*) from public.notification_outbox o join b on b.id = o.booking_id
                            where o.status = 'sent'),
    -- Event volume: the plan checks state-transition events against the bookings made (±10 %).
    'events', (select pg_catalog.jsonb_build_object(
        'total', count(*),
        'state_transitions', count(*) filter (where source = 'assignment.state_machine'),
        'bookings_with_transitions', count(distinct booking_id) filter (where source = 'assignment.state_machine'),
        'coordinator', count(*) filter (where source = 'assignment.coordinator'),
        'auto_assign', count(*) filter (where source = 'auto_assign')) from e),
    -- The plan's "Compare success rates" query, with its divisions guarded (null when there is nothing to divide).
    'legacy_vs_coordinator', pg_catalog.jsonb_build_object(
      'legacy', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where context ->> 'result' = 'succeeded'), 'total', count(*),
          'success_rate', round(100.0 * count(*) filter (where context ->> 'result' = 'succeeded') / nullif(count(*), 0), 2))
          from e where event_type = 'auto_assign.summary'),
      'coordinator_shadow', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where context ->> 'to' = 'confirmed'), 'total', count(distinct booking_id),
          'success_rate', round(100.0 * count(*) filter (where context ->> 'to' = 'confirmed') / nullif(count(distinct booking_id), 0), 2))
          from e where source = 'assignment.state_machine')),
    'shadow', coalesce((select pg_catalog.jsonb_object_agg(experiment, pg_catalog.to_jsonb(shadow) - 'experiment') from shadow),
                       '{}'::jsonb),
    'circuit_opens', (select count(*) from e where event_type in ('coordinator.circuit_opened', 'auto_assign.circuit_opened')),
    'coordinator_errors', (select count(*) from e where event_type in ('coordinator.error', 'auto_assign.attempt_error')),
    'rate_limited', (select count(*) from e where event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                                           and context ->> 'reason' = 'rate_limited'),
    'states', (select pg_catalog.jsonb_object_agg(assignment_state, n) from (
        select assignment_state, count(*) as n from b group by 1) s),
    'modes', (select pg_catalog.jsonb_object_agg(coalesce(assignment_mode, 'none'), n) from (
        select assignment_mode, count(*) as n from b group by 1) m));
$$;
comment on function ops.pipeline_metrics(timestamptz, timestamptz, uuid) is
  'Every metric of the rollout verification checklist for bookings created (and events written) in [p_from, p_to), for all restaurants or one: confirmation, manual review and terminal shares, success and error rates, insert→confirmed latency, lock wait p95, stuck bookings, duplicate confirmations, event volume, legacy vs coordinator success, shadow comparison rates, circuit opens, coordinator errors. Rates are null when there is nothing to divide.';

-- Retention. Events are telemetry, shadow comparisons evidence for rollout decisions, the settings audit
-- the rollout log: each is kept for its own number of days (private.rollout_settings, ops.set_retention).
-- History, attempts and assignments are the bookings' audit trail and are never pruned here.
create function private.prune_old_rows(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.rollout_settings;
  events integer;
  comparisons integer;
  audit integer;
begin
  select * into s from private.rollout_settings;
  delete from public.observability_events where created_at < p_now - pg_catalog.make_interval(days => s.event_retention_days);
  get diagnostics events = row_count;
  delete from public.shadow_comparisons where created_at < p_now - pg_catalog.make_interval(days => s.shadow_retention_days);
  get diagnostics comparisons = row_count;
  delete from public.pipeline_settings_audit where changed_at < p_now - pg_catalog.make_interval(days => s.audit_retention_days);
  get diagnostics audit = row_count;
  if events + comparisons + audit > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                    'pipeline_settings_audit', audit), null, null);
  end if;
  return pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                       'pipeline_settings_audit', audit);
end $$;
select cron.schedule('assignment-retention', '17 3 * * *', 'select private.prune_old_rows()');

grant select on all tables in schema ops to service_role;
revoke all on function ops.pipeline_metrics(timestamptz, timestamptz, uuid) from public, anon, authenticated;
grant execute on function ops.pipeline_metrics(timestamptz, timestamptz, uuid) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
