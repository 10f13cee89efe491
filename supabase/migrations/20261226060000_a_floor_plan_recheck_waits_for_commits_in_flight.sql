-- A floor-plan re-check waits for the commits in flight before it looks.
--
-- A review of the floor-plan changes found that the re-check looked for broken seats before taking the
-- restaurant lock, and took it only when it found some:
--   1. a commit holds the restaurant lock and checks its tables while table X is still in service;
--   2. a floor-plan edit takes X out of service and commits (it takes no restaurant lock), marking the
--      restaurant for a re-check;
--   3. the re-check runs before the commit ends: it cannot see that booking yet, finds nothing broken, and
--      removes the mark without waiting;
--   4. the commit ends: a booking confirmed on a table out of service, and nothing looks again.
-- It now always takes the lock (within its one second; a lock held longer leaves the restaurant for the next
-- pass, as before) and looks again, under it, at the bookings changed in the last minute, so every commit that
-- checked against the old floor plan is done and seen; the full scan stays outside the lock, so commits wait
-- for the re-check only briefly however many bookings lie ahead. Body as in 20261210140000, with that change.

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  b public.bookings;
  replanned integer := 0;
begin
  select pg_catalog.array_agg(k.id order by k.start_at, k.id) into broken from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only what changed in the last minute is looked at again
  -- under it (a commit is one short call), so the lock is held briefly however many bookings lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.updated_at > pg_catalog.now() - interval '1 minute'
       and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k));
  if pg_catalog.cardinality(broken) = 0 then
    return 0;
  end if;
  for b in select * from public.bookings k where k.id = any(broken) order by k.start_at, k.id for update loop
    if b.assignment_state = 'confirmed' and b.status = 'confirmed' and b.start_at > pg_catalog.now()
       and not private.holds_its_stay(b) then
      perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
        'rule_changed: the floor plan changed and its tables no longer seat it under the rules', '{}'::jsonb, 'system');
      perform private.nudge(b.id, 'modification');
      replanned := replanned + 1;
    end if;
  end loop;
  return replanned;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
