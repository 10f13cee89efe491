-- A booking whose time, stay or party changes while it waits in manual review is planned again.
--
-- A changed booking was planned again only when it was confirmed. One in review kept its review and its reason
-- whatever the platform changed: a party of 8 that no table fitted, cut to 2 by the guest, still read
-- "no_table_fits: … a party of 8 at 19:00" for an operator to call about, and nothing tried to seat the 2, though
-- the change is a new request. It now goes back to be planned (history reason booking_changed, its attempts
-- counted afresh, dispatched at once), as a confirmed booking does: it is seated, or it comes back to review with
-- the reason that holds now (and alternatives searched for it). Only a review that is the engine's verdict on the
-- request (no table fits, the party too large or small for every table, outside service hours, the exact search
-- out of time) is undone so: one for another cause (a platform's or an operator's own words, an outage, attempts
-- used up) is an operator's to settle, and stays. Left in review too: a booking whose start has passed, and an
-- operator's own change made through an ops call in the same statement (ops.accept_alternative moves the booking
-- to the time it then seats it at).
-- private.reassign_changed_booking: body as in 20261227020000, with the review branch beside the confirmed one.

create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed boolean := (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
                     is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes);
  returned boolean := new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show');
  reseated boolean := new.status = 'checked_in' and old.status in ('completed', 'no_show');
  reviewed boolean;
begin
  -- In review on the engine's verdict, a change is a new request. Not an ops call's own change in this
  -- statement (stamped by act_as).
  reviewed := new.assignment_state = 'manual_review' and changed and new.status = 'pending'
              and new.start_at > pg_catalog.now()
              and pg_catalog.split_part(new.manual_review_reason, ':', 1)
                  in ('no_table_fits', 'party_too_large', 'party_too_small', 'outside_service_hours',
                      'exact_search_budget_exhausted')
              and pg_catalog.split_part(coalesce(pg_catalog.current_setting('pipeline.actor', true), ''), '|', 1)
                  <> pg_catalog.statement_timestamp()::text;
  if not reviewed and (new.assignment_state <> 'confirmed' or not (changed or returned or reseated)) then
    return null;
  end if;
  -- Changed since by an earlier row's trigger of the same statement (a seated party's longer stay sent it back
  -- to be planned): nothing is left to do, and its version is no longer this row's.
  if (select x.assignment_state_version from public.bookings x where x.id = new.id) <> new.assignment_state_version then
    return null;
  end if;
  if reviewed then
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time, party size or buffers changed while in manual review',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    perform private.nudge(new.id, 'modification');
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
