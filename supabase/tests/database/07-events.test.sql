begin;
select plan(39);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset

-- What counts as personal data in an event.
select lives_ok($$insert into public.observability_events (source, event_type, context)
                  values ('assignment.coordinator', 'coordinator.start', '{"mode": "v3"}')$$,
  'an event without personal data is accepted');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.start', '{"customer_email": "x"}')$$,
  '23514', null, 'a customer field name is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"message": "failed for ada@example.com"}')$$,
  '23514', null, 'an e-mail address anywhere in a message is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"detail": {"guest": {"phone": "+44 20 7946 0000"}}}')$$,
  '23514', null, 'a nested phone field is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.start', '{"guest_name": "x"}')$$,
  '23514', null, 'a guest_name field is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.start', '{"contact": {"phone_number": "x"}}')$$,
  '23514', null, 'a phone_number field is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.start', '{"guestName": "x"}')$$,
  '23514', null, 'so is guestName, in camelCase');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.start', '{"items": [{"phoneNumber": "x"}]}')$$,
  '23514', null, 'and phoneNumber inside an array');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"message": "guest asked to be called on +44 20 7946 0000"}')$$,
  '23514', null, 'an international phone number in free text is rejected');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"message": "call 020 7946 0000 first"}')$$,
  '23514', null, 'so is a national one');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"notes": ["rang from (555) 123-4567."]}')$$,
  '23514', null, 'and one written with parentheses and dashes');
select throws_ok($$insert into public.observability_events (source, event_type, context)
                   values ('assignment.coordinator', 'coordinator.error', '{"message": "mobile 07700900123"}')$$,
  '23514', null, 'and one written as a single run of digits');
select lives_ok($$insert into public.observability_events (source, event_type, context)
                  values ('assignment.coordinator', 'coordinator.start',
                          '{"at": "2030-01-07T19:00:00+00:00", "since": "2030-01-07 19:00:00 UTC",
                            "for_booking": "12345678-90ab-4def-8123-456789012345", "reference": "K3M9Q2X7RT",
                            "tables": ["T1", "T12"], "detail": "party of 12 at 19:00 after 3 attempts and 1500 ms",
                            "strategy_name": "optimal_fit", "table_name": "M5", "zone_name": "Terrace"}')$$,
  'dates, UUIDs, booking references, table numbers and durations are not personal data');
select throws_ok($$insert into public.observability_events (source, event_type, severity) values ('x', 'y', 'loud')$$,
  '23514', null, 'severity must be a known level');

-- Booking references travel in notification payloads: they must never read as a phone number.
select ok((select bool_and(r ~ '^[A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z]{9}$' and not private.text_has_personal_data(r))
             from (select private.new_booking_reference() as r from generate_series(1, 2000)) x),
  'booking references are 10 base32 characters starting with a letter, never a phone number');

-- Free text given to the RPCs is scrubbed on its way in, not rejected.
select is(private.scrub_personal_data('dispatched 12 times since 2030-01-07 19:00:00 UTC; booking 12345678-90ab-4def-8123-456789012345'),
  'dispatched 12 times since 2030-01-07 19:00:00 UTC; booking 12345678-90ab-4def-8123-456789012345',
  'scrubbing leaves dates and ids alone');
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select lives_ok(format($$select public.transition_assignment_state(%L, 'manual_review', 1,
                           'guest ada@example.com asked to be called on +44 20 7946 0000')$$, :'b'),
  'a transition whose reason carries an e-mail address and a phone number goes through');
select is((select manual_review_reason from public.bookings where id = :'b'),
  'guest [email] asked to be called on [number]', 'the review reason is stored scrubbed');
select is((select reason from public.booking_assignment_state_history where booking_id = :'b' and version = 2),
  'guest [email] asked to be called on [number]', 'so is the history reason');
select is((select context - 'metadata' from public.observability_events
            where booking_id = :'b' and event_type = 'booking.assignment_state_transition'),
  '{"from": "created", "to": "manual_review", "version": 2, "reason": "free_text", "reason_chars": 44}'::jsonb,
  'the event carries none of the caller''s words: free_text and their length');
