-- A party smaller than every table's minimum goes to review at its first attempt, saying so
-- (20261227040000); the coordinator leases as service_role.
begin;
select plan(4);

select tests.create_restaurant('Big tables') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 6) as t2 \gset
update public.restaurant_tables set min_party_size = 4 where id = :'t1';
update public.restaurant_tables set min_party_size = 3 where id = :'t2';
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as couple \gset
select tests.create_booking(:'rid', 3, '2030-06-03 19:00+00') as three \gset

set local role service_role;
select public.assignment_lease(p_booking_id => :'couple', p_trigger => 'dispatch') ->> 'outcome' as couple_outcome \gset
select public.assignment_lease(p_booking_id => :'three', p_trigger => 'dispatch') ->> 'outcome' as three_outcome \gset
reset role;

select is(:'couple_outcome'::text, 'manual_review', 'a couple, below every table''s minimum, goes to review at once');
select is((select manual_review_reason from public.bookings where id = :'couple'),
  'party_too_small: a party of 2 is smaller than every table''s minimum (the smallest takes 3): lower a table''s minimum, then ops.retry_booking',
  'saying so, and what to do');
select is((select attempt_count from public.bookings where id = :'couple'), 0, 'without an attempt spent');
select is(:'three_outcome'::text, 'ready', 'a party some table takes is leased as before');

select * from finish();
rollback;
