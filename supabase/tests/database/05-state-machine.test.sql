begin;
select plan((select count(*)::int from private.assignment_state_transitions) + 19);

select tests.create_restaurant() as rid \gset

-- One booking per legal transition, placed in the transition's starting state. Each gets its own
-- restaurant so the per-restaurant in-progress limit does not interfere.
create temp table cases as
  select t.from_state, t.to_state, tests.create_booking(tests.create_restaurant(), 2, '2030-01-07 19:00+00') as booking_id
    from private.assignment_state_transitions t;
select tests.force_state(booking_id, from_state) from cases;

select lives_ok(
  format('select public.transition_assignment_state(%L, %L, %s, %L)', booking_id, to_state, tests.version_of(booking_id), 'test'),
  format('%s → %s is allowed', from_state, to_state))
from cases order by from_state, to_state;

select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where b.assignment_state <> c.to_state or b.assignment_state_version <> 2),
  0, 'every legal transition moved its booking and bumped the version by exactly one');
select is(
  (select count(*)::int from cases c
    where (select count(*) from public.booking_assignment_state_history h
            where h.booking_id = c.booking_id and h.from_state = c.from_state and h.to_state = c.to_state
              and h.version = 2) <> 1),
  0, 'each transition wrote exactly one history row');
select is(
  (select count(*)::int from cases c
    where (select count(*) from public.observability_events e
            where e.booking_id = c.booking_id and e.source = 'assignment.state_machine'
              and e.event_type = 'booking.assignment_state_transition'
              and e.context ->> 'from' = c.from_state and e.context ->> 'to' = c.to_state
              and (e.context ->> 'version')::int = 2 and e.context ? 'metadata') <> 1),
  0, 'each transition wrote exactly one state-machine event with {from, to, version, metadata}');
select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where (c.to_state = 'confirmed') <> (b.status = 'confirmed')
       or (c.to_state = 'cancelled') <> (b.status = 'cancelled')),
  0, 'status follows the assignment state into confirmed and cancelled');

-- Illegal transitions: right SQLSTATE, nothing written.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'confirmed'),
  'AS001', null, 'created → confirmed skips the pipeline and is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'assigned'),
  'AS001', null, 'created → assigned is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'created'),
  'AS001', null, 'a transition to the same state is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'flying'),
  'AS001', null, 'an unknown state is refused');
select is((select count(*)::int from public.booking_assignment_state_history where booking_id = :'b'), 0,
  'refused transitions wrote no history');
select is((select count(*)::int from public.observability_events where booking_id = :'b'), 0,
  'refused transitions wrote no events');
select is(tests.version_of(:'b'), 1, 'refused transitions left the version alone');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as c \gset
select tests.force_state(:'c', 'cancelled');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'c', 'assignment_pending'),
  'AS001', null, 'cancelled is terminal');
select tests.force_state(:'c', 'manual_review');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'c', 'confirmed'),
  'AS001', null, 'manual_review → confirmed must go through assigned');

-- Stale versions, unknown bookings, missing reasons.
select lives_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'capacity_verified'), 'version 1 → 2');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'assignment_pending'),
  'AS002', null, 'a stale expected version is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', gen_random_uuid(), 'capacity_verified'),
  'AS003', null, 'an unknown booking is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 2)', :'b', 'manual_review'),
  'AS005', null, 'manual review needs a reason');

-- Direct writes to the state are rejected, whoever makes them.
select throws_ok(format($$update public.bookings set assignment_state = 'confirmed' where id = %L$$, :'b'),
  'AS004', null, 'a direct UPDATE of assignment_state is rejected');
select throws_ok(format($$update public.bookings set assignment_state_version = 9 where id = %L$$, :'b'),
  'AS004', null, 'a direct UPDATE of the version is rejected');

select * from finish();
rollback;
