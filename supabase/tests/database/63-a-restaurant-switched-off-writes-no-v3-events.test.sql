begin;
select plan(6);

-- A booking at a restaurant switched off goes to manual review under the rollout's name, not V3's: the plan's
-- shadow-phase check (no assignment.coordinator events) and V3's manual-review rate never see it.
select tests.create_restaurant() as off_rid \gset
select tests.add_table(:'off_rid', 'T1', 4);
select ops.set_restaurant_mode(:'off_rid', 'off', 'ana', 'refurbishment');
select tests.create_booking(:'off_rid', 2, '2030-01-07 19:00+00') as b \gset
set local role service_role;
select is(public.assignment_lease(:'b') ->> 'outcome', 'manual_review', 'the booking goes to manual review');
reset role;
select is((select array_agg(source || ' ' || event_type order by id) from public.observability_events
            where booking_id = :'b' and source <> 'assignment.state_machine'),
  array['assignment.rollout rollout.manual_review'], 'recorded as rollout.manual_review');
select is((select count(*)::int from public.observability_events
            where restaurant_id = :'off_rid' and source = 'assignment.coordinator'), 0, 'and nothing as V3');
select is((select context ->> 'mode' from public.observability_events where booking_id = :'b'
            and event_type = 'rollout.manual_review'), 'off', 'its mode is in the event');

-- The other paths keep their names.
select is((select array_agg(n.source || ' ' || n.event_type order by n.source) from (values ('v3'), ('legacy'), ('shadow')) m(mode),
                lateral private.pipeline_event_name(m.mode, 'coordinator.manual_review') n),
  array['assignment.coordinator coordinator.manual_review', 'auto_assign auto_assign.failed', 'auto_assign auto_assign.failed'],
  'V3 writes coordinator.*, legacy and shadow auto_assign.*');
select is((select n.source || ' ' || n.event_type from private.pipeline_event_name('off', 'coordinator.circuit_reset') n),
  'assignment.rollout rollout.circuit_reset', 'a breaker reset at a restaurant switched off too');

select * from finish();
rollback;
