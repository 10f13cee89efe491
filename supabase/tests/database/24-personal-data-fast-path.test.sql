begin;
select plan(9);

-- The JSON check's fast path (20261207000000) is argued from these two patterns: a change to either must
-- revisit that argument, so it fails here first.
select is(md5(private.email_pattern()), 'f0e4287953f836e72808f3c51009c34b',
  'the e-mail pattern is the one the JSON fast path was argued for (revisited in 20261231050000)');
select is(md5(private.phone_pattern()), '292c3da2f21b4efa8096e71e834dc759',
  'the phone pattern is the one the JSON fast path was argued for (revisited in 20261227100000 and 20261231050000)');
-- And from lower(): no character that stripping a key removes becomes a-z, 0-9 or '@' when lower-cased.
select is((select count(*) from pg_catalog.generate_series(128, 1114111) i
            where (i < 55296 or i > 57343) and chr(i) !~ '[[:alnum:]]' and lower(chr(i)) ~ '[a-z0-9@]'),
  0::bigint, 'on this cluster, lower() maps no stripped character into a key stem');

-- Whole time stamps are left out of the digit test; a phone number beside one in the same value is not.
select ok(not private.jsonb_has_personal_data(
  '{"start_at": "2030-01-07T19:00:00+00:00", "starts_local": "2030-01-07 19:00", "day": "2030-01-07"}'),
  'a guest message''s time stamps are not personal data');
select ok(private.jsonb_has_personal_data('{"start_at": "2030-01-07 +44 20 7946 0958"}'),
  'a phone number after a date in one value is');
select ok(private.jsonb_has_personal_data('{"note": "0045-12-34-56-78"}'),
  'and so is one written in groups that begin like a date');
-- Text with JSON escapes takes the full scan: a tab between the digits is a separator there.
select ok(private.jsonb_has_personal_data(E'{"a": "5550\\t1234"}'), 'a phone number split by an escaped tab is found');
-- Look-alike letters lower-cased into a stem are seen by both halves alike.
select ok(private.jsonb_has_personal_data('{"maİl": 1}'), 'a key whose capital İ lower-cases to mail is flagged');
select is(private.jsonb_has_personal_data('{"a": "１２３４ ５６７８"}'), private.jsonb_personal_data_scan('{"a": "１２３４ ５６７８"}'),
  'full-width digits: the fast path defers to the scan');

select * from finish();
rollback;
