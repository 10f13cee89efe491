-- Moves planned before the kill switch are not made after it (20261227150000): a commit that re-seats others
-- asks whether the restaurant still runs V3 with re-optimisation; called as the coordinator calls it
-- (service_role), with the operator's switches flipped through ops as an operator would.
begin;
select plan(9);

-- No deployment's flags heard yet: V3 allowed.
update private.function_flags set mode_ceiling = null;

-- A 2-top and a 4-top; a couple seated on the 4-top, and four guests at the same time whom only moving the
-- couple to the 2-top can seat.
select tests.create_restaurant('Moves') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid, 'from_table_ids', jsonb_build_array(:'t2'::uuid),
                                            'to_table_ids', jsonb_build_array(:'t1'::uuid))) as moves \gset

set local role service_role;
select public.assignment_lease(:'four', 'dispatch') as leased \gset
select is(:'leased'::jsonb ->> 'mode', 'v3', 'the attempt begins on V3');
-- The operator pulls the kill switch while the attempt plans the re-seating.
select ops.set_kill_switch(true, 'ana', 'manual review rate doubled');
select public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                10, '{}'::jsonb, null, :'moves'::jsonb) as committed \gset
select is(:'committed'::jsonb ->> 'outcome', 'conflict', 'the commit moving the couple after the kill switch is a conflict');
select ok(:'committed'::jsonb ->> 'reason' like 'rule_changed: its plan moved other bookings, but since it began the restaurant stopped running V3%',
  'saying the restaurant no longer runs V3');
select is(array[tests.tables_held(:'couple'), (select assignment_state from public.bookings where id = :'four')],
  array['T2', 'assignment_in_progress'], 'nobody moved, and the attempt still holds its lease to end it');

-- Re-optimisation turned off instead: the same, where the commit used to fail (AS005), an error against the
-- restaurant's breaker.
select ops.set_kill_switch(false, 'ana', 'fixed');
select ops.set_reoptimization(false, 'ana', :'rid');
select is(public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                   10, '{}'::jsonb, null, :'moves'::jsonb) ->> 'outcome', 'conflict',
  'a re-seating planned before re-optimisation was turned off is not made either');
select ops.set_restaurant_mode(:'rid', 'off', 'ana', 'refurbishment');
select ops.set_reoptimization(true, 'ana', :'rid');
select is(public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                   10, '{}'::jsonb, null, :'moves'::jsonb) ->> 'outcome', 'conflict',
  'nor one planned before the restaurant was switched off');
select is(tests.tables_held(:'couple'), 'T2', 'the couple kept its table throughout');

-- Back on V3 with re-optimisation: the plan is made as planned.
select ops.set_restaurant_mode(:'rid', null, 'ana', 'reopened');
select is(public.assignment_commit(:'four', (:'leased'::jsonb ->> 'lease_token')::uuid, array[:'t2'::uuid], 'scarcity_fit',
                                   10, '{}'::jsonb, null, :'moves'::jsonb) ->> 'outcome', 'confirmed',
  'on V3 with re-optimisation the re-seating is made');
select is(array[tests.tables_held(:'couple'), tests.tables_held(:'four')], array['T1', 'T2'], 'the couple moved to the 2-top');

select * from finish();
rollback;
