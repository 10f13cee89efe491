-- A commit moves only bookings of its own restaurant (private.apply_moves, 20261231070000): another
-- restaurant's booking, named with the table it holds there and a free table there to go to, would be moved
-- under this restaurant's lock and not its own, so beside that restaurant's commits. The coordinator never
-- plans such a move (its snapshot lists only its restaurant's holds); a caller with a lease could send one.
-- Called as the coordinator calls it (service_role).
begin;
select plan(4);

select tests.run_v3();
select tests.create_restaurant('Here') as rid \gset
select ops.set_reoptimization(true, 'ana', :'rid');
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_restaurant('Next door') as other_rid \gset
select ops.set_reoptimization(true, 'ana', :'other_rid');
select tests.add_table(:'other_rid', 'U1', 2) as u1 \gset
select tests.add_table(:'other_rid', 'U2', 2) as u2 \gset
select tests.confirmed_on(:'other_rid', 2, '2030-07-04 19:00+00', :'u1') as neighbour \gset
select tests.version_of(:'neighbour') as neighbour_version \gset
select tests.create_booking(:'rid', 4, '2030-07-04 19:00+00') as four \gset

set local role service_role;
select tests.lease_token(public.assignment_lease(:'four', 'dispatch')) as lease \gset
select public.assignment_commit(:'four', :'lease', array[:'t1'::uuid], 'scarcity_fit', 10, '{}'::jsonb, null,
  jsonb_build_array(jsonb_build_object('booking_id', :'neighbour', 'from_table_ids', jsonb_build_array(:'u1'),
                                       'to_table_ids', jsonb_build_array(:'u2')))) as committed \gset
select is((:'committed'::jsonb ->> 'outcome', :'committed'::jsonb ->> 'reason'),
  ('conflict'::text, 'a booking to move changed since the snapshot'::text),
  'a move of another restaurant''s booking is refused as one the plan cannot have seen');
reset role;
select is(tests.tables_held(:'neighbour'), 'U1', 'the other restaurant''s booking keeps its table');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'neighbour'), 1,
  'and was never moved (no hold released or added)');
select is(tests.version_of(:'neighbour'), :'neighbour_version'::int, 'nor changed');

select * from finish();
rollback;
