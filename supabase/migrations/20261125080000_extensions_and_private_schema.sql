-- Extensions the pipeline needs and the private schema that holds its internals.
-- `extensions` exists on hosted Supabase; locally scripts/local-stack creates it the same way.
create schema if not exists extensions;
create extension if not exists btree_gist with schema extensions;
-- pg_net carries the insert trigger's HTTP call. Hosted Supabase ships it; where it is not available (the
-- local stack) scripts/local-stack installs a stand-in with the same interface before migrations run.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

create schema if not exists private;
revoke all on schema private from public;
comment on schema private is
  'Internals of the table-assignment pipeline: helpers, triggers and the state-machine rules. Not exposed through the Data API.';

-- True when `tz` names a time zone Postgres knows. Declared immutable so CHECK constraints may use it;
-- the zone database only changes with a Postgres upgrade.
create function private.is_known_time_zone(tz text)
returns boolean language sql immutable set search_path = '' as $$
  select exists (select 1 from pg_catalog.pg_timezone_names where name = tz);
$$;

-- Keeps `updated_at` honest on every row change.
create function private.touch_updated_at()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end $$;
