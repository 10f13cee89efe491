set client_min_messages = warning;
-- The database roles and grants a Supabase project starts with, for a plain Postgres.
-- Hosted Supabase already has all of this; each statement is a no-op where it exists.
do $$
declare
  -- A cluster that has not been bootstrapped yet: the roles are created now.
  fresh boolean := not exists (select 1 from pg_roles where rolname = 'anon');
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;

  -- Supabase grants the API roles everything the `postgres` role creates in `public` by default (tables,
  -- functions and sequences, identity sequences included). Reproducing that means our migrations' revokes,
  -- default privileges included, are exercised exactly as on hosted Supabase. A project gets these once,
  -- when it is created: re-granting them on every start would quietly undo the migrations' revokes.
  if fresh then
    alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
    alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
  end if;
end $$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;

-- Supabase puts `extensions` on the search path of its roles, so unqualified pgTAP calls resolve.
alter role postgres set search_path = "$user", public, extensions;
