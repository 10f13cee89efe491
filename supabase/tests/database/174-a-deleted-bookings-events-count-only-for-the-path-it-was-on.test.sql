-- A deleted booking's events count only for the path it was on (20261231520000). An event's reference to its
-- booking is set to null when the booking is deleted; ops.pipeline_metrics asked for one mode counted such
-- events for every restaurant with a booking of that mode in the window, so a deleted legacy booking's error
-- showed in the V3 restaurants' gate (scripts/verify-rollout asks for v3), and a V3 one's in the legacy
-- metrics. The bookings are deleted and the metrics read as service_role, as a platform and the rollout script
-- do; the modes and events are staged as the owner, as the pipeline writes them.
begin;
select plan(6);

-- One restaurant ran both paths in the window: a booking on each, and one on each that a platform deletes.
select tests.create_restaurant('Both paths') as r \gset
select tests.create_booking(:'r', 2, '2030-12-02 19:00+00') as legacy \gset
select tests.create_booking(:'r', 2, '2030-12-02 19:15+00') as v3 \gset
select tests.create_booking(:'r', 2, '2030-12-02 19:30+00') as gone_legacy \gset
select tests.create_booking(:'r', 2, '2030-12-02 19:45+00') as gone_v3 \gset
update public.bookings set assignment_mode = 'legacy' where id in (:'legacy', :'gone_legacy');
update public.bookings set assignment_mode = 'v3' where id in (:'v3', :'gone_v3');
select private.record_pipeline_event('legacy', 'coordinator.error', 'error', '{"kind": "error"}', :'r', :'gone_legacy');
select private.record_pipeline_event('v3', 'coordinator.error', 'error', '{"kind": "error"}', :'r', :'gone_v3');
select private.record_event('assignment.state_machine', 'booking.assignment_state_transition', 'info',
  '{"from": "created", "to": "capacity_verified", "version": 2}', :'r', :'gone_v3');
-- And an operator's event about no booking, which names no path.
select private.record_event('assignment.ops', 'ops.messages_resent', 'info', '{"queued": 0}', :'r', null);

set local role service_role;
delete from public.bookings where id in (:'gone_legacy', :'gone_v3');
select ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'r', 'legacy') as legacy_m \gset
select ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'r', 'v3') as v3_m \gset
reset role;

select is((select count(*)::int from public.observability_events where restaurant_id = :'r' and booking_id is null), 4,
  'the deleted bookings'' three events are kept, about no booking, beside the operator''s');
select is((:'v3_m'::jsonb ->> 'coordinator_errors')::int, 1,
  'the V3 metrics count the deleted V3 booking''s error, not the legacy one''s');
select is((:'legacy_m'::jsonb ->> 'coordinator_errors')::int, 1,
  'the legacy metrics count the deleted legacy booking''s error, not the V3 one''s');
select is((:'legacy_m'::jsonb -> 'events' ->> 'state_transitions')::int, 0,
  'neither counts a deleted booking''s transition, which is of no booking of the window now');
select is((:'v3_m'::jsonb -> 'events' ->> 'state_transitions')::int, 0, 'nor does the V3 one');
select is(array[(:'legacy_m'::jsonb -> 'events' ->> 'total')::int, (:'v3_m'::jsonb -> 'events' ->> 'total')::int],
  array[2, 2], 'the operator''s event, naming no path, counts for both as before');

select * from finish();
rollback;
