-- The group search joins a restaurant's adjacency to its tables by equality (20261231370000): on any floor it
-- answers the groups the search before it answered, smallest first, and past its limit the first that many.
-- Floors drawn from fixed draws: tables of a few sizes in two zones, some fixed, inactive or out of service,
-- each pair joined with a chance that makes sparse rows and dense zones.
begin;
select plan(5);

-- The search as it was (20261204010000), unlimited, for comparison.
create function pg_temp.groups_before(p_restaurant_id uuid, p_max_tables integer)
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
      link as (
        select x.id as from_id, y.id as to_id, y.capacity as to_capacity
          from public.table_adjacency a
          join joinable x on x.id in (a.table_a, a.table_b)
          join joinable y on y.id in (a.table_a, a.table_b) and y.id <> x.id
         where a.restaurant_id = p_restaurant_id and x.zone_id = y.zone_id),
      grp(members, seats) as (
        select array[j.id], j.capacity from joinable j
        union
        select (select pg_catalog.array_agg(m order by m) from pg_catalog.unnest(g.members || l.to_id) m),
               g.seats + l.to_capacity
          from grp g join link l on l.from_id = any(g.members)
         where pg_catalog.cardinality(g.members) < p_max_tables
           and l.to_id > g.members[1] and not l.to_id = any(g.members))
    select g.members, g.seats from grp g where pg_catalog.cardinality(g.members) >= 2
     ;
end $$;

-- A draw in [0, 1) from a text, the same on every run (random() would follow the rows' order, which follows
-- their random ids).
create function pg_temp.draw(p_key text) returns double precision language sql as $$
  select ('x' || substr(md5(p_key), 1, 8))::bit(32)::bigint / 4294967296.0
$$;

create function pg_temp.floor(p_tables integer, p_join double precision) returns uuid language plpgsql as $$
declare
  rid uuid := tests.create_restaurant('Groups ' || p_tables || ' ' || p_join);
begin
  insert into public.zones (restaurant_id, name) values (rid, 'Terrace');
  perform tests.add_table(rid, 'G' || i, (array[1, 2, 2, 4, 6])[1 + floor(pg_temp.draw(p_tables || 'size' || i) * 5)::int],
                          case when pg_temp.draw(p_tables || 'zone' || i) < 0.2 then 'Terrace' else 'Main' end)
     from generate_series(1, p_tables) i;
  update public.restaurant_tables
     set movable = pg_temp.draw(p_tables || 'fixed' || table_number) < 0.85,
         out_of_service = pg_temp.draw(p_tables || 'service' || table_number) < 0.1,
         active = pg_temp.draw(p_tables || 'active' || table_number) >= 0.1
   where restaurant_id = rid;
  insert into public.table_adjacency (restaurant_id, table_a, table_b)
  select rid, a.id, b.id
    from public.restaurant_tables a join public.restaurant_tables b on b.restaurant_id = a.restaurant_id and a.id < b.id
   where a.restaurant_id = rid
     and pg_temp.draw(p_tables || least(a.table_number, b.table_number) || greatest(a.table_number, b.table_number)) < p_join;
  return rid;
end $$;

create temporary table floors as
  select pg_temp.floor(n, j) as rid, n, j, m
    from (values (5, 0.5, 3), (8, 0.3, 4), (10, 0.6, 4), (12, 0.2, 6), (14, 0.4, 3), (9, 1.0, 5)) f(n, j, m);
select ok((select count(*) from public.restaurant_tables t join floors f on f.rid = t.restaurant_id
            where not t.active or t.out_of_service or not t.movable) >= 3,
  'the floors have fixed, inactive and out-of-service tables among the joined ones');

select is((select count(*)::int from floors f
            where (select array_agg(g.table_ids::text || g.seats order by g.table_ids::text) from private.table_groups(f.rid, f.m) g)
                  is not distinct from
                  (select array_agg(g.table_ids::text || g.seats order by g.table_ids::text) from pg_temp.groups_before(f.rid, f.m) g)),
  6, 'on every floor under the limit, the same groups with the same seats');
select ok((select bool_and((select count(*) from private.table_groups(f.rid, f.m)) > 0) from floors f where f.j >= 0.3),
  'and the floors have groups to compare');
select is((select array_agg(cardinality(g.table_ids) order by o) from private.table_groups(
             (select rid from floors where n = 9), 5) with ordinality g(table_ids, seats, o)),
          (select array_agg(cardinality(g.table_ids) order by cardinality(g.table_ids), o) from private.table_groups(
             (select rid from floors where n = 9), 5) with ordinality g(table_ids, seats, o)),
  'smallest first');

-- Past the limit: a zone of 70 tables that all join has 2,415 pairs; the first 2,000 are pairs, each once.
select tests.create_restaurant('Dense') as dense \gset
select count(tests.add_table(:'dense', 'D' || n, 2)) from generate_series(1, 70) n;
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'dense', a.id, b.id from public.restaurant_tables a join public.restaurant_tables b
  on a.restaurant_id = b.restaurant_id and a.id < b.id where a.restaurant_id = :'dense';
select is((select array[count(*), count(distinct table_ids), max(cardinality(table_ids)), min(cardinality(table_ids))]::int[]
             from private.table_groups(:'dense', 6)),
  array[2000, 2000, 2, 2], 'past its limit, the first 2,000 groups, the smallest, each once');

select * from finish();
rollback;
