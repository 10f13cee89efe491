-- A booking the sweeper escalates while pg_net sends nothing says so (20261228020000): its nudges were
-- queued but never sent, so the functions' logs the old reason pointed at hold nothing.
begin;
select plan(4);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'N1', 4) is not null as tabled \gset
select tests.create_booking(:'rid', 2, '2030-11-06 19:00+00') as bid \gset
-- Dispatched as often as it may be, due again, and no attempt ever began.
update public.bookings set next_attempt_at = now() - interval '1 second',
       dispatch_count = (private.settings_for(null)).max_dispatches where id = :'bid';

savepoint stalled;
-- A nudge of the pipeline's queued two minutes ago and still in pg_net's queue: its worker sends nothing.
with queued as (
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', 'http://127.0.0.1:9/functions/v1/assignment-coordinator', '{}', convert_to('{}', 'UTF8'), 5000)
  returning id)
insert into private.pipeline_requests (id, function_name, sent_at)
select id, 'assignment-coordinator', now() - interval '2 minutes' from queued;
select private.sweep(now() + interval '1 minute') is not null as swept \gset
select manual_review_reason as reason_stalled from public.bookings where id = :'bid' \gset
select e.context ->> 'nudges_stuck_in_pg_net' as stuck_flag from public.observability_events e
 where e.booking_id = :'bid' and e.context ? 'nudges_stuck_in_pg_net' \gset
rollback to savepoint stalled;

-- pg_net sending: none of the pipeline's nudges waits in its queue (whatever this database's pipeline is doing).
delete from private.pipeline_requests p where exists (select 1 from net.http_request_queue q where q.id = p.id);
select private.sweep(now() + interval '1 minute') is not null as swept \gset
select manual_review_reason as reason_sending from public.bookings where id = :'bid' \gset

select alike(:'reason_stalled'::text,
  'coordinator_unreachable: dispatched 12 times since % without an attempt beginning (pg_net has not sent the pipeline''s nudges, some queued over a minute ago: its worker is down or stalled; select net.worker_restart(), then retry the bookings)',
  'with pg_net sending nothing, the reason says so and what to do');
select is(:'stuck_flag'::text, 'true', 'and the escalation event says the nudges were stuck');
select alike(:'reason_sending'::text,
  'coordinator_unreachable: dispatched 12 times since % without an attempt beginning (the coordinator did not answer, or its assignment_begin failed: see the functions'' logs)',
  'with pg_net sending, the reason points at the functions');
select is((select e.context ->> 'nudges_stuck_in_pg_net' from public.observability_events e
            where e.booking_id = :'bid' and e.context ? 'nudges_stuck_in_pg_net'), 'false',
  'and the event says they were not');

select * from finish();
rollback;
