-- A seated party's longer stay holds as much of it as is free, and the rest as soon as it frees.
--
-- A review of the engine against the rules Postgres enforces found that a checked-in party whose stay grew into
-- the next booking on its tables kept the hold it had (20261210040000) while every availability check, the
-- engine's snapshot and the commit's alike, reads holds only:
--   1. A, seated at T, holds it 19:00-21:00; B holds T from 21:15;
--   2. A's end moves to 22:00: the longer hold is refused, A keeps 19:00-21:00 and booking.seated_stay_overlaps
--      is recorded;
--   3. a short booking for 21:00-21:15 is seated at T while A sits there; and once B is moved or cancelled,
--      which clears the overlap in ops.health, all of T from 21:00 looks free for the rest of A's stay, and the
--      pipeline seats the next party there.
-- Now such a stay holds, on each of its tables, the part of it no other booking holds (private.hold_seated_stay:
-- 19:00-21:15 above), and a hold released on a table (the next booking moved, cancelled or planned again)
-- lets the seated parties on that table take the part of their stay it frees. The overlap is still recorded
-- and counted by ops.health while it lasts, for an operator to move the next booking.
-- private.reassign_changed_booking: body as in 20261226040000, with the hold taken through hold_seated_stay.

-- Hold a checked-in booking's tables for its stay: the whole of it when it is free (true); else, on each table,
-- the free part of the stay that joins what it holds now (or the first free part, the stay having moved
-- away), and false. Never more than is free: a hold taken meanwhile by another transaction leaves it as it is.
create function private.hold_seated_stay(b public.bookings)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  stay tstzrange := private.blocked_window(b);
begin
  begin
    update public.booking_table_assignments set during = stay
     where booking_id = b.id and released_at is null and during is distinct from stay;
    return true;
  exception when exclusion_violation then
    null;
  end;
  begin
    update public.booking_table_assignments a set during = f.part
      from (select m.id,
                   (select r from pg_catalog.unnest(
                             pg_catalog.tstzmultirange(stay)
                             - coalesce((select pg_catalog.range_agg(o.during) from public.booking_table_assignments o
                                          where o.table_id = m.table_id and o.released_at is null
                                            and o.booking_id <> b.id and o.during && stay),
                                        '{}'::tstzmultirange)) r
                     order by r && m.during desc, pg_catalog.lower(r) limit 1) as part
              from public.booking_table_assignments m
             where m.booking_id = b.id and m.released_at is null) f
     where a.id = f.id and f.part is not null and a.during is distinct from f.part;
  exception when exclusion_violation then
    null;
  end;
  return false;
end $$;
comment on function private.hold_seated_stay(public.bookings) is
  'Hold a checked-in booking''s tables for its stay: all of it when free (true), else on each table the free part of it that joins the present hold (false).';

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

create or replace trigger reassign_changed_booking
  after update of start_at, end_at, party_size, buffer_before_minutes, buffer_after_minutes, status on public.bookings
  for each row
  when ((new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
        is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes)
        or (new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show'))
        or (new.status = 'checked_in' and old.status in ('completed', 'no_show')))
  execute function private.reassign_changed_booking();

-- A hold released on a table frees time there: the seated parties on that table whose stay it overlaps and
-- whose hold falls short of that stay take what they can of it.
create function private.seated_stays_take_freed_time()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  s public.bookings;
begin
  for s in select b.* from public.bookings b
            where b.id in (select a.booking_id from public.booking_table_assignments a
                            where a.table_id = old.table_id and a.released_at is null and a.booking_id <> old.booking_id)
              and b.status = 'checked_in' and b.assignment_state = 'confirmed'
              and private.blocked_window(b) && old.during
              and exists (select 1 from public.booking_table_assignments m
                           where m.booking_id = b.id and m.table_id = old.table_id and m.released_at is null
                             and m.during is distinct from private.blocked_window(b))
            order by b.id loop
    perform private.hold_seated_stay(s);
  end loop;
  return null;
end $$;

create trigger seated_stays_take_freed_time
  after update of released_at on public.booking_table_assignments
  for each row when (old.released_at is null and new.released_at is not null)
  execute function private.seated_stays_take_freed_time();

revoke all on all routines in schema private from public, anon, authenticated;
