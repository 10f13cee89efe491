-- A booking that waits for a slot is never left waiting for a wake that already happened.
--
-- The queue (20261204020000) wakes a restaurant's longest-waiting booking when a slot frees. The wake runs in
-- the transaction that frees the slot, so it sees only the waiting bookings committed before it: a booking
-- that decided to wait while that transaction was committing was seen by neither side and slept until the
-- fallback (10 s), although its slot was free. Any booking can decide to wait that way: at insert (which takes
-- no lock, an insert must never wait for the coordinators) or in assignment_begin (whose count of the slots is
-- serialised with assignment_commit by the restaurant's lock, but not with assignment_fail, an expired lease
-- released by the sweeper or ops freeing a slot).
--
-- A booking behind another that is still asleep in the queue is safe: that one is woken first, and when it
-- leaves its slot its own wake recounts the free slots and wakes this one. So only a booking with nobody asleep
-- ahead of it (by creation, first come first served) is at risk, and it looks again by itself: after 250 ms
-- (the claim loop's own delay for a new booking), then less often the longer the slots stay taken, at most every
-- 2 s. A running coordinator's claim loop takes it when it is due and assignment_begin decides again whether it
-- runs or waits. The bookings asleep behind it keep the fallback (rate_limited_delay_ms, 10 s).

-- How long a booking that finds the slots taken waits before it looks again by itself (ms).
create function private.queue_wait_ms(b public.bookings, p_settings private.pipeline_settings, p_now timestamptz)
returns integer language plpgsql volatile set search_path = '' as $$
begin
  if exists (select 1 from public.bookings w
              where w.restaurant_id = b.restaurant_id and w.deferred_since is not null
                and private.is_queued(w.assignment_state) and w.next_attempt_at > p_now
                and (w.created_at, w.id) < (b.created_at, b.id)) then
    return private.backoff_ms(1, p_settings.rate_limited_delay_ms, p_settings.rate_limited_delay_ms, 200);
  end if;
  return greatest(extract(epoch from private.claim_new_after()) * 1000,
                  least(2000, extract(epoch from p_now - coalesce(b.deferred_since, p_now)) * 1000 / 2))::integer;
end $$;

create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
begin
  if new.assignment_state <> 'created' or new.assignment_state_version <> 1 then
    raise exception using errcode = 'AS004',
      message = 'a new booking starts in assignment state "created" at version 1',
      hint = 'Leave assignment_state and assignment_state_version to their defaults.';
  end if;
  if new.status <> 'pending' then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('a new booking starts pending, not "%s": the pipeline confirms it', new.status);
  end if;
  if new.start_at is not null and new.party_size is not null then
    new := private.apply_turn_policy(new, new.end_at is null);
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or when it looks again by itself (private.queue_wait_ms).
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  if private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := pg_catalog.now()
      + pg_catalog.make_interval(secs => private.queue_wait_ms(new, settings, pg_catalog.now()) / 1000.0);
  end if;
  return new;
end $$;

create or replace function public.assignment_begin(
  p_booking_id uuid,
  p_trigger text default 'dispatch',
  p_max_parallel integer default null,
  p_mode_ceiling text default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
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
  slot_wait_ms := private.lock_restaurant(restaurant);
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
    -- Waiting to be woken, or to look again by itself when nobody asleep is ahead of it (see the header).
    delay := private.queue_wait_ms(b, settings, p_now);
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
    'lock_wait_ms', lock_wait_ms, 'slot_wait_ms', slot_wait_ms,
    'snapshot', private.assignment_snapshot(b, settings));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
