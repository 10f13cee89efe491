-- The rollout gates measure what the plan means. A review of the planning documents' queries and gates found:
--   * "success" was every attempt that was not an error, so the success gate (≥ 97 %) could never fail
--     while the error gate (< 1 %) passed: retries, lost races and escalations counted as successes. It is
--     now the share of attempts that seated their booking;
--   * the event-volume gate (state-transition events cover the bookings made, ±10 %) counted every booking
--     with a transition in the window, so cancelling or moving older bookings pushed it past 110 %. Only
--     bookings made in the window count now;
--   * the confirmation rate leaves cancelled bookings out and counts seated and finished ones as confirmed;
--     the plan's query divides status 'confirmed' by every booking. Both are reported
--     (confirmation_rate_plan_pct beside confirmation_rate_pct); the gate keeps the first, which does not
--     fall when guests cancel or arrive;
--   * the plan's success/error query counts an event as a failure when its context has a reason; the
--     coordinator's error, lost-race (commit_conflict), lock-contention and circuit-open events had none,
--     so every error read as a success. They now carry one: the error's kind, the conflict's cause, or
--     the event's own name.

-- Body as in 20261201101900, with the success rate, the event volume and the plan's confirmation rate above.
create or replace function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours', p_to timestamptz default now(),
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
    -- The plan's own query: status 'confirmed' over every booking made, cancelled, seated and finished ones included.
    'confirmation_rate_plan_pct', (select round(100.0 * count(*) filter (where status = 'confirmed') / nullif(count(*), 0), 2)
                                     from b),
    'manual_review_rate_pct', (select round(100.0 * count(*) filter (where assignment_state = 'manual_review')
                                             / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    'terminal_pct', (select round(100.0 * count(*) filter (where assignment_state in ('confirmed', 'manual_review', 'cancelled'))
                                   / nullif(count(*), 0), 2) from b),
    'attempts', (select count(*) from attempts),
    'success_rate_pct', (select round(100.0 * count(*) filter (where result = 'success') / nullif(count(*), 0), 2) from attempts),
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
        'bookings_with_transitions', count(distinct booking_id) filter (where source = 'assignment.state_machine'
                                                                          and booking_id in (select id from b)),
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

-- Body as in 20261204010000, with a reason on the coordinator's failure events.
create or replace function private.record_event(p_source text, p_event_type text, p_severity text, p_context jsonb,
                                                p_restaurant_id uuid, p_booking_id uuid, p_at timestamptz default null)
returns void language plpgsql set search_path = '' as $$
declare
  context jsonb := coalesce(p_context, '{}'::jsonb);
begin
  if p_event_type in ('coordinator.error', 'coordinator.commit_conflict', 'coordinator.lock_contention',
                      'coordinator.circuit_open') and not context ? 'reason' then
    context := context || pg_catalog.jsonb_build_object('reason',
      coalesce(context ->> 'kind', context ->> 'cause', pg_catalog.split_part(p_event_type, '.', 2)));
  end if;
  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
    values (p_source, p_event_type, p_severity, context, p_restaurant_id, p_booking_id, coalesce(p_at, pg_catalog.now()));
end $$;

comment on function ops.pipeline_metrics(timestamptz, timestamptz, uuid) is
  'Every metric of the rollout verification checklist for bookings created (and events written) in [p_from, p_to), for all restaurants or one: confirmation (and the plan''s own confirmation rate), manual review and terminal shares, success (attempts that seated their booking) and error rates, insert→confirmed latency, lock wait p95, stuck bookings, duplicate confirmations, event volume (bookings of the window with transitions), legacy vs coordinator success, shadow comparison rates, circuit opens, coordinator errors. Rates are null when there is nothing to divide.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
