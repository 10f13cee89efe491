begin;
select plan(21);

-- An operator types an alternative's time as the review queue shows it, in the restaurant's local time
-- (20261229000000); a time with an offset is that instant; the session's own time zone never matters.

-- A Madrid restaurant (UTC+1 in January) whose T1 is taken 19:45–20:00 local: a party of 2 asking for 19:00
-- local, in review, is offered 18:00, 20:00 and 17:45 local.
create function pg_temp.reviewed_in_madrid(p_name text) returns uuid language plpgsql as $$
declare
  rid uuid := tests.create_restaurant(p_name);
  t1 uuid := tests.add_table(rid, 'T1', 4);
  other uuid;
  booking uuid;
begin
  update public.restaurants set timezone = 'Europe/Madrid' where id = rid;
  other := tests.create_booking(rid, 1, '2030-01-07 19:45 Europe/Madrid');
  insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
  values (other, rid, t1, tstzrange('2030-01-07 19:45 Europe/Madrid', '2030-01-07 20:00 Europe/Madrid'), 'ops', 'tests');
  booking := tests.create_booking(rid, 2, '2030-01-07 19:00 Europe/Madrid');
  perform tests.force_state(booking, 'manual_review', 'no_table_fits: no free table or combination seats the party at that time');
  return booking;
end $$;
create function pg_temp.starts_in_madrid(p_booking uuid) returns text language sql as $$
  select to_char(start_at at time zone 'Europe/Madrid', 'YYYY-MM-DD HH24:MI') from public.bookings where id = p_booking;
$$;

select pg_temp.reviewed_in_madrid('Local') as local \gset
select is((select alternatives_note from ops.manual_review_queue((select restaurant_id from public.bookings where id = :'local')) where booking_id = :'local'),
  '18:00 (-60 min): T1; 20:00 (+60 min): T1; 17:45 (-75 min): T1',
  'the queue shows the alternatives in the restaurant''s local time');

-- Typed as shown, in a session on UTC (Studio's SQL editor): 20:00 in Madrid, not 20:00 UTC (21:00 there).
set local timezone = 'UTC';
select is(ops.accept_alternative(:'local', '2030-01-07 20:00', 'ana') ->> 'outcome', 'confirmed',
  'a time typed without an offset is taken');
select is(pg_temp.starts_in_madrid(:'local'), '2030-01-07 20:00', 'as the restaurant''s local time');
select is(ops.accept_alternative(:'local', '2030-01-07 20:00', 'ana') ->> 'outcome', 'unchanged',
  'and asking again for the same local time changes nothing');

-- In a session on another zone, the same.
select pg_temp.reviewed_in_madrid('Elsewhere') as elsewhere \gset
set local timezone = 'America/New_York';
select is(ops.accept_alternative(:'elsewhere', '2030-01-07 18:00', 'ana') ->> 'outcome', 'confirmed',
  'a session on New York time takes the same local time');
select is(array[pg_temp.starts_in_madrid(:'elsewhere'), current_setting('TimeZone')],
  array['2030-01-07 18:00', 'America/New_York'], 'in Madrid, and the session keeps its own zone');
set local timezone = 'UTC';

-- With an offset or a zone it is the instant it names, as the queue's start_at gives it.
select pg_temp.reviewed_in_madrid('Offset') as offset_b \gset
select is(ops.accept_alternative(:'offset_b', '2030-01-07 19:00+00', 'ana') ->> 'outcome', 'confirmed',
  'a time with an offset is taken');
select is(pg_temp.starts_in_madrid(:'offset_b'), '2030-01-07 20:00', 'as the instant it names');
select pg_temp.reviewed_in_madrid('Zone') as zone_b \gset
select is(ops.accept_alternative(:'zone_b', '2030-01-07 17:45 Europe/Madrid', 'ana') ->> 'outcome', 'confirmed',
  'so is one with a zone');

-- The queue's own start_at, as its JSON gives it, is taken as it is.
select pg_temp.reviewed_in_madrid('Pasted') as pasted \gset
select ops.accept_alternative(:'pasted', (select q.alternatives -> 1 ->> 'start_at' from ops.manual_review_queue((select restaurant_id from public.bookings where id = :'pasted')) q
                                            where q.booking_id = :'pasted'), 'ana') ->> 'starts_local' as pasted_at \gset
select is(:'pasted_at'::text, '2030-01-07 20:00', 'the queue''s start_at, pasted, is the alternative it shows');

-- A time already typed as an instant is that instant, whichever name the call gives it.
select pg_temp.reviewed_in_madrid('Typed') as typed \gset
select is(ops.accept_alternative(:'typed', timestamptz '2030-01-07 17:00+00', 'ana') ->> 'starts_local',
  '2030-01-07 18:00', 'a timestamptz is the instant it is');
select pg_temp.reviewed_in_madrid('Local typed') as local_typed \gset
select is(ops.accept_alternative(:'local_typed', timestamp '2030-01-07 20:00', 'ana') ->> 'starts_local',
  '2030-01-07 20:00', 'a timestamp without time zone is the restaurant''s local time, not the session''s');
select pg_temp.reviewed_in_madrid('Named instant') as named_instant \gset
select is(ops.accept_alternative(p_booking_id => :'named_instant', p_start => timestamptz '2030-01-07 19:00+00',
                                 p_actor => 'ana') ->> 'starts_local', '2030-01-07 20:00', 'named p_start, an instant');
select pg_temp.reviewed_in_madrid('Named local') as named_local \gset
select is(ops.accept_alternative(p_booking_id => :'named_local', p_start_local => timestamp '2030-01-07 18:00',
                                 p_actor => 'ana') ->> 'starts_local', '2030-01-07 18:00', 'named p_start_local, a local time');
select pg_temp.reviewed_in_madrid('Named') as named \gset
select is(ops.accept_alternative(p_booking_id => :'named', p_start_at => '2030-01-07 20:00', p_actor => 'ana')
            ->> 'starts_local', '2030-01-07 20:00', 'and a time named p_start_at is read as the queue shows it');

-- What is not a date and time is refused with what to type, and nothing is written.
select pg_temp.reviewed_in_madrid('Typo') as typo \gset
select throws_ok(format($$select ops.accept_alternative(%L, '2030-01-07 2O:00', 'ana')$$, :'typo'), 'AS005',
  '''2030-01-07 2O:00'' is not a date and time', 'a typo is refused, naming what was typed');
select throws_ok(format($$select ops.accept_alternative(%L, '   ', 'ana')$$, :'typo'), 'AS005',
  'name the booking and one of its alternatives'' start_at', 'a blank time is refused as none, saying what to give');
select is((select assignment_state from public.bookings where id = :'typo'), 'manual_review',
  'and the booking stays in review');

-- A local time Madrid's clocks skip (02:30 on the last Sunday of March) or show twice (02:30 on the last Sunday
-- of October) is refused rather than moved or guessed.
select throws_ok(format($$select ops.accept_alternative(%L, '2030-03-31 02:30', 'ana')$$, :'typo'), 'AS005',
  '2030-03-31 02:30:00 does not exist in Europe/Madrid: its clocks skip it', 'a skipped local time is refused');
select throws_ok(format($$select ops.accept_alternative(%L, timestamp '2030-10-27 02:30', 'ana')$$, :'typo'), 'AS005',
  '2030-10-27 02:30:00 happens twice in Europe/Madrid: its clocks go back over it', 'so is one shown twice');
select is(private.restaurant_local_instant('2030-10-27 03:30', 'Europe/Madrid'), '2030-10-27 02:30+00'::timestamptz,
  'while the hour after the change is read as it is');

select * from finish();
rollback;
