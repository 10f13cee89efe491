-- A floor-plan change re-plans the confirmed bookings ahead whose tables it breaks. A table taken out of
-- service or deactivated, a party range or capacity lowered, a table made fixed or moved to another zone, an
-- adjacency removed, service hours moved, deleted or first set, the restaurant's time zone changed: every
-- confirmed booking holding the table stayed confirmed on it, with nothing re-checked, no event and nothing in
-- health (an attacker's review found it; the rule digest of 20261203000000 covers only leases in flight). The
-- guest then arrived to a table the restaurant had said it would not use.
--
-- Now a change that can break a seat marks its restaurant for a re-check (private.floor_plan_rechecks), and
-- the sweeper, once the floor plan has been left alone for 10 seconds (an edit made in several requests is
-- judged whole, not in between), re-checks one restaurant per transaction: each confirmed booking that has
-- not started is checked against the rules (private.holds_its_stay, 20261210120000), and those whose tables
-- no longer seat it are sent back to be planned, as a changed booking is, under the restaurant lock. The
-- engine seats it elsewhere, or it goes to manual review with the reason; the guest hears only what changes
-- for them once it is settled. A party that has arrived, or a stay under way, is left at its tables for an
-- operator; a booking in progress re-plans through the rule digest as before. Every commit checks the rules
-- committed when it runs, so a booking confirmed after the change is seen by the change, and one confirmed
-- before it by the re-check. The re-check waits at most a second for a lock (a busy restaurant is left for
-- the next sweep), and one that fails backs off and is recorded as floor_plan.recheck_failed.

-- Restaurants whose floor plan changed since their confirmed bookings were last checked against it.
create table private.floor_plan_rechecks (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  changed_at timestamptz not null,
  -- Re-checks that failed since the last change; each pushes the next try further back.
  failures integer not null default 0
);
comment on table private.floor_plan_rechecks is
  'Restaurants whose tables, adjacency, service periods or time zone changed since their confirmed bookings were last checked against them, with the time of the last change; the sweeper checks each once it has been left alone for a while (private.recheck_floor_plans).';
alter table private.floor_plan_rechecks enable row level security;
revoke all on private.floor_plan_rechecks from public, anon, authenticated, service_role;

create function private.mark_floor_plan_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  changed uuid[];
begin
  if tg_op = 'TRUNCATE' then
    select pg_catalog.array_agg(r.id) into changed from public.restaurants r;
  elsif tg_table_name = 'restaurants' then
    changed := array[new.id];
  elsif tg_table_name = 'restaurant_tables' then
    -- Only what a rule reads (a new table breaks no seat; a table a booking has held cannot be deleted).
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.zone_id, o.capacity, o.min_party_size, o.max_party_size, o.active, o.out_of_service, o.movable)
           is distinct from (n.restaurant_id, n.zone_id, n.capacity, n.min_party_size, n.max_party_size, n.active, n.out_of_service, n.movable);
  elsif tg_table_name = 'table_adjacency' then
    -- A pair removed, or changed into another (an added pair breaks no seat).
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
  elsif tg_op = 'INSERT' then
    -- Service hours first set restrict a restaurant that had none.
    select pg_catalog.array_agg(distinct n.restaurant_id) into changed from new_rows n;
  elsif tg_op = 'DELETE' then
    select pg_catalog.array_agg(distinct o.restaurant_id) into changed from old_rows o;
  else
    select pg_catalog.array_agg(distinct x.restaurant_id) into changed
      from new_rows n join old_rows o on o.id = n.id,
           lateral (values (o.restaurant_id), (n.restaurant_id)) x(restaurant_id)
     where (o.restaurant_id, o.day_of_week, o.starts_at, o.ends_at)
           is distinct from (n.restaurant_id, n.day_of_week, n.starts_at, n.ends_at);
  end if;
  -- A restaurant being deleted takes its bookings with it: nothing to re-check then.
  insert into private.floor_plan_rechecks (restaurant_id, changed_at)
  select c.id, pg_catalog.clock_timestamp() from pg_catalog.unnest(changed) c(id)
   where exists (select 1 from public.restaurants r where r.id = c.id)
  on conflict (restaurant_id) do update set changed_at = excluded.changed_at, failures = 0;
  return null;
end $$;

-- Transition tables are per event, so one trigger per event that has them.
create trigger floor_plan_recheck_updated after update on public.restaurant_tables
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_truncated after truncate on public.restaurant_tables
  for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_updated after update on public.table_adjacency
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_deleted after delete on public.table_adjacency
  referencing old table as old_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_truncated after truncate on public.table_adjacency
  for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_inserted after insert on public.service_periods
  referencing new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_updated after update on public.service_periods
  referencing old table as old_rows new table as new_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_deleted after delete on public.service_periods
  referencing old table as old_rows for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_truncated after truncate on public.service_periods
  for each statement execute function private.mark_floor_plan_changed();
create trigger floor_plan_recheck_time_zone after update of timezone on public.restaurants
  for each row when (old.timezone is distinct from new.timezone) execute function private.mark_floor_plan_changed();

