-- Health says when a function's newest answers all failed, when pg_net sends none of the pipeline's nudges,
-- and when begins give up on a restaurant's lock (20261229020000). Failing answers and lock waits are read a
-- day ahead, where only this file's rows fall in the 15 minutes health looks back; the queue at this moment.
begin;
-- One snapshot, so requests the running stack sends and answers meanwhile cannot change what is compared.
set transaction isolation level repeatable read;
select plan(12);

select now() + interval '1 day' as later \gset
create function pg_temp.problems(p_now timestamptz) returns text[] language sql as $$
  select array(select jsonb_array_elements_text(ops.health(p_now) -> 'problems'));
$$;
create function pg_temp.failing(p_now timestamptz) returns text[] language sql as $$
  select array(select p from unnest(pg_temp.problems(p_now)) p where p like 'the % function''s last % answers%');
$$;
-- A pipeline request of `p_function`, answered `p_status` (null: no answer in time) `p_before` ahead of `p_at`.
create function pg_temp.answered(p_function text, p_status integer, p_at timestamptz, p_before interval)
returns void language sql as $$
  with request as (
    insert into private.pipeline_requests (id, function_name, sent_at)
    values (nextval('net.http_request_queue_id_seq'), p_function, p_at - p_before - interval '1 second') returning id)
  insert into net._http_response (id, status_code, timed_out, created)
  select id, p_status, p_status is null, p_at - p_before from request;
$$;

-- Two failed answers, then the newest a success: nothing is failing now.
select pg_temp.answered('assignment-coordinator', 500, :'later', interval '40 seconds');
select pg_temp.answered('assignment-coordinator', null, :'later', interval '30 seconds');
select pg_temp.answered('assignment-coordinator', 200, :'later', interval '20 seconds');
select is(pg_temp.failing(:'later'), '{}'::text[], 'failures followed by a success are no problem');

-- Three failed answers in a row, the newest included.
select pg_temp.answered('assignment-coordinator', 502, :'later', interval '10 seconds');
select pg_temp.answered('assignment-coordinator', null, :'later', interval '5 seconds');
select is(pg_temp.failing(:'later'), '{}'::text[], 'two in a row are not yet');
select pg_temp.answered('assignment-coordinator', 503, :'later', interval '1 second');
select is(pg_temp.failing(:'later'),
  array['the assignment-coordinator function''s last 3 answers to the pipeline''s nudges failed (5xx, none within pg_net''s timeout, or no connection: see its logs, and its URL in Vault): until it answers, bookings are nudged again and go to review as coordinator_unreachable after 12 dispatches'],
  'three failed answers in a row, the newest included, are');
select is(ops.health(:'later') -> 'dispatch' -> 'answers_failing', '{"assignment-coordinator": 3}'::jsonb,
  'and health counts them');
-- Another pg_net caller's failures (a Database Webhook's) are not the pipeline's.
insert into net._http_response (id, status_code, timed_out, created)
select nextval('net.http_request_queue_id_seq'), 500, false, :'later'::timestamptz - interval '1 millisecond'
  from generate_series(1, 5);
select is(ops.health(:'later') -> 'dispatch' -> 'answers_failing', '{"assignment-coordinator": 3}'::jsonb,
  'another caller''s failures, newer still, are not counted');

-- The dispatcher's answers are its own: three failed among the coordinator's, each with its own remedy.
select pg_temp.answered('notification-dispatcher', 500, :'later', interval '50 seconds');
select pg_temp.answered('notification-dispatcher', 500, :'later', interval '45 seconds');
select pg_temp.answered('notification-dispatcher', null, :'later', interval '35 seconds');
select is(pg_temp.failing(:'later'),
  array['the assignment-coordinator function''s last 3 answers to the pipeline''s nudges failed (5xx, none within pg_net''s timeout, or no connection: see its logs, and its URL in Vault): until it answers, bookings are nudged again and go to review as coordinator_unreachable after 12 dispatches',
        'the notification-dispatcher function''s last 3 answers to the pipeline''s nudges failed (5xx, none within pg_net''s timeout, or no connection: see its logs, and its URL in Vault): guest messages wait, and are tried again for about five hours before they are dead'],
  'a function with fewer, older answers is judged by its own');

