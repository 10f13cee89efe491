-- A phone number written in another script's digits, or with marks that show nothing between its digits, is
-- personal data (20261231480000): NFKC left Arabic-Indic, Persian, Devanagari … digits as they were, so what an operator
-- on such a keyboard typed was stored as given. Scrubbed or refused now, as service_role's real calls make it;
-- what was stored before is scrubbed on upgrade.
begin;
select plan(10);

select tests.create_restaurant('Scripts') as rid \gset
select tests.create_booking(:'rid', 2, '2030-03-07 19:00+00') as bid \gset

set local role service_role;
select public.transition_assignment_state(:'bid', 'manual_review', tests.version_of(:'bid'),
  'rang ٠٦١٢٣٤٥٦٧٨ and ۰۶ ۱۲ ۳۴ ۵۶ ۷۸ and ०६१२३४५६७८ and 0612' || chr(8206) || '345' || chr(8206) || '678 about table ٥',
  '{"code": "vip"}') is not null as moved \gset
reset role;
select is((select manual_review_reason from public.bookings where id = :'bid'),
  'rang [number] and [number] and [number] and [number] about table 5',
  'each script''s number and one split by direction marks are scrubbed from the reason; other digits read as ASCII');
select is((select reason from public.booking_assignment_state_history where booking_id = :'bid' order by id desc limit 1),
  (select manual_review_reason from public.bookings where id = :'bid'), 'and so from the history');

select tests.create_booking(:'rid', 2, '2030-03-07 20:00+00') as b2 \gset
set local role service_role;
select throws_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', %s, 'call',
                                                                    '{"note": "ring ۰۹۱۲ ۳۴۵ ۶۷۸۹"}')$$,
                        :'b2', tests.version_of(:'b2')),
  'AS005', null, 'metadata holding a number in Persian digits is refused');
select throws_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', %s, 'call', %L)$$,
                        :'b2', tests.version_of(:'b2'),
                        jsonb_build_object('0612' || chr(8207) || '3456' || chr(8207) || '78', true)),
  'AS005', null, 'and a key that is a number with a right-to-left mark in it');
select lives_ok(format($$select public.transition_assignment_state(%L, 'capacity_verified', %s, 'checked',
                                                                   '{"table": "٥", "party": "٦", "date": "٢٠٣٠-٠٣-٠٧"}')$$,
                       :'b2', tests.version_of(:'b2')),
  'short numbers and a date in those digits are no personal data');
select throws_ok(format($$insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, max_party_size)
                          values (%L, %L, 'T ०६१२३४५६७८', 4, 4)$$, :'rid', tests.zone_id(:'rid')),
  '23514', null, 'a table number in Devanagari digits that reads as a phone number is refused');
reset role;

select ok(private.text_has_personal_data('call ' || (select string_agg(chr(118000 + d), '') from unnest('{0,6,1,2,3,4,5,6,7,8}'::int[]) d))
          and private.text_has_personal_data((select string_agg(d || U&'\FE0F\20E3', '') from unnest('{0,6,1,2,3,4,5,6,7,8}'::int[]) d))
          and private.text_has_personal_data('call 0612' || chr(6155) || '345' || chr(8298) || '678'),
  'so are outlined digits, which Postgres'' NFKC leaves as they are, a number typed as keycap emoji, and one split by other characters that show nothing');

-- Stored before: a reason kept while the check read NFKC alone fails the widened CHECK at its booking's next
-- change, until the upgrade's scrub replaces it.
select pg_get_functiondef('private.personal_data_normalized(text)'::regprocedure) || ';' as widened \gset
create or replace function private.personal_data_normalized(p_text text) returns text language sql immutable
  set search_path = '' as $$ select pg_catalog.normalize(p_text, 'NFKC') $$;
select tests.create_booking(:'rid', 2, '2030-03-08 19:00+00') as old \gset
select tests.force_state(:'old', 'manual_review', 'guest asked to be called on ٠٦١٢٣٤٥٦٧٨') is null as reviewed \gset
:widened
select throws_ok(format($$update public.bookings set party_size = 3 where id = %L$$, :'old'), '23514', null,
  'a reason stored under the older reading fails the widened CHECK at the next change of its booking');
select private.scrub_stored_personal_data() ->> 'bookings' as scrubbed \gset
select is((select manual_review_reason from public.bookings where id = :'old'), 'guest asked to be called on [number]',
  'the upgrade''s scrub replaces it');
select lives_ok(format($$update public.bookings set party_size = 3 where id = %L$$, :'old'),
  'after which the booking can be changed again');

select * from finish();
rollback;
