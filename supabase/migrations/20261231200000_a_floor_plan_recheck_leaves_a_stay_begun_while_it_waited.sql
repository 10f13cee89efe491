-- A floor-plan re-check leaves at its tables a stay that began while the re-check waited.
--
-- The re-check chose the bookings ahead by the moment it was called (p_now), then waited up to a second for the
-- restaurant lock, and only then sent each back to be planned, guarded by "its start has passed" measured with
-- now(): the start of the transaction, never later than p_now, so the guard could not hold for a booking the
-- scan had chosen. A booking whose stay began during that wait (a table taken out of service at 18:59:50, a
-- re-check called at 18:59:59 and given the lock at 19:00:00.5) was sent back to be planned and lost the tables
-- its guests may be walking in to, while the rule for a stay under way is to leave it there and tell an
-- operator (20261228050000), who was not told either: that part measured "under way" by p_now too. Found by an
-- attacker's review of the pipeline's clocks.
--
-- Now what is ahead and what is under way are judged once the lock is held, by the clock (or p_now where a
-- caller gives a later one, as the tests do), and each booking's start again by the clock as it is sent back:
-- one begun meanwhile stays at its tables and is recorded (floor_plan.stay_under_way_breaks_rules), stamped
-- when it was judged under way.
--
-- private.replan_broken_holds: body as in 20261231160000, with that instant.

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  reviews uuid[] := '{}';
  why text;
  b public.bookings;
  one uuid;
  replanned integer := 0;
  failed integer := 0;
  busy integer := 0;
  left_over integer := 0;
  seen pg_catalog.pg_snapshot;
  -- The moment the bookings are judged at, once the lock is held: by the clock, or p_now where it is later.
  judged timestamptz;
  -- Since when the restaurant has waited for a re-check: a booking's failure is recorded once in that time.
  episode timestamptz := (select c.pending_since from private.floor_plan_rechecks c
                           where c.restaurant_id = p_restaurant_id);
  -- When the latest change that may seat more was made, if one was.
  room timestamptz := (select c.room_added_at from private.floor_plan_rechecks c
                        where c.restaurant_id = p_restaurant_id);
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
  judged := greatest(p_now, pg_catalog.clock_timestamp());
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > judged
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.may_be_unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.may_be_unseen_by(a.xmin, seen)))
       and not private.holds_its_stay(k));
  -- Reviews the engine decided (nothing fits, the party too large or small, outside service hours, the exact
  -- search out of time, no table in use; or attempts run out with one of those last) before a change that may
  -- seat more are planned again, each once: one that comes back to review did so after the change. Not a
  -- restaurant switched off, whose bookings an operator seats; not one whose start has passed.
  if room is not null and (select d.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) d) <> 'off' then
    reviews := array(select k.id from public.bookings k
                      where k.restaurant_id = p_restaurant_id and k.assignment_state = 'manual_review'
                        and k.start_at > judged and private.reviewed_before(k, room));
  end if;
  -- Each on its own, the broken bookings first: one that cannot be changed, or whose row is held, holds back no
  -- other. 20 sent back a pass.
  for one in select k.id from public.bookings k where k.id = any(broken) or k.id = any(reviews)
              order by k.assignment_state <> 'confirmed', k.start_at, k.id loop
    if replanned >= 20 then
      left_over := left_over + 1;
      continue;
    end if;
    begin
      select * into b from public.bookings k where k.id = one for update nowait;
      -- Begun since the scan (the lock's wait, the bookings before it): a stay under way, told of below.
      why := case when b.start_at <= greatest(judged, pg_catalog.clock_timestamp()) then null
                  when b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b)
                    then 'rule_changed: the floor plan changed and its tables no longer seat it under the rules'
                  when one = any(reviews) and private.reviewed_before(b, room)
                    then 'floor_plan_adds_room: the floor plan changed in a way that may seat it; planned again' end;
      if why is not null then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, why,
                                                    '{}'::jsonb, 'system');
        perform private.queue_or_nudge(b.id, b.restaurant_id, 'modification');
        replanned := replanned + 1;
      end if;
    exception
      when lock_not_available then
        busy := busy + 1;
      when others then
        failed := failed + 1;
        if not exists (select 1 from public.observability_events e
                        where e.booking_id = one and e.event_type = 'floor_plan.replan_failed'
                          and e.created_at >= coalesce(episode, '-infinity')) then
          -- Stamped by the clock, as pending_since is: a sweep's transaction may have begun before the mark.
          perform private.record_event('assignment.sweeper', 'floor_plan.replan_failed', 'error',
            pg_catalog.jsonb_build_object('reason', 'replan_failed', 'sqlstate', sqlstate), p_restaurant_id, one,
            pg_catalog.clock_timestamp());
        end if;
    end;
  end loop;
  -- A stay under way whose party has not arrived is left at its tables (the party may be walking in to them),
  -- but an operator is told, once in the time the restaurant waited for this re-check: nothing else would,
  -- and the mark that brought the change here is gone once the bookings ahead are done. Judged, and stamped, by
  -- the clock now (or p_now where later), so a stay begun while this call waited or sent others back is one.
  judged := greatest(judged, pg_catalog.clock_timestamp());
  perform private.record_event('assignment.sweeper', 'floor_plan.stay_under_way_breaks_rules', 'warning',
            '{"reason": "stay_under_way"}'::jsonb, p_restaurant_id, k.id, judged)
     from public.bookings k
    where k.restaurant_id = p_restaurant_id and k.start_at <= judged and k.start_at > judged - interval '12 hours'
      and k.end_at > judged and k.assignment_state = 'confirmed' and k.status = 'confirmed'
      and not private.holds_its_stay(k)
      and not exists (select 1 from public.observability_events e
                       where e.booking_id = k.id and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
                         and e.created_at >= coalesce(episode, '-infinity'));
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
