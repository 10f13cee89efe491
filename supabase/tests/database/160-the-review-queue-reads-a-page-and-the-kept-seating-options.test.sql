-- The review queue answers a page at a time, and lists as free tables the floor plan's seating options that
-- nobody holds around the stay (20261231400000): pages do not overlap and together list every review, soonest
-- first; a page outside 1-1000 or a negative offset is refused; and on floors where fewer than a hundred
-- combinations are free the tables listed are those the search before this one listed. As service_role.
begin;
select plan(8);

-- The listing of free tables as it was (20261227130000), for comparison.
create function pg_temp.free_before(b public.bookings) returns jsonb language sql as $$
  select case when private.service_hours_problem(b) is not null then '[]'::jsonb else coalesce((
    select pg_catalog.jsonb_agg(o.option order by o.rank, o.option)
      from ((select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
               from private.usable_tables(b.restaurant_id) t
              where b.party_size between t.min_party_size and t.max_party_size
                and private.busy_tables(b, array[t.id]) is null
              order by 2 limit 10)
            union all
            (select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                       from public.restaurant_tables t where t.id = any(g.table_ids)),
                    100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
               from private.table_groups(b.restaurant_id,
                      (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
              where g.seats >= b.party_size
                and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)
                and private.busy_tables(b, g.table_ids) is null
              limit 100)
            order by 2 limit 10) o), '[]'::jsonb) end
$$;
grant execute on all functions in schema pg_temp to service_role;

-- A room of a row of six 2-tops that join, two 4-tops that join and a fixed 6-top; some tables held on the
-- evening, and twelve reviews of every party size from 1 to 8 at times around them.
select tests.create_restaurant('Paged') as rid \gset
select count(tests.add_table(:'rid', 'A' || i, 2)) as a_tables from generate_series(1, 6) i \gset
select tests.add_table(:'rid', 'B1', 4) as b1 \gset
select tests.add_table(:'rid', 'B2', 4) as b2 \gset
select tests.add_table(:'rid', 'C1', 6) as c1 \gset
update public.restaurant_tables set movable = false where id = :'c1';
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'rid', a.id, b.id from public.restaurant_tables a join public.restaurant_tables b
  on b.restaurant_id = a.restaurant_id and b.table_number = 'A' || (substr(a.table_number, 2)::int + 1)
 where a.restaurant_id = :'rid' and a.table_number like 'A%';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'b1', :'b2');
select tests.confirmed_on(:'rid', 2, '2030-05-06 19:00+00', (select id from public.restaurant_tables where restaurant_id = :'rid' and table_number = 'A3')) as on_a3 \gset
select tests.confirmed_on(:'rid', 4, '2030-05-06 19:30+00', :'b1') as on_b1 \gset
select count(tests.force_state(tests.create_booking(:'rid', 1 + i % 8, timestamptz '2030-05-06 18:00+00' + make_interval(mins => 30 * (i % 5))),
                               'manual_review', 'no_table_fits: test')) as reviews
  from generate_series(1, 12) i \gset

set local role service_role;
select is((select count(*)::int from ops.manual_review_queue(:'rid')), 12, 'one page holds all twelve');
select is((select array_agg(q.booking_id) from generate_series(0, 10, 5) page,
                  lateral (select * from ops.manual_review_queue(:'rid', p_limit => 5, p_offset => page)) q),
          (select array_agg(q.booking_id) from ops.manual_review_queue(:'rid') q),
  'pages of five, one after another, list them once each in the same order');
select is((select array_agg(b.start_at order by q.n)
             from (select q.booking_id, row_number() over () as n from ops.manual_review_queue(:'rid') q) q
             join public.bookings b on b.id = q.booking_id),
          (select array_agg(b.start_at order by b.start_at, b.id) from public.bookings b
            where b.restaurant_id = :'rid' and b.assignment_state = 'manual_review'),
  'soonest first');
select is((select count(*)::int from ops.manual_review_queue(:'rid', p_offset => 12)), 0, 'a page past the end is empty');
select throws_ok($$select * from ops.manual_review_queue(p_limit => 0)$$, 'AS005', 'p_limit is a page of 1 to 1000 reviews',
  'a page of none is refused');
select throws_ok($$select * from ops.manual_review_queue(p_limit => 1001)$$, 'AS005', null, 'so is one over a thousand');
select throws_ok($$select * from ops.manual_review_queue(p_offset => -1)$$, 'AS005', 'p_offset is 0 or more',
  'and a negative offset');
create temp table listed as select q.booking_id, q.free_tables_that_fit from ops.manual_review_queue(:'rid') q;
reset role;
select is((select count(*)::int from listed q join public.bookings b on b.id = q.booking_id
            where q.free_tables_that_fit is distinct from pg_temp.free_before(b)), 0,
  'every review lists the free tables the search before listed');

select * from finish();
rollback;
