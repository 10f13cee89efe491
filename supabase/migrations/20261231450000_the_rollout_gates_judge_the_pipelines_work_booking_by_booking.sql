-- The rollout gates judge the pipeline's work, booking by booking.
--
-- 1. Not a restaurant's switch. A restaurant switched off (mode off) sends every booking to review by design
-- (automatic_assignment_off), for staff to seat. ops.health already leaves those bookings out of its
-- review-rate alarm (20261231240000), but scripts/verify-rollout's fleet gates counted them: at prod-100, one
-- restaurant switched off with 600 of 50,000 bookings and V3 sending 150 others to review read as a review rate
-- of 1.5 %, a FAIL against the full phases' 1 % that pointed at V3 and a rollback that changes nothing (a
-- restaurant off stays off under the kill switch); enough of them failed the confirmation gate too. Now
-- ops.pipeline_metrics also gives, as switched_off, how many of its bookings, confirmed, not cancelled, decided
-- and sent to review were bookings a switch sent to review: every review in their history is
-- automatic_assignment_off (or an operator's own assignment stepping through review), read from the history as
-- sent_to_review is, so one the restaurant's switch-on sent back and V3 then confirmed stays out, and one with a
-- fault's review besides (the sweeper's, say) stays in. The gates take those out of both sides of the
-- confirmation and review rates.
-- 2. Not legacy's retries. In shadow mode every attempt stores a comparison, and legacy retries any failure up
-- to four times: a booking legacy could not seat weighed four times as much as one both seat at once in the
-- shadow gates' assign and escalate rates (96 easy bookings and 4 such read 14 points apart where, booking by
-- booking, they are 4). The metrics' shadow rates and ops.shadow_report's now count each booking once, by the
-- comparison of its last attempt in the window; candidate errors and durations still count every attempt, and
-- the metrics add attempts_compared.
-- Both found by attackers' reviews of the gates and of the legacy path. Every other figure is unchanged
-- (supabase/tests/integration/pipeline_metrics.test.ts), so the plan's own queries see what they saw.
-- private.pipeline_metrics_unchecked: body as in 20261231430000 with the switched_off CTE and field and the shadow
-- rows marked.
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
  -- With a mode: the events about its bookings, and those about no booking (a breaker opening) of the
  -- restaurants they belong to; of each, only what is read below. Joined, never tested with IN against b inside
  -- an OR or an aggregate's filter: such a test is a subplan, run per row over the whole of b once b outgrows
  -- work_mem (about 80,000 bookings).
  e as (
    select ev.source, ev.event_type, ev.booking_id, ev.context ->> 'lock_wait_ms' as lock_wait_ms,
           ev.context ->> 'slot_wait_ms' as slot_wait_ms, ev.context ->> 'lock' as lock,
           ev.context ->> 'result' as result, ev.context ->> 'to' as to_state, ev.context ->> 'reason' as reason
      from public.observability_events ev
     where ev.created_at >= p_from and ev.created_at < p_to
       and (p_restaurant_id is null or ev.restaurant_id = p_restaurant_id)
       and (p_mode is null or (ev.booking_id is null and ev.restaurant_id in (select r.restaurant_id from b_restaurant r)))
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

-- ops.shadow_report: as in 20261226010000, with its rates over bookings (the last comparison of each in the
-- window) and its candidate errors and durations over every attempt; its comment says so.
create or replace function ops.shadow_report(p_from timestamptz default now() - interval '24 hours', p_to timestamptz default now())
returns table (restaurant_id uuid, restaurant text, experiment text, comparisons bigint, same_tables_pct numeric,
               same_decision_different_tables_pct numeric, different_decision_pct numeric, candidate_errors bigint,
               avg_score_diff numeric, primary_p95_ms numeric, candidate_p95_ms numeric, ms_diff_p50 numeric,
               ms_diff_p95 numeric)
language plpgsql stable security definer set search_path = '' as $$
#variable_conflict use_column
begin
  perform private.check_finite('p_from', p_from);
  perform private.check_finite('p_to', p_to);
  if p_from >= p_to then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('p_from (%s) must be before p_to (%s)', p_from, p_to);
  end if;
  return query

  select c.restaurant_id, coalesce(r.name, 'all restaurants'), c.experiment, count(*) filter (where c.last),
         round(100.0 * count(*) filter (where c.last and c.match = 'same_tables') / count(*) filter (where c.last), 2),
         round(100.0 * count(*) filter (where c.last and c.match = 'same_decision_different_tables')
               / count(*) filter (where c.last), 2),
         round(100.0 * count(*) filter (where c.last and c.match = 'different_decision') / count(*) filter (where c.last), 2),
         count(*) filter (where c.candidate_decision = 'error'),
         round(avg(c.score_diff) filter (where c.last), 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by c.primary_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by c.candidate_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.5) within group (order by c.candidate_ms - c.primary_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by abs(c.candidate_ms - c.primary_ms))::numeric, 3)
    from (select s.*,
                 pg_catalog.row_number() over (partition by s.booking_id, s.experiment
                                               order by s.created_at desc, s.id desc) = 1 as last
            from public.shadow_comparisons s
           where s.created_at >= p_from and s.created_at < p_to) c
    left join public.restaurants r on r.id = c.restaurant_id
   group by grouping sets ((c.restaurant_id, r.name, c.experiment), (c.experiment))
   order by c.experiment, c.restaurant_id nulls first;
end $$;
comment on function ops.shadow_report(timestamptz, timestamptz) is
  'Shadow comparisons per restaurant and overall (restaurant_id null) for a time window [p_from, p_to) (finite times, p_from before p_to, else AS005): comparisons counts the bookings compared in the experiment, and the match rates and score difference are over them, each by the comparison of the last attempt it had in the window in that experiment (legacy retries a failure up to four times, each compared anew); candidate errors and durations count every attempt (p95 of each; ms_diff_p50 = median of candidate − primary; ms_diff_p95 = p95 of |candidate − primary|). Compare experiment v3 with experiment aa, the noise floor: aa runs the legacy planner twice on the same snapshot, so its mismatch rate shows planner nondeterminism (expected 0) and its ms_diff columns the timing noise between two identical runs.';
