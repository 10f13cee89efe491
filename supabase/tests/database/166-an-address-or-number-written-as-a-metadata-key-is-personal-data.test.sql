-- An e-mail address or a phone number written as a metadata key is personal data (20261231470000): the JSON
-- check read keys only for words naming personal data, so a platform's transition stored them in the history.
begin;
select plan(6);

select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as bid \gset

set local role service_role;
select throws_ok(
  format($$select public.transition_assignment_state(%L, 'capacity_verified', 1, 'guest rang',
                                                     '{"ada@example.com": "rang"}')$$, :'bid'),
  'AS005', null, 'an address as a key is refused, as one as a value is');
select throws_ok(
  format($$select public.transition_assignment_state(%L, 'capacity_verified', 1, 'guest rang',
                                                     '{"call": {"+1 212 555 0100": true}}')$$, :'bid'),
  'AS005', null, 'and a phone number as a nested key');
select lives_ok(
  format($$select public.transition_assignment_state(%L, 'capacity_verified', 1, 'checked',
                                                     '{"lock_wait_ms": 12, "trigger": "ops", "2030-01-07": "date"}')$$, :'bid'),
  'the pipeline''s own keys, and a date as a key, are no personal data');
reset role;
select is((select count(*)::int from public.booking_assignment_state_history
            where booking_id = :'bid' and metadata::text ~ '@|555'), 0, 'nothing of them is stored');

-- Stored before: a document whose key still carries it once its strings are scrubbed is replaced.
select is(private.scrubbed_jsonb('{"ada@example.com": "rang", "note": "call 212 555 0100"}'::jsonb),
  '{"personal_data_removed": true}'::jsonb, 'a stored document with an address as a key is replaced');
select is(private.scrubbed_jsonb('{"note": "call 212 555 0100"}'::jsonb),
  '{"note": "call [number]"}'::jsonb, 'one with it only in a value keeps its keys');

select * from finish();
rollback;
