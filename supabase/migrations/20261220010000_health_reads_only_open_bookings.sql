-- The health check and the stuck-bookings alert read only open bookings; the rollout gates count confirmations
-- as the guest saw them.
--
-- ops.health (which operators poll) counted the queue and the stuck bookings through private.is_queued and
-- private.is_unsettled: PL/pgSQL helpers the planner cannot see into, so each count read every booking ever
-- made, one function call a row (about 1 s per million bookings, per count; bookings are never pruned), and
-- its notification counts read the whole outbox, which keeps every message ever sent. The state lists are
-- now immutable functions of their own, which the planner folds into constants, so `assignment_state =
-- any(private.queued_states())` is an index condition on bookings_assignment_state_idx. is_queued and
-- is_unsettled keep their own lists: a CHECK constraint calls is_queued as the writing role, which may not
-- look up names in private (a test holds the lists equal). The outbox counts read their
-- rows through partial indexes (notification_outbox_due_idx for pending and sending, a new one for dead).
-- ops.stuck_bookings and ops.release_stuck read the same way.
--
-- ops.pipeline_metrics, which the rollout gates read:
--   * duplicate_confirmations counted every booking_confirmed row of a booking, superseded, pending and dead
--     ones included: a confirmation retried through an outage and replaced after a change (or one that went
--     dead) counted as a duplicate e-mail and failed the "no duplicate e-mails" gate. It counts rows a guest
--     received or perhaps received (sent, or sending), as the outbox's own "heard" test does;
--   * a no-show was left out of the confirmed bookings but kept in the denominator, so guests not turning up
--     lowered the confirmation rate the ≥ 95 % gate reads. A no-show was confirmed (its assignment is);
--     it counts as such now, as seated and finished bookings do.
-- Bodies as in 20261210060000 (release_stuck), 20261210110000 (health), 20261210050000 (pipeline_metrics) and
-- 20261201101900 (the view), with those changes.

create or replace function private.queued_states()
returns text[] language plpgsql immutable set search_path = '' as $$
begin
  return array['created', 'capacity_verified', 'assignment_pending'];
end $$;

create or replace function private.unsettled_states()
returns text[] language plpgsql immutable set search_path = '' as $$
begin
  return array['created', 'capacity_verified', 'assignment_pending', 'assignment_in_progress', 'assigned'];
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
-- The stuck-bookings view runs as its reader, as is_unsettled did.
grant execute on function private.unsettled_states() to service_role;

create index notification_outbox_dead_idx on public.notification_outbox (booking_id) where status = 'dead';

create or replace view ops.stuck_bookings with (security_invoker = true) as
  select id as booking_id, restaurant_id, assignment_state, attempt_count, dispatch_count, next_attempt_at, updated_at,
         round(extract(epoch from now() - updated_at) / 60, 1) as minutes_without_progress
    from public.bookings
   where assignment_state = any(private.unsettled_states())
     and updated_at < now() - interval '10 minutes'
   order by updated_at;

create or replace function ops.release_stuck(p_older_than_minutes integer, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  reason text;
  released integer := 0;
  redispatched integer := 0;
  escalated integer := 0;
  busy integer := 0;
begin
  perform private.act_as(p_actor);
  if p_older_than_minutes is null or p_older_than_minutes < 1 then
    raise exception using errcode = 'AS005', message = 'p_older_than_minutes must be at least 1';
  end if;
  reason := pg_catalog.format('no progress for %s minutes; released by ops', p_older_than_minutes);
  for r in select * from public.bookings
            where assignment_state = any(private.unsettled_states())
              and updated_at < pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes)
            order by updated_at
            for update skip locked loop
    -- A call that holds the booking right now (begin, commit, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
      busy := busy + 1;
      continue;
    end if;
    -- Its worker still holds a lease (up to lease_seconds, 300 at most): it is slow, not stuck, and its
    -- commit would find the lease gone. When the lease runs out the sweeper takes it back anyway.
    if r.assignment_state = 'assignment_in_progress' and r.lease_expires_at > pg_catalog.now() then
      busy := busy + 1;
      continue;
    end if;
    if r.assignment_state = 'assignment_in_progress' then
      perform private.record_attempt(r, 'retry', 'released_by_ops: ' || reason, null, null, '{}'::jsonb);
      perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
        'released_by_ops: ' || reason, pg_catalog.jsonb_build_object('attempt', r.attempt_count), p_actor);
      released := released + 1;
    elsif r.assignment_state = 'assigned' then
      perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version,
        'stuck_before_confirmation: ' || reason || '; its tables were released, assign them again',
        '{}'::jsonb, p_actor);
      escalated := escalated + 1;
      continue;
    else
      redispatched := redispatched + 1;
    end if;
    update public.bookings set dispatch_count = 0 where id = r.id;
    perform private.nudge(r.id, 'ops_release');
  end loop;
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'escalated', escalated, 'skipped_busy', busy), null, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'escalated', escalated, 'skipped_busy', busy);
end $$;

