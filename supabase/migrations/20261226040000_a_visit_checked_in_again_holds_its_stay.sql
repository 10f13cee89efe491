-- A visit checked in again holds its tables for the stay it now has.
--
-- A review of the changes a platform makes after a booking exists found that a change to a completed or
-- no-show booking's time is left as it is, tables and all (as documented), but that nothing looked at the
-- tables when such a booking was checked in again:
--   1. B, confirmed 19:00–21:00, holds table T for that window; it is marked no_show;
--   2. the guest calls, late: its start moves to 21:30 (the hold stays on 19:00–21:00);
--   3. the guest arrives: status checked_in, and nothing moves the hold;
--   4. B is seated 21:30–23:30 while T is held for it only until 21:00, so the pipeline or an operator seats
--      another party on T at 21:30, and ops.health sees no overlap.
-- Checking a completed or no-show booking in again now moves its hold to its stay as a change to a checked-in
-- booking does (recording booking.seated_stay_overlaps when that stay's tables are taken meanwhile). Body as in
-- 20261210120000, with that change; the trigger fires on the return to checked_in too.

create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed boolean := (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
                     is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes);
  returned boolean := new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show');
  reseated boolean := new.status = 'checked_in' and old.status in ('completed', 'no_show');
begin
  if new.assignment_state <> 'confirmed' or not (changed or returned or reseated) then
    return null;
  end if;
  -- A visit over or missed is left as it is; checked in again (a late guest, a correction), it holds its
  -- tables for the stay it now has, as a seated party whose stay changes does.
  if new.status in ('completed', 'no_show') then
    return null;
  end if;
  if new.status = 'checked_in' then
    if changed or reseated then
      begin
        update public.booking_table_assignments set during = private.blocked_window(new)
         where booking_id = new.id and released_at is null and during is distinct from private.blocked_window(new);
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

create or replace trigger reassign_changed_booking
  after update of start_at, end_at, party_size, buffer_before_minutes, buffer_after_minutes, status on public.bookings
  for each row
  when ((new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
        is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes)
        or (new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show'))
        or (new.status = 'checked_in' and old.status in ('completed', 'no_show')))
  execute function private.reassign_changed_booking();

revoke all on all routines in schema private from public, anon, authenticated;
