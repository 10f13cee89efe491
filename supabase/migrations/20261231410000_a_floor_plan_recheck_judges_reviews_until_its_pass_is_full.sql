-- A floor-plan re-check judges reviews one at a time, until its pass has what it needs.
--
-- When a change may seat more (a table added or put back in service, a pair joined, service hours added), the
-- re-check sends the restaurant's reviews ahead back to be planned, 20 a pass, the next pass due at once while
-- some are left (20261231260000). Each pass judged every review ahead under the restaurant's lock
-- (private.review_judgement reads the holds around each stay) before sending back its 20. After a reservation
-- drop left 1,897 reviews in a 400-table room whose tables join, a table added held the lock 16-20 s a pass,
-- for about 95 passes: the restaurant's pipeline stood still behind it for most of half an hour.
--
-- Now the reviews are judged soonest first, each when the pass comes to it, after the broken bookings (which
-- still come first, all of them), until the pass has sent back its 20: a review it cannot change, or whose row
-- is held, still holds back no other. A pass that stopped looking says at least one is left, so the next pass
-- is due at once, as before; the count of those left (the re-check's bookings_left) is now a lower bound where
-- reviews remain.
--
-- private.replan_broken_holds: as in 20261231260000, with the reviews judged so, and the step for one booking
-- in a function of its own (private.send_back_for_recheck), which both of its loops take.

-- One booking the re-check sends back, as replan_broken_holds did it in its loop (20261231260000): its row taken
-- without waiting, judged again now, sent back to be planned when it still needs it (a confirmed booking whose
-- tables no longer seat it; a review from before a change that may seat more, p_review), and a failure recorded
-- once in the time the restaurant waited. Answers replanned, unchanged, busy or failed.
create function private.send_back_for_recheck(p_booking_id uuid, p_review boolean, p_room timestamptz,
                                              p_judged timestamptz, p_episode timestamptz)
returns text language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  why text;
begin
  select * into b from public.bookings k where k.id = p_booking_id for update nowait;
  -- Begun since the scan (the lock's wait, the bookings before it): a stay under way, told of by the caller.
  why := case when b.start_at <= greatest(p_judged, pg_catalog.clock_timestamp()) then null
              when b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b)
                then 'rule_changed: the floor plan changed and its tables no longer seat it under the rules'
              when p_review and private.reviewed_before(b, p_room)
                then 'floor_plan_adds_room: the floor plan changed in a way that may seat it; planned again' end;
  if why is null then
    return 'unchanged';
  end if;
  perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, why,
                                              '{}'::jsonb, 'system');
  perform private.queue_or_nudge(b.id, b.restaurant_id, 'modification');
  return 'replanned';
exception
  when lock_not_available then
    return 'busy';
  when others then
    if not exists (select 1 from public.observability_events e
                    where e.booking_id = p_booking_id and e.event_type = 'floor_plan.replan_failed'
                      and e.created_at >= coalesce(p_episode, '-infinity')) then
      -- Stamped by the clock, as pending_since is: a sweep's transaction may have begun before the mark.
      perform private.record_event('assignment.sweeper', 'floor_plan.replan_failed', 'error',
        pg_catalog.jsonb_build_object('reason', 'replan_failed', 'sqlstate', sqlstate), b.restaurant_id, p_booking_id,
        pg_catalog.clock_timestamp());
    end if;
    return 'failed';
end $$;

create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  one uuid;
  outcome text;
  replanned integer := 0;
  failed integer := 0;
  busy integer := 0;
  left_over integer := 0;
  seen pg_catalog.pg_snapshot;
  -- The moment the bookings are judged at, once the lock is held: by the clock, or p_now where it is later.
  judged timestamptz;
  -- What a review would be said of now, read once a pass: the restaurant's mode, settings and floor plan.
  mode text;
  settings private.pipeline_settings;
  now_digest text;
  -- Since when the restaurant has waited for a re-check: a booking's failure is recorded once in that time.
  episode timestamptz := (select c.pending_since from private.floor_plan_rechecks c
                           where c.restaurant_id = p_restaurant_id);
  -- When the latest change that may seat more was made, if one was.
  room timestamptz := (select c.room_added_at from private.floor_plan_rechecks c
                        where c.restaurant_id = p_restaurant_id);
  review public.bookings;
  -- Whether the pass stopped before the reviews ran out, so that more may be left than it looked at.
  more_reviews boolean := false;
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
  -- Each on its own, the broken bookings first: one that cannot be changed, or whose row is held, holds back no
  -- other. 20 sent back a pass.
  for one in select k.id from public.bookings k where k.id = any(broken) order by k.start_at, k.id loop
    if replanned >= 20 then
      left_over := left_over + 1;
      continue;
    end if;
    outcome := private.send_back_for_recheck(one, false, room, judged, episode);
    replanned := replanned + (outcome = 'replanned')::integer;
    busy := busy + (outcome = 'busy')::integer;
    failed := failed + (outcome = 'failed')::integer;
  end loop;
  -- Then reviews the engine decided (nothing fits, the party too large or small, outside service hours, the
  -- exact search out of time, no table in use; or attempts run out with one of those last) before a change
  -- that may seat more are planned again, each once: one that comes back to review did so after the change.
  -- Not a restaurant switched off, whose bookings an operator seats; not one whose start has passed.
  -- One whose "nothing fits" was said of what it would be said of now (the same request, combination limit,
  -- re-optimisation, mode, floor plan and holds around it: one a platform wrote back as it was) is left as it
  -- is, unless this pass found bookings whose tables no longer seat them, which sending them back may free.
  -- Soonest first, each judged when the pass comes to it, until the pass has sent back its 20: each judgement
  -- reads the holds around its stay, and judging every review ahead at each pass held the lock for seconds in a
  -- room with a drop's reviews (16-20 s for 1,897 reviews in a room of 400 tables, pass after pass).
  if room is not null then
    mode := (select d.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) d);
  end if;
  if mode <> 'off' then
    settings := private.settings_for(p_restaurant_id);
    now_digest := (select v.room_digest from private.floor_plan_versions v where v.restaurant_id = p_restaurant_id);
    for review in select * from public.bookings k
                   where k.restaurant_id = p_restaurant_id and k.assignment_state = 'manual_review'
                     and k.start_at > judged
                   order by k.start_at, k.id loop
      continue when not private.reviewed_before(review, room);
      continue when pg_catalog.cardinality(broken) = 0 and exists (
        select 1 from private.review_judgements f
         where f.booking_id = review.id and f.state_version = review.assignment_state_version
           and f.judgement = private.review_judgement(review, settings, mode, now_digest));
      if replanned >= 20 then
        more_reviews := true;
        exit;
      end if;
      outcome := private.send_back_for_recheck(review.id, true, room, judged, episode);
      replanned := replanned + (outcome = 'replanned')::integer;
      busy := busy + (outcome = 'busy')::integer;
      failed := failed + (outcome = 'failed')::integer;
    end loop;
  end if;
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
  -- Left: the broken bookings this pass did not send back, and one more where it stopped looking at reviews.
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy,
                                       'left', left_over + case when more_reviews then 1 else 0 end);
end $$;


revoke all on all routines in schema private from public, anon, authenticated;
