-- What an operator can act on, and nothing an operator did can turn back on.
--
-- A review of the ops calls and the rollout switches found:
--   * ops.cancel_booking and ops.assign_tables took a booking whatever its guest-facing status: cancelling a
--     completed or no-show booking overwrote it and told the guest, after the meal, that it was cancelled;
--     re-assigning a checked-in party moved it to other tables and dropped the check-in. Every ops call on a
--     booking (assign, accept an alternative, retry, cancel) now refuses a checked-in, completed or no-show
--     one (AS001), and says so when no booking id is given;
--   * ops.health counted every dead guest message for good. resend_dead_messages leaves dead the ones about
--     bookings already begun (no use to the guest), so after an outage health stayed degraded with nothing
--     left to do, hiding the next problem. It now raises the problem only for dead messages about bookings
--     still ahead that still describe them — exactly those resend_dead_messages queues; notifications.dead
--     still counts them all;
--   * the kill switch turned a restaurant set to off into legacy: it ranked above every mode but a
--     restaurant's own off, so with the default mode off (automatic assignment paused everywhere) pulling
--     the switch started legacy assignment at every restaurant without an override. It now only lowers:
--     v3 and shadow become legacy, off stays off;
--   * ops.assign_tables confirmed bookings whose stay was over, and took table numbers twice or null (see
--     its definition below);
--   * the rollout plan's rollback triggers (a breaker open over 5 minutes, manual review above 10 % of the
--     bookings) were only in the verification report, never in health; ops.health now raises both;
--   * the kill switch's reason went, as typed, into every coordinator.start event while it was on; the
--     mode's reason now names the switch only;
--   * ops.set_rollout_percentage changed nothing visible on a fresh install (default mode v3) and did not say
--     so; it now answers with a note;
--   * cron.job_run_details, pg_cron's history, is never emptied by pg_cron itself (Supabase's docs say so),
--     and the sweeper adds a row every 5 s — 17,280 a day — while ops.health reads the latest. The nightly
--     prune now deletes this pipeline's own job runs older than a day (other jobs' history is left alone).

create or replace function private.booking_for_ops(p_booking_id uuid)
returns public.bookings language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  if p_booking_id is null then
    raise exception using errcode = 'AS005', message = 'name the booking: p_booking_id is required';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('booking', p_booking_id));
  select * into b from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003', message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  if b.status in ('checked_in', 'completed', 'no_show') then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is %s: a party that has arrived or whose booking is over keeps its tables and is not told anything',
                                  p_booking_id, pg_catalog.replace(b.status, '_', '-'));
  end if;
  if b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now() then
    raise exception using errcode = 'AS008',
      message = pg_catalog.format('booking %s is being assigned right now; try again in a few seconds', p_booking_id);
  end if;
  return b;
end $$;

