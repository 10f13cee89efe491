-- A long queue waits to be woken and does not poll, and a lease starts when its locks are held.
--
-- A booking joining its restaurant's queue (at insert, sent back to be planned, or at a begin that finds the
-- slots taken) came due by its own timer rate_limited_delay_ms (10 s) later, whatever its place. Wakes take
-- the queue in order as slots free, and the timer is only the fallback for a wake that was missed; but in a
-- queue that takes longer than 10 s to move through, every booking of it came due every 10 s, was handed out
-- by a claim or a sweep, took the restaurant's lock to be begun, found the slots taken and was deferred again.
-- A drop of 2,500 bookings for one restaurant was handed out 0.95 times more per booking for nothing
-- (docs/benchmarks.md), and those polls held up the whole database: claims and sweeps hand out the due
-- bookings of every restaurant oldest first, so another restaurant's booking woken when its slot freed was
-- handed out only after every polling booking of the long queue that came due before it (a read-only review of
-- fairness between restaurants).
--
-- Now a booking's timer grows with the queue ahead of it, up to max_deferral_seconds as before (a booking
-- still waiting then is sent to review at that time, as before); the first round of a queue keeps the 10 s:
-- - one joining at insert, or sent back to be planned (which a platform may do to thousands in one statement),
--   is due one turn of a slot (rate_limited_delay_ms / max_parallel) after the latest timer of the queue, at
--   least rate_limited_delay_ms from now (private.queue_tail_due: one index probe however long the queue;
--   counting the queue there doubled an insert's cost in a drop);
-- - one deferred at a begin, under the restaurant's lock, counts the bookings waiting that were made before it
--   (private.queue_rounds_ahead: by created_at then id, as the wake orders them, on the queue's own index, up
--   to 60 rounds) and waits one rate_limited_delay_ms more for each round of the restaurant's max_parallel
--   slots they fill: a woken head turned away looks again in 10 s.
-- A booking sent back keeps its place from when it was made all the same: the timer is only the fallback.
-- Wakes take the queue in its order whatever the timers say. The one place a 10 s timer had filled slots no
-- wake was sent for is an operator raising the limit while bookings are in flight (ops.set_max_parallel woke
-- only a queue with nothing in flight): it now wakes each queue for the slots it has free, in its order, as a
-- booking leaving its slot does, and still never a queue behind a breaker that is not closed (a re-read of
-- this change).
--
-- And a lease starts when its locks are held. assignment_lease and assignment_begin take the transaction's
-- start (now()) as their clock unless the owner passes one, and they wait up to 5 s for the restaurant's lock
-- and up to 5 s more for the booking's row. A lease that waited was born that much shorter: its expiry was
-- measured from before the wait. With lease_seconds at its allowed minimum (5 s), a lease that waited 4.9 s
-- behind an operator's transaction had 0.1 s left, ran out to the sweeper, and its expiry counted a failure
-- against the restaurant's breaker (a read-only review of the clocks). Now a lease begun on the default clock
-- runs from the moment its attempt begins (clock_timestamp()), its locks held; a clock the owner passes
-- (tests) is kept as given. A deferral's due time is still measured from the transaction's start: it comes due
-- up to the wait sooner, which costs a look, not a lease.
--
-- And the count of a restaurant's slots reads only the bookings in its windows. private.slots_taken counts the
-- bookings woken in the last nudge_grace and those handed out in it, each up to max_parallel; the plan the
-- planner keeps for it read each of those windows on the other window's index, through the whole queue, and a
-- platform's statement sending thousands of a restaurant's bookings back (a whole day moved) counts once per
-- row: 5,000 took 22 s, past the Data API's 8 s, rolled back (a read-only review of bulk writes, measured).
-- Each window is now read in its own index's order, with sorting off for the function as sequential reads are,
-- so its range bounds the read.
--
-- private.prepare_new_booking: as in 20261229010000 (its settings from 20261231280000); private.queue_or_nudge:
-- as in 20261231150000; private.assignment_lease_unchecked: as in 20261231390000; each with that wait, and the
-- lease with its clock. private.slots_taken: as in 20261231170000 (its settings from 20261231280000), each
-- window read in order. ops.set_max_parallel: as in 20261219000000 (its lock_timeout from 20261231060000), with
-- that wake.

-- When a booking joining its restaurant's queue at the tail is due by its own timer (see the header).
create function private.queue_tail_due(p_restaurant_id uuid, p_settings private.pipeline_settings)
returns timestamptz language sql stable set search_path = '' set enable_seqscan = off set enable_sort = off
set jit = off as $$
  select least(
    greatest(pg_catalog.now() + pg_catalog.make_interval(secs => p_settings.rate_limited_delay_ms / 1000.0),
             -- The latest timer as the last entry of the queue's timer index, never a sort of the queue (a
             -- max(), or an order another index was picked for, read the whole queue, once per row of a
             -- platform's statement over thousands of bookings).
             (select w.next_attempt_at from public.bookings w
               where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                 and w.next_attempt_at is not null
               order by w.next_attempt_at desc limit 1)
               + pg_catalog.make_interval(secs => p_settings.rate_limited_delay_ms / 1000.0 / p_settings.max_parallel)),
    pg_catalog.now() + pg_catalog.make_interval(secs => p_settings.max_deferral_seconds));
$$;
comment on function private.queue_tail_due(uuid, private.pipeline_settings) is
  'When a booking joining the restaurant''s queue at its tail (at insert, or sent back to be planned) is due by its own timer, the fallback for a missed wake: one turn of a slot (rate_limited_delay_ms / max_parallel) after the latest timer of the queue, at least rate_limited_delay_ms and at most max_deferral_seconds from now (20261231500000).';

-- How many whole rounds of the restaurant's slots the bookings queued ahead of a booking fill: those waiting
-- that were made before it (p_created_at, p_id), counted up to 60 rounds.
create function private.queue_rounds_ahead(p_restaurant_id uuid, p_created_at timestamptz, p_id uuid,
                                           p_settings private.pipeline_settings)
returns integer language sql stable set search_path = '' set enable_seqscan = off set jit = off as $$
  select (count(*) / p_settings.max_parallel)::integer
    from (select 1 from public.bookings w
           where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
             and (w.created_at, w.id) < (p_created_at, p_id)
           limit p_settings.max_parallel * 60) s;
$$;
comment on function private.queue_rounds_ahead(uuid, timestamptz, uuid, private.pipeline_settings) is
  'Whole rounds of the restaurant''s max_parallel slots that the bookings waiting in its queue ahead of a booking fill (made before p_created_at, p_id), up to 60: a booking deferred at a begin is due by its own timer one rate_limited_delay_ms later per round, its own included (20261231500000).';

create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
  taken integer;
  given public.bookings := new;
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
  -- A client may not backdate it: a booking that looks idle for an hour from its insert is listed as stuck,
  -- and releasing it resets its dispatch count, which would get round the escalation after max_dispatches.
  new.updated_at := pg_catalog.now();
  if new.start_at is not null and new.party_size is not null then
    new := private.apply_turn_policy(new, new.end_at is null);
    -- Buffers the insert gives are the platform's (a 0 is the columns' default: left out).
    if given.buffer_before_minutes > 0 then
      new.buffer_before_minutes := given.buffer_before_minutes;
    end if;
    if given.buffer_after_minutes > 0 then
      new.buffer_after_minutes := given.buffer_after_minutes;
    end if;
  end if;
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later; one that
  -- joins a queue is due when woken, or after the fallback.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  settings := private.settings_for(new.restaurant_id);
  taken := private.slots_taken(new.restaurant_id, pg_catalog.now());
  if taken >= settings.max_parallel
     or taken > 0 and exists (select 1 from public.bookings w
                               where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                                 and private.is_queued(w.assignment_state)) then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := private.queue_tail_due(new.restaurant_id, settings);
  end if;
  return new;
