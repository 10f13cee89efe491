-- The coordinator's RPCs. Each runs in one transaction and takes only transaction-scoped locks, so the
-- edge function can call them through a transaction-mode pooler. The flow for one booking:
--   assignment_begin   → booking lock, lease, capacity verification, breaker, concurrency slot, snapshot
--   (engine plans in TypeScript)
--   assignment_commit  → restaurant lock, re-check, write tables, assigned → confirmed, outbox, events
--   assignment_fail    → retry with backoff, or manual review with a reason
-- Outcomes are returned as JSON ({"outcome": …}); exceptions are reserved for bad input (AS005) and
-- plans that break a rule (AS007), which mean a bug in the caller.
--
-- Lock order, the same for every writer (here, in ops.* and in triggers), so two writers can never wait
-- on each other in a cycle: (1) the restaurant's advisory lock, (2) the booking's advisory lock,
-- (3) booking rows, (4) the restaurant's circuit-breaker row. A writer may skip a level, never go back up.
-- A booking's restaurant_id never changes, so it is read unlocked to find the restaurant lock to take.

create function public.assignment_begin(
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
  -- The restaurant lock first (see the lock order above). It also guards the concurrency slot count below.
  slot_wait_ms := private.lock_restaurant(restaurant);
  started := pg_catalog.clock_timestamp();
  if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', p_booking_id)) then
    -- Named for the mode this call would have run in (the booking's row is not read under the lock).
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

  -- The mode, decided now so a settings change applies to the very next booking. The calling function's
  -- feature flags may only lower it (v3 → shadow → legacy), never raise it. Recorded on the booking at
  -- once, so every event of this attempt (the breaker's too) is named for its path.
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
  -- Capacity is verified on every begin, not only the first: a booking sent back by ops, or changed after
  -- confirmation (a new time or party size), must still fit the floor plan and the service hours.
  problem := private.capacity_problem(b, settings.max_tables_per_booking);
  if problem is not null then
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, problem,
      pg_catalog.jsonb_build_object('trigger', p_trigger), 'coordinator');
    perform private.record_escalation(mode, problem, b.attempt_count, null,
                                      pg_catalog.jsonb_build_object('trigger', p_trigger), b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', problem);
  end if;
  if b.assignment_state = 'created' then
    perform private.apply_assignment_transition(b.id, 'capacity_verified', b.assignment_state_version, null,
      pg_catalog.jsonb_build_object('trigger', p_trigger), 'coordinator');
    b.assignment_state_version := b.assignment_state_version + 1;
    b.assignment_state := 'capacity_verified';
  end if;
  if b.assignment_state = 'capacity_verified' then
    perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, null,
      pg_catalog.jsonb_build_object('trigger', p_trigger), 'coordinator');
    b.assignment_state_version := b.assignment_state_version + 1;
    b.assignment_state := 'assignment_pending';
  end if;

  admit := private.breaker_admit(b.restaurant_id, b.id, p_now);
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

  -- The concurrency slot, counted under the restaurant lock taken above (enforce_max_parallel takes it too).
  select count(*) into running from public.bookings
   where restaurant_id = b.restaurant_id and assignment_state = 'assignment_in_progress';
  if running >= settings.max_parallel then
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

  perform private.apply_assignment_transition(b.id, 'assignment_in_progress', b.assignment_state_version, null,
    pg_catalog.jsonb_build_object('trigger', p_trigger, 'attempt', b.attempt_count + 1), 'coordinator', null, p_now);
  update public.bookings
     set attempt_count = attempt_count + 1,
         assignment_mode = mode
   where id = b.id
  returning * into b;
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
comment on function public.assignment_begin(uuid, text, integer, text, timestamptz) is
  'Start an assignment attempt: decides the restaurant''s mode (off sends the booking to manual review), locks the restaurant then the booking, verifies capacity on every call (party size and service hours; created → capacity_verified → assignment_pending), checks the restaurant''s circuit breaker and concurrency slot (p_max_parallel can lower the database limit, never raise it), then moves it to assignment_in_progress under a lease and returns {outcome: ready, lease_token, attempt, mode, shadow_candidate, lock_wait_ms, slot_wait_ms, snapshot}. Other outcomes: noop, busy, manual_review, circuit_open, rate_limited (with delay_ms); a booking deferred for longer than max_deferral_seconds goes to manual_review instead.';

-- Seat a booking at these tables and confirm it: the one place a booking becomes confirmed, for the
-- coordinator and for an operator alike. Releases what it held, writes the new tables, walks
-- assigned → confirmed from `b`'s version, and queues the guest's message: `booking_confirmed` the first
-- time the booking is confirmed, `booking_changed` after that. Returns the new version. The caller holds the
-- restaurant lock and has checked the rules and availability.
create function private.seat_and_confirm(
  b public.bookings, p_table_ids uuid[], p_source text, p_assigned_by text, p_strategy text,
  p_reason text, p_assigned_metadata jsonb, p_confirmed_metadata jsonb, p_actor text
) returns integer language plpgsql set search_path = '' as $$
declare
  first_confirmation boolean := not exists (
    select 1 from public.booking_assignment_state_history h where h.booking_id = b.id and h.to_state = 'confirmed');
  version integer;
begin
  perform private.release_booking_tables(b.id, 'superseded');
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, t, private.blocked_window(b), p_source, p_assigned_by
    from pg_catalog.unnest(p_table_ids) t;
  version := private.apply_assignment_transition(b.id, 'assigned', b.assignment_state_version, p_reason,
    p_assigned_metadata, p_actor);
  version := private.apply_assignment_transition(b.id, 'confirmed', version, p_reason, p_confirmed_metadata, p_actor);
  update public.bookings set assignment_strategy = p_strategy where id = b.id;
  perform private.enqueue_confirmation(b, first_confirmation);
  return version;
end $$;

create function public.assignment_commit(
  p_booking_id uuid,
  p_lease_token uuid,
  p_table_ids uuid[],
  p_strategy text,
  p_duration_ms integer default null,
  p_metadata jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_moves jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  settings private.pipeline_settings;
  violation text;
  busy text[];
  lock_wait_ms numeric;
  moved jsonb;
  move_count integer := coalesce(pg_catalog.jsonb_array_length(p_moves), 0);
  restaurant uuid;
begin
  if p_booking_id is null or p_lease_token is null or p_strategy is null then
    raise exception using errcode = 'AS005', message = 'booking_id, lease_token and strategy are required';
  end if;
  select x.restaurant_id into restaurant from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  -- Commits of one restaurant are serialised, so the availability re-check below cannot go stale. The
  -- restaurant lock comes before any booking row (the lock order above), including the rows of bookings
  -- that re-optimisation moves.
  lock_wait_ms := private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  settings := private.settings_for(b.restaurant_id);
  violation := private.plan_violation(b, p_table_ids, settings.max_tables_per_booking);
  if violation is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('the proposed tables break a rule: %s', violation);
  end if;

  if move_count > 0 then
    if not settings.reoptimize then
      raise exception using errcode = 'AS005', message = 'moves are only allowed where re-optimisation is on';
    end if;
    moved := private.apply_moves(b, p_moves, settings.max_tables_per_booking);
    if moved is not null then
      return moved || pg_catalog.jsonb_build_object('snapshot', private.assignment_snapshot(b, settings));
    end if;
  end if;
  busy := private.busy_tables(b, p_table_ids);
  if busy is not null then
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.commit_conflict', 'info',
      pg_catalog.jsonb_build_object('tables', pg_catalog.to_jsonb(busy), 'attempt', b.attempt_count,
                                    'lock_wait_ms', lock_wait_ms),
      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'conflict', 'busy_tables', pg_catalog.to_jsonb(busy),
                                         'snapshot', private.assignment_snapshot(b, settings));
  end if;

  perform private.seat_and_confirm(b, p_table_ids, 'auto', 'coordinator:' || p_strategy, p_strategy, null,
    pg_catalog.jsonb_build_object('strategy', p_strategy, 'tables', pg_catalog.cardinality(p_table_ids),
                                  'moved_bookings', move_count),
    pg_catalog.jsonb_build_object('strategy', p_strategy), 'coordinator');
  perform private.record_attempt(b, 'success', null, p_strategy, p_duration_ms, p_metadata);
  perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  perform private.record_shadow(b, p_shadow);
  if private.legacy_path(b.assignment_mode) then
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.attempt', 'info',
      private.legacy_attempt_context(b, true), b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.confirmed', 'info',
      private.legacy_confirmed_context(b, p_strategy, p_duration_ms, lock_wait_ms), b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.summary', 'info',
      private.legacy_summary_context('succeeded', b.attempt_count, p_duration_ms), b.restaurant_id, b.id);
  else
    perform private.record_event('assignment.coordinator', 'coordinator.confirmed', 'info',
      pg_catalog.jsonb_build_object('strategy', p_strategy, 'attempts', b.attempt_count, 'duration_ms', p_duration_ms,
                                    'table_count', pg_catalog.cardinality(p_table_ids), 'lock_wait_ms', lock_wait_ms,
                                    'moved_bookings', move_count)
        || coalesce(p_metadata, '{}'::jsonb),
      b.restaurant_id, b.id);
    -- The success metric the rollout plan's dashboards count (event_type LIKE '%success%').
    perform private.record_event('assignment.coordinator', 'assignment.success', 'info',
      pg_catalog.jsonb_build_object('strategy', p_strategy, 'duration_ms', p_duration_ms), b.restaurant_id, b.id);
  end if;
  return pg_catalog.jsonb_build_object('outcome', 'confirmed', 'version', b.assignment_state_version + 2,
                                       'lock_wait_ms', lock_wait_ms);
exception when exclusion_violation then
  -- Unreachable while every writer takes the restaurant lock; kept so a race is an outcome, not a crash.
  return '{"outcome": "conflict"}'::jsonb;
end $$;
comment on function public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz) is
  'Finish an attempt with the engine''s tables: validates every rule (AS007 if one is broken), re-checks availability under the restaurant lock, writes the assignments, moves assigned → confirmed, queues one confirmation, stores the shadow comparison (p_shadow, shadow mode only) and records the events. p_moves (re-optimisation, where enabled) moves not-yet-seated bookings first: [{booking_id, from_table_ids, to_table_ids}]. Returns {outcome: confirmed | conflict (with a fresh snapshot) | lease_lost}.';

