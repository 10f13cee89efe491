-- A platform's statement over many bookings costs the same for each of them (20261231500000): inserting a
-- restaurant's bookings in one statement, or moving them all in one UPDATE (a whole day moved), reads about as
-- many bookings for the 400th row as for the first. Before, the count of the restaurant's slots read each window
-- through the whole queue, once per row, so a statement of 5,000 rows took 22 s, past the Data API's 8 s.
-- Counted as the bookings its index scans fetch and its sequential scans read (pg_stat_xact_user_tables, this
-- transaction's own counts), not timed. The platform's writes run as service_role, as the Data API runs them; staging as the owner.
begin;
select plan(3);

create function pg_temp.fetched() returns bigint language sql as $$
  select coalesce((select coalesce(idx_tup_fetch, 0) + seq_tup_read from pg_catalog.pg_stat_xact_user_tables
                    where relid = 'public.bookings'::regclass), 0);
$$;

select tests.create_restaurant('Whole day') as r \gset
select tests.add_table(:'r', 'W1', 4);
select pg_temp.fetched() as before_insert \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
select :'r', 2, timestamptz '2030-10-01 11:00+00' + make_interval(mins => (i % 40) * 15) + make_interval(days => i / 40)
  from generate_series(1, 400) i;
reset role;
select cmp_ok(pg_temp.fetched() - :before_insert, '<', 400 * 20::bigint,
  'an insert of 400 bookings of one restaurant reads fewer than 20 bookings a row');

-- All 400 confirmed (staged), then moved by a quarter of an hour in one statement.
set local session_replication_role = replica;
update public.bookings set status = 'confirmed', assignment_state = 'confirmed', deferred_since = null,
                           next_attempt_at = null
 where restaurant_id = :'r';
set local session_replication_role = origin;
select pg_temp.fetched() as before_move \gset
set local role service_role;
update public.bookings set start_at = start_at + interval '15 minutes', end_at = end_at + interval '15 minutes'
 where restaurant_id = :'r';
reset role;
select cmp_ok(pg_temp.fetched() - :before_move, '<', 400 * 20::bigint,
  'moving them in one statement reads fewer than 20 bookings a row');
select is((select count(*)::int from public.bookings where restaurant_id = :'r' and deferred_since is not null), 397,
  'and all but the three its slots take join the restaurant''s queue');

select * from finish();
rollback;
