-- A party that has arrived keeps its tables. A platform's change to a confirmed booking's time, party size or
-- buffers sent it back for new tables whatever its status: a checked-in party whose stay was extended, or
-- whose size was corrected, had its tables released while it sat at them, lost its check-in (status back to
-- pending) and was told its booking had changed; a completed or no-show booking was planned again. (A check of
-- the first implementation's defects found it: "checked_in is not blocking", by another route.)
-- Now a change to a checked-in booking holds its tables for the new stay where they are free, and otherwise
-- keeps the hold it has and records booking.seated_stay_overlaps for an operator (the next booking on those
-- tables is at risk); a completed or no-show booking is left as it is.

-- Body as in 20261202300000, with arrived and finished parties kept in place.
create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.assignment_state = 'confirmed'
     and (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
         is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes) then
    if new.status in ('completed', 'no_show') then
      return null;
    end if;
    if new.status = 'checked_in' then
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
      return null;
    end if;
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time, party size or buffers changed after confirmation',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    perform private.nudge(new.id, 'modification');
  end if;
  return null;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
