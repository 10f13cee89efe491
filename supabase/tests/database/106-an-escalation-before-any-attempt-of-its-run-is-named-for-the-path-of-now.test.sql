-- An escalation of a booking no attempt of whose run began is named for the path its restaurant runs now
-- (20261228150000), not for the path of the booking's last lease: a booking queued again after a change, and
-- one a lease only deferred, whose dispatches then ran out after the kill switch was pulled. Called as the
-- platform and the coordinator call (service_role), the kill switch pulled through ops.
begin;
select plan(7);

-- No deployment's flags heard yet: V3 allowed.
select tests.run_v3();

select tests.create_restaurant('Changed') as rid \gset
select tests.add_table(:'rid', 'C1', 4) as c1 \gset
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as bid \gset

set local role service_role;
select public.assignment_lease(:'bid', 'dispatch') as leased \gset
select public.assignment_commit(:'bid', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'c1'::uuid], 'scarcity_fit',
                                10, '{}'::jsonb) ->> 'outcome' as committed \gset
reset role;
select is(array[:'leased'::jsonb ->> 'mode', :'committed'::text], array['v3', 'confirmed'], 'confirmed by V3');

-- The function fails; the operator pulls the kill switch; the guest moves the booking an hour on.
set local role service_role;
select ops.set_kill_switch(true, 'ana', 'the function fails') is not null as pulled \gset
update public.bookings set start_at = start_at + interval '1 hour' where id = :'bid';
reset role;
select is((select array[assignment_state, attempt_count::text] from public.bookings where id = :'bid'),
  array['assignment_pending', '0'], 'queued again, no attempt of its new run begun');

-- No dispatch of it reaches an attempt; the sweeper escalates it.
update public.bookings set next_attempt_at = now() - interval '1 second',
       dispatch_count = (private.settings_for(null)).max_dispatches where id = :'bid';
select private.sweep(now() + interval '1 minute') is not null as swept \gset
select is((select assignment_state from public.bookings where id = :'bid'), 'manual_review', 'escalated');
select is((select array_agg(e.source || ' ' || e.event_type order by e.id) from public.observability_events e
            where e.booking_id = :'bid' and e.created_at >= now() and e.event_type in ('coordinator.manual_review', 'auto_assign.failed')),
  array['auto_assign auto_assign.failed'], 'named for the legacy path the kill switch put the restaurant on');
select max(q.id) as requeued_at from public.observability_events q
 where q.booking_id = :'bid' and q.event_type = 'booking.assignment_state_transition'
   and q.context ->> 'from' = 'confirmed' \gset
select is((select count(*)::int from public.observability_events e
            where e.booking_id = :'bid' and e.source = 'assignment.coordinator' and e.id > :'requeued_at'::bigint), 0,
  'and nothing since it was queued again (its step from confirmed is recorded) is a V3 event');

-- A booking whose only lease found its breaker open: deferred by a V3 lease, no attempt begun.
select tests.create_booking(:'rid', 2, '2030-06-04 21:00+00') as deferred \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now())
on conflict (restaurant_id) do update set state = 'open', consecutive_failures = 5, opened_at = now();
set local role service_role;
select ops.set_kill_switch(false, 'ana', 'trying again') is not null as released \gset
select public.assignment_lease(:'deferred', 'dispatch') as deferral \gset
select ops.set_kill_switch(true, 'ana', 'the function fails again') is not null as pulled_again \gset
reset role;
select is(array[:'deferral'::jsonb ->> 'outcome', (select assignment_mode from public.bookings where id = :'deferred')],
  array['circuit_open', 'v3'], 'deferred by a V3 lease');
update public.bookings set next_attempt_at = now() - interval '1 second',
       dispatch_count = (private.settings_for(null)).max_dispatches where id = :'deferred';
select private.sweep(now() + interval '2 minutes') is not null as swept_again \gset
select is((select array_agg(e.source || ' ' || e.event_type order by e.id) from public.observability_events e
            where e.booking_id = :'deferred' and e.event_type in ('coordinator.manual_review', 'auto_assign.failed')),
  array['auto_assign auto_assign.failed'], 'its escalation too is named for the legacy path');

select * from finish();
rollback;
