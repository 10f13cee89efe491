

-- Record who is acting, for the settings audit (see private.audit_settings_change) and the state history.
-- The actor is stamped with the statement's start time so it covers this statement only, not later
-- statements of the same transaction.
create function private.act_as(p_actor text, p_reason text default null)
returns text language plpgsql set search_path = '' as $$
begin
  if coalesce(pg_catalog.btrim(p_actor), '') = '' then
    raise exception using errcode = 'AS005', message = 'say who is acting: pass p_actor (a name or ticket, not a guest''s data)';
  end if;
  perform pg_catalog.set_config('pipeline.actor', pg_catalog.statement_timestamp()::text || '|' || p_actor, true);
  perform pg_catalog.set_config('pipeline.reason', coalesce(p_reason, ''), true);
  return p_actor;
end $$;

create function private.booking_for_ops(p_booking_id uuid)
returns public.bookings language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('booking', p_booking_id));
  select * into b from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003', message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  if b.assignment_state = 'assignment_in_progress' and b.lease_expires_at > pg_catalog.now() then
    raise exception using errcode = 'AS008',
      message = pg_catalog.format('booking %s is being assigned right now; try again in a few seconds', p_booking_id);
  end if;
  return b;
end $$;

-- ---------------------------------------------------------------------------------------------------
-- Health

-- The sweeper is alive when its cron job is scheduled and active and a run started within the last
-- two minutes (pg_cron ≥ 1.5 starts one every 5 s; on 1.4 a run starts every minute and sweeps for 55 s),
-- and the last run did not fail. The last run's status alone is not enough: an unscheduled or stopped
-- job keeps its last "succeeded" forever.
create function ops.health(p_now timestamptz default now())
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
      'last_response_at', (select max(created) from net._http_response)),
    'sweeper', pg_catalog.jsonb_build_object(
      'scheduled', job.jobid is not null, 'active', coalesce(job.active, false), 'schedule', job.schedule,
      'last_status', sweeper.status, 'last_start', sweeper.start_time, 'seconds_since_last_start', sweeper_age,
      'alive', coalesce(job.active, false) and sweeper_age <= 120 and sweeper.status is distinct from 'failed'),
    'notifications', (select pg_catalog.jsonb_build_object(
        'pending', count(*) filter (where status in ('pending', 'sending')),
        'dead', count(*) filter (where status = 'dead')) from public.notification_outbox)
  ) into result;

  if not worker_up then problems := pg_catalog.array_append(problems, 'pg_net worker is down'); end if;
  if not dispatch_configured then problems := pg_catalog.array_append(problems, 'dispatch URL/secret missing from Vault'); end if;
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
  if coalesce((result ->> 'oldest_due_seconds')::int, 0) > 120 then problems := pg_catalog.array_append(problems, 'queue is falling behind'); end if;
  if (result -> 'notifications' ->> 'dead')::int > 0 then problems := pg_catalog.array_append(problems, 'dead notifications'); end if;
  return pg_catalog.jsonb_build_object(
    'status', case when not worker_up or not dispatch_configured then 'down'
                   when pg_catalog.cardinality(problems) > 0 then 'degraded' else 'ok' end,
    'problems', pg_catalog.to_jsonb(problems)) || result;
end $$;
comment on function ops.health(timestamptz) is
  'One-line pipeline health: status ok | degraded | down with the problems found, queue depth, oldest due booking, in-progress counts, open breakers, pg_net worker and dispatch configuration, sweeper liveness (scheduled, active, a run started in the last 2 minutes, last run not failed), notification backlog. p_now is for tests.';

-- ---------------------------------------------------------------------------------------------------
-- The manual-review queue

