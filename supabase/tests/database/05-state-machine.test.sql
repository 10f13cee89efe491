begin;
select plan((select count(*)::int from private.assignment_state_transitions) + 65);

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
    where c.to_state in ('capacity_verified', 'assignment_pending') and (b.next_attempt_at is null or b.next_attempt_at > now())),
  0, 'every booking that entered the queue, from wherever, is due at once');
select is(
  (select count(*)::int from cases c join public.bookings b on b.id = c.booking_id
    where c.to_state = 'assignment_in_progress' and (b.lease_token is null or b.lease_expires_at <= now()
                                                     or b.next_attempt_at is distinct from b.lease_expires_at)),
  0, 'a booking put in progress holds a lease and is due again when it runs out');
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
-- Even the owner, who may write history, moves the state only to where its last history row says.
insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, actor)
values (:'b', 'capacity_verified', 'assignment_pending', 3, 'owner');
select throws_ok(
  format($$update public.bookings set assignment_state = 'manual_review', assignment_state_version = 3,
                  manual_review_reason = 'test' where id = %L$$, :'b'),
  'AS004', null, 'a history row for another state does not open the guard');

-- The public RPC refuses states whose bookkeeping only the pipeline does.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as p \gset
select tests.force_state(:'p', 'assignment_pending');
select throws_ok(format('select public.transition_assignment_state(%L, %L, %s)', :'p', 'assignment_in_progress', tests.version_of(:'p')),
  'AS010', null, 'the public RPC cannot put a booking in progress without a lease and a slot');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as m \gset
select tests.force_state(:'m', 'manual_review', 'no_table_fits: test');
select throws_ok(format('select public.transition_assignment_state(%L, %L, %s)', :'m', 'assigned', tests.version_of(:'m')),
  'AS010', 'a booking becomes assigned only together with its tables', 'nor assign a booking without tables');
select throws_ok(format('select public.transition_assignment_state(%L, %L, %s)', :'m', 'confirmed', tests.version_of(:'m')),
  'AS010', null, 'nor confirm one');
select is((select array[assignment_state, assignment_state_version::text] from public.bookings where id = :'m'),
  array['manual_review', '2'], 'refusing left the booking as it was');
select throws_ok(format('select private.apply_assignment_transition(%L, %L, %s)', :'m', 'assigned', tests.version_of(:'m')),
  'AS010', null, 'no internal path assigns a booking that holds no tables either');

-- Back to the queue from manual review or confirmed: due at once, so the pipeline picks it up again.
update public.bookings set attempt_count = 5, dispatch_count = 12 where id = :'m';
select lives_ok(format('select public.transition_assignment_state(%L, %L, %s, %L)', :'m', 'assignment_pending', tests.version_of(:'m'), 'ops retry'),
  'manual_review → assignment_pending through the public RPC');
select ok((select next_attempt_at <= now() from public.bookings where id = :'m'), 'the booking is due at once');
select is((select array[attempt_count, dispatch_count] from public.bookings where id = :'m'), array[0, 0],
  'with a fresh attempt and dispatch budget');
select ok(:'m' = any(public.assignment_claim_due(1000, :'rid')), 'and the pipeline claims it');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as k \gset
select tests.force_state(:'k', 'confirmed');
select lives_ok(format('select public.transition_assignment_state(%L, %L, %s, %L)', :'k', 'assignment_pending', tests.version_of(:'k'), 'guest asked for the terrace'),
  'confirmed → assignment_pending through the public RPC');
select is((select array[status, (next_attempt_at <= now())::text] from public.bookings where id = :'k'), array['pending', 'true'],
  'a re-assigned booking is pending again and due at once');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'k' and released_at is null), 0,
  'and gave its tables up');

-- A booking put in progress by any path can be taken back by the sweeper when its worker disappears.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as q \gset
select tests.force_state(:'q', 'assignment_in_progress');
select ok((select lease_token is not null and lease_expires_at > now() from public.bookings where id = :'q'),
  'a booking in progress holds a lease');
select booking_id as running from cases where to_state = 'assignment_in_progress' \gset
select throws_like(format($$update public.bookings set lease_token = null, lease_expires_at = null where id = %L$$, :'running'),
  '%booking_holds_a_lease_exactly_while_in_progress%', 'a booking in progress cannot drop its lease');
select throws_like(format($$update public.bookings set lease_token = gen_random_uuid(), lease_expires_at = now() where id = %L$$, :'b'),
  '%booking_holds_a_lease_exactly_while_in_progress%', 'and no booking holds a lease outside assignment_in_progress');
select private.sweep(now() + interval '1 hour');
select is((select assignment_state from public.bookings where id = :'q'), 'assignment_pending',
  'once the lease has run out the sweeper puts it back in the queue');
select throws_like(format($$update public.bookings set next_attempt_at = null where id = %L$$, :'m'),
  '%booking_waiting_for_tables_is_due_for_an_attempt%', 'a booking waiting in the queue cannot be made never due');

