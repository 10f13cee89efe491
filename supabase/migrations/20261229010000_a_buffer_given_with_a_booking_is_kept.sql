-- A buffer given with a booking is kept: at its insert, and through later changes of its time or party size.
--
-- A review of the writes a platform makes found that an INSERT giving a booking's reset buffer
-- (buffer_after_minutes = 45: a table that needs longer after a cake service) was stored with the turn
-- policy's buffer instead, silently: the policy set both buffers on every insert, while an UPDATE that gives
-- them keeps them (20261226070000), so the same value was kept or dropped by how it was written, and a buffer
-- shorter than asked let the next party be seated too soon. A buffer the insert gives is now kept; one left
-- out takes the policy's. The columns default to 0, so a 0 given cannot be told from one left out and takes
-- the policy's (the longer, so no stay runs into the next); a booking that needs no buffer where the policy
-- has one is given it by an update after the insert.
-- Its review found the same buffer then dropped by the booking's first change of time or party size (the
-- policy was re-applied unless that very change gave the buffer), and by an accepted alternative, whose search
-- priced the new time with the policy's buffers. A buffer that differs from the policy's for the booking as it
-- was is a given one, as an end that differs from the policy's is (20261210130000), and a change keeps it;
-- private.moved_to keeps the booking's buffers with its length, as that change will. As with the end, the
-- policy read is today's: a booking made before its policy's buffer changed keeps the buffer it was made with
-- through later changes, as its neighbours that did not change keep theirs (before, a change took the new
-- policy's).
-- Bodies: private.prepare_new_booking as in 20261218010000, private.reapply_turn_policy as in 20261226070000,
-- private.moved_to as in 20261210080000, with those changes.

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
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(
      secs => least(settings.rate_limited_delay_ms / 1000.0, settings.max_deferral_seconds));
  end if;
  return new;
end $$;


create or replace function private.reapply_turn_policy()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  given public.bookings := new;
  -- The policy's end and buffers for the booking as it was: what differs from them was given.
  derived public.bookings;
begin
  if new.start_at is distinct from old.start_at or new.party_size is distinct from old.party_size then
    derived := private.apply_turn_policy(old, true);
    if new.end_at is distinct from old.end_at then
      new := private.apply_turn_policy(new, false);
    elsif old.end_at is distinct from derived.end_at then
      new := private.apply_turn_policy(new, false);
      new.end_at := new.start_at + (old.end_at - old.start_at);
    else
      new := private.apply_turn_policy(new, true);
    end if;
    -- Buffers given in the same change are the platform's, as an end given is; so are those given before.
    if given.buffer_before_minutes is distinct from old.buffer_before_minutes then
      new.buffer_before_minutes := given.buffer_before_minutes;
    elsif old.buffer_before_minutes is distinct from derived.buffer_before_minutes then
      new.buffer_before_minutes := old.buffer_before_minutes;
    end if;
    if given.buffer_after_minutes is distinct from old.buffer_after_minutes then
      new.buffer_after_minutes := given.buffer_after_minutes;
    elsif old.buffer_after_minutes is distinct from derived.buffer_after_minutes then
      new.buffer_after_minutes := old.buffer_after_minutes;
    end if;
  end if;
  return new;
end $$;

-- The booking at another start, as moving it there stores it: its length and, its party unchanged, its
-- buffers kept (the policy's, or the ones it was given).
create or replace function private.moved_to(b public.bookings, p_start_at timestamptz)
returns public.bookings language plpgsql stable set search_path = '' as $$
begin
  b.end_at := p_start_at + (b.end_at - b.start_at);
  b.start_at := p_start_at;
  return b;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
