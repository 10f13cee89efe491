-- A restaurant's floor-plan version is kept as a number, not counted from the change log on every read.
--
-- private.rules_digest (every lease and every snapshot a commit hands back) and private.floor_plan_version
-- (every seating-options lookup) counted the restaurant's rows in private.floor_plan_changes, a log that is only
-- appended to: a restaurant that takes a table out of service and back each shift adds two rows a day, so after
-- a year each booking counted about 1,500 rows three times, and the cost of a booking grew with the
-- restaurant's age. The count is now kept beside the log, one row per restaurant, raised by the statement that
-- appends to it, in the same transaction: a reader sees the number of changes committed before its snapshot,
-- as the count gave, in one index lookup. The log itself is unchanged (and could now be pruned without moving
-- any version back). A lease taken before this migration keeps the digest it had, which the kept number, taken
-- from the same count, matches.
--
-- The kept row is a lock the log never was: two writers of one restaurant's floor plan now take its version row
-- in turn, and most of them its row in private.floor_plan_rechecks too. Postgres fires a statement's triggers in
-- the order of their names, and the log's (floor_plan_inserted, ..._updated, ..._time_zone_changed) sorted
-- before the re-check's for some statements and after for others, so an update and an insert of one restaurant
-- could each hold one row and wait for the other. Both functions that mark a re-check (a floor-plan change, a
-- booking brought back from checked-in) now lock the version row first, and the log's triggers are renamed
-- floor_plan_logged_* so that a version row written by a statement's first change is written first too: whoever
-- holds a restaurant's re-check row then holds its version row already. The sweeper takes re-check rows but
-- never a version row.

create table private.floor_plan_versions (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  changes bigint not null check (changes >= 0)
);
comment on table private.floor_plan_versions is
  'How many statements have changed each restaurant''s floor plan (its rows in private.floor_plan_changes, kept as they are appended): the version the rule digest and the seating-options cache read.';
alter table private.floor_plan_versions enable row level security;
revoke all on private.floor_plan_versions from public, anon, authenticated, service_role;

create function private.keep_floor_plan_version()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- In restaurant order, so two statements changing several restaurants take their rows in the same order.
  insert into private.floor_plan_versions as v (restaurant_id, changes)
  select n.restaurant_id, count(*) from new_rows n group by n.restaurant_id order by n.restaurant_id
  on conflict (restaurant_id) do update set changes = v.changes + excluded.changes;
  return null;
end $$;

create trigger floor_plan_version_kept after insert on private.floor_plan_changes
  referencing new table as new_rows for each statement execute function private.keep_floor_plan_version();

-- Counted once, after the trigger: creating it waited for every writer of the log then under way and holds off
-- any later one until this migration commits, so no change is counted twice or missed.
insert into private.floor_plan_versions (restaurant_id, changes)
select c.restaurant_id, count(*) from private.floor_plan_changes c group by c.restaurant_id;

create or replace function private.floor_plan_version(p_restaurant_id uuid)
returns bigint language plpgsql stable set search_path = '' as $$
begin
  return coalesce((select v.changes from private.floor_plan_versions v where v.restaurant_id = p_restaurant_id), 0);
end $$;

-- private.rules_digest: body as in 20261205030000, with the kept version for the count.
create or replace function private.rules_digest(b public.bookings, p_settings private.pipeline_settings)
returns text language plpgsql stable set search_path = '' as $$
declare
  held tstzrange := private.blocked_window(b);
begin
  return pg_catalog.concat_ws('/', b.party_size,
    extract(epoch from b.start_at), extract(epoch from b.end_at),
    extract(epoch from pg_catalog.lower(held)), extract(epoch from pg_catalog.upper(held)),
    p_settings.max_tables_per_booking,
    private.floor_plan_version(b.restaurant_id));
end $$;

-- Whoever takes a restaurant's re-check row takes its version row first (private.lock_floor_plan_versions, from
-- the two functions that mark a re-check); the log's triggers also sort before the re-check's
-- (floor_plan_recheck_*), so the version row of a restaurant whose first change this is, not yet there to lock,
-- is written first too.
create function private.lock_floor_plan_versions(p_restaurant_ids uuid[])
returns void language sql set search_path = '' as $$
  select from private.floor_plan_versions v where v.restaurant_id = any(p_restaurant_ids)
   order by v.restaurant_id for no key update;
$$;
comment on function private.lock_floor_plan_versions(uuid[]) is
  'Lock the restaurants'' floor-plan version rows, in restaurant order: taken before their re-check rows, so two writers never hold one each.';

alter trigger floor_plan_inserted on public.restaurant_tables rename to floor_plan_logged_insert;
alter trigger floor_plan_updated on public.restaurant_tables rename to floor_plan_logged_update;
alter trigger floor_plan_deleted on public.restaurant_tables rename to floor_plan_logged_delete;
alter trigger floor_plan_truncated on public.restaurant_tables rename to floor_plan_logged_truncate;
alter trigger floor_plan_inserted on public.table_adjacency rename to floor_plan_logged_insert;
alter trigger floor_plan_updated on public.table_adjacency rename to floor_plan_logged_update;
alter trigger floor_plan_deleted on public.table_adjacency rename to floor_plan_logged_delete;
alter trigger floor_plan_truncated on public.table_adjacency rename to floor_plan_logged_truncate;
alter trigger floor_plan_inserted on public.service_periods rename to floor_plan_logged_insert;
alter trigger floor_plan_updated on public.service_periods rename to floor_plan_logged_update;
alter trigger floor_plan_deleted on public.service_periods rename to floor_plan_logged_delete;
alter trigger floor_plan_truncated on public.service_periods rename to floor_plan_logged_truncate;
alter trigger floor_plan_time_zone_changed on public.restaurants rename to floor_plan_logged_time_zone;

-- private.mark_returned_booking: body as in 20261210140000, taking the restaurant's version row first.
create or replace function private.mark_returned_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  perform private.lock_floor_plan_versions(array[new.restaurant_id]);
  insert into private.floor_plan_rechecks (restaurant_id, changed_at) values (new.restaurant_id, pg_catalog.clock_timestamp())
  on conflict (restaurant_id) do update set changed_at = excluded.changed_at, failures = 0;
  return null;
end $$;

-- private.mark_floor_plan_changed: body as in 20261228100000, taking the version rows first.
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
  -- Each restaurant's version row before its re-check row, whatever order the triggers fire in.
  perform private.lock_floor_plan_versions(coalesce(changed, '{}') || coalesce(roomier, '{}'));
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

revoke all on all routines in schema private from public, anon, authenticated;