end $$;

alter function private.prepare_new_booking() set enable_seqscan = off set jit = off;

create or replace function private.queue_or_nudge(p_booking_id uuid, p_restaurant_id uuid, p_trigger text)
returns boolean language plpgsql set search_path = '' as $$
declare
  settings private.pipeline_settings := private.settings_for(p_restaurant_id);
  taken integer := private.slots_taken(p_restaurant_id, pg_catalog.now());
begin
  if taken >= settings.max_parallel
     or taken > 0 and exists (select 1 from public.bookings w
                               where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                                 and w.id <> p_booking_id and private.is_queued(w.assignment_state)) then
    update public.bookings
       set deferred_since = pg_catalog.now(), next_attempt_at = private.queue_tail_due(p_restaurant_id, settings)
     where id = p_booking_id;
    return true;
  end if;
  perform private.nudge(p_booking_id, p_trigger);
  return false;
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


create or replace function private.slots_taken(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql stable set search_path = '' set enable_seqscan = off set enable_sort = off
set jit = off as $$
declare
  cap integer := (private.settings_for(p_restaurant_id)).max_parallel;
  taken integer;
begin
  select count(*) into taken
    from (select 1 from public.bookings x
           where x.restaurant_id = p_restaurant_id
             and (x.assignment_state = 'assignment_in_progress'
                  or x.assignment_state = 'created' and x.deferred_since is null and x.next_attempt_at > p_now)
           limit cap) s;
  if taken >= cap then
    return taken;
  end if;
  -- Woken from the queue (or due by its fallback) in the last nudge_grace and not yet handed out: one due for
  -- longer that nobody claimed or swept holds no slot.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings w
                             where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                               and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now
                               and w.next_attempt_at > p_now - private.nudge_grace()
                             -- In the order of the window's own index, so its range bounds the read (see the header).
                             order by w.next_attempt_at
                             limit cap - taken) s);
  if taken >= cap then
    return taken;
  end if;
  -- Handed out from the queue (claimed, or dispatched by a sweep) a moment ago and not begun since.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings h
                             where h.restaurant_id = p_restaurant_id and h.deferred_since is not null
                               and private.handed_out_lately(h.last_dispatched_at, h.updated_at, p_now)
                               and private.is_queued(h.assignment_state) and h.next_attempt_at > p_now
                             order by h.last_dispatched_at
                             limit cap - taken) s);
  if taken >= cap then
    return taken;
  end if;
  -- Sent back and nudged, or a retry claimed or dispatched by a sweep, a moment ago and not begun since, by
  -- the same test.
  return taken + (select count(*)
                    from (select 1 from public.bookings n
                           where n.restaurant_id = p_restaurant_id and n.deferred_since is null
                             and n.assignment_state = 'assignment_pending'
                             and private.handed_out_lately(n.last_dispatched_at, n.updated_at, p_now)
                             and n.next_attempt_at > p_now
                           order by n.last_dispatched_at
                           limit cap - taken) s);
