-- A stay that ends at closing time on the night clocks go forward is inside the service hours
-- (20261227170000): a late service to 02:00 in Berlin on 2027-03-28, when the clocks jump from 02:00 CET to
-- 03:00 CEST at 01:00 UTC, and in New York on 2027-03-14 (02:00 EST to 03:00 EDT at 07:00 UTC). An operator
-- seats such a party through ops.assign_tables as service_role.
begin;
select plan(9);

select tests.create_restaurant('Late bar') as rid \gset
update public.restaurants set timezone = 'Europe/Berlin' where id = :'rid';
select tests.add_table(:'rid', 'B1', 4) as b1 \gset
-- Saturday 18:00–24:00, running on into Sunday 00:00–02:00.
insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
values (:'rid', 'Late', 6, '18:00', '24:00'), (:'rid', 'Late', 0, '00:00', '02:00');

select is(tests.service_hours_problem(:'rid', '2027-03-27 23:30+00', '2027-03-28 01:00+00'), null,
  'Sunday 00:30 CET for 90 minutes leaves as the restaurant closes, at the jump: inside');
select is(tests.service_hours_problem(:'rid', '2027-03-27 22:30+00', '2027-03-28 01:00+00'), null,
  'so does a stay from Saturday 23:30 running on past midnight');
select ok(tests.service_hours_problem(:'rid', '2027-03-27 23:30+00', '2027-03-28 01:15+00') like 'outside_service_hours:%',
  'a stay past closing (03:15 CEST) is outside');
select is(tests.service_hours_problem(:'rid', '2027-03-20 23:30+00', '2027-03-21 01:00+00'), null,
  'a week earlier, without a clock change, the same stay to 02:00 CET is inside, as before');
select ok(tests.service_hours_problem(:'rid', '2027-03-20 23:30+00', '2027-03-21 01:15+00') like 'outside_service_hours:%',
  'and a quarter past it is outside, as before');

-- On the night clocks go back (2027-10-31: 03:00 CEST back to 02:00 CET at 01:00 UTC), 02:00 happens twice: the
-- service runs until the second, the later instant, as Postgres reads a local time that happens twice.
select is(tests.service_hours_problem(:'rid', '2027-10-30 22:30+00', '2027-10-31 01:00+00'), null,
  'the night clocks go back, a stay ending at the second 02:00 is inside');
select ok(tests.service_hours_problem(:'rid', '2027-10-30 22:30+00', '2027-10-31 01:15+00') like 'outside_service_hours:%',
  'and one ending a quarter past it is outside');

update public.restaurants set timezone = 'America/New_York' where id = :'rid';
select is(tests.service_hours_problem(:'rid', '2027-03-14 05:30+00', '2027-03-14 07:00+00'), null,
  'New York: Sunday 00:30 EST to the jump at 02:00 EST is inside');

-- The operator seats it: plan_violation agrees.
update public.restaurants set timezone = 'Europe/Berlin' where id = :'rid';
select tests.create_booking(:'rid', 2, '2027-03-27 23:30+00') as late \gset
update public.bookings set end_at = '2027-03-28 01:00+00' where id = :'late';
select tests.force_state(:'late', 'manual_review', 'outside_service_hours: test');
set local role service_role;
select is(ops.assign_tables(:'late', array['B1'], 'ana') ->> 'outcome', 'confirmed',
  'an operator can seat the party until closing');

select * from finish();
rollback;
