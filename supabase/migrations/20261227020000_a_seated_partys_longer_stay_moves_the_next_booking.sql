-- A seated party's longer stay holds its tables: the bookings not yet arrived that held them are planned again.
--
-- A review of the engine against the rules Postgres enforces found that a checked-in party whose stay grew into
-- the next booking on its tables kept the hold it had (20261210040000) while every availability check, the
-- engine's snapshot and the commit's alike, reads holds only:
--   1. A, seated at T, holds it 19:00-21:00; B holds T from 21:15;
--   2. A's end moves to 22:00: the longer hold is refused, A keeps 19:00-21:00 and booking.seated_stay_overlaps
--      is recorded, for an operator to move B by hand;
--   3. meanwhile a short booking for 21:00-21:15 could be seated at T while A sits there; and once B was moved
--      or cancelled, which cleared the overlap in ops.health, all of T from 21:00 looked free for the rest of
--      A's stay, and the pipeline seated the next party there.
-- The party at the table is not going anywhere, so its stay is held and the booking in its way moves: each
-- booking not yet arrived (confirmed, status confirmed) that the pipeline placed and that holds one of its
-- tables during the new stay is sent back to be planned, as a changed booking is (history reason
-- seated_stay_needs_table, its tables released, dispatched at once), then the whole stay is held. The engine
-- seats B elsewhere, or B goes to review with the engine's reason; its guest hears only what changes for them
-- once it is settled. Where a party seated, a visit over or missed, or a booking staff placed (an operator's
-- choice, which the re-optimiser does not move either) still holds part of that stay, or one in the way is being
-- changed at that moment (skipped, never waited for; a hold being written there is waited for 2 s at most),
-- nothing changes: the party keeps the hold it had and booking.seated_stay_overlaps is recorded, as before. A
-- booking about to start, or started and not yet checked in, is sent back too: the party at its table is not
-- leaving, so it needs other tables whatever the re-optimiser's 30-minute lock says. A visit checked in again
-- (20261226040000) holds its stay the same way.
-- private.reassign_changed_booking: body as in 20261226040000, with the hold taken through hold_seated_stay, and
-- nothing done for a row an earlier row's trigger of the same statement has changed since.

insert into private.reason_codes (code, meaning)
values ('seated_stay_needs_table', 'a seated party''s longer stay needs the table this booking held');

-- The bookings the pipeline placed (no staff-set hold) that hold one of a seated booking's tables during a stay.
create function private.seated_stay_obstacle(p_booking_id uuid, p_stay tstzrange)
returns setof uuid language sql stable set search_path = '' as $$
  select a.booking_id from public.booking_table_assignments a
    join public.booking_table_assignments mine
      on mine.table_id = a.table_id and mine.booking_id = p_booking_id and mine.released_at is null
   where a.released_at is null and a.booking_id <> p_booking_id and a.during && p_stay
     and not exists (select 1 from public.booking_table_assignments staff
                      where staff.booking_id = a.booking_id and staff.released_at is null and staff.source <> 'auto');
$$;

-- Hold a checked-in booking's tables for its whole stay, sending back to be planned every booking in its way
-- that may go (true); false, with nothing changed (the hold as it was, no booking sent back), while anything
-- else holds part of it or another transaction writing a hold there keeps it waiting over 2 s.
create function private.hold_seated_stay(b public.bookings)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  stay tstzrange := private.blocked_window(b);
  k public.bookings;
  prior_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  -- Those that may go: waiting for their guest, placed by the pipeline (a staff placement is an operator's
  -- choice, as for the re-optimiser), and not being changed by another transaction right now (skip locked: a
  -- commit or an operator moving one never waits for this, nor this for them; one skipped stays in the way,
  -- and the overlap is left for an operator).
  for k in select o.* from public.bookings o
            where o.id in (select private.seated_stay_obstacle(b.id, stay))
              and o.assignment_state = 'confirmed' and o.status = 'confirmed'
            order by o.start_at, o.id for update skip locked loop
    -- Looked at again now that it is locked: it may have been moved off these tables meanwhile.
    if k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and k.id in (select private.seated_stay_obstacle(b.id, stay)) then
      perform private.apply_assignment_transition(k.id, 'assignment_pending', k.assignment_state_version,
        'seated_stay_needs_table: a seated party''s longer stay needs its table', '{}'::jsonb, 'system');
      perform private.nudge(k.id, 'modification');
    end if;
  end loop;
  -- A hold another transaction is writing on these tables (a commit seating someone, an operator's call) is
  -- waited for briefly: the platform's change is never held up for long, nor fails, for a race it lost.
  perform pg_catalog.set_config('lock_timeout', '2s', true);
  update public.booking_table_assignments set during = stay
   where booking_id = b.id and released_at is null and during is distinct from stay;
  perform pg_catalog.set_config('lock_timeout', prior_lock_timeout, true);
  return true;
exception when exclusion_violation or lock_not_available or deadlock_detected then
  return false;
end $$;
comment on function private.hold_seated_stay(public.bookings) is
  'Hold a checked-in booking''s tables for its whole stay, sending the bookings the pipeline placed that are not yet arrived and hold them then back to be planned (true); false, with nothing changed, while anything else holds part of it.';

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
  -- Changed since by an earlier row's trigger of the same statement (a seated party's longer stay sent it back
  -- to be planned): nothing is left to do, and its version is no longer this row's.
  if (select x.assignment_state_version from public.bookings x where x.id = new.id) <> new.assignment_state_version then
    return null;
  end if;
  -- A visit over or missed is left as it is; checked in again (a late guest, a correction), it holds its
  -- tables for the stay it now has, as a seated party whose stay changes does.
  if new.status in ('completed', 'no_show') then
    return null;
  end if;
  if new.status = 'checked_in' then
    if changed or reseated then
      if not private.hold_seated_stay(new) then
        perform private.record_event('assignment.ops', 'booking.seated_stay_overlaps', 'warning',
          pg_catalog.jsonb_build_object('reason', 'seated_stay_overlaps',
                                        'tables', (select pg_catalog.count(*) from public.booking_table_assignments a
                                                    where a.booking_id = new.id and a.released_at is null)),
          new.restaurant_id, new.id);
      end if;
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


revoke all on all routines in schema private from public, anon, authenticated;