end $$;

create or replace function ops.set_max_parallel(p_value integer, p_actor text, p_restaurant_id uuid default null,
                                     p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' set lock_timeout = '5s' as $$
declare
  queue record;
  at timestamptz;
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
  -- Each queue is woken for the slots it now has free, in its order (see the header), on the clock of the moment
  -- it is reached (a global change may walk many queues). No queue lock is taken: holding one per queue until
  -- commit could fill the server's lock table where thousands of restaurants have a queue, or fail the whole
  -- change behind a sweep that holds one. The cost: a stranded-queue waker that runs before this commits cannot
  -- see these wakes and may wake the bookings behind them, which can then take slots ahead of some of these
  -- (turned away at their begin, back at the head). The order is then rough, as with a slot freed meanwhile,
  -- and the next wake takes the head again; the limit itself is held at every begin.
  for queue in select distinct w.restaurant_id from public.bookings w
                where w.deferred_since is not null
                  and (p_restaurant_id is null or w.restaurant_id = p_restaurant_id)
                  and not exists (select 1 from private.circuit_breakers c
                                   where c.restaurant_id = w.restaurant_id and c.state <> 'closed') loop
    at := pg_catalog.clock_timestamp();
    perform private.wake_bookings(private.queue_head(queue.restaurant_id,
      (private.settings_for(queue.restaurant_id)).max_parallel - private.slots_taken(queue.restaurant_id, at), at),
      at);
  end loop;
  return private.max_parallel_report(p_restaurant_id);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
