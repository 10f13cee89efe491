-- What a hosted Supabase project's roles look like to the migrations, on a plain cluster already bootstrapped by
-- scripts/db (API roles, Vault and pg_net or their stand-ins). Run once, as the cluster's superuser, before the
-- migrations:
--   * supabase_admin, a superuser, owns pg_net's, Vault's and pg_cron's schemas and objects (no project can
--     change their privileges), and the extensions are installed by it beforehand, in `extensions` where
--     Supabase puts them;
--   * postgres, the role `supabase db push` and the SQL editor use, is no superuser: it may create roles and
--     databases, bypasses RLS, and is granted what Supabase grants it on net, vault and cron.
\set ON_ERROR_STOP on
set client_min_messages = warning;

create role supabase_admin superuser login password 'postgres';
alter role supabase_admin set search_path = "$user", public, extensions;
set role supabase_admin;
create extension if not exists btree_gist with schema extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists pg_cron;
-- The local stand-ins for pg_net and Vault were installed by postgres: handed to supabase_admin, as hosted has them.
do $$
declare
  r record;
begin
  for r in select n.nspname from pg_catalog.pg_namespace n where n.nspname in ('net', 'vault') loop
    execute pg_catalog.format('alter schema %I owner to supabase_admin', r.nspname);
  end loop;
  for r in select c.oid::regclass as rel from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('net', 'vault') and c.relkind in ('r', 'v', 'p')
              and not exists (select 1 from pg_catalog.pg_depend d
                               where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e') loop
    execute pg_catalog.format('alter table %s owner to supabase_admin', r.rel);
  end loop;
  for r in select p.oid::regprocedure as fn from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname in ('net', 'vault')
              and not exists (select 1 from pg_catalog.pg_depend d
                               where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e') loop
    execute pg_catalog.format('alter function %s owner to supabase_admin', r.fn);
  end loop;
end $$;
grant usage on schema net, vault, cron to postgres;
grant all on all tables in schema net, cron to postgres;
grant all on all sequences in schema net, cron to postgres;
grant select on all tables in schema vault to postgres;
grant execute on all functions in schema net, vault, cron to postgres;
grant anon, authenticated, service_role to postgres;
alter role postgres nosuperuser createrole createdb bypassrls replication;
