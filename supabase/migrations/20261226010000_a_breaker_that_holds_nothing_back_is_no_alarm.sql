-- A breaker that holds nothing back is no alarm, a shadow comparison that cannot be stored costs the booking
-- nothing, and three operator calls tell the truth about what they were given.
--
-- A review of the rollout, breaker and shadow paths found:
--   * ops.health called every breaker that was not closed a problem, and one open over 5 minutes the rollout
--     plan's rollback trigger, even where it held nothing back: a breaker only moves when a booking reaches it,
--     so one whose restaurant got no booking since it opened (overnight, say), or was switched off, stayed
--     "open" and degraded health until someone reset it by hand, and an operator following the plan would roll
--     back for nothing. Each open breaker now says how many of its restaurant's bookings it holds (not yet
--     settled, the restaurant not switched off); only one that holds some is a problem or a rollback trigger.
--   * private.record_shadow ran inside the commit (and the failure report) of a shadow booking: a comparison
--     that broke a constraint rolled back the booking's own confirmation, and counted as an error toward its
--     restaurant's breaker. Shadow is a measurement beside the booking: such a comparison is now dropped and
--     recorded (auto_assign.shadow_dropped, with its SQLSTATE), and the booking goes on.
--   * The settings audit recorded a setting first given to a restaurant (its override row inserted) as a
--     change of every column, null to null included: four rollout-log rows for one change of mode. And it
--     credited a direct UPDATE to the operator and reason of an ops call sent before it in the same message
--     (a Studio script is one message, and its statements share one statement time): such a write is now the
--     login role's, as any other direct write is.
--   * ops.shadow_report took a null, infinite or reversed window and answered nothing, which reads as "shadow
--     is not running". It refuses one (AS005), as ops.pipeline_metrics does.
--   * ops.cancel_booking took a blank reason ('' or spaces) as the reason, which the history stores as none;
--     it is "cancelled by ops", as a missing one is (ops.assign_tables already did so).
-- Bodies as in 20261221000000 (health, since renamed private.health_unchecked), 20261209010000
-- (record_shadow), 20261201100300 (audit_settings_change), 20261201101800 (shadow_report) and 20261210060000
-- (cancel_booking), with those changes.

