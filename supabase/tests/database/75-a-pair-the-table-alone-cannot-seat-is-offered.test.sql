-- A pair of tables is offered when the table left alone could not seat the party by its own range
-- (20261227000000): the queue, the alternatives' seating options and the rule agree with the commit.
begin;
select plan(6);

select tests.create_restaurant('Range') as rid \gset
select tests.add_table(:'rid', 'T1', 6) as t1 \gset
select tests.add_table(:'rid', 'T2', 2) as t2 \gset
-- T1 seats six but the restaurant keeps it for at most four.
update public.restaurant_tables set max_party_size = 4 where id = :'t1';
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', :'t1', :'t2');

select ok(private.every_table_needed(:'rid', array[:'t1', :'t2']::uuid[], 8, 5),
  'five need both tables: T1 alone seats at most four');
select ok(not private.every_table_needed(:'rid', array[:'t1', :'t2']::uuid[], 8, 4),
  'four do not need T2');

select tests.create_booking(:'rid', 5, '2030-06-03 19:00+00') as b \gset
select tests.force_state(:'b', 'manual_review', 'no_table_fits: nothing seats a party of 5');
select is((select free_tables_that_fit from ops.manual_review_queue(:'rid') where booking_id = :'b'),
  '[["T1", "T2"]]'::jsonb, 'the review queue offers the pair an operator can take');
select is((select private.seating_options(b) -> 0 -> 'numbers' from public.bookings b where b.id = :'b'),
  '["T1", "T2"]'::jsonb, 'and so do the seating options the alternatives are searched over');

set local role service_role;
select is(ops.assign_tables(:'b', array['T1', 'T2'], 'ana') ->> 'outcome', 'confirmed',
  'which the commit''s rules accept');
reset role;

-- A table's minimum is no reason to join another: three are not offered a 4-top kept for four and more
-- with the 2-top.
update public.restaurant_tables set capacity = 4, min_party_size = 4, max_party_size = 4 where id = :'t1';
select ok(not private.every_table_needed(:'rid', array[:'t1', :'t2']::uuid[], 6, 3),
  'three need no pair to get round T1''s minimum');

select * from finish();
rollback;
