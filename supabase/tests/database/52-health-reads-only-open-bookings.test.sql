begin;
-- One snapshot for the whole file: on a database other tests filled, the running pipeline may settle a booking
-- they left queued between two health checks below, which would change the counts they compare.
set transaction isolation level repeatable read;
select plan(16);

-- The health check and the stuck-bookings alert read open bookings through an index, not every booking ever
-- made; the rollout gates count confirmations as the guest saw them (20261220010000).

-- The state lists the index conditions use are the ones the helpers answer from, for every state there is.
select is((select array_agg(s order by s) filter (where private.is_queued(s)) from (
             select from_state as s from private.assignment_state_transitions
             union select to_state from private.assignment_state_transitions) x),
  (select array_agg(s order by s) from unnest(private.queued_states()) s),
  'queued_states() is what is_queued() says');
select is((select array_agg(s order by s) filter (where private.is_unsettled(s)) from (
             select from_state as s from private.assignment_state_transitions
             union select to_state from private.assignment_state_transitions) x),
  (select array_agg(s order by s) from unnest(private.unsettled_states()) s),
  'unsettled_states() is what is_unsettled() says');

-- With sequential scans ruled out, a predicate the planner cannot see into still reads the whole index
-- (a filter on every entry); the folded list is an index condition.
create function pg_temp.plan(p_query text) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  set local enable_seqscan = off;
  for line in execute 'explain ' || p_query loop
    plan := plan || line || E'\n';
  end loop;
  reset enable_seqscan;
  return plan;
end $$;
select matches(pg_temp.plan('select count(*) from ops.stuck_bookings'),
  'Index Cond: \(assignment_state = ANY',
  'the stuck-bookings alert finds open bookings by index');
select matches(pg_temp.plan('select count(*) from public.bookings where assignment_state = any(private.queued_states())'),
  'Index Cond: \(assignment_state = ANY',
  'as does the queue count ops.health makes');
select matches(pg_temp.plan('select count(*) from public.notification_outbox o where o.status = ''dead'''),
  'notification_outbox_dead_idx', 'dead messages are counted by their own index');
select matches(pg_temp.plan('select count(*) from public.notification_outbox o where o.status in (''pending'', ''sending'')'),
  'notification_outbox_due_idx', 'and messages waiting to go out by the index of those due');

-- The counts stay what they were.
select tests.create_restaurant('Health') as rid \gset
select tests.add_table(:'rid', 'H1', 4);
select (ops.health() ->> 'queue_depth')::int as queued_before, (ops.health() ->> 'stuck')::int as stuck_before \gset
select tests.create_booking(:'rid', 2, '2030-09-01 19:00+00') as fresh \gset
select tests.create_booking(:'rid', 2, '2030-09-01 20:00+00') as pending \gset
select tests.force_state(:'pending', 'assignment_pending');
-- Its stay began three hours ago, so that it can be a no-show below.
select tests.create_booking(:'rid', 2, now() - interval '3 hours') as done \gset
select tests.force_state(:'done', 'confirmed');
select is((ops.health() ->> 'queue_depth')::int - :queued_before, 2, 'the health check counts the queued bookings');
-- Without progress for 11 minutes (updated_at is the pipeline's: set past its trigger).
set local session_replication_role = replica;
update public.bookings set updated_at = now() - interval '11 minutes' where id in (:'pending', :'done');
reset session_replication_role;
select is((ops.health() ->> 'stuck')::int - :stuck_before, 1, 'and only the open one of those without progress as stuck');

-- Confirmations as the guest saw them. The confirmed booking's first message was superseded by a second
-- confirmation (it waited through an outage and the booking changed before it went out): one e-mail.
select (ops.health() -> 'notifications' ->> 'dead')::int as dead_before \gset
update public.notification_outbox set status = 'superseded' where booking_id = :'done';
insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, status, sent_at)
values (:'done', :'rid', 'booking_confirmed', 2, 'health-test-2', 'sent', now());
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') ->> 'duplicate_confirmations')::int,
  0, 'a superseded confirmation and the one that went out are not a duplicate');
insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, status, sent_at)
values (:'done', :'rid', 'booking_confirmed', 3, 'health-test-3', 'sent', now());
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') ->> 'duplicate_confirmations')::int,
  1, 'two that went out are');
insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, status)
values (:'done', :'rid', 'booking_changed', 4, 'health-test-4', 'dead');
select is((ops.health() -> 'notifications' ->> 'dead')::int - :dead_before, 1, 'the health check counts the dead message');

-- A guest who did not turn up was confirmed.
update public.bookings set status = 'no_show' where id = :'done';
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') ->> 'confirmed')::int,
  1, 'a no-show counts as confirmed');
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') ->> 'confirmation_rate_pct')::numeric,
  33.33, 'and the rate is one of the three bookings not cancelled');

-- As the Data API's service role reads them (the view runs as its reader, so it needs the state list's grant).
set local role service_role;
select is((ops.health() ->> 'queue_depth')::int - :queued_before, 2, 'service_role sees the same queue');
select is((select array_agg(booking_id) from ops.stuck_bookings where booking_id in (:'pending', :'done')),
  array[:'pending'::uuid], 'and the same stuck booking');
select is((ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') ->> 'confirmed')::int,
  1, 'and the same metrics');
reset role;

select * from finish();
rollback;
