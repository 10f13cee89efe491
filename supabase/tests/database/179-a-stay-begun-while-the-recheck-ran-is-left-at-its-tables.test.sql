-- A stay that began after the floor-plan re-check judged its restaurant, while the pass was busy with the
-- bookings before it, is left at its tables: the party may be walking in to them (private.send_back_for_recheck
-- judges "begun" by the clock when it comes to the booking, not only by the pass's moment). A booking whose stay
-- has not begun is sent back to be planned. The floor-plan write goes through the Data API, as service_role.
begin;
select plan(5);

select tests.create_restaurant('Walking in') as rid \gset
select tests.add_table(:'rid', 'W1', 4) as w1 \gset
select tests.add_table(:'rid', 'W2', 4) as w2 \gset
select tests.confirmed_on(:'rid', 4, now() - interval '10 minutes', :'w1') as begun \gset
select tests.confirmed_on(:'rid', 4, now() + interval '1 day', :'w2') as ahead \gset

-- Both tables now seat two at most: neither booking's tables seat it any more.
set local role service_role;
update public.restaurant_tables set capacity = 2, max_party_size = 2 where restaurant_id = :'rid';
reset role;

-- The pass judged the restaurant an hour ago, before the first stay began.
select is(private.send_back_for_recheck(:'begun', false, null, now() - interval '1 hour', null), 'unchanged',
  'a stay begun since the pass judged the restaurant is not sent back');
select is((select assignment_state from public.bookings where id = :'begun'), 'confirmed', 'it stays confirmed');
select is(tests.tables_held(:'begun'), 'W1', 'at its table');
select is(private.send_back_for_recheck(:'ahead', false, null, now() - interval '1 hour', null), 'replanned',
  'a stay ahead whose table no longer seats it is sent back');
select is((select assignment_state from public.bookings where id = :'ahead'), 'assignment_pending', 'to be planned again');

select * from finish();
rollback;
