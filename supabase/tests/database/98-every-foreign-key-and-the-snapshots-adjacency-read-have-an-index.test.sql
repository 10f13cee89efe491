-- Every foreign key's referencing rows, and a restaurant's adjacency, are found through an index
-- (20261228060000): deleting a booking, a table or a restaurant, and each booking's snapshot, must not read a
-- table that grows with every booking (or every restaurant) whole. The planner is asked as the foreign key's
-- own check and cascade ask: rows matching the key's columns, with sequential scans priced out, so that only a
-- missing index leaves one.
begin;
select plan(3);

set local enable_seqscan = off;
create function pg_temp.plan_of(p_query text) returns jsonb language plpgsql as $$
declare
  plan jsonb;
begin
  execute 'explain (format json) ' || p_query into plan;
  return plan -> 0 -> 'Plan';
end $$;
-- Whether the plan finds its rows by an index keyed first on one of the given columns: a sequential scan, or
-- an index read whole for a column it does not lead with, reads the table's every row.
create function pg_temp.finds_by(p_plan jsonb, p_columns int2[], p_table regclass) returns boolean language sql as $$
  with recursive node(n) as (select p_plan union all select c from node, jsonb_array_elements(n -> 'Plans') c)
  select not exists (select 1 from node where n ->> 'Node Type' = 'Seq Scan')
     and exists (select 1 from node join pg_class x on x.relname = n ->> 'Index Name'
                   join pg_index i on i.indexrelid = x.oid
                  where i.indrelid = p_table and i.indkey[0] = any(p_columns));
$$;
-- A value of the column's type that no row has, so the planner cannot fold the condition away.
create function pg_temp.some_value(p_type regtype) returns text language sql as $$
  select case p_type when 'uuid'::regtype then '''00000000-0000-4000-8000-000000000000''::uuid'
                     when 'bigint'::regtype then '0::bigint' when 'integer'::regtype then '0' end;
$$;

select is(array(
  select format('%s (%s)', c.conrelid::regclass, c.conname)
    from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
   where c.contype = 'f' and n.nspname in ('public', 'private')
     and not pg_temp.finds_by(pg_temp.plan_of(format('select 1 from %s where %s', c.conrelid::regclass,
           (select string_agg(format('%I = %s', a.attname, pg_temp.some_value(a.atttypid::regtype)), ' and ')
              from unnest(c.conkey) k join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k))),
           c.conkey, c.conrelid)
   order by 1), '{}'::text[],
  'the rows each foreign key refers from are found through an index (deleting the row it refers to cascades or checks them)');

select ok(pg_temp.finds_by(pg_temp.plan_of(
  $$select 1 from public.table_adjacency where restaurant_id = '00000000-0000-4000-8000-000000000000'$$),
  array[(select attnum from pg_attribute where attrelid = 'public.table_adjacency'::regclass and attname = 'restaurant_id')],
  'public.table_adjacency'),
  'a restaurant''s adjacency, which every snapshot reads, is found through an index');
select ok(pg_temp.finds_by(pg_temp.plan_of(
  $$select 1 from public.booking_table_assignments
     where booking_id = '00000000-0000-4000-8000-000000000000' and released_at is null$$),
  array[(select attnum from pg_attribute where attrelid = 'public.booking_table_assignments'::regclass and attname = 'booking_id')],
  'public.booking_table_assignments'),
  'and a booking''s current holds still are');

select * from finish();
rollback;