create function public.assignment_fail(
  p_booking_id uuid,
  p_lease_token uuid,
  p_kind text,
  p_reason text,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error';
  end if;
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  perform private.record_shadow(b, p_shadow);
  if p_kind = 'error' then
    perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.error', 'error',
      pg_catalog.jsonb_build_object('message', pg_catalog.left(reason, 500), 'attempts', b.attempt_count),
      b.restaurant_id, b.id);
  else
    perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  end if;
  if pg_catalog.strpos(reason, ':') = 0 then
    reason := p_kind || ': ' || reason;
  end if;
  return private.end_attempt(b, p_kind, reason, p_duration_ms, p_details, p_now);
end $$;
comment on function public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz) is
  'Finish an attempt without tables. kind = no_fit (nothing free fits), conflict (re-planning kept losing races) or error (counts toward the circuit breaker). Schedules a retry with backoff or escalates to manual_review; returns {outcome: retry | manual_review | lease_lost}.';

create function public.assignment_claim_due(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now()
) returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[];
begin
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 1000';
  end if;
  if p_visibility_ms is null or p_visibility_ms not between 100 and 600000 then
    raise exception using errcode = 'AS005', message = 'visibility_ms must be between 100 and 600000';
  end if;
  -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker
  -- dies becomes due again instead of being lost.
  with due as (
    select id from public.bookings
     where next_attempt_at <= p_now
       and private.is_queued(assignment_state)
       and (p_restaurant_id is null or restaurant_id = p_restaurant_id)
     order by next_attempt_at
     limit p_limit
     for update skip locked),
  claimed_rows as (
    update public.bookings b
       set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0)
      from due where b.id = due.id
    returning b.id)
  select pg_catalog.array_agg(id) into claimed from claimed_rows;
  return coalesce(claimed, '{}'::uuid[]);
end $$;
comment on function public.assignment_claim_due(integer, uuid, integer, timestamptz) is
  'Claim up to p_limit bookings whose next attempt is due (optionally of one restaurant), hiding them from other claimers for p_visibility_ms. Used by a running coordinator to keep draining work, and by the sweeper.';
revoke all on function public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
