-- Reviews whose visit is over are not read again (20261227130000): ops.health,
-- which monitoring polls, and the review queue read what is open, not a platform's history (the re-seating
-- nudge reads the same reviews through bookings_in_review_idx, but its plan before walked the entries of
-- bookings_restaurant_start_idx, which these counts do not see). Each is called as the Data API's service_role
-- calls it, once before and once after a history is added: 3000 reviews of past visits, each with a message
-- that died for want of an address, and 3000 older cron runs (a third of them the sweeper's), written directly
-- (as a year of bookings would have left them) with triggers off so the set-up is quick. What a call reads is
-- counted from this transaction's own statistics: the rows of each table its scans read.
-- Whatever else the database holds (the test command runs this file on a fresh database and again on one the
-- integration tests filled) is there for both calls; each read of every row of the history reads 3000 more.
begin;
select plan(11);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
-- Reviews an operator can act on: one ahead and one under way; and one whose visit ended yesterday.
select tests.create_booking(:'rid', 4, now() + interval '2 days') as ahead \gset
select tests.create_booking(:'rid', 4, now() - interval '1 hour') as under_way \gset
select tests.create_booking(:'rid', 4, now() - interval '1 day') as ended \gset
update public.bookings set end_at = start_at + interval '3 hours' where id = :'under_way';
select tests.force_state(id, 'manual_review', 'no_table_fits: no table or combination of tables seats the party')
  from public.bookings where id in (:'ahead', :'under_way', :'ended');
-- The sweeper's latest run (numbered after every run before this transaction).
select jobid as sweeper_job from cron.job where jobname = 'assignment-sweeper' \gset
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
values (:'sweeper_job', 'select 1', 'succeeded', now() - interval '10 seconds', now() - interval '9 seconds');

-- Rows of a table read so far in this transaction: returned by its sequential scans, or fetched through an
-- index. Only rows the transaction sees: index entries of rows that earlier tests rolled back, which an index
-- scan steps over, are not counted (they would blur the counts whenever the two calls' plans differ).
create function pg_temp.rows_read(p_table regclass) returns bigint language sql as $$
  select pg_catalog.pg_stat_get_xact_tuples_returned(p_table) + pg_catalog.pg_stat_get_xact_tuples_fetched(p_table)
$$;
create temp table reads (call text, tbl regclass, before_history bigint, with_history bigint, primary key (call, tbl));
insert into reads (call, tbl)
select c, t from unnest(array['select ops.health()', 'select * from ops.manual_review_queue()']) c,
                 unnest(array['public.bookings', 'public.notification_outbox', 'cron.job_run_details']::regclass[]) t;
-- What each call reads of each table, run as service_role; one call at a time (a call's reads are counted when
-- the statement calling it ends its scans).
create function pg_temp.measure(p_column text) returns void language plpgsql as $$
declare
  c text;
  before jsonb;
begin
  for c in select distinct call from reads order by call loop
    select jsonb_object_agg(tbl::text, pg_temp.rows_read(tbl)) into before from reads where call = c;
    execute 'set local role service_role';
    execute c;
    execute 'reset role';
    execute format('update reads set %I = pg_temp.rows_read(tbl) - ($1 ->> tbl::text)::bigint where call = $2', p_column)
      using before, c;
  end loop;
end $$;
analyze public.bookings;
analyze public.notification_outbox;
analyze cron.job_run_details;
select pg_temp.measure('before_history');
set local role service_role;
select ops.health() as health_before \gset
reset role;

-- The history, older than anything above (its cron runs numbered below every real one).
set local session_replication_role = replica;
insert into public.bookings (restaurant_id, party_size, start_at, end_at, assignment_state, manual_review_reason,
                             created_at)
select :'rid', 2, now() - make_interval(days => 2 + i % 300),
       now() - make_interval(days => 2 + i % 300) + interval '2 hours', 'manual_review',
       'no_table_fits: no table or combination of tables seats the party', now() - make_interval(days => 3 + i % 300)
  from generate_series(1, 3000) i;
insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, status, dead_because)
select b.id, b.restaurant_id, 'booking_cancelled', 1, 'history-' || b.id, 'dead', 'no_address'
  from public.bookings b where b.restaurant_id = :'rid' and b.start_at < now() - interval '36 hours';
insert into cron.job_run_details (runid, jobid, command, status, start_time, end_time)
select -i, case when i % 3 = 0 then :'sweeper_job' else -1 end, 'select 1', 'succeeded',
       now() - interval '1 day' - make_interval(secs => i), now() - interval '1 day' - make_interval(secs => i)
  from generate_series(1, 3000) i;
set local session_replication_role = origin;
analyze public.bookings;
analyze public.notification_outbox;
analyze cron.job_run_details;
select pg_temp.measure('with_history');

create function pg_temp.more(p_call text, p_table regclass) returns bigint language sql as $$
  select with_history - before_history from reads where call = p_call and tbl = p_table
$$;
select ok(pg_temp.more('select ops.health()', 'public.bookings') < 1000,
  format('health reads the bookings in review whose visit is not over, not every review ever made (%s more read with the history)',
         pg_temp.more('select ops.health()', 'public.bookings')));
select ok(pg_temp.more('select ops.health()', 'cron.job_run_details') < 1000,
  format('health finds the sweeper''s latest run without reading pg_cron''s history (%s more)',
         pg_temp.more('select ops.health()', 'cron.job_run_details')));
select ok(pg_temp.more('select ops.health()', 'public.notification_outbox') < 1000,
  format('health reads none of the messages that died for want of an address (%s more)',
         pg_temp.more('select ops.health()', 'public.notification_outbox')));
select ok(pg_temp.more('select * from ops.manual_review_queue()', 'public.bookings') < 1000,
  format('the review queue reads the reviews whose visit is not over (%s more)',
         pg_temp.more('select * from ops.manual_review_queue()', 'public.bookings')));

set local role service_role;
select ops.health() as health \gset
select is((select array_agg(booking_id order by booking_id) from ops.manual_review_queue(:'rid')),
  (select array_agg(x order by x) from unnest(array[:'ahead', :'under_way']::uuid[]) x),
  'the review queue lists the reviews ahead and under way, not those whose visit is over');
select is((select count(*)::int from generate_series(0, 3000, 1000) page,
                   ops.manual_review_queue(:'rid', p_include_ended => true, p_limit => 1000, p_offset => page)), 3003,
  'p_include_ended => true lists every review, ended visits too, a page at a time');
select is((:'health'::jsonb ->> 'manual_review')::int - (:'health_before'::jsonb ->> 'manual_review')::int, 0,
  'health counts the reviews an operator can still act on, not those of past visits');
select is((:'health'::jsonb -> 'sweeper' ->> 'seconds_since_last_start')::numeric between 10 and 60, true,
  'health finds the sweeper''s latest run');
select is((:'health'::jsonb -> 'notifications' ->> 'dead')::int - (:'health_before'::jsonb -> 'notifications' ->> 'dead')::int,
  0, 'health counts the dead messages someone can act on, not those that died for want of an address');
select is(public.review_reseating_due(100, :'rid'), array[:'ahead']::uuid[], 'the nudge finds the review ahead');

-- A later create or replace of health's function keeps these only if it restates them (20261231540000,
-- 20261231550000): planned with the sequential reads the statistics of a young or just vacuumed bookings
-- invite, the count of resendable dead messages read bookings whole (this file failed so after 182).
reset role;
select is((select proconfig @> array['enable_seqscan=off', 'jit=off'] from pg_proc
            where oid = 'private.health_of_parts(timestamptz)'::regprocedure), true,
  'health plans without sequential reads and without JIT');

select * from finish();
rollback;
