-- A floor-plan change that may seat more plans again the reviews the engine decided before it.
--
-- A booking the engine sent to manual review ("no_table_fits", "party_too_large", "outside_service_hours", …)
-- stayed there when the restaurant then put a table back in service, added one, joined two or opened longer:
-- only a change that breaks what bookings hold marked the restaurant for a re-check, and the re-check looked at
-- confirmed bookings only. An operator had to notice and retry each (ops.retry_bookings); until then the queue
-- asked them to call guests the restaurant could now seat. (A decision carried since 2026-12-05's second
-- session, settled here.)
-- Now a change that may seat more (a table added, activated or back in service, more seats, a wider party range,
-- made movable or moved to another zone, a pair of tables joined, service hours or the time zone changed) marks
-- the restaurant too, with when (private.floor_plan_rechecks.room_added_at), and the re-check, besides what it
-- did, sends back to be planned each review ahead whose reason is the engine's verdict and which went to review
-- before that change (history reason floor_plan_adds_room): it is seated, or comes back to review with the
-- verdict that holds now, and then stays, since it came back after the change. At most 20 bookings a pass, with
-- the broken ones, as before; a row another transaction holds is passed over for a later pass, one that cannot
-- be changed is recorded (floor_plan.replan_failed). Reviews whose attempts ran out count by the last one's
-- verdict (the legacy path always escalates so). Left alone: reviews for any other cause (the platform's or an
-- operator's words, an outage, attempts used up on anything else), a restaurant switched off, a start that has
-- passed.
-- A change counts as adding room only where such reviews ahead exist when it is made, so a restaurant's first
-- tables, and a platform's floor plan with no such review, queue no re-check for room added (its first service
-- hours still do, as a change that may break). Service hours count when a period is added, covers a time it did
-- not, or the last one goes.
-- Left as it is: a review decided on the old floor plan while the change's transaction was still open, and
-- recorded or committed after the change was made (its clock time is the cut-off), keeps its review, as every review did
-- before; an operator retries it. A platform that rewrites its service hours or pairs of tables by deleting and
-- inserting them re-plans such reviews once per rewrite; one that updates them in place, only when they widen.
-- private.mark_floor_plan_changed: body as in 20261228070000, with the restaurants where the change may seat
-- more; private.replan_broken_holds: body as in 20261228050000, with the reviews in the same loop as the
-- broken bookings.

alter table private.floor_plan_rechecks add column room_added_at timestamptz;
comment on column private.floor_plan_rechecks.room_added_at is
  'When the latest change that may seat more (a table added or back in use, more seats, a pair joined, service hours or time zone changed) was made, if one was since the last re-check: reviews the engine decided before it are planned again.';

insert into private.reason_codes (code, meaning)
values ('floor_plan_adds_room', 'the floor plan changed in a way that may seat a booking the engine had sent to review');

-- Whether a review's reason is the engine's verdict on the request: its own code, or the last failure's after
-- attempts ran out (the legacy path always escalates so, and V3 does when no_fit_retries is raised).
create function private.engine_verdict(p_reason text)
returns boolean language sql immutable set search_path = '' as $$
  select pg_catalog.split_part(case when pg_catalog.split_part(p_reason, ':', 1) = 'attempts_exhausted'
                                         and pg_catalog.strpos(p_reason, '; last: ') > 0
                                    then pg_catalog.substr(p_reason, pg_catalog.strpos(p_reason, '; last: ') + 8)
                                    else p_reason end, ':', 1)
         in ('no_table_fits', 'party_too_large', 'party_too_small', 'outside_service_hours',
             'exact_search_budget_exhausted', 'no_tables_configured');
$$;

-- Whether the booking is in review on the engine's verdict, and went there before p_at.
create function private.reviewed_before(b public.bookings, p_at timestamptz)
returns boolean language sql stable set search_path = '' as $$
  select b.assignment_state = 'manual_review' and private.engine_verdict(b.manual_review_reason)
     and (select h.created_at from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'
           order by h.version desc limit 1) < p_at;
$$;

create or replace function private.mark_floor_plan_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed uuid[];
  -- Restaurants where the change may seat more: a table added or back in use, more seats or a wider party range,
  -- made movable or moved to another zone, a pair joined, service hours added or widened or the last period
  -- gone, the time zone changed (either way: judged by the re-plan); kept only where reviews may gain by it.
  roomier uuid[];
