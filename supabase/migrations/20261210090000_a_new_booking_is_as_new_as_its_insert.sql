-- A new booking is as new as its insert. A security review found that a client writing bookings (service_role
-- through the Data API) could insert one with an old updated_at: it was listed in ops.stuck_bookings at once,
-- and ops.release_stuck would reset its dispatch count. created_at was already refused unless now()
-- (private.guard_bookkeeping); updated_at is now set to the insert's time, as every update sets it.

-- Body as in 20261204020000, with updated_at set.
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
  if private.slots_taken(new.restaurant_id, pg_catalog.now()) >= settings.max_parallel then
    new.deferred_since := pg_catalog.now();
    new.next_attempt_at := pg_catalog.now() + pg_catalog.make_interval(secs => settings.rate_limited_delay_ms / 1000.0);
  end if;
  return new;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
