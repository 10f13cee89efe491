begin;
select plan(38);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset

-- A walk: several legal steps in one UPDATE, each with its own history row, event and version.
select is(private.walk_assignment_states(:'b', array['capacity_verified', 'assignment_pending', 'assignment_in_progress'],
                                         1, null, array['{"trigger": "test"}'::jsonb, '{}', '{"attempt": 1}'],
                                         'coordinator', p_count_attempt => true),
          4, 'a walk of three steps moves the version by three');
select results_eq(format($$select from_state, to_state, version from public.booking_assignment_state_history
                            where booking_id = %L order by version$$, :'b'),
  $$values ('created', 'capacity_verified', 2), ('capacity_verified', 'assignment_pending', 3),
           ('assignment_pending', 'assignment_in_progress', 4)$$,
  'one history row per step, in order');
select results_eq(format($$select context ->> 'from', context ->> 'to', (context ->> 'version')::integer, context -> 'metadata'
                             from public.observability_events
                            where booking_id = %L and event_type = 'booking.assignment_state_transition' order by created_at, (context ->> 'version')::integer$$, :'b'),
  $$values ('created', 'capacity_verified', 2, '{"trigger": "test"}'::jsonb),
           ('capacity_verified', 'assignment_pending', 3, '{}'::jsonb),
           ('assignment_pending', 'assignment_in_progress', 4, '{"attempt": 1}'::jsonb)$$,
  'one transition event per step, each with its own metadata');
select results_eq(format($$select assignment_state, attempt_count, lease_token is not null, next_attempt_at = lease_expires_at
                             from public.bookings where id = %L$$, :'b'),
  $$values ('assignment_in_progress', 1, true, true)$$,
  'the booking ends with the bookkeeping of the state it ends in, and the attempt counted');

select tests.create_booking(:'rid', 2, '2030-01-08 19:00+00') as b2 \gset
select throws_ok(format($$select private.walk_assignment_states(%L, array['capacity_verified', 'assignment_in_progress'], 1)$$, :'b2'),
  'AS001', null, 'a walk with an illegal step is refused');
select is((select count(*)::integer from public.booking_assignment_state_history where booking_id = :'b2'), 0,
  'and writes no history');
select is((select assignment_state_version from public.bookings where id = :'b2'), 1, 'nor moves the booking');
select throws_ok(format($$select private.walk_assignment_states(%L, array['capacity_verified'], 1, null, array['{}', '{}']::jsonb[])$$, :'b2'),
  'AS005', null, 'a walk takes at most one metadata object per step');
select throws_ok(format($$select private.walk_assignment_states(%L, array['capacity_verified', 'assignment_pending'], 1, null, array['{}', '{"guest_name": "Ada"}']::jsonb[])$$, :'b2'),
  'AS005', null, 'no step''s metadata may carry personal data');

-- The guard: a jump of two versions needs both history rows, whoever writes it.
select throws_ok(format($$update public.bookings set assignment_state = 'assignment_pending', assignment_state_version = 3 where id = %L$$, :'b2'),
  'AS004', null, 'a direct UPDATE jumping two steps without history is refused');
set local role service_role;
select throws_ok(format($$update public.bookings set assignment_state = 'assignment_pending', assignment_state_version = 3 where id = %L$$, :'b2'),
  'AS004', null, 'so is the same UPDATE from the Data API''s role');
reset role;
select lives_ok(format($$select private.walk_assignment_states(%L, array['capacity_verified', 'assignment_pending'], 1)$$, :'b2'),
  'the same jump through a walk is accepted');

-- The personal-data check of JSON: the same verdict as one check per key and per string.
select ok(not private.jsonb_has_personal_data('{"a": "1234", "b": "5678"}'), 'short numbers in two strings are not joined into a phone number');
select ok(not private.jsonb_has_personal_data('{"a": ["2026-12-01", "0.25"], "n": 12345678901}'), 'dates, decimals and JSON numbers are not personal data');
select ok(private.jsonb_has_personal_data('{"x": {"gu-est_Name": "a"}}'), 'a key naming a guest field is found at any depth, separators ignored');
select ok(private.jsonb_has_personal_data('{"guest/name": 1}'), 'also when the key itself holds a slash');
select ok(not private.jsonb_has_personal_data('{"user name": 1, "names": 2}'), 'keys that only contain such a word are not flagged');
select ok(private.jsonb_has_personal_data('{"a": [1, {"b": "write to ada@example.com"}]}'), 'an e-mail address in a nested string is found');
select ok(private.jsonb_has_personal_data('{"a": "call +44 20 7946 0958"}'), 'so is a phone number');
select ok(private.jsonb_has_personal_data('{"a": "０２０ ７９４６ ０９５８"}'), 'also in full-width digits');