-- Begins giving up on the restaurant's lock: three in 15 minutes are a problem, a booking's lock taken is not.
select tests.create_restaurant('Held') as rid \gset
insert into public.observability_events (source, event_type, severity, context, restaurant_id, created_at)
select 'assignment.coordinator', 'coordinator.lock_contention', 'warning',
       jsonb_build_object('lock', lock, 'mode', 'v3'), :'rid', :'later'::timestamptz - interval '1 minute'
  from unnest(array['restaurant', 'restaurant', 'booking', 'booking', 'booking', 'lease']) lock;
select ok(not exists (select 1 from unnest(pg_temp.problems(:'later')) p where p like '% begins gave up waiting 5 s%'),
  'two waits for the restaurant''s lock, and a booking''s lock found taken, are no problem');
insert into public.observability_events (source, event_type, severity, context, restaurant_id, created_at)
values ('assignment.coordinator', 'coordinator.lock_contention', 'warning', '{"lock": "restaurant", "mode": "v3"}',
        :'rid', :'later'::timestamptz - interval '14 minutes');
select ok(exists (select 1 from unnest(pg_temp.problems(:'later')) p
                   where p like '3 begins gave up waiting 5 s for their restaurant''s lock in the last 15 minutes (restaurants: 1;%pg_stat_activity%'),
  'three in 15 minutes are, saying where to look');

-- A nudge pg_net has held for half a minute is no stall; one held for two minutes is.
insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
values ('POST', 'http://127.0.0.1:9/functions/v1/assignment-coordinator', '{}', null, 5000) returning id as young \gset
insert into private.pipeline_requests (id, function_name, sent_at) values (:young, 'assignment-coordinator', now() - interval '30 seconds');
select ok(not exists (select 1 from unnest(pg_temp.problems(now())) p where p like 'pg_net has sent none%'),
  'a nudge queued half a minute ago is no stall');
insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
values ('POST', 'http://127.0.0.1:9/functions/v1/assignment-coordinator', '{}', null, 5000) returning id as old \gset
insert into private.pipeline_requests (id, function_name, sent_at) values (:old, 'assignment-coordinator', now() - interval '2 minutes');
select ok(exists (select 1 from unnest(pg_temp.problems(now())) p
                   where p like 'pg_net has sent none of the pipeline''s nudges queued in the last 120 s (%net.worker_restart()%'),
  'one queued two minutes ago is, saying what to do');

-- The hour's reviews by reason: what drives the review rate.
select coalesce((ops.health() -> 'manual_review_last_hour' -> 'by_reason' ->> 'party_too_small')::int, 0) as small_before \gset
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as small \gset
select tests.force_state(:'small', 'manual_review', 'party_too_small: a party of 2 is below every table''s minimum');
select is((ops.health() -> 'manual_review_last_hour' -> 'by_reason' ->> 'party_too_small')::int, :small_before + 1,
  'the last hour''s reviews are counted by their reason code');

-- An open breaker holding a booking back is named with what to do.
select tests.create_booking(:'rid', 2, '2030-06-05 19:00+00') as held_back \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now()) on conflict (restaurant_id) do update set state = 'open', opened_at = now();
select ok(exists (select 1 from jsonb_array_elements_text(ops.health() -> 'problems') p
                   where p ~ '^open circuit breakers at [1-9][0-9]* restaurants, holding [1-9][0-9]* bookings back .*ops\.reset_circuit_breaker\(restaurant, actor, reason\)'),
  'an open breaker holding bookings back says how many, and what to do');

select * from finish();
rollback;
