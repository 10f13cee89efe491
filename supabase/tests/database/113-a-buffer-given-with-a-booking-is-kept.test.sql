begin;
select plan(9);

-- A buffer the platform gives with a new booking is kept, through later changes too; one left out takes the
-- turn policy's (20261229010000).
-- The test restaurant's policy: no buffer before, 15 minutes after, for every party size.
select tests.create_restaurant('Buffers') as rid \gset

set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at, buffer_after_minutes)
values (:'rid', 2, '2030-03-04 19:00+00', 45) returning id as cake \gset
insert into public.bookings (restaurant_id, party_size, start_at, buffer_before_minutes)
values (:'rid', 2, '2030-03-04 19:00+00', 10) returning id as before \gset
insert into public.bookings (restaurant_id, party_size, start_at)
values (:'rid', 2, '2030-03-04 19:00+00') returning id as plain \gset
insert into public.bookings (restaurant_id, party_size, start_at, buffer_after_minutes)
values (:'rid', 2, '2030-03-04 19:00+00', 0) returning id as zero \gset
reset role;

select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'cake'),
  array[0, 45], 'a buffer after given with the insert is kept, the one left out is the policy''s');
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'before'),
  array[10, 15], 'so is a buffer before');
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'plain'),
  array[0, 15], 'buffers left out are the policy''s');
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'zero'),
  array[0, 15], 'a 0, the columns'' default, is taken as left out');
select is((select upper(private.blocked_window(b)) from public.bookings b where b.id = :'cake'),
  '2030-03-04 21:15+00'::timestamptz, 'and the tables are held until the given buffer ends: 90 minutes and 45');

-- Later changes keep it: of the time, of the party size, and the move an accepted alternative makes.
set local role service_role;
update public.bookings set start_at = '2030-03-04 19:30+00' where id = :'cake';
reset role;
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'cake'),
  array[0, 45], 'a time change keeps the buffer given with the insert');
set local role service_role;
update public.bookings set party_size = 6 where id = :'cake';
reset role;
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'cake'),
  array[0, 45], 'so does a party-size change');
select is((select array[m.buffer_before_minutes, m.buffer_after_minutes]
             from public.bookings b, private.moved_to(b, '2030-03-04 20:15+00') m where b.id = :'cake'),
  array[0, 45], 'and an alternative is priced with it, as accepting it stores it');
-- A buffer that was the policy's follows the policy of the new party size.
update public.turn_time_policies set buffer_after_minutes = 25 where restaurant_id = :'rid' and min_party_size = 5;
set local role service_role;
update public.bookings set party_size = 6 where id = :'plain';
reset role;
select is((select array[buffer_before_minutes, buffer_after_minutes] from public.bookings where id = :'plain'),
  array[0, 25], 'a buffer the policy gave follows the policy');

select * from finish();
rollback;
