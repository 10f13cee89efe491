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
-- scan's snapshot, and under the lock looks again at every booking ahead whose row, or one of whose holds, a
-- transaction the snapshot may not have seen wrote (private.may_be_unseen_by): one as young as the oldest still
-- running then, whatever the writer's clock. That is more than the scan missed while a transaction is left open
-- elsewhere (the oldest running stays old), never less: the commit writes inside exception blocks, whose
-- subtransactions' ids a snapshot does not list, so an exact test against it would take a commit in flight for
-- one it saw. Body as in 20261226060000, with that second look.

-- Whether a row version may be one the snapshot did not see: its xmin (a transaction's or a subtransaction's id)
-- is no older than the oldest transaction running when the snapshot was taken. Every writer the snapshot missed
-- is, and so are its subtransactions, numbered after it. Ids are 32 bits that wrap: compared by their signed
-- distance, so an old row (frozen ones keep their xmin) reads as older.
create function private.may_be_unseen_by(p_xmin xid, p_snapshot pg_catalog.pg_snapshot)
returns boolean language sql immutable set search_path = '' as $$
  -- (OPERATOR() syntax gives every operator one precedence: each step is in parentheses.)
  select ((((p_xmin::text::bigint operator(pg_catalog.-) pg_catalog.pg_snapshot_xmin(p_snapshot)::text::bigint)
            operator(pg_catalog.%) 4294967296) operator(pg_catalog.+) 4294967296) operator(pg_catalog.%) 4294967296)
         operator(pg_catalog.<) 2147483648;
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
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds the scan may
  -- not have seen are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.may_be_unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.may_be_unseen_by(a.xmin, seen)))
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
