-- Phone numbers and e-mail addresses written in more ways are personal data (20261231050000): Unicode dashes
-- and the minus sign, characters that show nothing, an extension, Tel. and the like glued before the number,
-- an internationalised top-level domain. What a platform or an operator types is
-- scrubbed or refused, as service_role's real calls make it; what was stored before is scrubbed on upgrade.
-- Dates written with those dashes, and ranges of dates and date-times, are still not numbers.
begin;
select plan(15);

select tests.create_restaurant('Widened') as rid \gset
select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as bid \gset
select tests.version_of(:'bid') as v \gset

-- A reason with each new shape; a metadata key shaped as one token is refused (20261231470000).
set local role service_role;
select throws_ok(format($$select public.transition_assignment_state(%L, 'manual_review', %s, 'rang',
                                                                    '{"Tel.2125550100": "rang", "code": "vip"}')$$,
                        :'bid', :v),
  'AS005', null, 'a key that is a number glued to Tel. is refused');
select public.transition_assignment_state(:'bid', 'manual_review', :v,
  'rang 212–555–0100, 212−555−0100, 212' || chr(8203) || '555' || chr(8203) || '0100, 212-555-0100x12 and Tel.2125550100; wrote jan@example.рф; visit 2030–03–07 – 2030–03–08',
  '{"code": "vip"}') is not null as moved \gset
reset role;
select is((select manual_review_reason from public.bookings where id = :'bid'),
  'rang [number], [number], [number], [number]x12 and Tel.[number]; wrote [email]; visit 2030–03–07 – 2030–03–08',
  'every new shape of a number and the address are scrubbed from the reason; the dates are kept');
select is((select reason from public.booking_assignment_state_history where booking_id = :'bid' order by id desc limit 1),
  (select manual_review_reason from public.bookings where id = :'bid'), 'and so from the history');

-- Without a reason, too.
select tests.create_booking(:'rid', 2, '2030-03-07 21:00+00') as b3 \gset
set local role service_role;
select throws_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', %s, null,
                                                                    '{"Tel.2125550100": "rang", "code": "vip"}')$$,
                        :'b3', tests.version_of(:'b3')),
  'AS005', null, 'so is one in a transition without a reason');
reset role;

-- A string value that holds one is refused by the call, which keeps metadata in the history as given.
select tests.create_booking(:'rid', 2, '2030-03-07 20:00+00') as b2 \gset
select tests.version_of(:'b2') as v2 \gset
set local role service_role;
select throws_ok(format($$select public.transition_assignment_state(%L, 'manual_review', %s, 'call', '{"note": "ring 020–7946–0958"}')$$,
                        :'b2', :v2),
  'AS005', null, 'metadata holding a number written with dashes is refused');
-- An operator's name with a number glued on is scrubbed before the audit keeps it.
select ops.set_max_parallel(2, 'ana Tel.2125550100', :'rid', 'rang 212‑555‑0100') is not null as set \gset
reset role;
select is((select actor || ' / ' || reason from public.pipeline_settings_audit order by id desc limit 1),
  'ana Tel.[number] / rang [number]', 'the settings audit keeps the operator''s text scrubbed');

-- Not numbers: dates with other dashes, ranges, references, versions; an extension alone is no number.
select ok(not private.text_has_personal_data('2030–03–07 – 2030–03–08, 2030-03-07 - 2030-03-08, ABC-12345678, v1.20260101123456, 19:00 - 21:00'),
  'dates and ranges of dates with any dash, references and versions are not personal data');
select ok(not private.text_has_personal_data('2030-03-07 19:00–2030-03-07 21:00, 2030–03–07 2030–03–08, 2030–03–07 9:30, 2030-03-07 7pm, (2030–03–07), moved (2030-03-07 19:30), 2026-12-05 19:51:09 123456 INFO, 2030-03-07 - 3 tables, 5.4.0-dev.20231215.tgz, hotel.12345678, 212 - 555 - 0100, 200 - 123456 bytes'),
  'nor are ranges of date-times, a date before a count, a version or another word before digits, or groups three characters apart');
select ok(private.text_has_personal_data('phone1:2125550100'),
  'a number after a digit and a colon still is, when it is no time''s minutes');
select ok(private.text_has_personal_data('rang Maria—0612345678') and private.text_has_personal_data('Call 212-555-0100—ask for Maria')
          and private.text_has_personal_data('arrives 19:30—0612345678')
          and private.text_has_personal_data('flight KL1234—06-12-34-56-78'),
  'a number glued to a word or a time by a dash other than the hyphen is one, as prose writes it');
select ok(private.text_has_personal_data('2030-03-07 - 2030-03-08 5550100'), 'digits that go on after a range of dates are');

-- Stored under the older patterns: a review reason and an event; scrubbed on upgrade, so the booking can be
-- changed again.
create function pg_temp.current(p_name text) returns text language plpgsql as $$
declare t text;
begin
  execute format('select private.%I()', p_name) into t;
  return t;
end $$;
select pg_temp.current('phone_pattern') as widened_phone \gset
create or replace function private.phone_pattern() returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<![A-Za-z0-9_.+-])(?![0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:|(?![ \t\n\r\f\v().-]{0,2}[0-9])))(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;
select tests.create_booking(:'rid', 2, '2030-03-08 19:00+00') as old \gset
select tests.force_state(:'old', 'manual_review', 'guest asked to be called on 212–555–0100') is null as reviewed \gset
insert into public.observability_events (source, event_type, severity, context, restaurant_id, booking_id)
values ('assignment.ops', 'test.note', 'info', '{"note": "call 212−555−0100"}', :'rid', :'old');
select format($f$create or replace function private.phone_pattern() returns text language plpgsql immutable
  set search_path = '' as $b$ begin return %L; end $b$;$f$, :'widened_phone') as restore \gset
:restore
select throws_ok(format($$update public.bookings set party_size = 3 where id = %L$$, :'old'), '23514', null,
  'a reason stored under the older pattern fails the widened CHECK at the next change of its booking');
select private.scrub_stored_personal_data() ->> 'bookings' as scrubbed \gset
select is((select manual_review_reason from public.bookings where id = :'old'), 'guest asked to be called on [number]',
  'the upgrade''s scrub replaces it');
select lives_ok(format($$update public.bookings set party_size = 3 where id = %L$$, :'old'),
  'after which the booking can be changed again');
select is((select context ->> 'note' from public.observability_events where booking_id = :'old' and event_type = 'test.note'),
  'call [number]', 'and the event is scrubbed too');

select * from finish();
rollback;
