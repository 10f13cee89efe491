-- Found by a review of time (20261210000000): stays past midnight, moves of a booking the hours no longer
-- cover, alternatives on the days clocks change, and zone names the engine cannot read.
begin;
select plan(19);

-- A late service: Friday and Saturday 18:00–24:00, running on to 02:00 (Saturday) and 01:00 (Sunday);
-- Thursday ends at 23:00 and is followed by a Friday period from 00:00 all the same.
select tests.create_restaurant('Late Bar') as rid \gset
select tests.add_table(:'rid', 'B1', 10) as b1 \gset
delete from public.service_periods where restaurant_id = :'rid';
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
values (:'rid', 'Thursday', 4, '18:00', '23:00'), (:'rid', 'Thursday late', 5, '00:00', '02:00'),
       (:'rid', 'Friday', 5, '18:00', '24:00'), (:'rid', 'Friday late', 6, '00:00', '02:00'),
       (:'rid', 'Saturday', 6, '18:00', '24:00'), (:'rid', 'Saturday late', 0, '00:00', '01:00');

-- 2030-03-01 is a Friday. Parties of 2 stay 90 minutes, parties of 9 stay 150.
select tests.create_booking(:'rid', 2, '2030-03-01 23:00+00') as fri_2300 \gset
select tests.create_booking(:'rid', 9, '2030-03-01 23:30+00') as fri_2330 \gset
select tests.create_booking(:'rid', 9, '2030-03-01 23:45+00') as fri_2345 \gset
select tests.create_booking(:'rid', 2, '2030-03-02 23:30+00') as sat_2330 \gset
select tests.create_booking(:'rid', 2, '2030-03-03 23:30+00') as sun_2330 \gset
select tests.create_booking(:'rid', 2, '2030-02-28 22:00+00') as thu_2200 \gset
select tests.create_booking(:'rid', 2, '2030-03-01 19:00+00') as fri_1900 \gset
select is(private.service_hours_problem(b), null, 'Friday 23:00–00:30 runs on into the late period: inside')
  from public.bookings b where b.id = :'fri_2300';
select is(private.service_hours_problem(b), null, 'Friday 23:30–02:00 ends as the late period ends: inside')
  from public.bookings b where b.id = :'fri_2330';
select alike(private.service_hours_problem(b), 'outside_service_hours: 23:45–02:15 local time on Friday%',
  'Friday 23:45–02:15 ends after it: outside')
  from public.bookings b where b.id = :'fri_2345';
select is(private.service_hours_problem(b), null, 'Saturday 23:30–01:00 runs on into Sunday''s late period (the week wraps)')
  from public.bookings b where b.id = :'sat_2330';
select alike(private.service_hours_problem(b), 'outside_service_hours:%',
  'Sunday 23:30 has no period at all: outside')
  from public.bookings b where b.id = :'sun_2330';
select alike(private.service_hours_problem(b), 'outside_service_hours: 22:00–23:30 local time on Thursday%',
  'a period that ends before 24:00 does not run on, even with a period at 00:00 next')
  from public.bookings b where b.id = :'thu_2200';
select is(private.service_hours_problem(b), null, 'a stay inside one period is inside, as before')
  from public.bookings b where b.id = :'fri_1900';
select is(public.assignment_begin(:'fri_2300') ->> 'outcome', 'ready', 'a stay past midnight is planned, not escalated');
select is(ops.assign_tables(tests.create_booking(:'rid', 2, '2030-03-02 23:00+00'), array['B1'], 'ana') ->> 'outcome',
  'confirmed', 'and an operator may seat one');

-- A booking confirmed before the hours were shortened can still be moved: a move keeps its time.
select tests.create_restaurant('Shorter Hours') as sid \gset
select tests.add_table(:'sid', 'S2', 2) as s2 \gset
select tests.add_table(:'sid', 'S4', 4) as s4 \gset
select ops.set_reoptimization(true, 'ana', :'sid', 'pooling');
select tests.create_booking(:'sid', 2, '2030-01-07 21:00+00') as late_couple \gset
select (public.assignment_begin(:'late_couple')) ->> 'lease_token' as lease \gset
select is(public.assignment_commit(:'late_couple', :'lease', array[:'s4']::uuid[], 'first_fit') ->> 'outcome', 'confirmed',
  'a couple holds the 4-top until 22:30');
