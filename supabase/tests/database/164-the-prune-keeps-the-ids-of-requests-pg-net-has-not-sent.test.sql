-- The nightly prune keeps the ids of the pipeline's requests pg_net has not sent yet (20261231460000): health
-- measures a stalled worker by the oldest nudge still queued, which a prune of every id a day old cut to a day.
begin;
-- pg_cron's history of the pipeline's jobs, which the prune also deletes from, is locked first: pg_cron writing a
-- run's end in it meanwhile would make the prune's delete a serialization failure.
lock table cron.job_run_details in exclusive mode;
select plan(4);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'P1', 4) is not null as tabled \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'rid', 2, '2030-11-05 19:00+00')
returning id as bid \gset
reset role;
select q.id as nudge from net.http_request_queue q
 where q.id in (select p.id from private.pipeline_requests p where p.function_name = 'assignment-coordinator')
   and pg_catalog.convert_from(q.body, 'UTF8') like '%' || :'bid' || '%' \gset
select ok(:'nudge' is not null, 'the insert queued a nudge the pipeline remembers');

-- Two days on, pg_net still has not sent it: the prune keeps its id, and health still sees it queued.
select private.prune_old_rows(now() + interval '2 days', null, false) is not null as pruned \gset
select ok(exists (select 1 from private.pipeline_requests where id = :nudge),
  'a request a day old that pg_net has not sent keeps its id');
select ok(exists (select 1 from net.http_request_queue q join private.pipeline_requests p on p.id = q.id
                   where q.id = :nudge),
  'so health still matches the queued nudge to the pipeline');

-- Once pg_net takes it, the id goes a day after it was sent, as before.
delete from net.http_request_queue where id = :nudge;
select private.prune_old_rows(now() + interval '2 days', null, false) is not null as pruned \gset
select ok(not exists (select 1 from private.pipeline_requests where id = :nudge),
  'the id of a request pg_net has taken is pruned a day after it was sent');

select * from finish();
rollback;