create or replace function private.health_unchecked(p_now timestamptz default now())
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
    -- holding: the restaurant's bookings not yet settled, which the breaker holds back. One that holds none
    -- (no booking since it opened, or the restaurant switched off) stops nobody: listed, not a problem.
    'open_breakers', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'restaurant_id', c.restaurant_id, 'state', c.state, 'since', c.opened_at, 'failures', c.consecutive_failures,
        'holding', case when (select m.mode from private.effective_mode(c.restaurant_id) m) = 'off' then 0
                        else (select count(*) from public.bookings b
                               where b.restaurant_id = c.restaurant_id
                                 and b.assignment_state = any(private.unsettled_states())) end))
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
        -- Due and not taken: nothing is dispatching them (no dispatcher, or one without a usable sender).
        'oldest_due_seconds', (select round(extract(epoch from p_now - min(due.at)))
                                 from public.notification_outbox o,
                                      lateral (select case when o.status = 'pending' then o.next_attempt_at
                                                           else o.lease_expires_at end as at) due
                                where o.status in ('pending', 'sending') and due.at <= p_now),
        -- Waiting after six failures or more (about a minute of them) for another try: the sender is failing.
        'failing', (select count(*) from public.notification_outbox o
                     where o.status = 'pending' and o.attempts >= 6
                       and o.last_error is not null),
        -- The error of the latest failure: it happened its backoff before the next try.
        'latest_error', (select o.last_error from public.notification_outbox o
                          where o.status = 'pending' and o.attempts >= 6
                            and o.last_error is not null
                          order by o.next_attempt_at
                                   - pg_catalog.make_interval(secs => private.backoff_ms(o.attempts + 1, 1000, 3600000, 0) / 1000.0) desc,
                                   o.id desc
                          limit 1),
        'dead', (select count(*) from public.notification_outbox o where o.status = 'dead'),
        -- Dead of an outage (their retries ran out): a resend once the sender works sends them.
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and coalesce(d.dead_because, 'retries_exhausted') = 'retries_exhausted'
                               and private.message_is_resendable(d, b, p_now)),
        -- Refused by the sender for good (an address it cannot take, or a change on its side): a problem for
        -- the hour after, so an operator sees it without one bad address degrading health for weeks.
        'refused_last_hour', (select count(*) from public.observability_events e
                               where e.source = 'notifications' and e.event_type = 'notification.failed'
                                 and e.created_at > p_now - interval '1 hour' and e.created_at <= p_now
                                 and e.context ->> 'dead_because' = 'refused'))
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
  if exists (select 1 from pg_catalog.jsonb_array_elements(result -> 'open_breakers') o
              where (o ->> 'holding')::int > 0) then
    problems := pg_catalog.array_append(problems, 'open circuit breakers');
  end if;
  if exists (select 1 from pg_catalog.jsonb_array_elements(result -> 'open_breakers') o
              where o ->> 'state' = 'open' and (o ->> 'since')::timestamptz < p_now - interval '5 minutes'
                and (o ->> 'holding')::int > 0) then
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
  if coalesce((result -> 'notifications' ->> 'oldest_due_seconds')::int, 0) > 120 then
    problems := pg_catalog.array_append(problems,
      'guest messages have been due for over 2 minutes: if notifications.pending does not fall, nothing is sending them (is the notification-dispatcher function deployed with a usable NOTIFICATION_SENDER? it answers sender_misconfigured otherwise); if it falls, a backlog is draining');
  end if;
  if (result -> 'notifications' ->> 'failing')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'guest messages keep failing to send (%s waiting after six tries or more, the latest error: %s); they are retried for about five hours, then dead',
      result -> 'notifications' ->> 'failing', result -> 'notifications' ->> 'latest_error'));
  end if;
  if (result -> 'notifications' ->> 'refused_last_hour')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'the mail sender refused %s guest messages in the last hour, each dead at once: ops.dead_messages says why (an address it cannot take, or a change on its side); ops.resend_dead_messages sends them again once fixed',
      result -> 'notifications' ->> 'refused_last_hour'));
  end if;
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

create or replace function private.record_shadow(b public.bookings, p_shadow jsonb)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
declare
  failed_state text;
begin
  if p_shadow is null or b.assignment_mode is distinct from 'shadow' then
    return;
  end if;
  -- The comparison is a measurement beside the booking: one that cannot be stored is dropped and said so,
  -- never a reason for the booking's own confirmation or failure to roll back. (Only here, past the return
  -- above, does a shadow booking pay for the block's subtransaction.)
  begin
    insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
        primary_decision, candidate_decision, primary_tables, candidate_tables, score_diff, primary_ms, candidate_ms,
        candidate_error)
      select b.id, b.restaurant_id, p_shadow ->> 'experiment', p_shadow ->> 'primary_strategy',
             p_shadow ->> 'candidate_strategy', p_shadow ->> 'primary_decision', p_shadow ->> 'candidate_decision',
             coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'primary_tables') x), '{}'),
             coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'candidate_tables') x), '{}'),
             (p_shadow ->> 'score_diff')::numeric, (p_shadow ->> 'primary_ms')::numeric, (p_shadow ->> 'candidate_ms')::numeric,
             private.scrub_and_cut(p_shadow ->> 'candidate_error', 500);
  exception when others then
    get stacked diagnostics failed_state = returned_sqlstate;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.shadow_dropped', 'warning',
      pg_catalog.jsonb_build_object('sqlstate', failed_state), b.restaurant_id, b.id);
  end;
end $$;

create or replace function private.audit_settings_change()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  old_doc jsonb := case when tg_op = 'INSERT' then '{}'::jsonb else pg_catalog.to_jsonb(old) end;
  new_doc jsonb := case when tg_op = 'DELETE' then '{}'::jsonb else pg_catalog.to_jsonb(new) end;
  scope text := coalesce(new_doc ->> 'restaurant_id', old_doc ->> 'restaurant_id', 'global');
  -- ops.* functions stamp "<statement start>|<actor>"; anything else is attributed to the login role.
  -- (This function is security definer, so current_user would name its owner, not the caller; the
  -- session's login role and its SET ROLE setting are the caller's.)
  stamp text := coalesce(pg_catalog.current_setting('pipeline.actor', true), '');
  by_ops boolean := pg_catalog.split_part(stamp, '|', 1) = pg_catalog.statement_timestamp()::text;
  set_role text := pg_catalog.current_setting('role');
  stack text;
