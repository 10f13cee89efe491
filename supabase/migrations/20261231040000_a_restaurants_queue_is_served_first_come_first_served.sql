-- A restaurant's queue is served first come, first served, and a wait that runs out says whether the
-- restaurant is stuck or busy.
--
-- A review of fairness found that a freed slot went to whichever queued booking reached the lease first. A
-- wake makes the longest-waiting bookings due, but every queued booking also falls due on its own 10 s
-- fallback timer, which a claim takes in the order of its due time, and the lease let in any booking that
-- found a slot free: in a long reservation drop an early booking could keep losing its turn to later ones,
-- and with the wait limit (max_deferral_seconds) counted from when each joined the queue, which ones went
-- to review as rate_limited was close to random. Now a lease that finds slots free gives them first to the
-- restaurant's queued bookings inserted before its own (by arrival, as a wake takes them), wakes those of
-- them asleep, and defers its own booking when they fill the free slots; while the breaker is half-open,
-- the one slot it lets run is the free one. The lease passes over a booking ahead, leaving it no slot,
-- when another transaction holds its row (one left open must not hold the whole restaurant; a claim or a
-- sweep handing it out holds it a moment too, so the rule is not strict there), when it was handed out
-- three times without a begin reaching it, or when it fails on its own (private.waits_its_turn). The wait
-- limit still counts from joining the queue, so what a long queue sends to review is its last arrivals.
--
-- The rate_limited reason said to release bookings stuck in progress even when nothing was stuck and the
-- queue was long; it now says how many are in progress and how many wait their turn ahead, and which
-- remedy fits which (its history and event metadata carry both counts; a deferral's coordinator.retry
-- event says how many free slots it left to earlier bookings, left_to_earlier).
--
-- Bodies as in 20261226030000 (assignment_lease_unchecked) and 20261227110000 (defer_attempt), with those
-- changes.

-- Whether a queued booking waits its turn in its restaurant's queue, so that bookings inserted after it leave
-- it a free slot: not one handed out three times without a begin reaching it (whose begin fails, or whose
-- booking an operator's call holds; it keeps its place in the wakes' order and runs when it next begins), or as
-- many as max_dispatches when that is lower (it is not handed out again), nor one failing on its own
-- (20261227080000).
create function private.waits_its_turn(w public.bookings, p_now timestamptz, p_max_dispatches integer)
returns boolean language sql stable set search_path = '' as $$
  select private.is_queued(w.assignment_state) and w.dispatch_count < least(3, p_max_dispatches)
         and not private.failed_lately(w.id, p_now);
$$;

create or replace function private.defer_attempt(b public.bookings, p_why text, p_delay_ms integer, p_settings private.pipeline_settings,
                                      p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  since timestamptz;
  waited text;
  reason text;
  running integer;
  ahead integer;
begin
  select coalesce(x.deferred_since, p_now) into since from public.bookings x where x.id = b.id;
  if p_now - since < pg_catalog.make_interval(secs => p_settings.max_deferral_seconds) then
    update public.bookings
       set deferred_since = since,
           next_attempt_at = p_now + least(pg_catalog.make_interval(secs => p_delay_ms / 1000.0),
                                           since + pg_catalog.make_interval(secs => p_settings.max_deferral_seconds) - p_now)
     where id = b.id;
    return null;
  end if;
  -- What the operator needs to tell a stuck restaurant from a busy one: a queue that moves has few in progress
  -- for long and many ahead; counted only here, when a wait runs out.
  if p_why = 'rate_limited' then
    select count(*) into running from public.bookings x
     where x.restaurant_id = b.restaurant_id and x.assignment_state = 'assignment_in_progress';
    select count(*) into ahead from public.bookings w
     where w.restaurant_id = b.restaurant_id and w.deferred_since is not null
       and w.created_at < b.created_at and private.waits_its_turn(w, p_now, p_settings.max_dispatches);
  end if;
  waited := pg_catalog.round(extract(epoch from p_now - since) / 60)::text || ' min';
  reason := case p_why
    when 'circuit_open' then pg_catalog.format(
      'circuit_open: this booking waited %s for tables while automatic assignment at this restaurant is paused by its circuit breaker after repeated errors or attempts whose lease ran out; fix the cause (see its coordinator.error events, and coordinator.retry events with reason lease_expired), then ops.reset_circuit_breaker() and ops.retry_bookings(''circuit_open'', ...)',
      waited)
    else pg_catalog.format(
      'rate_limited: waited %s in the restaurant''s queue for one of its %s assignment slots; %s in progress and %s waiting ahead of it now; bookings that stay in progress are stuck: release them (ops.release_stuck()); a long queue ahead is more bookings than the slots assign: raise ops.set_max_parallel() (a lower FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL of the functions still caps it); then ops.retry_bookings(''rate_limited'', ...)',
      waited, p_settings.max_parallel, running, ahead) end;
  perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, reason,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'deferred_by', p_why, 'waited_ms', round(extract(epoch from p_now - since) * 1000),
      'in_progress', running, 'ahead', ahead)),
    'coordinator');
  -- Named for the path of this attempt: assignment_begin records the attempt's mode on the booking before
  -- it consults the breaker or the slots.
  perform private.record_escalation(private.booking_mode(b.id), reason, b.attempt_count, null,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'waited_ms', round(extract(epoch from p_now - since) * 1000), 'in_progress', running, 'ahead', ahead)),
    b.restaurant_id, b.id, 'error');
  return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', reason);
end $$;

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
  free integer;
  ahead uuid[] := '{}';
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
    free := settings.max_parallel - running;
    -- Half-open, the breaker lets one booking run, the probe: its slot is the one free.
    if coalesce((admit ->> 'probe')::boolean, false) then
      free := least(free, 1);
    end if;
    -- First come, first served: the free slots go first to the restaurant's queued bookings inserted before
    -- this one that wait their turn (private.waits_its_turn), in the order a wake takes them (bookings inserted
    -- together are served in any order). One locked by another transaction is passed over, not counted: a
    -- transaction left open on it must not hold the restaurant. Those of them asleep, neither due nor handed
    -- out a moment ago, are woken: the slots are theirs.
    if free > 0 then
      ahead := array(select w.id from public.bookings w
                      where w.restaurant_id = b.restaurant_id and w.deferred_since is not null
                        and w.created_at < b.created_at and private.waits_its_turn(w, p_now, settings.max_dispatches)
                      order by w.created_at, w.id
                      limit free
                      for no key update skip locked);
      if pg_catalog.cardinality(ahead) > 0 then
        perform private.wake_bookings(array(select w.id from public.bookings w
                                             where w.id = any(ahead) and w.next_attempt_at > p_now
                                               and not coalesce(w.last_dispatched_at > p_now - private.nudge_grace()
                                                                and w.updated_at <= w.last_dispatched_at, false)),
                                      p_now);
      end if;
    end if;
  end if;
  if not (admit ->> 'allowed')::boolean or pg_catalog.cardinality(ahead) >= free then
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
    -- Made the probe but no slot is free (attempts let in before the breaker opened still run), or the free ones
    -- go to bookings ahead of it: the probe goes to the next booking that finds one, rather than waiting out this
    -- one's deferral while slots free up.
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
                                    'in_progress', running, 'left_to_earlier', pg_catalog.cardinality(ahead),
                                    'max_parallel', settings.max_parallel,
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

revoke all on all routines in schema private from public, anon, authenticated;
