-- The rollout gates compare exact shares with their targets, see a missing transition event, and know
-- which events are kept.
--
-- scripts/verify-rollout compared the rates ops.pipeline_metrics rounds to two decimals with the plan's
-- targets, so a share just under a target passed: 18,999 of 20,000 bookings confirmed (94.995 %) read
-- 95.00 and passed "at least 95 %", as 96.995 % of attempts did "at least 97 %" (an attacker's review of
-- the gates). The metrics now also give the counts those rates are rounded from (not_cancelled, decided,
-- terminal, successful_attempts, errored_attempts), and the gates divide them. The plan's "all expected
-- state transitions present in data" was judged by the bookings with any transition event, which a
-- regression writing one event of each booking's four passed: transitions {history, events} gives the
-- window's transitions of its bookings as history rows and as state-machine events, which the gate now
-- requires to be equal. events_kept_since says from when events are surely kept: the nightly prune's
-- event_retention_days as it is now, and as it was before each change the settings audit recorded (a
-- retention lowered for a night and raised again has pruned what the raised one would keep). A window
-- reaching further back is judged on fewer events than were written (errors, breaker opens and transitions
-- among them), so the script calls its verdict inconclusive. shadow_kept_since says the same of the shadow
-- comparisons (shadow_retention_days), which the shadow phases' gates read. Every other field is as
-- before. private.pipeline_metrics_unchecked: body as in 20261228170000 with those fields.

