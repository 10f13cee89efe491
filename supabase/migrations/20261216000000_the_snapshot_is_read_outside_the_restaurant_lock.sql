-- The coordinator reads its snapshot outside the restaurant lock.
--
-- assignment_begin took the restaurant lock, walked the booking into assignment_in_progress and built the
-- snapshot, all in one transaction, so the lock was held while the snapshot was read: about a fifth of what a
-- booking holds that lock for. Only the slot decision and the walk need it (the slot count must see every
-- booking another begin put in progress). A reservation drop's bookings queue on that one lock, so every
-- millisecond under it is a millisecond of the drop.
--
-- Now the coordinator takes the lease (public.assignment_lease: assignment_begin without the snapshot) and
-- then reads the snapshot in a transaction of its own (public.assignment_snapshot), which takes no lock. The
-- snapshot is as fresh or fresher than before: what commits between the two is in it, a rule changed between
-- them included, so a plan made on it keeps that rule. The rules digest is still written with the lease, just
-- before the read; a commit consults it only for a plan that breaks a rule, so the one difference is that a
-- plan breaking a rule anyway (an engine bug) after such a change is re-planned once as rule_changed before
-- it is reported as AS007. assignment_begin still returns both in one call (the body of assignment_lease plus
-- the snapshot, under the lock as before) for callers that want one transaction.

create function private.check_trigger_code(p_trigger text)
returns void language plpgsql immutable set search_path = '' as $$
begin
  if p_trigger is null or p_trigger !~ '^[a-z_]{1,40}$' then
    raise exception using errcode = 'AS005',
      message = 'trigger is a lower_snake_case code of up to 40 characters, e.g. dispatch';
  end if;
end $$;

-- Body as assignment_begin_unchecked's (20261205020000), without the snapshot at the end.
create function private.assignment_lease_unchecked(p_booking_id uuid, p_trigger text default 'dispatch',
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

-- assignment_begin: the lease and its snapshot in one transaction, as before.
create or replace function private.assignment_begin_unchecked(p_booking_id uuid, p_trigger text default 'dispatch',
                                                              p_max_parallel integer default null,
                                                              p_mode_ceiling text default null,
                                                              p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  leased jsonb := private.assignment_lease_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
  b public.bookings;
begin
  if leased ->> 'outcome' <> 'ready' then
    return leased;
  end if;
  select * into b from public.bookings where id = p_booking_id;
  return leased || pg_catalog.jsonb_build_object('snapshot',
    private.assignment_snapshot(b, private.settings_for(b.restaurant_id, p_max_parallel)));
end $$;

create function public.assignment_lease(p_booking_id uuid, p_trigger text default 'dispatch',
                                        p_max_parallel integer default null, p_mode_ceiling text default null,
                                        p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  perform private.check_trigger_code(p_trigger);
  return private.assignment_lease_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
end $$;

create or replace function public.assignment_begin(p_booking_id uuid, p_trigger text default 'dispatch',
                                                   p_max_parallel integer default null,
                                                   p_mode_ceiling text default null, p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  perform private.check_trigger_code(p_trigger);
  return private.assignment_begin_unchecked(p_booking_id, p_trigger, p_max_parallel, p_mode_ceiling, p_now);
end $$;

-- Reads only: no lock, no row written. A lease that is not (or no longer) this booking's in-progress lease is
-- lease_lost, as its commit would be told.
create function public.assignment_snapshot(p_booking_id uuid, p_lease_token uuid)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
declare
  b public.bookings;
begin
  if p_booking_id is null or p_lease_token is null then
    raise exception using errcode = 'AS005', message = 'booking_id and lease_token are required';
  end if;
  select * into b from public.bookings
   where id = p_booking_id and assignment_state = 'assignment_in_progress' and lease_token = p_lease_token;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  return pg_catalog.jsonb_build_object('outcome', 'ready',
    'snapshot', private.assignment_snapshot(b, private.settings_for(b.restaurant_id)));
end $$;

comment on function public.assignment_lease(uuid, text, integer, text, timestamptz) is
  'The coordinator''s start of an attempt: public.assignment_begin without the snapshot, so the restaurant lock is not held while one is built. Returns {outcome: ready, lease_token, attempt, mode, shadow_candidate, lock_wait_ms, slot_wait_ms} or begin''s other outcomes; read the snapshot next with public.assignment_snapshot. p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
comment on function public.assignment_snapshot(uuid, uuid) is
  'What the engine plans on for a booking whose lease is p_lease_token: {outcome: ready, snapshot} (as public.assignment_begin''s), read without any lock; {outcome: lease_lost} when that lease is no longer the booking''s.';
comment on function private.assignment_lease_unchecked(uuid, text, integer, text, timestamptz) is
  'The body of public.assignment_lease, which checks its arguments and calls this.';
comment on function private.check_trigger_code(text) is
  'AS005 unless the trigger is a lower_snake_case code of up to 40 characters.';

revoke all on function
  public.assignment_lease(uuid, text, integer, text, timestamptz),
  public.assignment_snapshot(uuid, uuid)
  from public, anon, authenticated, service_role;
grant execute on function
  public.assignment_lease(uuid, text, integer, text, timestamptz),
  public.assignment_snapshot(uuid, uuid)
  to service_role;
revoke all on function
  private.assignment_lease_unchecked(uuid, text, integer, text, timestamptz),
  private.check_trigger_code(text)
  from public, anon, authenticated, service_role;
