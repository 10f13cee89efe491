-- Bookings waiting out a restaurant's circuit breaker come due in their queue's order, not all at once.
--
-- A booking begun while the breaker is open is deferred until the breaker's cooldown ends, and one begun while
-- it is half open (its probe under way) 1–5 s, until the probe could be replaced. Every booking of the
-- restaurant's queue was given that same due time: when the cooldown ended they were all handed out by one
-- claim or sweep, each took the restaurant's lock to be begun, one became the probe, and the rest were deferred
-- again, 1–5 s, all together, for as long as the probe ran; a drop of bookings at a restaurant whose engine
-- kept failing was begun in bursts of hundreds (about 300 begins per cooldown, measured in a re-read of
-- 20261231500000), which held up every other restaurant's claims as the polls of a long queue had
-- (20261231500000). Nothing needs them then: the breaker lets one probe through, and once the probe closes it
-- its report frees its slot, which wakes the queue in its order as slots free (wake_next_deferred), as for a
-- queue waiting for a slot.
--
-- Now a booking deferred by the breaker waits what the breaker asks plus one rate_limited_delay_ms for each
-- round of the restaurant's max_parallel slots that the bookings waiting before it fill
-- (private.queue_rounds_ahead, as a wait for a slot does, 20261231500000), up to max_deferral_seconds from
-- when its wait began, as before, counted again at each look: the first round (max_parallel bookings) still
-- comes due when the cooldown ends and one of it makes the probe, the rest of that round look again every
-- 1–5 s while the probe runs, and later rounds come due a round at a time, rate_limited_delay_ms apart. A
-- booking still waiting when max_deferral_seconds run out is sent to review at that time, as before. Every way
-- a booking leaves a slot wakes the queue (wake_next_deferred), a probe that fails too, and a breaker closed
-- by hand is woken by the next stranded-queue pass; so the bound breaker_admit's comment gives a missed wake
-- (5 s, 20261224010000) now holds for the first round, and a later round's wait is its fallback.
--
-- private.assignment_lease_unchecked: as in 20261231500000, with that wait; private.queue_rounds_ahead's comment
-- says it serves both waits.

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
  -- Its commit need not wait for the disk (see 20261205020000), unless it runs inside a transaction that wrote
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
  -- Capacity is verified when a booking comes in (before it is walked past capacity_verified) and whenever an
  -- attempt begins: a booking sent back by ops, or changed after confirmation, must still fit the floor plan
  -- and the service hours. A lease that only defers a booking verified before (queued behind its restaurant's
  -- slots or its breaker) verifies nothing: the check runs under the restaurant's lock, and in a room whose
  -- tables join its search was most of every deferral's time.
  if b.assignment_state <> 'assignment_pending' then
    problem := private.capacity_problem(b, settings.max_tables_per_booking);
    if problem is not null then
      perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, problem,
        trigger_only, 'coordinator');
      perform private.record_escalation(mode, problem, b.attempt_count, null, trigger_only, b.restaurant_id, b.id);
      return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', problem);
    end if;
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
    running := private.bookings_in_progress(b.restaurant_id);
  end if;
  if not (admit ->> 'allowed')::boolean or running >= settings.max_parallel then
    if pg_catalog.cardinality(walk) > 0 then
      b.assignment_state_version := private.walk_assignment_states(b.id, walk, b.assignment_state_version, null,
        walk_metadata, 'coordinator', null, p_now);
      b.assignment_state := 'assignment_pending';
    end if;
    if not (admit ->> 'allowed')::boolean then
      -- What the breaker asks, and one wait for a slot more for each round of slots queued ahead (see the
      -- header): the first round makes the probe, the rest wait to be woken.
      delay := least((admit ->> 'delay_ms')::integer
                       + private.queue_rounds_ahead(b.restaurant_id, b.created_at, b.id, settings)
                         * settings.rate_limited_delay_ms::bigint,
                     settings.max_deferral_seconds * 1000::bigint);
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
    -- A wait for a slot (the first step of the backoff, never growing), with a little jitter, and one more for
    -- each round of the restaurant's slots queued ahead of it (see the header).
    delay := least(private.backoff_ms(1, settings.rate_limited_delay_ms, settings.rate_limited_delay_ms, 200)
                     + private.queue_rounds_ahead(b.restaurant_id, b.created_at, b.id, settings)
                       * settings.rate_limited_delay_ms::bigint,
                   settings.max_deferral_seconds * 1000::bigint);
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

  -- A queued booking about to begin is verified now (see above). Sent to review instead, it gives back the
  -- breaker's probe it may have been handed, for the next booking.
  if b.assignment_state = 'assignment_pending' then
    problem := private.capacity_problem(b, settings.max_tables_per_booking);
    if problem is not null then
      if coalesce((admit ->> 'probe')::boolean, false) then
        perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
      end if;
      perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, problem,
        trigger_only, 'coordinator');
      perform private.record_escalation(mode, problem, b.attempt_count, null, trigger_only, b.restaurant_id, b.id);
      return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', problem);
    end if;
  end if;

  -- The lease runs from now, with its locks held, on the default clock (see the header).
  perform private.walk_assignment_states(b.id, walk || 'assignment_in_progress'::text, b.assignment_state_version,
    null, walk_metadata || pg_catalog.jsonb_build_object('trigger', p_trigger, 'attempt', b.attempt_count + 1),
    'coordinator', null,
    case when p_now = pg_catalog.now() then pg_catalog.clock_timestamp() else p_now end, p_count_attempt => true);
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

comment on function private.queue_rounds_ahead(uuid, timestamptz, uuid, private.pipeline_settings) is
  'Whole rounds of the restaurant''s max_parallel slots that the bookings waiting in its queue ahead of a booking fill (made before p_created_at, p_id), up to 60: a booking deferred at a begin, for a slot or by the circuit breaker, waits one rate_limited_delay_ms more per round, beyond the first wait for a slot or what the breaker asks (20261231500000, 20261231510000).';

revoke all on all routines in schema private from public, anon, authenticated;
