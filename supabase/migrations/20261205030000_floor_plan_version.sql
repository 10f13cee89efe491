-- The digest a lease keeps of what the rules read (20261203000000) counts the floor plan's changes instead of
-- reading the whole floor plan.
--
-- It was an md5 over every table, adjacency and service period of the restaurant, computed on every lease:
-- for a room of 60 tables that read and serialised 60 rows per booking, to be compared only on the rare
-- commit whose plan breaks a rule. Now every change to a restaurant's tables, adjacency, service periods or
-- time zone bumps its floor plan version (private.floor_plan_versions, by triggers), and the digest holds
-- that version beside the booking's own inputs and the combination limit. What counts as a change is the
-- same, with one difference on the safe side: a write that leaves every value as it was also counts, which can
-- only turn an engine error into a re-plan, never hide a change. A lease taken before this migration keeps an
-- old digest, which differs from any new one: at worst one re-plan, and only if its plan breaks a rule.

create table private.floor_plan_versions (
  restaurant_id uuid primary key references public.restaurants (id) on delete cascade,
  version bigint not null default 1
);
comment on table private.floor_plan_versions is
  'How many times each restaurant''s tables, adjacency, service periods or time zone changed: what a planned rule digest compares instead of the floor plan itself.';
alter table private.floor_plan_versions enable row level security;
revoke all on private.floor_plan_versions from public, anon, authenticated, service_role;

create function private.bump_floor_plan_version(p_restaurant_id uuid)
returns void language plpgsql set search_path = '' as $$
begin
  -- A restaurant being deleted takes its tables with it: nothing to count then.
  insert into private.floor_plan_versions as v (restaurant_id)
  select r.id from public.restaurants r where r.id = p_restaurant_id
  on conflict (restaurant_id) do update set version = v.version + 1;
end $$;

create function private.floor_plan_changed()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if tg_table_name = 'restaurants' then
    perform private.bump_floor_plan_version(new.id);
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    perform private.bump_floor_plan_version(old.restaurant_id);
  end if;
  if tg_op = 'INSERT' or tg_op = 'UPDATE' and new.restaurant_id is distinct from old.restaurant_id then
    perform private.bump_floor_plan_version(new.restaurant_id);
  end if;
  return null;
end $$;

create trigger floor_plan_changed after insert or update or delete on public.restaurant_tables
  for each row execute function private.floor_plan_changed();
create trigger floor_plan_changed after insert or update or delete on public.table_adjacency
  for each row execute function private.floor_plan_changed();
create trigger floor_plan_changed after insert or update or delete on public.service_periods
  for each row execute function private.floor_plan_changed();
create trigger floor_plan_changed after update of timezone on public.restaurants
  for each row when (old.timezone is distinct from new.timezone)
  execute function private.floor_plan_changed();

-- The restaurants that exist already start at version 1.
insert into private.floor_plan_versions (restaurant_id) select id from public.restaurants on conflict do nothing;

-- The booking's party size, time and held window (as instants, whatever the session's time zone), the
-- combination limit and the floor plan's version.
create or replace function private.rules_digest(b public.bookings, p_settings private.pipeline_settings)
returns text language plpgsql stable set search_path = '' as $$
declare
  held tstzrange := private.blocked_window(b);
begin
  return pg_catalog.concat_ws('/', b.party_size,
    extract(epoch from b.start_at), extract(epoch from b.end_at),
    extract(epoch from pg_catalog.lower(held)), extract(epoch from pg_catalog.upper(held)),
    p_settings.max_tables_per_booking,
    coalesce((select v.version from private.floor_plan_versions v where v.restaurant_id = b.restaurant_id), 0));
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
