-- The group search joins a restaurant's adjacency to its tables by equality, so a dense zone costs it
-- milliseconds, not a second under the restaurant's lock.
--
-- private.table_groups lists the groups of joinable tables (capacity_problem asks it on every lease of a party
-- larger than any single table, under the restaurant's lock; the review's alternatives ask it too). It found
-- each pair's two tables with "x.id in (table_a, table_b)" against its list of tables, which Postgres can only
-- join by testing every pair against every table: in a zone of 300 tables that all join (44,850 pairs), 26.8
-- million rows were built and filtered before the first group, 0.8 s a lease, 53 ms at 60 tables, every other
-- lease and commit of the restaurant waiting meanwhile (an attacker's review of pathological floor plans). The
-- pairs are now read both ways round and joined to the tables by id, and a group to its members' links by id.
-- Measured on this machine (a committed, analysed floor; each search three times): a zone of 300 tables that
-- all join 1.2-1.6 s before, 0.12-0.33 s after; 60 that all join 41-62 ms before, 17-36 ms after; a row of 60
-- tables each joined to the next two 53-69 ms before, 23-62 ms after. The groups are the same, smallest first;
-- past the limit, as before, the first 2,000 the breadth-first search reaches.
--
-- private.table_groups: as in 20261204010000, with that join.

create or replace function private.table_groups(p_restaurant_id uuid, p_max_tables integer)
 returns table(table_ids uuid[], seats integer)
 language plpgsql
 stable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  with recursive
      joinable as (
        select t.id, t.zone_id, t.capacity from private.usable_tables(p_restaurant_id) t where t.movable),
      -- Each pair both ways round (it is stored once), so that it joins its tables by id.
      pair as (
        select a.table_a as from_id, a.table_b as to_id from public.table_adjacency a
         where a.restaurant_id = p_restaurant_id
        union all
        select a.table_b, a.table_a from public.table_adjacency a where a.restaurant_id = p_restaurant_id),
      link as (
        select x.id as from_id, y.id as to_id, y.capacity as to_capacity
          from pair p
          join joinable x on x.id = p.from_id
          join joinable y on y.id = p.to_id
         where x.zone_id = y.zone_id and y.id <> x.id),
      grp(members, seats) as (
        select array[j.id], j.capacity from joinable j
        union
        select (select pg_catalog.array_agg(m order by m) from pg_catalog.unnest(g.members || l.to_id) m),
               g.seats + l.to_capacity
          from grp g cross join lateral pg_catalog.unnest(g.members) gm(id) join link l on l.from_id = gm.id
         where pg_catalog.cardinality(g.members) < p_max_tables
           and l.to_id > g.members[1] and not l.to_id = any(g.members))
    select g.members, g.seats from grp g where pg_catalog.cardinality(g.members) >= 2
     limit private.group_search_limit();
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