begin
  -- Stamped by an ops.* function that is writing now, not merely earlier in the same client message: Studio
  -- sends a script as one message, whose statements share one statement time.
  get diagnostics stack = pg_context;
  by_ops := by_ops and stack ~ 'PL/pgSQL function ops\.';
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  select case when by_ops then pg_catalog.substr(stamp, pg_catalog.strpos(stamp, '|') + 1) else session_user::text end,
         case when set_role = 'none' then session_user::text else set_role end,
         scope, k, old_doc -> k, new_doc -> k,
         case when by_ops then nullif(pg_catalog.current_setting('pipeline.reason', true), '') end
    from (select jsonb_object_keys as k from pg_catalog.jsonb_object_keys(old_doc || new_doc)) keys
   where k not in ('singleton', 'updated_at', 'restaurant_id')
     -- A setting first given to a restaurant is compared with null, not with a key it never had.
     and coalesce(old_doc -> k, 'null'::jsonb) is distinct from coalesce(new_doc -> k, 'null'::jsonb);
  return null;
end $$;

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

  select c.restaurant_id, coalesce(r.name, 'all restaurants'), c.experiment, count(*),
         round(100.0 * count(*) filter (where c.match = 'same_tables') / count(*), 2),
         round(100.0 * count(*) filter (where c.match = 'same_decision_different_tables') / count(*), 2),
         round(100.0 * count(*) filter (where c.match = 'different_decision') / count(*), 2),
         count(*) filter (where c.candidate_decision = 'error'),
         round(avg(c.score_diff), 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by c.primary_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by c.candidate_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.5) within group (order by c.candidate_ms - c.primary_ms)::numeric, 3),
         round(pg_catalog.percentile_cont(0.95) within group (order by abs(c.candidate_ms - c.primary_ms))::numeric, 3)
    from public.shadow_comparisons c left join public.restaurants r on r.id = c.restaurant_id
   where c.created_at >= p_from and c.created_at < p_to
   group by grouping sets ((c.restaurant_id, r.name, c.experiment), (c.experiment))
   order by c.experiment, c.restaurant_id nulls first;
end $$;
comment on function ops.shadow_report(timestamptz, timestamptz) is
  'Shadow comparisons per restaurant and overall (restaurant_id null) for a time window [p_from, p_to) (finite times, p_from before p_to, else AS005): match rates, candidate errors, score difference, durations (p95 of each; ms_diff_p50 = median of candidate − primary; ms_diff_p95 = p95 of |candidate − primary|). Compare experiment v3 with experiment aa, the noise floor: aa runs the legacy planner twice on the same snapshot, so its mismatch rate shows planner nondeterminism (expected 0) and its ms_diff columns the timing noise between two identical runs.';

create or replace function ops.cancel_booking(p_booking_id uuid, p_reason text, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  result jsonb;
begin
  perform private.act_as(p_actor, p_reason);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged');
  end if;
  -- A blank reason is none: the history says who cancelled, never an empty why.
  result := public.cancel_booking(b.id, coalesce(nullif(pg_catalog.btrim(p_reason), ''), 'cancelled by ops'), p_actor);
  -- The reason is the operator's own words: it stays with the booking's history, not in the event.
  perform private.record_event('assignment.ops', 'ops.cancel', 'info',
    pg_catalog.jsonb_build_object('from_state', b.assignment_state), b.restaurant_id, b.id);
  return result;
end $$;

do $$
begin
  execute pg_catalog.format('comment on function ops.health(timestamptz) is %L',
    pg_catalog.replace(pg_catalog.obj_description('ops.health(timestamptz)'::regprocedure, 'pg_proc'),
      'a breaker open over 5 minutes,',
      'a breaker open over 5 minutes that holds bookings back (open_breakers[].holding: the restaurant''s bookings not yet settled; none for a restaurant switched off),'));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
