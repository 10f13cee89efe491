-- The lock wait percentile counts the waits that ran out (20261228170000): a begin that gave up on the
-- restaurant's lock after the lease's 5 s measured no wait, so ops.pipeline_metrics' lock_wait_p95_ms, the
-- plan's "lock acquisition P95 < 100 ms" gate, passed while begins timed out. Read as an operator's tool reads
-- it (service_role).
begin;
select plan(3);

select tests.run_v3();
select tests.create_restaurant('Held') as rid \gset
select tests.create_booking(:'rid', 2, '2030-06-07 19:00+00') as bid \gset
-- Nineteen begins that waited a millisecond for each lock, and three that gave up on the restaurant's.
insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
select 'assignment.coordinator', 'coordinator.start', 'info',
       jsonb_build_object('lock_wait_ms', 1, 'slot_wait_ms', 1, 'attempt', 1, 'trigger', 'dispatch'), :'rid', :'bid'
  from generate_series(1, 19);
insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
select 'assignment.coordinator', 'coordinator.lock_contention', 'warning',
       jsonb_build_object('lock', 'restaurant', 'trigger', 'dispatch'), :'rid', :'bid'
  from generate_series(1, 3);
-- A booking's own lock found busy is no wait at all: not counted.
insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
values ('assignment.coordinator', 'coordinator.lock_contention', 'warning',
        jsonb_build_object('lock', 'booking', 'trigger', 'dispatch', 'slot_wait_ms', 1), :'rid', :'bid');

set local role service_role;
create temp table m as select ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') as v;
select is((select (v ->> 'lock_wait_p95_ms')::numeric from m), 5000.00,
  'three waits that ran out among 41 put the p95 at the 5 s they waited');
drop table m;
create temp table m as select ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid', 'v3') as v;
select is((select (v ->> 'lock_wait_p95_ms')::numeric from m), 5000.00, 'for the V3 bookings too');
reset role;
delete from public.observability_events where restaurant_id = :'rid' and event_type = 'coordinator.lock_contention';
set local role service_role;
select is((select (ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 second', :'rid') ->> 'lock_wait_p95_ms')::numeric),
  1.00, 'without them, the waits measured');
reset role;

select * from finish();
rollback;
