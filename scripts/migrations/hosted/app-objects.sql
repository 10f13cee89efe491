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

-- The grants themselves, PUBLIC's included (an effective privilege PUBLIC also gives would hide a revoke from
-- one role), the defaults spelled out where an object has no grants of its own.
create view public.app_acl_now as
select o.object, coalesce(g.rolname, 'PUBLIC') as grantee, a.privilege_type, a.is_grantable
  from (select 'schema public', coalesce(n.nspacl, acldefault('n'::"char", n.nspowner)) from pg_namespace n where n.nspname = 'public'
        union all
        select 'relation ' || c.relname, coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))
          from pg_class c where c.oid in ('public.app_orders'::regclass, 'public.app_recent_orders'::regclass,
                                          'public.app_orders_id_seq'::regclass)
        union all
        select 'function app_order_count', coalesce(p.proacl, acldefault('f'::"char", p.proowner))
          from pg_proc p where p.oid = 'public.app_order_count()'::regprocedure) o(object, acl),
       lateral aclexplode(o.acl) a
       left join pg_roles g on g.oid = a.grantee;
create table public.app_acl_before as select * from public.app_acl_now;

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
