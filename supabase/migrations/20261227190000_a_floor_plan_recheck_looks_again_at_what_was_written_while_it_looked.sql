-- A floor-plan re-check looks again at what was written while it looked, not at what the clock says is recent.
--
-- Under the restaurant lock the re-check looked again only at bookings whose updated_at fell in the last minute
-- (20261226060000), counting on every commit in flight having touched its booking just now. Two writers did not:
--   * a move (re-optimisation in the pipeline's commit, or the re-seating an operator's accept_alternative
--     makes) gives another booking new tables and leaves its row as it was;
--   * updated_at is the writing transaction's start, so an operator's assign_tables in a transaction opened in
--     psql more than a minute earlier fell outside the window.
-- Either could commit while the re-check waited for the lock, after its scan, with a booking on a table just
-- taken out of service: the re-check found nothing, dropped its mark, and nothing looked again. It now keeps its
-- scan's snapshot, and under the lock looks again at every booking ahead whose row, or one of whose holds, was
-- written by a transaction that snapshot could not see (private.unseen_by): still running then, or begun since.
-- That is exactly what the scan missed, whatever the writer's clock, and no more: a transaction left open
-- elsewhere, which keeps the cluster's oldest running transaction old, does not widen it. Body as in
-- 20261226060000, with that second look.

-- Whether a row version (its xmin, 32 bits) was written by a transaction the snapshot could not see: running
-- when it was taken, or begun since. The xmin is read in the snapshot's epoch, as the nearest id below its xmax:
-- every transaction that matters here is that recent, and an older row (frozen ones keep their xmin) reads as
-- one the snapshot saw.
create function private.unseen_by(p_xmin xid, p_snapshot pg_catalog.pg_snapshot)
returns boolean language sql immutable set search_path = '' as $$
  select not pg_catalog.pg_visible_in_snapshot(
    (h.top operator(pg_catalog.-)
       (h.top operator(pg_catalog.%) 4294967296 operator(pg_catalog.-) p_xmin::text::numeric
        operator(pg_catalog.+) 4294967296) operator(pg_catalog.%) 4294967296)::text::xid8, p_snapshot)
    from (select pg_catalog.pg_snapshot_xmax(p_snapshot)::text::numeric as top) h;
$$;

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  b public.bookings;
  replanned integer := 0;
  seen pg_catalog.pg_snapshot;
begin
  -- The scan's own snapshot, read in the same statement: what it saw.
  select pg_catalog.array_agg(k.id order by k.start_at, k.id), pg_catalog.pg_current_snapshot() into broken, seen
    from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds the scan could
  -- not see are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.unseen_by(a.xmin, seen)))
       and not private.holds_its_stay(k));
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
