begin;
select plan(6);

select tests.create_restaurant() as rid \gset

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
select throws_ok($$insert into public.observability_events (source, event_type, severity) values ('x', 'y', 'loud')$$,
  '23514', null, 'severity must be a known level');

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select throws_ok(format($$select public.transition_assignment_state(%L, 'manual_review', 1, 'call ada@example.com')$$, :'b'),
  '23514', null, 'a transition whose reason carries an e-mail address is refused, with nothing written');

select * from finish();
rollback;
