-- A stay given an explicit end keeps its length when its time or party size changes; a derived one follows the
-- turn policy (20261210130000). The platform's writes go through the Data API, so they run here as
-- service_role. The test restaurant's policy: parties of 1-4 dine 90 minutes, 5-8 120, 9-20 150.
begin;
select plan(7);

select tests.create_restaurant('Long stays') as rid \gset
select tests.add_table(:'rid', 'L1', 4) as l1 \gset
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 10, '2030-09-02 18:00+00', '2030-09-02 22:00+00') returning id as event \gset
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'rid', 2, '2030-09-03 18:00+00') returning id as dinner \gset

update public.bookings set party_size = 12 where id = :'event';
select is((select end_at - start_at from public.bookings where id = :'event'), interval '4 hours',
  'an explicit four-hour stay whose party grows stays four hours');
update public.bookings set start_at = '2030-09-02 19:00+00' where id = :'event';
select is((select array[start_at, end_at] from public.bookings where id = :'event'),
  array['2030-09-02 19:00+00', '2030-09-02 23:00+00']::timestamptz[], 'moved, it keeps its length');
update public.bookings set start_at = '2030-09-02 18:00+00', end_at = '2030-09-02 21:00+00' where id = :'event';
select is((select end_at from public.bookings where id = :'event'), '2030-09-02 21:00+00'::timestamptz,
  'a change that names the end is taken as it is');
select is((select buffer_after_minutes from public.bookings where id = :'event'), 15, 'the buffers still follow the policy');

update public.bookings set party_size = 6 where id = :'dinner';
select is((select end_at - start_at from public.bookings where id = :'dinner'), interval '120 minutes',
  'a derived stay follows the policy when the party grows into another band');
update public.bookings set start_at = '2030-09-03 19:00+00' where id = :'dinner';
select is((select end_at - start_at from public.bookings where id = :'dinner'), interval '120 minutes',
  'and when it moves');

-- A seated party's explicit stay is held for all of it when its party grows.
reset role;
select tests.create_booking(:'rid', 2, '2030-09-04 18:00+00') as seated \gset
set local role service_role;
update public.bookings set end_at = '2030-09-04 21:00+00' where id = :'seated';
reset role;
select ops.assign_tables(:'seated', array['L1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
update public.bookings set party_size = 3 where id = :'seated';
reset role;
select is((select upper(during) from public.booking_table_assignments where booking_id = :'seated' and released_at is null),
  '2030-09-04 21:15+00'::timestamptz, 'a seated party that grows keeps its table for the stay it was given');

select * from finish();
rollback;
