-- "Nothing fits" said of a booking that changed while it was planned is no verdict: it is planned again
-- (20261228030000).
begin;
select plan(6);

-- Two 4-tops that join; a couple holds one of them at 19:00, so a party of eight fits nowhere then.
select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'C1', 4) as c1 \gset
select tests.add_table(:'rid', 'C2', 4) as c2 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'c1', :'c2');
select tests.confirmed_on(:'rid', 2, '2030-11-07 19:00+00', :'c1') is not null as held \gset
select tests.create_booking(:'rid', 8, '2030-11-07 19:00+00') as eight \gset
select tests.lease_token(public.assignment_begin(:'eight')) as lease \gset
-- While the engine plans the party of eight, the platform cuts it to two.
set local role service_role;
update public.bookings set party_size = 2 where id = :'eight';
reset role;
select public.assignment_fail(:'eight', :'lease', 'no_fit',
  'no_table_fits: no free table or combination seats a party of 8 at 19:00 UTC (1 of 2 tables free for the whole stay)') as failed \gset

select isnt(:'failed'::jsonb ->> 'outcome', 'manual_review', 'the booking does not go to review with the eight''s verdict');
select is((select assignment_state from public.bookings where id = :'eight'), 'assignment_pending',
  'it waits to be planned again');
select alike((select reason from public.booking_assignment_state_history where booking_id = :'eight' order by version desc limit 1),
  'rule_changed: the booking or its restaurant''s tables changed while it was planned, so "no_table_fits: %a party of 8%" was said of what they were; planned again',
  'and its history says why');
-- Planned again as it is now, two fit: confirmed on the 4-top.
update public.bookings set next_attempt_at = now() where id = :'eight';
select tests.lease_token(public.assignment_begin(:'eight')) as lease2 \gset
select is(public.assignment_commit(:'eight', :'lease2', array[:'c2']::uuid[], 'scarcity_fit') ->> 'outcome', 'confirmed',
  'the next attempt seats the two');

-- Unchanged, "nothing fits" is the verdict it was: review.
select tests.confirmed_on(:'rid', 2, '2030-11-08 19:00+00', :'c1') is not null as held_too \gset
select tests.create_booking(:'rid', 8, '2030-11-08 19:00+00') as nine \gset
select tests.lease_token(public.assignment_begin(:'nine')) as lease9 \gset
select is(public.assignment_fail(:'nine', :'lease9', 'no_fit', 'no_table_fits: a party of 8, unchanged') ->> 'outcome', 'manual_review',
  'a booking that did not change goes to review');
select alike((select manual_review_reason from public.bookings where id = :'nine'), 'no_table_fits: a party of 8, unchanged%',
  'with the engine''s reason');

select * from finish();
rollback;
