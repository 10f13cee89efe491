-- A deleted booking's events count only for the path it was on.
--
-- ops.pipeline_metrics asked for one mode (scripts/verify-rollout asks for v3 in a partial phase) counts the
-- events of that mode's bookings, and those about no booking of the restaurants those bookings belong to. An
-- event's reference to its booking is set to null when the booking is deleted (a platform erasing a booking no
-- guest has heard of, or cleaning up; private.guard_booking_delete lets those go), so a deleted booking's
-- events read as about no booking, and each mode's metrics counted them for every restaurant that had a
-- booking of that mode in the window: a deleted legacy or shadow booking's errors and breaker opens counted in
-- the V3 restaurants' gates (coordinator errors and circuit opens, target 0) of a restaurant that ran both
-- paths in the window, and a V3 one's in the legacy metrics (a read-only review of deletion, and its re-read).
--
-- Now an event about no booking counts for a mode only if it names no other: an event named for its path
-- through private.record_pipeline_event carries that mode in its context, and a state-machine event is always
-- about a booking, so one without is of a booking since deleted and counts for none. Events about no booking
-- that name no mode (most operators' calls, the sweeper's) count as before; an operator's breaker reset,
-- named for the mode the restaurant runs then (coordinator.circuit_reset), now counts for that mode only. The
-- metrics without a mode are unchanged. A booking's events written without a mode (V3's assignment.success, the review alternatives')
-- still count, once it is deleted, for every mode of its restaurant: they feed only the event volume, which
-- no per-mode gate reads.
--
-- private.pipeline_metrics_unchecked: as in 20261231450000, with that test; ops.pipeline_metrics's comment (from
-- 20261227140000) says so.
create or replace function private.pipeline_metrics_unchecked(p_from timestamptz, p_to timestamptz, p_restaurant_id uuid,
                                                   p_mode text)
returns jsonb language plpgsql stable security definer set search_path = '' set plan_cache_mode = force_custom_plan
as $$
declare
  metrics jsonb;
