-- A restaurant's count of its bookings in flight reads its bookings in flight, and whether anyone waits in its
-- queue reads its queue, whatever the planner's statistics say (20261231530000).
--
-- The statistics a busy database has between two analyzes: many restaurants of a booking or two, and the
-- partial indexes of bookings in flight and in the queue grown by thousands of bookings that passed through
-- them and left, with a handful in them when the table was last analyzed. The planner then costs the small
-- partial index as if every page of it were read, and the restaurant's index by start time, which holds its
-- whole book, as one row: before, each booking of a statement counted its restaurant's slots, and asked whether
-- anyone waited, through the whole book (a move of 400 confirmed bookings read 413 bookings a row; an insert
-- of 19 beside a book of 400, 797). Each of the three reads, read as before (the count of bookings in flight
-- without its order; the question of the queue as the EXISTS it was, or without its order), fails here.
-- Counted as in 170 (this transaction's index fetches and sequential reads of bookings), not timed; the
-- platform's writes run as service_role, the staging as the owner. After its rollback it vacuums bookings: the
-- thousands of rows it staged, and the page and row counts its ANALYZE wrote in place (which a rollback
-- keeps), are not left to weigh on the plans of the files after it until autovacuum comes by.
begin;
select plan(3);

create function pg_temp.fetched() returns bigint language sql as $$
  select coalesce((select coalesce(idx_tup_fetch, 0) + seq_tup_read from pg_catalog.pg_stat_xact_user_tables
                    where relid = 'public.bookings'::regclass), 0);
$$;

-- Staged with triggers off: 150 restaurants of one confirmed booking each, and 5,000 bookings of another that
-- went through the in-flight index and the queue's and were deleted, all but two in each.
set local session_replication_role = replica;
create temp table tiny on commit drop as
  with made as (insert into public.restaurants (name, timezone) select 'Tiny ' || i, 'UTC' from generate_series(1, 150) i
                returning id)
  select id as rid from made;
insert into public.bookings (restaurant_id, party_size, start_at, end_at, status, assignment_state)
select rid, 2, timestamptz '2030-09-01 11:00+00', timestamptz '2030-09-01 13:00+00', 'confirmed', 'confirmed'
  from tiny;
select tests.create_restaurant('Busy') as busy \gset
insert into public.bookings (restaurant_id, party_size, start_at, end_at, next_attempt_at)
select :'busy', 2, timestamptz '2030-09-01 11:00+00' + make_interval(mins => i),
       timestamptz '2030-09-01 13:00+00' + make_interval(mins => i), now() + interval '1 hour'
  from generate_series(1, 5000) i;
update public.bookings set deferred_since = now() where restaurant_id = :'busy';
update public.bookings set deferred_since = null
 where restaurant_id = :'busy' and start_at >= timestamptz '2030-09-01 11:03+00';
delete from public.bookings where restaurant_id = :'busy' and start_at >= timestamptz '2030-09-01 11:05+00';
set local session_replication_role = origin;
analyze public.bookings;

-- Two restaurants with a day of 400 confirmed bookings each (staged); the second has room for 20 in flight.
create function pg_temp.book_a_day(p_restaurant uuid) returns void language sql as $$
  insert into public.bookings (restaurant_id, party_size, start_at, end_at, status, assignment_state)
  select p_restaurant, 2, d, d + interval '2 hours', 'confirmed', 'confirmed'
    from generate_series(1, 400) i,
         lateral (select timestamptz '2030-10-01 11:00+00' + make_interval(mins => (i % 40) * 15, days => i / 40) d) s;
$$;
select tests.create_restaurant('Whole day') as r \gset
select tests.add_table(:'r', 'W1', 4);
select tests.create_restaurant('Room for twenty') as wide \gset
select tests.add_table(:'wide', 'T1', 4);
select ops.set_max_parallel(20, 'test', :'wide') is not null as set_wide \gset
set local session_replication_role = replica;
select pg_temp.book_a_day(:'r'), pg_temp.book_a_day(:'wide');
set local session_replication_role = origin;

-- The 400 moved by a quarter of an hour in one statement: each counts its restaurant's slots.
select pg_temp.fetched() as before_move \gset
set local role service_role;
update public.bookings set start_at = start_at + interval '15 minutes', end_at = end_at + interval '15 minutes'
 where restaurant_id = :'r';
reset role;
select cmp_ok(pg_temp.fetched() - :before_move, '<', 400 * 20::bigint,
  'moving 400 bookings in one statement reads fewer than 20 bookings a row');
select is((select count(*)::int from public.bookings where restaurant_id = :'r' and deferred_since is not null), 397,
  'and all but the three its slots take join the restaurant''s queue');

-- 19 new bookings in one statement beside a book of 400: each after the first finds a slot taken and no queue.
select pg_temp.fetched() as before_insert \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
select :'wide', 2, timestamptz '2030-11-01 11:00+00' + make_interval(mins => i * 15) from generate_series(1, 19) i;
reset role;
select cmp_ok(pg_temp.fetched() - :before_insert, '<', 19 * 20::bigint,
  'inserting 19 bookings beside a book of 400 reads fewer than 20 bookings a row');

select * from finish();
rollback;
vacuum public.bookings;