-- Rows older than this may have been pruned by the nightly prune, whose retention is the rollout setting
-- p_setting (event_retention_days, shadow_retention_days): as it is now, and as it was before each change the
-- settings audit recorded, since a retention lowered for a night and raised again pruned what the raised one
-- keeps.
create function private.kept_since(p_setting text)
returns timestamptz language sql stable set search_path = '' as $$
  select greatest(
    pg_catalog.now() - pg_catalog.make_interval(days => (pg_catalog.to_jsonb(r) ->> p_setting)::integer),
    (select max(a.changed_at - pg_catalog.make_interval(days => (a.old_value #>> '{}')::integer))
       from public.pipeline_settings_audit a
      where a.scope = 'global' and a.setting = p_setting and pg_catalog.jsonb_typeof(a.old_value) = 'number'))
    from private.rollout_settings r;
$$;

create or replace function private.pipeline_metrics_unchecked(p_from timestamptz, p_to timestamptz, p_restaurant_id uuid,
                                                   p_mode text)
returns jsonb language sql stable security definer set search_path = '' as $$
  -- A booking no attempt reached (escalated by the sweeper) has no mode: it counts for the one its restaurant
  -- runs now, worked out once per restaurant (an outage leaves many such bookings).
  with unreached as materialized (
    select x.restaurant_id, (select m.mode from private.decide_mode(x.restaurant_id, private.function_ceiling()) m) as mode
      from (select distinct u.restaurant_id from public.bookings u
             where p_mode is not null and u.assignment_mode is null
               and u.created_at >= p_from and u.created_at < p_to
               and (p_restaurant_id is null or u.restaurant_id = p_restaurant_id)) x),
  b as (
    select * from public.bookings
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)
       and (p_mode is null
            or coalesce(assignment_mode,
                        (select u.mode from unreached u where u.restaurant_id = bookings.restaurant_id)) = p_mode)),
  -- With a mode: the events about its bookings, and those about no booking (a breaker opening) of the
  -- restaurants they belong to.
  e as (
    select * from public.observability_events
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)
       and (p_mode is null or booking_id in (select b.id from b)
            or (booking_id is null and restaurant_id in (select b.restaurant_id from b)))),
  latency as (
    select extract(epoch from c.created_at - b.created_at) * 1000 as ms
      from b join public.booking_assignment_state_history c on c.booking_id = b.id and c.to_state = 'confirmed'
     where c.version = (select min(h.version) from public.booking_assignment_state_history h
                         where h.booking_id = b.id and h.to_state = 'confirmed')),
  -- Lock and slot waits, as begin (start) and commit (confirmation) measured them, on either path; and a begin
  -- that gave up on the restaurant's lock, which measured nothing, as the 5 s it waited (the lease's
  -- lock_timeout, 20261224000000), so the percentile sees the waits that ran out.
  waits as (
    select (e.context ->> k)::numeric as ms
      from e, pg_catalog.unnest(array['lock_wait_ms', 'slot_wait_ms']) k
     where e.context ? k
       and e.event_type in ('coordinator.start', 'coordinator.confirmed', 'auto_assign.attempt.start', 'auto_assign.succeeded')
    union all
    select 5000 from e
     where e.event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention', 'rollout.lock_contention')
       and e.context ->> 'lock' = 'restaurant'),
  attempts as (
    select a.result from public.booking_assignment_attempts a join b on b.id = a.booking_id),
  -- Sent to manual review at least once, whether still there or cleared since by an operator (not the step
  -- through review an operator's own assignment takes, ops_assignment); and the bookings the rate is of: not
  -- cancelled, or cancelled after being confirmed or sent to review.
  reviewed as (
    select b.id from b
     where exists (select 1 from public.booking_assignment_state_history h
                    where h.booking_id = b.id and h.to_state = 'manual_review'
                      and pg_catalog.split_part(h.reason, ':', 1) <> 'ops_assignment')),
  decided as (
    select b.id from b
     where b.assignment_state <> 'cancelled'
        or exists (select 1 from public.booking_assignment_state_history h
                    where h.booking_id = b.id and h.to_state in ('confirmed', 'manual_review'))),
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
       and (p_mode is null or c.booking_id in (select b.id from b))
     group by c.experiment)
  select pg_catalog.jsonb_build_object(
    'from', p_from, 'to', p_to, 'restaurant_id', p_restaurant_id, 'mode', p_mode,
    'bookings', (select count(*) from b),
    'cancelled', (select count(*) from b where assignment_state = 'cancelled'),
    'confirmed', (select count(*) from b where status in ('confirmed', 'checked_in', 'completed', 'no_show')),
    'manual_review', (select count(*) from b where assignment_state = 'manual_review'),
    'confirmation_rate_pct', (select round(100.0 * count(*) filter (where status in ('confirmed', 'checked_in', 'completed', 'no_show'))
                                            / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    -- The plan's own query: status 'confirmed' over every booking made, cancelled, seated and finished ones included.
    'confirmation_rate_plan_pct', (select round(100.0 * count(*) filter (where status = 'confirmed') / nullif(count(*), 0), 2)
                                     from b),
    'sent_to_review', (select count(*) from reviewed),
    -- Of the bookings not cancelled before anything was decided: those sent to review at any time.
    'manual_review_rate_pct', (select round(100.0 * (select count(*) from reviewed) / nullif(count(*), 0), 2)
                                 from decided),
    'terminal_pct', (select round(100.0 * count(*) filter (where assignment_state in ('confirmed', 'manual_review', 'cancelled'))
                                   / nullif(count(*), 0), 2) from b),
    -- The counts the rates above are rounded from, so a gate compares the exact share with its target (a rate
    -- of 94.995 % reads 95.00 here): bookings not cancelled, decided (the review rate's), terminal, and the
    -- attempts that seated their booking or failed with an error.
    'not_cancelled', (select count(*) from b where assignment_state <> 'cancelled'),
    'decided', (select count(*) from decided),
    'terminal', (select count(*) from b where assignment_state in ('confirmed', 'manual_review', 'cancelled')),
    'successful_attempts', (select count(*) from attempts where result = 'success'),
    'errored_attempts', (select count(*) from attempts where result = 'error'),
    -- Every transition of the window's bookings in the window, as history and as state-machine events: the plan's
    -- "all expected state transitions present".
    'transitions', pg_catalog.jsonb_build_object(
      'history', (select count(*) from public.booking_assignment_state_history h join b on b.id = h.booking_id
                   where h.created_at >= p_from and h.created_at < p_to),
      'events', (select count(*) from e where source = 'assignment.state_machine' and booking_id in (select b.id from b))),
    -- From when events, and shadow comparisons, are surely kept (private.kept_since).
    'events_kept_since', private.kept_since('event_retention_days'),
    'shadow_kept_since', private.kept_since('shadow_retention_days'),
    'attempts', (select count(*) from attempts),
    'success_rate_pct', (select round(100.0 * count(*) filter (where result = 'success') / nullif(count(*), 0), 2) from attempts),
    'error_rate_pct', (select round(100.0 * count(*) filter (where result = 'error') / nullif(count(*), 0), 2) from attempts),
    'latency_ms', (select pg_catalog.jsonb_build_object(
        'p50', round(pg_catalog.percentile_cont(0.5) within group (order by ms)::numeric, 1),
        'p95', round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 1),
        'p99', round(pg_catalog.percentile_cont(0.99) within group (order by ms)::numeric, 1),
        'n', count(*)) from latency),
    'lock_wait_p95_ms', (select round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 2) from waits),
    -- Stuck now; with a mode, those of the window's bookings in it.
    'stuck', (select count(*) from ops.stuck_bookings s
               where (p_restaurant_id is null or s.restaurant_id = p_restaurant_id)
                 and (p_mode is null or s.booking_id in (select b.id from b))),
    'duplicate_confirmations', (select count(*) from (
        select o.booking_id from public.notification_outbox o join b on b.id = o.booking_id
         where o.kind = 'booking_confirmed' and private.may_have_reached_guest(o)
         group by o.booking_id having count(*) > 1) d),
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


revoke all on function private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid, text) from public, anon, authenticated, service_role;
revoke all on all routines in schema private from public, anon, authenticated;
