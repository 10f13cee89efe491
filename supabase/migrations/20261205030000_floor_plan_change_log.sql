-- The digest a lease keeps of what the rules read (20261203000000) counts the floor plan's changes instead of
-- reading the whole floor plan.
--
-- It was an md5 over every table, adjacency and service period of the restaurant, computed on every lease:
-- for a room of 60 tables that read and serialised 60 rows per booking, to be compared only on the rare
-- commit whose plan breaks a rule. Now every statement that changes a restaurant's tables, adjacency or service
-- periods, and every change of its time zone, adds a row to a change log (private.floor_plan_changes), and the
-- digest holds the number of the restaurant's rows beside the booking's own inputs and the combination limit.
-- The log is only ever appended to, so no two writers wait for each other, and a change is counted once it is
-- committed, whatever order writers commit in. What counts as a change is the same, with one difference on the
-- safe side: a write that leaves every value as it was also counts, which can only turn an engine error into a
-- re-plan, never hide a change. A lease taken before this migration keeps an old digest, which differs from
-- any new one: at worst one re-plan, and only if its plan breaks a rule.

create table private.floor_plan_changes (
  id bigint generated always as identity primary key,
  restaurant_id uuid not null references public.restaurants (id) on delete cascade
);
create index floor_plan_changes_restaurant_idx on private.floor_plan_changes (restaurant_id);
comment on table private.floor_plan_changes is
  'One row per statement that changed a restaurant''s tables, adjacency or service periods, or its time zone: what a planned rule digest counts instead of reading the floor plan.';
alter table private.floor_plan_changes enable row level security;
revoke all on private.floor_plan_changes from public, anon, authenticated, service_role;

create function private.record_floor_plan_change()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'TRUNCATE' then
    insert into private.floor_plan_changes (restaurant_id) select r.id from public.restaurants r;
  elsif tg_table_name = 'restaurants' then
    insert into private.floor_plan_changes (restaurant_id) values (new.id);
  -- A restaurant being deleted takes its floor plan with it: nothing to log then.
  elsif tg_op = 'INSERT' then
    insert into private.floor_plan_changes (restaurant_id)
    select distinct n.restaurant_id from new_rows n
     where exists (select 1 from public.restaurants r where r.id = n.restaurant_id);
  elsif tg_op = 'UPDATE' then
    insert into private.floor_plan_changes (restaurant_id)
    select distinct c.restaurant_id
      from (select o.restaurant_id from old_rows o union select n.restaurant_id from new_rows n) c
     where exists (select 1 from public.restaurants r where r.id = c.restaurant_id);
  else
    insert into private.floor_plan_changes (restaurant_id)
    select distinct o.restaurant_id from old_rows o
     where exists (select 1 from public.restaurants r where r.id = o.restaurant_id);
  end if;
  return null;
end $$;

create trigger floor_plan_inserted after insert on public.restaurant_tables
  referencing new table as new_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_updated after update on public.restaurant_tables
  referencing old table as old_rows new table as new_rows for each statement
  execute function private.record_floor_plan_change();
create trigger floor_plan_deleted after delete on public.restaurant_tables
  referencing old table as old_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_truncated after truncate on public.restaurant_tables
  for each statement execute function private.record_floor_plan_change();

create trigger floor_plan_inserted after insert on public.table_adjacency
  referencing new table as new_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_updated after update on public.table_adjacency
  referencing old table as old_rows new table as new_rows for each statement
  execute function private.record_floor_plan_change();
create trigger floor_plan_deleted after delete on public.table_adjacency
  referencing old table as old_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_truncated after truncate on public.table_adjacency
  for each statement execute function private.record_floor_plan_change();

create trigger floor_plan_inserted after insert on public.service_periods
  referencing new table as new_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_updated after update on public.service_periods
  referencing old table as old_rows new table as new_rows for each statement
  execute function private.record_floor_plan_change();
create trigger floor_plan_deleted after delete on public.service_periods
  referencing old table as old_rows for each statement execute function private.record_floor_plan_change();
create trigger floor_plan_truncated after truncate on public.service_periods
  for each statement execute function private.record_floor_plan_change();

create trigger floor_plan_time_zone_changed after update of timezone on public.restaurants
  for each row when (old.timezone is distinct from new.timezone)
  execute function private.record_floor_plan_change();

-- The booking's party size, time and held window (as instants, whatever the session's time zone), the
-- combination limit and how many times the floor plan changed.
create or replace function private.rules_digest(b public.bookings, p_settings private.pipeline_settings)
returns text language plpgsql stable set search_path = '' as $$
declare
  held tstzrange := private.blocked_window(b);
begin
  return pg_catalog.concat_ws('/', b.party_size,
    extract(epoch from b.start_at), extract(epoch from b.end_at),
    extract(epoch from pg_catalog.lower(held)), extract(epoch from pg_catalog.upper(held)),
    p_settings.max_tables_per_booking,
    (select count(*) from private.floor_plan_changes c where c.restaurant_id = b.restaurant_id));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