begin
  if tg_op = 'TRUNCATE' then
    select pg_catalog.array_agg(r.id) into changed from public.restaurants r;
    roomier := changed;
  elsif tg_table_name = 'restaurants' then
    changed := array[new.id];
    roomier := changed;
  elsif tg_table_name = 'restaurant_tables' and tg_op = 'INSERT' then
    -- A new table breaks no seat, and may give one.
    select pg_catalog.array_agg(distinct n.restaurant_id) into roomier from new_rows n;
  elsif tg_table_name = 'restaurant_tables' then
    -- Only what a rule reads (a new table breaks no seat; a table a booking has held cannot be deleted).
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.zone_id, o.capacity, o.min_party_size, o.max_party_size, o.active, o.out_of_service, o.movable)
           is distinct from (n.restaurant_id, n.zone_id, n.capacity, n.min_party_size, n.max_party_size, n.active, n.out_of_service, n.movable);
    select pg_catalog.array_agg(distinct n.restaurant_id) into roomier
      from new_rows n join old_rows o on o.id = n.id
     where n.capacity > o.capacity or n.max_party_size > o.max_party_size or n.min_party_size < o.min_party_size
        or (n.active and not o.active) or (o.out_of_service and not n.out_of_service) or (n.movable and not o.movable)
        or n.zone_id is distinct from o.zone_id;
  elsif tg_table_name = 'table_adjacency' and tg_op = 'INSERT' then
    select pg_catalog.array_agg(distinct n.restaurant_id) into roomier from new_rows n;
  elsif tg_table_name = 'table_adjacency' and tg_op = 'UPDATE' then
    -- A pair changed into another (one written back as it was breaks nothing; an added pair breaks no seat).
    select pg_catalog.array_agg(distinct g.restaurant_id) into changed
      from (select o.restaurant_id, o.table_a, o.table_b from old_rows o
            except
            select n.restaurant_id, n.table_a, n.table_b from new_rows n) g;
    select pg_catalog.array_agg(distinct g.restaurant_id) into roomier
      from (select n.restaurant_id, n.table_a, n.table_b from new_rows n
            except
            select o.restaurant_id, o.table_a, o.table_b from old_rows o) g;
  elsif tg_table_name = 'table_adjacency' then
    -- A pair removed.
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
  elsif tg_op = 'INSERT' then
    -- Service hours first set restrict a restaurant that had none.
    select pg_catalog.array_agg(distinct n.restaurant_id) into changed from new_rows n;
    roomier := changed;
  elsif tg_op = 'DELETE' then
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
    -- The last period gone lifts the restriction.
    select pg_catalog.array_agg(c.id) into roomier from pg_catalog.unnest(changed) c(id)
     where not exists (select 1 from public.service_periods p where p.restaurant_id = c.id);
  else
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.day_of_week, o.starts_at, o.ends_at)
           is distinct from (n.restaurant_id, n.day_of_week, n.starts_at, n.ends_at);
    -- A period that now covers a time it did not.
    select pg_catalog.array_agg(distinct n.restaurant_id) into roomier
      from new_rows n join old_rows o on o.id = n.id
     where n.day_of_week <> o.day_of_week or n.starts_at < o.starts_at or n.ends_at > o.ends_at;
  end if;
  -- Room added matters only where the engine has sent bookings ahead to review.
  select pg_catalog.array_agg(c.id) into roomier from pg_catalog.unnest(roomier) c(id)
   where exists (select 1 from public.bookings k
                  where k.restaurant_id = c.id and k.start_at > pg_catalog.now()
                    and k.assignment_state = 'manual_review' and private.engine_verdict(k.manual_review_reason));
  -- A restaurant being deleted takes its bookings with it: nothing to re-check then.
  insert into private.floor_plan_rechecks as m (restaurant_id, changed_at, room_added_at)
  select c.id, pg_catalog.clock_timestamp(),
         case when c.id = any(coalesce(roomier, '{}')) then pg_catalog.clock_timestamp() end
    from (select distinct x from pg_catalog.unnest(coalesce(changed, '{}') || coalesce(roomier, '{}')) x) c(id)
   where exists (select 1 from public.restaurants r where r.id = c.id)
  on conflict (restaurant_id) do update
    set changed_at = excluded.changed_at, failures = 0,
        room_added_at = greatest(m.room_added_at, excluded.room_added_at);
  return null;
end $$;

-- Tables and pairs added may seat more (transition tables are per event: one trigger per event).
create trigger floor_plan_recheck_inserted after insert on public.restaurant_tables
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_inserted after insert on public.table_adjacency
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();

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
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
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
                        and k.start_at > p_now and private.reviewed_before(k, room));
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
      why := case when b.start_at <= pg_catalog.now() then null
                  when b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b)
                    then 'rule_changed: the floor plan changed and its tables no longer seat it under the rules'
                  when one = any(reviews) and private.reviewed_before(b, room)
                    then 'floor_plan_adds_room: the floor plan changed in a way that may seat it; planned again' end;
      if why is not null then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, why,
                                                    '{}'::jsonb, 'system');
        perform private.nudge(b.id, 'modification');
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
  -- and the mark that brought the change here is gone once the bookings ahead are done. Stamped with p_now,
  -- the time the stay is judged at (the clock, when the re-check's cron job runs it).
  perform private.record_event('assignment.sweeper', 'floor_plan.stay_under_way_breaks_rules', 'warning',
            '{"reason": "stay_under_way"}'::jsonb, p_restaurant_id, k.id, p_now)
     from public.bookings k
    where k.restaurant_id = p_restaurant_id and k.start_at <= p_now and k.start_at > p_now - interval '12 hours'
      and k.end_at > p_now and k.assignment_state = 'confirmed' and k.status = 'confirmed'
      and not private.holds_its_stay(k)
      and not exists (select 1 from public.observability_events e
                       where e.booking_id = k.id and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
                         and e.created_at >= coalesce(episode, '-infinity'));
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
