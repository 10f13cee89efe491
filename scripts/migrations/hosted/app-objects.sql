-- The project's own objects, made before the pipeline is installed, as a platform's existing Supabase project
-- has them: a table with an identity sequence and a function in public, owned by postgres, with the grants
-- Supabase gives them. Their privileges for the API roles, and public's, are recorded here and compared after
-- the migrations (app-objects-check.sql): the pipeline restricts only what it creates (DESIGN.md §3, 12).
\set ON_ERROR_STOP on
create table public.app_orders (id bigint generated always as identity primary key, note text);
create function public.app_order_count() returns bigint language sql stable as $$ select count(*) from public.app_orders $$;
create view public.app_recent_orders as select id, note from public.app_orders;

create table public.app_privileges_before as
select r.role, p.object, p.privilege, p.granted
  from unnest(array['anon', 'authenticated', 'service_role']) r(role),
       lateral (values
         ('schema public', 'USAGE', has_schema_privilege(r.role, 'public', 'USAGE')),
         ('schema public', 'CREATE', has_schema_privilege(r.role, 'public', 'CREATE')),
         ('table app_orders', 'SELECT', has_table_privilege(r.role, 'public.app_orders', 'SELECT')),
         ('table app_orders', 'INSERT', has_table_privilege(r.role, 'public.app_orders', 'INSERT')),
         ('table app_orders', 'UPDATE', has_table_privilege(r.role, 'public.app_orders', 'UPDATE')),
         ('table app_orders', 'DELETE', has_table_privilege(r.role, 'public.app_orders', 'DELETE')),
         ('view app_recent_orders', 'SELECT', has_table_privilege(r.role, 'public.app_recent_orders', 'SELECT')),
         ('sequence app_orders_id_seq', 'USAGE', has_sequence_privilege(r.role, 'public.app_orders_id_seq', 'USAGE')),
         ('function app_order_count', 'EXECUTE', has_function_privilege(r.role, 'public.app_order_count()', 'EXECUTE'))
       ) p(object, privilege, granted);

-- What the check relies on: Supabase's grants reached the objects (else an unchanged "no" would prove nothing).
do $$
begin
  if exists (select 1 from public.app_privileges_before
              where privilege <> 'CREATE' and not granted) then
    raise exception 'the app objects did not get Supabase''s grants before the migrations: %',
      (select string_agg(role || ' ' || privilege || ' on ' || object, ', ') from public.app_privileges_before
        where privilege <> 'CREATE' and not granted);
  end if;
end $$;
