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
-- could each hold one row and wait for the other. The log's triggers are renamed floor_plan_logged_* so that
-- every statement takes the version row first, and a booking brought back from checked-in (which marks a
-- re-check without changing the floor plan) takes it first too: whoever holds a restaurant's re-check row then
-- holds its version row already. The sweeper takes re-check rows but never a version row.

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

-- The log's triggers sort before the re-check's (floor_plan_recheck_*) for every statement.
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
  perform from private.floor_plan_versions v where v.restaurant_id = new.restaurant_id for no key update;
  insert into private.floor_plan_rechecks (restaurant_id, changed_at) values (new.restaurant_id, pg_catalog.clock_timestamp())
  on conflict (restaurant_id) do update set changed_at = excluded.changed_at, failures = 0;
  return null;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
