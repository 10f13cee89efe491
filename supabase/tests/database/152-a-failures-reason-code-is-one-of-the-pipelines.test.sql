-- A failure's reason keeps the code it starts with only when that is one of the pipeline's reason codes; any
-- other is prefixed with its kind, so no caller's word becomes a code the queue, health, the events and the
-- dashboards group by (20261231320000).
begin;
select plan(8);

select tests.create_restaurant('Reason codes') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select ops.set_restaurant_mode(:'rid', 'v3', 'ana', 'on V3') ->> 'mode' as mode \gset
select tests.create_booking(:'rid', 2, '2030-06-03 18:00+00') as named \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as invented \gset
select tests.create_booking(:'rid', 2, '2030-06-03 20:00+00') as known \gset

-- As the Data API runs a caller's call.
set local role service_role;
select tests.lease_token(public.assignment_begin(:'named')) as lease \gset
select public.assignment_fail(:'named', :'lease', 'no_fit', 'Maria Garcia: nut allergy') as named_ended \gset
select tests.lease_token(public.assignment_begin(:'invented')) as lease \gset
select public.assignment_fail(:'invented', :'lease', 'conflict', 'totally_made_up: anything') as invented_ended \gset
select tests.lease_token(public.assignment_begin(:'known')) as lease \gset
select public.assignment_fail(:'known', :'lease', 'conflict', 'rule_changed: the party changed while planned') as known_ended \gset
reset role;

select is(array[:'named_ended'::jsonb ->> 'outcome', :'named_ended'::jsonb ->> 'reason'],
          array['manual_review', 'no_fit: Maria Garcia: nut allergy'],
          'a no-fit whose reason starts with a word that is no code goes to review under its kind');
select is((select manual_review_reason from public.bookings where id = :'named'), 'no_fit: Maria Garcia: nut allergy',
          'which is the review''s reason');
select is((select context ->> 'reason' from public.observability_events
            where booking_id = :'named' and event_type = 'coordinator.manual_review'), 'no_fit',
          'and the review''s event groups it under the kind, not under the word');
select is((select context ->> 'reason' from public.observability_events
            where booking_id = :'named' and event_type = 'booking.assignment_state_transition'
              and context ->> 'to' = 'manual_review'), 'no_fit', 'so does its transition''s event');

select is(array[:'invented_ended'::jsonb ->> 'outcome', :'invented_ended'::jsonb ->> 'reason'],
          array['retry', 'conflict: totally_made_up: anything'], 'an invented code is prefixed with the kind');
select is((select context ->> 'reason' from public.observability_events
            where booking_id = :'invented' and event_type = 'coordinator.retry'), 'conflict',
          'and the retry''s event groups it under the kind');

select is(:'known_ended'::jsonb ->> 'reason', 'rule_changed: the party changed while planned',
          'a reason that starts with one of the pipeline''s codes is kept as given');
select is((select context ->> 'reason' from public.observability_events
            where booking_id = :'known' and event_type = 'coordinator.retry'), 'rule_changed',
          'and its event carries that code');

select * from finish();
rollback;