create function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb)
language sql stable security definer set search_path = '' as $$
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Alternatives an operator can take with ops.assign_tables: free single tables that seat the party,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed,
         -- fewer tables first, least waste first.
         coalesce((
           select pg_catalog.jsonb_agg(option order by rank, option)
             from (
               select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                 from private.usable_tables(b.restaurant_id) t
                where b.party_size between t.min_party_size and t.max_party_size
                  and private.busy_tables(b, array[t.id]) is null
               union all
               select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                         from public.restaurant_tables t where t.id = any(g.table_ids)),
                      100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                 from private.table_groups(b.restaurant_id,
                        (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                where g.seats >= b.party_size
                  and g.seats - (select min(t.capacity) from public.restaurant_tables t where t.id = any(g.table_ids))
                      < b.party_size
                  and private.busy_tables(b, g.table_ids) is null
               limit 10) options), '[]'::jsonb)
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;
comment on function ops.manual_review_queue(uuid) is
  'Bookings waiting for an operator, soonest first, with the reason and the free tables (or combinations of adjacent tables) that would seat them now.';

-- ---------------------------------------------------------------------------------------------------
-- Acting on one booking

create function ops.assign_tables(p_booking_id uuid, p_table_numbers text[], p_actor text,
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
  if coalesce(pg_catalog.cardinality(p_table_numbers), 0) = 0 then
    raise exception using errcode = 'AS005', message = 'name at least one table, e.g. array[''M5'',''M6'']';
  end if;
  -- The restaurant lock before the booking's locks: the order every writer follows (see the coordinator
  -- RPCs), so an operator and a re-optimising commit can never deadlock.
  perform private.lock_restaurant(x.restaurant_id) from public.bookings x where x.id = p_booking_id;
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    raise exception using errcode = 'AS001', message = pg_catalog.format('booking %s is cancelled', p_booking_id);
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
comment on function ops.assign_tables(uuid, text[], text, text) is
  'Assign the named tables to a booking by hand, e.g. select ops.assign_tables(''<booking id>'', array[''M5'',''M6''], ''ana (ops)''). Same rules as the engine (AS007), refuses taken tables (AS009), idempotent, confirms the booking and records the operator in its history.';

create function ops.retry_booking(p_booking_id uuid, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  version integer;
begin
  perform private.act_as(p_actor);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('only bookings in manual review can be retried; this one is %s', b.assignment_state);
  end if;
  version := private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
    'ops_retry: sent back to automatic assignment', '{}'::jsonb, p_actor);
  perform private.nudge(b.id, 'ops_retry');
  return pg_catalog.jsonb_build_object('outcome', 'queued', 'version', version);
end $$;
comment on function ops.retry_booking(uuid, text) is
  'Send a booking in manual review back to automatic assignment with a fresh attempt budget.';

create function ops.cancel_booking(p_booking_id uuid, p_reason text, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
begin
  perform private.act_as(p_actor, p_reason);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state = 'cancelled' then
    return pg_catalog.jsonb_build_object('outcome', 'unchanged');
  end if;
  return public.cancel_booking(b.id, coalesce(p_reason, 'cancelled by ops'), p_actor);
end $$;
comment on function ops.cancel_booking(uuid, text, text) is
  'Cancel a booking and release its tables in the same transaction. Cancelling twice is harmless.';

-- Everything ops.stuck_bookings lists can be released: a running booking goes back to the queue (its
-- lease is void, so a worker that wakes up finds lease_lost), a waiting one is dispatched again, and one
-- left in "assigned" (tables written, never confirmed) goes to manual review with its tables released.
-- An operator's release is not an error of the restaurant: it does not count toward the circuit breaker.
create function ops.release_stuck(p_older_than_minutes integer, p_actor text)
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
            where private.is_unsettled(assignment_state)
              and updated_at < pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes)
            order by updated_at
            for update skip locked loop
    -- A call that holds the booking right now (begin, commit, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
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
comment on function ops.release_stuck(integer, text) is
  'Unstick bookings with no progress for N minutes (what ops.stuck_bookings lists): running ones lose their lease and go back to the queue, waiting ones are dispatched again, ones stuck in "assigned" go to manual review with their tables released. Bookings another call holds right now are skipped. Not counted as errors by the circuit breaker.';

-- ---------------------------------------------------------------------------------------------------
-- Rollout controls. Every change lands in pipeline_settings_audit with the actor and reason.

create function ops.rollout_status()
returns jsonb language sql stable security definer set search_path = '' as $$
  select pg_catalog.to_jsonb(s) - 'singleton' - 'rollout_salt' || pg_catalog.jsonb_build_object(
           'max_parallel', (private.settings_for(null)).max_parallel,
           'restaurants_by_mode', (select pg_catalog.jsonb_object_agg(mode, n) from (
               select m.mode, count(*) as n from public.restaurants r, private.effective_mode(r.id) m group by m.mode) x))
    from private.rollout_settings s;
$$;
comment on function ops.rollout_status() is 'Current rollout settings and how many restaurants run in each mode.';

create function ops.set_default_mode(p_mode text, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_mode is null or not p_mode = any(private.pipeline_modes()) then
    raise exception using errcode = 'AS005', message = 'mode must be off, legacy, shadow or v3';
  end if;
  update private.rollout_settings set default_mode = p_mode, updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_default_mode(text, text, text) is
  'Mode for restaurants outside the rollout percentage and without an override (off, legacy, shadow, v3).';

create function ops.set_rollout_percentage(p_percentage integer, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_percentage is null or p_percentage not between 0 and 100 then
    raise exception using errcode = 'AS005', message = 'percentage must be between 0 and 100';
  end if;
  update private.rollout_settings set rollout_percentage = p_percentage, updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_rollout_percentage(integer, text, text) is
  'Share of restaurants (by a stable hash of their id) that run v3. Raising it never drops a restaurant that was in.';

create function ops.set_restaurant_mode(p_restaurant_id uuid, p_mode text, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  result jsonb;
begin
  perform private.act_as(p_actor, p_reason);
  if p_mode is not null and not p_mode = any(private.pipeline_modes()) then
    raise exception using errcode = 'AS005', message = 'mode must be off, legacy, shadow, v3, or null to follow the rollout';
  end if;
  if not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  insert into private.restaurant_pipeline_settings as o (restaurant_id, mode) values (p_restaurant_id, p_mode)
  on conflict (restaurant_id) do update set mode = excluded.mode, updated_at = pg_catalog.now();
  select pg_catalog.jsonb_build_object('restaurant_id', p_restaurant_id, 'mode', m.mode, 'reason', m.reason)
    into result from private.effective_mode(p_restaurant_id) m;
  return result;
end $$;
comment on function ops.set_restaurant_mode(uuid, text, text, text) is
  'Override one restaurant''s mode (off, legacy, shadow, v3), or pass null to let the rollout decide again.';

create function ops.set_kill_switch(p_on boolean, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_on is null then
    raise exception using errcode = 'AS005', message = 'say true (everything on the legacy path) or false';
  end if;
  if p_on and coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'give a reason when pulling the kill switch';
  end if;
  update private.rollout_settings
     set kill_switch = p_on, kill_switch_reason = case when p_on then p_reason end, updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_kill_switch(boolean, text, text) is
  'Kill switch: true routes every restaurant (except those set to off) to the legacy path from the very next booking, without a redeploy.';

-- What limits a restaurant's concurrency: the database setting (a restaurant's override, else the global
-- value; default 3) is the limit; a function deployment with FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL
-- set can only lower it for the bookings it handles. Every begin records that cap in its start (or
-- rate-limited) event, so the lowest cap seen in the last 15 minutes is reported next to the database value.
create function private.max_parallel_report(p_restaurant_id uuid)
returns jsonb language sql stable set search_path = '' as $$
  select pg_catalog.jsonb_build_object(
           'restaurant_id', p_restaurant_id,
           'max_parallel', db.limit_,
           'global_max_parallel', (private.settings_for(null)).max_parallel,
           'restaurant_override', (select o.max_parallel from private.restaurant_pipeline_settings o
                                    where o.restaurant_id = p_restaurant_id),
           'function_cap_last_15_min', cap.value,
           'effective_max_parallel', least(db.limit_, coalesce(cap.value, db.limit_)))
    from (select (private.settings_for(p_restaurant_id)).max_parallel as limit_) db,
         (select min((e.context ->> 'function_max_parallel')::integer) as value
            from public.observability_events e
           where e.source in ('assignment.coordinator', 'auto_assign')
             and e.event_type in ('coordinator.start', 'auto_assign.attempt.start', 'coordinator.retry',
                                  'auto_assign.retry_scheduled')
             and e.created_at > pg_catalog.now() - interval '15 minutes'
             and (p_restaurant_id is null or e.restaurant_id = p_restaurant_id)
             and e.context ->> 'function_max_parallel' is not null) cap;
$$;

create function ops.set_max_parallel(p_value integer, p_actor text, p_restaurant_id uuid default null,
                                     p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_value is not null and p_value not between 1 and 20 then
    raise exception using errcode = 'AS005', message = 'max_parallel must be between 1 and 20';
  end if;
  if p_restaurant_id is null then
    if p_value is null then
      raise exception using errcode = 'AS005', message = 'the global max_parallel cannot be null';
    end if;
    update private.pipeline_settings set max_parallel = p_value, updated_at = pg_catalog.now();
  else
    if not exists (select 1 from public.restaurants where id = p_restaurant_id) then
      raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
    end if;
    insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (p_restaurant_id, p_value)
    on conflict (restaurant_id) do update set max_parallel = excluded.max_parallel, updated_at = pg_catalog.now();
  end if;
  return private.max_parallel_report(p_restaurant_id);
end $$;
comment on function ops.set_max_parallel(integer, text, uuid, text) is
  'Bookings of one restaurant assigned at once (1–20): globally, or for one restaurant (null there clears the override). Returns the database limit now in force (max_parallel), the lowest FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL cap a function reported in the last 15 minutes, and effective_max_parallel, the smaller of the two.';

create function ops.set_reoptimization(p_on boolean, p_actor text, p_restaurant_id uuid default null,
                                       p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_restaurant_id is null then
    if p_on is null then
      raise exception using errcode = 'AS005', message = 'say true or false for the global setting';
    end if;
    update private.pipeline_settings set reoptimize = p_on, updated_at = pg_catalog.now();
  else
    if not exists (select 1 from public.restaurants where id = p_restaurant_id) then
      raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
    end if;
    insert into private.restaurant_pipeline_settings (restaurant_id, reoptimize) values (p_restaurant_id, p_on)
    on conflict (restaurant_id) do update set reoptimize = excluded.reoptimize, updated_at = pg_catalog.now();
  end if;
  return pg_catalog.jsonb_build_object('restaurant_id', p_restaurant_id,
    'reoptimize', (private.settings_for(p_restaurant_id)).reoptimize);
end $$;
comment on function ops.set_reoptimization(boolean, text, uuid, text) is
  'Re-optimisation (moving confirmed, not-yet-seated bookings to other tables when that lets a new booking in): on or off globally, or for one restaurant (null there follows the global setting). Off by default.';

create function ops.set_shadow_candidate(p_candidate text, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_candidate is null or p_candidate not in ('v3', 'aa') then
    raise exception using errcode = 'AS005', message = 'candidate must be v3 (legacy vs V3) or aa (legacy vs itself, the noise floor)';
  end if;
  update private.rollout_settings set shadow_candidate = p_candidate, updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_shadow_candidate(text, text, text) is
  'What shadow mode compares legacy with: v3, or aa (legacy again, on the same snapshot) to measure the comparison''s noise floor: any aa mismatch means the planner is nondeterministic, and aa''s timing spread is what a v3 timing difference must exceed.';

create function ops.set_retention(p_table text, p_days integer, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_table is null or p_table not in ('observability_events', 'shadow_comparisons', 'pipeline_settings_audit') then
    raise exception using errcode = 'AS005',
      message = 'table must be observability_events, shadow_comparisons or pipeline_settings_audit';
  end if;
  if p_days is null or p_days not between 1 and 3650 then
    raise exception using errcode = 'AS005', message = 'retention must be between 1 and 3650 days';
  end if;
  update private.rollout_settings
     set event_retention_days = case when p_table = 'observability_events' then p_days else event_retention_days end,
         shadow_retention_days = case when p_table = 'shadow_comparisons' then p_days else shadow_retention_days end,
         audit_retention_days = case when p_table = 'pipeline_settings_audit' then p_days else audit_retention_days end,
         updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;
comment on function ops.set_retention(text, integer, text, text) is
  'How many days rows of observability_events (default 30), shadow_comparisons (90) or pipeline_settings_audit (365) are kept; older ones are pruned nightly.';

create function ops.set_event_retention(p_days integer, p_actor text, p_reason text default null)
returns jsonb language sql security definer set search_path = '' as $$
  select ops.set_retention('observability_events', p_days, p_actor, p_reason);
$$;
comment on function ops.set_event_retention(integer, text, text) is
  'How many days observability events are kept (pruned nightly). Shorthand for ops.set_retention(''observability_events'', …).';

create function ops.restaurant_modes()
returns table (restaurant_id uuid, restaurant text, mode text, reason text, rollout_bucket integer)
language sql stable security definer set search_path = '' as $$
  select r.id, r.name, m.mode, m.reason, private.rollout_bucket(r.id, s.rollout_salt)
    from public.restaurants r cross join private.rollout_settings s, private.effective_mode(r.id) m
   order by r.name;
$$;
comment on function ops.restaurant_modes() is 'Each restaurant''s effective mode and why.';

create view ops.rollout_log with (security_invoker = true) as
  select changed_at, actor, database_role, scope, setting, old_value, new_value, reason
    from public.pipeline_settings_audit order by changed_at desc, id desc;
comment on view ops.rollout_log is 'Every settings change, newest first: the rollout log writes itself.';

-- ---------------------------------------------------------------------------------------------------
-- Shadow report

create function ops.shadow_report(p_from timestamptz default now() - interval '24 hours', p_to timestamptz default now())
returns table (restaurant_id uuid, restaurant text, experiment text, comparisons bigint, same_tables_pct numeric,
               same_decision_different_tables_pct numeric, different_decision_pct numeric, candidate_errors bigint,
               avg_score_diff numeric, primary_p95_ms numeric, candidate_p95_ms numeric, ms_diff_p50 numeric,
               ms_diff_p95 numeric)
language sql stable security definer set search_path = '' as $$
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
$$;
comment on function ops.shadow_report(timestamptz, timestamptz) is
  'Shadow comparisons per restaurant and overall (restaurant_id null) for a time window: match rates, candidate errors, score difference, durations (p95 of each; ms_diff_p50 = median of candidate − primary; ms_diff_p95 = p95 of |candidate − primary|). Compare experiment v3 with experiment aa, the noise floor: aa runs the legacy planner twice on the same snapshot, so its mismatch rate shows planner nondeterminism (expected 0) and its ms_diff columns the timing noise between two identical runs.';

revoke all on all functions in schema ops from public, anon, authenticated;
grant execute on all functions in schema ops to service_role;
grant select on ops.rollout_log to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
