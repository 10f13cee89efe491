-- A seated party's longer stay looks again for the bookings in its way once a hold it waited for is written.
--
-- private.hold_seated_stay (20261227020000) sends back to be planned the bookings the pipeline placed that hold
-- a seated party's tables during its longer stay, then extends the party's hold. The bookings in the way are
-- found among committed holds, so one a commit was writing at that moment was not among them: the extension
-- waited for that commit (up to 2 s), met its hold and gave up, leaving the party's hold short of its stay and
-- the booking it ran into confirmed at the table the party still sat at (booking.seated_stay_overlaps, for an
-- operator), though the pipeline may move that booking and a millisecond earlier would have. Found by a review
-- of platform writes racing the coordinator. The whole step is now tried a second time when the first meets
-- such a hold: by then the hold is committed, so the booking that holds it is seen and sent back as any other.
-- A second one met (a third writer), a hold that may not move (a party seated, a staff placement: met again by
-- the second try, which then gives up as the first did) or a wait over 2 s still leaves the overlap for an
-- operator, as before; each try waits 2 s at most, so the platform's change waits about 4 s at the very most.
-- private.hold_seated_stay: its body as in 20261227020000 moves to private.try_hold_seated_stay, which lets a hold
-- it runs into raise.

create function private.try_hold_seated_stay(b public.bookings)
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
exception when lock_not_available or deadlock_detected then
  return false;
end $$;
comment on function private.try_hold_seated_stay(public.bookings) is
  'One try of private.hold_seated_stay: raises exclusion_violation when a hold is in the way that it did not send back: one written as it looked, or one that may not move.';

create or replace function private.hold_seated_stay(b public.bookings)
returns boolean language plpgsql security definer set search_path = '' as $$
begin
  for attempt in 1..2 loop
    begin
      return private.try_hold_seated_stay(b);
    exception when exclusion_violation then
      -- Everything the try did is undone; a hold it met that was being written is committed now (it was waited
      -- for), so the second try sees the booking that holds it. One that may not move is met again.
      null;
    end;
  end loop;
  return false;
end $$;
comment on function private.hold_seated_stay(public.bookings) is
  'Hold a checked-in booking''s tables for its whole stay, sending the bookings the pipeline placed that are not yet arrived and hold them then back to be planned (true), looking again once when a hold written meanwhile is in the way; false, with nothing changed, while anything else holds part of it.';

revoke all on all routines in schema private from public, anon, authenticated;
