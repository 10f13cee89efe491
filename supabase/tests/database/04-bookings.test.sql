begin;
select plan(10);

select tests.create_restaurant() as rid \gset

select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b2 \gset
select is((select end_at from public.bookings where id = :'b2'), '2030-01-07 20:30+00'::timestamptz,
  'a party of 2 stays 90 minutes by policy');
select is((select buffer_after_minutes from public.bookings where id = :'b2'), 15,
  'and carries the policy''s 15-minute buffer');
select is((select private.blocked_window(b) from public.bookings b where id = :'b2'),
  tstzrange('2030-01-07 19:00+00', '2030-01-07 20:45+00', '[)'), 'its blocked window includes the buffer');

select tests.create_booking(:'rid', 6, '2030-01-07 19:00+00') as b6 \gset
select is((select end_at from public.bookings where id = :'b6'), '2030-01-07 21:00+00'::timestamptz,
  'a party of 6 stays 120 minutes');

insert into public.bookings (restaurant_id, party_size, start_at) values (:'rid', 30, '2030-01-07 19:00+00')
returning id as b30 \gset
select is((select end_at - start_at from public.bookings where id = :'b30'), interval '90 minutes',
  'a party outside every band gets the restaurant default turn');

insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, '2030-01-07 12:00+00', '2030-01-07 13:00+00') returning id as given \gset
select is((select end_at from public.bookings where id = :'given'), '2030-01-07 13:00+00'::timestamptz,
  'an explicit end time is kept');

select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 0, now())$$, :'rid'),
  '23514', null, 'a party has at least one guest');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, end_at)
                         values (%L, 2, '2030-01-07 19:00+00', '2030-01-07 18:00+00')$$, :'rid'),
  '23514', null, 'a booking ends after it starts');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, assignment_state)
                         values (%L, 2, '2030-01-07 19:00+00', 'confirmed')$$, :'rid'),
  'AS004', null, 'a new booking cannot skip the state machine');
select is((select status from public.bookings where id = :'b2'), 'pending', 'a new booking is pending');

select * from finish();
rollback;
