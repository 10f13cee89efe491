begin;
select plan((select count(*)::int from private.assignment_state_transitions) + 29);

select tests.create_restaurant() as rid \gset

-- One booking per legal transition, placed in the transition's starting state (through the state machine
-- itself), then moved through the internal transition function every pipeline RPC uses. Each gets its own
-- restaurant so the per-restaurant in-progress limit does not interfere.
create temp table cases as
  select t.from_state, t.to_state, tests.create_booking(tests.create_restaurant(), 2, '2030-01-07 19:00+00') as booking_id,
         null::integer as v0
    from private.assignment_state_transitions t;
select tests.force_state(booking_id, from_state) from cases;
update cases set v0 = tests.version_of(booking_id);
-- A booking is assigned only together with its tables.
select tests.give_table(booking_id) from cases
 where private.state_holds_tables(to_state) and not private.state_holds_tables(from_state);

select lives_ok(
  format('select private.apply_assignment_transition(%L, %L, %s, %L)', booking_id, to_state, v0, 'test'),
  format('%s → %s is allowed', from_state, to_state))
from cases order by from_state, to_state;

select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where b.assignment_state <> c.to_state or b.assignment_state_version <> c.v0 + 1),
  0, 'every legal transition moved its booking and bumped the version by exactly one');
select is(
  (select count(*)::int from cases c
    where (select count(*) from public.booking_assignment_state_history h
            where h.booking_id = c.booking_id and h.from_state = c.from_state and h.to_state = c.to_state
              and h.version = c.v0 + 1) <> 1),
  0, 'each transition wrote exactly one history row');
select is(
  (select count(*)::int from cases c
    where (select count(*) from public.observability_events e
            where e.booking_id = c.booking_id and e.source = 'assignment.state_machine'
              and e.event_type = 'booking.assignment_state_transition'
              and e.context ->> 'from' = c.from_state and e.context ->> 'to' = c.to_state
              and (e.context ->> 'version')::int = c.v0 + 1 and e.context ? 'metadata') <> 1),
  0, 'each transition wrote exactly one state-machine event with {from, to, version, metadata}');
select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where (c.to_state = 'confirmed') <> (b.status = 'confirmed')
       or (c.to_state = 'cancelled') <> (b.status = 'cancelled')),
  0, 'status follows the assignment state into confirmed and cancelled');
select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where c.to_state <> 'assignment_in_progress' and b.lease_token is not null),
  0, 'leaving assignment_in_progress gives the lease up');
select is(
  (select count(*)::int from cases c
    where private.state_holds_tables(c.from_state) and not private.state_holds_tables(c.to_state)
      and exists (select 1 from public.booking_table_assignments a where a.booking_id = c.booking_id and a.released_at is null)),
  0, 'leaving assigned or confirmed released the tables');

-- Illegal transitions: right SQLSTATE, nothing written.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select throws_ok(format('select private.apply_assignment_transition(%L, %L, 1)', :'b', 'confirmed'),
  'AS001', null, 'created → confirmed skips the pipeline and is refused');
select throws_ok(format('select private.apply_assignment_transition(%L, %L, 1)', :'b', 'assigned'),
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
select throws_ok(format('select public.transition_assignment_state(%L, %L, %s)', :'c', 'assignment_pending', tests.version_of(:'c')),
  'AS001', null, 'cancelled is terminal');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as r \gset
select tests.force_state(:'r', 'manual_review');
select tests.give_table(:'r');
select throws_ok(format('select private.apply_assignment_transition(%L, %L, %s)', :'r', 'confirmed', tests.version_of(:'r')),
  'AS001', null, 'manual_review → confirmed must go through assigned');

-- Stale versions, unknown bookings, missing reasons.
select lives_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'capacity_verified'), 'version 1 → 2');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', :'b', 'assignment_pending'),
  'AS002', null, 'a stale expected version is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 1)', gen_random_uuid(), 'capacity_verified'),
  'AS003', null, 'an unknown booking is refused');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 2)', :'b', 'manual_review'),
  'AS005', null, 'manual review needs a reason');
select throws_ok(format('select public.transition_assignment_state(%L, %L, 2, %L)', :'b', 'manual_review', '   '),
  'AS005', null, 'a blank reason is no reason');

-- Direct writes to the state are rejected, whoever makes them and whatever session settings they set.
select throws_ok(format($$update public.bookings set assignment_state = 'confirmed' where id = %L$$, :'b'),
  'AS004', null, 'a direct UPDATE of assignment_state is rejected');
select throws_ok(format($$update public.bookings set assignment_state_version = 9 where id = %L$$, :'b'),
  'AS004', null, 'a direct UPDATE of the version is rejected');
select set_config('private.transitioning_booking', :'b', true);
select throws_ok(format($$update public.bookings set assignment_state = 'assignment_pending' where id = %L$$, :'b'),
  'AS004', null, 'the session setting that used to open the guard opens nothing');
select throws_ok(
  format($$update public.bookings set assignment_state = 'assignment_pending', assignment_state_version = 3 where id = %L$$, :'b'),
  'AS004', null, 'nor does moving the version by exactly one: there is no history row for it');
set local role service_role;
select set_config('private.transitioning_booking', :'b', true);
select throws_ok(
  format($$update public.bookings set assignment_state = 'assignment_pending', assignment_state_version = 3 where id = %L$$, :'b'),
  'AS004', null, 'service_role cannot bypass the guard with the session setting either');
select throws_ok(
  format($$insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, actor)
           values (%L, 'capacity_verified', 'assignment_pending', 3, 'forger')$$, :'b'),
  '42501', null, 'and cannot write the history row the guard asks for');
reset role;
select is((select array[assignment_state, assignment_state_version::text] from public.bookings where id = :'b'),
  array['capacity_verified', '2'], 'the booking is where the last real transition left it');
select is((select count(*)::int from public.booking_assignment_state_history where booking_id = :'b'), 1,
  'with the one history row of that transition');
select ok(not has_table_privilege('service_role', 'public.booking_assignment_state_history', 'INSERT')
          and not has_table_privilege('anon', 'public.booking_assignment_state_history', 'INSERT')
          and not has_table_privilege('authenticated', 'public.booking_assignment_state_history', 'INSERT'),
  'no API role may insert history');

select * from finish();
rollback;
