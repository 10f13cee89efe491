-- A phone number in a transition's metadata stays out of its event (20261231030000): as a number, which the
-- call's check of the metadata (strings and, since 20261231470000, keys; pgTAP 166) lets through from a
-- platform's call through the Data API, and which the event kept as given. The history keeps the metadata as
-- given, with the booking.
begin;
select plan(3);

select tests.create_restaurant('Callback') as rid \gset
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as bid \gset
select tests.version_of(:'bid') as v \gset

set local role service_role;
select public.transition_assignment_state(:'bid', 'manual_review', :v, 'call the guest',
  '{"callback": 12125550100, "n": 3, "big": 1234567, "code": "vip", "tables": ["T12", 4479460958],
    "at": "2030-02-07T19:00:00+00:00"}')
  is not null as moved \gset
reset role;

select is((select context -> 'metadata' from public.observability_events
            where booking_id = :'bid' and event_type = 'booking.assignment_state_transition' order by id desc limit 1),
  '{"callback": "free_text", "n": 3, "big": 1234567, "code": "vip",
    "tables": ["T12", "free_text"], "at": "2030-02-07T19:00:00+00:00"}'::jsonb,
  'numbers that read as a phone number read free_text');
select is((select count(*)::int from public.observability_events
            where booking_id = :'bid' and context::text ~ '2125550100|4479460958'), 0,
  'no event of the booking holds the numbers');
select is((select (metadata ->> 'callback')::bigint from public.booking_assignment_state_history
            where booking_id = :'bid' order by id desc limit 1),
  12125550100, 'the history, deleted with the booking, keeps what was given');

select * from finish();
rollback;
