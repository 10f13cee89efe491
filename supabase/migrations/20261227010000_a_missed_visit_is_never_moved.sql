-- A booking marked no_show is never moved by re-optimisation, as a seated or completed one is not.
--
-- A review of the engine against the rules Postgres enforces found private.is_locked locking checked-in and
-- completed visits but not missed ones. A no-show's hold is left as it is when its time changes (20261226040000),
-- so a no-show whose start a platform moved later (a guest who called, late) stayed movable: the snapshot
-- showed it by its hold's times, while the commit's move checked and wrote the booking row's, so either the
-- same move was refused on every re-plan until the new booking's attempts ran out, or the missed visit was
-- quietly given tables at its new time. A visit that was missed is the guest's and the operator's to settle;
-- checked in again, it holds its stay (20261226040000).
-- Body as in 20261204010000, with no_show.

create or replace function private.is_locked(o public.bookings, p_set_by_staff boolean)
 returns boolean
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return p_set_by_staff or o.status in ('checked_in', 'completed', 'no_show') or o.assignment_state <> 'confirmed'
           or o.start_at <= pg_catalog.now() + interval '30 minutes';
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
