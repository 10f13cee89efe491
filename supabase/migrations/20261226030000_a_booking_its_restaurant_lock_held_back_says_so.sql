-- A booking the coordinator could not begin because its restaurant stayed locked goes to review saying so, and
-- a probe that finds no free slot hands the probe on.
--
-- A review of the queue's liveness found: each claim and sweep dispatch counts toward the booking's 12, and
-- only a lease that takes the restaurant's lock starts the count over. While another caller held that lock
-- past the lease's 5 s wait (an operator's transaction left open in Studio, a long bulk call), every lease
-- gave up (55P03) and left nothing behind, so after about 10 minutes the sweeper sent each of the
-- restaurant's waiting bookings to review as coordinator_unreachable — "the coordinator did not answer",
-- pointing operators at pg_net and Vault while the coordinator was answering every time. The lease now
-- catches that wait running out, records coordinator.lock_contention {lock: restaurant} (auto_assign.* on
-- the legacy path) and answers busy (restaurant_locked), which the coordinator leaves for the next claim as
-- before; the sweeper's escalation counts those events since the booking's last attempt began and, when they
-- are at least half its dispatches, gives the new reason code restaurant_locked, with what to look for. A booking no lease reached is named for its
-- restaurant's mode under the function's flags as last heard (20261226020000), not the database's alone.
--
-- A review of the breaker found that the booking that turned a breaker half-open became its probe before the
-- slot count, and when every slot was taken (attempts let in before the breaker opened, still running) it was
-- deferred for a slot and stayed the probe: every other booking waited for it, slots freed meanwhile unused,
-- until its own deferral ran out (about 10 s). Such a probe is now handed on at once: the next booking that
-- finds a free slot probes.
-- Bodies as in 20261216000000 (lease) and 20261209050000 (sweep), with those changes.

insert into private.reason_codes (code, meaning)
values ('restaurant_locked', 'dispatched until escalation while another transaction held the restaurant''s lock');