create or replace function ops.health(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  worker_up boolean := true;
  job record;
  sweeper record;
  sweeper_age numeric;
  dispatch_configured boolean;
  result jsonb;
  problems text[] := '{}'::text[];
begin
  begin
    perform net.check_worker_is_up();
  exception when others then
    worker_up := false;
  end;
  select j.jobid, j.schedule, j.active into job from cron.job j where j.jobname = 'assignment-sweeper';
  select d.status, d.start_time into sweeper
    from cron.job_run_details d where d.jobid = job.jobid and d.start_time <= p_now
   order by d.start_time desc limit 1;
  sweeper_age := round(extract(epoch from p_now - sweeper.start_time));
  select count(*) = 2 into dispatch_configured from vault.decrypted_secrets
   where name in ('assignment_functions_url', 'assignment_pipeline_secret');

  select pg_catalog.jsonb_build_object(
    'checked_at', p_now,
    'mode', (select pg_catalog.jsonb_build_object('default', s.default_mode, 'rollout_percentage', s.rollout_percentage,
                                                  'kill_switch', s.kill_switch, 'shadow_candidate', s.shadow_candidate)
               from private.rollout_settings s),
    'queue_depth', (select count(*) from public.bookings
                     where assignment_state = any(private.queued_states())),
    'due_now', (select count(*) from public.bookings
                 where assignment_state = any(private.queued_states())
                   and next_attempt_at <= p_now),
    'oldest_due_seconds', (select round(extract(epoch from p_now - min(next_attempt_at)))
                             from public.bookings
                            where assignment_state = any(private.queued_states())
                              and next_attempt_at <= p_now),
    'in_progress', (select count(*) from public.bookings where assignment_state = 'assignment_in_progress'),
    'in_progress_by_restaurant', coalesce((select pg_catalog.jsonb_object_agg(restaurant_id, n) from (
        select restaurant_id, count(*) as n from public.bookings
         where assignment_state = 'assignment_in_progress' group by restaurant_id) x), '{}'::jsonb),
    'manual_review', (select count(*) from public.bookings where assignment_state = 'manual_review'),
    -- The plan's rollback triggers: manual review above 10 % of the bookings, a breaker open over 5 minutes.
    'manual_review_last_hour', (select pg_catalog.jsonb_build_object(
        'bookings', count(*) filter (where assignment_state <> 'cancelled'),
        'manual_review', count(*) filter (where assignment_state = 'manual_review'))
        from public.bookings where created_at > p_now - interval '1 hour'),
    'stuck', (select count(*) from ops.stuck_bookings),
    -- Seated parties whose longer stay could not be held: found from the event each such change records,
    -- and counted while the overlap lasts: moving the next booking, the party leaving, or the stay's end
    -- clears it.
    'seated_stays_overlapping', (select count(*) from public.bookings s
        where s.id in (select e.booking_id from public.observability_events e
                        where e.source = 'assignment.ops' and e.event_type = 'booking.seated_stay_overlaps'
                          and e.created_at > p_now - interval '1 day' and e.created_at <= p_now)
          and s.status = 'checked_in' and s.end_at > p_now
          and exists (select 1 from public.booking_table_assignments mine
                        join public.booking_table_assignments other
                          on other.table_id = mine.table_id and other.released_at is null
                         and other.booking_id <> s.id and other.during && private.blocked_window(s)
                       where mine.booking_id = s.id and mine.released_at is null)),
    'open_breakers', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'restaurant_id', c.restaurant_id, 'state', c.state, 'since', c.opened_at, 'failures', c.consecutive_failures))
        from private.circuit_breakers c where c.state <> 'closed'), '[]'::jsonb),
    'dispatch', pg_catalog.jsonb_build_object(
      'configured', dispatch_configured,
      'pg_net_worker_up', worker_up,
      'queued_requests', (select count(*) from net.http_request_queue),
      'failed_last_15_min', (select count(*) from net._http_response
                              where created > p_now - interval '15 minutes'
                                and (status_code is null or status_code >= 500)),
      'refused_last_15_min', (select count(*) from net._http_response
                               where created > p_now - interval '15 minutes' and status_code in (401, 403, 404)),
      'last_response_at', (select max(created) from net._http_response)),
    'sweeper', pg_catalog.jsonb_build_object(
      'scheduled', job.jobid is not null, 'active', coalesce(job.active, false), 'schedule', job.schedule,
      'last_status', sweeper.status, 'last_start', sweeper.start_time, 'seconds_since_last_start', sweeper_age,
      'alive', coalesce(job.active, false) and sweeper_age <= 120 and sweeper.status is distinct from 'failed'),
    -- The outbox keeps every message ever sent: each count reads only its rows, through a partial index.
    'notifications', pg_catalog.jsonb_build_object(
        'pending', (select count(*) from public.notification_outbox o where o.status in ('pending', 'sending')),
        'dead', (select count(*) from public.notification_outbox o where o.status = 'dead'),
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and b.start_at > p_now and private.message_is_current(d, b)))
  ) into result;

  if not worker_up then problems := pg_catalog.array_append(problems, 'pg_net worker is down'); end if;
  if not dispatch_configured then problems := pg_catalog.array_append(problems, 'dispatch URL/secret missing from Vault'); end if;
  if (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET');
  end if;
  if job.jobid is null or not job.active then
    problems := pg_catalog.array_append(problems, 'sweeper is not scheduled (cron job assignment-sweeper missing or inactive)');
  elsif sweeper.start_time is null then
    problems := pg_catalog.array_append(problems, 'sweeper has never run');
  elsif sweeper_age > 120 then
    problems := pg_catalog.array_append(problems, pg_catalog.format('sweeper has not started for %s s', sweeper_age));
  elsif sweeper.status = 'failed' then
    problems := pg_catalog.array_append(problems, 'sweeper''s last run failed (see cron.job_run_details)');
  end if;
  if (result ->> 'stuck')::int > 0 then problems := pg_catalog.array_append(problems, 'stuck bookings'); end if;
  if (result ->> 'seated_stays_overlapping')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'a seated party''s longer stay overlaps the next booking on its tables: give that booking other tables (ops.assign_tables)');
  end if;
  if pg_catalog.jsonb_array_length(result -> 'open_breakers') > 0 then problems := pg_catalog.array_append(problems, 'open circuit breakers'); end if;
  if exists (select 1 from private.circuit_breakers c where c.state = 'open' and c.opened_at < p_now - interval '5 minutes') then
    problems := pg_catalog.array_append(problems,
      'a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)');
  end if;
  -- Judged once the hour holds enough bookings for a share to mean something.
  if (result -> 'manual_review_last_hour' ->> 'bookings')::int >= 20
     and (result -> 'manual_review_last_hour' ->> 'manual_review')::int * 10
         > (result -> 'manual_review_last_hour' ->> 'bookings')::int then
    problems := pg_catalog.array_append(problems,
      'manual review above 10 % of the last hour''s bookings (the rollout plan''s rollback trigger)');
  end if;
  if coalesce((result ->> 'oldest_due_seconds')::int, 0) > 120 then problems := pg_catalog.array_append(problems, 'queue is falling behind'); end if;
  if (result -> 'notifications' ->> 'dead_resendable')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dead notifications about bookings still ahead: once the sender works, ops.resend_dead_messages queues them again');
  end if;
  return pg_catalog.jsonb_build_object(
    'status', case when not worker_up or not dispatch_configured
                        or (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then 'down'
                   when pg_catalog.cardinality(problems) > 0 then 'degraded' else 'ok' end,
    'problems', pg_catalog.to_jsonb(problems)) || result;
end $$;

create or replace function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours',
                                            p_to timestamptz default now(), p_restaurant_id uuid default null)
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
    'stuck', (select count(*) from ops.stuck_bookings s where p_restaurant_id is null or s.restaurant_id = p_restaurant_id),
    'duplicate_confirmations', (select count(*) from (
        select o.booking_id from public.notification_outbox o join b on b.id = o.booking_id
         where o.kind = 'booking_confirmed' and o.status in ('sent', 'sending') group by o.booking_id having count(*) > 1) d),
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
