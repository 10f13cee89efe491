begin;
select plan(19);

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

select * from finish();
rollback;
