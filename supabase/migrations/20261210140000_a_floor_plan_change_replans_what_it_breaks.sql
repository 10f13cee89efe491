-- A floor-plan change re-plans the confirmed bookings ahead whose tables it breaks. A table taken out of
-- service or deactivated, a party range or capacity lowered, a table made fixed or moved to another zone, an
-- adjacency removed, service hours moved, deleted or first set, the restaurant's time zone changed: every
-- confirmed booking holding the table stayed confirmed on it, with nothing re-checked, no event and nothing in
-- health (an attacker's review found it; the rule digest of 20261203000000 covers only leases in flight). The
-- guest then arrived to a table the restaurant had said it would not use.
--
-- Now a change marks its restaurant for a re-check (private.floor_plan_rechecks), and the sweeper, once the
-- floor plan has been left alone for 10 seconds (an edit made in several requests is judged whole, not in
-- between), takes the restaurant lock and sends each confirmed booking that has not started and whose tables
-- no longer seat it under the rules back to be planned, as a changed booking is (private.holds_its_stay,
-- 20261210120000, decides). The engine seats it elsewhere, or it goes to manual review with the reason; the guest hears
-- only what changes for them once it is settled. A party that has arrived, or a stay under way, is left at
-- its tables for an operator; a booking in progress re-plans through the rule digest as before. The restaurant
-- lock makes the re-check and every commit of the restaurant take turns, so none plans on rules the re-check
-- has not seen.

-- Restaurants whose floor plan changed since their confirmed bookings were last checked against it.
create table private.floor_plan_rechecks (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  changed_at timestamptz not null
);
comment on table private.floor_plan_rechecks is
  'Restaurants whose tables, adjacency, service periods or time zone changed since their confirmed bookings were last checked against them, with the time of the last change; the sweeper checks each once it has been left alone for a while (private.recheck_floor_plans).';
alter table private.floor_plan_rechecks enable row level security;
revoke all on private.floor_plan_rechecks from public, anon, authenticated, service_role;

create function private.mark_floor_plan_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- A restaurant being deleted takes its bookings with it: nothing to re-check then.
  if tg_table_name = 'restaurants' then
    insert into private.floor_plan_rechecks (restaurant_id, changed_at) values (new.id, pg_catalog.clock_timestamp())
    on conflict (restaurant_id) do update set changed_at = excluded.changed_at;
  elsif tg_op = 'INSERT' then
    insert into private.floor_plan_rechecks (restaurant_id, changed_at)
    select c.restaurant_id, pg_catalog.clock_timestamp() from (select distinct n.restaurant_id from new_rows n) c
     where exists (select 1 from public.restaurants r where r.id = c.restaurant_id)
    on conflict (restaurant_id) do update set changed_at = excluded.changed_at;
  elsif tg_op = 'UPDATE' then
    insert into private.floor_plan_rechecks (restaurant_id, changed_at)
    select c.restaurant_id, pg_catalog.clock_timestamp()
      from (select o.restaurant_id from old_rows o union select n.restaurant_id from new_rows n) c
     where exists (select 1 from public.restaurants r where r.id = c.restaurant_id)
    on conflict (restaurant_id) do update set changed_at = excluded.changed_at;
  else
    insert into private.floor_plan_rechecks (restaurant_id, changed_at)
    select c.restaurant_id, pg_catalog.clock_timestamp() from (select distinct o.restaurant_id from old_rows o) c
     where exists (select 1 from public.restaurants r where r.id = c.restaurant_id)
    on conflict (restaurant_id) do update set changed_at = excluded.changed_at;
  end if;
  return null;
end $$;

-- Transition tables are per event, so one trigger per event that has them.
create trigger floor_plan_recheck_inserted after insert on public.restaurant_tables
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_updated after update on public.restaurant_tables
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_deleted after delete on public.restaurant_tables
  referencing old table as old_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_inserted after insert on public.table_adjacency
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_updated after update on public.table_adjacency
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_deleted after delete on public.table_adjacency
  referencing old table as old_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_inserted after insert on public.service_periods
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_updated after update on public.service_periods
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_deleted after delete on public.service_periods
  referencing old table as old_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_time_zone after update of timezone on public.restaurants
  for each row when (old.timezone is distinct from new.timezone) execute function private.mark_floor_plan_changed();

-- Under the restaurant lock: the restaurant's confirmed bookings that have not started whose tables break a
-- rule now are sent back to be planned. Returns how many.
create function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  x record;
  b public.bookings;
  replanned integer := 0;
begin
  perform private.lock_restaurant(p_restaurant_id);
  for x in
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > p_now
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
     order by k.start_at, k.id
  loop
    -- Read again, locked: a platform's change may have moved it on since the list was taken.
    select * into b from public.bookings k where k.id = x.id for update;
    if b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b) then
      perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
        'rule_changed: the floor plan changed and its tables no longer seat it under the rules', '{}'::jsonb, 'system');
      perform private.nudge(b.id, 'modification');
      replanned := replanned + 1;
    end if;
  end loop;
  return replanned;
end $$;

-- Re-check the restaurants (or the one given) whose floor plan changed and has been left alone for p_settle,
-- each in its own sub-transaction: one that fails is recorded (floor_plan.recheck_failed) and tried again at
-- the next call.
create function private.recheck_floor_plans(p_now timestamptz default pg_catalog.clock_timestamp(),
                                            p_settle interval default interval '10 seconds',
                                            p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r record;
  restaurants integer := 0;
  replanned integer := 0;
  failed integer := 0;
begin
  for r in select c.restaurant_id, c.changed_at from private.floor_plan_rechecks c
            where c.changed_at <= p_now - p_settle and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
            order by c.changed_at limit 50 loop
    begin
      replanned := replanned + private.replan_broken_holds(r.restaurant_id, p_now);
      -- Done, unless it changed again meanwhile (then it waits for the next call).
      delete from private.floor_plan_rechecks c where c.restaurant_id = r.restaurant_id and c.changed_at = r.changed_at;
      restaurants := restaurants + 1;
    exception when others then
      perform private.record_event('assignment.sweeper', 'floor_plan.recheck_failed', 'error',
        pg_catalog.jsonb_build_object('reason', 'recheck_failed', 'sqlstate', sqlstate), r.restaurant_id, null);
      failed := failed + 1;
    end;
  end loop;
  return pg_catalog.jsonb_build_object('restaurants', restaurants, 'replanned', replanned, 'failed', failed);
end $$;

-- Body as in 20261201101700, re-checking changed floor plans after each sweep, in a transaction of its own.
create or replace procedure private.run_sweeper(p_iterations integer default 1, p_interval_seconds numeric default 0)
language plpgsql as $$
begin
  for i in 1..p_iterations loop
    perform private.sweep(pg_catalog.clock_timestamp());
    commit;
    perform private.recheck_floor_plans(pg_catalog.clock_timestamp());
    commit;
    if i < p_iterations then
      perform pg_catalog.pg_sleep(p_interval_seconds);
    end if;
  end loop;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