-- Body as in 20261204010000, with the kill switch lowering the mode the restaurant would otherwise have. The
-- reason names the switch, not what the operator typed: it goes into every coordinator.start event while the
-- switch is on, and events must hold no personal data (a name typed there would survive the scrubbing).
create or replace function private.effective_mode(p_restaurant_id uuid)
returns table (mode text, reason text) language plpgsql stable set search_path = '' as $$
#variable_conflict use_column
begin
  return query
  select case when s.kill_switch and d.mode <> 'off' then 'legacy' else d.mode end,
         case when s.kill_switch and d.mode <> 'off' then 'kill switch (its reason: ops.rollout_status())' else d.reason end
    from private.rollout_settings s
    left join private.restaurant_pipeline_settings o on o.restaurant_id = p_restaurant_id,
    lateral (select case
                      when o.mode is not null then o.mode
                      when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then 'v3'
                      else s.default_mode
                    end as mode,
                    case
                      when o.mode is not null then 'restaurant override'
                      when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then
                        pg_catalog.format('rollout: bucket %s < %s%%', private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
                      else pg_catalog.format('default mode (bucket %s is outside the %s%% rollout)',
                                             private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
                    end as reason) d;
end $$;

-- Body as in 20261201101900, with this pipeline's cron history pruned too.
create or replace function private.prune_old_rows(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.rollout_settings;
  events integer;
  comparisons integer;
  audit integer;
  job_runs integer := 0;
begin
  select * into s from private.rollout_settings;
  delete from public.observability_events where created_at < p_now - pg_catalog.make_interval(days => s.event_retention_days);
  get diagnostics events = row_count;
  delete from public.shadow_comparisons where created_at < p_now - pg_catalog.make_interval(days => s.shadow_retention_days);
  get diagnostics comparisons = row_count;
  delete from public.pipeline_settings_audit where changed_at < p_now - pg_catalog.make_interval(days => s.audit_retention_days);
  get diagnostics audit = row_count;
  begin
    delete from cron.job_run_details d using cron.job j
     where j.jobid = d.jobid and j.jobname in ('assignment-sweeper', 'assignment-retention')
       and d.start_time < p_now - interval '1 day';
    get diagnostics job_runs = row_count;
  exception when insufficient_privilege then
    -- A platform that keeps pg_cron's history to itself: its rows are its to prune.
    null;
  end;
  if events + comparisons + audit + job_runs > 0 then
    perform private.record_event('assignment.sweeper', 'retention.pruned', 'info',
      pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                    'pipeline_settings_audit', audit, 'cron_job_runs', job_runs), null, null);
  end if;
  return pg_catalog.jsonb_build_object('observability_events', events, 'shadow_comparisons', comparisons,
                                       'pipeline_settings_audit', audit, 'cron_job_runs', job_runs);
end $$;

-- Body as in 20261202400000, with dead messages split into those an operator can still send and the rest.
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
                     where private.is_queued(assignment_state)),
    'due_now', (select count(*) from public.bookings
                 where private.is_queued(assignment_state)
                   and next_attempt_at <= p_now),
    'oldest_due_seconds', (select round(extract(epoch from p_now - min(next_attempt_at)))
                             from public.bookings
                            where private.is_queued(assignment_state)
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
    'notifications', (select pg_catalog.jsonb_build_object(
        'pending', count(*) filter (where o.status in ('pending', 'sending')),
        'dead', count(*) filter (where o.status = 'dead'),
        -- Only dead rows are joined to their bookings: the outbox keeps every message ever sent.
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and b.start_at > p_now and private.message_is_current(d, b)))
        from public.notification_outbox o)
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
-- ops.assign_tables, body as in 20261201101800, now refusing what it cannot honour: a booking whose stay is
-- over (it would confirm to the guest a time that has passed), table numbers named twice or null (a
-- duplicate made the "unchanged" check miss and walked the booking through review again; a null was
-- recorded in the event), and a null reason (it nulled the history's reason, failing with a message about
-- manual review the operator never asked for) — that one is taken as the default.
create or replace function ops.assign_tables(p_booking_id uuid, p_table_numbers text[], p_actor text,
                                  p_reason text default 'manual assignment')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  ids uuid[];
  unknown text;
  current_tables text[];
  violation text;
  busy text[];
begin
  perform private.act_as(p_actor, p_reason);
  p_reason := coalesce(nullif(pg_catalog.btrim(p_reason), ''), 'manual assignment');
  if coalesce(pg_catalog.cardinality(p_table_numbers), 0) = 0 then
    raise exception using errcode = 'AS005', message = 'name at least one table, e.g. array[''M5'',''M6'']';
  end if;
  if pg_catalog.array_position(p_table_numbers, null) is not null
     or (select count(distinct n) from pg_catalog.unnest(p_table_numbers) n) <> pg_catalog.cardinality(p_table_numbers) then
    raise exception using errcode = 'AS005', message = 'name each table once, e.g. array[''M5'',''M6'']';
  end if;
  -- The restaurant lock before the booking's locks: the order every writer follows (see the coordinator
  -- RPCs), so an operator and a re-optimising commit can never deadlock.
  perform private.lock_restaurant(x.restaurant_id) from public.bookings x where x.id = p_booking_id;
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    raise exception using errcode = 'AS001', message = pg_catalog.format('booking %s is cancelled', p_booking_id);
  end if;
  if b.end_at <= pg_catalog.now() then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s ended at %s: there is no stay left to seat; cancel it, or have the platform record how it went',
                                  p_booking_id, b.end_at);
  end if;

  select pg_catalog.string_agg(n, ', ') into unknown from pg_catalog.unnest(p_table_numbers) n
   where not exists (select 1 from public.restaurant_tables t where t.restaurant_id = b.restaurant_id and t.table_number = n);
  if unknown is not null then
    raise exception using errcode = 'AS005', message = pg_catalog.format('no table %s in this restaurant', unknown);
  end if;
  select pg_catalog.array_agg(t.id order by t.table_number) into ids from public.restaurant_tables t
   where t.restaurant_id = b.restaurant_id and t.table_number = any(p_table_numbers);

  -- Idempotent: asking again for what is already in place changes nothing.
  select pg_catalog.array_agg(t.table_number order by t.table_number) into current_tables
    from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
   where a.booking_id = b.id and a.released_at is null;
  if b.assignment_state = 'confirmed' and current_tables = (select pg_catalog.array_agg(x order by x) from pg_catalog.unnest(p_table_numbers) x) then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged', 'tables', pg_catalog.to_jsonb(current_tables));
  end if;

  violation := private.plan_violation(b, ids, (private.settings_for(b.restaurant_id)).max_tables_per_booking);
  if violation is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('those tables break a rule: %s', violation);
  end if;
  busy := private.busy_tables(b, ids);
  if busy is not null then
    raise exception using errcode = 'AS009',
      message = pg_catalog.format('already taken for this booking''s time: %s', pg_catalog.array_to_string(busy, ', ')),
      hint = 'See ops.manual_review_queue() for tables that are free.';
  end if;

  -- Walk the state machine to manual_review → assigned → confirmed, recording the operator at each step.
  if b.assignment_state = 'confirmed' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'assignment_pending',
      b.assignment_state_version, 'ops_reassignment: ' || p_reason, '{}'::jsonb, p_actor);
    b.assignment_state := 'assignment_pending';
  end if;
  if b.assignment_state = 'assignment_in_progress' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'assignment_pending',
      b.assignment_state_version, 'lease_expired: taken over by an operator', '{}'::jsonb, p_actor);
    b.assignment_state := 'assignment_pending';
  end if;
  if b.assignment_state <> 'manual_review' then
    b.assignment_state_version := private.apply_assignment_transition(b.id, 'manual_review',
      b.assignment_state_version, 'ops_assignment: ' || p_reason, '{}'::jsonb, p_actor);
  end if;
  b.assignment_state_version := private.seat_and_confirm(b, ids, 'ops', p_actor, 'manual', p_reason,
    pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(p_table_numbers)), '{}'::jsonb, p_actor);
  perform private.record_event('assignment.ops', 'ops.manual_assign', 'info',
    pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(p_table_numbers), 'previous', pg_catalog.to_jsonb(current_tables)),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'tables', pg_catalog.to_jsonb(p_table_numbers),
                                       'version', b.assignment_state_version);
