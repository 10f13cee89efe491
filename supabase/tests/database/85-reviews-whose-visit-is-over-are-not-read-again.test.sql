-- Reviews whose visit is over, and messages that never go, are not read again (20261227130000): ops.health,
-- which monitoring polls, and the review queue read what is open, not a platform's history (the re-seating
-- nudge reads the same reviews through bookings_in_review_idx, but its plan before walked the entries of
-- bookings_restaurant_start_idx, which these counts do not see). Each is called as the Data API's service_role calls it, once before and once after
-- a history is added: 3000 reviews of past visits, each with a message that died for want of an address, and
-- 3000 older cron runs (a third of them the sweeper's), written directly (as a year of bookings would have left them) with
-- triggers off so the set-up is quick. What a call reads is counted from this transaction's own statistics:
-- the rows and index entries of those tables its scans returned. Each read of every row of the history would
-- read 3000 more (the dead messages' count does, and no more); the bounds leave room for what the plans read of
-- rows already there.
begin;
select plan(8);

-- Only this file's rows (rolled back at the end).
set local session_replication_role = replica;
delete from public.notification_outbox;
delete from public.bookings;
set local session_replication_role = origin;

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
-- Reviews an operator can act on: one ahead and one under way; and one whose visit ended yesterday.
select tests.create_booking(:'rid', 4, now() + interval '2 days') as ahead \gset
select tests.create_booking(:'rid', 4, now() - interval '1 hour') as under_way \gset
select tests.create_booking(:'rid', 4, now() - interval '1 day') as ended \gset
update public.bookings set end_at = start_at + interval '3 hours' where id = :'under_way';
select tests.force_state(id, 'manual_review', 'no_table_fits: no table or combination of tables seats the party')
  from public.bookings where id in (:'ahead', :'under_way', :'ended');
select jobid as sweeper_job from cron.job where jobname = 'assignment-sweeper' \gset
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
select -1, 'select 1', 'succeeded', now() - interval '30 seconds', now() - interval '30 seconds' from generate_series(1, 3);
insert into cron.job_run_details (jobid, command, status, start_time, end_time)
values (:'sweeper_job', 'select 1', 'succeeded', now() - interval '10 seconds', now() - interval '9 seconds');

-- Rows and index entries read so far in this transaction from the tables a history fills: those their scans
-- returned. Entries of rows rolled back count too: the test command runs this on a freshly reset database; run
-- again by hand on the same one, earlier runs' entries blur the counts.
create function pg_temp.rows_read() returns bigint language sql as $$
  select sum(pg_catalog.pg_stat_get_xact_tuples_returned(c.oid))::bigint
    from pg_catalog.pg_class c
   where c.oid in ('public.bookings'::regclass, 'public.notification_outbox'::regclass, 'cron.job_run_details'::regclass)
      or c.oid in (select i.indexrelid from pg_catalog.pg_index i
                    where i.indrelid in ('public.bookings'::regclass, 'public.notification_outbox'::regclass,
                                         'cron.job_run_details'::regclass))
$$;
-- What one call reads, run as service_role.
create function pg_temp.reads_of(p_call text) returns bigint language plpgsql as $$
declare
  before bigint := pg_temp.rows_read();
begin
  execute 'set local role service_role';
  execute p_call;
  execute 'reset role';
  return pg_temp.rows_read() - before;
end $$;
create temp table reads (call text primary key, before_history bigint, with_history bigint);
-- Each call's reads into a column of reads.
create function pg_temp.measure(p_column text) returns void language plpgsql as $$
declare
  c text;
  n bigint;
begin
  for c in select call from reads order by call loop
    n := pg_temp.reads_of(c);
    execute format('update reads set %I = $1 where call = $2', p_column) using n, c;
  end loop;
end $$;
analyze public.bookings;
analyze public.notification_outbox;
analyze cron.job_run_details;
insert into reads (call) values ('select ops.health()'), ('select * from ops.manual_review_queue()');
-- One call a statement: calls made within one statement do not each see the counts of those before them.
select pg_temp.measure('before_history');

-- The history, older than anything above (its cron runs numbered before the sweeper's latest, as they ran).
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
update cron.job_run_details set runid = runid + 100000 where jobid in (-1, :'sweeper_job') and start_time > now() - interval '1 minute';
insert into cron.job_run_details (runid, jobid, command, status, start_time, end_time)
select i, case when i % 3 = 0 then :'sweeper_job' else -1 end, 'select 1', 'succeeded',
       now() - interval '1 day' + make_interval(secs => i), now() - interval '1 day' + make_interval(secs => i)
  from generate_series(1, 3000) i
 where not exists (select 1 from cron.job_run_details d where d.runid = i);
set local session_replication_role = origin;
analyze public.bookings;
analyze public.notification_outbox;
analyze cron.job_run_details;
select pg_temp.measure('with_history');

select ok((select with_history - before_history from reads where call like '%health%') < 4500,
  format('health reads what is open, not the past reviews, dead messages and cron runs; only its count of dead messages reads them all (%s more read)',
         (select with_history - before_history from reads where call like '%health%')));
select ok((select with_history - before_history from reads where call like '%manual_review_queue%') < 1000,
  format('the review queue reads the reviews whose visit is not over (%s more read)',
         (select with_history - before_history from reads where call like '%manual_review_queue%')));

set local role service_role;
select ops.health() as health \gset
select is((select array_agg(booking_id order by booking_id) from ops.manual_review_queue(:'rid')),
  (select array_agg(x order by x) from unnest(array[:'ahead', :'under_way']::uuid[]) x),
  'the review queue lists the reviews ahead and under way, not those whose visit is over');
select is((select count(*)::int from ops.manual_review_queue(:'rid', p_include_ended => true)), 3003,
  'p_include_ended => true lists every review, ended visits too');
select is((:'health'::jsonb ->> 'manual_review')::int, 2,
  'health counts the reviews an operator can still act on');
select is((:'health'::jsonb -> 'sweeper' ->> 'seconds_since_last_start')::numeric between 10 and 60, true,
  'health finds the sweeper''s latest run');
select is((:'health'::jsonb -> 'notifications' ->> 'dead')::int, 3000, 'health still counts every dead message');
select is(public.review_reseating_due(100), array[:'ahead']::uuid[], 'the nudge finds the review ahead');

select * from finish();
rollback;