begin
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
  b_restaurant as materialized (select distinct b.restaurant_id from b),
  -- With a mode: the events about its bookings, and those about no booking (an operator's) of the restaurants
  -- they belong to that name no other mode; of each, only what is read below. Joined, never tested with IN
  -- against b inside an OR or an aggregate's filter: such a test is a subplan, run per row over the whole of b
  -- once b outgrows work_mem (about 80,000 bookings).
  e as (
    select ev.source, ev.event_type, ev.booking_id, ev.context ->> 'lock_wait_ms' as lock_wait_ms,
           ev.context ->> 'slot_wait_ms' as slot_wait_ms, ev.context ->> 'lock' as lock,
           ev.context ->> 'result' as result, ev.context ->> 'to' as to_state, ev.context ->> 'reason' as reason
      from public.observability_events ev
     where ev.created_at >= p_from and ev.created_at < p_to
       and (p_restaurant_id is null or ev.restaurant_id = p_restaurant_id)
       and (p_mode is null or (ev.booking_id is null and ev.restaurant_id in (select r.restaurant_id from b_restaurant r)
                               -- Not a deleted booking's of another path, nor any deleted booking's transition
                               -- (see the header).
                               and coalesce(ev.context ->> 'mode', p_mode) = p_mode
                               and ev.source <> 'assignment.state_machine'))
    union all
    select ev.source, ev.event_type, ev.booking_id, ev.context ->> 'lock_wait_ms', ev.context ->> 'slot_wait_ms',
           ev.context ->> 'lock', ev.context ->> 'result', ev.context ->> 'to', ev.context ->> 'reason'
      from public.observability_events ev join b on b.id = ev.booking_id
     where p_mode is not null and ev.created_at >= p_from and ev.created_at < p_to
       and (p_restaurant_id is null or ev.restaurant_id = p_restaurant_id)),
  -- The first confirmation of each booking, found through its history's (booking, version) index.
  latency as (
    select extract(epoch from c.created_at - b.created_at) * 1000 as ms
      from b cross join lateral (
        select h.created_at from public.booking_assignment_state_history h
         where h.booking_id = b.id and h.to_state = 'confirmed' order by h.version limit 1) c),
  -- Lock and slot waits, as begin (start) and commit (confirmation) measured them, on either path; and a begin
  -- that gave up on the restaurant's lock, which measured nothing, as the 5 s it waited (the lease's
  -- lock_timeout, 20261224000000), so the percentile sees the waits that ran out.
  waits as (
    select w.ms::numeric as ms
      from e cross join lateral (values (e.lock_wait_ms), (e.slot_wait_ms)) w(ms)
     where w.ms is not null
       and e.event_type in ('coordinator.start', 'coordinator.confirmed', 'auto_assign.attempt.start', 'auto_assign.succeeded')
    union all
    select 5000 from e
     where e.event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention', 'rollout.lock_contention')
       and e.lock = 'restaurant'),
  -- The window's bookings' state-machine events: how many, and of how many bookings.
  machine as (
    select count(*) as events, count(distinct e.booking_id) as bookings
      from e join b on b.id = e.booking_id where e.source = 'assignment.state_machine'),
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
  -- The bookings a restaurant's switch sent to review, for staff to seat: every review in their history is one
  -- (automatic_assignment_off) or an operator's own assignment stepping through review. Read from the history,
  -- as reviewed is, not from the booking as it is now: one sent back once its restaurant is on again keeps the
  -- switch's review after V3 confirms it, and one seated by hand after a fault's review keeps that review.
  switched_off as (
    select b.assignment_state, b.status
      from b join (
        select h.booking_id from public.booking_assignment_state_history h join b on b.id = h.booking_id
         where h.to_state = 'manual_review'
         group by h.booking_id
        having bool_or(pg_catalog.split_part(h.reason, ':', 1) = 'automatic_assignment_off')
           and bool_and(pg_catalog.split_part(h.reason, ':', 1) in ('automatic_assignment_off', 'ops_assignment'))) s
        on s.booking_id = b.id),
  -- The window's shadow comparisons, each marked whether it is its booking's last there: legacy retries a
  -- failure up to four times, each attempt compared anew, so rates over every row weighed a booking legacy could
  -- not seat four times over one both seat at once. Decisions and matches are rates over bookings, by the
  -- comparison of the attempt their run ended on; candidate errors and durations count every attempt.
  shadow_rows as (
    select c.experiment, c.primary_decision, c.candidate_decision, c.match, c.primary_ms, c.candidate_ms,
           pg_catalog.row_number() over (partition by c.booking_id, c.experiment order by c.created_at desc, c.id desc) = 1
             as last
      from public.shadow_comparisons c
      left join b on p_mode is not null and b.id = c.booking_id
     where c.created_at >= p_from and c.created_at < p_to and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
       and (p_mode is null or b.id is not null)),
  shadow as (
    select c.experiment, count(*) filter (where c.last) as comparisons, count(*) as attempts_compared,
           round(100.0 * count(*) filter (where c.last and c.primary_decision = 'assign') / count(*) filter (where c.last), 2) as primary_assign_pct,
           round(100.0 * count(*) filter (where c.last and c.candidate_decision = 'assign') / count(*) filter (where c.last), 2) as candidate_assign_pct,
           round(100.0 * count(*) filter (where c.last and c.primary_decision = 'escalate') / count(*) filter (where c.last), 2) as primary_escalate_pct,
           round(100.0 * count(*) filter (where c.last and c.candidate_decision = 'escalate') / count(*) filter (where c.last), 2) as candidate_escalate_pct,
           round(100.0 * count(*) filter (where c.last and c.match = 'same_tables') / count(*) filter (where c.last), 2) as same_tables_pct,
           round(100.0 * count(*) filter (where c.last and c.match = 'different_decision') / count(*) filter (where c.last), 2) as different_decision_pct,
           count(*) filter (where c.candidate_decision = 'error') as candidate_errors,
           round(avg(c.primary_ms), 3) as primary_avg_ms, round(avg(c.candidate_ms), 3) as candidate_avg_ms
      from shadow_rows c
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
    -- Of the counts above, those of the bookings a restaurant's switch sent to review, which a gate of the
    -- pipeline's own work takes out of both sides.
    'switched_off', (select pg_catalog.jsonb_build_object(
        'bookings', count(*),
        'confirmed', count(*) filter (where s.status in ('confirmed', 'checked_in', 'completed', 'no_show')),
        'not_cancelled', count(*) filter (where s.assignment_state <> 'cancelled'),
        -- Each was decided and sent to review: it has a review in its history that is not an operator's step.
        'decided', count(*),
        'sent_to_review', count(*)) from switched_off s),
    'successful_attempts', (select count(*) from attempts where result = 'success'),
    'errored_attempts', (select count(*) from attempts where result = 'error'),
    -- Every transition of the window's bookings in the window, as history and as state-machine events: the plan's
    -- "all expected state transitions present".
    'transitions', pg_catalog.jsonb_build_object(
      'history', (select count(*) from public.booking_assignment_state_history h join b on b.id = h.booking_id
                   where h.created_at >= p_from and h.created_at < p_to),
      'events', (select m.events from machine m)),
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
    'stuck', (select count(*) from ops.stuck_bookings s left join b on p_mode is not null and b.id = s.booking_id
               where (p_restaurant_id is null or s.restaurant_id = p_restaurant_id)
                 and (p_mode is null or b.id is not null)),
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
        'bookings_with_transitions', (select m.bookings from machine m),
        'coordinator', count(*) filter (where source = 'assignment.coordinator'),
        'auto_assign', count(*) filter (where source = 'auto_assign')) from e),
    -- The plan's "Compare success rates" query, with its divisions guarded (null when there is nothing to divide).
    'legacy_vs_coordinator', pg_catalog.jsonb_build_object(
      'legacy', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where result = 'succeeded'), 'total', count(*),
          'success_rate', round(100.0 * count(*) filter (where result = 'succeeded') / nullif(count(*), 0), 2))
          from e where event_type = 'auto_assign.summary'),
      'coordinator_shadow', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where to_state = 'confirmed'), 'total', count(distinct booking_id),
          'success_rate', round(100.0 * count(*) filter (where to_state = 'confirmed') / nullif(count(distinct booking_id), 0), 2))
          from e where source = 'assignment.state_machine')),
    'shadow', coalesce((select pg_catalog.jsonb_object_agg(experiment, pg_catalog.to_jsonb(shadow) - 'experiment') from shadow),
                       '{}'::jsonb),
    'circuit_opens', (select count(*) from e where event_type in ('coordinator.circuit_opened', 'auto_assign.circuit_opened')),
    'coordinator_errors', (select count(*) from e where event_type in ('coordinator.error', 'auto_assign.attempt_error')),
    'rate_limited', (select count(*) from e where event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                                           and reason = 'rate_limited'),
    'states', (select pg_catalog.jsonb_object_agg(assignment_state, n) from (
        select assignment_state, count(*) as n from b group by 1) s),
    'modes', (select pg_catalog.jsonb_object_agg(coalesce(assignment_mode, 'none'), n) from (
        select assignment_mode, count(*) as n from b group by 1) m))
    into metrics;
  return metrics;
end $$;

comment on function ops.pipeline_metrics(timestamptz, timestamptz, uuid, text) is
  'Every metric of the rollout verification checklist for bookings created (and events written) in [p_from, p_to), for all restaurants or one, and for every booking or those decided in one mode (p_mode: off, legacy, shadow or v3; one no attempt reached counts for the mode its restaurant runs now; the events, attempts, shadow comparisons and messages about them, events about no booking of their restaurants that name no other mode (a deleted booking''s are about no booking), and the stuck ones among them): confirmation (and the plan''s own confirmation rate), manual review and terminal shares, success (attempts that seated their booking) and error rates, insert→confirmed latency, lock wait p95, stuck bookings, duplicate confirmations, event volume (bookings of the window with transitions), legacy vs coordinator success, shadow comparison rates, circuit opens, coordinator errors. Rates are null when there is nothing to divide. p_from and p_to must be finite times, p_from before p_to, and p_mode a known mode (AS005).';

revoke all on all routines in schema private from public, anon, authenticated;
