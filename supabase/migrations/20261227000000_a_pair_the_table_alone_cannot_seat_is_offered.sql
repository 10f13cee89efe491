-- A pair of tables is offered when the table left alone could not seat the party by its own party range.
--
-- A review of the engine against the rules Postgres enforces found that a combination was kept only while
-- dropping any one of its tables left too few seats, counted by capacity. But one table left alone seats only
-- the parties its range allows: a 6-seat table the restaurant keeps for at most four joined with a 2-top seats
-- a party of five by every rule the commit checks, yet the engine never offered it (without the 2-top "six
-- seats remain"), so such a party went to manual review as no_table_fits while the floor had room, and the
-- review queue, using the same rule, offered the operator no tables either. The engine
-- (shared/engine/candidates.ts) and the independent rules of its tests (shared/testing/rules.ts) now count a
-- lone table left by the top of its party range; private.every_table_needed does the same. A table's minimum
-- is not a reason to join another: a party below it is not given two tables to get round it.
-- Body as in 20261210070000, with that change. The seating options worked out with the old rule are dropped
-- and are worked out again on their next use.

create or replace function private.every_table_needed(p_restaurant_id uuid, p_table_ids uuid[], p_seats integer, p_party integer)
returns boolean language sql stable set search_path = '' as $$
  select not exists (
    select 1 from public.restaurant_tables left_out
     where left_out.id = any(p_table_ids)
       and case when pg_catalog.cardinality(p_table_ids) = 2
                then (select lone.max_party_size from public.restaurant_tables lone
                       where lone.id = any(p_table_ids) and lone.id <> left_out.id)
                else p_seats - left_out.capacity end >= p_party
       and (with recursive rest(id) as (select x from pg_catalog.unnest(p_table_ids) x where x <> left_out.id limit 1)
            , reach(id) as (
                select id from rest
                union
                select case when a.table_a = r.id then a.table_b else a.table_a end
                  from reach r join public.table_adjacency a
                    on a.restaurant_id = p_restaurant_id and (a.table_a = r.id or a.table_b = r.id)
                 where (case when a.table_a = r.id then a.table_b else a.table_a end) = any(p_table_ids)
                   and (case when a.table_a = r.id then a.table_b else a.table_a end) <> left_out.id)
            select count(*) from reach) = pg_catalog.cardinality(p_table_ids) - 1);
$$;

delete from private.seating_options_cache;

revoke all on all routines in schema private from public, anon, authenticated;
