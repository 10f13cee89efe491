-- A cancelled booking a platform tries to reopen is told to insert a new one.
--
-- A review of the writes a platform makes found that UPDATE bookings SET status = 'pending' on a cancelled
-- booking (the guest changed their mind) was refused (AS011, rightly: its tables are gone and its guest was told
-- of the cancellation) with the hint "A booking is confirmed, checked in, completed or a no-show only once its
-- tables are confirmed", which is about confirming, not reopening, and left the developer to guess that a
-- cancelled booking cannot come back. The refusal is the same; its hint now says what to do.
-- private.guard_assignment_state: body as in 20261204000000, with that hint.

create or replace function private.guard_assignment_state()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if (new.assignment_state is distinct from old.assignment_state
      or new.assignment_state_version is distinct from old.assignment_state_version)
     and not (new.assignment_state_version > old.assignment_state_version
              and coalesce((select count(*) = new.assignment_state_version - old.assignment_state_version
                                   and bool_or(h.version = old.assignment_state_version + 1 and h.from_state = old.assignment_state)
                                   and bool_or(h.version = new.assignment_state_version and h.to_state = new.assignment_state)
                              from public.booking_assignment_state_history h
                             where h.booking_id = old.id and h.version > old.assignment_state_version
                               and h.version <= new.assignment_state_version), false)) then
    raise exception using errcode = 'AS004',
      message = pg_catalog.format('the assignment state of booking %s can only change through transition_assignment_state()', old.id),
      hint = 'Call public.transition_assignment_state(booking_id, to_state, expected_version, reason).';
  end if;
  if new.status is distinct from old.status and new.assignment_state is not distinct from old.assignment_state then
    if new.status = 'cancelled' then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s is cancelled through cancel_booking(), which also releases its tables', old.id);
    end if;
    if not (old.assignment_state = 'confirmed' and new.status in ('confirmed', 'checked_in', 'completed', 'no_show')) then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s cannot be %s while its table assignment is %s', old.id, new.status,
                                    old.assignment_state),
        hint = case when old.assignment_state = 'confirmed'
                    then 'A confirmed booking goes back to pending by being re-assigned (transition to assignment_pending).'
                    when old.assignment_state = 'cancelled'
                    then 'A cancelled booking stays cancelled: insert a new booking for the guest.'
                    else 'A booking is confirmed, checked in, completed or a no-show only once its tables are confirmed.' end;
    end if;
  end if;
  return new;
end $$;