end $$;

-- ops.set_rollout_percentage, body as in 20261201101800, saying when the percentage changes nothing: with the
-- default mode v3 (a fresh install's) the restaurants outside the rollout run v3 as well.
create or replace function ops.set_rollout_percentage(p_percentage integer, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  default_mode text;
begin
  perform private.act_as(p_actor, p_reason);
  if p_percentage is null or p_percentage not between 0 and 100 then
    raise exception using errcode = 'AS005', message = 'percentage must be between 0 and 100';
  end if;
  update private.rollout_settings set rollout_percentage = p_percentage, updated_at = pg_catalog.now()
  returning rollout_settings.default_mode into default_mode;
  if default_mode = 'v3' and p_percentage < 100 then
    return ops.rollout_status() || pg_catalog.jsonb_build_object('note',
      'the default mode is v3, so the restaurants outside the rollout run v3 too: set it to legacy first (ops.set_default_mode(''legacy'', …)) for the percentage to choose who runs v3');
  end if;
  return ops.rollout_status();
end $$;

comment on function ops.health(timestamptz) is
  'One-line pipeline health: status ok | degraded | down with the problems found, queue depth, oldest due booking, in-progress counts, open breakers, pg_net worker and dispatch configuration (a dispatch refused with 401/403/404 is a configuration problem: down), sweeper liveness (scheduled, active, a run started in the last 2 minutes, last run not failed), notification backlog (dead: every dead message; dead_resendable: those about bookings still ahead that ops.resend_dead_messages would queue, the only ones that degrade health), and the rollout plan''s rollback triggers: a breaker open over 5 minutes, manual review above 10 % of the last hour''s bookings (judged from 20 bookings). p_now is for tests.';

comment on function ops.assign_tables(uuid, text[], text, text) is
  'Assign the named tables to a booking by hand, e.g. select ops.assign_tables(''<booking id>'', array[''M5'',''M6''], ''ana (ops)''). Same rules as the engine (AS007), refuses taken tables (AS009), tables named twice or null (AS005), a booking whose stay is over or whose party has arrived or finished (AS001); idempotent, confirms the booking and records the operator in its history.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
