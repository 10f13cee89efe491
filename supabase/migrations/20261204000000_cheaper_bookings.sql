-- What one booking costs the database (issue: throughput). The same rows and events as before, written
-- with fewer statements and cheaper checks:
--   * a walk of several legal transitions (created → capacity_verified → assignment_pending →
--     assignment_in_progress, assigned → confirmed) is one UPDATE of the booking, one multi-row INSERT of
--     history and one of events; the versions still move by one per transition, and the guard still asks
--     for the history rows as proof;
--   * the personal-data check of a JSON document runs three regular-expression matches in all, not two per
--     string value, with the same verdict;
--   * the snapshot is built by PL/pgSQL, whose plans are kept per connection, with the booking's window and
--     the horizon computed once.

-- The same verdict as before with one match per pattern: keys, stripped and lower-cased one by one, are
-- joined with '/', and so are the string values. No key, after stripping, contains '/', and neither pattern
-- can match across a '/' (the e-mail pattern's parts exclude it, and the phone pattern treats it as it treats
-- the end of a text), so a match in the joined text is a match in one of its parts.
create or replace function private.jsonb_has_personal_data(doc jsonb)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  keys text;
  strings text;
begin
  select pg_catalog.string_agg(pg_catalog.lower(pg_catalog.regexp_replace(k.key #>> '{}', '[^[:alnum:]]', '', 'g')), '/')
    into keys
    from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue().key') as k(key);
  if keys operator(pg_catalog.~) '(^|/)(customer|guest|contact|diner|person|first|last|full|given|family|middle|sur)?(name|email|emailaddress|mail|phone|phonenumber|phoneno|mobile|mobilenumber|mobilephone|cell|cellphone|telephone|tel)(/|$)' then
    return true;
  end if;
  select pg_catalog.string_agg(v.value #>> '{}', '/') into strings
    from pg_catalog.jsonb_path_query(doc, 'strict $.** ? (@.type() == "string")') as v(value);
  return coalesce(private.text_has_personal_data(strings), false);
end $$;

create or replace function private.text_has_personal_data(p_text text)
returns boolean language plpgsql immutable security definer set search_path = '' as $$
declare
  t text := pg_catalog.normalize(p_text, 'NFKC');
begin
  return t operator(pg_catalog.~) private.email_pattern() or t operator(pg_catalog.~) private.phone_pattern();
end $$;

-- A booking's state may move several steps in one UPDATE, as long as every step is proven by its history row:
-- the version moves by the number of steps, the first row leaves the old state, the last one enters the new,
-- and there is one row per version in between (only the transition functions can write history).
create or replace function private.guard_assignment_state()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if (new.assignment_state is distinct from old.assignment_state
      or new.assignment_state_version is distinct from old.assignment_state_version)
     and not (new.assignment_state_version > old.assignment_state_version
              and coalesce((select count(*) = new.assignment_state_version - old.assignment_state_version
                                   and bool_or(h.version = old.assignment_state_version + 1 and h.from_state = old.assignment_state)
                                   and bool_or(h.version = new.assignment_state_version and h.to_state = new.assignment_state)
                              from public.booking_assignment_state_history h
                             where h.booking_id = old.id and h.version > old.assignment_state_version
                               and h.version <= new.assignment_state_version), false)) then
    raise exception using errcode = 'AS004',
      message = pg_catalog.format('the assignment state of booking %s can only change through transition_assignment_state()', old.id),
      hint = 'Call public.transition_assignment_state(booking_id, to_state, expected_version, reason).';
  end if;
  if new.status is distinct from old.status and new.assignment_state is not distinct from old.assignment_state then
    if new.status = 'cancelled' then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s is cancelled through cancel_booking(), which also releases its tables', old.id);
    end if;
    if not (old.assignment_state = 'confirmed' and new.status in ('confirmed', 'checked_in', 'completed', 'no_show')) then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s cannot be %s while its table assignment is %s', old.id, new.status,
                                    old.assignment_state),
        hint = case when old.assignment_state = 'confirmed'
                    then 'A confirmed booking goes back to pending by being re-assigned (transition to assignment_pending).'
                    else 'A booking is confirmed, checked in, completed or a no-show only once its tables are confirmed.' end;
    end if;
  end if;
  return new;
end $$;

-- Walk a booking through one or more transitions, each legal from the one before, in one UPDATE: one history
-- row and one booking.assignment_state_transition event per step (p_metadata[i] is step i's metadata), the
-- version up by one per step, and the bookkeeping of the state it ends in (as apply_assignment_transition
-- describes). The pipeline's own bookkeeping of the same moment rides along: p_count_attempt starts an attempt,
-- p_strategy records the planner.
create function private.walk_assignment_states(
  p_booking_id uuid,
  p_to_states text[],
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb[] default null,
  p_actor text default 'system',
  p_next_attempt_at timestamptz default null,
  p_now timestamptz default pg_catalog.now(),
  p_count_attempt boolean default false,
  p_strategy text default null
) returns integer language plpgsql set search_path = '' as $$
declare
  b public.bookings;
  steps integer := coalesce(pg_catalog.cardinality(p_to_states), 0);
  target text := p_to_states[steps];
  metadata jsonb[];
  new_version integer;
  reason text := private.scrub_personal_data(nullif(pg_catalog.btrim(p_reason), ''));
  actor text := coalesce(private.scrub_personal_data(nullif(pg_catalog.btrim(p_actor), '')), 'system');
  illegal record;
  lease interval;
  requeued boolean;
begin
  if p_booking_id is null or steps = 0 or p_expected_version is null or pg_catalog.array_position(p_to_states, null) is not null then
    raise exception using errcode = 'AS005',
      message = 'booking id, target state and expected version are all required';
  end if;
  if pg_catalog.cardinality(p_metadata) > steps then
    raise exception using errcode = 'AS005', message = 'one metadata object per step, at most';
  end if;
  select pg_catalog.array_agg(coalesce(p_metadata[i], '{}'::jsonb) order by i) into metadata
    from pg_catalog.generate_series(1, steps) i;
  if 'manual_review' = any(p_to_states) and reason is null then
    raise exception using errcode = 'AS005',
      message = 'a booking can only be sent to manual review with a reason an operator can act on';
  end if;
  if exists (select 1 from pg_catalog.unnest(metadata) m where pg_catalog.jsonb_typeof(m) <> 'object')
     or private.jsonb_has_personal_data(pg_catalog.to_jsonb(metadata)) then
    raise exception using errcode = 'AS005',
      message = 'transition metadata must be a JSON object without personal data (guest names, e-mail addresses, phone numbers)';
  end if;

  select * into b from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003',
      message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  if b.assignment_state_version <> p_expected_version then
    raise exception using errcode = 'AS002',
      message = pg_catalog.format('booking %s is at version %s, not %s: someone else changed it first',
                                  p_booking_id, b.assignment_state_version, p_expected_version),
      hint = 'Reload the booking and decide again.';
  end if;
  select s.from_state, s.to_state into illegal
    from (select coalesce(p_to_states[i - 1], b.assignment_state) as from_state, p_to_states[i] as to_state
            from pg_catalog.generate_series(1, steps) i) s
   where not exists (select 1 from private.assignment_state_transitions t
                      where t.from_state = s.from_state and t.to_state = s.to_state)
   limit 1;
  if found then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s cannot go from "%s" to "%s"', p_booking_id, illegal.from_state, illegal.to_state);
  end if;
  if private.state_holds_tables(target) and not exists (
       select 1 from public.booking_table_assignments a where a.booking_id = p_booking_id and a.released_at is null) then
    raise exception using errcode = 'AS010',
      message = pg_catalog.format('booking %s holds no tables, so it cannot be %s', p_booking_id, target),
      hint = 'Assign tables with ops.assign_tables(booking_id, array[''T1''], actor).';
  end if;

  new_version := b.assignment_state_version + steps;
  insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, metadata, actor)
  select p_booking_id, coalesce(p_to_states[i - 1], b.assignment_state), p_to_states[i],
         b.assignment_state_version + i, reason, metadata[i], actor
    from pg_catalog.generate_series(1, steps) i;

  if target = 'assignment_in_progress' then
    lease := pg_catalog.make_interval(secs => coalesce((private.settings_for(b.restaurant_id)).lease_seconds, 30));
  end if;
  requeued := target = 'assignment_pending' and b.assignment_state in ('manual_review', 'confirmed');
  update public.bookings set
    assignment_state = target,
    assignment_state_version = new_version,
    manual_review_reason = case when target = 'manual_review' then reason end,
    status = case
      when target = 'confirmed' then 'confirmed'
      when target = 'cancelled' then 'cancelled'
      when b.assignment_state = 'confirmed' then 'pending'
      else status end,
    lease_token = case when lease is not null then pg_catalog.gen_random_uuid() end,
    lease_expires_at = p_now + lease,
    next_attempt_at = case
      when private.is_queued(target) then coalesce(p_next_attempt_at, p_now)
      else p_now + lease end,
    attempt_count = case when requeued then 0 when p_count_attempt then attempt_count + 1 else attempt_count end,
    dispatch_count = case when requeued then 0 else dispatch_count end,
    assignment_strategy = coalesce(p_strategy, assignment_strategy)
  where id = p_booking_id;

  if private.state_holds_tables(b.assignment_state) and not private.state_holds_tables(target) then
    perform private.release_booking_tables(p_booking_id, target);
  end if;

  insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id, created_at)
  select 'assignment.state_machine', 'booking.assignment_state_transition', 'info',
         pg_catalog.jsonb_build_object('from', coalesce(p_to_states[i - 1], b.assignment_state), 'to', p_to_states[i],
                                       'version', b.assignment_state_version + i, 'metadata', metadata[i])
           || case when reason is null then '{}'::jsonb else pg_catalog.jsonb_build_object('reason', reason) end,
         b.restaurant_id, p_booking_id, pg_catalog.now()
    from pg_catalog.generate_series(1, steps) i;
  return new_version;
end $$;

-- One transition: a walk of one step. Every caller keeps this signature.
create or replace function private.apply_assignment_transition(
  p_booking_id uuid,
  p_to_state text,
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb default '{}'::jsonb,
  p_actor text default 'system',
  p_next_attempt_at timestamptz default null,
  p_now timestamptz default pg_catalog.now()
) returns integer language plpgsql set search_path = '' as $$
begin
  return private.walk_assignment_states(p_booking_id, array[p_to_state], p_expected_version, p_reason,
                                        array[coalesce(p_metadata, '{}'::jsonb)], p_actor, p_next_attempt_at, p_now);
end $$;

-- assigned → confirmed in one walk, the strategy recorded with it.
create or replace function private.seat_and_confirm(
  b public.bookings, p_table_ids uuid[], p_source text, p_assigned_by text, p_strategy text,
  p_reason text, p_assigned_metadata jsonb, p_confirmed_metadata jsonb, p_actor text
) returns integer language plpgsql set search_path = '' as $$
begin
  perform private.release_booking_tables(b.id, 'superseded');
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  select b.id, b.restaurant_id, t, private.blocked_window(b), p_source, p_assigned_by
    from pg_catalog.unnest(p_table_ids) t;
  return private.walk_assignment_states(b.id, array['assigned', 'confirmed'], b.assignment_state_version, p_reason,
    array[coalesce(p_assigned_metadata, '{}'::jsonb), coalesce(p_confirmed_metadata, '{}'::jsonb)], p_actor,
    p_strategy => p_strategy);
end $$;

-- The snapshot the engine plans on (shape unchanged), built by PL/pgSQL so its queries are planned once per
-- connection, with the booking's blocked window and the horizon around it computed once.
create or replace function private.assignment_snapshot(b public.bookings, p_settings private.pipeline_settings)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  blocked tstzrange := private.blocked_window(b);
  around tstzrange := pg_catalog.tstzrange(pg_catalog.lower(blocked) - private.snapshot_horizon(),
                                           pg_catalog.upper(blocked) + private.snapshot_horizon());
  restaurant public.restaurants;
  min_stay integer;
  tables jsonb;
  adjacency jsonb;
  busy jsonb;
  placed jsonb := '[]'::jsonb;
begin
  select * into restaurant from public.restaurants r where r.id = b.restaurant_id;
  select coalesce(min(p.dining_minutes + p.buffer_before_minutes + p.buffer_after_minutes), restaurant.default_turn_minutes)
    into min_stay from public.turn_time_policies p where p.restaurant_id = b.restaurant_id;
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'id', t.id, 'number', t.table_number, 'zone_id', t.zone_id, 'capacity', t.capacity,
           'min_party_size', t.min_party_size, 'max_party_size', t.max_party_size, 'movable', t.movable)
         order by t.table_number)
    into tables
    from private.usable_tables(b.restaurant_id) t;
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.table_a, a.table_b) order by a.table_a, a.table_b)
    into adjacency from public.table_adjacency a where a.restaurant_id = b.restaurant_id;
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'table_id', a.table_id, 'start', pg_catalog.lower(a.during), 'end', pg_catalog.upper(a.during))
         order by pg_catalog.lower(a.during), a.table_id)
    into busy
    from public.booking_table_assignments a
   where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id and a.during && around;
  if p_settings.reoptimize then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
             'id', o.id, 'party_size', o.party_size, 'window_start', x.window_start, 'window_end', x.window_end,
             'table_ids', pg_catalog.to_jsonb(x.table_ids), 'locked', private.is_locked(o, x.set_by_staff))
           order by x.window_start, o.id)
      into placed
      from (select a.booking_id, pg_catalog.array_agg(a.table_id order by a.table_id) as table_ids,
                   bool_or(a.source <> 'auto') as set_by_staff,
                   min(pg_catalog.lower(a.during)) as window_start, max(pg_catalog.upper(a.during)) as window_end
              from public.booking_table_assignments a
             where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
               and a.during && around
             group by a.booking_id) x
      join public.bookings o on o.id = x.booking_id;
  end if;
  return pg_catalog.jsonb_build_object(
    'booking', pg_catalog.jsonb_build_object(
      'id', b.id, 'restaurant_id', b.restaurant_id, 'party_size', b.party_size,
      'start_at', b.start_at, 'end_at', b.end_at, 'timezone', restaurant.timezone,
      'window_start', pg_catalog.lower(blocked), 'window_end', pg_catalog.upper(blocked)),
    'max_tables', p_settings.max_tables_per_booking,
    'horizon_minutes', extract(epoch from private.snapshot_horizon())::integer / 60,
    'min_stay_minutes', min_stay,
    'tables', coalesce(tables, '[]'::jsonb),
    'adjacency', coalesce(adjacency, '[]'::jsonb),
    'busy', coalesce(busy, '[]'::jsonb),
    'reoptimize', p_settings.reoptimize,
    'placed', coalesce(placed, '[]'::jsonb));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;

-- assignment_begin as before, with its transitions walked in one step: a new booking goes from created to
-- assignment_in_progress in one UPDATE (three history rows and three events, as before), and the attempt
-- count rides along; a booking that must wait walks only as far as assignment_pending.
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
    'lock_wait_ms', lock_wait_ms, 'slot_wait_ms', slot_wait_ms,
    'snapshot', private.assignment_snapshot(b, settings));
end $$;
