-- A booking whose status comes back to confirmed from checked_in, completed or no_show is checked again, and
-- an arrived or finished party's state moves only with its status. An attacker's review found, through the
-- Data API as service_role:
--   * a double booking in two ordinary UPDATEs: set a confirmed booking no_show (or completed) together with a
--     new time — a finished booking is left as it is (20261210040000), so its tables stayed held at the old
--     time — then set it confirmed again. The booking was confirmed at the new time holding tables at the old
--     one; the pipeline then seated another party on those tables at the new time. The same with checked_in,
--     whose stay change is held only where free, and whose party-size change is not checked against the
--     tables at all (the party is already seated at them).
--   * public.transition_assignment_state sent a checked-in booking back to assignment_pending, releasing the
--     tables its party was sitting at (the ops calls already refuse arrived and finished bookings).
-- Now a booking back at confirmed whose stay lies ahead keeps its tables only where they still hold its stay
-- under the rules (the same window, every rule); otherwise it is planned again, as a changed booking is, and
-- the guest is told only once it is confirmed again. And the state of a booking whose party has arrived or
-- finished changes only by cancelling it (as cancel_booking does).

-- Whether the booking's tables hold exactly its stay (with buffers) and obey every rule for it but the
-- combination limit (lowering that setting is meant for new bookings).
create function private.holds_its_stay(b public.bookings)
returns boolean language plpgsql stable set search_path = '' as $$
declare
  ids uuid[];
  same_window boolean;
begin
  select pg_catalog.array_agg(a.table_id), bool_and(a.during = private.blocked_window(b)) into ids, same_window
    from public.booking_table_assignments a where a.booking_id = b.id and a.released_at is null;
  return ids is not null and same_window
         and private.plan_violation(b, ids, pg_catalog.cardinality(ids)) is null;
end $$;

-- Body as in 20261210040000, with a booking back from checked_in, completed or no_show checked again.
create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed boolean := (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
                     is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes);
  returned boolean := new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show');
begin
  if new.assignment_state <> 'confirmed' or not (changed or returned) then
    return null;
  end if;
  if new.status in ('completed', 'no_show') then
    return null;
  end if;
  if new.status = 'checked_in' then
    if changed then
      begin
        update public.booking_table_assignments set during = private.blocked_window(new)
         where booking_id = new.id and released_at is null;
      exception when exclusion_violation then
        perform private.record_event('assignment.ops', 'booking.seated_stay_overlaps', 'warning',
          pg_catalog.jsonb_build_object('reason', 'seated_stay_overlaps',
                                        'tables', (select pg_catalog.count(*) from public.booking_table_assignments a
                                                    where a.booking_id = new.id and a.released_at is null)),
          new.restaurant_id, new.id);
      end;
    end if;
    return null;
  end if;
  -- Back from its visit: what it holds must still be its stay under the rules. A visit already over with no
  -- hold starting later can seat no one else and is left as it is.
  if not changed and (private.holds_its_stay(new)
                      or (new.end_at <= pg_catalog.now()
                          and not exists (select 1 from public.booking_table_assignments a
                                           where a.booking_id = new.id and a.released_at is null
                                             and pg_catalog.lower(a.during) > pg_catalog.now()))) then
    return null;
  end if;
  perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
    case when changed then 'booking_changed: time, party size or buffers changed after confirmation'
         else 'booking_changed: back to confirmed from ' || old.status || ', and its tables no longer hold its stay' end,
    pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                  'start_changed', new.start_at is distinct from old.start_at), 'system');
  perform private.nudge(new.id, 'modification');
  return null;
end $$;

drop trigger reassign_changed_booking on public.bookings;
-- The WHEN clause keeps the trigger off the pipeline's own status changes (every confirmation).
create trigger reassign_changed_booking
  after update of start_at, end_at, party_size, buffer_before_minutes, buffer_after_minutes, status on public.bookings
  for each row
  when ((new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
        is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes)
        or (new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show')))
  execute function private.reassign_changed_booking();

-- Body as in 20261202100000, telling the guest what a booking back from its visit is now: the trigger before
-- this one (reassign_changed_booking) may have sent it to be planned again, and of a visit already over there
-- is nothing to tell. Other status changes are told as they come, without reading the row again.
create or replace function private.tell_guest_of_status()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings := new;
begin
  if old.status in ('checked_in', 'completed', 'no_show') then
    select * into b from public.bookings where id = new.id;
    -- Planned again: told once settled. A visit already over, kept or cancelled: nothing to tell the guest of.
    if b.status not in ('confirmed', 'cancelled') or b.end_at <= pg_catalog.now() then
      return null;
    end if;
  end if;
  perform private.tell_guest(b);
  return null;
end $$;

-- Body as in 20261201100700, refusing to move an arrived or finished party's booking anywhere but cancelled.
create or replace function public.transition_assignment_state(
  p_booking_id uuid,
  p_to_state text,
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb default '{}'::jsonb,
  p_actor text default 'ops'
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  from_state text;
  guest_status text;
  new_version integer;
begin
  if p_to_state = 'assignment_in_progress' then
    raise exception using errcode = 'AS010',
      message = 'only the coordinator puts a booking in progress: it takes a lease and one of the restaurant''s concurrency slots',
      hint = 'Move the booking to assignment_pending and let the pipeline pick it up.';
  end if;
  if p_to_state in ('assigned', 'confirmed') then
    raise exception using errcode = 'AS010',
      message = pg_catalog.format('a booking becomes %s only together with its tables', p_to_state),
      hint = 'Use ops.assign_tables(booking_id, array[''T1''], actor), which writes the tables and confirms the booking.';
  end if;
  -- Locked, so a check-in committing meanwhile is seen (the transition locks the row anyway).
  select assignment_state, status into from_state, guest_status from public.bookings where id = p_booking_id for update;
  if guest_status in ('checked_in', 'completed', 'no_show') and p_to_state <> 'cancelled' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s is %s: the tables of a party that has arrived or finished are not re-planned',
                                  p_booking_id, guest_status),
      hint = 'Set its status back to confirmed first (its tables are checked again then), or cancel it.';
  end if;
  new_version := private.apply_assignment_transition(p_booking_id, p_to_state, p_expected_version,
                                                     p_reason, p_metadata, p_actor);
  return pg_catalog.jsonb_build_object('booking_id', p_booking_id, 'from', from_state, 'to', p_to_state,
                                       'version', new_version);
end $$;

comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition, or a booking whose party has arrived or finished, which only cancelling moves), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. The reason is kept with the booking only (its history, and manual_review_reason), with e-mail addresses and phone numbers replaced by [email] and [number]; the event carries its code, or free_text and its length. The metadata is kept as given in the history; in the event every string value that is not a single token (a code, a table number, a time stamp) reads free_text, and entries whose key is not a token are left out (counted in free_text_keys).';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