create or replace function private.assignment_lease_unchecked(p_booking_id uuid, p_trigger text default 'dispatch',
                                                   p_max_parallel integer default null,
                                                   p_mode_ceiling text default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  settings private.pipeline_settings;
  mode text;
  mode_reason text;
  problem text;
  admit jsonb;
  running integer;
  delay integer;
  restaurant uuid;
  started timestamptz;
  lock_wait_ms numeric;
  slot_wait_ms numeric;
  outcome jsonb;
  walk text[];
  walk_metadata jsonb[];
  trigger_only jsonb := pg_catalog.jsonb_build_object('trigger', p_trigger);
begin
  -- Its commit need not wait for the disk (see the header), unless it runs inside a transaction that wrote
  -- before it.
  if pg_catalog.pg_current_xact_id_if_assigned() is null then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  if p_booking_id is null then
    raise exception using errcode = 'AS005', message = 'booking_id is required';
  end if;
  if p_max_parallel is not null and p_max_parallel < 1 then
    raise exception using errcode = 'AS005', message = 'max_parallel must be at least 1';
  end if;
  if p_mode_ceiling is not null and p_mode_ceiling not in ('legacy', 'shadow') then
    raise exception using errcode = 'AS005', message = 'mode ceiling must be legacy, shadow or null';
  end if;
  select x.restaurant_id into restaurant from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "noop", "reason": "booking_not_found"}'::jsonb;
  end if;
  -- The restaurant lock first (see the lock order in the coordinator's RPCs). It also guards the slot count.
  -- Held by another caller past the RPC's wait (an operator's transaction left open, a long bulk call): the
  -- coordinator answered but cannot begin. Recorded, so that the sweeper's escalation, if it comes to that,
  -- names the lock rather than the coordinator.
  begin
    slot_wait_ms := private.lock_restaurant(restaurant);
  exception when lock_not_available then
    -- The event's reference to the booking may wait for the same holder: briefly, and answered busy either way.
    begin
      perform pg_catalog.set_config('lock_timeout', '500ms', true);
      perform private.record_pipeline_event(d.mode, 'coordinator.lock_contention', 'warning',
        pg_catalog.jsonb_build_object('trigger', p_trigger, 'lock', 'restaurant'), restaurant, p_booking_id)
        from private.decide_mode(restaurant, p_mode_ceiling) d;
    exception when lock_not_available then
      null;
    end;
    return '{"outcome": "busy", "reason": "restaurant_locked"}'::jsonb;
  end;
  started := pg_catalog.clock_timestamp();
  if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', p_booking_id)) then
    perform private.record_pipeline_event(d.mode, 'coordinator.lock_contention', 'warning',
      pg_catalog.jsonb_build_object('trigger', p_trigger, 'lock', 'booking', 'slot_wait_ms', slot_wait_ms),
      restaurant, p_booking_id)
      from private.decide_mode(restaurant, p_mode_ceiling) d;
    return '{"outcome": "busy", "reason": "booking_locked"}'::jsonb;
  end if;
  select * into b from public.bookings where id = p_booking_id for update;
  lock_wait_ms := round(extract(epoch from pg_catalog.clock_timestamp() - started) * 1000, 3);
  if not found then
    return '{"outcome": "noop", "reason": "booking_not_found"}'::jsonb;
  end if;
  -- The coordinator answered, so dispatching worked; the sweeper's escalation counter starts over.
  update public.bookings set dispatch_count = 0 where id = b.id and dispatch_count <> 0;

  if b.assignment_state in ('confirmed', 'cancelled', 'manual_review', 'assigned') then
    return pg_catalog.jsonb_build_object('outcome', 'noop', 'reason', 'terminal_state', 'state', b.assignment_state);
  end if;
  if b.assignment_state = 'assignment_in_progress' then
    if b.lease_expires_at > p_now then
      perform private.record_pipeline_event(b.assignment_mode, 'coordinator.lock_contention', 'warning',
        pg_catalog.jsonb_build_object('trigger', p_trigger, 'lock', 'lease'), b.restaurant_id, b.id);
      return '{"outcome": "busy", "reason": "leased"}'::jsonb;
    end if;
    outcome := private.expire_lease(b.id, p_now);
    if outcome ->> 'outcome' = 'manual_review' then
      return outcome;
    end if;
    select * into b from public.bookings where id = p_booking_id;
  end if;

  -- The mode, decided now so a settings change applies to the very next booking; the function's feature flags
  -- may only lower it. Recorded on the booking before any event of this attempt is named for its path.
  select d.mode, d.reason into mode, mode_reason from private.decide_mode(b.restaurant_id, p_mode_ceiling) d;
  update public.bookings set assignment_mode = mode where id = b.id and assignment_mode is distinct from mode;
  if mode = 'off' then
    problem := pg_catalog.format('automatic_assignment_off: automatic assignment is off for this restaurant (%s); assign tables by hand',
                                 mode_reason);
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, problem,
      pg_catalog.jsonb_build_object('trigger', p_trigger, 'mode', mode), 'coordinator');
    perform private.record_escalation(mode, problem, 0, null, '{}'::jsonb, b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', problem);
  end if;

  settings := private.settings_for(b.restaurant_id, p_max_parallel);
  -- Capacity is verified on every begin: a booking sent back by ops, or changed after confirmation, must still
  -- fit the floor plan and the service hours.
  problem := private.capacity_problem(b, settings.max_tables_per_booking);
  if problem is not null then
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, problem,
      trigger_only, 'coordinator');
    perform private.record_escalation(mode, problem, b.attempt_count, null, trigger_only, b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', problem);
  end if;
  -- The steps still ahead of assignment_pending.
  if b.assignment_state = 'created' then
    walk := array['capacity_verified', 'assignment_pending'];
    walk_metadata := array[trigger_only, trigger_only];
  elsif b.assignment_state = 'capacity_verified' then
    walk := array['assignment_pending'];
    walk_metadata := array[trigger_only];
  else
    walk := '{}';
    walk_metadata := '{}';
  end if;

  admit := private.breaker_admit(b.restaurant_id, b.id, p_now);
  if (admit ->> 'allowed')::boolean then
    -- The concurrency slot, counted under the restaurant lock taken above (enforce_max_parallel takes it too).
    select count(*) into running from public.bookings
     where restaurant_id = b.restaurant_id and assignment_state = 'assignment_in_progress';
  end if;
  if not (admit ->> 'allowed')::boolean or running >= settings.max_parallel then
    if pg_catalog.cardinality(walk) > 0 then
      b.assignment_state_version := private.walk_assignment_states(b.id, walk, b.assignment_state_version, null,
        walk_metadata, 'coordinator', null, p_now);
      b.assignment_state := 'assignment_pending';
    end if;
    if not (admit ->> 'allowed')::boolean then
      delay := (admit ->> 'delay_ms')::integer;
      outcome := private.defer_attempt(b, 'circuit_open', delay, settings, p_now);
      if outcome is not null then
        return outcome;
      end if;
      perform private.record_pipeline_event(mode, 'coordinator.circuit_open', 'warning',
        pg_catalog.jsonb_build_object('trigger', p_trigger, 'delay_ms', delay, 'state', admit ->> 'state'),
        b.restaurant_id, b.id);
      return pg_catalog.jsonb_build_object('outcome', 'circuit_open', 'delay_ms', delay);
    end if;
    -- Made the probe but no slot is free (attempts let in before the breaker opened still run): the probe goes
    -- to the next booking that finds one, rather than waiting out this one's deferral while slots free up.
    if coalesce((admit ->> 'probe')::boolean, false) then
      perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    end if;
    -- A fixed wait for a slot (the first step of the backoff, never growing), with a little jitter.
    delay := private.backoff_ms(1, settings.rate_limited_delay_ms, settings.rate_limited_delay_ms, 200);
    outcome := private.defer_attempt(b, 'rate_limited', delay, settings, p_now);
    if outcome is not null then
      return outcome;
    end if;
    perform private.record_pipeline_event(mode, 'coordinator.retry', 'info',
      pg_catalog.jsonb_build_object('reason', 'rate_limited', 'delay_ms', delay, 'attempts', b.attempt_count,
                                    'in_progress', running, 'max_parallel', settings.max_parallel,
                                    'function_max_parallel', p_max_parallel),
      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'rate_limited', 'delay_ms', delay);
  end if;

  perform private.walk_assignment_states(b.id, walk || 'assignment_in_progress'::text, b.assignment_state_version,
    null, walk_metadata || pg_catalog.jsonb_build_object('trigger', p_trigger, 'attempt', b.attempt_count + 1),
    'coordinator', null, p_now, p_count_attempt => true);
  select * into b from public.bookings where id = b.id;
  -- The first implementation's job also announced itself once per booking (auto_assign.started).
  if private.legacy_path(mode) and b.attempt_count = 1 then
    perform private.record_pipeline_event(mode, 'coordinator.started', 'info',
      pg_catalog.jsonb_build_object('trigger', p_trigger, 'status', b.status), b.restaurant_id, b.id);
  end if;
  perform private.record_pipeline_event(mode, 'coordinator.start', 'info',
    pg_catalog.jsonb_build_object('trigger', p_trigger, 'mode_reason', mode_reason,
                                  'attempt', b.attempt_count, 'attempt_index', b.attempt_count - 1,
                                  'lock_wait_ms', lock_wait_ms, 'slot_wait_ms', slot_wait_ms,
                                  'max_parallel', settings.max_parallel,
                                  'function_max_parallel', p_max_parallel,
                                  'probe', coalesce((admit ->> 'probe')::boolean, false)),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object(
    'outcome', 'ready', 'lease_token', b.lease_token, 'attempt', b.attempt_count, 'mode', mode,
    'shadow_candidate', (select r.shadow_candidate from private.rollout_settings r),
    'lock_wait_ms', lock_wait_ms, 'slot_wait_ms', slot_wait_ms);
end $$;

create or replace function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  failed integer := 0;
  woken integer := 0;
  backoff_ms integer;
  reason text;
  locked_out integer;
  configured boolean := private.dispatch_configured();
begin
  -- One sweep at a time: a second waits for the first to finish, then sweeps what is left. Taken before any
  -- other lock, so waiting for it cannot deadlock.
  perform pg_catalog.pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000'));
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    begin
      perform private.expire_lease(r.id, p_now);
      expired := expired + 1;
    exception when others then
      perform private.sweep_row_failed(r.id, 'expire_lease', sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;

  -- Before the due bookings are looked for, so the queues woken now are dispatched by this very sweep.
  woken := private.wake_stranded_queues(p_now);

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where private.is_queued(b.assignment_state) and b.next_attempt_at <= p_now
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    begin
      if r.dispatch_count >= s.max_dispatches then
        -- Begins the coordinator made, since the booking's last attempt began (which started the count over),
        -- that gave up on the restaurant's lock. Most of them: the lock held the booking back, not the network.
        select count(*) into locked_out from public.observability_events e
         where e.booking_id = r.id
           and e.event_type in ('coordinator.lock_contention', 'auto_assign.lock_contention', 'rollout.lock_contention')
           and e.context ->> 'lock' = 'restaurant'
           and e.created_at > coalesce((select max(began.created_at) from public.observability_events began
                                         where began.booking_id = r.id
                                           and began.event_type in ('coordinator.start', 'auto_assign.attempt.start')),
                                       '-infinity');
        reason := case when locked_out * 2 >= r.dispatch_count then
            pg_catalog.format('restaurant_locked: dispatched %s times; the coordinator answered %s of them but could not take the restaurant''s lock within 5 s: a transaction held it (an operator''s left open, a long bulk call: see pg_stat_activity), then retry the booking',
                              r.dispatch_count, locked_out)
          when configured then
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without an attempt beginning (the coordinator did not answer, or its assignment_begin failed: see the functions'' logs)',
                              r.dispatch_count, pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the booking's last mode, or the one it would have run in under the function's flags as last
        -- heard (20261226020000).
        perform private.record_escalation(coalesce(r.assignment_mode,
                                                   (select m.mode from private.decide_mode(r.restaurant_id, private.function_ceiling()) m)),
          reason, r.attempt_count, null,
          pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured),
          r.restaurant_id, r.id, 'error');
        escalated := escalated + 1;
      else
        -- The attempt counts even when nothing could be sent, so a booking still escalates in bounded time.
        -- 5 s, 10 s, 20 s … capped at a minute, plus up to 2 s of jitter.
        backoff_ms := private.backoff_ms(r.dispatch_count + 1, 5000, 60000, 2000);
        update public.bookings
           set dispatch_count = dispatch_count + 1, last_dispatched_at = p_now,
               next_attempt_at = p_now + pg_catalog.make_interval(secs => backoff_ms / 1000.0)
         where id = r.id;
        if private.dispatch_booking(r.id, 'sweeper') is not null then
          dispatched := dispatched + 1;
        else
          not_dispatched := not_dispatched + 1;
        end if;
      end if;
    exception when others then
      perform private.sweep_row_failed(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                       sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;
  if not_dispatched > 0 and not configured then
    perform private.record_event('assignment.sweeper', 'dispatch.not_configured', 'error',
      pg_catalog.jsonb_build_object('not_dispatched', not_dispatched,
        'fix', 'store assignment_functions_url and assignment_pipeline_secret in Vault'), null, null, p_now);
  end if;

  if exists (select 1 from public.notification_outbox o
              where (o.status = 'pending' and o.next_attempt_at <= p_now)
                 or (o.status = 'sending' and o.lease_expires_at <= p_now)) then
    perform private.post_to_function('notification-dispatcher', '{"trigger": "sweeper"}'::jsonb);
  end if;

  if expired + woken + dispatched + not_dispatched + escalated + failed > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched + failed > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                    'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'woken', woken, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
