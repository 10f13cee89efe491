-- A booking handed out from the queue holds its slot until it is begun, and a new booking jumps no queue
-- while its restaurant is busy.
--
-- 20261218000000 made a new booking join its restaurant's queue whenever bookings waited in it, so that it
-- could not take the slot a woken booking was about to begin in. A review found that rule too broad: a queue
-- can wait while its restaurant has nothing in flight (a queue stranded by a race, bookings held behind a
-- circuit breaker an operator has just reset), and then every new booking joined it instead of being
-- dispatched, until a sweep came round.
--
-- The slot itself was the gap: a booking claimed from the queue (or dispatched from it by a sweep) and not
-- yet begun was counted neither as woken (its next look is pushed out while it is handed out) nor as in
-- progress. It is now counted as a slot for as long as the hand-out is fresh (nudge_grace, 10 s: the claim's
-- visibility), so a slot that frees wakes only as many as are free. And a new booking joins the queue while
-- every slot is spoken for, as before, or while bookings wait in the queue and anything of the restaurant is
-- in flight: in a rush a slot is free for moments at a time (a begin that found its booking locked, a wake
-- that skipped a locked row), and a new booking that took it held it while its dispatch was on the way (up to
-- a second with hosted pg_net) with the queue behind it asleep. A restaurant with nothing in flight
-- dispatches a new booking as before, so a stranded or held queue never holds new bookings back; the
-- bookings in flight each wake the next waiting ones when they leave their slot. A hand-out whose worker died
-- holds one slot, and the queue, for at most those 10 s.

create or replace function private.slots_taken(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql stable set search_path = '' as $$
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
  -- Woken from the queue and not yet handed out.
  taken := taken + (select count(*)
                      from (select 1 from public.bookings w
                             where w.restaurant_id = p_restaurant_id and w.deferred_since is not null
                               and private.is_queued(w.assignment_state) and w.next_attempt_at <= p_now
                             limit cap - taken) s);
  if taken >= cap then
    return taken;
  end if;
  -- Handed out from the queue (claimed, or dispatched by a sweep) a moment ago and not begun since: nothing has
  -- touched the row after the hand-out (queue_is_served's test, 20261208000000).
  return taken + (select count(*)
                    from (select 1 from public.bookings h
                           where h.restaurant_id = p_restaurant_id and h.deferred_since is not null
                             and h.last_dispatched_at > p_now - private.nudge_grace()
                             and h.updated_at <= h.last_dispatched_at
                             and private.is_queued(h.assignment_state) and h.next_attempt_at > p_now
                           limit cap - taken) s);
end $$;
comment on function private.slots_taken(uuid, timestamptz) is
  'How many of the restaurant''s concurrency slots are spoken for at p_now (bookings in progress, dispatched and not yet begun, woken from the queue and not yet begun, handed out from the queue in the last nudge_grace and not yet begun), counted up to its max_parallel: callers compare it with that limit or with zero.';

-- Body as in 20261210160000, joining the queue also while it waits and the restaurant is busy.
create or replace function private.prepare_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  settings private.pipeline_settings;
  taken integer;
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
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(
      secs => least(settings.rate_limited_delay_ms / 1000.0, settings.max_deferral_seconds));
  end if;
  return new;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