-- status and assignment_state tell the same story.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as s1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as s2 \gset
select tests.force_state(:'s2', 'manual_review');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as s3 \gset
select tests.force_state(:'s3', 'confirmed');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as s4 \gset
select tests.force_state(:'s4', 'confirmed');
set local role service_role;
select throws_ok(format($$update public.bookings set status = 'confirmed' where id = %L$$, :'s1'),
  'AS011', null, 'a booking without confirmed tables cannot be marked confirmed');
select throws_ok(format($$update public.bookings set status = 'checked_in' where id = %L$$, :'s2'),
  'AS011', null, 'nor checked in from manual review');
select throws_ok(format($$update public.bookings set status = 'completed' where id = %L$$, :'s1'),
  'AS011', null, 'nor completed');
select throws_ok(format($$update public.bookings set status = 'cancelled' where id = %L$$, :'s1'),
  'AS011', null, 'a booking is cancelled through cancel_booking, not by its status');
select throws_ok(format($$update public.bookings set status = 'pending' where id = %L$$, :'s3'),
  'AS011', null, 'a confirmed booking goes back to pending only by being re-assigned');
select lives_ok(format($$update public.bookings set status = 'checked_in' where id = %L$$, :'s3'),
  'a confirmed booking can be checked in');
select lives_ok(format($$update public.bookings set status = 'checked_in' where id = %L$$, :'s4'),
  'another too');
select lives_ok(format($$update public.bookings set status = 'completed' where id = %L$$, :'s4'),
  'and completed');
reset role;
select lives_ok(format($$update public.bookings set party_size = 3 where id = %L$$, :'s3'),
  'a checked-in booking''s party may grow');
select is((select array[assignment_state, status] from public.bookings where id = :'s3'), array['confirmed', 'checked_in'],
  'and the party, already seated, stays checked in (33-an-arrived-party-keeps-its-tables)');
select lives_ok(format($$select public.cancel_booking(%L, 'guest called')$$, :'s2'), 'a booking in review can be cancelled');
select is((select array[assignment_state, status] from public.bookings where id = :'s2'), array['cancelled', 'cancelled'],
  'cancelled in both');
-- The constraint holds on its own, without the guard trigger's friendlier message.
alter table public.bookings disable trigger guard_assignment_state;
select throws_like(format($$update public.bookings set status = 'confirmed' where id = %L$$, :'s1'),
  '%booking_status_and_assignment_agree_on_confirmation%',
  'a check constraint makes confirmed-without-confirmed-tables impossible');
select throws_like(format($$update public.bookings set status = 'no_show' where id = %L$$, :'s1'),
  '%booking_status_and_assignment_agree_on_confirmation%', 'and a no-show too');
alter table public.bookings enable trigger guard_assignment_state;

-- The state machine is exactly the plan's: these 21 transitions, and every other pair of states refused (AS001)
-- from a booking really in the first state, so a row swapped in the table fails here.
create temp table plan_transitions (from_state text, to_state text);
insert into plan_transitions values
  ('created', 'capacity_verified'), ('created', 'manual_review'), ('created', 'cancelled'),
  ('capacity_verified', 'assignment_pending'), ('capacity_verified', 'manual_review'), ('capacity_verified', 'cancelled'),
  ('assignment_pending', 'assignment_in_progress'), ('assignment_pending', 'manual_review'), ('assignment_pending', 'cancelled'),
  ('assignment_in_progress', 'assigned'), ('assignment_in_progress', 'assignment_pending'),
  ('assignment_in_progress', 'manual_review'), ('assignment_in_progress', 'cancelled'),
  ('assigned', 'confirmed'), ('assigned', 'manual_review'), ('assigned', 'cancelled'),
  ('confirmed', 'assignment_pending'), ('confirmed', 'cancelled'),
  ('manual_review', 'assigned'), ('manual_review', 'assignment_pending'), ('manual_review', 'cancelled');
select set_eq($$select from_state, to_state from private.assignment_state_transitions$$,
              $$select from_state, to_state from plan_transitions$$, 'the legal transitions are exactly the plan''s 21');
create function pg_temp.illegal_pairs_not_refused() returns text[] language plpgsql as $$
declare
  states text[] := array['created', 'capacity_verified', 'assignment_pending', 'assignment_in_progress', 'assigned',
                         'confirmed', 'manual_review', 'cancelled'];
  f text;
  t text;
  b uuid;
  v integer;
  wrong text[] := '{}';
begin
  foreach f in array states loop
    b := tests.create_booking(tests.create_restaurant(), 2, '2030-01-07 19:00+00');
    perform tests.force_state(b, f);
    v := tests.version_of(b);
    foreach t in array states loop
      continue when exists (select 1 from plan_transitions p where p.from_state = f and p.to_state = t);
      begin
        perform private.apply_assignment_transition(b, t, v, 'test');
        wrong := wrong || (f || ' -> ' || t || ' allowed');
      exception when sqlstate 'AS001' then
        null;
      when others then
        wrong := wrong || (f || ' -> ' || t || ' ' || sqlstate);
      end;
    end loop;
  end loop;
  return wrong;
end $$;
select is(pg_temp.illegal_pairs_not_refused(), '{}'::text[],
  'every other pair of the 8 states (43, the same state included) is refused with AS001');

select * from finish();
rollback;
