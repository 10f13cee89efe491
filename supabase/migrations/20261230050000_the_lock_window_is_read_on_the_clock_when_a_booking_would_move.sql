-- The 30-minute lock window is read on the clock when a booking would move, not at its transaction's start.
--
-- private.is_locked compared a booking's start with now(), the start of the transaction asking: a call that
-- waited (an operator's ops.accept_alternative queued behind the restaurant lock another operator's open
-- transaction held for twenty minutes, say) moved a booking that had come within 30 minutes of its start while
-- it waited, as the re-seating it accepted planned. Found by a review of the re-seating offers. The window is
-- now read on the clock (clock_timestamp()) at each check, so a late move is refused (AS009) and a coordinator's
-- commit that crossed the mark re-plans (a conflict), as one that crossed it between snapshot and commit did.
-- private.is_locked: body as in 20261227010000, with the clock for now().

create or replace function private.is_locked(o public.bookings, p_set_by_staff boolean)
 returns boolean
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return p_set_by_staff or o.status in ('checked_in', 'completed', 'no_show') or o.assignment_state <> 'confirmed'
           or o.start_at <= pg_catalog.clock_timestamp() + interval '30 minutes';
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
