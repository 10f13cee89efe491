-- Buffers given with a change of time or party size are kept (20261226070000), and so, through later changes,
-- are buffers given before (20261229010000); the platform writes through service_role.
begin;
select plan(4);

select tests.create_restaurant('Buffers') as rid \gset
update public.turn_time_policies set buffer_before_minutes = 5, buffer_after_minutes = 15 where restaurant_id = :'rid';
select ok((select count(*) from public.turn_time_policies where restaurant_id = :'rid') > 0, 'the restaurant has a turn policy');
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as b \gset

set local role service_role;
update public.bookings set party_size = 8, buffer_after_minutes = 45 where id = :'b';
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'b'), array[5, 45],
  'a buffer given with a party-size change is kept; the other follows the policy');
update public.bookings set start_at = '2030-06-03 20:00+00', buffer_before_minutes = 0 where id = :'b';
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'b'), array[0, 45],
  'so is one given with a time change, and the one given before stays');
update public.bookings set party_size = 4 where id = :'b';
reset role;
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'b'), array[0, 45],
  'a change that gives none keeps those given before');

select * from finish();
rollback;
