-- Everything that happens to a booking row by itself: turn policy on insert and change, due time and
-- dispatch of a new booking, re-assignment of a changed one, the end of a deferral, the concurrency limit.

-- Apply the restaurant's turn-time policy: the reset buffers always, the end time when asked to.
create function private.apply_turn_policy(b public.bookings, p_derive_end boolean)
returns public.bookings language plpgsql stable set search_path = '' as $$
declare
  band public.turn_time_policies;
  minutes integer;
begin
  select * into band from public.turn_time_policies p
   where p.restaurant_id = b.restaurant_id and b.party_size between p.min_party_size and p.max_party_size;
  b.buffer_before_minutes := coalesce(band.buffer_before_minutes, 0);
  b.buffer_after_minutes := coalesce(band.buffer_after_minutes, 0);
  if p_derive_end then
    minutes := coalesce(band.dining_minutes,
                        (select r.default_turn_minutes from public.restaurants r where r.id = b.restaurant_id), 90);
    b.end_at := b.start_at + pg_catalog.make_interval(mins => minutes);
  end if;
  return b;
end $$;

-- A new booking starts at the beginning of the state machine, pending, with its end time and buffers
-- taken from the policy.
create function private.prepare_new_booking()
returns trigger language plpgsql set search_path = '' as $$
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
  -- A new booking is nudged after its insert (dispatch_new_booking), so it is due a moment later.
  new.next_attempt_at := pg_catalog.now() + private.nudge_grace();
  return new;
end $$;

-- A changed time or party size takes the policy again; the end time follows unless it was set explicitly.
create function private.reapply_turn_policy()
returns trigger language plpgsql set search_path = '' as $$
begin
  if new.start_at is distinct from old.start_at or new.party_size is distinct from old.party_size then
    new := private.apply_turn_policy(new, new.end_at is not distinct from old.end_at);
  end if;
  return new;
end $$;
create trigger reapply_turn_policy before update of start_at, party_size on public.bookings
  for each row execute function private.reapply_turn_policy();
create trigger prepare_new_booking before insert on public.bookings
  for each row execute function private.prepare_new_booking();
create trigger touch_updated_at before update on public.bookings
  for each row execute function private.touch_updated_at();

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
  allowed := (private.settings_for(new.restaurant_id)).max_parallel;
  if running >= allowed then
    raise exception using errcode = 'AS006',
      message = pg_catalog.format('restaurant %s already has %s of %s bookings in progress', new.restaurant_id, running, allowed);
  end if;
  return new;
end $$;
create trigger enforce_max_parallel before update of assignment_state on public.bookings
  for each row when (new.assignment_state = 'assignment_in_progress' and old.assignment_state is distinct from 'assignment_in_progress')
  execute function private.enforce_max_parallel();

create function private.dispatch_new_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform private.dispatch_booking(new.id, 'insert');
  return null;
end $$;
create trigger dispatch_new_booking after insert on public.bookings
  for each row execute function private.dispatch_new_booking();

-- A confirmed booking whose time or party size changed gives its tables back and is assigned again.
create function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.assignment_state = 'confirmed'
     and (new.start_at, new.end_at, new.party_size) is distinct from (old.start_at, old.end_at, old.party_size) then
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time or party size changed after confirmation',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    perform private.nudge(new.id, 'modification');
  end if;
  return null;
end $$;
create trigger reassign_changed_booking after update of start_at, end_at, party_size on public.bookings
  for each row execute function private.reassign_changed_booking();

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
