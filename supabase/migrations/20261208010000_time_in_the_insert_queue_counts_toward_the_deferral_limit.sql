-- Time a booking waits in its restaurant's queue from its insert counts toward max_deferral_seconds.
--
-- A booking that joins the queue at insert (20261204020000) waits in `created` with deferred_since set. Its
-- first begin walks it to assignment_pending before it looks at the slots, and that state change cleared
-- deferred_since, so a begin that found the slots still taken started the stretch of waiting afresh: the
-- time queued since the insert never counted, and a booking could wait up to twice the limit before it went
-- to manual review. A state change now ends the stretch only when the booking leaves the queued states
-- (begun, or terminal); the walk from created to assignment_pending is still waiting.
create or replace function private.clear_deferral()
returns trigger language plpgsql set search_path = '' as $$
begin
  if not private.is_queued(new.assignment_state) then
    new.deferred_since := null;
  end if;
  return new;
end $$;
comment on function private.clear_deferral() is
  'Ends a stretch of waiting (deferred_since) when a booking leaves the queued states: begun, or terminal. A walk between queued states (created → capacity_verified → assignment_pending) is still waiting.';
comment on column public.bookings.deferred_since is
  'When the booking joined its restaurant''s queue (a slot taken at its insert, a begin that found the slots taken, or an open circuit breaker); cleared when it leaves the queued states. Counted against max_deferral_seconds.';

revoke all on all routines in schema private from public, anon, authenticated;
