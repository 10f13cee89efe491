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

alter table public.bookings
  add column dispatch_count integer not null default 0
    constraint booking_dispatch_count_is_not_negative check (dispatch_count >= 0),
  add column last_dispatched_at timestamptz;
comment on column public.bookings.dispatch_count is
  'HTTP dispatches to the coordinator since it last picked the booking up; the sweeper escalates when it grows too large.';

-- Deferral (circuit open, rate limited) is bounded too: a booking that has waited longer than
-- max_deferral_seconds in one stretch goes to manual review with a reason, so it cannot wait forever.
alter table public.bookings add column deferred_since timestamptz;
comment on column public.bookings.deferred_since is
  'When the coordinator first deferred the booking (circuit open or rate limited) since its last state change; null when not waiting.';
alter table private.pipeline_settings
  add column max_deferral_seconds integer not null default 600
    constraint max_deferral_is_between_1_minute_and_1_day check (max_deferral_seconds between 60 and 86400);

-- Any state change ends a stretch of waiting.
create function private.clear_deferral()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.deferred_since := null;
  return new;
end $$;
create trigger clear_deferral before update of assignment_state on public.bookings
  for each row when (new.assignment_state is distinct from old.assignment_state and old.deferred_since is not null)
  execute function private.clear_deferral();

-- Invariant: at most max_parallel bookings of a restaurant are assignment_in_progress, whatever path moves them.
create function private.enforce_max_parallel()
returns trigger language plpgsql set search_path = '' as $$
declare
  running integer;
  allowed integer;
begin
  perform private.lock_restaurant(new.restaurant_id);
  select count(*) into running from public.bookings
   where restaurant_id = new.restaurant_id and assignment_state = 'assignment_in_progress' and id <> new.id;
  allowed := (private.settings_for(new.restaurant_id) ->> 'max_parallel')::integer;
  if running >= allowed then
    raise exception using errcode = 'AS006',
      message = pg_catalog.format('restaurant %s already has %s of %s bookings in progress', new.restaurant_id, running, allowed);
  end if;
  return new;
end $$;
create trigger enforce_max_parallel before update of assignment_state on public.bookings
  for each row when (new.assignment_state = 'assignment_in_progress' and old.assignment_state is distinct from 'assignment_in_progress')
  execute function private.enforce_max_parallel();

-- Exponential backoff with jitter: base·2^(attempt-1), capped, plus up to one second of jitter.
create function private.retry_delay_ms(p_attempt integer)
returns integer language sql volatile set search_path = '' as $$
  select least(s.retry_max_ms, s.retry_base_ms * power(2, greatest(p_attempt - 1, 0))::bigint)::integer
         + floor(random() * 1000)::integer
    from private.pipeline_settings s;
$$;

create function private.record_attempt(b public.bookings, p_result text, p_reason text, p_strategy text,
                                       p_duration_ms integer, p_metadata jsonb)
returns void language sql set search_path = '' as $$
  insert into public.booking_assignment_attempts (booking_id, attempt_no, strategy, result, reason, duration_ms, metadata)
  values (b.id, greatest(b.attempt_count, 1), p_strategy, p_result, p_reason, p_duration_ms, coalesce(p_metadata, '{}'::jsonb))
  on conflict (booking_id, attempt_no) do update
    set result = excluded.result, reason = excluded.reason, strategy = excluded.strategy,
        duration_ms = excluded.duration_ms, metadata = excluded.metadata;
$$;

