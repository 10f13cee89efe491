-- Every foreign key's referencing rows, and a restaurant's adjacency, are found through an index
-- (20261228060000): deleting a booking, a table or a restaurant, and each booking's snapshot, must not read a
-- table that grows with every booking (or every restaurant) whole. Asked of the schema, not of a plan, which
-- would change with what the other tests left in the tables: an index of every row whose key is set must lead
-- with one of the key's columns, and not with the restaurant alone where the key has more columns (a
-- restaurant's every hold is no lookup of one booking's), unless it holds them all first.
begin;
select plan(3);

create function pg_temp.indexed_by(p_table regclass, p_columns int2[]) returns boolean language sql as $$
  select exists (
    select 1 from pg_index i, lateral (select a.attname as leading from pg_attribute a
                                        where a.attrelid = p_table and a.attnum = i.indkey[0]) l
     where i.indrelid = p_table and i.indisvalid and i.indkey[0] = any(p_columns)
       -- Whole, or without only the rows whose key is null (which no deletion looks for).
       and (i.indpred is null or pg_get_expr(i.indpred, i.indrelid) = format('(%s IS NOT NULL)', quote_ident(l.leading)))
       and (cardinality(p_columns) = 1 or l.leading <> 'restaurant_id'
            or p_columns <@ (i.indkey::int2[])[0:cardinality(p_columns) - 1]));
$$;
create function pg_temp.explain(p_query text) returns jsonb language plpgsql as $$
declare
  plan jsonb;
begin
  execute 'explain (format json) ' || p_query into plan;
  return plan;
end $$;
create function pg_temp.column_of(p_table regclass, p_column name) returns int2[] language sql as $$
  select array[a.attnum] from pg_attribute a where a.attrelid = p_table and a.attname = p_column;
$$;

select is(array(
  select format('%s (%s)', c.conrelid::regclass, c.conname)
    from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
   where c.contype = 'f' and n.nspname in ('public', 'private') and not pg_temp.indexed_by(c.conrelid, c.conkey)
   order by 1), '{}'::text[],
  'the rows each foreign key refers from are found through an index (deleting the row it refers to cascades or checks them)');
select ok(pg_temp.indexed_by('public.table_adjacency', pg_temp.column_of('public.table_adjacency', 'restaurant_id')),
  'a restaurant''s adjacency, which every snapshot reads, is found through an index');
-- And the planner takes it, as a snapshot asks.
set local enable_seqscan = off;
select ok((select p::text like '%"table_adjacency_restaurant_idx"%' and p::text not like '%"Seq Scan"%'
             from pg_temp.explain($$select * from public.table_adjacency
                                   where restaurant_id = '00000000-0000-4000-8000-000000000000'$$) p),
  'which the planner uses');

select * from finish();
rollback;
