-- The commits a crash may lose without losing anything are not waited for.
--
-- Each commit waits for its WAL to reach the disk (an fsync), which is most of the commit's cost on a small
-- machine. Three of a booking's commits hold nothing a crash could lose for good, so they now commit without
-- waiting (synchronous_commit off, for their own transaction only):
--   * assignment_begin: the lease. Lost, the booking is back where it was before the begin, due again, and
--     the sweeper or a claim loop begins it again; the coordinator's commit then finds no lease and re-plans
--     nothing (lease_lost). A commit that waits for the disk flushes every earlier commit with it, so a
--     confirmed booking's begin is never lost behind it.
--   * assignment_claim_due: a claim is only a visibility timeout. Lost, the booking is claimable again.
--   * notification_claim: the message's lease. Lost, the message is claimed again, exactly as after a
--     dispatcher that died before completing it; notification_complete, which says it was sent, still waits.
-- The booking's insert, assignment_commit (the tables and the confirmation message), assignment_fail and
-- notification_complete keep waiting. Called inside a larger transaction (an operator in the SQL editor), the
-- setting covers that transaction, which then does not wait for the disk either.

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
  -- Its commit need not wait for the disk (see the header).
  perform pg_catalog.set_config('synchronous_commit', 'off', true);
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
    -- Waiting to be woken: the fallback wait (rate_limited_delay_ms, with a little jitter) for a booking behind
    -- others in the queue, a short one for the first (see the header).
    if exists (select 1 from public.bookings w
                where w.restaurant_id = b.restaurant_id and w.id <> b.id and w.deferred_since is not null
                  and private.is_queued(w.assignment_state)) then
      delay := private.backoff_ms(1, settings.rate_limited_delay_ms, settings.rate_limited_delay_ms, 200);
    else
      delay := (extract(epoch from private.claim_new_after()) * 1000)::integer;
    end if;
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

create or replace function public.assignment_claim_due(
  p_limit integer default 10,
  p_restaurant_id uuid default null,
  p_visibility_ms integer default 10000,
  p_now timestamptz default now()
) returns uuid[] language plpgsql security definer set search_path = '' as $$
declare
  claimed uuid[];
begin
  -- Its commit need not wait for the disk (see the header).
  perform pg_catalog.set_config('synchronous_commit', 'off', true);
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 1000';
  end if;
  if p_visibility_ms is null or p_visibility_ms not between 100 and 600000 then
    raise exception using errcode = 'AS005', message = 'visibility_ms must be between 100 and 600000';
  end if;
  -- Claiming pushes next_attempt_at out by the visibility timeout, so a claimed booking whose worker dies
  -- becomes due again instead of being lost, and is no longer a new booking nobody claimed. The conditions
  -- are on the locked rows themselves, so they are checked again once a row is locked.
  with candidates as (
    (select b.id from public.bookings b
      where b.next_attempt_at <= p_now and private.is_queued(b.assignment_state)
        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
      order by b.next_attempt_at limit p_limit)
    union all
    (select b.id from public.bookings b
      where b.assignment_state = 'created' and b.deferred_since is null
        and b.created_at <= p_now - private.claim_new_after()
        and b.next_attempt_at <= b.created_at + private.nudge_grace()
        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
      order by b.created_at limit p_limit)),
  due as (
    select b.id from public.bookings b
     where b.id in (select c.id from candidates c)
       and private.is_queued(b.assignment_state)
       and (b.next_attempt_at <= p_now
            or b.assignment_state = 'created' and b.deferred_since is null
               and b.created_at <= p_now - private.claim_new_after()
               and b.next_attempt_at <= b.created_at + private.nudge_grace())
     -- In the order they became claimable.
     order by least(b.next_attempt_at, b.created_at + private.claim_new_after())
     limit p_limit
     for update of b skip locked),
  claimed_rows as (
    update public.bookings b
       set next_attempt_at = p_now + pg_catalog.make_interval(secs => p_visibility_ms / 1000.0)
      from due where b.id = due.id
    returning b.id)
  select pg_catalog.array_agg(id) into claimed from claimed_rows;
  return coalesce(claimed, '{}'::uuid[]);
end $$;

create or replace function public.notification_claim(p_limit integer default 20, p_lease_ms integer default 60000,
                                                     p_now timestamptz default now())
returns table (id bigint, lease_token uuid, booking_id uuid, kind text, dedupe_key text, payload jsonb, attempts integer,
               recipient_email text, recipient_name text)
language plpgsql security definer set search_path = '' as $$
begin
  -- Its commit need not wait for the disk (see the header).
  perform pg_catalog.set_config('synchronous_commit', 'off', true);
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 500';
  end if;
  return query
  with due as (
    select o.id, private.message_is_current(o, b) as current
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id
     where ((o.status = 'pending' and o.next_attempt_at <= p_now)
            or (o.status = 'sending' and o.lease_expires_at <= p_now))
       and not exists (select 1 from public.notification_outbox e
                        where e.booking_id = o.booking_id and e.seq < o.seq
                          and e.status = 'sending' and e.lease_expires_at > p_now)
     order by o.next_attempt_at
     limit p_limit
     for update of o skip locked),
  -- Runs to completion though nothing reads it, as every data-modifying WITH does.
  dropped as (
    update public.notification_outbox o
       set status = 'superseded', lease_token = null, lease_expires_at = null
      from due where o.id = due.id and not due.current
    returning o.id),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0)
      from due where o.id = due.id and due.current
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;
