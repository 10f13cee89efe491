-- A closing time the clocks skip is the moment they jump (20261230000000): a New York bar open Saturday
-- 18:00–24:00 and on into Sunday 00:00–02:30. On 2030-03-10 its clocks jump from 02:00 EST to 03:00 EDT at
-- 07:00 UTC, so 02:30 never shows and the bar is closed from the jump; Postgres reads 02:30 that night as 07:30
-- UTC (03:30 EDT). Lord Howe's clocks jump half an hour (02:00 to 02:30 at 15:30 UTC on 2030-10-05).
begin;
select plan(11);

select tests.create_restaurant('Late bar') as rid \gset
update public.restaurants set timezone = 'America/New_York' where id = :'rid';
select tests.add_table(:'rid', 'B1', 4) as b1 \gset
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
values (:'rid', 'Late', 6, '18:00', '24:00'), (:'rid', 'Late', 0, '00:00', '02:30');

select ok(tests.service_hours_problem(:'rid', '2030-03-10 06:00+00', '2030-03-10 07:30+00') like 'outside_service_hours:%',
  'Sunday 01:00 EST until 03:30 EDT, an hour past the 02:30 closing on the wall clock, is outside');
select ok(tests.service_hours_problem(:'rid', '2030-03-10 06:00+00', '2030-03-10 07:15+00') like 'outside_service_hours:%',
  'so is a stay until 03:15 EDT');
select is(tests.service_hours_problem(:'rid', '2030-03-10 06:00+00', '2030-03-10 07:00+00'), null,
  'a stay until the jump is inside: the bar closes then');
select ok(tests.service_hours_problem(:'rid', '2030-03-10 04:30+00', '2030-03-10 07:30+00') like 'outside_service_hours:%',
  'from Saturday 23:30 EST on past midnight until 03:30 EDT is outside too');
select is(tests.service_hours_problem(:'rid', '2030-03-10 04:30+00', '2030-03-10 07:00+00'), null,
  'and from Saturday 23:30 EST until the jump is inside');
select is(tests.service_hours_problem(:'rid', '2030-03-03 06:00+00', '2030-03-03 07:30+00'), null,
  'a week earlier, without a clock change, until 02:30 EST is inside, as before');
select ok(tests.service_hours_problem(:'rid', '2030-03-03 06:00+00', '2030-03-03 07:45+00') like 'outside_service_hours:%',
  'and a quarter past it is outside, as before');
select is(tests.service_hours_problem(:'rid', '2030-11-03 05:00+00', '2030-11-03 07:30+00'), null,
  'the night clocks go back (02:00 EDT to 01:00 EST at 06:00 UTC), until 02:30 EST is inside, as before');

update public.restaurants set timezone = 'Australia/Lord_Howe' where id = :'rid';
update public.service_periods set ends_at = '02:15' where restaurant_id = :'rid' and name = 'Late' and day_of_week = 0;
select ok(tests.service_hours_problem(:'rid', '2030-10-05 14:30+00', '2030-10-05 15:45+00') like 'outside_service_hours:%',
  'Lord Howe: closing at 02:15, which its half-hour jump skips, a stay until 02:45 (15:45 UTC) is outside');
select is(tests.service_hours_problem(:'rid', '2030-10-05 14:30+00', '2030-10-05 15:30+00'), null,
  'and one until the jump is inside');

-- An operator cannot seat the New York party past closing either: plan_violation agrees.
update public.restaurants set timezone = 'America/New_York' where id = :'rid';
update public.service_periods set ends_at = '02:30' where restaurant_id = :'rid' and name = 'Late' and day_of_week = 0;
select tests.create_booking(:'rid', 2, '2030-03-10 06:00+00') as late \gset
update public.bookings set end_at = '2030-03-10 07:30+00' where id = :'late';
select tests.force_state(:'late', 'manual_review', 'outside_service_hours: test');
set local role service_role;
select throws_ok(format($$select ops.assign_tables(%L, array['B1'], 'ana')$$, :'late'), 'AS007', null,
  'an operator seating the party until 03:30 EDT is refused');

select * from finish();
rollback;
