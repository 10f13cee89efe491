-- After the migrations: the project's own objects (app-objects.sql) keep every privilege the API roles had on
-- them and on public, and every grant (PUBLIC's too), and are still without row-level security.
\set ON_ERROR_STOP on
do $$
declare
  changed text;
begin
  select string_agg(b.role || ' ' || b.privilege || ' on ' || b.object || ': ' || b.granted || ' before, '
                    || now.granted || ' after', '; ')
    into changed
    from public.app_privileges_before b,
         lateral (select case b.object
                           when 'schema public' then has_schema_privilege(b.role, 'public', b.privilege)
                           when 'table app_orders' then has_table_privilege(b.role, 'public.app_orders', b.privilege)
                           when 'view app_recent_orders' then has_table_privilege(b.role, 'public.app_recent_orders', b.privilege)
                           when 'sequence app_orders_id_seq' then has_sequence_privilege(b.role, 'public.app_orders_id_seq', b.privilege)
                           when 'function app_order_count' then has_function_privilege(b.role, 'public.app_order_count()', b.privilege)
                         end as granted) now
   where now.granted is distinct from b.granted;
  if changed is not null then
    raise exception 'the migrations changed the privileges of the project''s own objects: %', changed;
  end if;
  select string_agg(d.change, '; ') into changed
    from (select 'granted since: ' || object || ' ' || privilege_type || ' to ' || grantee as change
            from (select * from public.app_acl_now except select * from public.app_acl_before) x
          union all
          select 'revoked: ' || object || ' ' || privilege_type || ' from ' || grantee
            from (select * from public.app_acl_before except select * from public.app_acl_now) y) d;
  if changed is not null then
    raise exception 'the migrations changed the grants on the project''s own objects or on public: %', changed;
  end if;
  if (select relrowsecurity from pg_class where oid = 'public.app_orders'::regclass) then
    raise exception 'the migrations enabled row-level security on the project''s own table public.app_orders';
  end if;
end $$;