-- End an attempt that did not produce tables: back to assignment_pending with a backoff, or to manual
-- review when the attempts are used up or retrying cannot help. Returns the outcome JSON.
-- V3: exponential backoff, "no table fits" escalates at once (by default), coordinator.* events.
-- legacy and shadow (where legacy is the primary): the first implementation's fixed loop — 4 attempts,
-- 5 s / 15 s / 45 s apart, every failure retried — with its auto_assign.* events (see
-- private.pipeline_event_name for how the names map).
create function private.end_attempt(b public.bookings, p_kind text, p_reason text, p_duration_ms integer,
                                    p_details jsonb, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  s private.pipeline_settings;
  legacy boolean := b.assignment_mode in ('legacy', 'shadow');
  delay integer;
  escalate_reason text;
  code text := pg_catalog.split_part(p_reason, ':', 1);
begin
  select * into s from private.pipeline_settings;
  if legacy then
    if b.attempt_count >= 4 then
      escalate_reason := pg_catalog.format('attempts_exhausted: %s attempts failed; last: %s', b.attempt_count, p_reason);
    end if;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.attempt', 'warning',
      pg_catalog.jsonb_build_object('attempt_index', b.attempt_count - 1, 'success', false, 'reason', code),
      b.restaurant_id, b.id);
  elsif p_kind = 'no_fit' and b.attempt_count > s.no_fit_retries then
    escalate_reason := p_reason;
  elsif b.attempt_count >= s.max_attempts then
    escalate_reason := pg_catalog.format('attempts_exhausted: %s attempts failed; last: %s', b.attempt_count, p_reason);
  end if;

  if escalate_reason is not null then
    perform private.record_attempt(b, 'manual_review', p_reason, null, p_duration_ms, p_details);
    perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, escalate_reason,
      pg_catalog.jsonb_build_object('kind', p_kind, 'attempts', b.attempt_count), 'coordinator');
    perform private.record_escalation(b.assignment_mode, escalate_reason, b.attempt_count, p_duration_ms, '{}'::jsonb,
                                      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', escalate_reason);
  end if;

  delay := case when legacy then (array[5000, 15000, 45000])[least(b.attempt_count, 3)]
                else private.retry_delay_ms(b.attempt_count) end;
  perform private.record_attempt(b, case when p_kind = 'error' then 'error' else 'retry' end, p_reason, null,
                                 p_duration_ms, p_details);
  perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, p_reason,
    pg_catalog.jsonb_build_object('kind', p_kind, 'attempts', b.attempt_count, 'delay_ms', delay), 'coordinator');
  update public.bookings set next_attempt_at = p_now + pg_catalog.make_interval(secs => delay / 1000.0) where id = b.id;
  perform private.record_pipeline_event(b.assignment_mode, 'coordinator.retry', 'warning',
    case when legacy then pg_catalog.jsonb_build_object('delayMs', delay, 'reason', code, 'attempt_index', b.attempt_count - 1)
         else pg_catalog.jsonb_build_object('reason', case when p_kind = 'no_fit' then 'no_assignment' else code end,
                                            'detail', p_reason, 'delay_ms', delay, 'attempts', b.attempt_count,
                                            'duration_ms', p_duration_ms) end,
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'retry', 'reason', p_reason, 'delay_ms', delay);
end $$;

-- Defer a booking that may not run yet (p_why: circuit_open or rate_limited) by p_delay_ms — unless it has
-- already waited max_deferral_seconds in this stretch: then it goes to manual review with a reason that
-- says what to do. Returns null when deferred, or the manual_review outcome.
create function private.defer_attempt(b public.bookings, p_why text, p_delay_ms integer, p_settings jsonb,
                                      p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  since timestamptz;
  max_seconds integer;
  waited text;
  reason text;
begin
  select coalesce(x.deferred_since, p_now) into since from public.bookings x where x.id = b.id;
  select s.max_deferral_seconds into max_seconds from private.pipeline_settings s;
  if p_now - since < pg_catalog.make_interval(secs => max_seconds) then
    update public.bookings
       set deferred_since = since, next_attempt_at = p_now + pg_catalog.make_interval(secs => p_delay_ms / 1000.0)
     where id = b.id;
    return null;
  end if;
  waited := pg_catalog.round(extract(epoch from p_now - since) / 60)::text || ' min';
  reason := case p_why
    when 'circuit_open' then pg_catalog.format(
      'circuit_open: automatic assignment at this restaurant has been paused by its circuit breaker for %s after repeated coordinator errors; fix the cause (see coordinator.error events), then ops.reset_circuit_breaker() and ops.retry_booking()',
      waited)
    else pg_catalog.format(
      'rate_limited: waited %s for one of the restaurant''s %s assignment slots; release bookings stuck in progress (ops.release_stuck()) or raise ops.set_max_parallel(), then ops.retry_booking()',
      waited, p_settings ->> 'max_parallel') end;
  perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, reason,
    pg_catalog.jsonb_build_object('deferred_by', p_why, 'waited_ms', round(extract(epoch from p_now - since) * 1000)),
    'coordinator');
  -- Named for the path of this attempt: assignment_begin records the attempt's mode on the booking before
  -- it consults the breaker or the slots.
  perform private.record_escalation(private.booking_mode(b.id), reason, b.attempt_count, null,
    pg_catalog.jsonb_build_object('waited_ms', round(extract(epoch from p_now - since) * 1000)),
    b.restaurant_id, b.id, 'error');
  return pg_catalog.jsonb_build_object('outcome', 'manual_review', 'reason', reason);