-- Closing moved to 22:00 without its triggers: a couple left confirmed past closing, as one confirmed before
-- 20261210140000 (which now re-plans such a booking when the hours change) may be.
set local session_replication_role = replica;
update public.service_periods set ends_at = '22:00' where restaurant_id = :'sid';
set local session_replication_role = origin;
select tests.create_booking(:'sid', 4, '2030-01-07 20:30+00') as four \gset
select public.assignment_begin(:'four') as began \gset
select is(public.assignment_commit(:'four', ((:'began'::jsonb) ->> 'lease_token')::uuid, array[:'s4']::uuid[], 'optimal_fit', 1,
            '{}', null, jsonb_build_array(jsonb_build_object('booking_id', :'late_couple', 'from_table_ids', array[:'s4'],
                                                              'to_table_ids', array[:'s2'])))
          ->> 'outcome', 'confirmed',
  'moving the couple, now past closing, to the 2-top seats the four: no rule of the couple''s time is checked');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'late_couple' and a.released_at is null), array['S2'], 'the couple now holds the 2-top');
select throws_like(
  format($$select private.apply_moves(b, jsonb_build_array(jsonb_build_object('booking_id', %L, 'from_table_ids', array[%L],
                                                                            'to_table_ids', array[%L, %L])), 2)
             from public.bookings b where b.id = %L$$, :'late_couple', :'s2', :'s2', :'s4', :'four'),
  '%a proposed move breaks a rule: not_adjacent%', 'a move still obeys the table rules');

-- Alternatives on the days clocks change: whole 15-minute steps of real time, each once, never the booking's own.
select tests.create_restaurant('New York') as nid \gset
update public.restaurants set timezone = 'America/New_York' where id = :'nid';
select tests.create_booking(:'nid', 2, '2027-03-14 03:00 America/New_York') as spring \gset
select tests.create_booking(:'nid', 2, '2027-11-07 05:30+00') as fall \gset
select tests.create_restaurant('Kathmandu') as kid \gset
update public.restaurants set timezone = 'Asia/Kathmandu' where id = :'kid';
select tests.create_booking(:'kid', 2, '2030-01-07 19:07+00') as off_grid \gset
select is((select array_agg(a.offset_minutes order by a.offset_minutes) from public.bookings b, private.alternative_starts(b) a
            where b.id = :'spring'),
  array[-90, -75, -60, -45, -30, -15, 15, 30, 45, 60, 75, 90],
  'spring forward (03:00 on 14 March 2027): twelve distinct instants, none skipped or repeated');
select is((select array_agg(a.offset_minutes order by a.offset_minutes) from public.bookings b, private.alternative_starts(b) a
            where b.id = :'fall'),
  array[-90, -75, -60, -45, -30, -15, 15, 90],
  'fall back (the first 01:30 on 7 November 2027): the hour that repeats is offered once, at its nearer instants');
select is((select array_agg(to_char(a.start_at at time zone 'America/New_York', 'HH24:MI') order by a.start_at)
             from public.bookings b, private.alternative_starts(b) a where b.id = :'fall'),
  array['00:00', '00:15', '00:30', '00:45', '01:00', '01:15', '01:45', '02:00'],
  'each local time once, and never the booking''s own 01:30 an hour on');
select is((select array_agg(to_char(a.start_at at time zone 'Asia/Kathmandu', 'HH24:MI') order by a.start_at)
             from public.bookings b, private.alternative_starts(b) a where b.id = :'off_grid'),
  array['23:30', '23:45', '00:00', '00:15', '00:30', '00:45', '01:00', '01:15', '01:30', '01:45', '02:00', '02:15'],
  'an off-grid start (00:52 at UTC+05:45) is offered the local quarter hours within 90 minutes');

-- Zone names: only those JavaScript reads too.
select is(array[private.is_known_time_zone('Europe/London'), private.is_known_time_zone('posix/Europe/London'),
                private.is_known_time_zone('localtime'), private.is_known_time_zone('posixrules'),
                private.is_known_time_zone('Asia/Kathmandu')],
  array[true, false, false, false, true], 'posix/ copies and machine-dependent names are refused');
select throws_ok($$insert into public.restaurants (name, timezone) values ('Posix', 'posix/Europe/London')$$,
  '23514', null, 'a restaurant cannot be given one');

select * from finish();
rollback;
