-- A booking deleted while it is in flight wakes its restaurant's queue, as one leaving its slot does.
--
-- A restaurant's queue is woken when one of its bookings leaves its slot: a booking in progress that moves on,
-- or one on its way (created, capacity verified, pending) that goes to review or is cancelled (the
-- wake_next_deferred trigger, on an update of the state). A platform may also delete a booking no guest has
-- heard of while it is planned (private.guard_booking_delete lets it), and that freed the slot without waking
-- anyone: the queue behind it waited for a booking woken by the clock (nudge_grace, 10 s) or for the sweeper.
-- Found by an attacker's review of a platform's writes while a booking is planned.
--
-- Now the delete wakes the queue too, for the same states. A restaurant being deleted takes its queue with it:
-- its bookings go in the same statement, whose row triggers fire once they are all gone, so the queue is found
-- empty. A multi-row delete's triggers likewise each see every row gone and the wakes before them, so they wake
-- no more than the slots then free. What it leaves: the delete does not take the restaurant lock (it holds the
-- row already, and the lock comes first), so a begin that counts the deleted booking's slot while the delete
-- commits joins the queue after the wake looked at it, as with the other unlocked ways out of a slot
-- (docs/architecture.md): woken by the stranded-queue check of the next claim or sweep.
--
-- private.wake_next_deferred: as in 20261231120000, reading the deleted row on a delete.

create or replace function private.wake_next_deferred()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  restaurant uuid := case when tg_op = 'DELETE' then old.restaurant_id else new.restaurant_id end;
  free integer;
begin
  -- Most restaurants have no queue most of the time: nothing to count then.
  if not exists (select 1 from public.bookings w
                  where w.restaurant_id = restaurant and w.deferred_since is not null) then
    return null;
  end if;
  free := (private.settings_for(restaurant)).max_parallel - private.slots_taken(restaurant, pg_catalog.now());
  if free > 0 then
    perform private.wake_bookings(private.queue_head(restaurant, free, pg_catalog.now()), pg_catalog.now());
  end if;
  return null;
end $$;

create trigger wake_next_deferred_on_delete
  after delete on public.bookings
  for each row when (old.assignment_state in ('assignment_in_progress', 'created', 'capacity_verified', 'assignment_pending'))
  execute function private.wake_next_deferred();

revoke all on all routines in schema private from public, anon, authenticated;
