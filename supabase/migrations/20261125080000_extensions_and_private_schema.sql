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

-- The operator's schema (its functions and views come with the ops migrations). Created here so the
-- default privileges below cover it from the start.
create schema if not exists ops;
revoke all on schema ops from public;

-- Revoke by default, grant by name. Supabase's default privileges give anon, authenticated and
-- service_role everything the migrating role creates in `public`, identity sequences included; every
-- object of ours then grants what it needs by name. These apply to objects this role creates from now on.
alter default privileges in schema public, private, ops revoke all on tables from anon, authenticated;
alter default privileges in schema public, private, ops revoke all on sequences from anon, authenticated;
alter default privileges in schema public, private, ops revoke all on functions from anon, authenticated;
-- Postgres itself lets PUBLIC (every role, anon included) execute each new function. That default is
-- global, and a per-schema default cannot take a global grant away, so it is revoked for this role as a
-- whole: a function the migrations forget to revoke stays closed instead of open.
alter default privileges revoke execute on functions from public;

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
