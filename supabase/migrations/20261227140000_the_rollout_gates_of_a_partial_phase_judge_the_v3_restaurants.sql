-- The rollout gates of a partial phase judge the V3 restaurants.
--
-- A review of the rollout found that at 10 % and 50 % scripts/verify-rollout held every gate (confirmation
-- and manual review rates, errors, latency, terminal share) to the whole fleet's bookings, most of them on the
-- legacy path: at 10 %, V3 restaurants sending 8 % of their bookings to review beside legacy ones at 0.2 %
-- read as about 1 % overall, and passed the full mode's < 1 % gate or came close. The plan's 10 % and 50 %
-- gates ask whether V3 is safe to widen, which a mixed number cannot say. ops.pipeline_metrics takes p_mode:
-- the bookings decided in that mode (bookings.assignment_mode; for one no attempt reached, the mode its
-- restaurant runs now under the function's flags as last heard), the events, attempts, shadow comparisons and
-- messages about them, the events about no booking (a breaker opening) of their restaurants, and the stuck
-- ones among them. The verification of prod-10 and prod-50 holds every gate to the V3 bookings and the
-- common gates to the whole fleet as before. An unknown mode is refused (AS005).
-- private.pipeline_metrics_unchecked: body as in 20261222000000 (ops.pipeline_metrics, moved to private by
-- 20261224000000), with the mode.

drop function ops.pipeline_metrics(timestamptz, timestamptz, uuid);
drop function private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid);

create function private.pipeline_metrics_unchecked(p_from timestamptz, p_to timestamptz, p_restaurant_id uuid,
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

create function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours',
                                     p_to timestamptz default now(), p_restaurant_id uuid default null,
                                     p_mode text default null)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
begin
  perform private.check_finite('p_from', p_from);
  perform private.check_finite('p_to', p_to);
  if p_from >= p_to then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('p_from (%s) must be before p_to (%s)', p_from, p_to);
  end if;
  if p_mode is not null and p_mode <> all(private.pipeline_modes()) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('mode must be one of %s, or null for every booking',
                                  pg_catalog.array_to_string(private.pipeline_modes(), ', '));
  end if;
  return private.pipeline_metrics_unchecked(p_from, p_to, p_restaurant_id, p_mode);
end $$;

comment on function ops.pipeline_metrics(timestamptz, timestamptz, uuid, text) is
  'Every metric of the rollout verification checklist for bookings created (and events written) in [p_from, p_to), for all restaurants or one, and for every booking or those decided in one mode (p_mode: off, legacy, shadow or v3; one no attempt reached counts for the mode its restaurant runs now; the events, attempts, shadow comparisons and messages about them, events about no booking of their restaurants, and the stuck ones among them): confirmation (and the plan''s own confirmation rate), manual review and terminal shares, success (attempts that seated their booking) and error rates, insert→confirmed latency, lock wait p95, stuck bookings, duplicate confirmations, event volume (bookings of the window with transitions), legacy vs coordinator success, shadow comparison rates, circuit opens, coordinator errors. Rates are null when there is nothing to divide. p_from and p_to must be finite times, p_from before p_to, and p_mode a known mode (AS005).';
comment on function private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid, text) is
  'The body of ops.pipeline_metrics, which checks its arguments and calls this.';

revoke all on function ops.pipeline_metrics(timestamptz, timestamptz, uuid, text) from public, anon, authenticated;
grant execute on function ops.pipeline_metrics(timestamptz, timestamptz, uuid, text) to service_role;
revoke all on all routines in schema private from public, anon, authenticated;
revoke all on function private.pipeline_metrics_unchecked(timestamptz, timestamptz, uuid, text) from service_role;
