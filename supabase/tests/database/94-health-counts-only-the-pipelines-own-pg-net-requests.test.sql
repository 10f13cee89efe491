-- Health counts only the pipeline's own pg_net requests (20261228010000): pg_net also carries the project's
-- Database Webhooks and its own calls, whose refusals say nothing about the pipeline's dispatch.
begin;
-- One snapshot, so requests the pipeline sends and answers meanwhile cannot change the counts compared. pg_cron's
-- history of the sweeper's runs, which the prune below deletes from, is locked before that snapshot is taken:
-- pg_cron writing a run's end in it meanwhile made the prune's delete a serialization failure (seen once, in
-- the second pass on a filled database).
set transaction isolation level repeatable read;
lock table cron.job_run_details in exclusive mode;
select plan(8);

select (ops.health() -> 'dispatch' ->> 'refused_last_15_min')::int as refused_before,
       (ops.health() -> 'dispatch' ->> 'failed_last_15_min')::int as failed_before,
       (ops.health() -> 'dispatch' ->> 'queued_requests')::int as queued_before \gset

-- A webhook of the platform's, refused, another that failed, and one still queued.
select net.http_post(url := 'http://127.0.0.1:9/webhooks/order', body := '{}'::jsonb) as refused_webhook \gset
select net.http_post(url := 'http://127.0.0.1:9/webhooks/order', body := '{}'::jsonb) as failed_webhook \gset
select net.http_post(url := 'http://127.0.0.1:9/webhooks/order', body := '{}'::jsonb) as queued_webhook \gset
-- (Answered a little after the pipeline's below, so the last response health names must pass over them.)
insert into net._http_response (id, status_code, content, timed_out, created)
values (:refused_webhook, 404, 'no such route', false, now() + interval '1 second'),
       (:failed_webhook, 503, 'unavailable', false, now() + interval '1 second');

select is((ops.health() -> 'dispatch' ->> 'refused_last_15_min')::int, :refused_before,
  'a refusal of another pg_net caller''s request is not the pipeline''s');
select is((ops.health() -> 'dispatch' ->> 'failed_last_15_min')::int, :failed_before,
  'nor is its failure');
select is((ops.health() -> 'dispatch' ->> 'queued_requests')::int, :queued_before,
  'nor its request waiting in the queue');
select ok(not ((ops.health() -> 'problems') ? 'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET'),
  'and health does not send the operator to the pipeline''s secrets for it');

-- The pipeline's nudge for a booking the platform inserts, refused: a configuration problem of the pipeline's.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'W1', 4) is not null as tabled \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at) values (:'rid', 2, '2030-11-05 19:00+00')
returning id as bid \gset
reset role;
select q.id as nudge from net.http_request_queue q
 where q.id in (select p.id from private.pipeline_requests p where p.function_name = 'assignment-coordinator')
   and pg_catalog.convert_from(q.body, 'UTF8') like '%' || :'bid' || '%' \gset
insert into net._http_response (id, status_code, content, timed_out) values (:nudge, 401, '{"error": "unauthorized"}', false);

select is((ops.health() -> 'dispatch' ->> 'refused_last_15_min')::int, :refused_before + 1,
  'a refusal of the pipeline''s own nudge is counted');
select is(ops.health() ->> 'status', 'down', 'and health is down');
select is((ops.health() -> 'dispatch' ->> 'last_response_at')::timestamptz, now(),
  'the last response is the pipeline''s latest');

-- The nightly prune forgets the ids a day old (pg_net keeps a response 6 hours) once pg_net has taken them from
-- its queue, as its worker does when it sends one (20261231460000).
delete from net.http_request_queue where id = :nudge;
select (private.prune_old_rows(now() + interval '25 hours', null, false) ->> 'pipeline_requests')::int as pruned \gset
-- (Counted in a statement of its own: one statement does not see what a function it calls deleted.)
select ok(:pruned >= 1 and not exists (select 1 from private.pipeline_requests where id = :nudge),
  'the prune drops request ids older than a day');

select * from finish();
rollback;
