-- A floor-plan re-check looks again at what was written while it looked, not at what the clock says is recent.
--
-- Under the restaurant lock the re-check looked again only at bookings whose updated_at fell in the last minute
-- (20261226060000), counting on every commit in flight having touched its booking just now. Two writers did not:
--   * a move (re-optimisation in the pipeline's commit, or the re-seating an operator's accept_alternative
--     makes) gives another booking new tables and leaves its row as it was;
--   * updated_at is the writing transaction's start, so an operator's assign_tables in a transaction opened in
--     psql more than a minute earlier fell outside the window.
-- Either could commit while the re-check waited for the lock, after its scan, with a booking on a table just
-- taken out of service: the re-check found nothing, dropped its mark, and nothing looked again. It now notes the
-- oldest transaction still running before its scan, and under the lock looks again at every booking ahead whose
-- row, or one of whose holds, a transaction from then on wrote (private.written_since): everything its scan may
-- not have seen, whatever the writer's clock. Body as in 20261226060000, with that second look.

-- Whether a row version (its xmin) was written by a transaction no older than p_since, the xmin of a snapshot:
-- compared as transaction ages, so that it holds across the 32-bit counter's wraparound. A frozen row is older
-- than any (age gives it the maximum).
create function private.written_since(p_xmin xid, p_since xid8)
returns boolean language sql stable set search_path = '' as $$
  select pg_catalog.age(p_xmin)
           operator(pg_catalog.<=) pg_catalog.age((p_since::text::numeric operator(pg_catalog.%) 4294967296)::text::xid);
$$;

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  b public.bookings;
  replanned integer := 0;
  -- Taken before the scan: every transaction that may commit after the scan began is this old or younger.
  since xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
begin
  select pg_catalog.array_agg(k.id order by k.start_at, k.id) into broken from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds were written
  -- since the scan began are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.written_since(k.xmin, since)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.written_since(a.xmin, since)))
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