-- A freed slot wakes the longest-waiting booking instead of letting it poll.
select tests.create_restaurant('One slot') as r1 \gset
select tests.add_table(:'r1', 'S1', 4) as s1 \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r1', 1);
select tests.create_booking(:'r1', 2, '2030-01-07 19:00+00') as first \gset
select tests.create_booking(:'r1', 2, '2030-01-07 20:00+00') as second \gset
select tests.create_booking(:'r1', 2, '2030-01-07 21:00+00') as third \gset
-- One transaction has one now(): the queue's order (by creation) is made explicit.
update public.bookings set created_at = now() - interval '1 minute' where id = :'second';
select is(public.assignment_begin(:'first') ->> 'outcome', 'ready', 'the first booking takes the only slot');
select is(public.assignment_begin(:'second') ->> 'outcome', 'rate_limited', 'the second finds it taken');
select public.assignment_begin(:'third');
select ok((select next_attempt_at >= now() + interval '5 seconds' from public.bookings where id = :'second'),
  'and waits to be woken, not to poll (due again only after the fallback)');
select tests.create_booking(:'r1', 2, '2030-01-07 22:00+00') as fourth \gset
select ok((select deferred_since is not null and next_attempt_at >= now() + interval '5 seconds' from public.bookings where id = :'fourth'),
  'a booking made while the slots are taken and others wait joins the queue at once');
select ok(not exists (select 1 from net.http_request_queue q where pg_catalog.convert_from(q.body, 'UTF8') like '%' || :'fourth' || '%'),
  'without being dispatched');
select lease_token as lease from public.bookings where id = :'first' \gset
select public.assignment_fail(:'first', :'lease', 'no_fit', 'no_fit: test');
select is((select next_attempt_at from public.bookings where id = :'second'), now(),
  'the slot the first booking frees makes the longest-waiting one due at once');
select ok((select bool_and(next_attempt_at > now()) from public.bookings where id in (:'third', :'fourth')), 'and only that one');
select tests.create_restaurant('Free slot') as r5 \gset
select tests.add_table(:'r5', 'F1', 4) \gset
select tests.create_booking(:'r5', 2, '2030-01-08 19:00+00') as fifth \gset
select ok(exists (select 1 from net.http_request_queue q where pg_catalog.convert_from(q.body, 'UTF8') like '%' || :'fifth' || '%'),
  'with a slot free, a new booking is dispatched as usual');

-- A dispatched booking that ends before it ever began frees the slot it was counted in, too.
select tests.create_restaurant('Cancelled early') as r3 \gset
select tests.add_table(:'r3', 'C1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r3', 1);
select tests.create_booking(:'r3', 2, '2030-01-10 19:00+00') as early \gset
select tests.create_booking(:'r3', 2, '2030-01-10 20:00+00') as behind \gset
select ok((select deferred_since is not null from public.bookings where id = :'behind'),
  'a booking behind one dispatched but not begun waits in the queue');
select public.cancel_booking(:'early', 'guest cancelled');
select is((select next_attempt_at from public.bookings where id = :'behind'), now(),
  'and is woken when that booking is cancelled before it began');

-- A woken booking that leaves without running passes its slot on; a new booking does not jump the queue.
select tests.create_restaurant('Passing on') as r4 \gset
select tests.add_table(:'r4', 'P1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r4', 1);
select tests.create_booking(:'r4', 2, '2030-01-11 19:00+00') as holder \gset
select tests.create_booking(:'r4', 2, '2030-01-11 20:00+00') as y \gset
select tests.create_booking(:'r4', 2, '2030-01-11 21:00+00') as z \gset
update public.bookings set created_at = now() - interval '2 minutes' where id = :'y';
update public.bookings set created_at = now() - interval '1 minute' where id = :'z';
select public.assignment_begin(:'holder') ->> 'outcome' as holding \gset
select lease_token as hold_lease from public.bookings where id = :'holder' \gset
select public.assignment_fail(:'holder', :'hold_lease', 'no_fit', 'no_fit: test');
select is((select array_agg(id order by created_at) from public.bookings where restaurant_id = :'r4' and next_attempt_at <= now() and deferred_since is not null),
  array[:'y'::uuid], 'the freed slot wakes the longest-waiting booking only');
select tests.create_booking(:'r4', 2, '2030-01-11 22:00+00') as w \gset
select ok((select deferred_since is not null from public.bookings where id = :'w'),
  'a booking made while a woken one is about to take the slot joins the queue behind it');
select public.cancel_booking(:'y', 'guest cancelled');
select is((select next_attempt_at from public.bookings where id = :'z'), now(),
  'a woken booking cancelled before it ran passes the slot on to the next');
select ok((select next_attempt_at > now() from public.bookings where id = :'w'), 'and only to the next');

-- The claim loop takes a new booking whose dispatch is late, once.
select tests.create_restaurant('Late dispatch') as r2 \gset
select tests.add_table(:'r2', 'L1', 4) \gset
select tests.create_booking(:'r2', 2, '2030-01-09 19:00+00') as late \gset
select ok(not (:'late' = any(public.assignment_claim_due(1000, :'r2', 10000, now() + interval '100 milliseconds'))),
  'a new booking is left to its own dispatch for a moment');
select ok(:'late' = any(public.assignment_claim_due(1000, :'r2', 10000, now() + interval '300 milliseconds')),
  'then a running coordinator''s claim loop takes it');
select ok(not (:'late' = any(public.assignment_claim_due(1000, :'r2', 10000, now() + interval '2 seconds'))),
  'and no other claimer takes it again while it is claimed');
select ok(:'late' = any(public.assignment_claim_due(1000, :'r2', 10000, now() + interval '11 seconds')),
  'unless the claimer never began it (due again after the visibility timeout)');

select * from finish();
rollback;