end $$;

-- A lease ran out: the worker holding it is gone. Counts as an error for the breaker.
create function private.expire_lease(p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  select * into b from public.bookings where id = p_booking_id for update;
  if b.assignment_state <> 'assignment_in_progress' or b.lease_expires_at > p_now then
    return pg_catalog.jsonb_build_object('outcome', 'noop');
  end if;
  perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
  return private.end_attempt(b, 'error', 'lease_expired: the worker holding the booking stopped answering', null,
                             '{}'::jsonb, p_now);
end $$;

-- Re-optimisation: move confirmed bookings that are not yet seated to other tables, as the engine proposed,
-- so a new booking fits. Every move is checked against what the engine saw (the booking still holds exactly
-- those tables and may still move) and against the same rules as any plan. Returns null when applied, or a
-- conflict outcome when the world changed since the snapshot. All tables are released before any is taken,
-- so bookings can swap; the exclusion constraint checks the end state. The caller holds the restaurant
-- lock, taken before any booking row, so locking the moved bookings' rows here cannot deadlock.
create function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
begin
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id for update;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
      return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', 'a booking to move changed since the snapshot');
    end if;
    violation := private.plan_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', 'coordinator:reoptimize'
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
      pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
      b.restaurant_id, m.booking_id);
  end loop;
  return null;
end $$;

-- The booking, locked, if this lease still holds it; a row of nulls if the lease was lost (expired and
-- taken over, or the booking finished meanwhile), in which case the caller's work no longer counts.
create function private.leased_booking(p_booking_id uuid, p_lease_token uuid)
returns public.bookings language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  select * into b from public.bookings
   where id = p_booking_id and assignment_state = 'assignment_in_progress' and lease_token = p_lease_token
   for update;
  return b;
end $$;