select is((select count(*)::int from public.observability_events e
            where e.booking_id = :'b' and (e.context::text like '%ada@%' or e.context::text like '%7946%')), 0,
  'no event of the booking carries the address or the number');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as c \gset
select lives_ok(format($$select public.cancel_booking(%L, 'called from 020 7946 0000, wrote to ada@example.com')$$, :'c'),
  'cancel_booking takes a reason with personal data in it');
select is((select reason from public.booking_assignment_state_history where booking_id = :'c' and to_state = 'cancelled'),
  'called from [number], wrote to [email]', 'and stores it scrubbed');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as d \gset
select lives_ok(format($$select ops.cancel_booking(%L, 'rang (555) 123-4567', 'ana')$$, :'d'), 'so does ops.cancel_booking');
select is((select reason from public.booking_assignment_state_history where booking_id = :'d' and to_state = 'cancelled'),
  'rang [number]', 'scrubbed too');

select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as e \gset
select lives_ok(format($$select ops.assign_tables(%L, array['T1'], 'ana', 'regular, ask for ada@example.com')$$, :'e'),
  'and ops.assign_tables');
select is((select array_agg(distinct reason order by reason) from public.booking_assignment_state_history where booking_id = :'e'),
  array['ops_assignment: regular, ask for [email]', 'regular, ask for [email]'], 'every step of it scrubbed');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as f \gset
select lives_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', 1, null, '{}', 'ana@restaurant.example')$$, :'f'),
  'an actor given as an e-mail address is accepted');
select is((select actor from public.booking_assignment_state_history where booking_id = :'f'), '[email]', 'and stored scrubbed');
select throws_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', 2, null, '{"guest_name": "Ada"}')$$, :'f'),
  'AS005', null, 'metadata with personal data is refused with a readable error');
select is(tests.version_of(:'f'), 2, 'and nothing is written');

-- What slips past the RPCs is stopped by the tables. A client cannot write a review reason at all (it is the
-- pipeline's bookkeeping); even the database's owner, writing one by hand, cannot store personal data in it.
select throws_ok(format($$update public.bookings set manual_review_reason = 'call ada@example.com' where id = %L$$, :'b'),
  '23514', null, 'a review reason with an e-mail address is rejected');
select throws_ok(format($$update public.bookings set manual_review_reason = 'call 020 7946 0000' where id = %L$$, :'b'),
  '23514', null, 'and one with a phone number');
select lives_ok(format($$update public.bookings set manual_review_reason = 'no table fits a party of 12 at 19:00' where id = %L$$, :'b'),
  'a plain reason is fine');
set local role service_role;
select throws_ok(format($$update public.bookings set manual_review_reason = 'no table fits' where id = %L$$, :'b'),
  'AS012', null, 'and a client cannot write one');
reset role;
select throws_ok(format($$insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, actor)
                          values (%L, 'manual_review', 'cancelled', 99, 'call +44 20 7946 0000', 'ana')$$, :'b'),
  '23514', null, 'a history reason with a phone number is rejected');
select throws_ok(format($$insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, actor)
                          values (%L, 'manual_review', 'cancelled', 99, 'ok', 'ada@example.com')$$, :'b'),
  '23514', null, 'and a history actor that is an e-mail address');
select throws_ok(format($$insert into public.booking_assignment_attempts (booking_id, attempt_no, result, reason)
                          values (%L, 1, 'error', 'mail ada@example.com')$$, :'b'),
  '23514', null, 'an attempt reason with an e-mail address is rejected');
select ok(exists (select 1 from pg_constraint where conname = 'booking_manual_review_reason_has_no_email_or_phone_number')
          and exists (select 1 from pg_constraint where conname = 'state_history_reason_has_no_email_or_phone_number')
          and exists (select 1 from pg_constraint where conname = 'attempt_reason_has_no_email_or_phone_number'),
  'every reason column carries its no-personal-data constraint');

select * from finish();
rollback;