-- A booking back at confirmed from its visit is checked against the rules in the platform's transaction
-- (20261210120000), without the restaurant lock: a floor-plan change committed meanwhile, whose re-check ran
-- before this commits, would not have seen it as confirmed. Its restaurant is marked, so the next re-check
-- after it commits does.
create function private.mark_returned_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  insert into private.floor_plan_rechecks (restaurant_id, changed_at) values (new.restaurant_id, pg_catalog.clock_timestamp())
  on conflict (restaurant_id) do update set changed_at = excluded.changed_at, failures = 0;
  return null;
end $$;
create trigger floor_plan_recheck_returned after update of status on public.bookings
  for each row when (new.status = 'confirmed' and old.status in ('checked_in', 'completed', 'no_show'))
  execute function private.mark_returned_booking();

-- The restaurant's confirmed bookings that have not started whose tables break a rule now, sent back to be
-- planned. They are found without locks (every one confirmed before the change is there to see, and every one
-- confirmed since was checked against it by its commit), then each is taken under the restaurant lock and
-- checked again. Returns how many.
create function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  b public.bookings;
  replanned integer := 0;
begin
  select pg_catalog.array_agg(k.id order by k.start_at, k.id) into broken from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  if broken is null then
    return 0;
  end if;
  perform private.lock_restaurant(p_restaurant_id);
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

-- Re-check one restaurant (the longest waiting whose floor plan has been left alone for p_settle, or the one
-- given): its broken seats are sent back to be planned and its mark removed, unless it changed again
-- meanwhile. A lock held elsewhere for more than a second leaves it for the next call; another failure is
-- recorded (floor_plan.recheck_failed) and the next try put off, longer each time (up to an hour). Returns
-- what it did; {"restaurants": 0} when nothing was due.
create function private.recheck_floor_plans(p_now timestamptz default pg_catalog.clock_timestamp(),
                                            p_settle interval default interval '10 seconds',
                                            p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r record;
  replanned integer;
  wait_before text := pg_catalog.current_setting('lock_timeout');
begin
  select c.restaurant_id, c.changed_at, c.failures into r from private.floor_plan_rechecks c
   where c.changed_at <= p_now - p_settle and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
   order by c.changed_at limit 1;
  if not found then
    return pg_catalog.jsonb_build_object('restaurants', 0, 'replanned', 0);
  end if;
  begin
    perform pg_catalog.set_config('lock_timeout', '1s', true);
    replanned := private.replan_broken_holds(r.restaurant_id, p_now);
    delete from private.floor_plan_rechecks c where c.restaurant_id = r.restaurant_id and c.changed_at = r.changed_at;
    perform pg_catalog.set_config('lock_timeout', wait_before, true);
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'replanned', replanned);
  exception when lock_not_available then
    -- Busy: to the back of the queue (a floor-plan edit under way moves it there itself when it commits).
    update private.floor_plan_rechecks c set changed_at = pg_catalog.clock_timestamp()
     where c.restaurant_id = (select k.restaurant_id from private.floor_plan_rechecks k
                               where k.restaurant_id = r.restaurant_id and k.changed_at = r.changed_at
                                 for update skip locked);
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'busy', true);
  when others then
    perform private.record_event('assignment.sweeper', 'floor_plan.recheck_failed', 'error',
      pg_catalog.jsonb_build_object('reason', 'recheck_failed', 'sqlstate', sqlstate, 'failures', r.failures + 1),
      r.restaurant_id, null);
    update private.floor_plan_rechecks c
       set changed_at = pg_catalog.clock_timestamp()
                        + least(interval '1 hour', interval '10 seconds' * (2 ^ least(r.failures, 10))),
           failures = c.failures + 1
     where c.restaurant_id = (select k.restaurant_id from private.floor_plan_rechecks k
                               where k.restaurant_id = r.restaurant_id and k.changed_at = r.changed_at
                                 for update skip locked);
    return pg_catalog.jsonb_build_object('restaurants', 1, 'restaurant_id', r.restaurant_id, 'failed', true);
  end;
end $$;

-- Body as in 20261201101700, re-checking changed floor plans after each sweep, one restaurant per transaction
-- (up to 50 a sweep), so none waits for the others' locks. A re-check that cannot even be recorded does not
-- stop the minute's sweeps.
create or replace procedure private.run_sweeper(p_iterations integer default 1, p_interval_seconds numeric default 0)
language plpgsql as $$
declare
  done boolean;
begin
  for i in 1..p_iterations loop
    perform private.sweep(pg_catalog.clock_timestamp());
    commit;
    for j in 1..50 loop
      begin
        done := (private.recheck_floor_plans(pg_catalog.clock_timestamp()) ->> 'restaurants')::integer = 0;
      exception when others or query_canceled then
        done := true;
      end;
      commit;
      exit when done;
    end loop;
    if i < p_iterations then
      perform pg_catalog.pg_sleep(p_interval_seconds);
    end if;
  end loop;
end $$;

-- Where pg_cron runs jobs every few seconds (1.5 and later, as on hosted Supabase), the sweeper's job runs
-- private.sweep() alone, not the procedure above: there a job of its own re-checks one restaurant every 5
-- seconds, in a transaction of its own. (Older pg_cron runs the procedure every minute: 20261201101700.)
do $$
begin
  if (select pg_catalog.regexp_match(extversion, '^(\d+)\.(\d+)')::int[] >= array[1, 5] from pg_catalog.pg_extension
       where extname = 'pg_cron') then
    perform cron.schedule('assignment-floor-plan-recheck', '5 seconds', 'select private.recheck_floor_plans()');
  end if;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