create function public.assignment_begin(
  p_booking_id uuid,
  p_trigger text default 'dispatch',
  p_max_parallel integer default null,
  p_mode_ceiling text default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  settings jsonb;
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
  problem := private.capacity_problem(b, (settings ->> 'max_tables_per_booking')::integer);
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
  if running >= (settings ->> 'max_parallel')::integer then
    delay := (select s.rate_limited_delay_ms from private.pipeline_settings s) + floor(random() * 200)::integer;
    outcome := private.defer_attempt(b, 'rate_limited', delay, settings, p_now);
    if outcome is not null then
      return outcome;
    end if;
    perform private.record_pipeline_event(mode, 'coordinator.retry', 'info',
      pg_catalog.jsonb_build_object('reason', 'rate_limited', 'delay_ms', delay, 'attempts', b.attempt_count,
                                    'in_progress', running, 'max_parallel', (settings ->> 'max_parallel')::integer,
                                    'function_max_parallel', p_max_parallel),
      b.restaurant_id, b.id);
    return pg_catalog.jsonb_build_object('outcome', 'rate_limited', 'delay_ms', delay);
  end if;

  perform private.apply_assignment_transition(b.id, 'assignment_in_progress', b.assignment_state_version, null,
    pg_catalog.jsonb_build_object('trigger', p_trigger, 'attempt', b.attempt_count + 1), 'coordinator');
  update public.bookings
     set lease_token = pg_catalog.gen_random_uuid(),
         lease_expires_at = p_now + pg_catalog.make_interval(secs => (settings ->> 'lease_seconds')::integer),
         next_attempt_at = p_now + pg_catalog.make_interval(secs => (settings ->> 'lease_seconds')::integer),
         attempt_count = attempt_count + 1,
         assignment_mode = mode
   where id = b.id
  returning * into b;
  -- The first implementation's job also announced itself once per booking (auto_assign.started).
  if mode in ('legacy', 'shadow') and b.attempt_count = 1 then
    perform private.record_pipeline_event(mode, 'coordinator.started', 'info',
      pg_catalog.jsonb_build_object('trigger', p_trigger, 'status', b.status), b.restaurant_id, b.id);
  end if;
  perform private.record_pipeline_event(mode, 'coordinator.start', 'info',
    pg_catalog.jsonb_build_object('trigger', p_trigger, 'mode_reason', mode_reason,
                                  'attempt', b.attempt_count, 'attempt_index', b.attempt_count - 1,
                                  'lock_wait_ms', lock_wait_ms, 'slot_wait_ms', slot_wait_ms,
                                  'max_parallel', (settings ->> 'max_parallel')::integer,
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
  settings jsonb;
  violation text;
  busy text[];
  lock_wait_ms numeric;
  first_confirmation boolean;
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
  violation := private.plan_violation(b, p_table_ids, (settings ->> 'max_tables_per_booking')::integer);
  if violation is not null then
    raise exception using errcode = 'AS007', message = pg_catalog.format('the proposed tables break a rule: %s', violation);
  end if;

  if move_count > 0 then
    if not coalesce((settings ->> 'reoptimize')::boolean, false) then
      raise exception using errcode = 'AS005', message = 'moves are only allowed where re-optimisation is on';
    end if;
    moved := private.apply_moves(b, p_moves, (settings ->> 'max_tables_per_booking')::integer);
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

  perform private.release_booking_tables(b.id, 'superseded');
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, t, private.blocked_window(b), 'auto', 'coordinator:' || p_strategy
    from pg_catalog.unnest(p_table_ids) t;
  perform private.apply_assignment_transition(b.id, 'assigned', b.assignment_state_version, null,
    pg_catalog.jsonb_build_object('strategy', p_strategy, 'tables', pg_catalog.cardinality(p_table_ids),
                                  'moved_bookings', move_count), 'coordinator');
  perform private.apply_assignment_transition(b.id, 'confirmed', b.assignment_state_version + 1, null,
    pg_catalog.jsonb_build_object('strategy', p_strategy), 'coordinator');
  update public.bookings set assignment_strategy = p_strategy where id = b.id;
  perform private.record_attempt(b, 'success', null, p_strategy, p_duration_ms, p_metadata);
  perform private.breaker_record(b.restaurant_id, b.id, false, p_now);

  first_confirmation := not exists (
    select 1 from public.booking_assignment_state_history h
     where h.booking_id = b.id and h.to_state = 'confirmed' and h.version < b.assignment_state_version + 2);
  perform private.enqueue_confirmation(b, first_confirmation);
  perform private.record_shadow(b, p_shadow);
  if b.assignment_mode in ('legacy', 'shadow') then
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.attempt', 'info',
      pg_catalog.jsonb_build_object('attempt_index', b.attempt_count - 1, 'success', true), b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.confirmed', 'info',
      pg_catalog.jsonb_build_object('durationMs', p_duration_ms, 'attempt_index', b.attempt_count - 1,
                                    'strategy', p_strategy, 'lock_wait_ms', lock_wait_ms),
      b.restaurant_id, b.id);
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.summary', 'info',
      pg_catalog.jsonb_build_object('result', 'succeeded', 'attemptsUsed', b.attempt_count, 'maxAttempts', 4,
                                    'totalDurationMs', p_duration_ms),
      b.restaurant_id, b.id);
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
       and assignment_state in ('created', 'capacity_verified', 'assignment_pending')
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

revoke all on function private.enforce_max_parallel(), private.retry_delay_ms(integer),
  private.record_attempt(public.bookings, text, text, text, integer, jsonb),
  private.end_attempt(public.bookings, text, text, integer, jsonb, timestamptz),
  private.expire_lease(uuid, timestamptz), private.leased_booking(uuid, uuid), private.clear_deferral(),
  private.defer_attempt(public.bookings, text, integer, jsonb, timestamptz),
  private.apply_moves(public.bookings, jsonb, integer) from public, anon, authenticated;
revoke all on function public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz) from public, anon, authenticated, service_role;
grant execute on function public.assignment_begin(uuid, text, integer, text, timestamptz),
  public.assignment_commit(uuid, uuid, uuid[], text, integer, jsonb, jsonb, jsonb, timestamptz),
  public.assignment_fail(uuid, uuid, text, text, integer, jsonb, jsonb, timestamptz),
  public.assignment_claim_due(integer, uuid, integer, timestamptz) to service_role;
